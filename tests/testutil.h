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

// Files of this process's test dictionaries (names starting with
// `prefix`) still in the segment directory `directory` ("": the default).
std::vector<std::string> LeftoverFiles(const std::string& prefix,
                                       const std::string& directory = "");

#ifndef _WIN32  // popen and /bin/sh.
// Where RunTool sends the tool's standard error.
enum class ToolStderr {
  kDiscard,  // To /dev/null: *out is the tool's standard output alone.
  kMerge,    // Into *out with its standard output (2>&1), for messages.
};

// Runs the `ultradict` command-line tool with `args` (a command line for
// /bin/sh: quote what needs it) and waits for it to exit. Returns its exit
// code, or -1 when it could not be started or did not exit (a signal);
// *out is what it wrote to standard output (and standard error, with
// ToolStderr::kMerge).
//
// The tool is the test's runfile tools/ultradict:
// $TEST_SRCDIR/$TEST_WORKSPACE/tools/ultradict (TEST_WORKSPACE "ultradict"
// when unset), as `bazel test` and cmake/run_test.sh (ctest) set them; a
// test run by hand without TEST_SRCDIR uses its Bazel runfiles tree,
// /proc/self/exe + ".runfiles". The test must have the tool among its data:
// `data = ["//tools:ultradict"]` in Bazel, `add_dependencies(<test>
// ultradict)` in cmake/tests.cmake (the build links the tool into the
// runfiles tree, cmake/programs.cmake). A missing tool is exit code 127.
int RunTool(const std::string& args, std::string* out,
            ToolStderr err = ToolStderr::kDiscard);
#endif  // _WIN32

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
