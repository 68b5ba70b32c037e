// log_format.h: layout of a log segment (ud.N.<gen>.log). Frozen; the full
// grammar with an example is in doc/design.md ("Log segment").
//
//   header (64 bytes):
//     magic        fixed64  kLogMagic ("UDLOG\0\0\1" little-endian)
//     version      fixed32  kLogVersion (2: pages past the records may be
//                           unreserved, see Segment::Reserve; version 1
//                           logs, fully reserved, are read and written too)
//     header_size  fixed32  64
//     generation   fixed64
//     capacity     fixed64  file size in bytes
//     base_seq     fixed64  sequence of the dictionary before this log
//     checksum     fixed32  low 32 bits of XXH3 of bytes [0, 40)
//     (zero padding to 64)
//   records, from offset 64, back to back:
//     checksum fixed32  low 32 bits of XXH3 of [type, length, payload]
//     length   fixed32  payload bytes
//     type     uint8    kBatchRecord, | kCompressedFlag when the payload is
//                       a zstd frame of the batch
//     payload  `length` bytes: a WriteBatch encoding
//
// The head word of the control segment says how many record bytes are
// committed; bytes past it are garbage from an unfinished write.

#ifndef ULTRADICT_DB_LOG_FORMAT_H_
#define ULTRADICT_DB_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace ultradict {
namespace log {

inline constexpr uint64_t kLogMagic = 0x0100'0047'4f4c'4455ULL;  // "UDLOG\0\0\1"
inline constexpr uint32_t kLogVersion = 2;
inline constexpr uint32_t kMinLogVersion = 1;  // Oldest version read.
inline constexpr size_t kHeaderSize = 64;
// The largest log file this build creates, header included (the index
// locates entries by 31-bit offsets). Older builds made logs up to 4 KiB
// larger; they are read, their last bytes indexed through a side table.
inline constexpr size_t kMaxSize = size_t{1} << 31;
inline constexpr size_t kHeaderChecksumOffset = 40;
inline constexpr size_t kRecordHeaderSize = 9;  // checksum + length + type

// Largest batch encoding a record may hold (before compression).
inline constexpr size_t kMaxBatchSize = size_t{1} << 30;

inline constexpr uint8_t kBatchRecord = 1;
inline constexpr uint8_t kCompressedFlag = 0x80;

}  // namespace log
}  // namespace ultradict

#endif  // ULTRADICT_DB_LOG_FORMAT_H_
