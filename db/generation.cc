// generation.cc: a mapped generation: loading, log set-up, indexing,
// lookups, carrying records and reserving log pages (see generation.h).

#include "db/generation.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "db/write_batch_internal.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ultradict {

absl::Status Generation::ReserveFile(size_t offset, size_t length) {
  port::MutexLock l(&file_mu);
  if (files_closed) {
    return absl::FailedPreconditionError(absl::StrCat(
        log_segment.path(), ": generation ", gen, " is not current"));
  }
  return log_segment.Reserve(offset, length);
}

port::SegmentFile Generation::SnapshotFile() const {
  port::MutexLock l(&file_mu);
  return port::SegmentFile::Of(snap_segment);
}

void Generation::CloseFiles() {
  port::MutexLock l(&file_mu);
  files_closed = true;
  log_segment.CloseFile();
  snap_segment.CloseFile();
}

absl::Status Generation::SyncFiles() {
  port::MutexLock l(&file_mu);
  absl::Status s = snap_segment.Sync();
  if (s.ok()) s = log_segment.Sync();
  return s;
}

void Generation::Reserved(size_t end) {
  size_t now = reserved.load(std::memory_order_relaxed);
  while (now < end &&
         !reserved.compare_exchange_weak(now, end, std::memory_order_release,
                                         std::memory_order_relaxed)) {
  }
}

absl::Status Generation::ReserveLog(size_t at, size_t length) {
  if (at + length <= reserved) return absl::OkStatus();
  // Any process may have reserved these pages already: again is harmless.
  size_t step =
      std::min(record_capacity - at, std::max(length, kLogReserveStep));
  absl::Status s = ReserveFile(log::kHeaderSize + at, step);
  if (absl::IsResourceExhausted(s) && step > length) {
    step = length;  // A whole step does not fit: the bytes asked may.
    s = ReserveFile(log::kHeaderSize + at, step);
  }
  if (s.ok()) Reserved(at + step);
  return s;
}

absl::Status Generation::SetUpLog(size_t initial_log_size) {
  char* base = log_segment.data();
  records = base + log::kHeaderSize;
  record_capacity = log_header.record_capacity;
  const size_t index_at =
      log::IndexOffset(log::kHeaderSize, log_header.record_capacity);
  LogIndex::Shape shape;
  shape.node_capacity = log_header.node_capacity;
  shape.first_bits = log_header.first_slot_bits;
  shape.max_bits = log_header.max_slot_bits;
  const size_t index_size =
      log::IndexSize(shape.node_capacity, shape.first_bits, shape.max_bits);
  const size_t runs_at = log::RunAreaOffset(index_at, index_size);
  if (log_segment.size() != runs_at + log::RunAreaSize(shape.node_capacity)) {
    return absl::DataLossError(absl::StrCat(
        log_segment.path(), ": log segment of ", log_segment.size(),
        " bytes does not fit its index and runs"));
  }
  absl::Status s = index.Open(base + index_at, index_size, records,
                              static_cast<uint32_t>(record_capacity), shape,
                              log_segment.path());
  if (!s.ok()) return s;
  s = runs.Open(base + runs_at, log::RunAreaSize(shape.node_capacity), runs_at,
                shape.node_capacity, log_segment.path());
  if (!s.ok()) return s;
  compact_at = CompactionPoint(record_capacity, initial_log_size,
                               snap_segment.size());
  return absl::OkStatus();
}

bool Generation::WantsCompaction(uint32_t end) const {
  return end >= compact_at ||
         index.nodes_used() >= index.node_capacity() / 2;
}

absl::Status Generation::MakeIndexRoom(size_t n, bool* fits) {
  // The usual case: nothing to grow, nothing to reserve.
  if (index.HasRoom(n) && index.NodeBytesFor(n) <= index_reserved) {
    *fits = true;
    return absl::OkStatus();
  }
  const size_t index_at = log::IndexOffset(log::kHeaderSize, record_capacity);
  absl::Status s = index.MakeRoom(
      n,
      [&](size_t offset, size_t length) {
        return ReserveFile(index_at + offset, length);
      },
      fits);
  if (!s.ok() || !*fits) return s;
  const size_t need = index.NodeBytesFor(n);
  if (need <= index_reserved) return absl::OkStatus();
  // Nodes are written one after the other: reserved a step at a time.
  const size_t end = std::min(std::max(need, index_reserved + kLogReserveStep),
                              index.NodeBytesFor(index.node_capacity()));
  s = ReserveFile(index_at + index_reserved, end - index_reserved);
  if (s.ok()) index_reserved = end;
  return s;
}

absl::Status Generation::IndexRecords(uint32_t from, uint32_t to, bool* fits,
                                      absl::FunctionRef<void()> between) {
  *fits = true;
  absl::StatusOr<uint32_t> counted = RecordsBelow(from);
  if (!counted.ok()) return counted.status();
  uint32_t count = *counted;
  WriteBatchInternal::Entries entries;
  std::string scratch;
  uint32_t at = from;
  absl::Status s = ForEachBatch(
      *this, from, to,
      [&](std::string_view batch, std::string* buffer, uint32_t size) {
        between();
        entries.clear();  // The whole batch is checked before any is added.
        absl::Status st = WriteBatchInternal::Decode(batch, &entries);
        if (st.ok()) st = MakeIndexRoom(entries.size(), fits);
        if (!st.ok() || !*fits) return st;
        const bool compressed = !buffer->empty();
        const char* payload = records + at + log::kRecordHeaderSize;
        for (uint32_t i = 0; i < entries.size() && st.ok(); i++) {
          const auto& e = entries[i];
          const uint32_t location =
              compressed ? at | log::kCompressedLocation
                         : static_cast<uint32_t>(at + log::kRecordHeaderSize +
                                                 (e.start - payload));
          st = index.Add(e.key, Hash64(e.key), location,
                         compressed ? i : LogIndex::EntryCheck(e), at + size,
                         &scratch);
        }
        if (!st.ok()) return st;
        at += size;
        index.Publish(at, ++count);
        return absl::OkStatus();
      });
  // (*fits false: the record that did not fit was not added, nor any
  // after it.)
  return s;
}

absl::Status Generation::RepairIndex(uint32_t end) {
  index.Repair(end);
  uint32_t offset, count;
  index.Progress(&offset, &count);
  if (offset == end) return absl::OkStatus();
  absl::StatusOr<uint32_t> records = RecordsBelow(end);
  if (!records.ok()) return records.status();
  index.Publish(end, *records);
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Generation::RecordsBelow(uint32_t end) const {
  uint32_t offset, count;
  index.Progress(&offset, &count);
  if (offset > end) offset = count = 0;  // Counted past it: count again.
  // Only the lengths are read: each record's checksum is checked where
  // its contents are used.
  while (offset < end) {
    if (end - offset < log::kRecordHeaderSize || end > record_capacity) {
      return absl::DataLossError(absl::StrCat(
          log_segment.path(), ": truncated record header at offset ",
          log::kHeaderSize + offset));
    }
    const uint32_t length = DecodeFixed32(records + offset + 4);
    if (length > end - offset - log::kRecordHeaderSize) {
      return absl::DataLossError(
          absl::StrCat(log_segment.path(), ": record length ", length,
                       " past the end at offset ", log::kHeaderSize + offset));
    }
    offset += static_cast<uint32_t>(log::kRecordHeaderSize) + length;
    count++;
  }
  return count;
}

absl::StatusOr<std::shared_ptr<Generation>> LoadGeneration(
    const GenerationFiles& files, uint32_t gen) {
  auto g = std::make_shared<Generation>();
  g->gen = gen;
  if (gen == 0) return g;
  const std::string snap_name = files.SnapshotPath(gen);
  const std::string log_name = files.LogPath(gen);
  absl::StatusOr<port::Segment> snap =
      port::Segment::Open(snap_name, files.allow_other_owner, false);
  if (!snap.ok()) return snap.status();
  absl::StatusOr<port::Segment> log =
      port::Segment::Open(log_name, files.allow_other_owner, true);
  if (!log.ok()) return log.status();
  g->snap_segment = std::move(*snap);
  g->log_segment = std::move(*log);
  absl::Status s = g->snapshot.Open(g->snap_segment.data(),
                                    g->snap_segment.size(), snap_name);
  if (!s.ok()) return s;
  s = log::ParseHeader(g->log_segment.data(), g->log_segment.size(), log_name,
                       &g->log_header);
  if (!s.ok()) return s;
  if (g->snapshot.generation() != gen || g->log_header.generation != gen) {
    return absl::DataLossError(absl::StrCat(
        log_name, ": segments of generation ", g->snapshot.generation(), "/",
        g->log_header.generation, " under the name of generation ", gen));
  }
  s = g->SetUpLog(files.initial_log_size);
  if (!s.ok()) return s;
  return g;
}

absl::Status Generation::CarryRecords(const Generation& old, uint32_t from,
                                      uint32_t to, bool* fits,
                                      absl::FunctionRef<void()> between) {
  // Records do not depend on where they lie: they move over as they are,
  // after those carried before, and are indexed where they now lie.
  if (from > to || to > old.record_capacity) {
    return absl::DataLossError(
        absl::StrCat(old.log_segment.path(), ": records [", from, ", ", to,
                     ") to carry over lie outside the log's ",
                     old.record_capacity, " bytes"));
  }
  uint32_t at, count;
  index.Progress(&at, &count);
  const size_t length = to - from;
  *fits = length <= record_capacity - at;
  if (!*fits || length == 0) return absl::OkStatus();
  absl::Status s = ReserveLog(at, length);
  if (!s.ok()) return s;
  std::memcpy(const_cast<char*>(records) + at, old.records + from, length);
  // (*fits false: carried in part; the caller starts over with a larger
  // log.)
  return IndexRecords(at, static_cast<uint32_t>(at + length), fits, between);
}

absl::Status Generation::IndexDamage(uint32_t file_offset) const {
  return absl::DataLossError(absl::StrCat(
      log_segment.path(),
      ": the shared index leads to bytes that do not decode at offset ",
      file_offset));
}

absl::Status Generation::ExistsInSnapshot(std::string_view key, uint64_t hash,
                                          bool* exists) const {
  snapshot::Entry entry;
  absl::Status s = gen == 0
                       ? absl::NotFoundError("")
                       : snapshot.Find(key, hash, &entry, /*verify=*/false);
  *exists = s.ok();
  return s.ok() || absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::Status Generation::Lookup(std::string_view key, std::string* scratch,
                                std::string_view* value, uint32_t end) const {
  if (gen == 0) return absl::NotFoundError("");
  const uint64_t hash = Hash64(key);  // For the log index and the snapshot.
  LogIndex::Entry latest;
  uint32_t damaged_at = 0;
  const LogIndex::Found found =
      index.Find(key, hash, end, scratch, &latest, &damaged_at);
  if (found == LogIndex::Found::kDamaged) return IndexDamage(damaged_at);
  if (found == LogIndex::Found::kYes) {
    if (latest.deleted) return absl::NotFoundError("");
    *value = latest.value;
    return absl::OkStatus();
  }
  snapshot::Entry entry;
  absl::Status s = snapshot.Find(key, hash, &entry);
  if (!s.ok()) return s;
  return snapshot::EntryValue(entry, scratch, value);
}

}  // namespace ultradict
