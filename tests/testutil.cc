// testutil.cc: see testutil.h.

#include "tests/testutil.h"

#include <unistd.h>
#ifndef _WIN32
#include <sys/wait.h>
#endif

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "port/port.h"

namespace ultradict {
namespace testing {

std::string UniqueName(const std::string& hint) {
  static std::atomic<int> counter{0};
  return absl::StrCat("t", getpid(), "_", counter++, "_", hint);
}

std::vector<std::string> LeftoverFiles(const std::string& prefix,
                                       const std::string& directory) {
  std::vector<std::string> left;
  absl::StatusOr<std::vector<std::string>> files =
      port::ListDirectory(port::SegmentDirectory(directory));
  if (!files.ok()) return left;
  for (const std::string& f : *files) {
    if (absl::StartsWith(f, "ud." + prefix)) left.push_back(f);
  }
  return left;
}

#ifndef _WIN32
int RunTool(const std::string& args, std::string* out, ToolStderr err) {
  std::string srcdir;
  if (const char* env = std::getenv("TEST_SRCDIR")) {
    srcdir = env;
  } else {  // Run by hand: the binary's runfiles.
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) return -1;
    srcdir = std::string(self, static_cast<size_t>(n)) + ".runfiles";
  }
  const char* workspace = std::getenv("TEST_WORKSPACE");
  const std::string command =
      absl::StrCat(srcdir, "/", workspace != nullptr ? workspace : "ultradict",
                   "/tools/ultradict ", args,
                   err == ToolStderr::kMerge ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  out->clear();
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif  // _WIN32

}  // namespace testing
}  // namespace ultradict
