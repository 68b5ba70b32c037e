// snapshot_builder.h: writes a snapshot segment from sorted entries.

#ifndef ULTRADICT_DB_SNAPSHOT_BUILDER_H_
#define ULTRADICT_DB_SNAPSHOT_BUILDER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "port/port.h"

namespace ultradict {
namespace snapshot {

struct BuildOptions {
  uint64_t generation = 0;
  bool compress = false;             // zstd values of >= threshold bytes.
  size_t compression_threshold = 0;
  mode_t mode = 0600;
};

// An entry of a new snapshot: a key with its plain value, or an entry of an
// older snapshot copied whole (`raw`, as snapshot::Entry::raw: its flags and
// checksum go along, so damage in it stays detectable).
struct BuildEntry {
  std::string_view key;
  std::string_view value;
  std::string_view raw;
};

// Creates the segment at path (O_EXCL) holding `entries`, which must be in
// strictly increasing key order.
absl::StatusOr<port::Segment> Build(const std::string& path,
                                    const BuildOptions& options,
                                    const std::vector<BuildEntry>& entries);

// The same for plain key/value pairs.
absl::StatusOr<port::Segment> Build(
    const std::string& path, const BuildOptions& options,
    const std::vector<std::pair<std::string_view, std::string_view>>& entries);

}  // namespace snapshot
}  // namespace ultradict

#endif  // ULTRADICT_DB_SNAPSHOT_BUILDER_H_
