// log_reader_fuzzer.cc: a log segment (header and records) from untrusted
// bytes: log::ParseHeader, then log::ReadRecord record after record over the
// whole record area, log::RecordBatch and WriteBatchInternal::Iterate of
// each. Damage must give a Status, never a crash or an overread.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "db/log_format.h"
#include "db/log_reader.h"
#include "db/write_batch_internal.h"
#include "ultradict/write_batch.h"

namespace {

// Touches every byte handed out, so that ASan sees any overread.
class Toucher : public ultradict::WriteBatch::Handler {
 public:
  void Put(std::string_view key, std::string_view value) override {
    for (char c : key) sum_ += static_cast<unsigned char>(c);
    for (char c : value) sum_ += static_cast<unsigned char>(c);
  }
  void Delete(std::string_view key) override {
    for (char c : key) sum_ += static_cast<unsigned char>(c);
  }
  uint64_t sum_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ultradict;
  const char* p = reinterpret_cast<const char*>(data);
  log::Header header;
  log::ParseHeader(p, size, "fuzz.log", &header).IgnoreError();
  if (size < log::kHeaderSize) return 0;
  // Read records whether or not the header parsed: the record parser must
  // stand on its own.
  const char* records = p + log::kHeaderSize;
  const size_t limit = size - log::kHeaderSize;
  Toucher toucher;
  for (size_t offset = 0; offset < limit;) {
    log::Record record;
    if (!log::ReadRecord(records, limit, offset, "fuzz.log", &record).ok()) {
      break;
    }
    std::string scratch;
    std::string_view batch;
    if (log::RecordBatch(record, &scratch, &batch).ok()) {
      WriteBatchInternal::Count(batch);
      WriteBatchInternal::Iterate(batch, &toucher).IgnoreError();
    }
    if (record.size == 0) break;  // Cannot happen: a header is 9 bytes.
    offset += record.size;
  }
  return 0;
}
