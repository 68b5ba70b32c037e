// lag_recorder_test.cc: the lag benchmark's accounting
// (replication/lag_recorder.h): keys and values, puts seen through the
// change feed, puts skipped by a compaction found by CatchUp, and what is
// left unseen.

#include "replication/lag_recorder.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace replication {
namespace {

using ::ultradict::testing::IsOk;
using ::ultradict::testing::ScopedDestroy;
using ::ultradict::testing::UniqueName;

TEST(LagRecorderTest, KeysAndValuesRoundTrip) {
  for (uint64_t i : {0ull, 7ull, 123456ull, 9999999999999ull}) {
    const std::string key = LagKey(i);
    EXPECT_EQ(key.size(), 16u);
    uint64_t parsed = 0;
    ASSERT_TRUE(ParseLagKey(key, &parsed)) << key;
    EXPECT_EQ(parsed, i);
  }
  uint64_t ignored;
  for (const char* foreign :
       {"", "key", "key.............", "kez1............", "key1.a..........",
        "key-1...........", "key1.2.........."}) {
    EXPECT_FALSE(ParseLagKey(foreign, &ignored)) << foreign;
  }
  int64_t ns = 0;
  EXPECT_TRUE(ParseLagValue(LagValue(-42), &ns));
  EXPECT_EQ(ns, -42);
  EXPECT_EQ(LagValue(1).size(), 100u);
  EXPECT_FALSE(ParseLagValue("short", &ns));
}

TEST(LagRecorderTest, FeedRecordsEachPutOnce) {
  int64_t clock = 1000;
  LagRecorder rec(3, [&clock] { return clock; });
  rec.Put(LagKey(1), LagValue(400));
  clock = 2000;
  rec.Put(LagKey(1), LagValue(400));  // Again: the first sighting counts.
  rec.Put(LagKey(0), LagValue(500));
  rec.Put("other", "x");
  rec.Put(LagKey(3), LagValue(1));  // Past the puts: foreign.
  rec.Put(LagKey(2), "short");      // Not a LagValue: foreign.
  EXPECT_EQ(rec.seen(), 2u);
  EXPECT_EQ(rec.foreign(), 3u);
  EXPECT_FALSE(rec.all_seen());
  EXPECT_FALSE(rec.seen(2));
  EXPECT_EQ(rec.visible_ns(1), 1000);
  EXPECT_EQ(rec.visible_ns(0), 2000);
  EXPECT_EQ(rec.SortedLags(), (std::vector<int64_t>{600, 1500}));
  EXPECT_EQ(PercentileMs(rec.SortedLags(), 1.0), 1500 / 1e6);
  EXPECT_EQ(PercentileMs({}, 0.5), 0.0);
}

// The situation the benchmark meets: the copy folds records into a
// snapshot before the reader read them (OutOfRange); CatchUp finds the
// puts skipped that way by Get, leaves the ones not written yet to the
// feed, and nothing is left out.
TEST(LagRecorderTest, CatchUpFindsWhatACompactionSkipped) {
  const std::string name = UniqueName("lagrec");
  ScopedDestroy destroy(name);
  Options options;
  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  int64_t clock = 1000;
  LagRecorder rec(12, [&clock] { return clock; });
  ChangeCursor cursor{(*db)->LatestSequence()};
  for (uint64_t i = 0; i < 4; i++) {
    ASSERT_THAT((*db)->Put(LagKey(i), LagValue(100 + i)), IsOk());
  }
  ASSERT_THAT((*db)->ReadChangesFrom(&cursor, &rec), IsOk());
  EXPECT_EQ(rec.seen(), 4u);
  for (uint64_t i = 4; i < 9; i++) {
    ASSERT_THAT((*db)->Put(LagKey(i), LagValue(100 + i)), IsOk());
  }
  ASSERT_THAT((*db)->CompactLog(), IsOk());
  clock = 5000;
  ASSERT_TRUE(absl::IsOutOfRange((*db)->ReadChangesFrom(&cursor, &rec)));
  cursor = ChangeCursor{(*db)->LatestSequence()};
  // Puts 9..10 were issued but are not in the copy yet: NotFound, unseen.
  ASSERT_THAT(rec.CatchUp(db->get(), 11), IsOk());
  EXPECT_EQ(rec.seen(), 9u);
  EXPECT_EQ(rec.by_fallback(), 5u);
  EXPECT_EQ(rec.out_of_range(), 1u);
  EXPECT_TRUE(rec.fallback(4));
  EXPECT_FALSE(rec.fallback(3));
  EXPECT_EQ(rec.visible_ns(8) - rec.commit_ns(8), 5000 - 108);
  EXPECT_FALSE(rec.seen(9));
  // They arrive later, through the feed from the cursor's new place.
  clock = 6000;
  for (uint64_t i = 9; i < 12; i++) {
    ASSERT_THAT((*db)->Put(LagKey(i), LagValue(100 + i)), IsOk());
  }
  ASSERT_THAT((*db)->ReadChangesFrom(&cursor, &rec), IsOk());
  EXPECT_TRUE(rec.all_seen());
  EXPECT_EQ(rec.by_fallback(), 5u);
  EXPECT_FALSE(rec.fallback(9));
  EXPECT_EQ(rec.SortedLags().size(), 12u);
}

TEST(LagRecorderTest, CatchUpRejectsAForeignValue) {
  const std::string name = UniqueName("lagrec");
  ScopedDestroy destroy(name);
  auto db = DB::Open(Options(), name);
  ASSERT_THAT(db.status(), IsOk());
  ASSERT_THAT((*db)->Put(LagKey(0), "short"), IsOk());
  LagRecorder rec(1);
  EXPECT_TRUE(absl::IsDataLoss(rec.CatchUp(db->get(), 1)));
  EXPECT_EQ(rec.seen(), 0u);
}

}  // namespace
}  // namespace replication
}  // namespace ultradict
