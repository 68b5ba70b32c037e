// run_builder.cc: see run_builder.h.

#include "db/run_builder.h"

#include <algorithm>
#include <utility>

#include "db/write_batch_internal.h"
#include "util/coding.h"

namespace ultradict {

namespace {

// Between this many records, the builder asks whether to go on.
constexpr uint32_t kRecordsPerAsk = 256;

// A change's order in a run's list: its entry's location (which grows
// with the log) and check, so that SortChanges keeps the newest entry of
// each key and the run's entries are read back out of the order.
uint64_t RunOrder(uint32_t location, uint32_t check) {
  return uint64_t{location} << 32 | check;
}

}  // namespace

void RunBuilder::Reset() {
  gen_.reset();
  end_ = nodes_ = 0;
  std::vector<Change>().swap(sorted_);  // Their memory too.
  std::vector<Change>().swap(spare_);
}

RunBuilder::Collected RunBuilder::CollectTail(
    const Generation& g, uint32_t end, absl::FunctionRef<bool()> keep_going,
    std::vector<Change>* tail, absl::Status* status) {
  const uint32_t used = std::min(g.index.nodes_used(), g.index.node_capacity());
  ReserveChanges(tail, used > nodes_ ? used - nodes_ : 0);
  bool compressed = false, abandoned = false;
  uint32_t records = 0;
  *status = ForEachBatch(
      g, end_, end,
      [&](std::string_view batch, std::string* scratch,
          uint32_t) -> absl::Status {
        compressed = !scratch->empty();
        abandoned = ++records % kRecordsPerAsk == 0 && !keep_going();
        if (compressed || abandoned) return absl::CancelledError();
        return WriteBatchInternal::ForEachEntry(
            batch, [&](const WriteBatchInternal::Entry& e) {
              const auto location = static_cast<uint32_t>(e.start - g.records);
              tail->push_back(
                  MakeChange(e.key, LogValue{e.value, e.deleted},
                             RunOrder(location, LogIndex::EntryCheck(e))));
            });
      });
  if (compressed) return Collected::kCompressed;
  if (abandoned) return Collected::kAbandoned;
  return status->ok() ? Collected::kAll : Collected::kDamaged;
}

void RunBuilder::MergeTail(const std::vector<Change>& tail) {
  spare_.clear();
  spare_.reserve(sorted_.size() + tail.size());
  size_t i = 0, j = 0;
  while (i < sorted_.size() || j < tail.size()) {
    int order = 0;
    if (i == sorted_.size()) {
      order = 1;
    } else if (j == tail.size()) {
      order = -1;
    } else {
      order = CompareKeys(sorted_[i].prefix, sorted_[i].key, tail[j].prefix,
                          tail[j].key);
    }
    if (order < 0) {
      spare_.push_back(sorted_[i++]);
    } else {
      if (order == 0) i++;  // The tail's change of the key is newer.
      spare_.push_back(tail[j++]);
    }
  }
  sorted_.swap(spare_);
  spare_.clear();
}

absl::Status RunBuilder::Publish(Generation* g,
                                 const std::vector<Change>& changes,
                                 const std::vector<uint32_t>* order,
                                 bool* added) {
  const size_t area_at = g->runs.file_offset();
  const size_t count = order != nullptr ? order->size() : changes.size();
  return g->runs.Add(
      end_, nodes_, static_cast<uint32_t>(count),
      [&](char* dst) {
        for (size_t i = 0; i < count; i++) {
          const Change& c = changes[order != nullptr ? (*order)[i] : i];
          EncodeFixed32(dst, static_cast<uint32_t>(c.order >> 32));
          EncodeFixed32(dst + 4, static_cast<uint32_t>(c.order));
          dst += log::kRunEntrySize;
        }
      },
      [&](size_t offset, size_t length) {
        return g->ReserveFile(area_at + offset, length);
      },
      added);
}

absl::Status RunBuilder::Build(const std::shared_ptr<Generation>& g,
                               uint32_t end,
                               absl::FunctionRef<bool()> keep_going) {
  // Another process (or an earlier request) may have made one since.
  uint32_t newest_end = 0, newest_nodes = 0;
  if (g->runs.NewestEnd(&newest_end, &newest_nodes) &&
      (newest_end >= end ||
       g->index.nodes_used() < NextRunAt(newest_nodes, min_run_entries_))) {
    g->run_due_at.store(NextRunAt(newest_nodes, min_run_entries_),
                        std::memory_order_relaxed);
    return absl::OkStatus();
  }
  if (gen_.lock() != g || end_ > end) {
    Reset();
    gen_ = g;
  }
  // The changes of the records after the last run, with their entries'
  // places, sorted; then merged with the last run's.
  std::vector<Change> tail;
  absl::Status s;
  switch (CollectTail(*g, end, keep_going, &tail, &s)) {
    case Collected::kAll:
      break;
    case Collected::kAbandoned:
      return absl::OkStatus();  // The kept list is still whole.
    case Collected::kCompressed:
      // Entries of compressed records cannot be read one by one in place.
      g->run_due_at.store(UINT32_MAX, std::memory_order_relaxed);
      Reset();
      return absl::OkStatus();
    case Collected::kDamaged:
      Reset();
      return s;
  }
  const uint32_t nodes = nodes_ + static_cast<uint32_t>(tail.size());
  SortChanges(&tail);
  if (!keep_going()) return absl::OkStatus();
  MergeTail(tail);
  end_ = end;
  nodes_ = nodes;
  bool added = false;  // (Not when a newer run came first, or no room.)
  s = Publish(g.get(), sorted_, nullptr, &added);
  if (!s.ok()) return s;
  g->run_due_at.store(NextRunAt(nodes, min_run_entries_),
                      std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status RunBuilder::BuildOnce(const std::shared_ptr<Generation>& g,
                                   uint32_t end) {
  // One iterator of this process at a time; the others sort for
  // themselves meanwhile (their build would publish nothing new).
  if (g->iterator_building_run.exchange(true, std::memory_order_acquire)) {
    return absl::OkStatus();
  }
  absl::Status s = BuildOnceLocked(g.get(), end);
  g->iterator_building_run.store(false, std::memory_order_release);
  return s;
}

absl::Status RunBuilder::BuildOnceLocked(Generation* g, uint32_t end) {
  if (g->index.nodes_used() >= g->index.node_capacity() / 2 ||
      g->run_due_at.load(std::memory_order_relaxed) == UINT32_MAX) {
    return absl::OkStatus();
  }
  // Not due by the newest run's rule, counted by the entries below `end`
  // (the index's count may be past them): runs grow by a 1/kRunGrowth at
  // least, which the area's size counts on. Checked before collecting,
  // and again by the entries collected.
  uint32_t newest_end = 0, newest_nodes = 0;
  const bool have_run = g->runs.NewestEnd(&newest_end, &newest_nodes);
  if (have_run && newest_end >= end) return absl::OkStatus();
  const uint32_t due =
      have_run ? NextRunAt(newest_nodes, min_run_entries_) : min_run_entries_;
  if (g->index.nodes_used() < due) return absl::OkStatus();
  // A failure (a full area, a full filesystem, a damaged record) is not
  // tried again by this process's iterators, which then sort for
  // themselves: "never" (run_due_at), as a compressed log gets.
  auto never = [g] {
    g->run_due_at.store(UINT32_MAX, std::memory_order_relaxed);
  };
  if (!g->runs.HasRoomFor(g->index.keys())) {
    never();
    return absl::OkStatus();
  }
  Reset();
  std::vector<Change> changes;
  absl::Status s;
  switch (CollectTail(
      *g, end, [] { return true; }, &changes, &s)) {
    case Collected::kAll:
      break;
    case Collected::kAbandoned:  // (Not asked to stop.)
      return absl::OkStatus();
    case Collected::kCompressed:
      never();
      return absl::OkStatus();
    case Collected::kDamaged:
      never();
      return s;
  }
  if (changes.size() < due) return absl::OkStatus();
  const auto entries = static_cast<uint32_t>(changes.size());
  std::vector<uint32_t> order;
  SortChangeOrder(&changes, &order);  // (May drop changes: not its count.)
  end_ = end;
  nodes_ = entries;
  bool added = false;
  s = Publish(g, changes, &order, &added);
  end_ = nodes_ = 0;
  // Not added, and no run as new was published instead: no room (or
  // damage). A retired generation's files are closed (FailedPrecondition):
  // nothing to remember for it.
  if (!added &&
      !(g->runs.NewestEnd(&newest_end, &newest_nodes) && newest_end >= end)) {
    never();
  }
  return s;
}

}  // namespace ultradict
