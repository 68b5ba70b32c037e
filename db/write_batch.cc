// write_batch.cc: WriteBatch, whose encoding (see write_batch_internal.h) is
// also the payload of a log record. The count is kept in a fixed 5-byte
// varint slot at the front so that it can be rewritten in place.

#include "ultradict/write_batch.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "db/write_batch_internal.h"
#include "util/coding.h"

namespace ultradict {

namespace {
constexpr size_t kCountSize = 5;  // A varint32 padded to 5 bytes.

// The count in the slot EncodeCount wrote (every rep_ starts with one).
uint32_t DecodeCount(const std::string& rep) {
  uint32_t count = 0;
  for (size_t i = 0; i < kCountSize - 1; i++) {
    count |= (static_cast<uint32_t>(rep[i]) & 0x7f) << (7 * i);
  }
  return count | (static_cast<uint32_t>(rep[kCountSize - 1]) & 0x0f) << 28;
}

// Writes tag, key and (for a put) value, encoded, at p; returns their end.
// With entry, also describes what it wrote, as DecodeEntry would.
char* EncodeEntry(char* p, BatchTag tag, std::string_view key,
                  const std::string_view* value,
                  WriteBatchInternal::Entry* entry = nullptr) {
  char* const start = p;
  *p++ = static_cast<char>(tag);
  p = EncodeVarint32(p, static_cast<uint32_t>(key.size()));
  std::memcpy(p, key.data(), key.size());
  const char* const key_start = p;
  p += key.size();
  const char* value_start = p;
  if (value != nullptr) {
    p = EncodeVarint32(p, static_cast<uint32_t>(value->size()));
    std::memcpy(p, value->data(), value->size());
    value_start = p;
    p += value->size();
  }
  if (entry != nullptr) {
    entry->start = start;
    entry->key = std::string_view(key_start, key.size());
    entry->value = std::string_view(value_start, value ? value->size() : 0);
    entry->deleted = tag != BatchTag::kPut;
  }
  return p;
}

size_t EntrySize(std::string_view key, const std::string_view* value) {
  size_t n = 1 + VarintLength(key.size()) + key.size();
  if (value != nullptr) n += VarintLength(value->size()) + value->size();
  return n;
}

// Appends an entry in one resize.
void AppendEntry(std::string* rep, BatchTag tag, std::string_view key,
                 const std::string_view* value) {
  const size_t old_size = rep->size();
  // At least doubles the capacity when it grows.
  rep->resize(old_size + EntrySize(key, value));
  EncodeEntry(&(*rep)[old_size], tag, key, value);
}

void EncodeCount(char* rep, uint32_t count) {
  // Padded varint: continuation bits on the first four bytes.
  for (size_t i = 0; i < kCountSize - 1; i++) {
    rep[i] = static_cast<char>((count & 0x7f) | 0x80);
    count >>= 7;
  }
  rep[kCountSize - 1] = static_cast<char>(count & 0x0f);
}
void EncodeCount(std::string* rep, uint32_t count) {
  EncodeCount(&(*rep)[0], count);
}
}  // namespace

WriteBatch::WriteBatch() { Clear(); }

void WriteBatch::Clear() {
  rep_.resize(kCountSize);  // Keeps the capacity; the slot is rewritten.
  EncodeCount(&rep_, 0);
}

uint32_t WriteBatch::Count() const { return DecodeCount(rep_); }

void WriteBatch::Put(std::string_view key, std::string_view value) {
  EncodeCount(&rep_, DecodeCount(rep_) + 1);
  AppendEntry(&rep_, BatchTag::kPut, key, &value);
}

void WriteBatch::Delete(std::string_view key) {
  EncodeCount(&rep_, DecodeCount(rep_) + 1);
  AppendEntry(&rep_, BatchTag::kDelete, key, nullptr);
}

absl::Status WriteBatch::Iterate(Handler* handler) const {
  return WriteBatchInternal::Iterate(rep_, handler);
}

size_t WriteBatchInternal::SingleEntrySize(std::string_view key,
                                           const std::string_view* value) {
  return kCountSize + EntrySize(key, value);
}

void WriteBatchInternal::EncodeSingleEntry(std::string_view key,
                                           const std::string_view* value,
                                           char* dst, Entry* entry) {
  EncodeCount(dst, 1);
  EncodeEntry(dst + kCountSize,
              value != nullptr ? BatchTag::kPut : BatchTag::kDelete, key, value,
              entry);
}

uint32_t WriteBatchInternal::Count(std::string_view rep) {
  uint32_t count = 0;
  return GetVarint32(&rep, &count) ? count : 0;
}

absl::Status WriteBatchInternal::Damaged(std::string_view rep, uint32_t count,
                                         uint32_t i) {
  if (rep.empty()) {
    return absl::DataLossError(
        absl::StrCat("write batch: ", count, " entries claimed, ", i, " found"));
  }
  const uint8_t tag = static_cast<uint8_t>(rep[0]);
  rep.remove_prefix(1);
  if (tag != static_cast<uint8_t>(BatchTag::kPut) &&
      tag != static_cast<uint8_t>(BatchTag::kDelete)) {
    return absl::DataLossError(absl::StrCat("write batch: unknown tag ", tag));
  }
  std::string_view key;
  if (!GetLengthPrefixed(&rep, &key)) {
    return absl::DataLossError("write batch: bad key");
  }
  return absl::DataLossError("write batch: bad value");
}

absl::Status WriteBatchInternal::Iterate(std::string_view rep,
                                         WriteBatch::Handler* handler) {
  absl::Status s = ForEachEntry(rep, [handler](const Entry& e) {
    if (e.deleted) {
      handler->Delete(e.key);
    } else {
      handler->Put(e.key, e.value);
    }
  });
  if (s.ok()) handler->EndOfBatch();
  return s;
}

absl::Status WriteBatchInternal::SizeError(std::string_view key,
                                           std::string_view value) {
  if (key.size() > kMaxKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key of ", key.size(), " bytes; the limit is ", kMaxKeySize));
  }
  if (value.size() > kMaxValueSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "value of ", value.size(), " bytes; the limit is ", kMaxValueSize));
  }
  return absl::OkStatus();
}

}  // namespace ultradict
