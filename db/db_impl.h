// db_impl.h: the engine behind ultradict::DB (see doc/design.md).
//
// Shared state lives in three kinds of segments (control, log, snapshot);
// this process keeps a mapping of the current generation and an index of its
// log records (keys and values point into the mapping, nothing is copied).
//
// Locks, in order: the cross-process compaction mutex (background
// compaction only), the cross-process write mutex (both in the control
// segment), then fork_mu_ (a fork child joining), mu_ (this handle's
// index), bg_mu_ (the background thread's requests) and a generation's
// file_mu (its log file's reserve, sync and close); nothing is taken under
// bg_mu_ but file_mu (by PrepareFork only), nor under file_mu. Readers take
// only mu_, shared. PrepareFork takes fork_mu_, mu_, bg_mu_ and the current
// generation's file_mu around every fork() (see fork_guard.h).

#ifndef ULTRADICT_DB_DB_IMPL_H_
#define ULTRADICT_DB_DB_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "db/control_block.h"
#include "db/filename.h"
#include "db/fork_guard.h"
#include "db/log_index.h"
#include "db/log_reader.h"
#include "db/snapshot_builder.h"
#include "db/snapshot_reader.h"
#include "port/port.h"
#include "ultradict/db.h"

namespace ultradict {

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
  bool GetProperty(std::string_view property, std::string* value) override;

  // When the non-persistent dictionary `name` whose control segment is
  // `segment` (validated) has no live member, marks it destroyed and
  // removes its files: a member that was killed never closed it. True when
  // it was removed.
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
  // and removes its files (*status, when given: DestroyFiles's). False,
  // doing nothing, when it was destroyed already: the files of its name may
  // be a newer dictionary's.
  static bool MarkDestroyedAndRemove(const std::string& dir,
                                     std::string_view name,
                                     const port::Segment& segment,
                                     int64_t timeout_ms, absl::Status* status);

  // A value in the log: a view into the mapped log (or a decompressed
  // buffer of the generation), or a deletion.
  struct LogValue {
    std::string_view value;
    bool deleted = false;
  };

  // The first 16 bytes of a key as two big-endian words, zero-padded.
  using KeyPrefix = std::pair<uint64_t, uint64_t>;
  // One update of a key on its way into a snapshot (db_impl.cc).
  struct Change;

  // One mapped generation and the index of its log records.
  struct Generation {
    uint32_t gen = 0;
    port::Segment log_segment;
    port::Segment snap_segment;
    log::Header log_header;
    snapshot::Reader snapshot;
    const char* records = nullptr;  // The record area of the log.
    size_t record_capacity = 0;
    // Record bytes known to be reserved in the file (see kLogReserveStep):
    // all below it are. Raised by the writer (write lock held) and by the
    // background thread (see MaybeReserveAhead), each to the end of a range
    // it reserved, never lowered.
    std::atomic<size_t> reserved{0};
    // How far the writer asked the background thread to reserve (write lock).
    size_t reserve_asked = 0;
    // Raises `reserved` to at least `end` (all below it reserved).
    void Reserved(size_t end) {
      size_t now = reserved.load(std::memory_order_relaxed);
      while (now < end &&
             !reserved.compare_exchange_weak(now, end, std::memory_order_release,
                                             std::memory_order_relaxed)) {
      }
    }
    uint32_t applied = 0;  // Record bytes indexed.
    uint64_t applied_records = 0;
    LogIndex index;  // Its area is set when the log is mapped.
    // After the index took `records` more records (`bytes` bytes).
    void Indexed(uint32_t bytes, uint64_t records) {
      applied += bytes;
      applied_records += records;
      index.SetLimit(applied);
    }
    // The files of the segments: the snapshot's is closed once mapped (it
    // is never reserved); the log's when the generation stops being
    // current in this process (CloseFiles), so that generations pinned by
    // iterators and values hold no descriptor. file_mu orders the log
    // file's uses (reserve, sync) with its close: the background thread
    // reserves pages of a generation without any other lock. Nothing is
    // locked under file_mu.
    std::mutex file_mu;
    bool files_closed = false;  // Guarded by file_mu.
    // Reserves [offset, offset + length) of the log file; FailedPrecondition
    // after CloseFiles.
    absl::Status ReserveFile(size_t offset, size_t length) {
      std::lock_guard<std::mutex> l(file_mu);
      if (files_closed) {
        return absl::FailedPreconditionError(absl::StrCat(
            log_segment.path(), ": generation ", gen, " is not current"));
      }
      return log_segment.Reserve(offset, length);
    }
    void CloseFiles() {
      std::lock_guard<std::mutex> l(file_mu);
      files_closed = true;
      log_segment.CloseFile();
      snap_segment.CloseFile();
    }
    absl::Status SyncFiles() {
      std::lock_guard<std::mutex> l(file_mu);
      absl::Status s = snap_segment.Sync();
      if (s.ok()) s = log_segment.Sync();
      return s;
    }
    size_t compact_at = 0;  // Record bytes that start a background compaction.
    size_t expected_keys = 0;  // See ExpectIndexSize.
    std::deque<std::string> buffers;  // Decompressed record payloads.
  };

 private:
  friend class TransactionImpl;
  friend class WriteLockImpl;

  // The write-lock holder's scope.
  class WriterLock;

  absl::Status CheckFork();
  // Around fork() (see fork_guard.h): the forking thread takes fork_mu_,
  // mu_ and bg_mu_ (the lock order), so that no thread of this handle is
  // inside one of their critical sections; the parent releases them, the
  // child makes them new.
  void PrepareFork() override;
  void ParentAfterFork() override;
  void ChildAfterFork() override;
  absl::Status CreateControl(const std::string& path, port::Segment* segment);
  absl::Status LoadGeneration(uint32_t gen, std::shared_ptr<Generation>* out);
  // Once g's log and snapshot are mapped: sets its record area (also the
  // index's), g->compact_at, then g->expected_keys (ExpectIndexSize): how
  // many keys g's log will likely hold.
  void SetUpLog(Generation* g);
  void ExpectIndexSize(Generation* g);
  // Before `more` keys go into g's index: when it must grow, grows it to
  // g->expected_keys at once (see ExpectIndexSize).
  static void GrowIndexFor(Generation* g, size_t more);
  // Requires mu_ held exclusively (also for the *Locked methods below,
  // except LookupLocked, which needs it shared).
  absl::Status RefreshLocked();
  // With serve_reserve (on the background thread, holding no lock: g is a
  // generation not published yet), serves the writer's request to reserve
  // log pages between records (see MaybeServeReserve).
  absl::Status ApplyRecordsLocked(Generation* g, uint32_t end,
                                  bool serve_reserve = false);
  // DataLoss naming g's log: an indexed entry no longer decodes.
  absl::Status DamagedIndexEntry(const Generation& g) const;
  // Finds key in the current generation: OK with *value (valid while the
  // generation lives; may use *scratch), NotFound, or DataLoss.
  // Records of the current log in [applied, tail_end) are not indexed yet
  // and are searched first (0: none).
  absl::Status LookupLocked(std::string_view key, std::string* scratch,
                            std::string_view* value, uint32_t tail_end = 0);
  // With mu_ held: the end of the records between what current_ indexes and
  // `head` when they are few enough to search in place (ScanTail), else 0.
  uint32_t SearchableTailEnd(uint64_t head) const;
  // Whether key exists (its value is neither decoded nor checksummed):
  // what a writer needs to keep the entry count.
  // hash == Hash64(key).
  absl::Status ExistsLocked(std::string_view key, uint64_t hash,
                            uint32_t tail_end, bool* exists);
  // Searches the unindexed records [from, to) of g for key's last update.
  absl::Status ScanTail(const Generation& g, uint32_t from, uint32_t to,
                        std::string_view key, std::string* scratch,
                        std::string_view* value, bool* found);
  // Runs fn(tail_end) with mu_ held shared and the view current to the
  // head it loaded: a short tail of new records is searched in place
  // (tail_end) rather than indexed, which would need mu_ exclusively.
  template <typename Fn>
  absl::Status WithReadView(Fn&& fn);

  // Starts loading what ExistsLocked(key) will read (a hint); hash is
  // Hash64(key).
  void PrefetchForWrite(std::string_view key, uint64_t hash);
  // Takes the write lock, waiting at most timeout_ms (negative:
  // options_.write_lock_timeout_ms).
  absl::Status LockWriter(int64_t timeout_ms = -1);
  void UnlockWriter();
  void RecoverLocked();  // After a writer died holding the write lock.
  // Removes this dictionary's files that no process will use: with
  // other_generations, logs and snapshots not of generation `gen`; and
  // compaction temporaries of generation 1..gen (every one with all_temps).
  void RemoveStaleFiles(uint32_t gen, bool other_generations, bool all_temps);
  // What a writer that found the log full should wait for, rather than
  // compact inline (which would make a running compaction's work useless).
  enum class WaitFor { kNothing, kOwnCompaction, kOtherCompaction };
  struct Wait {
    WaitFor what = WaitFor::kNothing;
    // kOwnCompaction: bg_published_ when the log was found full (read
    // under the write lock, which publishing needs, so no publication
    // after it is missed).
    uint64_t published = 0;
  };
  // Commits one batch record (write lock held). When the log is full while
  // a background compaction runs (of this process, or of another one if
  // other_compaction) and wait is given, commits nothing and says what to
  // wait for in *wait: the caller unlocks, waits, retries.
  // single, when given, is rep's only entry, already decoded, with the
  // hash of its key (Put and Delete: rep is not decoded again).
  struct SingleEntry {
    WriteBatchInternal::Entry entry;
    uint64_t hash;
  };
  absl::Status CommitLocked(std::string_view rep,
                            const SingleEntry* single = nullptr,
                            Wait* wait = nullptr,
                            bool other_compaction = false);
  // Takes the write lock and commits, waiting for background compaction.
  absl::Status Commit(std::string_view rep,
                      const SingleEntry* single = nullptr);
  // Put (value given) or Delete of one key; with locked, the caller holds
  // the write lock (WriteLockImpl).
  absl::Status CommitOne(std::string_view key, const std::string_view* value,
                         bool locked = false);
  absl::Status CompactLocked(std::string_view pending_rep);
  // Writes the snapshot of generation g.gen + 1 at path: g's snapshot with
  // `changes` (sorted and deduplicated here) applied; *count its entries.
  absl::Status BuildSnapshot(const Generation& g, std::vector<Change>* changes,
                             const std::string& path, port::Segment* out,
                             uint64_t* count);
  // Makes the next generation of `old` from its complete snapshot `snap`:
  // creates its log at log_path (its final name, or a temporary one that
  // the caller renames before publishing) holding old's records
  // [carried_from, carried_to), and indexes them. Needs no lock: the
  // records of a log below its published head never change. serve_reserve:
  // see ApplyRecordsLocked (only when the caller holds no lock).
  absl::Status PrepareGeneration(const Generation& old, port::Segment snap,
                                 const std::string& log_path,
                                 uint32_t carried_from, uint32_t carried_to,
                                 uint64_t base_sequence,
                                 std::shared_ptr<Generation>* out,
                                 bool serve_reserve = false);
  // Appends old's records [from, to) to next's log and indexes them; sets
  // *fits to false (and does nothing) when they do not fit. serve_reserve:
  // see ApplyRecordsLocked.
  absl::Status CarryRecords(const Generation& old, uint32_t from, uint32_t to,
                            Generation* next, bool* fits,
                            bool serve_reserve = false);
  // Reserves g's log pages for record bytes [at, at + length) unless this
  // process knows them reserved: a kLogReserveStep at a time, or just the
  // bytes asked when a whole step does not fit. Write lock held, or g not
  // published yet.
  absl::Status ReserveLog(Generation* g, size_t at, size_t length);
  // Takes the cross-process compaction mutex (see ProcessMutex::Lock); when
  // its holder died, removes the compaction temporaries it left.
  absl::Status LockCompaction(int64_t timeout_ms);
  // Write lock held, next's files under their final names: publishes the
  // head of next, retires old and makes next current.
  absl::Status PublishGeneration(const Generation& old,
                                 std::shared_ptr<Generation> next);

  // Background compaction: past the generation's compaction point
  // (SetUpLog), a thread of this
  // handle builds the next snapshot without the write lock, then takes it
  // briefly to carry over the newer records and publish.
  void MaybeScheduleCompaction(uint32_t used, size_t compact_at);
  // bg_mu_ held, work queued for the background thread: starts the thread
  // if it is not running yet, and wakes it.
  void WakeBackgroundLocked();
  void BackgroundLoop();
  absl::Status BackgroundCompaction();
  void StopBackground();
  // Hands a generation no longer current to the background thread, which
  // drops it (and unmaps it unless an iterator or pinned value holds it).
  void Retire(std::shared_ptr<const Generation> generation);
  // Write lock held, after a record was appended to g's log up to `end`:
  // when the reserved pages end less than kReserveAhead beyond it, asks
  // the background thread to reserve up to twice that beyond it, so that
  // the writer rarely allocates log pages itself (2-3 us per 4 KiB page on
  // tmpfs: 75 ns per put of 130 bytes). Not in a fork child, nor without
  // background compaction.
  void MaybeReserveAhead(const std::shared_ptr<Generation>& g, size_t end);
  // On the background thread, between steps of its work that hold no lock
  // (also amid a compaction, which takes much longer than the writer takes
  // to use the bytes reserved ahead): serves the writer's request, if any.
  // Cheap when there is none.
  void MaybeServeReserve() {
    if (reserve_wanted_.load(std::memory_order_relaxed)) ServeReserve();
  }
  void ServeReserve();  // Does nothing off the background thread.
  absl::Status CheckBatch(std::string_view rep, uint32_t* count) const;
  void Close();
  std::string StatsString();

  const Options options_;
  const std::string name_;
  const std::string dir_;
  port::Segment control_segment_;
  control::Block block_{nullptr};
  FileKey key_;  // Names the generation files (see filename.h).
  bool compress_ = false;
  uint32_t slot_ = control::kMaxMembers;
  uint32_t token_ = 0;
  std::atomic<int32_t> pid_{0};
  std::mutex fork_mu_;
  // The generation whose file_mu PrepareFork took (current_ then).
  Generation* fork_locked_ = nullptr;

  // Guards current_ (std::shared_mutex, which ThreadSanitizer sees).
  std::shared_mutex mu_;
  std::shared_ptr<Generation> current_;  // Guarded by mu_.
  // The compressed record CommitLocked builds (an uncompressed one goes
  // straight into the log), kept to reuse its buffer; guarded by the write
  // lock (one thread of a process holds it at a time).
  std::string record_;
  // Iterators of this handle alive (see ~DBImpl); shared with them.
  const std::shared_ptr<std::atomic<int>> live_iterators_ =
      std::make_shared<std::atomic<int>>(0);
  // The head value current_ reflects entirely (0 before the first load).
  std::atomic<uint64_t> applied_head_{~uint64_t{0}};

  std::mutex bg_mu_;
  // On the heap: a fork child leaks it rather than destroy (StopBackground).
  std::unique_ptr<std::condition_variable> bg_cv_ =
      std::make_unique<std::condition_variable>();
  bool bg_scheduled_ = false;  // Guarded by bg_mu_.
  bool bg_stop_ = false;       // Guarded by bg_mu_.
  // Generations the background thread published (guarded by bg_mu_): a
  // writer that waits for the log to have room wakes at a publication,
  // before the thread has unmapped the generation it replaced.
  uint64_t bg_published_ = 0;
  int32_t bg_pid_ = 0;         // The process whose thread bg_thread_ is.
  std::thread bg_thread_;
  std::vector<std::shared_ptr<const Generation>> retired_;  // Guarded by bg_mu_.
  // The writer's request to reserve log pages ahead (MaybeReserveAhead),
  // guarded by bg_mu_. On the heap: a fork child leaks it, as the parent's
  // thread may have been changing it (see StopBackground).
  struct ReserveRequest {
    // Weak: replacing or dropping a request never unmaps a generation
    // (which the writer, holding its locks, must not wait for; see Retire).
    std::weak_ptr<Generation> gen;
    size_t end = 0;
    bool pending = false;
  };
  std::unique_ptr<ReserveRequest> reserve_ = std::make_unique<ReserveRequest>();
  std::atomic<bool> reserve_wanted_{false};  // A request is pending (a hint).
};

}  // namespace ultradict

#endif  // ULTRADICT_DB_DB_IMPL_H_
