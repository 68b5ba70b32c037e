// db_impl_ingest.cc: DB::IngestSorted, a bulk load done as a compaction.
//
// Write puts a batch into the log: each key is looked up (CountChanges) and
// indexed, and a batch larger than the log is then folded into a snapshot
// anyway. IngestSorted skips all of that: the entries, sorted and checked
// before the write lock is taken, are merged with the current snapshot and
// the latest state of the log (kMerge; the entries win) or alone (kReplace)
// straight into the next generation's snapshot, which is published with an
// empty log, as CompactAsWriter publishes its own (same files, same crash
// recovery: a writer killed before the head moves leaves only files of an
// unpublished generation, which the next writer removes).

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/compaction.h"
#include "db/db_impl.h"
#include "db/fault_point.h"
#include "db/write_batch_internal.h"

namespace ultradict {

namespace {

// The entries as changes (order 1: they win over the log's, order 0),
// checked: sizes as Put, keys strictly increasing.
absl::Status EntriesToChanges(const std::vector<KeyValue>& entries,
                              std::vector<Change>* changes) {
  changes->reserve(entries.size());
  for (size_t i = 0; i < entries.size(); i++) {
    const KeyValue& e = entries[i];
    absl::Status s = WriteBatchInternal::CheckSizes(e.key, e.value);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("IngestSorted: entry ", i, ": ", s.message()));
    }
    changes->push_back(MakeChange(e.key, LogValue{e.value, false}, 1));
    if (i > 0) {
      const Change& prev = (*changes)[i - 1];
      const Change& cur = (*changes)[i];
      if (CompareKeys(prev.prefix, prev.key, cur.prefix, cur.key) >= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "IngestSorted: the key of entry ", i, " is not after the key of ",
            "entry ", i - 1, " (keys must be strictly increasing, bytewise)"));
      }
    }
  }
  return absl::OkStatus();
}

// Merges two sorted runs of changes, one per key each, into one; where both
// have a key, newer's change is kept.
std::vector<Change> MergeRuns(const std::vector<Change>& older,
                              const std::vector<Change>& newer) {
  std::vector<Change> out;
  out.reserve(older.size() + newer.size());
  size_t i = 0, j = 0;
  while (i < older.size() || j < newer.size()) {
    int order = 1;  // Of older[i] against newer[j]; 1: take newer[j].
    if (i < older.size() && j < newer.size()) {
      const Change& a = older[i];
      const Change& b = newer[j];
      order = CompareKeys(a.prefix, a.key, b.prefix, b.key);
    } else if (i < older.size()) {
      order = -1;
    }
    if (order < 0) {
      out.push_back(older[i++]);
      continue;
    }
    if (order == 0) i++;
    out.push_back(newer[j++]);
  }
  return out;
}

}  // namespace

absl::Status DBImpl::IngestSorted(const std::vector<KeyValue>& entries,
                                  IngestMode mode) {
  // Checked, and made into changes, before the write lock is taken.
  std::vector<Change> changes;
  absl::Status s = EntriesToChanges(entries, &changes);
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
  return IngestAsWriter(mode, std::move(changes), entries.size());
}

absl::Status DBImpl::IngestAsWriter(IngestMode mode,
                                    std::vector<Change> changes, size_t n) {
  const bool merge = mode == IngestMode::kMerge;
  std::shared_ptr<const Generation> old;
  uint32_t end = 0, records = 0;
  std::vector<Change> logged;       // The log's latest state (kMerge).
  std::deque<std::string> buffers;  // Decompressed batches it points into.
  absl::Status s =
      ViewAsWriter(&old, &end, &records, &buffers, merge ? &logged : nullptr);
  if (!s.ok()) return s;
  if (!logged.empty()) {
    SortChanges(&logged);
    changes = MergeRuns(logged, changes);
  }
  snapshot::BuildOptions options = SnapshotOptions();
  options.generation = old->gen + 1;
  const snapshot::Reader* base =
      merge && old->gen != 0 ? &old->snapshot : nullptr;
  FaultPoint("ingest.before_snapshot");
  port::Segment snap;
  uint64_t count = 0;
  s = BuildSortedSnapshot(
      base, changes, options, files_.SnapshotPath(old->gen + 1), [] {}, &snap,
      &count);
  if (!s.ok()) return s;
  FaultPoint("ingest.after_snapshot");
  // One update of the change feed, in no log: a cursor before it is out of
  // range, as after a compaction.
  const uint64_t base_sequence = old->log_header.base_sequence + records + 1;
  s = InstallAsWriter(std::move(old), end, std::move(snap), count,
                      base_sequence, /*more_entries=*/0);
  if (!s.ok()) return s;
  block_.puts().fetch_add(n, std::memory_order_relaxed);
  block_.sequence().fetch_add(1, std::memory_order_relaxed);
  block_.change().fetch_add(1, std::memory_order_seq_cst);
  // A syscall only when some process waits (see WaitForChange).
  if (block_.waiters().load(std::memory_order_seq_cst) != 0) {
    port::FutexWakeAll(&block_.change());
  }
  return absl::OkStatus();
}

}  // namespace ultradict
