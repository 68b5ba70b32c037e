// testutil.h: helpers shared by the tests (testonly).

#ifndef ULTRADICT_TESTS_TESTUTIL_H_
#define ULTRADICT_TESTS_TESTUTIL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/sanitized_build.h"
#include "ultradict/db.h"

namespace ultradict {
namespace testing {


// EXPECT_THAT(status, IsOk()) prints the status when it fails.
MATCHER(IsOk, "is OK") {
  if (arg.ok()) return true;
  *result_listener << "status is " << arg.ToString();
  return false;
}

// A unique dictionary name for this test process, e.g. "t1234_5_db".
std::string UniqueName(const std::string& hint);

// Files of this process's test dictionaries still in the segment directory.
std::vector<std::string> LeftoverFiles(const std::string& prefix);

// Destroys the named dictionary when it goes out of scope (even when the
// test fails), so /dev/shm stays clean.
class ScopedDestroy {
 public:
  explicit ScopedDestroy(std::string name, Options options = Options())
      : name_(std::move(name)), options_(std::move(options)) {}
  ~ScopedDestroy() { DestroyDB(name_, options_).IgnoreError(); }

 private:
  std::string name_;
  Options options_;
};

}  // namespace testing
}  // namespace ultradict

#endif  // ULTRADICT_TESTS_TESTUTIL_H_
