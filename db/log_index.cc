// log_index.cc: see log_index.h and log_index_format.h.

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

LogIndex::Shape LogIndex::ShapeFor(size_t record_capacity, size_t min_nodes) {
  Shape shape;
  const size_t nodes = std::min<size_t>(
      std::max({log::kMinNodes, record_capacity / log::kRecordBytesPerNode,
                min_nodes}),
      size_t{1} << log::kMaxSlotBits);
  shape.node_capacity = static_cast<uint32_t>(nodes);
  shape.first_bits = log::kMinSlotBits;
  shape.max_bits = std::clamp(CeilLog2(2 * uint64_t{nodes}), log::kMinSlotBits,
                              log::kMaxSlotBits);
  return shape;
}

void LogIndex::Format(char* area) {
  EncodeFixed64(area, log::kIndexMagic);
  EncodeFixed32(area + 8, log::kIndexVersion);
  // table_bits is set by Open's caller through Publish of an empty table:
  // zero means "the first table".
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
  return Word32(log::kKeysOffset).load(std::memory_order_relaxed);
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
  const size_t at = log::kIndexHeaderSize + size_t{i} * log::kNodeSize;
  node->location = Word32(at).load(std::memory_order_relaxed);
  node->prev = Word32(at + 4).load(std::memory_order_relaxed);
  node->hash = Word32(at + 8).load(std::memory_order_relaxed);
  node->check = Word32(at + 12).load(std::memory_order_relaxed);
  return true;
}

bool LogIndex::Visible(uint32_t ref, uint32_t end, Node* node,
                       bool* damaged) const {
  // Each step goes to an older node: a chain ends within ref steps.
  const uint32_t tag = node->hash;
  while (ref != 0) {
    if (!ReadNode(ref - 1, node) || node->hash != tag) {
      *damaged = true;
      return false;
    }
    if ((node->location & ~log::kCompressedLocation) < end) return true;
    if (node->prev >= ref) {
      *damaged = true;
      return false;
    }
    ref = node->prev;
  }
  return false;
}

bool LogIndex::DecodeAt(const Node& n, uint32_t end, std::string* scratch,
                        Entry* entry) const {
  end = std::min(end, record_capacity_);
  const uint32_t at = n.location & ~log::kCompressedLocation;
  if (at >= end) return false;
  if ((n.location & log::kCompressedLocation) == 0) {
    std::string_view bytes(records_ + at, end - at);
    return WriteBatchInternal::DecodeEntry(&bytes, entry) &&
           EntryCheck(*entry) == n.check && WithinLimits(*entry);
  }
  log::Record record;
  std::string_view batch;
  return log::ReadRecord(records_, end, at, name_, &record).ok() &&
         log::RecordBatch(record, scratch, &batch).ok() &&
         EntryInBatch(batch, n.check, entry) && WithinLimits(*entry);
}

LogIndex::Found LogIndex::Find(std::string_view key, uint64_t hash,
                               uint32_t end, std::string* scratch,
                               Entry* entry, uint32_t* damaged_at) const {
  uint32_t bits;
  if (!CurrentBits(&bits)) {
    *damaged_at = static_cast<uint32_t>(area_file_offset_ + log::kTableBitsOffset);
    return Found::kDamaged;
  }
  const uint32_t tag = Tag(hash);
  const size_t mask = (size_t{1} << bits) - 1;
  const std::atomic<uint64_t>* table = Table(bits);
  size_t i = Start(tag, bits);
  for (size_t probe = 0; probe <= mask; probe++, i = (i + 1) & mask) {
    const uint64_t slot = table[i].load(std::memory_order_acquire);
    if (slot == 0) return Found::kNo;
    if (static_cast<uint32_t>(slot >> 32) != tag) continue;
    Node node;
    node.hash = tag;
    bool damaged = false;
    if (!Visible(static_cast<uint32_t>(slot), end, &node, &damaged)) {
      if (!damaged) continue;  // Every entry of that key is past `end`.
      *damaged_at = static_cast<uint32_t>(
          area_file_offset_ +
          log::TableOffset(shape_.node_capacity, shape_.first_bits, bits) +
          i * log::kSlotSize);
      return Found::kDamaged;
    }
    if (!DecodeAt(node, end, scratch, entry)) {
      *damaged_at = static_cast<uint32_t>(
          log::kHeaderSize + (node.location & ~log::kCompressedLocation));
      return Found::kDamaged;
    }
    if (entry->key == key) return Found::kYes;
    // Another key with the same tag: go on probing.
  }
  return Found::kNo;
}

LogIndex::Found LogIndex::ForEachLatest(
    uint32_t end, absl::FunctionRef<const std::string&(std::string&&)> keep,
    absl::FunctionRef<void(const Entry&)> fn, uint32_t* damaged_at) const {
  uint32_t bits;
  if (!CurrentBits(&bits)) {
    *damaged_at = static_cast<uint32_t>(area_file_offset_ + log::kTableBitsOffset);
    return Found::kDamaged;
  }
  const size_t slots = size_t{1} << bits;
  const std::atomic<uint64_t>* table = Table(bits);
  std::string scratch;
  for (size_t i = 0; i < slots; i++) {
    const uint64_t slot = table[i].load(std::memory_order_acquire);
    if (slot == 0) continue;
    Node node;
    node.hash = static_cast<uint32_t>(slot >> 32);
    bool damaged = false;
    Entry entry;
    bool ok = Visible(static_cast<uint32_t>(slot), end, &node, &damaged);
    if (!ok && !damaged) continue;
    if (ok && (node.location & log::kCompressedLocation) != 0) {
      // Decompressed into a buffer that outlives the call.
      std::string_view batch;
      log::Record record;
      const uint32_t at = node.location & ~log::kCompressedLocation;
      ok = at < std::min(end, record_capacity_) &&
           log::ReadRecord(records_, std::min(end, record_capacity_), at,
                           name_, &record)
               .ok() &&
           log::RecordBatch(record, &scratch, &batch).ok();
      if (ok) {
        const std::string& kept = keep(std::move(scratch));
        scratch.clear();
        ok = EntryInBatch(kept, node.check, &entry) && WithinLimits(entry);
      }
    } else if (ok) {
      ok = DecodeAt(node, end, &scratch, &entry);
    }
    if (!ok) {
      *damaged_at = static_cast<uint32_t>(
          damaged ? area_file_offset_ +
                        log::TableOffset(shape_.node_capacity,
                                         shape_.first_bits, bits) +
                        i * log::kSlotSize
                  : log::kHeaderSize +
                        (node.location & ~log::kCompressedLocation));
      return Found::kDamaged;
    }
    fn(entry);
  }
  return Found::kYes;
}

size_t LogIndex::NodeBytesFor(size_t more) const {
  const size_t nodes =
      std::min<size_t>(nodes_used() + more, shape_.node_capacity);
  return log::kIndexHeaderSize + nodes * log::kNodeSize;
}

absl::Status LogIndex::MakeRoom(
    size_t n, absl::FunctionRef<absl::Status(size_t, size_t)> reserve,
    bool* fits) {
  *fits = false;
  if (n > shape_.node_capacity - std::min(nodes_used(), shape_.node_capacity)) {
    return absl::OkStatus();
  }
  uint32_t bits;
  if (!CurrentBits(&bits)) {
    return absl::DataLossError(absl::StrCat(name_, ": bad index table size at offset ",
                                            area_file_offset_ + log::kTableBitsOffset));
  }
  const uint64_t keys = this->keys();
  uint32_t wanted = bits;
  while (keys + n > (uint64_t{1} << wanted) / 2) {
    if (wanted == shape_.max_bits) return absl::OkStatus();
    wanted++;
  }
  if (wanted != bits) {
    absl::Status s =
        reserve(log::TableOffset(shape_.node_capacity, shape_.first_bits, wanted),
                log::kSlotSize << wanted);
    if (!s.ok()) return s;
    GrowTo(wanted);
  }
  *fits = true;
  return absl::OkStatus();
}

void LogIndex::GrowTo(uint32_t bits) {
  uint32_t old_bits;
  CurrentBits(&old_bits);
  std::atomic<uint64_t>* table = Table(bits);
  const size_t mask = (size_t{1} << bits) - 1;
  // A writer that died growing may have left part of a table here; no
  // reader has seen it (it was never published).
  std::memset(static_cast<void*>(table), 0, log::kSlotSize << bits);
  const std::atomic<uint64_t>* old = Table(old_bits);
  const size_t old_slots = size_t{1} << old_bits;
  for (size_t i = 0; i < old_slots; i++) {
    const uint64_t slot = old[i].load(std::memory_order_relaxed);
    if (slot == 0) continue;
    size_t j = Start(static_cast<uint32_t>(slot >> 32), bits);
    while (table[j].load(std::memory_order_relaxed) != 0) j = (j + 1) & mask;
    table[j].store(slot, std::memory_order_relaxed);
  }
  Word32(log::kTableBitsOffset).store(bits, std::memory_order_release);
}

uint32_t LogIndex::AppendNode(const Node& node) {
  const uint32_t i = Word32(log::kNodesUsedOffset).load(std::memory_order_relaxed);
  const size_t at = log::kIndexHeaderSize + size_t{i} * log::kNodeSize;
  Word32(at).store(node.location, std::memory_order_relaxed);
  Word32(at + 4).store(node.prev, std::memory_order_relaxed);
  Word32(at + 8).store(node.hash, std::memory_order_relaxed);
  Word32(at + 12).store(node.check, std::memory_order_relaxed);
  Word32(log::kNodesUsedOffset).store(i + 1, std::memory_order_release);
  return i + 1;
}

absl::Status LogIndex::Add(std::string_view key, uint64_t hash,
                           uint32_t location, uint32_t check, uint32_t end,
                           std::string* scratch) {
  uint32_t bits;
  const uint32_t used = nodes_used();
  if (!CurrentBits(&bits) || used >= shape_.node_capacity) {
    return absl::DataLossError(absl::StrCat(
        name_, ": index full or damaged at offset ", area_file_offset_));
  }
  const uint32_t tag = Tag(hash);
  const size_t mask = (size_t{1} << bits) - 1;
  std::atomic<uint64_t>* table = Table(bits);
  size_t i = Start(tag, bits);
  for (size_t probe = 0; probe <= mask; probe++, i = (i + 1) & mask) {
    const uint64_t slot = table[i].load(std::memory_order_relaxed);
    uint32_t prev = 0;
    if (slot != 0) {
      if (static_cast<uint32_t>(slot >> 32) != tag) continue;
      // The key's newest node, of a record below `end`: is it this key?
      Node newest;
      Entry entry;
      const uint32_t ref = static_cast<uint32_t>(slot);
      if (ref == 0 || ref > used || !ReadNode(ref - 1, &newest) ||
          !DecodeAt(newest, end, scratch, &entry)) {
        return absl::DataLossError(absl::StrCat(
            name_, ": index slot at offset ",
            area_file_offset_ +
                log::TableOffset(shape_.node_capacity, shape_.first_bits, bits) +
                i * log::kSlotSize,
            " points to an entry that does not decode"));
      }
      if (entry.key != key) continue;
      prev = ref;
    }
    const uint32_t ref = AppendNode(Node{location, prev, tag, check});
    table[i].store(uint64_t{tag} << 32 | ref, std::memory_order_release);
    if (prev == 0) {
      Word32(log::kKeysOffset).store(keys() + 1, std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }
  return absl::DataLossError(absl::StrCat(name_, ": index table full"));
}

void LogIndex::Publish(uint32_t offset, uint32_t records) {
  Word64(log::kProgressOffset)
      .store(uint64_t{offset} << 32 | records, std::memory_order_release);
}

bool LogIndex::NeedsRepair(uint32_t end) const {
  uint32_t offset, records;
  Progress(&offset, &records);
  if (offset != end) return true;
  const uint32_t used = std::min(nodes_used(), shape_.node_capacity);
  Node last;
  return used != 0 && ReadNode(used - 1, &last) &&
         (last.location & ~log::kCompressedLocation) >= end;
}

bool LogIndex::Repair(uint32_t head_offset) {
  uint32_t bits;
  if (!CurrentBits(&bits)) return false;
  const size_t mask = (size_t{1} << bits) - 1;
  std::atomic<uint64_t>* table = Table(bits);
  bool undid = false;
  // Newest first, so that each slot goes back to what it held before.
  for (uint32_t i = std::min(nodes_used(), shape_.node_capacity); i-- > 0;) {
    Node node;
    ReadNode(i, &node);
    if ((node.location & ~log::kCompressedLocation) < head_offset) break;
    const uint64_t points_here = uint64_t{node.hash} << 32 | (i + 1);
    size_t j = Start(node.hash, bits);
    for (size_t probe = 0; probe <= mask; probe++, j = (j + 1) & mask) {
      const uint64_t slot = table[j].load(std::memory_order_relaxed);
      if (slot == 0) break;
      if (slot != points_here) continue;
      if (node.prev != 0 && node.prev <= i) {
        table[j].store(uint64_t{node.hash} << 32 | node.prev,
                       std::memory_order_release);
      } else {
        table[j].store(0, std::memory_order_release);
        const uint32_t k = keys();
        Word32(log::kKeysOffset).store(k == 0 ? 0 : k - 1,
                                       std::memory_order_relaxed);
      }
      undid = true;
      break;
    }
  }
  return undid;
}

}  // namespace ultradict
