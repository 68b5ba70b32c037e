// destroy_crash_test.cc: a process that destroys a dictionary (DestroyDB)
// killed (SIGKILL) between marking it destroyed and removing its files, or
// after removing some of them (its control segment goes last).
// The control segment is left at its path in the destroyed state; listing
// the directory, opening the name and DestroyDB must each finish the
// removal, not list it, refuse it or loop on it. The child is this binary
// re-exec'd, linked with the fault-point engine.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/ingest_testutil.h"
#include "tests/subprocess.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

using ingest_testing::FilesOf;
using ingest_testing::IsOk;
using ingest_testing::UniqueName;

Options OptionsFor(const std::string& lifetime) {
  Options options;
  options.lifetime = lifetime == "persistent" ? Lifetime::kPersistent
                                              : Lifetime::kUntilLastClose;
  return options;
}

// The child: creates the dictionary, writes and compacts (so that it has
// generation files), then destroys it, and is killed at
// $ULTRADICT_FAULT_POINT (destroy.after_mark) with its handle open.
int RunChild(int argc, char** argv) {
  std::map<std::string, std::string> args = testing::ParseChildArgs(argc, argv);
  const Options options = OptionsFor(args["lifetime"]);
  auto db = DB::Open(options, args["name"]);
  if (!db.ok()) return 2;
  for (int i = 0; i < 100; i++) {
    if (!(*db)->Put(absl::StrCat("k", i), "v").ok()) return 3;
  }
  if (!(*db)->CompactLog().ok()) return 4;
  if (!(*db)->Put("in-log", "v").ok()) return 5;
  absl::Status s = DestroyDB(args["name"], options);
  std::fprintf(stderr, "destroy child: not killed (%s)\n",
               s.ToString().c_str());
  return 6;
}

// Where the destroyer is killed: after marking the dictionary destroyed,
// or after removing its first file (the control segment goes last).
struct Kill {
  const char* lifetime;
  const char* point;
  int skip;  // Passes of the point survived.
};

std::string KillName(const ::testing::TestParamInfo<Kill>& info) {
  std::string n = absl::StrCat(info.param.lifetime, "_", info.param.point, "_",
                               info.param.skip);
  for (char& c : n) {
    if (c == '-' || c == '.') c = '_';
  }
  return n;
}

// Each test starts from a dictionary that a destroyer killed at the
// test's Kill left.
class DestroyCrashTest : public ::testing::TestWithParam<Kill> {
 protected:
  void SetUp() override {
    const Kill& kill = GetParam();
    std::string how;
    ASSERT_TRUE(testing::RunSelfUntilKilled(
        {"--child=destroy", "--name=" + name_,
         absl::StrCat("--lifetime=", kill.lifetime)},
        {absl::StrCat("ULTRADICT_FAULT_POINT=", kill.point),
         absl::StrCat("ULTRADICT_FAULT_SKIP=", kill.skip)},
        60 * 1000, &how))
        << how;
    // The control segment is left, and a generation's files, all of them
    // or all but the first removed (the child made a log and a snapshot).
    const std::vector<std::string> left = FilesOf(name_);
    EXPECT_EQ(std::count(left.begin(), left.end(), "ud." + name_), 1);
    ASSERT_EQ(left.size(), 3u - kill.skip);
  }
  void TearDown() override { DestroyDB(name_).IgnoreError(); }

  std::string lifetime() const { return GetParam().lifetime; }

  const std::string name_ = UniqueName("dcrash");
};

// ListDBs does not list it and removes what was left; an open then makes
// a new, empty dictionary of the name.
TEST_P(DestroyCrashTest, ListRemovesWhatTheDestroyerLeft) {
  auto names = ListDBs(Options());
  ASSERT_THAT(names.status(), IsOk());
  EXPECT_EQ(std::count(names->begin(), names->end(), name_), 0);
  EXPECT_TRUE(FilesOf(name_).empty());
  auto db = DB::Open(OptionsFor(lifetime()), name_);
  ASSERT_THAT(db.status(), IsOk());
  std::string value;
  EXPECT_TRUE(absl::IsNotFound((*db)->Get("k1", &value)));
}

// An open (with error_if_exists: it is gone) finishes the removal and
// creates the dictionary anew, instead of finding it destroyed again and
// again until it gives up.
TEST_P(DestroyCrashTest, OpenMakesItAnew) {
  Options options = OptionsFor(lifetime());
  options.error_if_exists = true;
  auto db = DB::Open(options, name_);
  ASSERT_THAT(db.status(), IsOk());
  std::string value;
  EXPECT_TRUE(absl::IsNotFound((*db)->Get("in-log", &value)));
  ASSERT_THAT((*db)->Put("new", "1"), IsOk());
  db->reset();
  if (lifetime() == "persistent") {
    auto again = DB::Open(OptionsFor(lifetime()), name_);
    ASSERT_THAT(again.status(), IsOk());
    EXPECT_THAT((*again)->Get("new", &value), IsOk());
  }
}

// DestroyDB finishes it: OK, and nothing of the name is left.
TEST_P(DestroyCrashTest, DestroyFinishesIt) {
  EXPECT_THAT(DestroyDB(name_, OptionsFor(lifetime())), IsOk());
  EXPECT_TRUE(FilesOf(name_).empty());
}

INSTANTIATE_TEST_SUITE_P(
    Kills, DestroyCrashTest,
    ::testing::Values(Kill{"persistent", "destroy.after_mark", 0},
                      Kill{"until-last-close", "destroy.after_mark", 0},
                      Kill{"persistent", "destroy.removing", 1},
                      Kill{"until-last-close", "destroy.removing", 1}),
    KillName);

}  // namespace
}  // namespace ultradict

int main(int argc, char** argv) {
  return ultradict::testing::TestMainWithChildren(argc, argv,
                                                  ultradict::RunChild);
}
