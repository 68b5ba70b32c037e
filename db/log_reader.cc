// log_reader.cc: see log_reader.h.

#include "db/log_reader.h"

#include "absl/strings/str_cat.h"
#include "db/log_format.h"
#include "db/log_index_format.h"
#include "db/log_run_format.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/compression.h"
#include "util/strings.h"

namespace ultradict {
namespace log {

size_t FileSize(const Header& h) {
  return RunAreaOffset(
             IndexOffset(kHeaderSize, h.record_capacity),
             IndexSize(h.node_capacity, h.first_slot_bits, h.max_slot_bits)) +
         RunAreaSize(h.node_capacity);
}

uint32_t HeaderChecksum(const char* data) {
  ChecksumStream sum;
  sum.Update(data, kHeaderChecksumOffset);
  sum.Update(data + kHeaderChecksumOffset + 4,
             kHeaderSize - kHeaderChecksumOffset - 4);
  return sum.Checksum32();
}

absl::Status ParseHeader(const char* data, size_t size, std::string_view name,
                         Header* header) {
  if (size < kHeaderSize) {
    return absl::DataLossError(
        absl::StrCat(AsAbsl(name), ": truncated log segment (", size, " bytes)"));
  }
  if (DecodeFixed64(data) != kLogMagic) {
    return absl::DataLossError(absl::StrCat(AsAbsl(name), ": not a log segment (bad magic)"));
  }
  const uint32_t version = DecodeFixed32(data + 8);
  if (version < kMinLogVersion || version > kLogVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        AsAbsl(name), ": log format version ", version, "; this build reads versions ",
        kMinLogVersion, " to ", kLogVersion));
  }
  if (DecodeFixed32(data + kHeaderChecksumOffset) != HeaderChecksum(data)) {
    return absl::DataLossError(
        absl::StrCat(AsAbsl(name), ": header checksum mismatch at offset 0"));
  }
  header->generation = DecodeFixed64(data + 16);
  header->capacity = DecodeFixed64(data + 24);
  header->base_sequence = DecodeFixed64(data + 32);
  header->node_capacity = DecodeFixed32(data + kNodeCapacityOffset);
  header->record_capacity = DecodeFixed64(data + kRecordCapacityOffset);
  header->first_slot_bits = static_cast<uint8_t>(data[kSlotBitsOffset]);
  header->max_slot_bits = static_cast<uint8_t>(data[kSlotBitsOffset + 1]);
  const bool shaped = header->record_capacity <= kMaxRecordBytes &&
                      header->first_slot_bits >= kMinSlotBits &&
                      header->max_slot_bits <= kMaxSlotBits &&
                      header->first_slot_bits <= header->max_slot_bits &&
                      header->node_capacity <= (uint32_t{1} << kMaxSlotBits);
  if (DecodeFixed32(data + 12) != kHeaderSize || header->capacity != size ||
      !shaped || FileSize(*header) != size) {
    return absl::DataLossError(absl::StrCat(
        AsAbsl(name), ": header claims ", header->capacity, " bytes (",
        header->record_capacity, " of records, an index of ",
        header->node_capacity, " nodes and 2^", header->first_slot_bits,
        "..2^", header->max_slot_bits, " slots), segment has ", size));
  }
  return absl::OkStatus();
}

absl::Status ReadRecord(const char* data, size_t limit, size_t offset,
                        std::string_view name, Record* record) {
  const size_t file_offset = kHeaderSize + offset;
  if (offset > limit || limit - offset < kRecordHeaderSize) {
    return absl::DataLossError(absl::StrCat(
        AsAbsl(name), ": truncated record header at offset ", file_offset));
  }
  const char* p = data + offset;
  const uint32_t length = DecodeFixed32(p + 4);
  if (length > limit - offset - kRecordHeaderSize) {
    return absl::DataLossError(absl::StrCat(AsAbsl(name), ": record length ", length,
                                            " past the end at offset ",
                                            file_offset));
  }
  std::string_view payload(p + kRecordHeaderSize, length);
  if (DecodeFixed32(p) != Checksum32(p + 4, kRecordHeaderSize - 4 + length)) {
    return absl::DataLossError(
        absl::StrCat(AsAbsl(name), ": checksum mismatch at offset ", file_offset));
  }
  record->type = static_cast<uint8_t>(p[8]);
  if ((record->type & ~kCompressedFlag) != kBatchRecord) {
    return absl::DataLossError(absl::StrCat(AsAbsl(name), ": unknown record type ",
                                            static_cast<int>(record->type), " at offset ",
                                            file_offset));
  }
  record->payload = payload;
  record->size = kRecordHeaderSize + length;
  return absl::OkStatus();
}

absl::Status RecordBatch(const Record& record, std::string* scratch,
                         std::string_view* batch) {
  if ((record.type & kCompressedFlag) == 0) {
    *batch = record.payload;
    return absl::OkStatus();
  }
  absl::Status s = ZstdUncompress(record.payload, kMaxBatchSize, scratch);
  if (!s.ok()) return s;
  *batch = *scratch;
  return absl::OkStatus();
}

}  // namespace log
}  // namespace ultradict
