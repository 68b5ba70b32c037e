// snapshot_format.h: layout of a snapshot segment (ud.N.<gen>.snap), the
// complete, immutable state of a dictionary at the start of a generation.
// Frozen; the grammar with an example is in doc/design.md ("Snapshot").
//
//   header (128 bytes, fixed64 unless said):
//     0 magic kSnapshotMagic ("UDSNAP\0\1")   8 version fixed32
//    12 header_size fixed32 (128)            16 generation
//    24 entry_count                          32 data_offset (= 128)
//    40 data_size                            48 offsets_offset (8-aligned)
//    56 index_offset (8-aligned)             64 index_slots (power of two)
//    72 file_size                            80 flags fixed32
//    84 body_checksum fixed32: XXH3 low 32 of [data_offset, file_size)
//    88 filter_offset (8-aligned)            96 filter_bytes (power of 2, >= 8)
//   120 header_checksum fixed32: XXH3 low 32 of [0, 120)
//   data: entries in bytewise key order, back to back:
//     checksum fixed32 (XXH3 low 32 of the rest of the entry)
//     key_length varint32, value_length varint32, flags uint8
//     (kEntryCompressed: value is a zstd frame), key, value
//   offsets: entry_count x fixed64, offset of each entry from data_offset
//   index: index_slots x fixed64, open addressing, linear probing, load
//     <= 1/2: 0 = empty, else ((hash >> 32) | 1) << 32 | entry offset (from
//     data_offset), where hash is XXH3-64 of the key and the home slot is
//     hash & (slots - 1). One probe leads straight to the entry; data_size
//     is therefore below 4 GiB.
//   filter (version 2): filter_bytes / 8 x fixed64, a bit set of the keys:
//     each sets two bits of one word (FilterWord, FilterMask), so that a
//     lookup of a key the snapshot does not hold mostly reads one word of a
//     byte per key (in cache) instead of a slot of the index (a cache and
//     TLB miss). Its bytes are power of two >= entry_count.

#ifndef ULTRADICT_DB_SNAPSHOT_FORMAT_H_
#define ULTRADICT_DB_SNAPSHOT_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace ultradict {
namespace snapshot {

inline constexpr uint64_t kSnapshotMagic = 0x0100'5041'4e53'4455ULL;  // UDSNAP\0\1
inline constexpr uint32_t kSnapshotVersion = 2;  // 2: the filter.
inline constexpr size_t kHeaderSize = 128;
inline constexpr size_t kHeaderChecksumOffset = 120;
inline constexpr size_t kV1HeaderChecksumOffset = 88;  // Only to name v1.
inline constexpr uint8_t kEntryCompressed = 1;
inline constexpr uint32_t kFlagCompression = 1;  // Values may be compressed.
inline constexpr uint64_t kMaxDataSize = (uint64_t{1} << 32) - 1;

// The filter word of a key of this hash (XXH3-64) in a filter of
// filter_bytes, and the two bits it sets there (other bits of the hash than
// the log index's filter takes: log_index_format.h).
inline size_t FilterWord(uint64_t hash, size_t filter_bytes) {
  return static_cast<size_t>(hash >> 8) & (filter_bytes / 8 - 1);
}
inline uint64_t FilterMask(uint64_t hash) {
  return uint64_t{1} << ((hash >> 40) & 63) | uint64_t{1}
                                                  << ((hash >> 46) & 63);
}
// Bytes of the filter of a snapshot of `count` entries.
inline size_t FilterBytesFor(uint64_t count) {
  size_t bytes = 8;
  while (bytes < count) bytes <<= 1;
  return bytes;
}

// The index slot of an entry at `offset` whose key hashes to `hash`.
inline uint64_t IndexSlot(uint64_t hash, uint64_t offset) {
  return ((hash >> 32) | 1) << 32 | offset;
}

}  // namespace snapshot
}  // namespace ultradict

#endif  // ULTRADICT_DB_SNAPSHOT_FORMAT_H_
