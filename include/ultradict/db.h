// db.h: UltraDict's main interface, a key-value dictionary in shared memory
// that many independent processes open by name and use at once.
//
//   auto db = ultradict::DB::Open(ultradict::Options(), "sessions");
//   if (!db.ok()) return db.status();
//   absl::Status s = (*db)->Put("user:42", "alice");
//   std::string value;
//   s = (*db)->Get("user:42", &value);   // in any process that opened it
//
// Promises (each is tested, see doc/reliability.md):
// - Readers never lock and never wait for a writer, in this or another
//   process. A Get sees every write whose call returned before it started.
// - Writers of all processes are serialized by one robust cross-process
//   mutex. A process killed at any point, even holding the mutex or in the
//   middle of a compaction, never wedges the others and never leaves a
//   half-visible write: each Put, Delete, Write and Update is all or nothing.
// - Everything read is checked (xxHash checksums, bounds): damaged segments
//   give DataLoss naming the segment and offset, never a crash.
//
// Thread safety: a DB may be used by many threads of a process at once.
// Iterator and PinnableValue objects are not thread-safe.
//
// Caveats (LMDB style; see README "Caveats"):
// - Names: 1..64 characters of [A-Za-z0-9_-].
// - Keys up to 64 KiB, values up to 256 MiB.
// - Processes must share the same segment directory (default /dev/shm) and,
//   by default, the same user (Options::mode/allow_other_owner to share).
// - Segments are never opened through symbolic links; a link, FIFO or
//   directory at a segment's path is InvalidArgument, and a control segment
//   under another name than its own (hard link, copy) FailedPrecondition.
//   Generation files have names other users cannot predict; the name
//   ud.NAME itself can still be taken first by another user (refused with
//   PermissionDenied, never attached).
// - fork(): the child may keep using the parent's DB; it registers itself
//   as a new member on its first call. Other threads (and the handle's
//   background thread) may be inside DB calls at the fork: the handle's
//   in-process locks are taken around fork() (pthread_atfork), so the child
//   starts with a consistent handle. Do not fork inside an Update/Transact
//   callback; do not use in the child an iterator or pinned value that
//   another thread was using at the fork.
// - A segment file shrunk while mapped (truncate(1) by its owner or root)
//   kills the processes that map it with SIGBUS, as LMDB's data file does.
// - Every Iterator must be deleted before its DB; debug builds abort with a
//   message naming the count of live iterators when one is not.
// - A handle that writes may start one background thread (compaction);
//   see Options::background_compaction.
// - In containers, share the segment directory (`--ipc=host`, or a common
//   /dev/shm volume) and give /dev/shm room (`--shm-size`): a full /dev/shm
//   gives ResourceExhausted, never SIGBUS.

#ifndef ULTRADICT_INCLUDE_DB_H_
#define ULTRADICT_INCLUDE_DB_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ultradict/iterator.h"
#include "ultradict/options.h"
#include "ultradict/write_batch.h"

namespace ultradict {

// A value read without a copy (DB::GetPinned). data() stays valid while
// this object lives, even if other processes overwrite the key or compact
// the dictionary meanwhile.
class PinnableValue {
 public:
  PinnableValue() = default;
  std::string_view data() const { return data_; }
  size_t size() const { return data_.size(); }

 private:
  friend class DBImpl;
  std::shared_ptr<const void> pin_;  // Keeps the mapping (or copy) alive.
  std::string_view data_;
};

// Reads and writes of one atomic multi-key transaction (DB::Transact).
class Transaction {
 public:
  virtual ~Transaction() = default;
  // Reads key as of the transaction, including its own earlier writes.
  // NotFound when absent.
  virtual absl::Status Get(std::string_view key, std::string* value) = 0;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
};

// A hold on a dictionary's cross-process write lock for a scope of any
// length (DB::LockWrites), e.g. several reads and writes that must not
// interleave with another process's (a script language's `with lock:`).
// While it lives no other writer, of this or another process, commits. The
// writes made through it commit at once: each is visible to every process
// when its call returns, and stays if the holder dies later. Deleting it
// releases the lock; a holder that dies releases it too (the next writer
// recovers, as after any writer's death).
//
// Thread safety: use and delete it on the thread that took it, before its
// DB. While it lives, that thread's writes through the DB itself (Put,
// Delete, Write, Update, Transact, CompactLog) fail with FailedPrecondition
// instead of deadlocking: write through this object. Other threads' writes
// wait for it. Reads (Get, iterators) work as usual and see its writes.
// In a fork child it holds nothing: its writes give FailedPrecondition and
// deleting it releases nothing (the parent still holds the lock); the
// child's thread that forked cannot write through the DB either
// (FailedPrecondition), so do not fork while holding it.
class WriteLock {
 public:
  WriteLock() = default;
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;
  virtual ~WriteLock() = default;

  // As DB::Put, DB::Delete and DB::Write, under this lock.
  virtual absl::Status Put(std::string_view key, std::string_view value) = 0;
  virtual absl::Status Delete(std::string_view key) = 0;
  virtual absl::Status Write(const WriteBatch& batch) = 0;
};

// One entry for DB::IngestSorted: a key and its value, not owned (they
// must stay valid during the call only).
struct KeyValue {
  std::string_view key;
  std::string_view value;
};

// What DB::IngestSorted does with the keys of the dictionary that are not
// among its entries.
enum class IngestMode {
  kMerge,    // They stay as they are.
  kReplace,  // They are deleted: afterwards the dictionary holds exactly
             // the entries.
};

// A place in the change feed, for DB::ReadChangesFrom, which fills it in.
struct ChangeCursor {
  uint64_t sequence = 0;    // Updates committed before the place.
  uint32_t generation = 0;  // The log the offset is in (0: not placed yet).
  uint32_t offset = 0;      // Record bytes of that log before the place.
};

class DB {
 public:
  // Opens (or, with options.create_if_missing, creates) the dictionary
  // `name`. An empty name creates a new dictionary with a fresh random name
  // (see name()).
  // Options that shape the dictionary (log_size, compression, lifetime) are
  // only used when this call creates it; later opens use the dictionary's.
  // Errors: InvalidArgument (bad name or options; the segment path is a
  // symbolic link, a FIFO or a directory), NotFound (missing and not
  // create_if_missing), AlreadyExists (error_if_exists), FailedPrecondition
  // (another format version; another dictionary's control segment under
  // this name),
  // PermissionDenied (segment of another user or mode), ResourceExhausted
  // (no room for the segments), DataLoss (damaged control segment).
  static absl::StatusOr<std::unique_ptr<DB>> Open(const Options& options,
                                                  std::string_view name);

  DB() = default;
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;

  // Closes this handle; with Lifetime::kUntilLastClose or
  // kUntilCreatorCloses this may remove the dictionary.
  virtual ~DB() = default;

  // The dictionary's name (the generated one for an empty name).
  virtual const std::string& name() const = 0;

  // Stores key -> value, replacing any previous value. Visible to every
  // process when the call returns. Errors: InvalidArgument (size limits),
  // ResourceExhausted (no room), DeadlineExceeded (write lock timeout),
  // FailedPrecondition (a replica: see SetReplicaOf; every write call).
  virtual absl::Status Put(std::string_view key, std::string_view value) = 0;

  // Removes key; OK when it was absent.
  virtual absl::Status Delete(std::string_view key) = 0;

  // Applies the batch atomically: every process sees all of it or none.
  virtual absl::Status Write(const WriteBatch& batch) = 0;

  // Stores many entries at once, atomically (every process sees all of
  // them or none), as a bulk load: a replica's bootstrap, a nightly reload.
  // Unlike Write, nothing goes through the update log: under the write lock
  // the call builds the next snapshot straight from the current contents
  // (snapshot and log) and `entries`, publishes it with an empty log and
  // retires the old generation, as CompactLog does. Cost O(dictionary +
  // entries) (kReplace: O(entries)) with no per-key lookup (1 M new
  // entries: 0.2-0.5 s on a busy 2-core VM, see doc/benchmarks.md); for a
  // few entries Write is cheaper.
  //   std::vector<KeyValue> entries = {{"a", "1"}, {"b", "2"}};  // sorted
  //   absl::Status s = db->IngestSorted(entries, IngestMode::kMerge);
  // An entry's value replaces the value of its key, if present. `mode`
  // says what happens to the other keys (see IngestMode). Only puts: to
  // remove keys, use kReplace, or Delete/Write before or after.
  // `entries` must be sorted by key (bytewise, as the iterator orders
  // them), each key at most once: it is checked before anything is
  // written. An empty `entries` with kMerge does nothing; with kReplace it
  // empties the dictionary.
  // Counts as one update of the change feed (LatestSequence() grows by 1),
  // but like a compaction it leaves no record in the log: ReadChanges and
  // ReadChangesFrom from a sequence before it give OutOfRange (read the
  // whole dictionary instead). The "puts" counter grows by entries.size();
  // "ultradict.num-entries" is the new count; the "compactions" counter
  // of "ultradict.stats" counts it as it counts a CompactLog.
  // Readers never wait for it; iterators and pinned values opened before
  // it keep their view. Other writers wait for the write lock meanwhile
  // (Options::write_lock_timeout_ms applies to this call too). A process
  // killed inside it leaves the dictionary as it was or as the call makes
  // it, never a mix; the next writer removes what it left.
  // Errors: InvalidArgument (keys out of order or repeated, naming the
  // first such entry; a key or value over the size limits of Put: nothing
  // is written), ResourceExhausted (no room for the new snapshot),
  // DeadlineExceeded (write lock timeout), FailedPrecondition (a replica,
  // see SetReplicaOf; called inside Update/Transact or with a WriteLock
  // held), DataLoss (the current snapshot or log is damaged).
  virtual absl::Status IngestSorted(const std::vector<KeyValue>& entries,
                                    IngestMode mode) = 0;

  // Copies the value of key into *value. NotFound when absent (then *value
  // is left alone); DataLoss when the stored bytes are damaged.
  virtual absl::Status Get(std::string_view key, std::string* value) = 0;

  // Like Get, without a copy: *value pins the bytes in place.
  virtual absl::Status GetPinned(std::string_view key,
                                 PinnableValue* value) = 0;

  // Read-modify-write of one key under the write lock. fn gets the current
  // value (nullptr when absent) and returns the new value, or std::nullopt
  // to delete the key. fn may run while the write lock is held: keep it
  // short and do not call this DB from it.
  virtual absl::Status Update(
      std::string_view key,
      absl::FunctionRef<std::optional<std::string>(const std::string_view*)>
          fn) = 0;

  // Runs fn with a Transaction under the write lock; its writes commit as
  // one record when fn returns OK, and are dropped when it returns an
  // error (which Transact returns).
  virtual absl::Status Transact(
      absl::FunctionRef<absl::Status(Transaction&)> fn) = 0;

  // Takes the write lock and returns a hold on it (see WriteLock), waiting
  // at most timeout_ms (0: only if it is free now; INT64_MAX: without
  // limit; Options::write_lock_timeout_ms does not apply). A previous
  // holder that died is detected at once and its lock taken over. Errors:
  // DeadlineExceeded (held by another writer all along), InvalidArgument
  // (negative timeout), FailedPrecondition (this thread already holds the
  // lock, inside Update/Transact or through a live WriteLock; or the
  // dictionary was destroyed).
  virtual absl::StatusOr<std::unique_ptr<WriteLock>> LockWrites(
      int64_t timeout_ms) = 0;

  // A point-in-time ordered view (see iterator.h). Caller owns it.
  virtual std::unique_ptr<Iterator> NewIterator() = 0;

  // Folds the update log into a new snapshot now (also done by itself when
  // the log is full).
  virtual absl::Status CompactLog() = 0;

  // Flushes the segments to their files (msync). Only meaningful for a
  // dictionary in a directory on a disk (Options::directory).
  virtual absl::Status Sync() = 0;

  // Number of updates committed so far by all processes (a change counter).
  virtual uint64_t LatestSequence() = 0;

  // Blocks until LatestSequence() > since or timeout_ms passes, without
  // spinning. Returns the latest sequence (== since on timeout). INT64_MAX
  // waits without limit.
  virtual uint64_t WaitForChange(uint64_t since, int64_t timeout_ms) = 0;

  // Calls handler for each update committed after sequence `since`, in
  // order, and returns the sequence reached. OutOfRange when some of those
  // updates were already folded into a snapshot (read the whole dictionary
  // instead).
  virtual absl::StatusOr<uint64_t> ReadChanges(uint64_t since,
                                               WriteBatch::Handler* handler) = 0;

  // Like ReadChanges(cursor->sequence, handler), but continues from where
  // the previous call on the same cursor stopped: it reads only the records
  // committed since, O(new records) rather than O(log). Calls handler for
  // each update after cursor->sequence, in order (EndOfBatch after each
  // committed record), and advances *cursor past every record it delivered,
  // also when it then fails. Start a cursor as ChangeCursor{since} (or
  // {LatestSequence()} for "from now"): the first call, and the first after
  // each compaction, finds its place by walking the current log once. A
  // cursor is a plain value: copy it to read the same changes again; across
  // restarts keep only its `sequence`. Its place (generation, offset) is
  // only meaningful to the dictionary whose calls filled it in.
  // Errors: OutOfRange when updates after cursor->sequence were already
  // folded into a snapshot (cursor unchanged; read the whole dictionary
  // instead, then start again from its sequence); DataLoss naming the log
  // and offset when a record is damaged (cursor left before it);
  // InvalidArgument when the cursor's place does not fit the current log.
  // When cursor->sequence is past LatestSequence() nothing is delivered
  // and only cursor->sequence is kept (generation and offset reset to 0).
  virtual absl::Status ReadChangesFrom(ChangeCursor* cursor,
                                       WriteBatch::Handler* handler) = 0;

  // Properties:
  //  "ultradict.stats": human-readable counters (generation, entries, log
  //      bytes used/capacity, snapshot bytes, compactions, members...).
  //  "ultradict.approximate-memory-usage": bytes of the segments.
  //  "ultradict.index-memory-usage": heap bytes of this handle's own index
  //      of the log: always "0", as the index of the log is shared (it
  //      lives in the log segment, kept by the writer; see doc/design.md,
  //      "Log index"). Kept for the programs that read it.
  //  "ultradict.log-index": the shared index of the current log, as
  //      "keys K, nodes N of C, table 2^B" (keys, nodes used and their
  //      capacity, the current table's buckets).
  //  "ultradict.log-run": the sorted run of the current log that an
  //      iterator made now would read (doc/design.md, "Sorted runs"), as
  //      "keys K, entries N, records below E of H" (the keys it lists, the
  //      log's entries it covers, and its end against the head's offset;
  //      an iterator sorts the records from E to H itself), or "none", or
  //      "damaged".
  //  "ultradict.num-entries", "ultradict.generation", "ultradict.members",
  //  "ultradict.lifetime", "ultradict.compression".
  //  "ultradict.replica-of": the primary the dictionary follows (see
  //      SetReplicaOf), empty when it is not a replica.
  // Returns false for an unknown property.
  virtual bool GetProperty(std::string_view property, std::string* value) = 0;

  // Marks the dictionary a replica of `primary` (free text naming it, at
  // most 127 bytes, e.g. "redis://10.0.0.5:6379 stream ultradict:NAME"),
  // with this handle as its only writer: from then on every write (Put,
  // Delete, Write, Update, Transact, a WriteLock's Put/Delete/Write) of
  // any other handle, in any process, fails with FailedPrecondition naming
  // the primary, unless that handle was opened with
  // Options::write_replica. Reads are not affected. An empty `primary`
  // clears the mark (any handle may). The mark is kept in the control
  // segment: it outlives this handle (a follower that stops or dies leaves
  // the copy read-only) and, for a persistent dictionary, a reboot. A fork
  // child is another handle: it is not the writer. Takes the write lock
  // (Options::write_lock_timeout_ms). `ultradict follow` sets it;
  // `ultradict unfollow NAME` clears it. Errors: InvalidArgument (primary
  // too long), DeadlineExceeded, FailedPrecondition (called from inside
  // Update/Transact or while this thread holds a WriteLock; destroyed).
  virtual absl::Status SetReplicaOf(std::string_view primary) = 0;
};

// Removes every segment of the dictionary `name` (in options.directory).
// Processes that still have it open keep working on their mapping until they
// close. NotFound when it does not exist; InvalidArgument (nothing removed)
// when its control path is a symbolic link, a FIFO or a directory;
// PermissionDenied (nothing removed) when it belongs to another user. A
// control segment of another dictionary under this name (a hard link, a
// copy) is not destroyed: only the files named for `name` are removed. When
// a file of it cannot be removed (a read-only directory, a directory named
// like one of its files), the others are removed and the error (the code of
// the first failure, e.g. PermissionDenied) names each file left and why.
absl::Status DestroyDB(std::string_view name,
                       const Options& options = Options());

// Names of the dictionaries in options.directory, sorted. A non-persistent
// dictionary whose members all died without closing it is removed, not
// listed (DB::Open of its name removes it too).
absl::StatusOr<std::vector<std::string>> ListDBs(
    const Options& options = Options());

}  // namespace ultradict

#endif  // ULTRADICT_INCLUDE_DB_H_
