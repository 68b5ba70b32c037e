// log_run_fuzzer.cc: the sorted runs of a log segment (log format 6,
// db/log_run_format.h) from untrusted bytes, read as iterators read them:
// log::ParseHeader; the index and the run area opened as
// Generation::SetUpLog opens them; LogRuns::Newest and NewestEnd at several
// head offsets (0, record boundaries, the index's progress, the runs' ends
// and just below them, the whole record area, past it); at each head within
// the record area, ReadIteratorLog and NewDBIterator (the engine's
// iterator over the run and the records after it; no snapshot): a whole
// scan, and seeks to a few keys. Then the newest run is damaged in one of
// the ways that random bytes rarely reach in a segment of 28 KiB (entries
// swapped or copied, a location or check changed, the end moved; chosen by
// a hash of the input, DamageRun), resealed, and read again. Last, a
// builder adds a run of the records to the area as it is (LogRuns::Add),
// which must then be found and read.
//
// Damage must give a Status (DataLoss), never a crash, an overread, a hang,
// or keys out of order (an iterator's keys go up; after Seek(t) they are
// at least t). Besides, the fuzzer decodes the records itself (up to
// kMaxRecords of them, kMaxEntries entries) and the run's entries
// (LogIndex::EntryAt), and traps when the iterator disagrees:
//  - a run holding an entry that does not decode, or keys out of order,
//    must make a whole scan fail;
//  - a run that is exactly what the builder makes of the records below its
//    end (each key's newest entry, in key order) must give exactly the
//    records' state at the head: in a scan, and after each seek.
// (A run whose entries decode, in order, but are not the newest ones is
// damage that only the run's checksum shows: not checked.)
//
// The header's checksum is recomputed before parsing, as in
// log_index_fuzzer.cc; so are the checksums of the runs on the chain from
// the area's current one (unless bit 0 of the header's last padding byte,
// which no reader reads, is set), so that mutations of their fields and
// entries reach the readers' other checks.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/db_iter.h"
#include "db/generation.h"
#include "db/log_format.h"
#include "db/log_index.h"
#include "db/log_index_format.h"
#include "db/log_reader.h"
#include "db/log_run.h"
#include "db/log_run_format.h"
#include "db/write_batch_internal.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ultradict {
namespace {

constexpr size_t kMaxRecords = 64;          // Decoded by the fuzzer.
constexpr size_t kMaxEntries = 4096;        // Of those records.
constexpr size_t kMaxRuns = 16;             // Resealed along the chain.
constexpr size_t kMaxRunEnds = 4;           // Runs whose ends are heads.
constexpr size_t kMaxRunEntries = 1 << 14;  // Judged.
constexpr size_t kMaxSteps = 1 << 14;       // Of a scan.
constexpr size_t kSeekSteps = 4;            // Entries read after a seek.
constexpr size_t kControlByte = log::kHeaderSize - 1;  // Header padding.

uint64_t Touch(std::string_view s) {
  uint64_t sum = 0;
  for (char c : s) sum += static_cast<unsigned char>(c);
  return sum;
}

// An entry of the records, as the fuzzer decoded it.
struct Logged {
  WriteBatchInternal::Entry entry;
  uint32_t location;  // Of its tag byte; UINT32_MAX in a compressed record.
  uint32_t record_end;
};
using Newest = std::map<std::string_view, const Logged*>;

// The records from offset 0 for as long as they decode.
struct Records {
  std::vector<uint32_t> ends = {0};  // Record boundaries (head offsets).
  std::vector<Logged> entries;
  std::deque<std::string> buffers;  // Decompressed batches.

  bool Reaches(uint32_t head) const {
    return std::binary_search(ends.begin(), ends.end(), head);
  }
  // Each key's newest entry below `head` (one of ends).
  Newest NewestBelow(uint32_t head) const {
    Newest newest;
    for (const Logged& l : entries) {
      if (l.record_end <= head) newest[l.entry.key] = &l;
    }
    return newest;
  }
};

void WalkRecords(const Generation& g, Records* r) {
  for (uint32_t offset = 0; r->ends.size() <= kMaxRecords;) {
    log::Record record;
    std::string scratch;
    std::string_view batch;
    WriteBatchInternal::Entries entries;
    if (!log::ReadRecord(g.records, g.record_capacity, offset, "fuzz.log",
                         &record)
             .ok() ||
        !log::RecordBatch(record, &scratch, &batch).ok()) {
      return;
    }
    const bool compressed = (record.type & log::kCompressedFlag) != 0;
    if (compressed) {  // (Moved first: the entries are views into it.)
      r->buffers.push_back(std::move(scratch));
      batch = r->buffers.back();
    }
    if (!WriteBatchInternal::Decode(batch, &entries).ok() ||
        r->entries.size() + entries.size() > kMaxEntries) {
      return;
    }
    const uint32_t end = offset + static_cast<uint32_t>(record.size);
    for (const WriteBatchInternal::Entry& e : entries) {
      r->entries.push_back(
          {e,
           compressed ? UINT32_MAX : static_cast<uint32_t>(e.start - g.records),
           end});
    }
    offset = end;
    r->ends.push_back(offset);
  }
}

// Recomputes the checksums of the runs on the chain from `current`.
void Reseal(char* area, size_t size) {
  uint64_t current = DecodeFixed64(area + log::kRunCurrentOffset);
  for (size_t n = 0; n < kMaxRuns && current != 0 && current - 1 < size; n++) {
    const size_t at = static_cast<size_t>(current - 1);
    if (size - at < log::kRunHeaderSize) return;
    char* h = area + at;
    const uint32_t count = DecodeFixed32(h + log::kRunCountOffset);
    if (count <= (size - at - log::kRunHeaderSize) / log::kRunEntrySize) {
      EncodeFixed32(h + log::kRunEntriesChecksumOffset,
                    Checksum32(h + log::kRunHeaderSize,
                               size_t{count} * log::kRunEntrySize));
    }
    EncodeFixed32(h + log::kRunHeaderChecksumOffset,
                  Checksum32(h, log::kRunHeaderChecksumOffset));
    const uint32_t previous = DecodeFixed32(h + log::kRunPreviousOffset);
    if (previous == 0 || previous - 1 >= at) return;
    current = previous;
  }
}

// Opens g's index and runs over the segment [base, base + size) (whose
// header g->log_header is) as Generation::SetUpLog does.
bool SetUpLog(char* base, size_t size, Generation* g) {
  g->records = base + log::kHeaderSize;
  g->record_capacity = g->log_header.record_capacity;
  const size_t index_at =
      log::IndexOffset(log::kHeaderSize, g->log_header.record_capacity);
  LogIndex::Shape shape;
  shape.node_capacity = g->log_header.node_capacity;
  shape.first_bits = g->log_header.first_slot_bits;
  shape.max_bits = g->log_header.max_slot_bits;
  const size_t index_size =
      log::IndexSize(shape.node_capacity, shape.first_bits, shape.max_bits);
  const size_t runs_at = log::RunAreaOffset(index_at, index_size);
  if (size != runs_at + log::RunAreaSize(shape.node_capacity)) return false;
  return g->index
             .Open(base + index_at, index_size, g->records,
                   static_cast<uint32_t>(g->record_capacity), shape, "fuzz.log")
             .ok() &&
         g->runs
             .Open(base + runs_at, log::RunAreaSize(shape.node_capacity),
                   runs_at, shape.node_capacity, "fuzz.log")
             .ok();
}

// Newest at `head`, and what a run it finds must be.
uint64_t NewestAt(const Generation& g, const char* area, uint32_t head) {
  LogRuns::Run run;
  bool found = false;
  if (!g.runs.Newest(head, &run, &found).ok() || !found) return 0;
  if (run.end > head || run.count > g.runs.size() / log::kRunEntrySize ||
      run.entries < area + log::kRunAreaHeaderSize + log::kRunHeaderSize ||
      run.entries + size_t{run.count} * log::kRunEntrySize >
          area + g.runs.size()) {
    __builtin_trap();
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < run.count; i++) sum += run.location(i) + run.check(i);
  return sum;
}

// What the fuzzer's own reading says of a run.
enum class Verdict {
  kExact,    // Each key's newest entry below its end, in key order.
  kDamaged,  // An entry does not decode, or keys are out of order.
  kOther,    // Decodes in order, but not exactly; or too large to judge.
};

Verdict Judge(const Generation& g, const LogRuns::Run& run,
              const Records& records) {
  if (run.count > kMaxRunEntries) return Verdict::kOther;
  bool exact = records.Reaches(run.end);
  Newest newest;
  if (exact) newest = records.NewestBelow(run.end);
  exact = exact && newest.size() == run.count;
  auto want = newest.begin();
  std::string_view last;
  for (size_t i = 0; i < run.count; i++) {
    LogIndex::Entry e;
    if (!g.index.EntryAt(run.location(i), run.check(i), run.end, &e) ||
        (i > 0 && last >= e.key)) {
      return Verdict::kDamaged;
    }
    last = e.key;
    if (exact) {
      exact = want->first == e.key && want->second->location == run.location(i);
      ++want;
    }
  }
  return exact ? Verdict::kExact : Verdict::kOther;
}

using State = std::vector<std::pair<std::string_view, std::string_view>>;

// An iterator over g at `head` as DB::NewIterator makes it; null when
// ReadIteratorLog fails (as it must when Newest does). *used_run (when
// given): whether it reads the run Newest finds (ReadIteratorLog leaves a
// run out when more than a quarter of its entries again came after it).
std::unique_ptr<Iterator> IteratorAt(const std::shared_ptr<Generation>& g,
                                     uint32_t head, bool* used_run = nullptr) {
  LogRuns::Run run;
  bool found = false;
  const bool newest_ok = g->runs.Newest(head, &run, &found).ok();
  IteratorLog log;
  const absl::Status s = ReadIteratorLog(*g, head, &log);
  if (!newest_ok && s.ok()) __builtin_trap();  // Read past a damaged run.
  if (!s.ok()) return nullptr;
  if (log.run.entries != nullptr &&
      (!found || log.run.entries != run.entries)) {
    __builtin_trap();  // Read another run than the newest at its head.
  }
  if (used_run != nullptr) *used_run = log.run.entries != nullptr;
  return NewDBIterator(g, std::move(log),
                       std::make_shared<std::atomic<int>>(0));
}

// Seeks `it` to target and reads a few entries: at least target, going
// up, and (with `state`, the exact state at the head) the state's.
uint64_t SeekAndRead(Iterator* it, std::string_view target,
                     const State* state) {
  it->Seek(target);
  State::const_iterator want;
  if (state != nullptr) {
    want = std::lower_bound(state->begin(), state->end(),
                            std::make_pair(target, std::string_view()));
  }
  uint64_t sum = 0;
  std::string last(target);
  size_t n = 0;
  for (; n < kSeekSteps && it->Valid(); n++, it->Next()) {
    const std::string_view key = it->key();
    if (n == 0 ? key < last : key <= last) __builtin_trap();
    if (state != nullptr) {
      if (want == state->end() || want->first != key ||
          want->second != it->value()) {
        __builtin_trap();
      }
      ++want;
    }
    sum += Touch(key) + Touch(it->value());
    last.assign(key.data(), key.size());
  }
  if (state != nullptr &&
      (!it->status().ok() || (n < kSeekSteps && want != state->end()))) {
    __builtin_trap();  // Failed, or ended early.
  }
  return sum;
}

// Scans and seeks iterators over g at `head` (within the record area).
uint64_t ReadAt(const std::shared_ptr<Generation>& g, uint32_t head,
                const Records& records,
                const std::vector<std::string>& targets) {
  bool used_run = false;
  std::unique_ptr<Iterator> it = IteratorAt(g, head, &used_run);
  if (it == nullptr) return 0;
  LogRuns::Run run;
  bool found = false;
  g->runs.Newest(head, &run, &found).IgnoreError();
  // Judged only when the iterator reads the run (without it, it may read
  // the index, whose undetectable damage the verdicts do not model).
  const Verdict verdict =
      found && used_run ? Judge(*g, run, records) : Verdict::kOther;
  State state;
  const bool modeled = verdict == Verdict::kExact && records.Reaches(head);
  if (modeled) {
    for (const auto& [key, l] : records.NewestBelow(head)) {
      if (!l->entry.deleted) state.emplace_back(key, l->entry.value);
    }
  }
  // A whole scan: keys going up; damage found; the state when exact.
  uint64_t sum = 0;
  size_t steps = 0;
  std::string last;
  for (it->SeekToFirst(); it->Valid() && steps < kMaxSteps;
       it->Next(), steps++) {
    const std::string_view key = it->key();
    if (steps > 0 && key <= last) __builtin_trap();
    if (modeled && (steps >= state.size() || state[steps].first != key ||
                    state[steps].second != it->value())) {
      __builtin_trap();
    }
    sum += Touch(key) + Touch(it->value());
    last.assign(key.data(), key.size());
  }
  if (!it->Valid()) {  // Not stopped by kMaxSteps.
    if (verdict == Verdict::kDamaged && it->status().ok()) __builtin_trap();
    if (verdict == Verdict::kExact && !it->status().ok()) __builtin_trap();
    if (modeled && steps != state.size()) __builtin_trap();
  }
  // Seeks, with an iterator of their own (a failed scan stays failed).
  it = IteratorAt(g, head);
  if (it == nullptr) return sum;
  for (const std::string& target : targets) {
    sum += SeekAndRead(it.get(), target, modeled ? &state : nullptr);
  }
  return sum;
}

// The heads to read at: 0, some record boundaries, the index's progress,
// the ends of the newest runs and just below them, the whole record area.
std::vector<uint32_t> Heads(const Generation& g, const Records& records) {
  const auto capacity = static_cast<uint32_t>(g.record_capacity);
  std::vector<uint32_t> heads = {0, capacity};
  const std::vector<uint32_t>& ends = records.ends;
  heads.push_back(ends[std::min<size_t>(1, ends.size() - 1)]);
  heads.push_back(ends[ends.size() / 2]);
  heads.push_back(ends.back());
  uint32_t progress, count;
  g.index.Progress(&progress, &count);
  heads.push_back(progress);
  uint32_t below = UINT32_MAX;
  for (size_t n = 0; n < kMaxRunEnds; n++) {
    LogRuns::Run run;
    bool found = false;
    if (!g.runs.Newest(below, &run, &found).ok() || !found) break;
    heads.push_back(run.end);
    if (run.end == 0) break;
    heads.push_back(run.end - 1);
    below = run.end - 1;
  }
  std::sort(heads.begin(), heads.end());
  heads.erase(std::unique(heads.begin(), heads.end()), heads.end());
  return heads;
}

// Keys to seek to: none, past all, and some of the records' (each, and
// just after it).
std::vector<std::string> Targets(const Records& records) {
  std::vector<std::string> targets = {"", std::string(4, '\xff')};
  const size_t n = records.entries.size();
  for (size_t k = 0; k < 4 && n > 0; k++) {
    const std::string_view key = records.entries[k * n / 4].entry.key;
    targets.emplace_back(key);
    targets.emplace_back(std::string(key) + '\0');
  }
  return targets;
}

// Damages the newest run (at area offset `at`, of count >= 1 entries) in
// one of the ways that random bytes rarely do, chosen by `seed`: two
// entries swapped, one copied over another, a location moved by a few
// bytes, a check's bit flipped, or the run's end moved to another record
// boundary; then reseals it.
void DamageRun(char* area, size_t at, uint32_t count, const Records& records,
               uint64_t seed) {
  char* h = area + at;
  char* entries = h + log::kRunHeaderSize;
  char* a = entries + (seed % count) * log::kRunEntrySize;
  char* b = entries + ((seed >> 16) % count) * log::kRunEntrySize;
  const uint32_t small = static_cast<uint32_t>(seed >> 40);
  switch ((seed >> 32) % 5) {
    case 0:
      std::swap_ranges(a, a + log::kRunEntrySize, b);
      break;
    case 1:
      std::memmove(b, a, log::kRunEntrySize);
      break;
    case 2:
      EncodeFixed32(a, DecodeFixed32(a) + 1 + small % 8);
      break;
    case 3:
      EncodeFixed32(a + 4, DecodeFixed32(a + 4) ^ (1u << (small % 32)));
      break;
    default:
      EncodeFixed32(h + log::kRunEndOffset,
                    records.ends[small % records.ends.size()]);
      break;
  }
  EncodeFixed32(h + log::kRunEntriesChecksumOffset,
                Checksum32(entries, size_t{count} * log::kRunEntrySize));
  EncodeFixed32(h + log::kRunHeaderChecksumOffset,
                Checksum32(h, log::kRunHeaderChecksumOffset));
}

// Damages the newest run (DamageRun) and reads at its end, the last
// record boundary and the whole record area again.
uint64_t ReadDamaged(const std::shared_ptr<Generation>& g, char* area,
                     const Records& records,
                     const std::vector<std::string>& targets, uint64_t seed) {
  LogRuns::Run run;
  bool found = false;
  if (!g->runs.Newest(UINT32_MAX, &run, &found).ok() || !found ||
      run.count == 0) {
    return 0;
  }
  DamageRun(area, run.file_offset - g->runs.file_offset(), run.count, records,
            seed);
  if (!g->runs.Newest(UINT32_MAX, &run, &found).ok() || !found) {
    __builtin_trap();  // Resealed: whole again.
  }
  uint64_t sum = 0;
  for (uint32_t head : {run.end, records.ends.back(),
                        static_cast<uint32_t>(g->record_capacity)}) {
    if (head <= g->record_capacity) sum += ReadAt(g, head, records, targets);
  }
  return sum;
}

// A builder adds a run of the records below their last decoded boundary
// to the area as it is (as RunBuilder would, when none of them is
// compressed); a run added must be the newest, whole, and read exactly.
uint64_t AddRun(const std::shared_ptr<Generation>& g, const Records& records) {
  const uint32_t end = records.ends.back();
  const Newest newest = records.NewestBelow(end);
  for (const auto& [key, l] : newest) {
    if (l->location == UINT32_MAX) return 0;  // A compressed record.
  }
  const auto count = static_cast<uint32_t>(newest.size());
  bool added = false;
  const absl::Status s = g->runs.Add(
      end, static_cast<uint32_t>(records.entries.size()), count,
      [&](char* dst) {
        for (const auto& [key, l] : newest) {
          EncodeFixed32(dst, l->location);
          EncodeFixed32(dst + 4, LogIndex::EntryCheck(l->entry));
          dst += log::kRunEntrySize;
        }
      },
      [](size_t, size_t) { return absl::OkStatus(); }, &added);
  if (!s.ok()) __builtin_trap();  // Only reserve fails it.
  if (!added) return 0;
  LogRuns::Run run;
  bool found = false;
  if (!g->runs.Newest(UINT32_MAX, &run, &found).ok() || !found ||
      run.end != end || run.count != count) {
    __builtin_trap();
  }
  return ReadAt(g, end, records, Targets(records));
}

}  // namespace
}  // namespace ultradict

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ultradict;
  if (size < log::kHeaderSize) return 0;
  // An aligned, writable copy, as a mapping is (Add writes), of exactly
  // the input's bytes when they are whole words (as a segment that parses
  // is), so that ASan sees a read past them.
  std::vector<uint64_t> words((size + 7) / 8);
  char* base = reinterpret_cast<char*>(words.data());
  std::memcpy(base, data, size);
  EncodeFixed32(base + log::kHeaderChecksumOffset, log::HeaderChecksum(base));
  auto g = std::make_shared<Generation>();
  g->gen = 1;  // (0 is the empty dictionary, whose log is not read.)
  if (!log::ParseHeader(base, size, "fuzz.log", &g->log_header).ok() ||
      !SetUpLog(base, size, g.get())) {
    return 0;
  }
  char* const area = base + g->runs.file_offset();
  if ((base[kControlByte] & 1) == 0) Reseal(area, g->runs.size());
  Records records;
  WalkRecords(*g, &records);
  const std::vector<uint32_t> heads = Heads(*g, records);
  const std::vector<std::string> targets = Targets(records);
  uint64_t sum = 0;
  for (uint32_t head : heads) sum += NewestAt(*g, area, head);
  sum += NewestAt(*g, area, UINT32_MAX);
  // The newest run's end, whatever the head: as Newest finds it.
  LogRuns::Run run;
  bool found = false;
  uint32_t end = 0, nodes = 0;
  if (g->runs.Newest(UINT32_MAX, &run, &found).ok() && found &&
      (!g->runs.NewestEnd(&end, &nodes) || end != run.end ||
       nodes != run.nodes)) {
    __builtin_trap();
  }
  // The engine never reads at a head past the record area (HeadPastLog).
  for (uint32_t head : heads) {
    if (head <= g->record_capacity) sum += ReadAt(g, head, records, targets);
  }
  sum += ReadDamaged(g, area, records, targets, Hash64(data, size));
  sum += AddRun(g, records);
  return sum == 42 ? 0 : 0;  // (The sum only keeps the reads alive.)
}
