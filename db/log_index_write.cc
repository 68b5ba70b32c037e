// log_index_write.cc: the writer's side of the shared log index (the
// holder of the write lock): making room and growing the table, adding
// entries, recording progress, repairing after a writer that died. See
// log_index.h and log_index_format.h; reading is in log_index.cc.

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "db/log_index.h"

namespace ultradict {

size_t LogIndex::NodeBytesFor(size_t more) const {
  const size_t nodes =
      std::min<size_t>(nodes_used() + more, shape_.node_capacity);
  return log::NodeOffset(shape_.first_bits, nodes);
}

bool LogIndex::HasRoom(size_t n) const {
  uint32_t bits;
  return CurrentBits(&bits) &&
         n <= shape_.node_capacity -
                  std::min(nodes_used(), shape_.node_capacity) &&
         keys() + n <= (uint64_t{1} << bits) / 2;
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
    return absl::DataLossError(absl::StrCat(
        name_, ": bad index table size at offset ",
        area_file_offset_ + log::kTableBitsOffset));
  }
  const uint64_t keys = this->keys();
  uint32_t wanted = bits;
  while (keys + n > (uint64_t{1} << wanted) / 2) {
    if (wanted == shape_.max_bits) return absl::OkStatus();
    wanted++;
  }
  if (wanted != bits) {
    absl::Status s = reserve(TableAt(wanted), log::kSlotSize << wanted);
    if (!s.ok()) return s;
    GrowTo(wanted);
  }
  *fits = true;
  return absl::OkStatus();
}

void LogIndex::GrowTo(uint32_t bits) {
  uint32_t old_bits;
  CurrentBits(&old_bits);
  const size_t table = TableAt(bits);
  const size_t mask = (size_t{1} << bits) - 1;
  // A writer that died growing may have left part of a table here (no
  // reader has seen it: it was never published); otherwise its pages are
  // as reserved, zero, and stay untouched until filled.
  std::atomic<uint32_t>& filled = Word32(log::kFilledBitsOffset);
  if (filled.load(std::memory_order_relaxed) >= bits) {
    std::memset(area_ + table, 0, log::kSlotSize << bits);
  }
  filled.store(bits, std::memory_order_relaxed);
  const size_t old = TableAt(old_bits);
  const size_t old_buckets = size_t{1} << old_bits;
  for (size_t i = 0; i < old_buckets; i++) {
    const uint32_t tag = BucketWord(old, i, 0).load(std::memory_order_relaxed);
    if (tag == 0) continue;
    size_t j = Start(tag, bits);
    while (BucketWord(table, j, 0).load(std::memory_order_relaxed) != 0) {
      j = (j + 1) & mask;
    }
    for (int field = 0; field < 2; field++) {
      BucketWord(table, j, field)
          .store(BucketWord(old, i, field).load(std::memory_order_relaxed),
                 std::memory_order_relaxed);
    }
    BucketEntry(table, j)
        .store(BucketEntry(old, i).load(std::memory_order_relaxed),
               std::memory_order_relaxed);
  }
  Word32(log::kTableBitsOffset).store(bits, std::memory_order_release);
}

uint32_t LogIndex::AppendNode(const Node& node) {
  const uint32_t i = Word32(log::kNodesUsedOffset).load(std::memory_order_relaxed);
  const size_t at = log::NodeOffset(shape_.first_bits, i);
  Word32(at).store(node.location, std::memory_order_relaxed);
  Word32(at + 4).store(node.check, std::memory_order_relaxed);
  Word32(at + 8).store(node.prev, std::memory_order_relaxed);
  Word32(at + 12).store(node.bucket, std::memory_order_relaxed);
  Word32(log::kNodesUsedOffset).store(i + 1, std::memory_order_release);
  return i + 1;
}

absl::Status LogIndex::Add(std::string_view key, uint64_t hash,
                           uint32_t location, uint32_t check, uint32_t end,
                           std::string* scratch, Prior* prior) {
  uint32_t bits;
  if (!CurrentBits(&bits) || nodes_used() >= shape_.node_capacity) {
    return absl::DataLossError(absl::StrCat(
        name_, ": index full or damaged at offset ", area_file_offset_));
  }
  const uint32_t tag = Tag(hash);
  const size_t mask = (size_t{1} << bits) - 1;
  const size_t table = TableAt(bits);
  size_t i = Start(tag, bits);
  for (size_t probe = 0; probe <= mask; probe++, i = (i + 1) & mask) {
    const uint32_t t = BucketWord(table, i, 0).load(std::memory_order_relaxed);
    const uint32_t bucket = static_cast<uint32_t>(i);
    if (t == 0) {
      // A new key: its filter bits (a reader that finds the bucket's
      // record below its head finds them too: the head is stored after),
      // what a repair undoes, then the bucket, its tag last.
      std::atomic<uint64_t>& word = FilterWordOf(hash);
      word.store(word.load(std::memory_order_relaxed) | log::FilterMask(hash),
                 std::memory_order_relaxed);
      AppendNode(Node{log::kNoEntry, 0, 0, bucket});
      BucketEntry(table, i).store(PackEntry(location, check),
                                  std::memory_order_relaxed);
      BucketWord(table, i, 1).store(0, std::memory_order_relaxed);
      BucketWord(table, i, 0).store(tag, std::memory_order_release);
      Word32(log::kKeysOffset).store(keys() + 1, std::memory_order_relaxed);
      if (prior != nullptr) *prior = Prior::kNone;
      return absl::OkStatus();
    }
    if (t != tag) continue;
    // The key's newest entry, of a record below `end`: is it this key?
    const Version newest = ReadBucket(table, i);
    Entry entry;
    if (!DecodeAt(newest, end, scratch, &entry)) {
      return absl::DataLossError(
          absl::StrCat(name_, ": index bucket at offset ",
                       BucketFileOffset(bits, i),
                       " leads to an entry that does not decode"));
    }
    if (entry.key != key) continue;
    if (prior != nullptr) *prior = entry.deleted ? Prior::kDelete : Prior::kPut;
    // The older version goes to a node; then prev, then the entry.
    const uint32_t ref = AppendNode(
        Node{newest.location, newest.check, newest.prev, bucket});
    BucketWord(table, i, 1).store(ref, std::memory_order_release);
    BucketEntry(table, i).store(PackEntry(location, check),
                                std::memory_order_release);
    return absl::OkStatus();
  }
  return absl::DataLossError(absl::StrCat(name_, ": index table full"));
}

void LogIndex::Publish(uint32_t offset, uint32_t records) {
  Word32(log::kCommittedOffset)
      .store(nodes_used(), std::memory_order_relaxed);
  Word64(log::kProgressOffset)
      .store(uint64_t{offset} << 32 | records, std::memory_order_release);
}

bool LogIndex::NeedsRepair(uint32_t end) const {
  uint32_t offset, records;
  Progress(&offset, &records);
  return offset != end ||
         Word32(log::kCommittedOffset).load(std::memory_order_relaxed) !=
             nodes_used();
}

bool LogIndex::Repair(uint32_t head_offset) {
  uint32_t bits;
  if (!CurrentBits(&bits)) return false;
  const size_t table = TableAt(bits);
  const size_t buckets = size_t{1} << bits;
  const uint32_t used = std::min(nodes_used(), shape_.node_capacity);
  const uint32_t from = std::min(
      Word32(log::kCommittedOffset).load(std::memory_order_relaxed), used);
  bool undid = false;
  // Newest first, so that each bucket goes back to what it held before.
  // Only buckets that hold an entry at or past the head are changed: the
  // nodes of a record whose head was published (the writer died before
  // storing `committed`) are left alone.
  for (uint32_t i = used; i-- > from;) {
    Node node;
    ReadNode(i, &node);
    if (node.bucket >= buckets) continue;  // Damaged: nothing to restore.
    const size_t b = node.bucket;
    if (BucketWord(table, b, 0).load(std::memory_order_relaxed) == 0) continue;
    const uint32_t location = static_cast<uint32_t>(
        BucketEntry(table, b).load(std::memory_order_relaxed));
    if ((location & ~log::kCompressedLocation) < head_offset) continue;
    if (node.location == log::kNoEntry) {
      BucketWord(table, b, 0).store(0, std::memory_order_release);
      const uint32_t k = keys();
      Word32(log::kKeysOffset).store(k == 0 ? 0 : k - 1,
                                     std::memory_order_relaxed);
    } else {
      BucketWord(table, b, 1).store(node.prev, std::memory_order_release);
      BucketEntry(table, b).store(PackEntry(node.location, node.check),
                                  std::memory_order_release);
    }
    undid = true;
  }
  Word32(log::kCommittedOffset).store(used, std::memory_order_relaxed);
  return undid;
}

}  // namespace ultradict
