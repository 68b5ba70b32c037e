// db_impl_compaction.cc: when and how this handle compacts: CompactLog and
// a writer that found the log full compact inline, with the write lock
// held; past a generation's compaction point, the background thread
// compacts with the write lock held only to freeze the generation and to
// publish the next one. The work itself is compaction.h's. See db_impl.h
// for the locks and doc/design.md ("Compaction") for the protocol.

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "db/compaction.h"
#include "db/db_impl.h"
#include "db/fault_point.h"
#include "db/write_batch_internal.h"

namespace ultradict {

namespace {

// A background compaction carries records over to the next generation
// without the write lock until at most this many bytes are left for it to
// carry with the lock held.
constexpr uint32_t kLockedCarryBytes = 256 * 1024;

}  // namespace

// One background compaction of generation `old`, from phase to phase. Its
// temporary files are removed unless they were published.
struct DBImpl::BackgroundRun {
  std::shared_ptr<const Generation> old;  // Null: nothing to compact.
  uint32_t frozen = 0;  // Its records below this go into the snapshot.
  uint64_t frozen_records = 0;
  uint64_t base_sequence = 0;  // Of the next generation.
  std::string tmp_snap, tmp_log;
  port::Segment snap;  // Built (phase 2), then owned by `next` (phase 3).
  std::shared_ptr<Generation> next;
  uint32_t carried_to = 0;  // Old's records below it are in next's log.
  bool fits = true;         // ... and more did not fit.
  bool published = false;

  ~BackgroundRun() {
    if (published) return;
    if (!tmp_snap.empty()) port::Unlink(tmp_snap).IgnoreError();
    if (!tmp_log.empty()) port::Unlink(tmp_log).IgnoreError();
  }
};

snapshot::BuildOptions DBImpl::SnapshotOptions() const {
  snapshot::BuildOptions options;
  options.compress = compress_;
  options.compression_threshold = block_.compression_threshold();
  options.mode = options_.mode;
  return options;
}

std::unique_ptr<port::ProcessMutexLock> DBImpl::LockCompaction(
    int64_t timeout_ms) {
  auto lock = std::make_unique<port::ProcessMutexLock>(
      block_.compaction_mutex(), timeout_ms);
  if (lock->owner_died()) {
    // Its temporary files are ours to remove: no other background
    // compactor runs while we hold the mutex (inline ones use final names).
    RemoveStaleFiles(0, /*other_generations=*/false, /*all_temps=*/true);
    lock->MarkConsistent();
  }
  return lock;
}

absl::Status DBImpl::CompactLog() {
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  {
    port::WriterMutexLock l(&mu_);
    absl::Status s = RefreshLocked();
    if (!s.ok()) return s;
  }
  return CompactAsWriter({});
}

absl::Status DBImpl::CompactAsWriter(std::string_view pending_rep,
                                     size_t more_entries) {
  std::shared_ptr<const Generation> old;
  uint32_t end = 0, records = 0;
  std::vector<Change> changes;
  std::deque<std::string> buffers;  // Decompressed batches.
  absl::Status s = ViewAsWriter(&old, &end, &records, &buffers, &changes);
  if (!s.ok()) return s;
  if (!pending_rep.empty()) {
    WriteBatchInternal::Entries ops;
    s = WriteBatchInternal::Decode(pending_rep, &ops);
    if (!s.ok()) return s;
    for (const WriteBatchInternal::Entry& op : ops) {
      changes.push_back(MakeChange(op.key, LogValue{op.value, op.deleted},
                                   changes.size() + 1));
    }
  }
  FaultPoint("compact.before_snapshot");
  port::Segment snap;
  uint64_t count = 0;
  s = BuildSnapshot(
      *old, &changes, SnapshotOptions(), files_.SnapshotPath(old->gen + 1),
      [] {}, &snap, &count);
  if (!s.ok()) return s;
  FaultPoint("compact.after_snapshot");
  const uint64_t base_sequence =
      old->log_header.base_sequence + records + (pending_rep.empty() ? 0 : 1);
  return InstallAsWriter(std::move(old), end, std::move(snap), count,
                         base_sequence, more_entries);
}

absl::Status DBImpl::ViewAsWriter(std::shared_ptr<const Generation>* g,
                                  uint32_t* end, uint32_t* records,
                                  std::deque<std::string>* buffers,
                                  std::vector<Change>* changes) {
  // Holding the write lock: the current generation, its head and its index
  // are stable (the caller refreshed it). They are read under mu_ shared,
  // so this process's readers go on.
  {
    port::ReaderMutexLock reading(&mu_);
    *g = current_;
    const uint64_t head = block_.head().load(std::memory_order_acquire);
    if (control::HeadGeneration(head) != (*g)->gen) {
      return absl::InternalError("compacting a generation that is not current");
    }
    *end = control::HeadOffset(head);
    if ((*g)->gen != 0 && *end > (*g)->record_capacity) {
      return HeadPastLog(**g, *end);
    }
    if ((*g)->gen != 0 && (*g)->index.NeedsRepair(*end)) {
      absl::Status s = current_->RepairIndex(*end);
      if (!s.ok()) return s;
    }
    if (changes != nullptr) {
      absl::Status s = CollectIndexChanges(**g, *end, buffers, changes);
      if (!s.ok()) return s;
    }
  }
  *records = 0;
  if ((*g)->gen != 0) {
    absl::StatusOr<uint32_t> below = (*g)->RecordsBelow(*end);
    if (!below.ok()) return below.status();
    *records = *below;
  }
  return absl::OkStatus();
}

absl::Status DBImpl::InstallAsWriter(std::shared_ptr<const Generation> g,
                                     uint32_t end, port::Segment snap,
                                     uint64_t count, uint64_t base_sequence,
                                     size_t more_entries) {
  const Generation& old = *g;
  block_.entries().store(count, std::memory_order_relaxed);
  std::shared_ptr<Generation> next;
  absl::Status s = PrepareGeneration(
      old, std::move(snap), files_, files_.LogPath(old.gen + 1), end, end,
      base_sequence, [] {}, &next, more_entries);
  if (s.ok()) s = PublishAsWriter(old, std::move(next));
  if (!s.ok()) port::Unlink(files_.SnapshotPath(old.gen + 1)).IgnoreError();
  background_->Retire(std::move(g));
  return s;
}

absl::Status DBImpl::PublishAsWriter(const Generation& old,
                                     std::shared_ptr<Generation> next) {
  {
    // This process's readers switch with the head: a reader that saw the
    // new head before current_ would load and index the new generation
    // all over again (tens of milliseconds with mu_ held).
    port::WriterMutexLock l(&mu_);
    FaultPoint("compact.before_publish");
    uint32_t carried, records;
    next->index.Progress(&carried, &records);
    const uint64_t head = control::MakeHead(next->gen, carried);
    block_.head().store(head, std::memory_order_release);
    FaultPoint("compact.after_publish");
    current_->CloseFiles();  // `old`, which the caller still holds.
    // The records carried into the new log may be many: a sorted run of
    // them is due as of now, not at the next commit (there may be none).
    if (next->index.nodes_used() >=
        next->run_due_at.load(std::memory_order_relaxed)) {
      background_->AskRun(next, carried);
    }
    background_->AskCollapse(next);
    current_ = std::move(next);
  }
  if (old.gen != 0) {
    block_.compactions().fetch_add(1, std::memory_order_relaxed);
    // Retire the old generation. Processes that still map it keep their
    // mapping; those that try to open it now follow the head instead.
    port::Unlink(files_.SnapshotPath(old.gen)).IgnoreError();
    port::Unlink(files_.LogPath(old.gen)).IgnoreError();
  }
  // Temporary files of a compactor that died building this generation (or
  // an older one) are of no use now; a live one building it gives up when
  // it sees the head moved.
  RemoveStaleFiles(old.gen + 1, /*other_generations=*/false,
                   /*all_temps=*/false);
  return absl::OkStatus();
}

absl::Status DBImpl::BackgroundCompaction() {
  // One compactor at a time in all processes; skip when another one runs.
  std::unique_ptr<port::ProcessMutexLock> lock = LockCompaction(1);
  if (!lock->status().ok()) return lock->status();
  BackgroundRun run;
  absl::Status s = FreezeGeneration(&run);
  if (!s.ok() || run.old == nullptr) return s;
  s = BuildFrozenSnapshot(&run);
  if (!s.ok()) return s;
  bool moved_on = false;
  s = CarryWhileWriting(&run, &moved_on);
  if (!s.ok() || moved_on) return s;
  return FinishAndPublish(&run);
}

// Phase 1, under the write lock: the generation and how far it is
// committed. Leaves run->old null when it was compacted meanwhile.
absl::Status DBImpl::FreezeGeneration(BackgroundRun* run) {
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  port::WriterMutexLock l(&mu_);
  absl::Status s = RefreshLocked();
  if (!s.ok()) return s;
  const uint64_t head = block_.head().load(std::memory_order_acquire);
  const uint32_t end = control::HeadOffset(head);
  if (current_->gen == 0 || control::HeadGeneration(head) != current_->gen ||
      !current_->WantsCompaction(end)) {
    return absl::OkStatus();  // Compacted by someone else meanwhile.
  }
  if (end > current_->record_capacity) return HeadPastLog(*current_, end);
  absl::StatusOr<uint32_t> records = current_->RecordsBelow(end);
  if (!records.ok()) return records.status();
  run->old = current_;
  run->frozen = end;
  run->frozen_records = *records;
  return absl::OkStatus();
}

// Phase 2, without the write lock: the log's records below `frozen` never
// change while the generation lives, so they are read in place.
absl::Status DBImpl::BuildFrozenSnapshot(BackgroundRun* run) {
  const Generation& g = *run->old;
  std::vector<Change> changes;
  std::deque<std::string> buffers;  // Decompressed records.
  auto tick = [this] { BackgroundTick(); };
  absl::Status s = CollectLogChanges(g, 0, run->frozen, run->frozen_records,
                                     &buffers, tick, &changes);
  if (!s.ok()) return s;
  run->tmp_snap = TempSnapshotFileName(dir_, name_, files_.key, g.gen + 1);
  run->tmp_log = TempLogFileName(dir_, name_, files_.key, g.gen + 1);
  uint64_t count = 0;
  FaultPoint("bgcompact.before_snapshot");
  s = BuildSnapshot(g, &changes, SnapshotOptions(), run->tmp_snap, tick,
                    &run->snap, &count);
  if (!s.ok()) return s;
  FaultPoint("bgcompact.after_snapshot");
  return absl::OkStatus();
}

// Phase 3, still without it: the next generation's log, holding the records
// committed meanwhile (which never change either), indexed; in rounds, so
// that little is left for phase 4. *moved_on when the generation was
// compacted meanwhile (inline, by a writer).
absl::Status DBImpl::CarryWhileWriting(BackgroundRun* run, bool* moved_on) {
  const Generation& g = *run->old;
  auto tick = [this] { BackgroundTick(); };
  uint64_t head = block_.head().load(std::memory_order_acquire);
  *moved_on = control::HeadGeneration(head) != g.gen;
  if (*moved_on) return absl::OkStatus();
  run->base_sequence = g.log_header.base_sequence + run->frozen_records;
  run->carried_to = control::HeadOffset(head);
  absl::Status s = PrepareGeneration(g, std::move(run->snap), files_,
                                     run->tmp_log, run->frozen, run->carried_to,
                                     run->base_sequence, tick, &run->next);
  if (!s.ok()) return s;
  // Each round carries what came during the previous one, which is less as
  // long as carrying is faster than writing; stop when little is left.
  for (int round = 0; run->fits && round < 8; round++) {
    head = block_.head().load(std::memory_order_acquire);
    *moved_on = control::HeadGeneration(head) != g.gen;
    if (*moved_on) return absl::OkStatus();
    const uint32_t end = control::HeadOffset(head);
    if (end - run->carried_to <= kLockedCarryBytes) break;
    s = run->next->CarryRecords(g, run->carried_to, end, &run->fits, tick);
    if (!s.ok()) return s;
    if (run->fits) run->carried_to = end;
  }
  FaultPoint("bgcompact.after_carry");
  return absl::OkStatus();
}

// Phase 4, under the write lock again: carry the last records and publish,
// unless the generation moved on (an inline compaction).
absl::Status DBImpl::FinishAndPublish(BackgroundRun* run) {
  const Generation& g = *run->old;
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  const uint64_t head = block_.head().load(std::memory_order_acquire);
  if (control::HeadGeneration(head) != g.gen) return absl::OkStatus();
  const uint32_t end = control::HeadOffset(head);
  absl::Status s;
  if (run->fits) {
    s = run->next->CarryRecords(g, run->carried_to, end, &run->fits, [] {});
    if (!s.ok()) return s;
  }
  if (!run->fits) {  // Rare: more came than the log was sized for. Start over.
    port::Segment built = std::move(run->next->snap_segment);
    run->next.reset();
    s = PrepareGeneration(g, std::move(built), files_, run->tmp_log,
                          run->frozen, end, run->base_sequence, [] {},
                          &run->next);
    if (!s.ok()) return s;
  }
  const std::string snap_name = files_.SnapshotPath(g.gen + 1);
  const std::string log_name = files_.LogPath(g.gen + 1);
  s = port::Rename(run->tmp_snap, snap_name);
  if (s.ok()) {
    s = port::Rename(run->tmp_log, log_name);
    if (!s.ok()) port::Unlink(snap_name).IgnoreError();
  }
  if (!s.ok()) return s;
  run->published = true;  // Nothing left under the temporary names.
  s = PublishAsWriter(g, std::move(run->next));
  // Writers waiting for room go on now, not after the old generation is
  // unmapped (tens of milliseconds at a million entries).
  if (s.ok()) background_->Published();
  return s;
}

}  // namespace ultradict
