// log_reader.h: bounded parsing of log headers and records (format in
// log_format.h). Every record is checked against its checksum; damage is
// reported as DataLoss naming the segment and offset, never skipped.

#ifndef ULTRADICT_DB_LOG_READER_H_
#define ULTRADICT_DB_LOG_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ultradict {
namespace log {

struct Header {
  uint64_t generation = 0;
  uint64_t capacity = 0;  // Of the file.
  uint64_t base_sequence = 0;
  // The record area, then the shape of the index (log_index_format.h).
  uint64_t record_capacity = 0;
  uint32_t node_capacity = 0;
  uint32_t first_slot_bits = 0;
  uint32_t max_slot_bits = 0;
};

// The file size of a log whose header says h (all but capacity).
size_t FileSize(const Header& h);

// The checksum of a log header: XXH3 of bytes [0, 40) then [44, 64).
uint32_t HeaderChecksum(const char* data);

// Parses and checks the header of a log segment of `size` bytes (its
// areas fit the file exactly); `name` is used in messages.
// FailedPrecondition for a log of another format version.
absl::Status ParseHeader(const char* data, size_t size, std::string_view name,
                         Header* header);

struct Record {
  uint8_t type = 0;
  std::string_view payload;  // As stored (maybe compressed).
  size_t size = 0;           // Bytes the record takes, header included.
};

// Parses the record at `offset` of the record area [data, data + limit).
absl::Status ReadRecord(const char* data, size_t limit, size_t offset,
                        std::string_view name, Record* record);

// The batch encoding of a record: its payload, or the decompressed payload
// stored into *scratch.
absl::Status RecordBatch(const Record& record, std::string* scratch,
                         std::string_view* batch);

}  // namespace log
}  // namespace ultradict

#endif  // ULTRADICT_DB_LOG_READER_H_
