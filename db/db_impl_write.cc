// db_impl_write.cc: the write path: the cross-process write lock and the
// recovery after a writer that died holding it, checking what is written,
// and committing a batch (Put, Delete, Write). See db_impl.h for the locks.
//
// A commit, with the write lock held (CommitAsWriter):
//   1. decode the batch (Put/Delete hand it over decoded),
//   2. CountChanges: the generation and head it goes into; puts, deletes,
//   3. build the record (compressed into record_, or later in place),
//   4. FitsAsWriter: repair the index after a writer that died, and make
//      room in it; MakeRoomAsWriter when the log or its index is full:
//      wait for a compaction or compact inline,
//   5. AppendAsWriter: write the record past the head, add its entries to
//      the shared index (no reader looks past the head; what each replaced
//      gives the entry count), publish the head, then the index's progress,
//   6. ask the background thread for pages ahead, or a compaction,
//   7. NotifyCommitted: counters, and wake the processes waiting for it.

#include <chrono>
#include <cstring>
#include <memory>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "db/db_impl.h"
#include "db/fault_point.h"
#include "db/log_format.h"
#include "db/log_writer.h"
#include "util/checksum.h"

namespace ultradict {

namespace {

// The DB whose write lock this thread holds (to refuse re-entry from an
// Update/Transact callback instead of deadlocking).
thread_local const DBImpl* tls_writer = nullptr;

// How long a writer that finds the log full waits for another process's
// background compaction before it compacts inline itself.
constexpr int64_t kWaitForOtherCompactionMs = 10 * 1000;

}  // namespace

struct DBImpl::PendingCommit {
  std::string_view rep;
  WriteBatchInternal::Entries ops;
  absl::InlinedVector<uint64_t, 8> hashes;  // Of each key: index, snapshot.
  std::shared_ptr<Generation> g;            // The generation it goes into.
  uint64_t head = 0;  // The head when the changes were counted.
  int64_t delta = 0;  // Entry count: keys after minus before.
  uint64_t puts = 0, deletes = 0;
  bool compress = false;    // Built compressed in record_ (step 3).
  bool compressed = false;  // ... and smaller so (AppendAsWriter).
  size_t record_size = 0;
  uint32_t at = 0;      // Where the record goes in g's log.
  bool folded = false;  // Went into a new snapshot instead (step 4).
  uint64_t old_head = 0, new_head = 0;  // Around the record (step 5).
};

absl::Status DBImpl::LockWriter(int64_t timeout_ms) {
  if (tls_writer == this) {
    return absl::FailedPreconditionError(
        "a write was called from inside Update/Transact of the same DB");
  }
  absl::Status s = CheckFork();
  if (!s.ok()) return s;
  bool owner_died = false;
  s = port::ProcessMutex::Lock(
      block_.mutex(),
      timeout_ms < 0 ? options_.write_lock_timeout_ms : timeout_ms,
      &owner_died);
  if (!s.ok()) return s;
  if (owner_died) {
    RecoverAsWriter();
    port::ProcessMutex::MarkConsistent(block_.mutex());
  }
  if (block_.state().load(std::memory_order_acquire) != control::kStateReady) {
    port::ProcessMutex::Unlock(block_.mutex());
    return absl::FailedPreconditionError(
        absl::StrCat("dictionary \"", name_, "\" was destroyed"));
  }
  tls_writer = this;
  return absl::OkStatus();
}

void DBImpl::UnlockWriter() {
  tls_writer = nullptr;
  port::ProcessMutex::Unlock(block_.mutex());
}

void DBImpl::RecoverAsWriter() {
  // A writer died holding the lock. Nothing it wrote is visible unless it
  // published the head; what it left is bytes past the head (overwritten by
  // the next write), nodes of the shared index for them (undone by the next
  // commit, FitsAsWriter) and maybe files of an unpublished or retired
  // generation.
  block_.recoveries().fetch_add(1, std::memory_order_relaxed);
  const uint32_t gen =
      control::HeadGeneration(block_.head().load(std::memory_order_acquire));
  RemoveStaleFiles(gen, /*other_generations=*/true, /*all_temps=*/false);
}

absl::Status DBImpl::CheckBatch(std::string_view rep, uint32_t* count) const {
  WriteBatchInternal::Entries ops;
  absl::Status s = WriteBatchInternal::Decode(rep, &ops);
  if (!s.ok()) return s;
  for (const WriteBatchInternal::Entry& op : ops) {
    s = WriteBatchInternal::CheckSizes(op.key, op.value);
    if (!s.ok()) return s;
  }
  if (rep.size() > log::kMaxBatchSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch of ", rep.size(), " bytes; the limit is ", log::kMaxBatchSize));
  }
  *count = static_cast<uint32_t>(ops.size());
  return absl::OkStatus();
}

absl::Status DBImpl::CountChanges(PendingCommit* c) {
  // The write lock is held, so only this thread moves the head; mu_ is
  // taken exclusively only to map a new generation: readers go on.
  for (;;) {
    {
      port::ReaderMutexLock l(&mu_);
      c->head = block_.head().load(std::memory_order_acquire);
      if (current_ != nullptr &&
          control::HeadGeneration(c->head) == current_->gen) {
        c->g = current_;
        if (control::HeadOffset(c->head) > c->g->record_capacity) {
          return HeadPastLog(*c->g, control::HeadOffset(c->head));
        }
        return CountChangesLocked(c);
      }
    }
    port::WriterMutexLock l(&mu_);
    absl::Status s = RefreshLocked();
    if (!s.ok()) return s;
  }
}

absl::Status DBImpl::CountChangesLocked(PendingCommit* c) {
  // (Which keys existed before is learned while they are added to the
  // index: AppendAsWriter. A record folded into a new snapshot is counted
  // there.)
  for (const WriteBatchInternal::Entry& op : c->ops) {
    (op.deleted ? c->deletes : c->puts)++;
  }
  return absl::OkStatus();
}

absl::Status DBImpl::FitsAsWriter(PendingCommit* c, bool* fits) {
  Generation& g = *c->g;
  *fits = false;
  if (g.gen == 0 || c->record_size > g.record_capacity - c->at) {
    return absl::OkStatus();
  }
  if (g.index.NeedsRepair(c->at)) {
    // A writer died in the middle of a commit (or between publishing the
    // head and the index's progress).
    absl::Status s = g.RepairIndex(c->at);
    if (!s.ok()) return s;
  }
  return g.MakeIndexRoom(c->ops.size(), fits);
}

absl::Status DBImpl::MakeRoomAsWriter(PendingCommit* c, Wait* wait,
                                      bool other_compaction) {
  if (wait != nullptr && c->g->gen != 0 &&
      background_->CompactionPending(&wait->published)) {
    wait->what = WaitFor::kOwnCompaction;
    return absl::OkStatus();
  }
  if (wait != nullptr && other_compaction && c->g->gen != 0) {
    // Another process's background compaction holds the compaction mutex:
    // it needs the write lock only to publish.
    if (!LockCompaction(0)->status().ok()) {
      wait->what = WaitFor::kOtherCompaction;
      return absl::OkStatus();
    }
  }
  {
    port::WriterMutexLock l(&mu_);
    absl::Status s = RefreshLocked();  // Compaction folds the whole log.
    if (!s.ok()) return s;
  }
  // A new log holds at least initial_log_size bytes; a record larger than
  // that goes straight into the new snapshot. The new log's index has room
  // for the batch's entries.
  c->folded = c->record_size > block_.initial_log_size();
  absl::Status s = CompactAsWriter(c->folded ? c->rep : std::string_view(),
                                   c->ops.size());
  if (!s.ok()) return s;
  port::ReaderMutexLock l(&mu_);
  c->g = current_;
  c->head = block_.head().load(std::memory_order_acquire);
  c->at = control::HeadOffset(c->head);
  return absl::OkStatus();
}

absl::Status DBImpl::AppendAsWriter(PendingCommit* c) {
  Generation& g = *c->g;
  // Past the head: no reader looks at these bytes until the head moves.
  char* dst = const_cast<char*>(g.records) + c->at;
  if (c->compress) {
    std::memcpy(dst, record_.data(), c->record_size);
    // (AppendRecord keeps a record uncompressed when that is smaller.)
    c->compressed = (static_cast<uint8_t>(record_[log::kRecordHeaderSize - 1]) &
                     log::kCompressedFlag) != 0;
  } else {
    log::EncodeRecord(c->rep, dst);
  }
  // Its entries go into the shared index, pointing past the head: readers
  // skip them (and find the older entries of their keys) until it moves.
  FaultPoint("index.before_add");
  const uint32_t end = c->at + static_cast<uint32_t>(c->record_size);
  const uint32_t payload = c->at + static_cast<uint32_t>(log::kRecordHeaderSize);
  std::string scratch;
  for (size_t i = 0; i < c->ops.size(); i++) {
    const uint32_t location =
        c->compressed ? c->at | log::kCompressedLocation
                      : payload + static_cast<uint32_t>(c->ops[i].start -
                                                        c->rep.data());
    // The check of an entry covers the same bytes in rep and in the log.
    LogIndex::Prior prior;
    absl::Status s =
        g.index.Add(c->ops[i].key, c->hashes[i], location,
                    c->compressed ? static_cast<uint32_t>(i)
                                  : LogIndex::EntryCheck(c->ops[i]),
                    end, &scratch, &prior);
    // (On error: undone by the next commit, FitsAsWriter.)
    bool existed = prior == LogIndex::Prior::kPut;
    if (s.ok() && prior == LogIndex::Prior::kNone) {
      s = g.ExistsInSnapshot(c->ops[i].key, c->hashes[i], &existed);
    }
    if (!s.ok()) return s;
    // The entry count: keys after minus before (an earlier entry of the
    // same key in this batch is what Add found).
    c->delta += static_cast<int64_t>(!c->ops[i].deleted) -
                static_cast<int64_t>(existed);
    if (i == 0) FaultPoint("index.after_first_add");
  }
  FaultPoint("write.before_publish");
  block_.entries().fetch_add(static_cast<uint64_t>(c->delta),
                             std::memory_order_relaxed);
  c->old_head = control::MakeHead(g.gen, c->at);
  c->new_head = control::MakeHead(g.gen, end);
  block_.head().store(c->new_head, std::memory_order_release);
  FaultPoint("write.after_publish");
  uint32_t counted_to, records;
  g.index.Progress(&counted_to, &records);
  if (counted_to != c->at) {  // (FitsAsWriter repaired it: not expected.)
    absl::StatusOr<uint32_t> below = g.RecordsBelow(c->at);
    if (!below.ok()) return below.status();
    records = *below;
  }
  g.index.Publish(end, records + 1);
  return absl::OkStatus();
}

void DBImpl::NotifyCommitted(const PendingCommit& c) {
  block_.puts().fetch_add(c.puts, std::memory_order_relaxed);
  block_.deletes().fetch_add(c.deletes, std::memory_order_relaxed);
  block_.sequence().fetch_add(1, std::memory_order_relaxed);
  block_.change().fetch_add(1, std::memory_order_seq_cst);
  // A syscall only when some process waits (see WaitForChange).
  if (block_.waiters().load(std::memory_order_seq_cst) != 0) {
    port::FutexWakeAll(&block_.change());
  }
}

absl::Status DBImpl::CommitAsWriter(std::string_view rep,
                                    const SingleEntry* single, Wait* wait,
                                    bool other_compaction) {
  absl::Status s;
  // Not a replica (or allowed to write one): one byte read.
  if (!options_.write_replica && block_.is_replica()) {
    s = ReplicaErrorAsWriter();
    if (!s.ok()) return s;
  }
  PendingCommit c;
  c.rep = rep;
  if (single != nullptr) {
    c.ops.push_back(single->entry);
    c.hashes.push_back(single->hash);
  } else {
    s = WriteBatchInternal::Decode(rep, &c.ops);
    if (!s.ok()) return s;
    for (const auto& op : c.ops) c.hashes.push_back(Hash64(op.key));
  }
  s = CountChanges(&c);
  if (!s.ok()) return s;
  // An uncompressed record is written straight into the log; a compressed
  // one is built first, in a buffer reused from commit to commit.
  c.compress = compress_ && rep.size() >= block_.compression_threshold();
  if (c.compress) {
    if (record_.capacity() > (size_t{1} << 20)) {
      std::string().swap(record_);  // A huge batch's buffer is not kept.
    }
    record_.clear();
    log::AppendRecord(rep, /*compress=*/true, &record_);
  }
  c.record_size =
      c.compress ? record_.size() : log::kRecordHeaderSize + rep.size();
  c.at = control::HeadOffset(c.head);
  bool fits = false;
  s = FitsAsWriter(&c, &fits);
  if (!s.ok()) return s;
  if (!fits) {
    s = MakeRoomAsWriter(&c, wait, other_compaction);
    if (!s.ok() || (wait != nullptr && wait->what != WaitFor::kNothing)) {
      return s;
    }
    if (!c.folded) {
      s = FitsAsWriter(&c, &fits);
      if (!s.ok()) return s;
      if (!fits) {
        return absl::InternalError(absl::StrCat(
            "a record of ", c.record_size, " bytes and ", c.ops.size(),
            " entries does not fit the log made for it"));
      }
    }
  }
  if (!c.folded) {
    s = c.g->ReserveLog(c.at, c.record_size);
    if (!s.ok()) return s;
    s = AppendAsWriter(&c);
    if (!s.ok()) return s;
    const size_t end = c.at + c.record_size;
    background_->AskReserve(c.g, end);
    if (c.g->WantsCompaction(static_cast<uint32_t>(end))) {
      background_->ScheduleCompaction();
    } else if (c.g->index.nodes_used() >=
               c.g->run_due_at.load(std::memory_order_relaxed)) {
      background_->AskRun(c.g, static_cast<uint32_t>(end));
    }
  }
  NotifyCommitted(c);
  return absl::OkStatus();
}

absl::Status DBImpl::ReplicaErrorAsWriter() const {
  const uint32_t writer =
      block_.replica_writer().load(std::memory_order_relaxed);
  if (writer != 0 && writer == token_) return absl::OkStatus();
  const std::string primary = block_.replica_of();
  if (primary.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "dictionary \"", name_, "\" follows ", primary,
      " (ultradict follow); open it with Options::write_replica to write"));
}

absl::Status DBImpl::SetReplicaOf(std::string_view primary) {
  if (primary.size() > control::kMaxReplicaOf) {
    return absl::InvalidArgumentError(
        absl::StrCat("SetReplicaOf: primary of ", primary.size(),
                     " bytes (at most ", control::kMaxReplicaOf, ")"));
  }
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  block_.SetReplicaOf(primary, token_);
  return absl::OkStatus();
}

absl::Status DBImpl::Commit(std::string_view rep, const SingleEntry* single) {
  bool waited_for_other = false;
  for (;;) {
    Wait wait;
    {
      WriterLock lock(this);
      if (!lock.status().ok()) return lock.status();
      absl::Status s = CommitAsWriter(rep, single, &wait,
                                      /*other_compaction=*/!waited_for_other);
      if (wait.what == WaitFor::kNothing) return s;
    }
    if (wait.what == WaitFor::kOwnCompaction) {
      // The log is full while this process's background compaction runs:
      // wait for it to publish (it needs the write lock) rather than
      // compact again.
      background_->WaitForPublication(wait.published, std::chrono::seconds(10));
    } else {
      // Another process's: wait until it releases the compaction mutex
      // (published, or given up), once; then compact inline if still full.
      waited_for_other = true;
      LockCompaction(kWaitForOtherCompactionMs);
    }
  }
}

absl::Status DBImpl::Write(const WriteBatch& batch) {
  const std::string_view rep = WriteBatchInternal::Contents(batch);
  uint32_t count = 0;
  absl::Status s = CheckBatch(rep, &count);
  if (!s.ok() || count == 0) return s;
  return Commit(rep);
}

void DBImpl::PrefetchForWrite(std::string_view key, uint64_t hash) {
  // The writer looks the key up in the shared index of the log (Add) and,
  // for a key the log does not hold, in the snapshot: a cache miss each at
  // scale. Start both now, to overlap with building the record and taking
  // the lock.
  port::ReaderMutexLock l(&mu_);
  if (current_ == nullptr || current_->gen == 0) return;
  current_->index.Prefetch(hash);
  current_->snapshot.Prefetch(hash);
}

absl::Status DBImpl::EncodeOne(std::string_view key,
                               const std::string_view* value,
                               OneEntryBatch* batch) {
  absl::Status s = WriteBatchInternal::CheckSizes(
      key, value != nullptr ? *value : std::string_view());
  if (!s.ok()) return s;
  const uint64_t hash = Hash64(key);
  PrefetchForWrite(key, hash);
  // Encoded directly, and handed to the commit decoded: 550 of a put's
  // 2,600 instructions went to building a WriteBatch and decoding it again.
  batch->Encode(key, value, hash);
  return absl::OkStatus();
}

absl::Status DBImpl::Put(std::string_view key, std::string_view value) {
  OneEntryBatch batch;
  absl::Status s = EncodeOne(key, &value, &batch);
  if (!s.ok()) return s;
  return Commit(batch.rep(), batch.single());
}

absl::Status DBImpl::Delete(std::string_view key) {
  OneEntryBatch batch;
  absl::Status s = EncodeOne(key, nullptr, &batch);
  if (!s.ok()) return s;
  return Commit(batch.rep(), batch.single());
}

}  // namespace ultradict
