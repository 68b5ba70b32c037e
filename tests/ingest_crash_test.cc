// ingest_crash_test.cc: DB::IngestSorted killed inside the call. A child
// process (this binary re-exec'd, linked with the fault-point engine) is
// killed (SIGKILL) at each fault point inside the call, and at random
// times in a loop of loads; the survivor sees the old contents or the new,
// never a mix, nothing acknowledged is lost, and the next writer removes
// what the child left.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/ingest_testutil.h"
#include "tests/subprocess.h"
#include "ultradict/db.h"

namespace ultradict {
namespace ingest_testing {
namespace {

constexpr int kCrashKeys = 4000;

// Every key [0, kCrashKeys) with the value "rR-i".
Model RoundModel(int64_t round) {
  Model m;
  for (int i = 0; i < kCrashKeys; i++)
    m[Key(i)] = absl::StrCat("r", round, "-", i);
  return m;
}

// The child: ingests round `round` (kMerge) once, or rounds round,
// round + 1, ... for ever ("loop"), reporting each round done on fd 3.
int RunChild(int argc, char** argv) {
  std::map<std::string, std::string> args = testing::ParseChildArgs(argc, argv);
  Options options;
  options.create_if_missing = false;
  auto db = DB::Open(options, args["name"]);
  int64_t round = 0;
  if (!db.ok() || !absl::SimpleAtoi(args["round"], &round)) return 2;
  do {
    const Model m = RoundModel(round);
    absl::Status s = (*db)->IngestSorted(EntriesOf(m), IngestMode::kMerge);
    if (!s.ok()) {
      std::fprintf(stderr, "ingest child: %s\n", s.ToString().c_str());
      return 1;
    }
    testing::WriteAll(testing::kReportFd, absl::StrCat(round++, "\n"));
  } while (args["child"] == "loop");
  return 0;
}

class IngestCrashTest : public IngestFixture {
 protected:
  // The round (all keys "rR-...") that the dictionary holds; -1 when it
  // holds something else (a mix, or keys missing).
  int64_t RoundHeld() {
    const Model m = Contents(db_.get());
    if (m.size() != kCrashKeys) return -1;
    int64_t round = -1;
    const std::string& v = m.begin()->second;
    if (!absl::SimpleAtoi(v.substr(1, v.find('-') - 1), &round)) return -1;
    return m == RoundModel(round) ? round : -1;
  }
  // After a writer died: the next write recovers; then only the current
  // generation's two files are left besides the control segment.
  void ExpectRecovered() {
    ASSERT_THAT(db_->Put("after", "crash"), IsOk());
    ASSERT_THAT(db_->Delete("after"), IsOk());
    const std::string gen =
        absl::StrCat(Property(db_.get(), "ultradict.generation"));
    int current = 0;
    for (const std::string& f : FilesOf(name_)) {
      if (f == "ud." + name_) continue;
      EXPECT_EQ(f.rfind(absl::StrCat("ud.", name_, ".", gen, "."), 0), 0u)
          << f << " left (generation " << gen << ")";
      current++;
    }
    EXPECT_EQ(current, 2);
    EXPECT_THAT(db_->CompactLog(), IsOk());
  }
};

TEST_F(IngestCrashTest, KilledAtEachFaultPointLeavesOldOrNew) {
  struct Point {
    const char* name;
    bool published;  // Killed after the new head was published.
  };
  const Point points[] = {{"ingest.before_snapshot", false},
                          {"ingest.after_snapshot", false},
                          {"compact.before_publish", false},
                          {"compact.after_publish", true}};
  int64_t round = 0;
  for (const Point& point : points) {
    SCOPED_TRACE(point.name);
    // The old state: round `round` in a snapshot, then again in the log
    // for a part of the keys (so that the merge reads both).
    ASSERT_THAT(
        db_->IngestSorted(EntriesOf(RoundModel(round)), IngestMode::kReplace),
        IsOk());
    for (int i = 0; i < 50; i++) {
      ASSERT_THAT(db_->Put(Key(i), absl::StrCat("r", round, "-", i)), IsOk());
    }
    std::string how;
    ASSERT_TRUE(testing::RunSelfUntilKilled(
        {"--child=once", "--name=" + name_,
         absl::StrCat("--round=", round + 1)},
        {absl::StrCat("ULTRADICT_FAULT_POINT=", point.name),
         "ULTRADICT_FAULT_SKIP=0"},
        60 * 1000, &how))
        << how;
    EXPECT_EQ(RoundHeld(), point.published ? round + 1 : round);
    ExpectRecovered();
    EXPECT_EQ(RoundHeld(), point.published ? round + 1 : round);
    round += 2;
  }
}

TEST_F(IngestCrashTest, KilledAtRandomTimesLeavesOldOrNew) {
  ASSERT_THAT(db_->IngestSorted(EntriesOf(RoundModel(0)), IngestMode::kMerge),
              IsOk());
  std::mt19937 rng(99);
  int64_t next = 1;  // The round the next child starts with.
  for (int kill = 0; kill < 12; kill++) {
    testing::Child child = testing::SpawnSelf(
        {"--child=loop", "--name=" + name_, absl::StrCat("--round=", next)});
    ASSERT_GT(child.pid, 0);
    std::string line;
    ASSERT_TRUE(testing::ReadLine(child.from_child, &line, 60 * 1000));
    usleep(static_cast<useconds_t>(rng() % 30000));
    testing::KillAndReap(child.pid);
    // The last round it acknowledged before the kill.
    int64_t acked = 0;
    do {
      ASSERT_TRUE(absl::SimpleAtoi(line, &acked)) << line;
    } while (testing::ReadLine(child.from_child, &line, 1000));
    testing::ClosePipes(&child);
    // That round, or the next one if it was published but not reported.
    const int64_t held = RoundHeld();
    EXPECT_GE(held, acked) << "kill " << kill;
    EXPECT_LE(held, acked + 1) << "kill " << kill;
    ExpectRecovered();
    next = std::max(held, acked) + 1;
  }
}

}  // namespace
}  // namespace ingest_testing
}  // namespace ultradict

int main(int argc, char** argv) {
  return ultradict::testing::TestMainWithChildren(
      argc, argv, ultradict::ingest_testing::RunChild);
}
