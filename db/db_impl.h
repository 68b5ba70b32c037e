// db_impl.h: the engine behind ultradict::DB (see doc/design.md). One
// class, spread over files by topic (the map is in doc/design.md, "Where
// the code is"):
//
//   db_impl_open.cc        open, create, join, close, fork
//   db_impl_files.cc       destroy, list, stale files
//   db_impl_read.cc        refresh, read view, Get, GetPinned, NewIterator
//   db_impl_write.cc       write lock, recovery, Put/Delete/Write, commit
//   transaction.cc         Update, Transact, LockWrites
//   db_impl_compaction.cc  CompactLog, inline and background compaction
//   db_impl_ingest.cc      IngestSorted (a bulk load as a compaction)
//   db_impl_observe.cc     WaitForChange, Sync, properties
//   db_impl_changes.cc     ReadChanges, ReadChangesFrom (the change feed)
//
// What needs no handle state lives below it: generation.h (a mapped
// generation, lookups, indexing), compaction.h (merging into the next
// snapshot, making the next generation), background.h (the thread).
//
// Shared state lives in three kinds of segments (control, log with its
// shared index, snapshot); this process keeps a mapping of the current
// generation and nothing else: it indexes nothing itself.
//
// Locks, in order (clang's -Wthread-safety checks who holds what; see
// port/mutex.h):
//   1. the cross-process compaction mutex (background compaction only),
//   2. the cross-process write mutex (`writer_`, the capability of the
//      write lock; taken with WriterLock),
//   3. fork_mu_ (a fork child joining),
//   4. mu_ (this handle's current generation),
//   5. the background thread's mutex (background.h),
//   6. a generation's file_mu (its files' reserve, sync, dup and close).
// Nothing is taken under 5 but 6 (by PrepareFork only), nor under 6.
// Readers take only mu_, shared. PrepareFork takes 3, 4, 5 and the current
// generation's 6 around every fork() (see fork_guard.h).
//
// Names: a method whose name ends in "Locked" needs mu_ held, as its
// annotation says (shared or exclusive); one ending in "AsWriter" needs the
// write lock (and not mu_). Nothing else is meant by either.

#ifndef ULTRADICT_DB_DB_IMPL_H_
#define ULTRADICT_DB_DB_IMPL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "db/background.h"
#include "db/control_block.h"
#include "db/filename.h"
#include "db/fork_guard.h"
#include "db/generation.h"
#include "db/snapshot_builder.h"
#include "db/write_batch_internal.h"
#include "port/mutex.h"
#include "port/port.h"
#include "ultradict/db.h"

namespace ultradict {

struct Change;  // compaction.h

class DBImpl : public DB, private ForkAware {
 public:
  DBImpl(const Options& options, std::string name, std::string dir);
  ~DBImpl() override;

  // Opens or creates the control segment and joins as a member.
  absl::Status Init();

  const std::string& name() const override { return name_; }
  absl::Status Put(std::string_view key, std::string_view value) override;
  absl::Status Delete(std::string_view key) override;
  absl::Status Write(const WriteBatch& batch) override;
  absl::Status IngestSorted(const std::vector<KeyValue>& entries,
                            IngestMode mode) override
      ABSL_LOCKS_EXCLUDED(writer_, mu_);
  absl::Status Get(std::string_view key, std::string* value) override;
  absl::Status GetPinned(std::string_view key, PinnableValue* value) override;
  absl::Status Update(
      std::string_view key,
      absl::FunctionRef<std::optional<std::string>(const std::string_view*)> fn)
      override;
  absl::Status Transact(
      absl::FunctionRef<absl::Status(Transaction&)> fn) override;
  absl::StatusOr<std::unique_ptr<WriteLock>> LockWrites(
      int64_t timeout_ms) override;
  std::unique_ptr<Iterator> NewIterator() override;
  absl::Status CompactLog() override;
  absl::Status Sync() override;
  uint64_t LatestSequence() override;
  uint64_t WaitForChange(uint64_t since, int64_t timeout_ms) override;
  absl::StatusOr<uint64_t> ReadChanges(uint64_t since,
                                       WriteBatch::Handler* handler) override;
  absl::Status ReadChangesFrom(ChangeCursor* cursor,
                               WriteBatch::Handler* handler) override;
  bool GetProperty(std::string_view property, std::string* value) override;
  absl::Status SetReplicaOf(std::string_view primary) override
      ABSL_LOCKS_EXCLUDED(writer_, mu_);

  // When the non-persistent dictionary `name` whose control segment is
  // `segment` (validated) has no live member, marks it destroyed and
  // removes its files: a member that was killed never closed it. True when
  // it is gone: removed here, or found destroyed (by another process that
  // removed it first, or a DestroyDB; then this one removes what a
  // destroyer that died left: MarkDestroyedAndRemove), persistent or not.
  static bool RemoveIfAbandoned(const std::string& dir, std::string_view name,
                                const port::Segment& segment);
  // Removes every file of dictionary `name` in `dir`. NotFound when it has
  // none; when some cannot be removed, removes the others and returns the
  // code of the first failure with a message naming each file left and why.
  // With `key` (the dictionary's, from its control segment), a file named
  // for `name` that is not the dictionary's own (no tag or another tag:
  // another user's, or an older format's) is removed if it can be, and
  // not reported when it cannot.
  // `control` (with `key`) is the dictionary's control segment: the file
  // at its path is removed only if it is still that one.
  static absl::Status DestroyFiles(const std::string& dir,
                                   std::string_view name,
                                   const FileKey* key = nullptr,
                                   const port::Segment* control = nullptr);
  // Marks the dictionary of the (validated) control segment destroyed
  // under its write lock (waiting at most timeout_ms for it), so that no
  // writer of another process makes a generation after its files are gone,
  // and removes its files (*status, when given: DestroyFiles's). True
  // also when it was destroyed already but its control segment is still at
  // its path: the process that destroyed it died before removing its files
  // (or is removing them now), and this one finishes that; only the
  // dictionary's own files go (its key's), not a newer one's of its name.
  // False, doing nothing, when it was destroyed and its control segment is
  // gone.
  static bool MarkDestroyedAndRemove(const std::string& dir,
                                     std::string_view name,
                                     const port::Segment& segment,
                                     int64_t timeout_ms, absl::Status* status);

 private:
  friend class TransactionImpl;
  friend class WriteLockImpl;

  // The capability that stands for the cross-process write mutex in the
  // control segment, for the thread-safety analysis: held between a
  // successful LockWriter and UnlockWriter (WriterLock, WriteLockImpl).
  struct ABSL_LOCKABLE WriteMutex {
    // Tells the analysis that this thread holds the write lock.
    void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}
  };
  class WriterLock;  // Holds the write lock for a scope.

  // What a writer that found the log full should wait for, rather than
  // compact inline (which would make a running compaction's work useless).
  enum class WaitFor { kNothing, kOwnCompaction, kOtherCompaction };
  struct Wait {
    WaitFor what = WaitFor::kNothing;
    // kOwnCompaction: Background's publication count when the log was
    // found full (read under the write lock, which publishing needs, so
    // no publication after it is missed).
    uint64_t published = 0;
  };
  // A batch of one entry, already decoded, with the hash of its key (Put
  // and Delete: the batch is not decoded again).
  struct SingleEntry {
    WriteBatchInternal::Entry entry;
    uint64_t hash;
  };
  // A decoded batch on its way into the log (db_impl_write.cc).
  struct PendingCommit;
  // A batch of one entry (Put or Delete), encoded byte for byte as a
  // WriteBatch holding it would be, on the stack when it is small.
  class OneEntryBatch;

  // --- db_impl_open.cc ---
  absl::Status CreateControl(const std::string& path, port::Segment* segment);
  // One attempt to open (or create) the control segment at path and join:
  // *retry when the dictionary was being destroyed or created meanwhile.
  absl::Status TryJoin(const std::string& path, port::Segment* segment,
                       bool* retry);
  // Joins the dictionary of `segment` (validated) and maps its current
  // generation.
  absl::Status Adopt(port::Segment segment) ABSL_LOCKS_EXCLUDED(mu_);
  void Close();
  // In a fork child, before its first use of the handle: joins as a member
  // of its own.
  absl::Status CheckFork() ABSL_LOCKS_EXCLUDED(fork_mu_, mu_);
  // Around fork() (see fork_guard.h): the forking thread takes fork_mu_,
  // mu_, the background thread's mutex and the current generation's
  // file_mu (the lock order), so that no thread of this handle is inside
  // one of their critical sections; the parent releases them, the child
  // makes them new.
  void PrepareFork() override ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ParentAfterFork() override ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ChildAfterFork() override ABSL_NO_THREAD_SAFETY_ANALYSIS;

  // --- db_impl_files.cc ---
  // Removes this dictionary's files that no process will use: with
  // other_generations, logs and snapshots not of generation `gen`; and
  // compaction temporaries of generation 1..gen (every one with all_temps).
  void RemoveStaleFiles(uint32_t gen, bool other_generations, bool all_temps);

  // --- db_impl_read.cc ---
  // Makes current_ the generation of the head (maps it when it changed).
  absl::Status RefreshLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // DataLoss: the head offset `end` lies past g's log.
  static absl::Status HeadPastLog(const Generation& g, uint32_t end);
  // Makes generation `gen` current (RefreshLocked); with may_retry,
  // *retry when it could not be mapped and the head moved since `head`
  // (retired meanwhile): the caller follows the head.
  absl::Status SwitchToLocked(uint32_t gen, uint64_t head, bool may_retry,
                              bool* retry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs fn(current_, end) with mu_ held shared, current_ the generation
  // of the head it loaded and `end` that head's offset: the reader sees
  // snapshot + log records below `end`, no more, no less (DataLoss,
  // without calling fn, when `end` lies past the log). Takes mu_
  // exclusively only to map a new generation.
  template <typename Fn>
  absl::Status WithReadView(Fn&& fn) ABSL_LOCKS_EXCLUDED(mu_);
  // The read view itself: the generation (pinned) and the head offset.
  absl::Status CurrentView(std::shared_ptr<Generation>* g, uint32_t* end)
      ABSL_LOCKS_EXCLUDED(mu_);

  // --- db_impl_write.cc ---
  // Takes the write lock, waiting at most timeout_ms (negative:
  // options_.write_lock_timeout_ms); recovers after a writer that died
  // holding it. Use WriterLock, or pair with UnlockWriter.
  absl::Status LockWriter(int64_t timeout_ms) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void UnlockWriter()
      ABSL_UNLOCK_FUNCTION(writer_) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // After a writer died holding the write lock.
  void RecoverAsWriter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_);
  // For a replica (control::Block::is_replica) that a handle not opened
  // with Options::write_replica writes: FailedPrecondition naming the
  // primary, unless this handle is the replica's writer (then OK).
  absl::Status ReplicaErrorAsWriter() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_);
  // Checks an encoded batch (entries, sizes); *count its entries.
  absl::Status CheckBatch(std::string_view rep, uint32_t* count) const;
  // Takes the write lock and commits, waiting for a background compaction
  // when the log is full.
  absl::Status Commit(std::string_view rep, const SingleEntry* single = nullptr)
      ABSL_LOCKS_EXCLUDED(writer_, mu_);
  // Commits one batch record (see the steps in db_impl_write.cc). When the
  // log is full while a background compaction runs (of this process, or
  // of another one if other_compaction) and wait is given, commits nothing
  // and says what to wait for in *wait: the caller unlocks, waits, retries.
  // single, when given, is rep's only entry.
  absl::Status CommitAsWriter(std::string_view rep,
                              const SingleEntry* single = nullptr,
                              Wait* wait = nullptr,
                              bool other_compaction = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_) ABSL_LOCKS_EXCLUDED(mu_);
  // CommitAsWriter's steps (MakeRoomAsWriter only when the log is full).
  absl::Status CountChanges(PendingCommit* c) ABSL_LOCKS_EXCLUDED(mu_);
  // Counts c's changes against current_ at c's head.
  absl::Status CountChangesLocked(PendingCommit* c)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status MakeRoomAsWriter(PendingCommit* c, Wait* wait,
                                bool other_compaction)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_) ABSL_LOCKS_EXCLUDED(mu_);
  // Room in the log and its index for c's record: *fits.
  absl::Status FitsAsWriter(PendingCommit* c, bool* fits)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_);
  absl::Status AppendAsWriter(PendingCommit* c)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_);
  void NotifyCommitted(const PendingCommit& c)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_);
  // Put (value given) or Delete of one key: checks it and encodes it into
  // *batch (see OneEntryBatch); starts loading what the commit will read.
  absl::Status EncodeOne(std::string_view key, const std::string_view* value,
                         OneEntryBatch* batch) ABSL_LOCKS_EXCLUDED(mu_);
  // Starts loading what a writer will read of key (a hint).
  void PrefetchForWrite(std::string_view key, uint64_t hash)
      ABSL_LOCKS_EXCLUDED(mu_);

  // --- db_impl_compaction.cc ---
  // Compacts the current generation (refreshed by the caller) with the
  // batch pending_rep, if any, folded into the new snapshot; the new log's
  // index has room for `more_entries` entries.
  absl::Status CompactAsWriter(std::string_view pending_rep,
                               size_t more_entries = 0)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_) ABSL_LOCKS_EXCLUDED(mu_);
  // The current generation (refreshed by the caller) as the writer sees
  // it: *g, its head offset *end and its records below it; with `changes`,
  // every key's latest update in its log below *end (one each, order 0,
  // pointing into g's log or *buffers).
  absl::Status ViewAsWriter(std::shared_ptr<const Generation>* g, uint32_t* end,
                            uint32_t* records, std::deque<std::string>* buffers,
                            std::vector<Change>* changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_) ABSL_LOCKS_EXCLUDED(mu_);
  // Makes and publishes the generation after g (whose head offset is end)
  // from `snap`, its complete snapshot under its final name holding
  // `count` entries: its log starts at base_sequence with g's records from
  // end on (none) and room in its index for more_entries; retires g.
  // Removes the snapshot when it fails.
  absl::Status InstallAsWriter(std::shared_ptr<const Generation> g,
                               uint32_t end, port::Segment snap, uint64_t count,
                               uint64_t base_sequence, size_t more_entries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_) ABSL_LOCKS_EXCLUDED(mu_);
  // Next's files under their final names: publishes the head of next,
  // retires old and makes next current.
  absl::Status PublishAsWriter(const Generation& old,
                               std::shared_ptr<Generation> next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_) ABSL_LOCKS_EXCLUDED(mu_);
  // Takes the cross-process compaction mutex (lock->status() says whether
  // it was taken); when its holder died, removes the compaction
  // temporaries it left.
  std::unique_ptr<port::ProcessMutexLock> LockCompaction(int64_t timeout_ms);
  // Snapshot options of this dictionary (its generation set by the build).
  snapshot::BuildOptions SnapshotOptions() const;
  // Background compaction: past the generation's compaction point, the
  // background thread builds the next snapshot without the write lock,
  // then takes it briefly to carry over the newer records and publish.
  // Its phases:
  absl::Status BackgroundCompaction() ABSL_LOCKS_EXCLUDED(writer_, mu_);
  struct BackgroundRun;
  absl::Status FreezeGeneration(BackgroundRun* run)
      ABSL_LOCKS_EXCLUDED(writer_, mu_);
  absl::Status BuildFrozenSnapshot(BackgroundRun* run);
  absl::Status CarryWhileWriting(BackgroundRun* run, bool* moved_on);
  absl::Status FinishAndPublish(BackgroundRun* run)
      ABSL_LOCKS_EXCLUDED(writer_, mu_);
  // A tick of work off the write lock: serves the writer's page requests.
  void BackgroundTick() { background_->MaybeServeReserve(); }

  // --- db_impl_ingest.cc ---
  // IngestSorted with the write lock held and the generation refreshed;
  // the entries are checked.
  absl::Status IngestAsWriter(const std::vector<KeyValue>& entries,
                              IngestMode mode)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_) ABSL_LOCKS_EXCLUDED(mu_);

  // --- db_impl_observe.cc ---
  std::string StatsString() ABSL_LOCKS_EXCLUDED(mu_);

  // --- db_impl_changes.cc ---
  // ReadChangesFrom; *ahead when cursor->sequence was past the dictionary's.
  absl::Status ReadChangesImpl(ChangeCursor* cursor,
                               WriteBatch::Handler* handler, bool* ahead)
      ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  const std::string name_;
  const std::string dir_;
  // Set by Init, then constant (in a fork child, CheckFork replaces the
  // description of control_segment_'s file, under fork_mu_).
  port::Segment control_segment_;
  control::Block block_{nullptr};
  GenerationFiles files_;
  bool compress_ = false;
  std::unique_ptr<Background> background_;

  // The write lock's capability (see WriteMutex).
  WriteMutex writer_;
  // The compressed record a commit builds (an uncompressed one goes
  // straight into the log), kept to reuse its buffer.
  std::string record_ ABSL_GUARDED_BY(writer_);

  port::Mutex fork_mu_ ABSL_ACQUIRED_AFTER(writer_);
  // This process's membership: set by Init, and by CheckFork in a fork
  // child (under fork_mu_, before the child's first use of the handle).
  uint32_t slot_ = control::kMaxMembers;
  uint32_t token_ = 0;
  // The process that uses the handle; read without fork_mu_ by every call
  // (a fork child sees its parent's pid until CheckFork).
  std::atomic<int32_t> pid_{0};
  // The generation whose file_mu PrepareFork took (current_ then).
  Generation* fork_locked_ = nullptr;

  port::SharedMutex mu_ ABSL_ACQUIRED_AFTER(fork_mu_);
  std::shared_ptr<Generation> current_ ABSL_GUARDED_BY(mu_);
  // Iterators of this handle alive (see ~DBImpl); shared with them.
  const std::shared_ptr<std::atomic<int>> live_iterators_ =
      std::make_shared<std::atomic<int>>(0);
};

class DBImpl::OneEntryBatch {
 public:
  void Encode(std::string_view key, const std::string_view* value,
              uint64_t hash) {
    size_ = WriteBatchInternal::SingleEntrySize(key, value);
    char* rep = on_stack_;
    if (size_ > sizeof(on_stack_)) {
      on_heap_.reset(new char[size_]);  // Not zeroed: every byte is written.
      rep = on_heap_.get();
    }
    single_.hash = hash;
    WriteBatchInternal::EncodeSingleEntry(key, value, rep, &single_.entry);
  }
  std::string_view rep() const {
    return std::string_view(on_heap_ ? on_heap_.get() : on_stack_, size_);
  }
  const SingleEntry* single() const { return &single_; }

 private:
  char on_stack_[1024];
  std::unique_ptr<char[]> on_heap_;
  size_t size_ = 0;
  SingleEntry single_;
};

// Holds the write lock for a scope, when status() is OK (taken within
// Options::write_lock_timeout_ms). For the analysis it is held either way:
// the holder returns at once when status() is not OK.
class ABSL_SCOPED_LOCKABLE DBImpl::WriterLock {
 public:
  explicit WriterLock(DBImpl* db)
      ABSL_EXCLUSIVE_LOCK_FUNCTION(db->writer_) ABSL_NO_THREAD_SAFETY_ANALYSIS
      : db_(db),
        status_(db->LockWriter(-1)) {}
  ~WriterLock() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (status_.ok()) db_->UnlockWriter();
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  const absl::Status& status() const { return status_; }

 private:
  DBImpl* const db_;
  const absl::Status status_;
};

}  // namespace ultradict

#endif  // ULTRADICT_DB_DB_IMPL_H_
