// snapshot_builder.h: writes a snapshot segment (snapshot_format.h) entry by
// entry, in increasing key order.
//
// The file is written front to back with write(2) (port::FileWriter) from a
// small buffer, then mapped: no page of it is zeroed or faulted in before it
// is filled, and a full filesystem is a ResourceExhausted error from Add or
// Finish, never a SIGBUS. Until Finish succeeds the file is incomplete (its
// header is all zero, which no reader accepts); a builder destroyed before
// that removes it.

#ifndef ULTRADICT_DB_SNAPSHOT_BUILDER_H_
#define ULTRADICT_DB_SNAPSHOT_BUILDER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "port/port.h"
#include "util/checksum.h"

namespace ultradict {
namespace snapshot {

struct BuildOptions {
  uint64_t generation = 0;
  bool compress = false;             // zstd values of >= threshold bytes.
  size_t compression_threshold = 0;
  mode_t mode = 0600;
};

class Builder {
 public:
  Builder() = default;
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  // Creates the file at path (O_EXCL: AlreadyExists when it exists).
  // `expected_entries` (a hint) sizes the builder's tables.
  absl::Status Start(const std::string& path, const BuildOptions& options,
                     size_t expected_entries = 0);

  // Appends an entry; keys must come in strictly increasing bytewise order.
  // Add takes a plain value (compressed as the options say); AddRaw copies
  // an entry of an older snapshot whole (`raw` as snapshot::Entry::raw, with
  // `key` its key): its flags and checksum go along, so damage in it stays
  // detectable and a compressed value is not decompressed.
  absl::Status Add(std::string_view key, std::string_view value);
  absl::Status AddRaw(std::string_view key, std::string_view raw);

  uint64_t count() const { return hashes_.size(); }

  // Writes the offsets, the index and the header, and maps the file.
  absl::StatusOr<port::Segment> Finish();

 private:
  // Starts an entry whose encoding takes `size` bytes; *out receives where
  // to encode it.
  absl::Status NewEntry(std::string_view key, size_t size, char** out);
  // Writes out the buffered data bytes.
  absl::Status Flush();
  // Room for n more bytes at the end of the buffer, not zeroed (every byte
  // is written before it is flushed: zeroing first cost a pass over the
  // whole snapshot).
  char* Extend(size_t n);

  BuildOptions options_;
  port::FileWriter file_;
  ChecksumStream body_checksum_;  // Of everything after the header.
  std::unique_ptr<char[]> buffer_;  // Data bytes not written yet:
  size_t buffer_size_ = 0;          // this many,
  size_t buffer_capacity_ = 0;      // of room for this many.
  uint64_t data_size_ = 0;        // Data bytes added (written or buffered).
  std::vector<uint64_t> offsets_;  // Of each entry, from the data's start.
  std::vector<uint64_t> hashes_;   // Hash64 of each entry's key.
};

// Builds the snapshot of `pairs` (strictly increasing keys) at path.
absl::StatusOr<port::Segment> Build(
    const std::string& path, const BuildOptions& options,
    const std::vector<std::pair<std::string_view, std::string_view>>& pairs);

}  // namespace snapshot
}  // namespace ultradict

#endif  // ULTRADICT_DB_SNAPSHOT_BUILDER_H_
