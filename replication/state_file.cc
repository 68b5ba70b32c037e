// state_file.cc: see state_file.h.

#include "replication/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/strings.h"

namespace ultradict {
namespace replication {

namespace {
constexpr uint32_t kStateMagic = 0x31464455;  // "UDF1".
constexpr size_t kMaxText = 2048;

absl::Status Errno(std::string_view what, const std::string& path) {
  const int e = errno;
  std::string msg =
      absl::StrCat(path, ": ", AsAbsl(what), ": ", std::strerror(e));
  if (e == ENOENT) return absl::NotFoundError(msg);
  return absl::UnavailableError(msg);
}
}  // namespace

std::string FollowStatePath(std::string_view dir, std::string_view name) {
  return absl::StrCat(AsAbsl(dir), "/ud-follow.", AsAbsl(name));
}
std::string PublishStatePath(std::string_view dir, std::string_view name) {
  return absl::StrCat(AsAbsl(dir), "/ud-publish.", AsAbsl(name));
}

uint64_t ControlInode(std::string_view dir, std::string_view name) {
  struct stat st;
  const std::string path = absl::StrCat(AsAbsl(dir), "/ud.", AsAbsl(name));
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

absl::StatusOr<StateFile> StateFile::Open(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("open", path);
  return StateFile(fd, path);
}

StateFile::StateFile(StateFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

StateFile::~StateFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status StateFile::Write(const ReplicaState& state) {
  std::string text = absl::StrCat(state.url, "\n", state.stream, "\n");
  if (text.size() > kMaxText) text.resize(kMaxText);
  std::string out;
  PutFixed32(&out, kStateMagic);
  PutFixed64(&out, state.position);
  PutFixed64(&out, state.local_seq);
  PutFixed64(&out, state.inode);
  PutFixed32(&out, static_cast<uint32_t>(text.size()));
  out.append(text);
  PutFixed32(&out, Checksum32(out));
  // One write at offset 0; the file never shrinks below a complete record
  // (a shorter record leaves trailing bytes that the length ignores).
  if (::pwrite(fd_, out.data(), out.size(), 0) !=
      static_cast<ssize_t>(out.size())) {
    return Errno("write", path_);
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplicaState> ReadState(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Errno("open", path);
  char buf[kMaxText + 64];
  const ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
  ::close(fd);
  if (n < 0) return Errno("read", path);
  std::string_view in(buf, static_cast<size_t>(n));
  const size_t fixed = 4 + 8 + 8 + 8 + 4;
  if (in.size() < fixed + 4 || DecodeFixed32(buf) != kStateMagic) {
    return absl::DataLossError(
        absl::StrCat(path, ": not a replication state file"));
  }
  const uint32_t text_len = DecodeFixed32(buf + 28);
  if (text_len > kMaxText || in.size() < fixed + text_len + 4 ||
      Checksum32(buf, fixed + text_len) !=
          DecodeFixed32(buf + fixed + text_len)) {
    return absl::DataLossError(
        absl::StrCat(path, ": damaged replication state"));
  }
  ReplicaState state;
  state.position = DecodeFixed64(buf + 4);
  state.local_seq = DecodeFixed64(buf + 12);
  state.inode = DecodeFixed64(buf + 20);
  std::vector<std::string> lines =
      absl::StrSplit(absl::string_view(buf + fixed, text_len), '\n');
  if (lines.size() >= 2) {
    state.url = lines[0];
    state.stream = lines[1];
  }
  return state;
}

}  // namespace replication
}  // namespace ultradict
