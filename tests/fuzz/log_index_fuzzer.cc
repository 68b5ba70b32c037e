// log_index_fuzzer.cc: a log segment with its shared index (log format 6)
// from untrusted bytes: log::ParseHeader, LogIndex::Open over the index
// area (as Generation::SetUpLog opens it), then at several head offsets
// (0, record boundaries, the index's progress, the whole record area) Find
// of the keys the records hold and of a few others, ForEachLatest,
// Generation::RecordsBelow, and last the writer's NeedsRepair/Repair
// followed by the reads again. Damage must give kDamaged or a Status, never
// a crash, an overread, a hang, or an entry of another key than the one
// asked for. (The run area after the index: log_run_fuzzer.cc.)
//
// The header's checksum is recomputed before parsing, so that mutations of
// the header's fields (the index's shape) get past it and are checked by
// ParseHeader and Open themselves.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "db/generation.h"
#include "db/log_format.h"
#include "db/log_index.h"
#include "db/log_index_format.h"
#include "db/log_reader.h"
#include "db/write_batch_internal.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ultradict {
namespace {

constexpr size_t kMaxKeys = 32;
constexpr size_t kMaxEnds = 8;

uint64_t Touch(std::string_view s) {
  uint64_t sum = 0;
  for (char c : s) sum += static_cast<unsigned char>(c);
  return sum;
}

// Record boundaries from 0 while records parse (at most kMaxEnds), and the
// keys of their entries (at most kMaxKeys).
void WalkRecords(const char* records, size_t capacity,
                 std::vector<uint32_t>* ends, std::vector<std::string>* keys) {
  ends->push_back(0);
  for (size_t offset = 0; offset < capacity && ends->size() < kMaxEnds;) {
    log::Record record;
    if (!log::ReadRecord(records, capacity, offset, "fuzz.log", &record).ok()) {
      break;
    }
    std::string scratch;
    std::string_view batch;
    if (log::RecordBatch(record, &scratch, &batch).ok()) {
      WriteBatchInternal::ForEachEntry(batch, [keys](const auto& e) {
        if (keys->size() < kMaxKeys) keys->emplace_back(e.key);
      }).IgnoreError();
    }
    offset += record.size;
    ends->push_back(static_cast<uint32_t>(offset));
  }
}

uint64_t ReadAll(const Generation& g, const std::vector<uint32_t>& ends,
                 const std::vector<std::string>& keys) {
  uint64_t sum = 0;
  for (uint32_t end : ends) {
    for (const std::string& key : keys) {
      std::string scratch;
      LogIndex::Entry entry;
      uint32_t damaged_at = 0;
      const LogIndex::Found found =
          g.index.Find(key, Hash64(key), end, &scratch, &entry, &damaged_at);
      if (found == LogIndex::Found::kYes) {
        // Never another key's entry.
        if (entry.key != key) __builtin_trap();
        sum += Touch(entry.value);
      }
    }
    std::vector<std::string> kept;
    kept.reserve(1 << 12);  // Entries point into these: no reallocation.
    uint32_t damaged_at = 0;
    g.index.ForEachLatest(
        end,
        [&](std::string&& batch) -> const std::string& {
          if (kept.size() == kept.capacity()) __builtin_trap();
          kept.push_back(std::move(batch));
          return kept.back();
        },
        [&](const LogIndex::Entry& e) { sum += Touch(e.key) + Touch(e.value); },
        &damaged_at);
    g.RecordsBelow(end).status().IgnoreError();
  }
  return sum;
}

}  // namespace
}  // namespace ultradict

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ultradict;
  if (size < log::kHeaderSize) return 0;
  // An aligned, writable copy, as a mapping is (Repair writes), of
  // exactly the input's bytes when they are whole words (as a segment
  // that parses is), so that ASan sees a read past them.
  std::vector<uint64_t> words((size + 7) / 8);
  char* base = reinterpret_cast<char*>(words.data());
  std::memcpy(base, data, size);
  EncodeFixed32(base + log::kHeaderChecksumOffset, log::HeaderChecksum(base));
  Generation g;
  if (!log::ParseHeader(base, size, "fuzz.log", &g.log_header).ok()) return 0;
  g.records = base + log::kHeaderSize;
  g.record_capacity = g.log_header.record_capacity;
  const size_t index_at =
      log::IndexOffset(log::kHeaderSize, g.log_header.record_capacity);
  LogIndex::Shape shape;
  shape.node_capacity = g.log_header.node_capacity;
  shape.first_bits = g.log_header.first_slot_bits;
  shape.max_bits = g.log_header.max_slot_bits;
  // (ParseHeader checked that the file is the header's size: the index's
  // area, then the run area, which this fuzzer does not read.)
  const size_t index_size =
      log::IndexSize(shape.node_capacity, shape.first_bits, shape.max_bits);
  if (!g.index
           .Open(base + index_at, index_size, g.records,
                 static_cast<uint32_t>(g.record_capacity), shape, "fuzz.log")
           .ok()) {
    return 0;
  }
  std::vector<uint32_t> ends;
  std::vector<std::string> keys = {"", "key100", "a", "b", "snap105", "k7"};
  WalkRecords(g.records, g.record_capacity, &ends, &keys);
  uint32_t progress, records;
  g.index.Progress(&progress, &records);
  // The engine never reads at a head past the record area (HeadPastLog).
  if (progress <= g.record_capacity) ends.push_back(progress);
  ends.push_back(static_cast<uint32_t>(g.record_capacity));
  uint64_t sum = ReadAll(g, ends, keys);
  // A next writer repairs at one of the heads; then reads go on.
  const uint32_t head = ends[ends.size() / 2];
  if (g.index.NeedsRepair(head)) g.index.Repair(head);
  sum += ReadAll(g, ends, keys);
  return sum == 42 ? 0 : 0;  // (The sum only keeps the reads alive.)
}
