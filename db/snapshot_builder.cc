// snapshot_builder.cc: see snapshot_builder.h and snapshot_format.h.

#include "db/snapshot_builder.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "db/snapshot_format.h"
#include "util/coding.h"
#include "util/compression.h"

namespace ultradict {
namespace snapshot {

namespace {

// Data bytes buffered before a write(2): large enough that system calls
// cost little, small enough to stay in the cache.
constexpr size_t kFlushSize = size_t{1} << 20;

size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

}  // namespace

absl::Status Builder::Start(const std::string& path, const BuildOptions& options,
                            size_t expected_entries) {
  options_ = options;
  // Filled front to back: huge pages where the system has them (see
  // port::AdviseHugePages).
  offsets_.reserve(expected_entries);
  hashes_.reserve(expected_entries);
  port::AdviseHugePages(offsets_.data(), 8 * offsets_.capacity());
  port::AdviseHugePages(hashes_.data(), 8 * hashes_.capacity());
  absl::StatusOr<port::FileWriter> file = port::FileWriter::Create(path, options.mode);
  if (!file.ok()) return file.status();
  file_ = std::move(*file);
  buffer_.reset(new char[kFlushSize + 4096]);
  buffer_capacity_ = kFlushSize + 4096;
  const char header[kHeaderSize] = {};  // Written last, in Finish.
  return file_.Append(header, kHeaderSize);
}

absl::Status Builder::NewEntry(std::string_view key, size_t size, char** out) {
  if (data_size_ + size > kMaxDataSize) {
    return absl::ResourceExhaustedError(
        absl::StrCat(file_.path(), ": a snapshot of more than ", data_size_ + size,
                     " data bytes; the limit is ", kMaxDataSize));
  }
  offsets_.push_back(data_size_);
  hashes_.push_back(Hash64(key));
  data_size_ += size;
  *out = Extend(size);
  return absl::OkStatus();
}

absl::Status Builder::Add(std::string_view key, std::string_view value) {
  std::string frame;
  bool compressed = false;
  if (options_.compress && value.size() >= options_.compression_threshold &&
      value.size() >= 32) {
    ZstdCompress(value, &frame);
    if (!frame.empty() && frame.size() < value.size()) {
      value = frame;
      compressed = true;
    }
  }
  const size_t size = 4 + VarintLength(key.size()) + VarintLength(value.size()) +
                      1 + key.size() + value.size();
  char* entry;
  absl::Status s = NewEntry(key, size, &entry);
  if (!s.ok()) return s;
  char* p = entry + 4;
  p = EncodeVarint32(p, static_cast<uint32_t>(key.size()));
  p = EncodeVarint32(p, static_cast<uint32_t>(value.size()));
  *p++ = static_cast<char>(compressed ? kEntryCompressed : 0);
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  EncodeFixed32(entry, Checksum32(entry + 4, p - entry - 4));
  return buffer_size_ >= kFlushSize ? Flush() : absl::OkStatus();
}

absl::Status Builder::AddRaw(std::string_view key, std::string_view raw) {
  char* entry;
  absl::Status s = NewEntry(key, raw.size(), &entry);
  if (!s.ok()) return s;
  std::memcpy(entry, raw.data(), raw.size());
  return buffer_size_ >= kFlushSize ? Flush() : absl::OkStatus();
}

char* Builder::Extend(size_t n) {
  if (buffer_capacity_ - buffer_size_ < n) {  // An entry larger than the rest.
    const size_t capacity = std::max(2 * buffer_capacity_, buffer_size_ + n);
    std::unique_ptr<char[]> larger(new char[capacity]);
    if (buffer_size_ != 0)
      std::memcpy(larger.get(), buffer_.get(), buffer_size_);
    buffer_ = std::move(larger);
    buffer_capacity_ = capacity;
  }
  char* const at = buffer_.get() + buffer_size_;
  buffer_size_ += n;
  return at;
}

absl::Status Builder::Flush() {
  body_checksum_.Update(buffer_.get(), buffer_size_);
  absl::Status s = file_.Append(buffer_.get(), buffer_size_);
  buffer_size_ = 0;
  return s;
}

absl::StatusOr<port::Segment> Builder::Finish() {
  const uint64_t count = offsets_.size();
  size_t slots = 8;
  while (slots < 2 * count) slots <<= 1;
  const size_t offsets_offset = Align8(kHeaderSize + data_size_);
  const size_t index_offset = offsets_offset + 8 * count;
  const size_t filter_offset = index_offset + 8 * slots;
  const size_t filter_bytes = FilterBytesFor(count);
  const size_t file_size = filter_offset + filter_bytes;

  // Padding, then the offsets, go out after the last data bytes, a buffer
  // at a time (appended whole, 8 MB at 1 M entries, they grew the buffer
  // by copies).
  const size_t padding = offsets_offset - kHeaderSize - data_size_;
  if (padding != 0) std::memset(Extend(padding), 0, padding);
  absl::Status s = Flush();  // The buffer's room is the offsets'.
  if (!s.ok()) return s;
  constexpr size_t kPerFlush = kFlushSize / 8;
  for (size_t i = 0; i < offsets_.size(); i += kPerFlush) {
    const size_t n = std::min(kPerFlush, offsets_.size() - i);
    char* const at = Extend(8 * n);
    for (size_t j = 0; j < n; j++) EncodeFixed64(at + 8 * j, offsets_[i + j]);
    s = Flush();
    if (!s.ok()) return s;
  }

  std::unique_ptr<char[]> index(new char[8 * slots]);
  port::AdviseHugePages(index.get(), 8 * slots);
  std::memset(index.get(), 0, 8 * slots);
  for (uint64_t i = 0; i < count; i++) {
    const uint64_t hash = hashes_[i];
    size_t pos = hash & (slots - 1);
    while (DecodeFixed64(&index[8 * pos]) != 0) pos = (pos + 1) & (slots - 1);
    EncodeFixed64(&index[8 * pos], IndexSlot(hash, offsets_[i]));
  }
  body_checksum_.Update(index.get(), 8 * slots);
  s = file_.Append(index.get(), 8 * slots);
  if (!s.ok()) return s;
  index.reset();
  std::string filter(filter_bytes, '\0');
  for (const uint64_t hash : hashes_) {
    char* const word = &filter[8 * FilterWord(hash, filter_bytes)];
    EncodeFixed64(word, DecodeFixed64(word) | FilterMask(hash));
  }
  body_checksum_.Update(filter.data(), filter.size());
  s = file_.Append(filter.data(), filter.size());
  if (!s.ok()) return s;
  if (file_.size() != file_size) {
    return absl::InternalError(absl::StrCat(file_.path(), ": wrote ", file_.size(),
                                            " bytes, expected ", file_size));
  }

  char header[kHeaderSize] = {};
  EncodeFixed64(header, kSnapshotMagic);
  EncodeFixed32(header + 8, kSnapshotVersion);
  EncodeFixed32(header + 12, kHeaderSize);
  EncodeFixed64(header + 16, options_.generation);
  EncodeFixed64(header + 24, count);
  EncodeFixed64(header + 32, kHeaderSize);
  EncodeFixed64(header + 40, data_size_);
  EncodeFixed64(header + 48, offsets_offset);
  EncodeFixed64(header + 56, index_offset);
  EncodeFixed64(header + 64, slots);
  EncodeFixed64(header + 72, file_size);
  EncodeFixed32(header + 80, options_.compress ? kFlagCompression : 0);
  EncodeFixed32(header + 84, body_checksum_.Checksum32());
  EncodeFixed64(header + 88, filter_offset);
  EncodeFixed64(header + 96, filter_bytes);
  EncodeFixed32(header + kHeaderChecksumOffset,
                Checksum32(header, kHeaderChecksumOffset));
  s = file_.WriteAt(0, header, kHeaderSize);
  if (!s.ok()) return s;
  return file_.Finish();
}

absl::StatusOr<port::Segment> Build(
    const std::string& path, const BuildOptions& options,
    const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  Builder builder;
  absl::Status s = builder.Start(path, options);
  for (size_t i = 0; s.ok() && i < pairs.size(); i++) {
    s = builder.Add(pairs[i].first, pairs[i].second);
  }
  if (!s.ok()) return s;
  return builder.Finish();
}

}  // namespace snapshot
}  // namespace ultradict
