// state_file.h: the small file in which a follower (or publisher) keeps its
// replication position beside the dictionary's segments
// (DIR/ud-follow.NAME, DIR/ud-publish.NAME). A follower rewrites it after
// each applied write; stat reads it to show position and lag.
//
// Layout (little-endian): magic fixed32 "UDF1", position fixed64, local
// sequence fixed64, control-segment inode fixed64, text length fixed32,
// text ("url\nstream\n"), checksum fixed32 over the rest. A file that does
// not parse is treated as absent (the follower bootstraps again).

#ifndef ULTRADICT_REPLICATION_STATE_FILE_H_
#define ULTRADICT_REPLICATION_STATE_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ultradict {
namespace replication {

struct ReplicaState {
  uint64_t position = 0;   // Primary sequence reflected by the dictionary.
  uint64_t local_seq = 0;  // The dictionary's own sequence after that write.
  uint64_t inode = 0;      // Of its control segment (detects recreation).
  std::string url;         // Without the password.
  std::string stream;
};

std::string FollowStatePath(std::string_view dir, std::string_view name);
std::string PublishStatePath(std::string_view dir, std::string_view name);
// The inode of DIR/ud.NAME; 0 when it cannot be read.
uint64_t ControlInode(std::string_view dir, std::string_view name);

class StateFile {
 public:
  // Opens (creating) the file for writing.
  static absl::StatusOr<StateFile> Open(const std::string& path);
  StateFile(StateFile&& other) noexcept;
  StateFile& operator=(StateFile&&) = delete;
  ~StateFile();
  absl::Status Write(const ReplicaState& state);

 private:
  StateFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// NotFound when missing, DataLoss when it does not parse.
absl::StatusOr<ReplicaState> ReadState(const std::string& path);

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_STATE_FILE_H_
