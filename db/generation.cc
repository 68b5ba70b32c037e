// generation.cc: a mapped generation: loading, log set-up, indexing,
// lookups, carrying records and reserving log pages (see generation.h).

#include "db/generation.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "db/write_batch_internal.h"
#include "util/checksum.h"

namespace ultradict {

absl::Status Generation::ReserveFile(size_t offset, size_t length) {
  port::MutexLock l(&file_mu);
  if (files_closed) {
    return absl::FailedPreconditionError(absl::StrCat(
        log_segment.path(), ": generation ", gen, " is not current"));
  }
  return log_segment.Reserve(offset, length);
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

void Generation::SetUpLog(size_t initial_log_size) {
  records = log_segment.data() + log::kHeaderSize;
  record_capacity = log_segment.size() - log::kHeaderSize;
  index.SetArea(records, record_capacity);
  // The log is larger than what starts its compaction (see
  // NextLogCapacity in compaction.h): the room beyond is what writers use
  // while the background compaction runs, so that they wait for it only
  // when it is slower than writing that much.
  const size_t base = std::max<size_t>(initial_log_size, snap_segment.size());
  compact_at = std::min(record_capacity, base) / 3;
  ExpectIndexSize();
}

void Generation::ExpectIndexSize() {
  // Growing a large index moves every entry in one go, with the handle's
  // lock held exclusively: 60 ms at 500,000 keys, a stall for the writer
  // and this process's readers. So when it first has to grow past a small
  // size, it grows at once to what the log likely holds before its next
  // compaction replaces it: twice the records that start its compaction
  // (writes go on meanwhile), records being about as large as the
  // snapshot's entries, and no more keys than the snapshot has (a
  // dictionary that grows fast still grows its index in steps, but not one
  // whose keys are rewritten). Not before: a process that attaches to a
  // freshly compacted dictionary does not pay for an index it may not need.
  const uint64_t count = snapshot.count();
  if (count == 0) return;
  const uint64_t record_size = snapshot.data_size() / count + 16;
  expected_keys = std::min<uint64_t>(count, compact_at / record_size * 2);
}

void Generation::GrowIndexFor(size_t more) {
  constexpr size_t kSmallIndex = 4096;
  const size_t capacity = index.bucket_count();
  const size_t wanted = index.size() + more;
  if (wanted <= capacity - capacity / 8) return;  // absl's maximum load.
  // reserve(wanted) doubles the capacity (a power of two); asking for
  // 2 * wanted quadrupled it: a 10 M fill ended with 33.5 M slots
  // (302 MB) for fewer than 10 M keys.
  index.reserve(std::max(wanted < kSmallIndex ? 0 : expected_keys, wanted));
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
  snap->CloseFile();  // Mapped: never reserved, flushed through the mapping.
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
  g->SetUpLog(files.initial_log_size);
  return g;
}

absl::Status Generation::ApplyRecords(uint32_t end,
                                      absl::FunctionRef<void()> between) {
  if (end < applied) {
    return absl::DataLossError(absl::StrCat(
        log_segment.path(), ": head moved back from ", applied, " to ", end));
  }
  // Keys of checked batches go into the index in groups: each key's slot is
  // prefetched when it is queued, so that the cache misses of a group
  // overlap instead of following one another (a process that indexes
  // another's writes spends most of its time on them).
  constexpr size_t kGroup = 32;
  struct Pending {
    LogIndex::Key key;
    LogIndex::Entry entry;
    const char* batch_end;
  };
  absl::InlinedVector<Pending, kGroup + 8> pending;  // No allocation.
  uint32_t pending_bytes = 0;
  uint64_t pending_records = 0;
  auto insert_pending = [&] {
    GrowIndexFor(pending.size());
    for (const Pending& p : pending) index.Insert(p.key, p.entry, p.batch_end);
    Indexed(pending_bytes, pending_records);
    pending.clear();
    pending_bytes = 0;
    pending_records = 0;
  };
  WriteBatchInternal::Entries entries;
  absl::Status s = ForEachBatch(
      *this, applied, end,
      [&](std::string_view batch, std::string* scratch, uint32_t size) {
        between();
        if (!scratch->empty()) {  // Decompressed: the index points into it.
          buffers.push_back(std::move(*scratch));
          batch = buffers.back();
        }
        entries.clear();  // The whole batch is checked before any is applied.
        absl::Status st = WriteBatchInternal::Decode(batch, &entries);
        if (!st.ok()) return st;
        for (const WriteBatchInternal::Entry& e : entries) {
          // A large batch goes in group by group too: it was checked whole
          // above, and no reader sees the index until the handle's lock is
          // released.
          if (pending.size() >= kGroup) insert_pending();
          const LogIndex::Key key = LogIndex::MakeKey(e.key);
          index.Prefetch(key);
          pending.push_back(Pending{key, e, batch.data() + batch.size()});
        }
        pending_bytes += size;
        pending_records++;
        if (pending.size() >= kGroup) insert_pending();
        return absl::OkStatus();
      });
  insert_pending();  // Every batch before a damaged one is applied.
  return s;
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
  const size_t at = applied;
  const size_t length = to - from;
  *fits = length <= record_capacity - at;
  if (!*fits || length == 0) return absl::OkStatus();
  absl::Status s = ReserveLog(at, length);
  if (!s.ok()) return s;
  std::memcpy(const_cast<char*>(records) + at, old.records + from, length);
  return ApplyRecords(static_cast<uint32_t>(at + length), between);
}

absl::Status Generation::DamagedIndexEntry() const {
  return absl::DataLossError(absl::StrCat(
      log_segment.path(),
      ": an entry indexed from this log no longer decodes (its bytes were "
      "changed after they were checked)"));
}

absl::Status Generation::ScanTail(uint32_t from, uint32_t to,
                                  std::string_view key, std::string* scratch,
                                  std::string_view* value, bool* found) const {
  struct Finder : public WriteBatch::Handler {
    std::string_view key, value;
    bool found = false, deleted = false;
    void Put(std::string_view k, std::string_view v) override {
      if (k == key) found = true, deleted = false, value = v;
    }
    void Delete(std::string_view k) override {
      if (k == key) found = true, deleted = true;
    }
  } finder;
  finder.key = key;
  absl::Status s = ForEachBatch(
      *this, from, to,
      [&](std::string_view batch, std::string* buffer, uint32_t) {
        absl::Status st = WriteBatchInternal::Iterate(batch, &finder);
        if (st.ok() && finder.found && !finder.deleted && !buffer->empty()) {
          // The value lies in a decompressed buffer: keep a copy.
          scratch->assign(finder.value.data(), finder.value.size());
          finder.value = *scratch;
        }
        return st;
      });
  if (!s.ok()) return s;
  *found = finder.found;
  if (finder.found && finder.deleted) return absl::NotFoundError("");
  *value = finder.value;
  return absl::OkStatus();
}

uint32_t Generation::SearchableTailEnd(uint64_t head) const {
  const uint32_t end = control::HeadOffset(head);
  const bool searchable = control::HeadGeneration(head) == gen &&
                          end > applied && end - applied <= kMaxTailBytes &&
                          end <= record_capacity;
  return searchable ? end : 0;
}

absl::Status Generation::Exists(std::string_view key, uint64_t hash,
                                uint32_t tail_end, bool* exists) const {
  std::string scratch;
  std::string_view value;
  if (tail_end > applied) {
    bool found = false;
    absl::Status s = ScanTail(applied, tail_end, key, &scratch, &value, &found);
    if (found) {
      *exists = s.ok();
      return s.ok() || absl::IsNotFound(s) ? absl::OkStatus() : s;
    }
    if (!s.ok()) return s;
  }
  LogIndex::Entry latest;
  const LogIndex::Found found =
      index.Find(LogIndex::MakeKey(key, hash), &latest);
  if (found == LogIndex::Found::kDamaged) return DamagedIndexEntry();
  if (found == LogIndex::Found::kYes) {
    *exists = !latest.deleted;
    return absl::OkStatus();
  }
  snapshot::Entry entry;
  absl::Status s = gen == 0
                       ? absl::NotFoundError("")
                       : snapshot.Find(key, hash, &entry, /*verify=*/false);
  *exists = s.ok();
  return s.ok() || absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::Status Generation::Lookup(std::string_view key, std::string* scratch,
                                std::string_view* value,
                                uint32_t tail_end) const {
  if (tail_end > applied) {
    bool found = false;
    absl::Status s = ScanTail(applied, tail_end, key, scratch, value, &found);
    if (found || !s.ok()) return s;
  }
  const uint64_t hash = Hash64(key);  // For the log index and the snapshot.
  if (!index.empty()) {
    LogIndex::Entry latest;
    const LogIndex::Found found =
        index.Find(LogIndex::MakeKey(key, hash), &latest);
    if (found == LogIndex::Found::kDamaged) return DamagedIndexEntry();
    if (found == LogIndex::Found::kYes) {
      if (latest.deleted) return absl::NotFoundError("");
      *value = latest.value;
      return absl::OkStatus();
    }
  }
  if (gen == 0) return absl::NotFoundError("");
  snapshot::Entry entry;
  absl::Status s = snapshot.Find(key, hash, &entry);
  if (!s.ok()) return s;
  return snapshot::EntryValue(entry, scratch, value);
}

}  // namespace ultradict
