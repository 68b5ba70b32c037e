// write_batch_internal.h: access to a WriteBatch's encoding for the engine.
//
// Encoding (the payload of every log record, frozen):
//   batch := count: varint32, entry{count}
//   entry := tag: uint8 (1 = put, 2 = delete), key: varint32 length + bytes,
//            [value: varint32 length + bytes]   (put only)

#ifndef ULTRADICT_DB_WRITE_BATCH_INTERNAL_H_
#define ULTRADICT_DB_WRITE_BATCH_INTERNAL_H_

#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "ultradict/options.h"
#include "ultradict/write_batch.h"
#include "util/coding.h"

namespace ultradict {

enum class BatchTag : uint8_t { kPut = 1, kDelete = 2 };

class WriteBatchInternal {
 public:
  static std::string_view Contents(const WriteBatch& batch) {
    return batch.rep_;
  }
  // One decoded entry: views into the encoding it was decoded from.
  struct Entry {
    const char* start = nullptr;  // Its first byte (the tag).
    std::string_view key;
    std::string_view value;  // Empty for a delete.
    bool deleted = true;
  };

  // Decodes the entry at the front of *input into *entry and removes it
  // from *input; false (and *input unchanged) when it is damaged or runs
  // past the end. Reads nothing outside *input.
  static bool DecodeEntry(std::string_view* input, Entry* entry);

  // Calls fn(const Entry&) for each entry of an encoded batch, in order;
  // DataLoss on damage (entries before it have been passed to fn).
  template <typename Fn>
  static absl::Status ForEachEntry(std::string_view rep, Fn&& fn);

  // A batch's entries, decoded: a batch is checked whole before any of it
  // is applied. Most batches need no allocation.
  using Entries = absl::InlinedVector<Entry, 8>;
  // Appends the entries of an encoded batch to *entries; DataLoss on damage.
  static absl::Status Decode(std::string_view rep, Entries* entries) {
    return ForEachEntry(rep,
                        [entries](const Entry& e) { entries->push_back(e); });
  }

  // InvalidArgument when key or value is over its limit (options.h).
  // Inline: every put checks; the error is built out of line.
  static absl::Status CheckSizes(std::string_view key, std::string_view value) {
    if (key.size() > kMaxKeySize || value.size() > kMaxValueSize) {
      return SizeError(key, value);
    }
    return absl::OkStatus();
  }

  // Calls handler for each entry of an encoded batch; DataLoss on damage.
  static absl::Status Iterate(std::string_view rep,
                              WriteBatch::Handler* handler);
  // Number of entries claimed by an encoded batch (0 when damaged).
  static uint32_t Count(std::string_view rep);

  // A batch of one entry (a put, or a delete when value is null), encoded
  // byte for byte as a WriteBatch holding it would be, without one:
  // SingleEntrySize bytes, which EncodeSingleEntry writes at dst; *entry
  // then describes them as DecodeEntry would.
  static size_t SingleEntrySize(std::string_view key,
                                const std::string_view* value);
  static void EncodeSingleEntry(std::string_view key,
                                const std::string_view* value, char* dst,
                                Entry* entry);

 private:
  static absl::Status SizeError(std::string_view key, std::string_view value);
  // Why the entry at the front of rep, the i-th of count, does not decode.
  static absl::Status Damaged(std::string_view rep, uint32_t count, uint32_t i);
};

inline bool WriteBatchInternal::DecodeEntry(std::string_view* input,
                                            Entry* entry) {
  const char* p = input->data();
  const char* const limit = p + input->size();
  if (p == limit) return false;
  const uint8_t tag = static_cast<uint8_t>(*p++);
  uint32_t key_size, value_size = 0;
  p = GetVarint32Ptr(p, limit, &key_size);
  if (p == nullptr || static_cast<size_t>(limit - p) < key_size) return false;
  const char* const key = p;
  p += key_size;
  const char* value = p;
  if (tag == static_cast<uint8_t>(BatchTag::kPut)) {
    p = GetVarint32Ptr(p, limit, &value_size);
    if (p == nullptr || static_cast<size_t>(limit - p) < value_size)
      return false;
    value = p;
    p += value_size;
  } else if (tag != static_cast<uint8_t>(BatchTag::kDelete)) {
    return false;
  }
  entry->start = input->data();
  entry->key = std::string_view(key, key_size);
  entry->value = std::string_view(value, value_size);
  entry->deleted = tag != static_cast<uint8_t>(BatchTag::kPut);
  input->remove_prefix(static_cast<size_t>(p - input->data()));
  return true;
}

template <typename Fn>
absl::Status WriteBatchInternal::ForEachEntry(std::string_view rep, Fn&& fn) {
  uint32_t count;
  if (!GetVarint32(&rep, &count)) {
    return absl::DataLossError("write batch: bad count");
  }
  Entry entry;
  for (uint32_t i = 0; i < count; i++) {
    if (!DecodeEntry(&rep, &entry)) return Damaged(rep, count, i);
    fn(static_cast<const Entry&>(entry));
  }
  if (!rep.empty()) return absl::DataLossError("write batch: trailing bytes");
  return absl::OkStatus();
}

}  // namespace ultradict

#endif  // ULTRADICT_DB_WRITE_BATCH_INTERNAL_H_
