// snapshot_reader.cc: see snapshot_reader.h and snapshot_format.h.

#include "db/snapshot_reader.h"

#include "absl/strings/str_cat.h"
#include "db/snapshot_format.h"
#include "ultradict/options.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/compression.h"
#include "util/strings.h"

namespace ultradict {
namespace snapshot {

absl::Status Reader::Open(const char* data, size_t size, std::string name) {
  name_ = std::move(name);
  if (size < kHeaderSize) {
    return absl::DataLossError(
        absl::StrCat(name_, ": truncated snapshot (", size, " bytes)"));
  }
  if (DecodeFixed64(data) != kSnapshotMagic) {
    return absl::DataLossError(absl::StrCat(name_, ": not a snapshot (bad magic)"));
  }
  // Version 1 checksummed [0, 88) (at 88); a later version is named
  // without checking what this build does not know. So an older or newer
  // snapshot is refused by its version, not reported as damaged.
  const uint32_t version = DecodeFixed32(data + 8);
  const size_t checksum_at =
      version == 1 ? kV1HeaderChecksumOffset : kHeaderChecksumOffset;
  if (version <= kSnapshotVersion &&
      DecodeFixed32(data + checksum_at) != Checksum32(data, checksum_at)) {
    return absl::DataLossError(
        absl::StrCat(name_, ": header checksum mismatch at offset 0"));
  }
  if (version != kSnapshotVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        name_, ": snapshot format version ", version, ", this build reads ",
        kSnapshotVersion));
  }
  generation_ = DecodeFixed64(data + 16);
  count_ = DecodeFixed64(data + 24);
  const uint64_t data_offset = DecodeFixed64(data + 32);
  data_size_ = DecodeFixed64(data + 40);
  const uint64_t offsets_offset = DecodeFixed64(data + 48);
  const uint64_t index_offset = DecodeFixed64(data + 56);
  slots_ = DecodeFixed64(data + 64);
  const uint64_t file_size = DecodeFixed64(data + 72);
  body_checksum_ = DecodeFixed32(data + 84);
  const uint64_t filter_offset = DecodeFixed64(data + 88);
  filter_bytes_ = DecodeFixed64(data + 96);
  // Every region must lie inside the segment, in order, without overflow.
  const bool ok =
      DecodeFixed32(data + 12) == kHeaderSize && file_size == size &&
      data_offset == kHeaderSize && data_size_ <= size - kHeaderSize &&
      data_size_ <= kMaxDataSize &&
      offsets_offset >= data_offset + data_size_ && offsets_offset % 8 == 0 &&
      offsets_offset <= size && count_ <= (size - offsets_offset) / 8 &&
      index_offset == offsets_offset + 8 * count_ && slots_ >= 1 &&
      (slots_ & (slots_ - 1)) == 0 && slots_ <= (size - index_offset) / 8 &&
      filter_offset == index_offset + 8 * slots_ && count_ < slots_ &&
      filter_bytes_ >= 8 && (filter_bytes_ & (filter_bytes_ - 1)) == 0 &&
      filter_bytes_ == size - filter_offset;
  if (!ok) {
    return absl::DataLossError(
        absl::StrCat(name_, ": impossible sizes in the snapshot header"));
  }
  data_ = data;
  size_ = size;
  entries_ = data + data_offset;
  offsets_ = data + offsets_offset;
  index_ = data + index_offset;
  filter_ = data + filter_offset;
  return absl::OkStatus();
}

namespace {

absl::Status EntryDamage(std::string_view name, std::string_view what,
                         uint64_t file_offset) {
  return absl::DataLossError(absl::StrCat(AsAbsl(name), ": ", AsAbsl(what),
                                          " at offset ", file_offset));
}

}  // namespace

absl::Status ParseEntryHead(const char* start, const char* limit,
                            std::string_view name, uint64_t file_offset,
                            EntryHead* head) {
  // The smallest entry: checksum, two one-byte lengths, flags.
  if (limit - start < 4 + 3) {
    return EntryDamage(name, "entry out of bounds", file_offset);
  }
  const char* p = GetVarint32Ptr(start + 4, limit, &head->key_size);
  if (p != nullptr) p = GetVarint32Ptr(p, limit, &head->value_size);
  if (p == nullptr || p >= limit) {
    return EntryDamage(name, "bad entry lengths", file_offset);
  }
  head->flags = static_cast<uint8_t>(*p++);
  head->size = static_cast<uint32_t>(p - start);
  return absl::OkStatus();
}

absl::Status ParseEntryBody(const char* start, const char* limit,
                            const EntryHead& head, bool verify,
                            std::string_view name, uint64_t file_offset,
                            Entry* entry) {
  if (static_cast<uint64_t>(limit - start) < head.entry_size()) {
    return EntryDamage(name, "entry past the end", file_offset);
  }
  const size_t size = static_cast<size_t>(head.entry_size());
  if (verify && DecodeFixed32(start) != Checksum32(start + 4, size - 4)) {
    return EntryDamage(name, "entry checksum mismatch", file_offset);
  }
  const char* key = start + head.size;
  entry->key = std::string_view(key, head.key_size);
  entry->value = std::string_view(key + head.key_size, head.value_size);
  entry->compressed = (head.flags & kEntryCompressed) != 0;
  entry->raw = std::string_view(start, size);
  return absl::OkStatus();
}

absl::Status ParseEntry(const char* start, const char* limit, bool verify,
                        std::string_view name, uint64_t file_offset,
                        Entry* entry) {
  EntryHead head;
  absl::Status s = ParseEntryHead(start, limit, name, file_offset, &head);
  if (!s.ok()) return s;
  return ParseEntryBody(start, limit, head, verify, name, file_offset, entry);
}

absl::Status Reader::ParseEntryAt(uint64_t offset, Entry* entry,
                                  bool verify) const {
  if (offset >= data_size_) {
    return absl::DataLossError(absl::StrCat(
        name_, ": entry out of bounds at offset ", kHeaderSize + offset));
  }
  return ParseEntry(entries_ + offset, entries_ + data_size_, verify, name_,
                    kHeaderSize + offset, entry);
}

absl::Status Reader::EntryAt(uint64_t i, Entry* entry, bool verify) const {
  if (i >= count_) {
    return absl::DataLossError(absl::StrCat(name_, ": entry number ", i,
                                            " out of range"));
  }
  return ParseEntryAt(DecodeFixed64(offsets_ + 8 * i), entry, verify);
}

void Reader::Prefetch(uint64_t hash) const {
  if (slots_ != 0) __builtin_prefetch(index_ + 8 * (hash & (slots_ - 1)));
}

absl::Status Reader::Find(std::string_view key, Entry* entry,
                          bool verify) const {
  return Find(key, Hash64(key), entry, verify);
}

absl::Status Reader::Find(std::string_view key, uint64_t hash, Entry* entry,
                          bool verify) const {
  if (slots_ == 0) return absl::NotFoundError("");  // Not opened.
  const uint64_t mask = slots_ - 1;
  uint64_t pos = hash & mask;
  // The slot is loaded while the filter is read (a key that is there pays
  // no more than the slot's cache miss); a key that is not there mostly
  // ends at the filter.
  __builtin_prefetch(index_ + 8 * pos);
  if (!MayHold(hash)) return absl::NotFoundError("");
  const uint64_t tag = IndexSlot(hash, 0) >> 32;
  for (uint64_t probes = 0; probes < slots_; probes++) {
    const uint64_t slot = DecodeFixed64(index_ + 8 * pos);
    if (slot == 0) return absl::NotFoundError("");
    if ((slot >> 32) == tag) {
      absl::Status s = ParseEntryAt(slot & 0xffffffffu, entry, verify);
      if (!s.ok()) return s;
      if (entry->key == key) return absl::OkStatus();
    }
    pos = (pos + 1) & mask;
  }
  return absl::NotFoundError("");  // A damaged, full index: not an endless probe.
}

absl::Status Reader::LowerBound(std::string_view target, uint64_t* i) const {
  uint64_t lo = 0, hi = count_;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    Entry entry;
    absl::Status s = EntryAt(mid, &entry);
    if (!s.ok()) return s;
    if (entry.key < target) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  *i = lo;
  return absl::OkStatus();
}

absl::Status Reader::VerifyBody() const {
  if (Checksum32(data_ + kHeaderSize, size_ - kHeaderSize) != body_checksum_) {
    return absl::DataLossError(
        absl::StrCat(name_, ": body checksum mismatch (offsets ", kHeaderSize,
                     "..", size_, ")"));
  }
  return absl::OkStatus();
}

absl::Status EntryValue(const Entry& entry, std::string* scratch,
                        std::string_view* value) {
  if (!entry.compressed) {
    *value = entry.value;
    return absl::OkStatus();
  }
  absl::Status s = ZstdUncompress(entry.value, kMaxValueSize, scratch);
  if (!s.ok()) return s;
  *value = *scratch;
  return absl::OkStatus();
}

}  // namespace snapshot
}  // namespace ultradict
