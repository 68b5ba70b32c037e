// log_format.h: layout of a log segment (ud.N.<gen>.log). Frozen; the full
// grammar with an example is in doc/design.md ("Log segment").
//
//   header (64 bytes):
//     magic        fixed64  kLogMagic ("UDLOG\0\0\1" little-endian)
//     version      fixed32  kLogVersion (3: the log carries its shared
//                           index; 4: the index has a filter of its keys;
//                           5: the index's table_bits on its first cache
//                           line; 6: sorted runs after the index; older
//                           versions are not read)
//     header_size  fixed32  64
//     generation   fixed64
//     capacity     fixed64  file size in bytes
//     base_seq     fixed64  sequence of the dictionary before this log
//     checksum     fixed32  low 32 bits of XXH3 of bytes [0, 40) then
//                           [44, 64), as one byte string
//     node_capacity   fixed32  index nodes (log_index_format.h)
//     record_capacity fixed64  bytes of the record area
//     first_slot_bits uint8    log2 of the index's first table's slots
//     max_slot_bits   uint8    log2 of its largest table's slots
//     (zero padding to 64)
//   records, from offset 64, back to back (record_capacity bytes):
//     checksum fixed32  low 32 bits of XXH3 of [type, length, payload]
//     length   fixed32  payload bytes
//     type     uint8    kBatchRecord, | kCompressedFlag when the payload is
//                       a zstd frame of the batch
//     payload  `length` bytes: a WriteBatch encoding
//
// The head word of the control segment says how many record bytes are
// committed; bytes past it are garbage from an unfinished write.
//
//   the shared index of the records, from the first multiple of 4096 past
//   the records (log_index_format.h); then, from the first multiple of
//   4096 past the index, the sorted runs of the log's keys to the end of
//   the file (log_run_format.h).

#ifndef ULTRADICT_DB_LOG_FORMAT_H_
#define ULTRADICT_DB_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace ultradict {
namespace log {

inline constexpr uint64_t kLogMagic = 0x0100'0047'4f4c'4455ULL;  // "UDLOG\0\0\1"
inline constexpr uint32_t kLogVersion = 6;
inline constexpr uint32_t kMinLogVersion = 6;  // Oldest version read.
inline constexpr size_t kHeaderSize = 64;
// The largest record area this build creates (the index locates entries
// by 31-bit offsets).
inline constexpr size_t kMaxRecordBytes = (size_t{1} << 31) - 4096;
inline constexpr size_t kHeaderChecksumOffset = 40;
inline constexpr size_t kNodeCapacityOffset = 44;
inline constexpr size_t kRecordCapacityOffset = 48;
inline constexpr size_t kSlotBitsOffset = 56;
inline constexpr size_t kRecordHeaderSize = 9;  // checksum + length + type

// Largest batch encoding a record may hold (before compression).
inline constexpr size_t kMaxBatchSize = size_t{1} << 30;

inline constexpr uint8_t kBatchRecord = 1;
inline constexpr uint8_t kCompressedFlag = 0x80;

}  // namespace log
}  // namespace ultradict

#endif  // ULTRADICT_DB_LOG_FORMAT_H_
