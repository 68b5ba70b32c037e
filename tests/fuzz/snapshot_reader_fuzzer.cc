// snapshot_reader_fuzzer.cc: a snapshot segment from untrusted bytes:
// snapshot::Reader::Open, Find of a few keys (fixed ones and those of the
// entries), EntryAt and LowerBound over all entries, EntryValue, VerifyBody.
// Damage must give a Status, never a crash, an overread or an endless probe.
// The header checksum is re-sealed over the fuzzed bytes (as
// log_index_fuzzer does), so that damaged header fields reach Open's bounds
// checks instead of stopping at the checksum.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "db/snapshot_format.h"
#include "db/snapshot_reader.h"
#include "util/checksum.h"
#include "util/coding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ultradict;
  // Segments are mapped page-aligned; give the reader 8-aligned bytes of
  // exactly `size` (so ASan catches a read past the end).
  std::unique_ptr<uint64_t[]> aligned(new uint64_t[size / 8 + 1]);
  char* p = reinterpret_cast<char*>(aligned.get());
  if (size > 0) std::memcpy(p, data, size);
  if (size >= snapshot::kHeaderSize) {
    EncodeFixed32(p + snapshot::kHeaderChecksumOffset,
                  Checksum32(p, snapshot::kHeaderChecksumOffset));
  }
  snapshot::Reader reader;
  if (!reader.Open(p, size, "fuzz.snap").ok()) return 0;
  reader.VerifyBody().IgnoreError();
  snapshot::Entry entry;
  for (std::string_view key : {"", "a", "key100", "snap105", "zzzz"}) {
    reader.Find(key, &entry).IgnoreError();
    uint64_t i;
    reader.LowerBound(key, &i).IgnoreError();
  }
  // Bounded: a header may claim many entries.
  const uint64_t n = reader.count() < 4096 ? reader.count() : 4096;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; i++) {
    if (!reader.EntryAt(i, &entry).ok()) continue;
    const std::string key(entry.key);
    std::string scratch;
    std::string_view value;
    if (snapshot::EntryValue(entry, &scratch, &value).ok()) {
      for (char c : value) sum += static_cast<unsigned char>(c);
    }
    snapshot::Entry found;
    reader.Find(key, &found).IgnoreError();
    uint64_t at;
    reader.LowerBound(key, &at).IgnoreError();
  }
  reader.EntryAt(reader.count(), &entry).IgnoreError();  // Out of range.
  return sum == 42 ? 0 : 0;
}
