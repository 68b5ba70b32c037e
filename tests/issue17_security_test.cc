// issue17_security_test.cc: regressions of issue 17 (adversarial trial), items
// 2, 3, 4 and 8: segment paths that are symbolic links, hard links or copies of
// another dictionary's control segment; FIFOs and directories at segment
// paths (an open must fail at once, never block); another local user
// pre-creating the files of a dictionary's next generations (squatting).
//
// Cases that could hang run in a forked child under alarm(), so that a
// regression fails instead of blocking the suite. Cases that need a second
// user need root and skip otherwise.

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::UniqueName;

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
std::string SnapshotOf(const std::string& dir, const std::string& name,
                       int gen) {
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

TEST_F(Issue17Test, HardLinkOfAControlSegmentIsRefused) {
  const std::string hard = UniqueName("hard");
  ASSERT_EQ(link(Path(real_).c_str(), Path(hard).c_str()), 0);
  auto db = DB::Open(options_, hard);
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition)
      << db.status();
  EXPECT_TRUE(absl::StrContains(db.status().message(), real_)) << db.status();
  // Destroying the second name removes that name only.
  EXPECT_THAT(DestroyDB(hard, options_), IsOk());
  EXPECT_NE(access(Path(hard).c_str(), F_OK), 0);
  ExpectRealIntact();
}

TEST_F(Issue17Test, CopyOfAControlSegmentUnderAnotherNameIsRefused) {
  const std::string copy = UniqueName("copy");
  std::filesystem::copy_file(Path(real_), Path(copy));
  chmod(Path(copy).c_str(), 0600);
  auto db = DB::Open(options_, copy);
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition)
      << db.status();
  EXPECT_TRUE(absl::StrContains(db.status().message(), real_)) << db.status();
  EXPECT_THAT(DestroyDB(copy, options_), IsOk());
  ExpectRealIntact();
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
    if (!absl::StrContains(db.status().message(), "not a regular file"))
      return 3;
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
    for (const std::string& name : *names)
      DB::Open(options_, name).status().IgnoreError();
    return 0;
  });
  EXPECT_EQ(rc, 0) << (rc == -SIGALRM ? "hung" : "failed at step");
  ExpectRealIntact();
}

// The names an attacker who can list the directory (but cannot read the
// 0600 control segment) would squat for generations 1..kGens of `name`:
// those of the old scheme, and those with every tag-like part seen in the
// names of the dictionary's files so far.
constexpr int kGens = 24;
std::set<std::string> PredictableNames(const std::string& dir,
                                       const std::string& name) {
  std::set<std::string> tags = {""};
  for (const std::string& f :
       FilesWithPrefix(dir, absl::StrCat("ud.", name, "."))) {
    for (absl::string_view part :
         absl::StrSplit(f.substr(name.size() + 4), '.')) {
      tags.insert(std::string(part));
    }
  }
  std::set<std::string> names;
  for (int gen = 1; gen <= kGens; gen++) {
    for (const std::string& tag : tags) {
      const std::string base =
          absl::StrCat("ud.", name, ".", gen, tag.empty() ? "" : ".", tag);
      for (const char* suffix : {".log", ".snap", ".snap.tmp", ".log.tmp"}) {
        names.insert(base + suffix);
      }
    }
  }
  names.insert(absl::StrCat("ud.", name, ".tmp"));
  return names;
}

// In a forked child: switches to uid/gid `id` (and no supplementary group).
bool BecomeUser(uid_t id) {
  return setgroups(0, nullptr) == 0 && setgid(id) == 0 && setuid(id) == 0;
}

TEST(Issue17SquatTest, AnotherUserCannotBlockADictionaryByPreCreatingFiles) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as two other users";
  constexpr uid_t kAttacker = 65534;
  constexpr uid_t kVictim = 65533;
  // A shared directory like /dev/shm: world-writable with the sticky bit,
  // so the victim cannot remove the attacker's files.
  ScopedDir dir("/dev/shm", "squat", 01777);
  ASSERT_TRUE(dir.ok()) << dir.path();
  const std::string name = UniqueName("squat");
  Options options;
  options.directory = dir.path();
  options.log_size = 4096;  // Compactions of their own accord, often.

  auto squat = [&]() -> int {
    if (!BecomeUser(kAttacker)) return 30;
    int made = 0;
    for (const std::string& f : PredictableNames(dir.path(), name)) {
      const int fd = open((dir.path() + "/" + f).c_str(),
                          O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd < 0) continue;
      if (write(fd, "squatted", 8) != 8) return 31;
      close(fd);
      made++;
    }
    std::fprintf(stderr, "attacker made %d files\n", made);
    return made > 0 ? 0 : 32;
  };
  // Writes and compacts as the victim; each round's keys must all be read.
  auto victim = [&](int round) -> int {
    if (!BecomeUser(kVictim)) return 40;
    auto db = DB::Open(options, name);
    if (!db.ok()) {
      std::fprintf(stderr, "victim: %s\n", db.status().ToString().c_str());
      return 41;
    }
    for (int c = 0; c < 4; c++) {
      for (int i = 0; i < 200; i++) {
        absl::Status s =
            (*db)->Put(absl::StrCat("r", round, "k", i),
                       absl::StrCat("value ", i, " of round ", round));
        if (!s.ok()) {
          std::fprintf(stderr, "victim put: %s\n", s.ToString().c_str());
          return 42;
        }
      }
      absl::Status s = (*db)->CompactLog();
      if (!s.ok()) {
        std::fprintf(stderr, "victim compact: %s\n", s.ToString().c_str());
        return 43;
      }
    }
    for (int r = 0; r <= round; r++) {
      for (int i = 0; i < 200; i++) {
        std::string value;
        if (!(*db)->Get(absl::StrCat("r", r, "k", i), &value).ok() ||
            value != absl::StrCat("value ", i, " of round ", r)) {
          return 44;
        }
      }
    }
    return 0;
  };

  EXPECT_EQ(InChild(squat), 0);  // Before the dictionary exists.
  EXPECT_EQ(InChild([&] { return victim(0); }), 0);
  EXPECT_EQ(InChild(squat), 0);  // With what its files' names tell.
  EXPECT_EQ(InChild([&] { return victim(1); }), 0);
  EXPECT_EQ(InChild([&]() -> int {
              if (!BecomeUser(kVictim)) return 50;
              return DestroyDB(name, options).ok() ? 0 : 51;
            }),
            0);
}

}  // namespace
}  // namespace ultradict
