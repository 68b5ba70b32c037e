// entry_format.cc: see entry_format.h.

#include "replication/entry_format.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "ultradict/options.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/compression.h"
#include "util/strings.h"

namespace ultradict {
namespace replication {

namespace {

constexpr uint8_t kFlagZstd = 1;
constexpr uint8_t kOpPut = 1;
constexpr uint8_t kOpDelete = 2;
// magic, version, kind, flags, name length.
constexpr size_t kFixedPrefix = 4 + 1 + 1 + 1 + 1;
// seq, count, index, body length.
constexpr size_t kFixedMiddle = 8 + 4 + 4 + 4;

absl::Status Damaged(std::string_view where, std::string_view why) {
  return absl::DataLossError(absl::StrCat(
      AsAbsl(where), ": damaged replication frame: ", AsAbsl(why)));
}

// Decodes one op into batch; false when damaged.
bool DecodeOp(std::string_view* in, WriteBatch* batch) {
  if (in->empty()) return false;
  const uint8_t op = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  std::string_view key, value;
  if (!GetLengthPrefixed(in, &key) || key.size() > kMaxKeySize) return false;
  if (op == kOpDelete) {
    batch->Delete(key);
    return true;
  }
  if (op != kOpPut || !GetLengthPrefixed(in, &value) ||
      value.size() > kMaxValueSize) {
    return false;
  }
  batch->Put(key, value);
  return true;
}

}  // namespace

std::string EncodeFrame(const Frame& frame, bool compress) {
  std::string body_z;
  uint8_t flags = 0;
  if (compress && frame.body.size() >= 64) {
    ZstdCompress(frame.body, &body_z);
    if (body_z.size() < frame.body.size()) flags |= kFlagZstd;
  }
  const std::string& body = (flags & kFlagZstd) ? body_z : frame.body;
  std::string out;
  out.reserve(kFixedPrefix + frame.name.size() + kFixedMiddle + body.size() +
              4);
  PutFixed32(&out, kFrameMagic);
  out.push_back(static_cast<char>(kFrameVersion));
  out.push_back(static_cast<char>(frame.kind));
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>(frame.name.size()));
  out.append(frame.name);
  PutFixed64(&out, frame.seq);
  PutFixed32(&out, frame.count);
  PutFixed32(&out, frame.index);
  PutFixed32(&out, static_cast<uint32_t>(body.size()));
  out.append(body);
  PutFixed32(&out, Checksum32(out));
  return out;
}

absl::Status DecodeFrame(std::string_view bytes, std::string_view where,
                         Frame* frame) {
  if (bytes.size() < 4 || DecodeFixed32(bytes.data()) != kFrameMagic) {
    return absl::FailedPreconditionError(
        absl::StrCat(AsAbsl(where),
                     ": not an UltraDict replication entry (no UDR1 magic; "
                     "the stream holds foreign entries)"));
  }
  if (bytes.size() < kFixedPrefix) return Damaged(where, "truncated header");
  const uint8_t version = static_cast<uint8_t>(bytes[4]);
  if (version != kFrameVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(AsAbsl(where), ": replication format version ", version,
                     "; this build reads version ", kFrameVersion));
  }
  const uint8_t kind = static_cast<uint8_t>(bytes[5]);
  const uint8_t flags = static_cast<uint8_t>(bytes[6]);
  const size_t name_len = static_cast<uint8_t>(bytes[7]);
  if (kind < 1 || kind > 3) return Damaged(where, absl::StrCat("kind ", kind));
  if ((flags & ~kFlagZstd) != 0) {
    return Damaged(where, absl::StrCat("unknown flags ", flags));
  }
  if (name_len == 0 || name_len > kMaxNameLength) {
    return Damaged(where, absl::StrCat("name length ", name_len));
  }
  const size_t header = kFixedPrefix + name_len + kFixedMiddle;
  if (bytes.size() < header + 4) return Damaged(where, "truncated header");
  const char* p = bytes.data() + kFixedPrefix + name_len;
  const uint32_t body_len = DecodeFixed32(p + 16);
  if (bytes.size() != header + body_len + 4) {
    return Damaged(where, absl::StrCat(bytes.size(), " bytes, the header says ",
                                       header + body_len + 4, " (truncated?)"));
  }
  const size_t check_at = header + body_len;
  if (Checksum32(bytes.data(), check_at) !=
      DecodeFixed32(bytes.data() + check_at)) {
    return Damaged(where, "checksum mismatch");
  }
  frame->kind = static_cast<FrameKind>(kind);
  frame->name.assign(bytes.data() + kFixedPrefix, name_len);
  frame->seq = DecodeFixed64(p);
  frame->count = DecodeFixed32(p + 8);
  frame->index = DecodeFixed32(p + 12);
  const std::string_view body = bytes.substr(header, body_len);
  if (flags & kFlagZstd) {
    absl::Status s = ZstdUncompress(body, kMaxBodySize, &frame->body);
    if (!s.ok()) return Damaged(where, std::string(s.message()));
  } else {
    frame->body.assign(body.data(), body.size());
  }
  return absl::OkStatus();
}

void RecordsBuilder::Put(std::string_view key, std::string_view value) {
  ops_.push_back(static_cast<char>(kOpPut));
  PutLengthPrefixed(&ops_, key);
  PutLengthPrefixed(&ops_, value);
  ops_count_++;
}

void RecordsBuilder::Delete(std::string_view key) {
  ops_.push_back(static_cast<char>(kOpDelete));
  PutLengthPrefixed(&ops_, key);
  ops_count_++;
}

void RecordsBuilder::EndOfBatch() {
  PutVarint32(&body_, ops_count_);
  body_.append(ops_);
  ops_.clear();
  ops_count_ = 0;
  records_++;
  ends_.push_back(body_.size());
}

absl::Status DecodeRecords(const Frame& frame, std::string_view where,
                           uint32_t skip, WriteBatch* out) {
  if (frame.kind != FrameKind::kRecords || frame.count == 0) {
    return Damaged(where, "not a records frame");
  }
  WriteBatch batch;
  WriteBatch* target = out->Count() == 0 ? out : &batch;
  std::string_view in = frame.body;
  for (uint32_t i = 0; i < frame.count; i++) {
    uint32_t ops;
    if (!GetVarint32(&in, &ops) || ops > in.size()) {
      if (target == out) out->Clear();
      return Damaged(where, absl::StrCat("record ", i, ": bad op count"));
    }
    WriteBatch skipped;
    for (uint32_t j = 0; j < ops; j++) {
      if (!DecodeOp(&in, i < skip ? &skipped : target)) {
        if (target == out) out->Clear();
        return Damaged(where, absl::StrCat("record ", i, ": op ", j));
      }
    }
  }
  if (!in.empty()) {
    if (target == out) out->Clear();
    return Damaged(where, absl::StrCat(in.size(), " bytes after ", frame.count,
                                       " records"));
  }
  if (target != out) {
    // Copies the checked updates behind what *out already holds.
    struct Copier : WriteBatch::Handler {
      WriteBatch* to;
      void Put(std::string_view k, std::string_view v) override {
        to->Put(k, v);
      }
      void Delete(std::string_view k) override { to->Delete(k); }
    } copier;
    copier.to = out;
    return batch.Iterate(&copier);
  }
  return absl::OkStatus();
}

void AppendPair(std::string* body, std::string_view key,
                std::string_view value) {
  PutLengthPrefixed(body, key);
  PutLengthPrefixed(body, value);
}

absl::Status AppendPairs(const Frame& frame, std::string_view where,
                         std::string* last_key, std::vector<KeyValue>* pairs) {
  if (frame.kind != FrameKind::kCheckpointChunk) {
    return Damaged(where, "not a checkpoint chunk");
  }
  const size_t old_size = pairs->size();
  std::string_view in = frame.body;
  std::string_view prev = *last_key;
  bool first = last_key->empty();
  absl::Status s;
  for (uint32_t i = 0; i < frame.count && s.ok(); i++) {
    std::string_view key, value;
    if (!GetLengthPrefixed(&in, &key) || !GetLengthPrefixed(&in, &value) ||
        key.size() > kMaxKeySize || value.size() > kMaxValueSize) {
      s = Damaged(where, absl::StrCat("pair ", i));
    } else if (!first && !(prev < key)) {
      s = Damaged(where, absl::StrCat("pair ", i, ": keys out of order"));
    } else {
      first = false;
      prev = key;
      pairs->push_back(KeyValue{key, value});
    }
  }
  if (s.ok() && !in.empty()) {
    s = Damaged(
        where, absl::StrCat(in.size(), " bytes after ", frame.count, " pairs"));
  }
  if (!s.ok()) {
    pairs->resize(old_size);  // Nothing of a damaged chunk.
    return s;
  }
  if (pairs->size() > old_size) last_key->assign(pairs->back().key);
  return absl::OkStatus();
}

absl::Status ForEachPair(
    const Frame& frame, std::string_view where, std::string* last_key,
    absl::FunctionRef<void(std::string_view, std::string_view)> fn) {
  std::vector<KeyValue> pairs;
  pairs.reserve(std::min<uint32_t>(frame.count, 1 << 20));
  absl::Status s = AppendPairs(frame, where, last_key, &pairs);
  if (!s.ok()) return s;
  for (const KeyValue& pair : pairs) fn(pair.key, pair.value);
  return absl::OkStatus();
}

}  // namespace replication
}  // namespace ultradict
