// log_writer.cc: see log_writer.h.

#include "db/log_writer.h"

#include <cstring>

#include "db/log_format.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/compression.h"

namespace ultradict {
namespace log {

void EncodeHeader(char* dst, const Header& h) {
  std::memset(dst, 0, kHeaderSize);
  EncodeFixed64(dst, kLogMagic);
  EncodeFixed32(dst + 8, kLogVersion);
  EncodeFixed32(dst + 12, kHeaderSize);
  EncodeFixed64(dst + 16, h.generation);
  EncodeFixed64(dst + 24, FileSize(h));
  EncodeFixed64(dst + 32, h.base_sequence);
  EncodeFixed32(dst + kNodeCapacityOffset, h.node_capacity);
  EncodeFixed64(dst + kRecordCapacityOffset, h.record_capacity);
  dst[kSlotBitsOffset] = static_cast<char>(h.first_slot_bits);
  dst[kSlotBitsOffset + 1] = static_cast<char>(h.max_slot_bits);
  EncodeFixed32(dst + kHeaderChecksumOffset, HeaderChecksum(dst));
}

namespace {
void EncodeTypedRecord(std::string_view payload, uint8_t type, char* dst) {
  EncodeFixed32(dst + 4, static_cast<uint32_t>(payload.size()));
  dst[8] = static_cast<char>(type);
  std::memcpy(dst + kRecordHeaderSize, payload.data(), payload.size());
  // The checksum covers length, type and payload, which lie one after the
  // other: XXH3 in one call (the streaming API cost 3x as much on records
  // of 130 bytes, 6% of a put).
  EncodeFixed32(dst, Checksum32(dst + 4, kRecordHeaderSize - 4 + payload.size()));
}
}  // namespace

void AppendRecord(std::string_view batch_rep, bool compress, std::string* out) {
  uint8_t type = kBatchRecord;
  std::string compressed;
  std::string_view payload = batch_rep;
  if (compress) {
    ZstdCompress(batch_rep, &compressed);
    if (!compressed.empty() && compressed.size() < batch_rep.size()) {
      payload = compressed;
      type |= kCompressedFlag;
    }
  }
  const size_t start = out->size();
  out->resize(start + kRecordHeaderSize + payload.size());
  EncodeTypedRecord(payload, type, &(*out)[start]);
}

void EncodeRecord(std::string_view batch_rep, char* dst) {
  EncodeTypedRecord(batch_rep, kBatchRecord, dst);
}

}  // namespace log
}  // namespace ultradict
