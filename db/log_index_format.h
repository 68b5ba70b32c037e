// log_index_format.h: layout of the shared index of a log's records, which
// lies in the log segment after its record area (log_format.h). Frozen;
// the grammar with a worked example is in doc/design.md ("Log index").
//
// The writer (write lock held) maintains it; every other process only
// reads it, without a lock. It is a hash table of buckets, one per key
// written in the log, each holding where the key's newest entry (put or
// delete) lies; the key's older entries are kept in a chain of nodes, newest
// first, so that a reader whose head is older than the newest entry follows
// the chain back to the entry its head shows (FASTER's hash index in front
// of a log whose records point back to the previous record of their key).
// A lookup reads one word of the filter (below), then one bucket, then the
// entry in the log: two cache misses; a key the log does not hold is
// mostly told by the filter alone.
//
//   index area, at the first multiple of 4096 past the records:
//     magic        fixed64  kIndexMagic ("UDLIDX\0\1" little-endian)
//     version      fixed32  kIndexVersion
//     (zero padding to 16)
//     table_bits   fixed32  atomic: log2 of the buckets of the current table
//                           (0: first_slot_bits); on the first cache line,
//                           which the writer stores to only when the table
//                           grows: every lookup loads it
//     (zero padding to 64)
//     the writer's counters, on a cache line of their own (stored at every
//     commit):
//     keys         fixed32  keys in the current table (writer only)
//     nodes_used   fixed32  atomic: nodes written so far
//     committed    fixed32  nodes_used when the progress was last stored:
//                           nodes past it belong to an unpublished record
//     progress     fixed64  atomic: record offset << 32 | records, the
//                           committed records (the head's offset, and how
//                           many records lie below it); stored after the
//                           head, so it may lag the head by a record
//     filled_bits  fixed32  the largest table whose filling began (writer
//                           only; tables above it were never written, so
//                           their pages are still zero)
//     (zero padding to 128)
//     filter       2^(first_slot_bits - 2) bytes: a bit set of the keys in
//                  the log, as 64-bit words (atomic); a key whose entry is
//                  added sets two bits of one word (FilterWord,
//                  FilterMask), before its bucket; bits are never cleared.
//                  A key whose two bits are not both set has no entry in
//                  the log, so a lookup of a key that is only in the
//                  snapshot, or nowhere, does not probe the table (a cache
//                  miss in a table sized for every key the log may hold).
//                  Two bits per bucket of the first table: at half the
//                  first table's load, ~15% of absent keys probe anyway
//                  (log_index_test measures it).
//     nodes        node_capacity x 16 bytes, one per entry added, written
//                  once: what the bucket held before the entry came
//       location   fixed32  the older entry's location (as in a bucket), or
//                           kNoEntry when the entry made a new bucket
//       check      fixed32  the older entry's check
//       prev       fixed32  the older entry's prev
//       bucket     fixed32  the bucket changed (what a repair restores)
//     tables, for bits = first_slot_bits .. max_slot_bits, one after the
//     other, each 2^bits buckets of 16 bytes:
//       tag        fixed32  the key's 32-bit hash (0 taken as 1); 0: empty
//       prev       fixed32  1 + the node holding the key's previous entry,
//                           or 0
//       location   fixed32  offset in the record area of the key's newest
//                           entry (its tag byte); with kCompressedLocation,
//                           offset of the compressed record holding it
//       check      fixed32  uncompressed: low 32 bits of XXH3 of the
//                           entry's bytes (tag to the end of its value), so
//                           that a reader checks every entry it returns;
//                           compressed: the entry's place in its batch (the
//                           record's checksum is checked on every read);
//                           location and check are one atomic fixed64
//
// A key's bucket is found by linear probing from (tag * kSlotMultiplier) >>
// (64 - bits). The writer fills a new bucket's fields, then its tag; it
// updates one by writing the node, then prev, then location and check
// together (a reader loads them first, then prev: a prev newer than the
// entry still leads back to the entry's older versions). A table is
// replaced by the next larger one (filled from it, then published in
// table_bits) when it would pass half full; a table never changes once
// replaced, so a reader that loaded an older table_bits reads a complete
// (older) table.

#ifndef ULTRADICT_DB_LOG_INDEX_FORMAT_H_
#define ULTRADICT_DB_LOG_INDEX_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace ultradict {
namespace log {

inline constexpr uint64_t kIndexMagic = 0x0100'5844'494c'4455ULL;  // "UDLIDX\0\1"
// 2: the filter. 3: table_bits moved from offset 64 to 16, off the line
// of the counters that the writer stores at every commit (readers polling
// for a key pulled that line back each time: propagation 1433-1523 ->
// 1343-1373 ns).
inline constexpr uint32_t kIndexVersion = 3;
inline constexpr size_t kIndexHeaderSize = 128;
inline constexpr size_t kTableBitsOffset = 16;
inline constexpr size_t kKeysOffset = 68;
inline constexpr size_t kNodesUsedOffset = 72;
inline constexpr size_t kCommittedOffset = 76;
inline constexpr size_t kProgressOffset = 80;
inline constexpr size_t kFilledBitsOffset = 88;
inline constexpr size_t kNodeSize = 16;
inline constexpr size_t kSlotSize = 16;  // A bucket.
inline constexpr uint32_t kNoEntry = 0xFFFFFFFF;
inline constexpr uint32_t kCompressedLocation = uint32_t{1} << 31;
inline constexpr uint64_t kSlotMultiplier = 0x9E3779B97F4A7C15ULL;

// Limits of a table's size.
inline constexpr uint32_t kMinSlotBits = 10;
inline constexpr uint32_t kMaxSlotBits = 30;
// The index has a node for every this many bytes of the record area (at
// least kMinNodes), a node per entry: a log whose entries are smaller on
// average fills its index before its records, and is compacted then. Entries of 16-byte keys
// and 100-byte values take 130 bytes.
inline constexpr size_t kRecordBytesPerNode = 128;
inline constexpr size_t kMinNodes = 1024;

// Bytes of the filter of an index whose first table has 2^first_bits
// buckets (first_bits >= kMinSlotBits: a multiple of 64).
inline constexpr size_t FilterBytes(uint32_t first_bits) {
  return size_t{1} << (first_bits - 2);
}
// The filter word of a key of this hash (XXH3-64), in a filter of
// filter_bytes, and the two bits it sets there. The bits come from the
// hash's top 12 bits, the word from the bits below them (the table's start
// comes from another mix of the hash).
inline size_t FilterWord(uint64_t hash, size_t filter_bytes) {
  return static_cast<size_t>(hash >> 12) & (filter_bytes / 8 - 1);
}
inline uint64_t FilterMask(uint64_t hash) {
  return uint64_t{1} << (hash >> 58) | uint64_t{1} << ((hash >> 52) & 63);
}
// The offset of node i in the index area.
inline constexpr size_t NodeOffset(uint32_t first_bits, size_t i) {
  return kIndexHeaderSize + FilterBytes(first_bits) + i * kNodeSize;
}

// Where the index area of a log with record_capacity bytes of records
// starts, from the start of the file.
inline constexpr size_t IndexOffset(size_t header_size,
                                    size_t record_capacity) {
  return (header_size + record_capacity + 4095) & ~size_t{4095};
}
// The offset of the table of 2^bits slots in the index area.
inline constexpr size_t TableOffset(uint32_t node_capacity,
                                    uint32_t first_bits, uint32_t bits) {
  return NodeOffset(first_bits, node_capacity) +
         kSlotSize * ((size_t{1} << bits) - (size_t{1} << first_bits));
}
// Bytes of an index area.
inline constexpr size_t IndexSize(uint32_t node_capacity, uint32_t first_bits,
                                  uint32_t max_bits) {
  return TableOffset(node_capacity, first_bits, max_bits + 1);
}

}  // namespace log
}  // namespace ultradict

#endif  // ULTRADICT_DB_LOG_INDEX_FORMAT_H_
