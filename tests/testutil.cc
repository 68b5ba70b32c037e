// testutil.cc: see testutil.h.

#include "tests/testutil.h"

#include <unistd.h>

#include <atomic>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "port/port.h"

namespace ultradict {
namespace testing {

std::string UniqueName(const std::string& hint) {
  static std::atomic<int> counter{0};
  return absl::StrCat("t", getpid(), "_", counter++, "_", hint);
}

std::vector<std::string> LeftoverFiles(const std::string& prefix) {
  std::vector<std::string> left;
  absl::StatusOr<std::vector<std::string>> files =
      port::ListDirectory(port::SegmentDirectory(""));
  if (!files.ok()) return left;
  for (const std::string& f : *files) {
    if (absl::StartsWith(f, "ud." + prefix)) left.push_back(f);
  }
  return left;
}

}  // namespace testing
}  // namespace ultradict
