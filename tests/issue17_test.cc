// issue17_test.cc: regressions of issue 17 (an adversarial trial): a
// non-persistent dictionary left behind by a SIGKILLed member, file
// descriptors held by pinned generations, and a DB deleted while one of its
// iterators lives. (fork() hangs: fork_test.cc.)

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::LeftoverFiles;
using testing::UniqueName;

// The names ListDBs lists in `directory` ("": the default one).
bool Listed(const std::string& name, const std::string& directory = "") {
  Options options;
  options.directory = directory;
  absl::StatusOr<std::vector<std::string>> names = ListDBs(options);
  EXPECT_THAT(names.status(), IsOk());
  if (!names.ok()) return false;
  return std::find(names->begin(), names->end(), name) != names->end();
}

// A child process creates `name` with `options`, writes and compacts (so
// that it has generation files), then is killed without closing it.
void CreateAndDie(const std::string& name, const Options& options) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = DB::Open(options, name);
    if (!db.ok() || !(*db)->Put("k", "v").ok() || !(*db)->CompactLog().ok() ||
        !(*db)->Put("k2", "v2").ok()) {
      _exit(2);
    }
    kill(getpid(), SIGKILL);
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "status " << status;
}

// The dictionaries of these tests live in a directory of the test's own:
// any ListDBs or open in the default directory, by another test process
// running meanwhile, removes every abandoned dictionary there, these too.
class AbandonedTest : public ::testing::TestWithParam<Lifetime> {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/", UniqueName("abandoned"));
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0) << dir_;
  }
  void TearDown() override {
    for (const std::string& f : LeftoverFiles("", dir_)) {
      unlink((dir_ + "/" + f).c_str());
    }
    rmdir(dir_.c_str());
  }
  // Options of the test's directory and lifetime.
  Options Opts() const {
    Options options;
    options.directory = dir_;
    options.lifetime = GetParam();
    return options;
  }
  Options Observer() const {
    Options options = Opts();
    options.observer = true;
    options.create_if_missing = false;
    return options;
  }
  bool Listed(const std::string& name) const {
    return ultradict::Listed(name, dir_);
  }
  std::vector<std::string> Left(const std::string& name) const {
    return LeftoverFiles(name, dir_);
  }

  std::string dir_;
};

// The only member was SIGKILLed: `ultradict list` (ListDBs) removes the
// dictionary instead of listing it, and nothing of it is left.
TEST_P(AbandonedTest, ListRemovesADictionaryWhoseOnlyMemberWasKilled) {
  const std::string name = "abandoned_list";
  CreateAndDie(name, Opts());
  ASSERT_FALSE(Left(name).empty()) << "the child left nothing?";
  EXPECT_FALSE(Listed(name));
  EXPECT_TRUE(Left(name).empty()) << "left: " << Left(name)[0];
}

// Any open of the name removes it too: an observer (`ultradict stat`) finds
// no dictionary, and a later open creates a new, empty one.
TEST_P(AbandonedTest, OpenRemovesADictionaryWhoseOnlyMemberWasKilled) {
  const std::string name = "abandoned_open";
  CreateAndDie(name, Opts());
  EXPECT_TRUE(absl::IsNotFound(DB::Open(Observer(), name).status()));
  EXPECT_TRUE(Left(name).empty());

  CreateAndDie(name, Opts());
  auto db = DB::Open(Opts(), name);
  ASSERT_THAT(db.status(), IsOk());
  std::string value;
  EXPECT_TRUE(absl::IsNotFound((*db)->Get("k", &value)));
}

// Several processes list (or, in odd rounds, open) an abandoned
// dictionary at the same time: each finds it gone. Each probe of the member
// slots locks them all at once; probes take turns, so that no prober takes
// another's locks for a live member (and lists the dictionary) nor returns
// while the other is still removing its files.
TEST_P(AbandonedTest, ProcessesProbingAtOnceAllFindItGone) {
  constexpr int kRounds = 20, kProbers = 4;
  for (int round = 0; round < kRounds; round++) {
    const std::string name = absl::StrCat("abandoned_race", round);
    CreateAndDie(name, Opts());
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < kProbers; i++) {
      const pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 0) _exit(10);  // EOF: all start at once.
        if (round % 2 == 0) _exit(Listed(name) ? 11 : 0);
        // The first to open creates it anew; the others join that one (or
        // create another when it went meanwhile): the old "k" is gone.
        auto db = DB::Open(Opts(), name);
        if (!db.ok()) _exit(12);
        std::string value;
        const int code = absl::IsNotFound((*db)->Get("k", &value)) ? 0 : 13;
        db->reset();
        _exit(code);
      }
      pids.push_back(pid);
    }
    close(go[0]);
    close(go[1]);
    for (pid_t pid : pids) {
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "round " << round << ": status " << status;
    }
    // Nothing is left: the old files went before any prober returned, and
    // a new one went with its last close (or its creator's).
    EXPECT_TRUE(Left(name).empty())
        << "round " << round << ": left " << Left(name)[0];
    if (HasFailure()) break;
  }
}

// A live member keeps it, whatever else is listed or opened meanwhile.
TEST_P(AbandonedTest, ALiveMemberKeepsIt) {
  const std::string name = "abandoned_live";
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = DB::Open(Opts(), name);
    if (!db.ok() || !(*db)->Put("k", "v").ok()) _exit(2);
    if (write(ready[1], "r", 1) != 1) _exit(3);
    char c;
    if (read(done[0], &c, 1) != 1) _exit(4);
    kill(getpid(), SIGKILL);
    _exit(5);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_TRUE(Listed(name));
  {
    auto db = DB::Open(Observer(), name);
    ASSERT_THAT(db.status(), IsOk());
    std::string value;
    EXPECT_THAT((*db)->Get("k", &value), IsOk());
  }
  EXPECT_TRUE(Listed(name));
  ASSERT_EQ(write(done[1], "d", 1), 1);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_FALSE(Listed(name));
  EXPECT_TRUE(Left(name).empty());
  for (int fd : {ready[0], ready[1], done[0], done[1]}) close(fd);
}

// error_if_exists does not stop the removal: the abandoned one does not
// exist any more, and a new one is created.
TEST_P(AbandonedTest, ErrorIfExistsCreatesAnew) {
  const std::string name = "abandoned_excl";
  CreateAndDie(name, Opts());
  Options options = Opts();
  options.error_if_exists = true;
  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  std::string value;
  EXPECT_TRUE(absl::IsNotFound((*db)->Get("k", &value)));
}

// A member of a dictionary that was destroyed (DestroyDB) and created anew
// under the same name closes last of its generation: its close must not
// remove the new dictionary's files (it found no live member of the old
// one, and removed every file of the name).
TEST_P(AbandonedTest, LateCloseLeavesTheSuccessorAlone) {
  const std::string name = "successor";
  auto old_db = DB::Open(Opts(), name);
  ASSERT_THAT(old_db.status(), IsOk());
  ASSERT_THAT((*old_db)->Put("old", "1"), IsOk());
  ASSERT_THAT(DestroyDB(name, Opts()), IsOk());
  Options persistent = Opts();
  persistent.lifetime = Lifetime::kPersistent;
  auto successor = DB::Open(persistent, name);
  ASSERT_THAT(successor.status(), IsOk());
  ASSERT_THAT((*successor)->Put("new", "2"), IsOk());
  successor->reset();
  old_db->reset();  // The old dictionary's last close.
  EXPECT_TRUE(Listed(name));
  auto reopened = DB::Open(Observer(), name);
  ASSERT_THAT(reopened.status(), IsOk());
  std::string value;
  EXPECT_THAT((*reopened)->Get("new", &value), IsOk());
  EXPECT_EQ(value, "2");
  reopened->reset();
  EXPECT_THAT(DestroyDB(name, persistent), IsOk());
}

INSTANTIATE_TEST_SUITE_P(Lifetimes, AbandonedTest,
                         ::testing::Values(Lifetime::kUntilLastClose,
                                           Lifetime::kUntilCreatorCloses));

// A persistent dictionary is never removed for want of members.
TEST(Issue17Test, PersistentDictionaryOutlivesItsKilledMember) {
  const std::string name = UniqueName("persistent_killed");
  testing::ScopedDestroy destroy(name);
  CreateAndDie(name, Options());
  EXPECT_TRUE(Listed(name));
  auto db = DB::Open(Options(), name);
  ASSERT_THAT(db.status(), IsOk());
  std::string value;
  EXPECT_THAT((*db)->Get("k2", &value), IsOk());
}

// Runs body(db) in a child process under `ulimit -n 256`, db being the
// dictionary `name` opened with a 4 KiB log; the child exits with body's
// code (2 and 3 are taken: the limit or the open failed), which must be 0.
void RunUnderFileLimit(const std::string& name,
                       absl::FunctionRef<int(DB* db)> body) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const struct rlimit limit = {256, 256};
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(2);
    Options options;
    options.log_size = 4096;
    auto db = DB::Open(options, name);
    if (!db.ok()) _exit(3);
    const int code = body(db->get());
    db->reset();
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "status " << status;
}

// Values pinned across many generations hold no file descriptors: with
// `ulimit -n 256`, 600 pins of 600 generations, and writes go on.
TEST(Issue17Test, PinnedGenerationsHoldNoFileDescriptors) {
  const std::string name = UniqueName("pins");
  testing::ScopedDestroy destroy(name);
  RunUnderFileLimit(name, [](DB* db) {
    std::vector<PinnableValue> pins(600);
    for (int i = 0; i < 600; i++) {
      absl::Status s = db->Put("k", absl::StrCat("value ", i));
      if (s.ok()) s = db->GetPinned("k", &pins[i]);
      if (s.ok()) s = db->CompactLog();  // The next pin is of a new one.
      if (!s.ok()) {
        std::fprintf(stderr, "pin %d: %s\n", i, s.ToString().c_str());
        return 4;
      }
    }
    for (int i = 0; i < 600; i++) {
      if (pins[i].data() != absl::StrCat("value ", i)) return 5;
    }
    return 0;
  });
}

// The same with live iterators, which pin their generations too and read
// their snapshots out of the file (port::SegmentFile): with `ulimit -n 256`,
// 600 iterators of 600 generations, writes go on and each iterator still
// sees its own generation.
TEST(Issue17Test, LiveIteratorsDoNotStarveWritesOfFileDescriptors) {
  const std::string name = UniqueName("iters");
  testing::ScopedDestroy destroy(name);
  RunUnderFileLimit(name, [](DB* db) {
    std::vector<std::unique_ptr<Iterator>> iterators;
    for (int i = 0; i < 600; i++) {
      absl::Status s = db->Put("k", absl::StrCat("value ", i));
      if (s.ok()) s = db->CompactLog();  // In the snapshot, not the log.
      if (s.ok()) iterators.push_back(db->NewIterator());
      if (!s.ok()) {
        std::fprintf(stderr, "iterator %d: %s\n", i, s.ToString().c_str());
        return 4;
      }
    }
    for (int i = 0; i < 600; i++) {
      Iterator* it = iterators[i].get();
      it->SeekToFirst();
      if (!it->Valid() || it->value() != absl::StrCat("value ", i)) {
        std::fprintf(stderr, "iterator %d: %s\n", i,
                     it->status().ToString().c_str());
        return 5;
      }
    }
    return 0;
  });
}

// Item 5 is a documented limit (README Caveats): a segment shrunk while
// mapped kills its readers with SIGBUS. What the README promises about it
// is checked here: another user can shrink none of a dictionary's files
// (each is 0600 even under umask 0, and owned by its creator).
TEST(Issue17Test, AnotherUserCannotShrinkASegment) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  const std::string name = UniqueName("truncate");
  testing::ScopedDestroy destroy(name);
  const mode_t old_umask = umask(0);
  auto db = DB::Open(Options(), name);
  umask(old_umask);
  ASSERT_THAT(db.status(), IsOk());
  ASSERT_THAT((*db)->Put("k", "v"), IsOk());
  ASSERT_THAT((*db)->CompactLog(), IsOk());
  const std::vector<std::string> files = LeftoverFiles(name);
  ASSERT_GE(files.size(), 3u);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    for (const std::string& file : files) {
      const std::string path = port::SegmentDirectory("") + "/" + file;
      if (truncate(path.c_str(), 0) == 0) _exit(3);
      if (open(path.c_str(), O_WRONLY) >= 0) _exit(4);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "status " << status;
  std::string value;
  EXPECT_THAT((*db)->Get("k", &value), IsOk());
}

// The contract: every iterator is deleted before its DB. Debug builds check
// it at once, naming the count, instead of crashing later somewhere else.
TEST(Issue17DeathTest, DeletingADBWithALiveIteratorFailsLoudly) {
#ifdef NDEBUG
  GTEST_SKIP() << "checked in debug builds only";
#endif
  const std::string name = UniqueName("iter_death");
  testing::ScopedDestroy destroy(name);
  EXPECT_DEATH(
      {
        auto db = DB::Open(Options(), name);
        if (!db.ok()) std::abort();
        (*db)->Put("k", "v").IgnoreError();
        std::unique_ptr<Iterator> it = (*db)->NewIterator();
        it->SeekToFirst();
        db->reset();
      },
      "deleted while 1 of its iterators are alive");
}

}  // namespace
}  // namespace ultradict
