// compaction.cc: merging changes into the next snapshot and making the next
// generation (see compaction.h).

#include "db/compaction.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "db/log_format.h"
#include "db/log_index_format.h"
#include "db/log_run_format.h"
#include "db/log_writer.h"
#include "db/write_batch_internal.h"

namespace ultradict {

namespace {

// MergeSortedChanges over changes[i] (kInOrder false) or
// changes[(*order)[i]] (true: SortChangeOrder's order).
template <bool kInOrder>
absl::Status Merge(snapshot::Scanner* base, const std::vector<Change>& changes,
                   const std::vector<uint32_t>* order,
                   snapshot::Builder* builder, absl::FunctionRef<void()> tick) {
  const size_t n = kInOrder ? order->size() : changes.size();
  auto at = [&](size_t i) -> const Change& {
    return kInOrder ? changes[(*order)[i]] : changes[i];
  };
  // The keys lie all over the log: loaded a batch at a time, ahead of use
  // (TouchAhead, as DBIter does); changes [li, touched) were loaded.
  size_t touched = 0;
  const uint64_t snap_count = base == nullptr ? 0 : base->count();
  uint64_t si = 0;
  size_t li = 0;
  snapshot::Entry entry;
  KeyPrefix entry_prefix;
  bool have_entry = false;
  absl::Status s;
  for (uint64_t step = 0; s.ok(); step++) {
    if ((step & 1023) == 0) tick();
    if (!have_entry && si < snap_count) {
      s = base->Next(&entry, /*verify=*/false);
      if (!s.ok()) return s;
      entry_prefix = PrefixOf(entry.key);
      have_entry = true;
    }
    const bool log_left = li < n;
    if (!have_entry && !log_left) break;
    if (log_left) {
      if constexpr (kInOrder) {
        TouchAheadInOrder(changes, *order, li, &touched);
      } else {
        TouchAhead(changes, li, &touched);
      }
    }
    int order_of = -1;  // Of the next change against the next entry.
    if (log_left && have_entry) {
      const Change& c = at(li);
      order_of = CompareKeys(c.prefix, c.key, entry_prefix, entry.key);
    }
    if (log_left && order_of <= 0) {
      const Change& change = at(li++);
      if (order_of == 0) {
        have_entry = false;
        si++;
      }
      if (!change.value.deleted)
        s = builder->Add(change.key, change.value.value);
    } else {
      s = builder->AddRaw(entry.key, entry.raw);
      have_entry = false;
      si++;
    }
  }
  return s;
}

}  // namespace

absl::Status MergeSortedChanges(snapshot::Scanner* base,
                                const std::vector<Change>& changes,
                                snapshot::Builder* builder,
                                absl::FunctionRef<void()> tick) {
  return Merge<false>(base, changes, nullptr, builder, tick);
}

absl::Status BuildSnapshot(const Generation& g, std::vector<Change>* changes,
                           snapshot::BuildOptions options,
                           const std::string& path,
                           absl::FunctionRef<void()> tick, port::Segment* out,
                           uint64_t* count) {
  // Read once, in order: no sorted copy of the list (SortChangeOrder).
  std::vector<uint32_t> order;
  SortChangeOrder(changes, &order);
  options.generation = g.gen + 1;
  // The snapshot is read in order out of its file, not through the
  // mapping (snapshot_scanner.h).
  std::unique_ptr<snapshot::Scanner> base;
  if (g.gen != 0) {
    base = std::make_unique<snapshot::Scanner>(&g.snapshot, g.SnapshotFile());
  }
  return BuildSnapshotWith(
      path, options, (base == nullptr ? 0 : base->count()) + order.size(),
      [&](snapshot::Builder* builder) {
        return Merge<true>(base.get(), *changes, &order, builder, tick);
      },
      out, count);
}

absl::Status BuildSnapshotWith(
    const std::string& path, const snapshot::BuildOptions& options,
    size_t expected, absl::FunctionRef<absl::Status(snapshot::Builder*)> fill,
    port::Segment* out, uint64_t* count) {
  // Leftovers of a writer that died before publishing it.
  port::Unlink(path).IgnoreError();
  snapshot::Builder builder;
  absl::Status s = builder.Start(path, options, expected);
  if (s.ok()) s = fill(&builder);
  if (!s.ok()) return s;  // The builder removes its file.
  absl::StatusOr<port::Segment> snap = builder.Finish();
  if (!snap.ok()) return snap.status();
  *out = std::move(*snap);
  *count = builder.count();
  return absl::OkStatus();
}

size_t NextLogCapacity(size_t initial_log_size, size_t snapshot_bytes,
                       size_t carried_bytes) {
  const size_t per_snapshot_byte = port::kSparseSegments ? 8 : 4;
  const size_t per_carried_byte = port::kSparseSegments ? 4 : 2;
  size_t capacity =
      std::max<size_t>(initial_log_size, per_snapshot_byte * snapshot_bytes);
  capacity += per_carried_byte * carried_bytes;
  capacity = (capacity + 4095) & ~size_t{4095};
  return std::min(capacity, log::kMaxRecordBytes);
}

namespace {

// Creates the log segment of `header` at `path` and reserves the pages
// of its header, of the index's header, filter and first table, and of the
// run area's words; records (and index nodes) are reserved as they are
// carried or written (Generation::ReserveLog, MakeIndexRoom), or ahead of
// the writer (background.h), runs as they are added (LogRuns::Add).
// Removes the file on failure.
absl::StatusOr<port::Segment> CreateLogSegment(const std::string& path,
                                               const log::Header& header,
                                               uint32_t mode) {
  const size_t index_at =
      log::IndexOffset(log::kHeaderSize, header.record_capacity);
  absl::StatusOr<port::Segment> segment = port::Segment::Create(
      path, log::FileSize(header), mode, log::kHeaderSize);
  if (!segment.ok()) return segment.status();
  const uint32_t first = header.first_slot_bits;
  absl::Status s = segment->Reserve(index_at, log::NodeOffset(first, 0));
  if (s.ok()) {
    s = segment->Reserve(
        index_at + log::TableOffset(header.node_capacity, first, first),
        log::kSlotSize << first);
  }
  if (s.ok()) {
    // Every iterator reads `current` (a page of a full tmpfs that was
    // never written faults even when read), and a builder takes its bytes
    // in `claimed` before it reserves them.
    s = segment->Reserve(
        log::RunAreaOffset(index_at, log::IndexSize(header.node_capacity, first,
                                                    header.max_slot_bits)),
        log::kRunAreaHeaderSize);
  }
  if (!s.ok()) {
    port::Unlink(path).IgnoreError();
    return s;
  }
  return segment;
}

// Entries of old's records [from, to) (at least one per record).
absl::StatusOr<size_t> CountEntries(const Generation& old, uint32_t from,
                                    uint32_t to) {
  size_t n = 0;
  absl::Status s = ForEachBatch(
      old, from, to, [&n](std::string_view batch, std::string*, uint32_t) {
        n += std::max<uint32_t>(1, WriteBatchInternal::Count(batch));
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return n;
}

// How many keys the log will likely hold, for the size of its index's
// first table: growing a table moves every key in it, with the write lock
// held. Twice the records that start its compaction (writes go on
// meanwhile), records being about as large as the snapshot's entries, and
// no more keys than the snapshot has (a dictionary that grows fast grows
// its table in steps, but not one whose keys are rewritten). 0 when the
// snapshot does not open (PrepareGeneration reports that).
size_t ExpectedKeys(const port::Segment& snap, size_t initial_log_size,
                    size_t record_capacity) {
  snapshot::Reader reader;
  if (!reader.Open(snap.data(), snap.size(), "").ok() || reader.count() == 0) {
    return 0;
  }
  const size_t compact_at =
      CompactionPoint(record_capacity, initial_log_size, snap.size());
  const uint64_t record_size = reader.data_size() / reader.count() + 16;
  return static_cast<size_t>(
      std::min<uint64_t>(reader.count(), compact_at / record_size * 2));
}

}  // namespace

absl::Status PrepareGeneration(const Generation& old, port::Segment snap,
                               const GenerationFiles& files,
                               const std::string& log_path,
                               uint32_t carried_from, uint32_t carried_to,
                               uint64_t base_sequence,
                               absl::FunctionRef<void()> tick,
                               std::shared_ptr<Generation>* out,
                               size_t more_entries) {
  const uint32_t new_gen = old.gen + 1;
  log::Header header;
  header.generation = new_gen;
  header.base_sequence = base_sequence;
  header.record_capacity = NextLogCapacity(
      files.initial_log_size, snap.size(), carried_to - carried_from);
  absl::StatusOr<size_t> carried_entries =
      CountEntries(old, carried_from, carried_to);
  if (!carried_entries.ok()) return carried_entries.status();
  const LogIndex::Shape shape = LogIndex::ShapeFor(
      header.record_capacity, 2 * (*carried_entries + more_entries),
      ExpectedKeys(snap, files.initial_log_size, header.record_capacity) +
          *carried_entries + more_entries);
  header.node_capacity = shape.node_capacity;
  header.first_slot_bits = shape.first_bits;
  header.max_slot_bits = shape.max_bits;
  port::Unlink(log_path).IgnoreError();  // A leftover of a dead compactor.
  absl::StatusOr<port::Segment> log_segment =
      CreateLogSegment(log_path, header, files.mode);
  if (!log_segment.ok()) return log_segment.status();
  const size_t index_at =
      log::IndexOffset(log::kHeaderSize, header.record_capacity);
  log::EncodeHeader(log_segment->data(), header);
  LogIndex::Format(log_segment->data() + index_at);

  auto next = std::make_shared<Generation>();
  next->gen = new_gen;
  next->snap_segment = std::move(snap);
  next->log_segment = std::move(*log_segment);
  absl::Status s =
      next->snapshot.Open(next->snap_segment.data(), next->snap_segment.size(),
                          files.SnapshotPath(new_gen));
  if (s.ok()) {
    s = log::ParseHeader(next->log_segment.data(), next->log_segment.size(),
                         files.LogPath(new_gen), &next->log_header);
  }
  if (s.ok()) s = next->SetUpLog(files.initial_log_size);
  if (s.ok()) {
    bool fits = true;
    s = next->CarryRecords(old, carried_from, carried_to, &fits, tick);
    if (s.ok() && !fits) s = absl::InternalError("carried records do not fit");
  }
  if (!s.ok()) {
    port::Unlink(log_path).IgnoreError();
    return s;
  }
  *out = std::move(next);
  return absl::OkStatus();
}

}  // namespace ultradict
