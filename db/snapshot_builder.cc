// snapshot_builder.cc: see snapshot_builder.h and snapshot_format.h.

#include "db/snapshot_builder.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "db/snapshot_format.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/compression.h"

namespace ultradict {
namespace snapshot {

namespace {
size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }
}  // namespace

absl::StatusOr<port::Segment> Build(
    const std::string& path, const BuildOptions& options,
    const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  std::vector<BuildEntry> entries;
  entries.reserve(pairs.size());
  for (const auto& [key, value] : pairs) entries.push_back(BuildEntry{key, value, {}});
  return Build(path, options, entries);
}

absl::StatusOr<port::Segment> Build(const std::string& path,
                                    const BuildOptions& options,
                                    const std::vector<BuildEntry>& entries) {
  const size_t count = entries.size();
  // Compress first: the sizes decide the layout.
  std::vector<std::string> compressed;
  std::vector<int32_t> compressed_index(count, -1);
  size_t data_size = 0;
  for (size_t i = 0; i < count; i++) {
    if (!entries[i].raw.empty()) {  // Copied whole.
      data_size += entries[i].raw.size();
      continue;
    }
    std::string_view value = entries[i].value;
    if (options.compress && value.size() >= options.compression_threshold &&
        value.size() >= 32) {
      std::string frame;
      ZstdCompress(value, &frame);
      if (!frame.empty() && frame.size() < value.size()) {
        compressed_index[i] = static_cast<int32_t>(compressed.size());
        compressed.push_back(std::move(frame));
        value = compressed.back();
      }
    }
    const std::string_view key = entries[i].key;
    data_size += 4 + VarintLength(key.size()) + VarintLength(value.size()) + 1 +
                 key.size() + value.size();
  }
  if (data_size > kMaxDataSize) {
    return absl::ResourceExhaustedError(absl::StrCat(
        path, ": a snapshot of ", data_size, " bytes; the limit is ", kMaxDataSize));
  }
  size_t slots = 8;
  while (slots < 2 * count) slots <<= 1;
  const size_t offsets_offset = Align8(kHeaderSize + data_size);
  const size_t index_offset = offsets_offset + 8 * count;
  const size_t file_size = index_offset + 8 * slots;

  absl::StatusOr<port::Segment> segment =
      port::Segment::Create(path, file_size, options.mode, /*populate=*/true);
  if (!segment.ok()) return segment.status();
  char* base = segment->data();

  char* p = base + kHeaderSize;
  char* offsets = base + offsets_offset;
  char* index = base + index_offset;
  for (size_t i = 0; i < count; i++) {
    const std::string_view key = entries[i].key;
    const uint64_t entry_offset = static_cast<uint64_t>(p - (base + kHeaderSize));
    EncodeFixed64(offsets + 8 * i, entry_offset);
    if (!entries[i].raw.empty()) {
      std::memcpy(p, entries[i].raw.data(), entries[i].raw.size());
      p += entries[i].raw.size();
    } else {
      const bool is_compressed = compressed_index[i] >= 0;
      const std::string_view value =
          is_compressed ? std::string_view(compressed[compressed_index[i]])
                        : entries[i].value;
      char* entry = p;
      p += 4;
      p = EncodeVarint32(p, static_cast<uint32_t>(key.size()));
      p = EncodeVarint32(p, static_cast<uint32_t>(value.size()));
      *p++ = static_cast<char>(is_compressed ? kEntryCompressed : 0);
      std::memcpy(p, key.data(), key.size());
      p += key.size();
      std::memcpy(p, value.data(), value.size());
      p += value.size();
      EncodeFixed32(entry, Checksum32(entry + 4, p - entry - 4));
    }

    const uint64_t hash = Hash64(key);
    size_t pos = hash & (slots - 1);
    while (DecodeFixed64(index + 8 * pos) != 0) pos = (pos + 1) & (slots - 1);
    EncodeFixed64(index + 8 * pos, IndexSlot(hash, entry_offset));
  }

  EncodeFixed64(base, kSnapshotMagic);
  EncodeFixed32(base + 8, kSnapshotVersion);
  EncodeFixed32(base + 12, kHeaderSize);
  EncodeFixed64(base + 16, options.generation);
  EncodeFixed64(base + 24, count);
  EncodeFixed64(base + 32, kHeaderSize);
  EncodeFixed64(base + 40, data_size);
  EncodeFixed64(base + 48, offsets_offset);
  EncodeFixed64(base + 56, index_offset);
  EncodeFixed64(base + 64, slots);
  EncodeFixed64(base + 72, file_size);
  EncodeFixed32(base + 80, options.compress ? kFlagCompression : 0);
  EncodeFixed32(base + 84, Checksum32(base + kHeaderSize, file_size - kHeaderSize));
  EncodeFixed32(base + kHeaderChecksumOffset,
                Checksum32(base, kHeaderChecksumOffset));
  return segment;
}

}  // namespace snapshot
}  // namespace ultradict
