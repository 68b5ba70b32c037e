// snapshot_reader.h: reads a snapshot segment in place (zero copy). Every
// offset and length taken from the segment is bounds-checked and each entry
// is checked against its checksum when read: damage gives DataLoss naming
// the segment and offset, never a crash, overread or endless probe.

#ifndef ULTRADICT_DB_SNAPSHOT_READER_H_
#define ULTRADICT_DB_SNAPSHOT_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "db/snapshot_format.h"
#include "util/coding.h"

namespace ultradict {
namespace snapshot {

struct Entry {
  std::string_view key;
  std::string_view value;  // As stored: a zstd frame when compressed.
  bool compressed = false;
  std::string_view raw;    // The whole encoded entry, checksum first.
};

class Reader {
 public:
  Reader() = default;

  // Checks the header of the segment [data, data + size). The bytes must
  // stay mapped while the reader is used. `name` is used in messages.
  absl::Status Open(const char* data, size_t size, std::string name);

  uint64_t count() const { return count_; }
  uint64_t generation() const { return generation_; }
  size_t size() const { return size_; }
  size_t data_size() const { return data_size_; }

  // The entry of `key`: OK, NotFound, or DataLoss.
  // Without `verify` the entry's checksum is not checked (bounds still
  // are): enough to learn whether the key exists.
  absl::Status Find(std::string_view key, Entry* entry,
                    bool verify = true) const;
  // The same, given hash == Hash64(key) (a caller that has it saves
  // hashing the key again).
  absl::Status Find(std::string_view key, uint64_t hash, Entry* entry,
                    bool verify = true) const;

  // False when the snapshot holds no key of this hash (the filter); true
  // when it may. An unopened reader holds nothing.
  bool MayHold(uint64_t hash) const {
    if (filter_bytes_ == 0) return false;
    const uint64_t mask = FilterMask(hash);
    const char* word = filter_ + 8 * FilterWord(hash, filter_bytes_);
    return (DecodeFixed64(word) & mask) == mask;
  }

  // Starts loading the index slot where Find(key) begins, given
  // hash == Hash64(key) (a hint, no effect on results): a writer issues it
  // before it takes the write lock.
  void Prefetch(uint64_t hash) const;

  // The i-th entry in key order (i < count()). Without `verify`, the
  // entry's checksum is not checked (bounds still are): for copying it
  // whole into a new snapshot, where its checksum goes along.
  absl::Status EntryAt(uint64_t i, Entry* entry, bool verify = true) const;

  // Index of the first entry with key >= target (count() when none).
  absl::Status LowerBound(std::string_view target, uint64_t* i) const;

  // Checks the checksum of the whole body (O(size)).
  absl::Status VerifyBody() const;

  const std::string& name() const { return name_; }
  // Offset in the segment of the entries' offsets (8 bytes each, in
  // entry order).
  uint64_t offsets_offset() const {
    return static_cast<uint64_t>(offsets_ - data_);
  }

 private:
  absl::Status ParseEntryAt(uint64_t offset, Entry* entry,
                            bool verify = true) const;

  const char* data_ = nullptr;
  size_t size_ = 0;
  std::string name_;
  uint64_t generation_ = 0;
  uint64_t count_ = 0;
  uint64_t data_size_ = 0;
  const char* entries_ = nullptr;
  const char* offsets_ = nullptr;
  const char* index_ = nullptr;
  uint64_t slots_ = 0;
  const char* filter_ = nullptr;
  uint64_t filter_bytes_ = 0;
  uint32_t body_checksum_ = 0;
};

// What precedes an entry's key: its checksum, two varint lengths and the
// flags byte.
struct EntryHead {
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint8_t flags = 0;
  uint32_t size = 0;  // Bytes of the head itself.
  // Bytes of the whole entry, head included.
  uint64_t entry_size() const { return uint64_t{size} + key_size + value_size; }
};

// Decodes the head of the entry at `start`, whose bytes end by `limit`, at
// `file_offset` in the segment `name` (for messages). DataLoss when the
// head does not fit before limit. Whether the key and value fit is left to
// ParseEntryBody, so a caller holding only the head's bytes learns the
// entry's size first (snapshot::Scanner).
absl::Status ParseEntryHead(const char* start, const char* limit,
                            std::string_view name, uint64_t file_offset,
                            EntryHead* head);

// Completes the entry at `start` whose head ParseEntryHead decoded: its key
// and value must end by `limit`; its checksum is checked when `verify`.
// DataLoss on damage.
absl::Status ParseEntryBody(const char* start, const char* limit,
                            const EntryHead& head, bool verify,
                            std::string_view name, uint64_t file_offset,
                            Entry* entry);

// ParseEntryHead then ParseEntryBody: the entry at `start`, whose bytes end
// by `limit` (the end of the data area, or of what of it is at hand).
absl::Status ParseEntry(const char* start, const char* limit, bool verify,
                        std::string_view name, uint64_t file_offset,
                        Entry* entry);

// Plain value bytes of an entry (decompressed into *scratch when needed).
absl::Status EntryValue(const Entry& entry, std::string* scratch,
                        std::string_view* value);

}  // namespace snapshot
}  // namespace ultradict

#endif  // ULTRADICT_DB_SNAPSHOT_READER_H_
