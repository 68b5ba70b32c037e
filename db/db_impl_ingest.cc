// db_impl_ingest.cc: DB::IngestSorted, a bulk load done as a compaction.
//
// Write puts a batch into the log: each key is looked up (CountChanges) and
// indexed, and a batch larger than the log is then folded into a snapshot
// anyway. IngestSorted skips all of that: the entries, checked before the
// write lock is taken, go straight into the next generation's snapshot,
// alone (kReplace, or nothing else to keep) or merged with the current
// snapshot and the latest state of the log (kMerge; the entries win). The
// snapshot is published with an empty log, as CompactAsWriter publishes its
// own (same files, same crash recovery: a writer killed before the head
// moves leaves only files of an unpublished generation, which the next
// writer removes).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/compaction.h"
#include "db/db_impl.h"
#include "db/fault_point.h"
#include "db/snapshot_scanner.h"
#include "db/write_batch_internal.h"

namespace ultradict {

namespace {

// Sizes as Put, keys strictly increasing (bytewise: string_view compares
// as unsigned bytes).
absl::Status CheckEntries(const std::vector<KeyValue>& entries) {
  for (size_t i = 0; i < entries.size(); i++) {
    const KeyValue& e = entries[i];
    absl::Status s = WriteBatchInternal::CheckSizes(e.key, e.value);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("IngestSorted: entry ", i, ": ", s.message()));
    }
    if (i > 0 && !(entries[i - 1].key < e.key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "IngestSorted: the key of entry ", i, " is not after the key of ",
          "entry ", i - 1, " (keys must be strictly increasing, bytewise)"));
    }
  }
  return absl::OkStatus();
}

// The entries as one sorted run of changes merged into `older` (sorted,
// one per key); where both have a key, the entry wins.
std::vector<Change> MergeEntries(const std::vector<Change>& older,
                                 const std::vector<KeyValue>& entries) {
  std::vector<Change> out;
  out.reserve(older.size() + entries.size());
  size_t i = 0;
  for (const KeyValue& e : entries) {
    const Change entry = MakeChange(e.key, LogValue{e.value, false}, 1);
    int order = -1;  // Of older[i] against the entry.
    while (i < older.size() &&
           (order = CompareKeys(older[i].prefix, older[i].key, entry.prefix,
                                entry.key)) < 0) {
      out.push_back(older[i++]);
    }
    if (i < older.size() && order == 0) i++;
    out.push_back(entry);
  }
  out.insert(out.end(), older.begin() + i, older.end());
  return out;
}

}  // namespace

absl::Status DBImpl::IngestSorted(const std::vector<KeyValue>& entries,
                                  IngestMode mode) {
  absl::Status s = CheckEntries(entries);  // Before taking the write lock.
  if (!s.ok()) return s;
  if (entries.empty() && mode == IngestMode::kMerge) return absl::OkStatus();
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  if (!options_.write_replica && block_.is_replica()) {
    s = ReplicaErrorAsWriter();
    if (!s.ok()) return s;
  }
  {
    port::WriterMutexLock l(&mu_);
    s = RefreshLocked();
    if (!s.ok()) return s;
  }
  return IngestAsWriter(entries, mode);
}

absl::Status DBImpl::IngestAsWriter(const std::vector<KeyValue>& entries,
                                    IngestMode mode) {
  const bool merge = mode == IngestMode::kMerge;
  std::shared_ptr<const Generation> old;
  uint32_t end = 0, records = 0;
  std::vector<Change> logged;       // The log's latest state (kMerge).
  std::deque<std::string> buffers;  // Decompressed batches it points into.
  absl::Status s =
      ViewAsWriter(&old, &end, &records, &buffers, merge ? &logged : nullptr);
  if (!s.ok()) return s;
  std::unique_ptr<snapshot::Scanner> base;
  if (merge && old->gen != 0 && old->snapshot.count() != 0) {
    base = std::make_unique<snapshot::Scanner>(&old->snapshot,
                                               old->SnapshotFile());
  }
  snapshot::BuildOptions options = SnapshotOptions();
  options.generation = old->gen + 1;
  FaultPoint("ingest.before_snapshot");
  port::Segment snap;
  uint64_t count = 0;
  auto fill = [&](snapshot::Builder* builder) -> absl::Status {
    if (base == nullptr && logged.empty()) {
      // Nothing to merge with: the entries as they are.
      for (const KeyValue& e : entries) {
        absl::Status added = builder->Add(e.key, e.value);
        if (!added.ok()) return added;
      }
      return absl::OkStatus();
    }
    SortChanges(&logged);
    return MergeSortedChanges(base.get(), MergeEntries(logged, entries),
                              builder, [] {});
  };
  s = BuildSnapshotWith(
      files_.SnapshotPath(old->gen + 1), options,
      (base == nullptr ? 0 : base->count()) + logged.size() + entries.size(),
      fill, &snap, &count);
  if (!s.ok()) return s;
  FaultPoint("ingest.after_snapshot");
  // One update of the change feed, in no log: a cursor before it is out of
  // range, as after a compaction.
  const uint64_t base_sequence = old->log_header.base_sequence + records + 1;
  s = InstallAsWriter(std::move(old), end, std::move(snap), count,
                      base_sequence, /*more_entries=*/0);
  if (!s.ok()) return s;
  block_.puts().fetch_add(entries.size(), std::memory_order_relaxed);
  block_.sequence().fetch_add(1, std::memory_order_relaxed);
  block_.change().fetch_add(1, std::memory_order_seq_cst);
  // A syscall only when some process waits (see WaitForChange).
  if (block_.waiters().load(std::memory_order_seq_cst) != 0) {
    port::FutexWakeAll(&block_.change());
  }
  return absl::OkStatus();
}

}  // namespace ultradict
