// log_index.h: the shared index of a log's records (format in
// log_index_format.h): a view over the index area of a mapped log segment.
//
// One writer (the holder of the dictionary's write lock) adds to it; any
// number of readers in any process look keys up at the same time without a
// lock, each seeing exactly the records below the head offset it loaded.
// Nothing is copied into a process: opening a generation maps it and
// checks the bounds of the index, and a lookup reads the mapped bytes.
//
// The bytes are shared memory that other processes write: every slot,
// node and entry read is bounds-checked, chains are followed only towards
// older nodes (so a damaged chain cannot loop), and an entry that does not
// decode is reported as damage with its offset, never guessed at.

#ifndef ULTRADICT_DB_LOG_INDEX_H_
#define ULTRADICT_DB_LOG_INDEX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "db/log_index_format.h"
#include "db/write_batch_internal.h"

namespace ultradict {

class LogIndex {
 public:
  using Entry = WriteBatchInternal::Entry;

  // The shape of an index, from its log's header.
  struct Shape {
    uint32_t node_capacity = 0;
    uint32_t first_bits = 0;
    uint32_t max_bits = 0;
  };
  // The shape of the index of a log with `record_capacity` bytes of
  // records, with room for at least `min_nodes` entries, whose first table
  // holds `expected_keys` keys without growing (growing moves every key).
  static Shape ShapeFor(size_t record_capacity, size_t min_nodes,
                        size_t expected_keys = 0);

  LogIndex() = default;
  LogIndex(const LogIndex&) = delete;
  LogIndex& operator=(const LogIndex&) = delete;

  // Views the index area [area, area + area_size) of the log named `name`
  // whose records are [records, records + record_capacity). DataLoss when
  // the area does not match the shape or its header is damaged. Offsets in
  // messages and in *damaged_at below are offsets in the log file.
  absl::Status Open(char* area, size_t area_size, const char* records,
                    uint32_t record_capacity, const Shape& shape,
                    std::string_view name);
  // Writes the header of a new, empty index (its pages are reserved and
  // zero); then Open.
  static void Format(char* area);

  // --- Reading (any process, no lock) ---
  enum class Found { kNo, kYes, kDamaged };
  // Key's newest entry among the records below `end` (a head offset):
  // kYes with *entry (a view into the log, or into *scratch for a
  // compressed record), kNo, or kDamaged with *damaged_at (the record
  // area offset of what does not decode). hash == Hash64(key).
  Found Find(std::string_view key, uint64_t hash, uint32_t end,
             std::string* scratch, Entry* entry, uint32_t* damaged_at) const;
  // Calls fn(entry) with each key's newest entry below `end`, in no order;
  // entries of compressed records are views into decompressed batches that
  // `keep` takes over and returns, stored where they stay while the
  // entries are used. kDamaged as Find (kYes otherwise).
  Found ForEachLatest(
      uint32_t end, absl::FunctionRef<const std::string&(std::string&&)> keep,
      absl::FunctionRef<void(const Entry&)> fn, uint32_t* damaged_at) const;
  // Decodes the uncompressed entry at record-area offset `location` below
  // `end` whose check (EntryCheck) is `check`, as a bucket or node holding
  // them leads to (a sorted run, log_run.h, holds such pairs): false when
  // it does not decode, does not match, or is of a compressed record.
  bool EntryAt(uint32_t location, uint32_t check, uint32_t end,
               Entry* entry) const;
  // False when no entry of a key of this hash was added (the filter);
  // true when one may have been.
  bool MayHold(uint64_t hash) const {
    const uint64_t mask = log::FilterMask(hash);
    return (FilterWordOf(hash).load(std::memory_order_relaxed) & mask) == mask;
  }
  // Hints that key (of this hash) is about to be looked up or added.
  void Prefetch(uint64_t hash) const {
    uint32_t bits;
    if (area_ != nullptr && CurrentBits(&bits)) {
      __builtin_prefetch(area_ + TableAt(bits) +
                         Start(Tag(hash), bits) * log::kSlotSize);
    }
  }
  // Keys in the index (written by the writer; approximate for others).
  uint32_t keys() const;
  // Committed records: *offset (a head offset) and how many lie below it.
  void Progress(uint32_t* offset, uint32_t* records) const;

  // --- Writing (the write lock held) ---
  // Whether `n` more entries fit the nodes and the current table as they
  // are (MakeRoom's usual case, without its growing).
  bool HasRoom(size_t n) const;
  // Makes room for `n` more entries: grows the table when it would pass
  // half full (reserving its pages first with reserve(offset, length), in
  // bytes of the index area). *fits false when the index is full (then the
  // log must be compacted). Errors are reserve's.
  absl::Status MakeRoom(
      size_t n, absl::FunctionRef<absl::Status(size_t, size_t)> reserve,
      bool* fits);
  // Bytes of the index area that the nodes written so far, plus `more`,
  // take (the writer reserves them before it adds nodes).
  size_t NodeBytesFor(size_t more) const;
  // The node's check of an uncompressed entry (see the node format).
  static uint32_t EntryCheck(const Entry& e);
  // What a key's newest entry in the log was before Add: none (the key's
  // state is the snapshot's), a put or a delete.
  enum class Prior { kNone, kPut, kDelete };
  // Adds the entry of key at `location` (see the node format; `check` is
  // EntryCheck of the entry, or its ordinal in a compressed record) as
  // key's newest, and says in *prior (if not null) what it replaced. The
  // entries of records below `end` (the end of the record being added)
  // may be decoded to find key's slot. MakeRoom must have made room.
  // DataLoss on damage.
  absl::Status Add(std::string_view key, uint64_t hash, uint32_t location,
                   uint32_t check, uint32_t end, std::string* scratch,
                   Prior* prior = nullptr);
  // After the head moved to `offset`, the `records` below it.
  void Publish(uint32_t offset, uint32_t records);
  // Whether a writer died adding to the index (nodes past head offset
  // `end`) or before recording the progress of its published record.
  bool NeedsRepair(uint32_t end) const;
  // After a writer died: undoes what the nodes past `committed` did to
  // buckets that hold an entry at or past `head_offset` (written, never
  // published); the nodes stay used. True when it undid something.
  bool Repair(uint32_t head_offset);

  uint32_t node_capacity() const { return shape_.node_capacity; }
  // Bytes of the index in use: the header, the nodes written and the
  // current table (older tables are not counted).
  size_t BytesInUse() const {
    return NodeBytesFor(0) + (log::kSlotSize << table_bits());
  }
  uint32_t nodes_used() const;
  uint32_t table_bits() const;

 private:
  static uint32_t Tag(uint64_t hash) {
    const uint32_t tag = static_cast<uint32_t>(hash ^ (hash >> 32));
    return tag == 0 ? 1 : tag;  // 0 marks an empty bucket.
  }
  static size_t Start(uint32_t tag, uint32_t bits) {
    return static_cast<size_t>((tag * log::kSlotMultiplier) >> (64 - bits));
  }
  std::atomic<uint32_t>& Word32(size_t offset) const {
    return *reinterpret_cast<std::atomic<uint32_t>*>(area_ + offset);
  }
  std::atomic<uint64_t>& Word64(size_t offset) const {
    return *reinterpret_cast<std::atomic<uint64_t>*>(area_ + offset);
  }
  // The filter's word for a key of this hash.
  std::atomic<uint64_t>& FilterWordOf(uint64_t hash) const {
    const size_t bytes = log::FilterBytes(shape_.first_bits);
    return Word64(log::kIndexHeaderSize + 8 * log::FilterWord(hash, bytes));
  }
  // Offset in the area of the table of 2^bits buckets.
  size_t TableAt(uint32_t bits) const {
    return log::TableOffset(shape_.node_capacity, shape_.first_bits, bits);
  }
  // Word `field` (0 tag, 1 prev) of bucket i of the table at `table`.
  std::atomic<uint32_t>& BucketWord(size_t table, size_t i, int field) const {
    return Word32(table + i * log::kSlotSize + 4 * field);
  }
  // The location and check of bucket i, one 64-bit word (location in its
  // low half): a reader never sees one without the other.
  std::atomic<uint64_t>& BucketEntry(size_t table, size_t i) const {
    return Word64(table + i * log::kSlotSize + 8);
  }
  static uint64_t PackEntry(uint32_t location, uint32_t check) {
    return uint64_t{check} << 32 | location;
  }
  // An entry's place: a bucket's fields, or a node's.
  struct Version {
    uint32_t location = 0, check = 0, prev = 0;
  };
  struct Node {
    uint32_t location, check, prev, bucket;
  };
  // Node i (0-based); false when i is past the capacity.
  bool ReadNode(uint32_t i, Node* node) const;
  // The table bits to read: the published ones, checked.
  bool CurrentBits(uint32_t* bits) const;
  // Reads bucket i's newest version (location first, see the format).
  Version ReadBucket(size_t table, size_t i) const;
  // Decodes the entry of version v within the records below `end`.
  bool DecodeAt(const Version& v, uint32_t end, std::string* scratch,
                Entry* entry) const;
  // From version `v` (a bucket's) back along its chain, the newest below
  // `end`: *v and true, or false when every one is at or past it.
  // *damaged when the chain is not well formed.
  bool Visible(uint32_t end, Version* v, bool* damaged) const;
  // Bucket i's newest version below `end` (of the table of `bits`),
  // decoded into *entry (*version: where it lies), read again when the
  // writer changed the bucket meanwhile: kYes, kNo (none below `end`) or
  // kDamaged.
  Found ReadVisible(uint32_t bits, size_t i, uint32_t end,
                    std::string* scratch, Entry* entry, Version* version,
                    uint32_t* damaged_at) const;
  // Calls visit(i) for each bucket i of the table of `bits` that holds a
  // key, in order, loading the entries of a batch of them at once first
  // (committed ones: below `end`). False as soon as visit says kDamaged.
  bool VisitBuckets(uint32_t bits, uint32_t end,
                    absl::FunctionRef<Found(size_t)> visit) const;
  // Writes a node and returns its reference (1 + its number).
  uint32_t AppendNode(const Node& node);
  // Fills the table of `bits` from the current one and publishes it.
  void GrowTo(uint32_t bits);
  // The file offset of bucket i of the table of `bits`, for messages.
  size_t BucketFileOffset(uint32_t bits, size_t i) const {
    return area_file_offset_ + TableAt(bits) + i * log::kSlotSize;
  }

  std::string name_;  // Of the log segment, for messages.
  size_t area_file_offset_ = 0;
  char* area_ = nullptr;
  size_t area_size_ = 0;
  const char* records_ = nullptr;
  uint32_t record_capacity_ = 0;
  Shape shape_;
};

}  // namespace ultradict

#endif  // ULTRADICT_DB_LOG_INDEX_H_
