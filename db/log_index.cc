// log_index.cc: the shared log index: opening it, and reading (Find,
// ForEachLatest, progress). See log_index.h and log_index_format.h; the
// writer's side is in log_index_write.cc.

#include "db/log_index.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "db/log_format.h"
#include "db/log_reader.h"
#include "ultradict/options.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ultradict {

static_assert(sizeof(std::atomic<uint64_t>) == 8, "shared words are plain");
static_assert(sizeof(std::atomic<uint32_t>) == 4, "shared words are plain");

namespace {

uint32_t CeilLog2(uint64_t n) {
  uint32_t bits = 0;
  while ((uint64_t{1} << bits) < n) bits++;
  return bits;
}

// The entry `ordinal` of an encoded batch.
bool EntryInBatch(std::string_view batch, uint32_t ordinal,
                  WriteBatchInternal::Entry* entry) {
  uint32_t count;
  if (!GetVarint32(&batch, &count) || ordinal >= count) return false;
  for (uint32_t i = 0; i <= ordinal; i++) {
    if (!WriteBatchInternal::DecodeEntry(&batch, entry)) return false;
  }
  return true;
}

bool WithinLimits(const WriteBatchInternal::Entry& e) {
  return e.key.size() <= kMaxKeySize && e.value.size() <= kMaxValueSize;
}

}  // namespace

uint32_t LogIndex::EntryCheck(const Entry& e) {
  const char* end = e.deleted ? e.key.data() + e.key.size()
                              : e.value.data() + e.value.size();
  return Checksum32(e.start, static_cast<size_t>(end - e.start));
}

LogIndex::Shape LogIndex::ShapeFor(size_t record_capacity, size_t min_nodes,
                                   size_t expected_keys) {
  Shape shape;
  const size_t nodes = std::min<size_t>(
      std::max({log::kMinNodes, record_capacity / log::kRecordBytesPerNode,
                min_nodes}),
      size_t{1} << log::kMaxSlotBits);
  shape.node_capacity = static_cast<uint32_t>(nodes);
  shape.max_bits = std::clamp(CeilLog2(2 * uint64_t{nodes}), log::kMinSlotBits,
                              log::kMaxSlotBits);
  shape.first_bits =
      std::clamp(CeilLog2(2 * uint64_t{std::min(expected_keys, nodes)}),
                 log::kMinSlotBits, shape.max_bits);
  return shape;
}

void LogIndex::Format(char* area) {
  EncodeFixed64(area, log::kIndexMagic);
  EncodeFixed32(area + 8, log::kIndexVersion);
  // The rest is zero: table_bits 0 means the first table.
}

absl::Status LogIndex::Open(char* area, size_t area_size, const char* records,
                            uint32_t record_capacity, const Shape& shape,
                            std::string_view name) {
  name_ = std::string(name);
  area_file_offset_ = log::IndexOffset(log::kHeaderSize, record_capacity);
  if (shape.first_bits < log::kMinSlotBits ||
      shape.max_bits > log::kMaxSlotBits || shape.first_bits > shape.max_bits ||
      shape.node_capacity == 0 ||
      shape.node_capacity > (uint32_t{1} << log::kMaxSlotBits) ||
      area_size != log::IndexSize(shape.node_capacity, shape.first_bits,
                                  shape.max_bits)) {
    return absl::DataLossError(absl::StrCat(
        name_, ": index of ", shape.node_capacity, " nodes and tables of 2^",
        shape.first_bits, "..2^", shape.max_bits, " slots does not fit its ",
        area_size, " bytes at offset ", area_file_offset_));
  }
  if (DecodeFixed64(area) != log::kIndexMagic ||
      DecodeFixed32(area + 8) != log::kIndexVersion) {
    return absl::DataLossError(absl::StrCat(
        name_, ": bad index magic or version at offset ", area_file_offset_));
  }
  area_ = area;
  area_size_ = area_size;
  records_ = records;
  record_capacity_ = record_capacity;
  shape_ = shape;
  return absl::OkStatus();
}

uint32_t LogIndex::nodes_used() const {
  return Word32(log::kNodesUsedOffset).load(std::memory_order_acquire);
}

uint32_t LogIndex::keys() const {
  // Every key has a node: a damaged count is never larger than that (it
  // sizes allocations).
  return std::min({Word32(log::kKeysOffset).load(std::memory_order_relaxed),
                   nodes_used(), shape_.node_capacity});
}

uint32_t LogIndex::table_bits() const {
  uint32_t bits = 0;
  return CurrentBits(&bits) ? bits : 0;
}

bool LogIndex::CurrentBits(uint32_t* bits) const {
  const uint32_t b = Word32(log::kTableBitsOffset).load(std::memory_order_acquire);
  *bits = b == 0 ? shape_.first_bits : b;  // 0: the first table.
  return *bits >= shape_.first_bits && *bits <= shape_.max_bits;
}

void LogIndex::Progress(uint32_t* offset, uint32_t* records) const {
  const uint64_t p = Word64(log::kProgressOffset).load(std::memory_order_acquire);
  *offset = static_cast<uint32_t>(p >> 32);
  *records = static_cast<uint32_t>(p);
}

bool LogIndex::ReadNode(uint32_t i, Node* node) const {
  if (i >= shape_.node_capacity) return false;
  const size_t at = log::NodeOffset(shape_.first_bits, i);
  node->location = Word32(at).load(std::memory_order_relaxed);
  node->check = Word32(at + 4).load(std::memory_order_relaxed);
  node->prev = Word32(at + 8).load(std::memory_order_relaxed);
  node->bucket = Word32(at + 12).load(std::memory_order_relaxed);
  return true;
}

LogIndex::Version LogIndex::ReadBucket(size_t table, size_t i) const {
  Version v;
  // The entry (location and check, one word) first, then prev: prev is at
  // least as new as the entry (the writer stores it first), so a newer
  // prev still leads to this entry's older versions.
  const uint64_t entry = BucketEntry(table, i).load(std::memory_order_acquire);
  v.location = static_cast<uint32_t>(entry);
  v.check = static_cast<uint32_t>(entry >> 32);
  v.prev = BucketWord(table, i, 1).load(std::memory_order_acquire);
  return v;
}

bool LogIndex::Visible(uint32_t end, Version* v, bool* damaged) const {
  // No entry lies past the record area: such a location is damage, not a
  // version that a later head shows.
  if ((v->location & ~log::kCompressedLocation) >= record_capacity_) {
    *damaged = true;
    return false;
  }
  if ((v->location & ~log::kCompressedLocation) < end) return true;
  // Each step goes to an older node: a chain ends within prev steps.
  uint32_t ref = v->prev;
  while (ref != 0) {
    Node node;
    if (!ReadNode(ref - 1, &node) || node.location == log::kNoEntry ||
        (node.location & ~log::kCompressedLocation) >= record_capacity_ ||
        node.prev >= ref) {
      *damaged = true;
      return false;
    }
    if ((node.location & ~log::kCompressedLocation) < end) {
      *v = Version{node.location, node.check, node.prev};
      return true;
    }
    ref = node.prev;
  }
  return false;
}

bool LogIndex::DecodeAt(const Version& v, uint32_t end, std::string* scratch,
                        Entry* entry) const {
  end = std::min(end, record_capacity_);
  const uint32_t at = v.location & ~log::kCompressedLocation;
  if (at >= end) return false;
  if ((v.location & log::kCompressedLocation) == 0) {
    std::string_view bytes(records_ + at, end - at);
    return WriteBatchInternal::DecodeEntry(&bytes, entry) &&
           EntryCheck(*entry) == v.check && WithinLimits(*entry);
  }
  log::Record record;
  std::string_view batch;
  return log::ReadRecord(records_, end, at, name_, &record).ok() &&
         log::RecordBatch(record, scratch, &batch).ok() &&
         EntryInBatch(batch, v.check, entry) && WithinLimits(*entry);
}

bool LogIndex::EntryAt(uint32_t location, uint32_t check, uint32_t end,
                       Entry* entry) const {
  if ((location & log::kCompressedLocation) != 0) return false;
  Version v;
  v.location = location;
  v.check = check;
  return DecodeAt(v, end, nullptr, entry);
}

LogIndex::Found LogIndex::ReadVisible(uint32_t bits, size_t i, uint32_t end,
                                      std::string* scratch, Entry* entry,
                                      Version* version,
                                      uint32_t* damaged_at) const {
  const size_t table = TableAt(bits);
  // The writer may be changing the bucket: a version read in the middle
  // of that (a location with the check or prev of the next one) can decode
  // to the wrong entry, or to none. So the bucket is read again after the
  // entry is decoded, and all of it again when it changed meanwhile (a
  // writer changes a bucket at most once per commit).
  constexpr int kAttempts = 64;
  for (int attempt = 1;; attempt++) {
    Version v = ReadBucket(table, i);
    const Version newest = v;
    bool damaged = false;
    const bool visible = Visible(end, &v, &damaged);
    const bool decoded = visible && DecodeAt(v, end, scratch, entry);
    const Version again = ReadBucket(table, i);
    if ((again.location != newest.location || again.check != newest.check ||
         again.prev != newest.prev) &&
        attempt < kAttempts) {
      continue;
    }
    if (!visible && !damaged) return Found::kNo;  // All past `end`.
    if (!visible) {
      *damaged_at = static_cast<uint32_t>(BucketFileOffset(bits, i));
      return Found::kDamaged;
    }
    if (!decoded) {
      *damaged_at = static_cast<uint32_t>(
          log::kHeaderSize + (v.location & ~log::kCompressedLocation));
      return Found::kDamaged;
    }
    *version = v;
    return Found::kYes;
  }
}

LogIndex::Found LogIndex::Find(std::string_view key, uint64_t hash,
                               uint32_t end, std::string* scratch,
                               Entry* entry, uint32_t* damaged_at) const {
  // An empty log (as a compaction leaves it) has nothing to find: its
  // table, sized for the keys to come, is not probed (a cache miss).
  // Nor is it when the filter says that no entry of the key was added.
  if (end == 0 || !MayHold(hash)) return Found::kNo;
  uint32_t bits;
  if (!CurrentBits(&bits)) {
    *damaged_at = static_cast<uint32_t>(area_file_offset_ + log::kTableBitsOffset);
    return Found::kDamaged;
  }
  const uint32_t tag = Tag(hash);
  const size_t mask = (size_t{1} << bits) - 1;
  const size_t table = TableAt(bits);
  size_t i = Start(tag, bits);
  for (size_t probe = 0; probe <= mask; probe++, i = (i + 1) & mask) {
    const uint32_t t = BucketWord(table, i, 0).load(std::memory_order_acquire);
    if (t == 0) return Found::kNo;
    if (t != tag) continue;
    Version v;
    const Found found =
        ReadVisible(bits, i, end, scratch, entry, &v, damaged_at);
    if (found == Found::kDamaged) return found;
    if (found == Found::kYes) {
      if (entry->key == key) return Found::kYes;
      // Another key with the same tag, or a bucket or node whose location
      // was damaged into another key's entry (which would hide this key's
      // version and let an older one be returned).
      if (Tag(Hash64(entry->key)) != tag) {
        *damaged_at = static_cast<uint32_t>(BucketFileOffset(bits, i));
        return Found::kDamaged;
      }
    }
  }
  return Found::kNo;
}

LogIndex::Found LogIndex::ForEachLatest(
    uint32_t end, absl::FunctionRef<const std::string&(std::string&&)> keep,
    absl::FunctionRef<void(const Entry&)> fn, uint32_t* damaged_at) const {
  // An empty log (as a compaction leaves it) has nothing to list: its
  // table, sized for the keys to come, is not walked (nor its pages faulted
  // in).
  if (end == 0) return Found::kYes;
  uint32_t bits;
  if (!CurrentBits(&bits)) {
    *damaged_at = static_cast<uint32_t>(area_file_offset_ + log::kTableBitsOffset);
    return Found::kDamaged;
  }
  const size_t table = TableAt(bits);
  std::string scratch;
  auto visit = [&](size_t i) {
    Entry entry;
    Version v;
    const Found found =
        ReadVisible(bits, i, end, &scratch, &entry, &v, damaged_at);
    if (found != Found::kYes) return found;
    // The entry must be of the bucket's key (a damaged location could lead
    // to another key's entry, listed twice while this key is lost).
    if (Tag(Hash64(entry.key)) !=
        BucketWord(table, i, 0).load(std::memory_order_relaxed)) {
      *damaged_at = static_cast<uint32_t>(BucketFileOffset(bits, i));
      return Found::kDamaged;
    }
    if ((v.location & log::kCompressedLocation) != 0) {
      // The entry lies in the decompressed batch: keep that, and find the
      // entry again in the kept copy.
      const std::string& kept = keep(std::move(scratch));
      scratch.clear();
      if (!EntryInBatch(kept, v.check, &entry)) {
        *damaged_at = static_cast<uint32_t>(
            log::kHeaderSize + (v.location & ~log::kCompressedLocation));
        return Found::kDamaged;
      }
    }
    fn(entry);
    return Found::kYes;
  };
  return VisitBuckets(bits, end, visit) ? Found::kYes : Found::kDamaged;
}

bool LogIndex::VisitBuckets(uint32_t bits, uint32_t end,
                            absl::FunctionRef<Found(size_t)> visit) const {
  const size_t buckets = size_t{1} << bits;
  const size_t table = TableAt(bits);
  // The entries lie all over the log: a batch of them is loaded at once
  // (independent loads, whose cache and TLB misses overlap), then decoded.
  // Prefetching each one 16 buckets ahead of its decoding instead left an
  // iterator over 0.7 M changes 30% slower (fillrandom,overwrite,readseq:
  // 300-360 against 220-264 ns per entry; the prefetches did not hide the
  // misses, maybe dropped when they miss the TLB). Only committed bytes
  // (below `end`) are read.
  constexpr size_t kBatch = 32;
  const uint32_t committed = std::min(end, record_capacity_);
  size_t batch[kBatch];
  size_t n = 0;
  auto flush = [&]() {
    unsigned sink = 0;
    for (size_t k = 0; k < n; k++) {
      const uint32_t at =
          static_cast<uint32_t>(
              BucketEntry(table, batch[k]).load(std::memory_order_relaxed)) &
          ~log::kCompressedLocation;
      if (at < committed) {
        sink += *reinterpret_cast<const volatile unsigned char*>(records_ + at);
        __builtin_prefetch(records_ + at + 64);
        __builtin_prefetch(records_ + at + 128);
      }
    }
    (void)sink;
    for (size_t k = 0; k < n; k++) {
      if (visit(batch[k]) == Found::kDamaged) return false;
    }
    n = 0;
    return true;
  };
  for (size_t i = 0; i < buckets; i++) {
    if (BucketWord(table, i, 0).load(std::memory_order_acquire) == 0) continue;
    batch[n++] = i;
    if (n == kBatch && !flush()) return false;
  }
  return flush();
}

}  // namespace ultradict
