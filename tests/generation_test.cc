// generation_test.cc: a generation on its own (db/generation.h), without a
// DB: loading, indexing records, lookups through the index, the snapshot
// and the unindexed tail, carrying records over, and damage.

#include "db/generation.h"

#include <cstring>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "db/control_block.h"
#include "gtest/gtest.h"
#include "tests/generation_testutil.h"
#include "tests/testutil.h"
#include "util/checksum.h"

namespace ultradict {
namespace {

using testing::GenerationFixture;
using testing::IsOk;

// Looks key up in g (with the records [applied, tail_end) unindexed):
// its value, "<missing>" or "<error: ...>".
std::string Read(const Generation& g, const std::string& key,
                 uint32_t tail_end = 0) {
  std::string scratch;
  std::string_view value;
  absl::Status s = g.Lookup(key, &scratch, &value, tail_end);
  if (absl::IsNotFound(s)) return "<missing>";
  if (!s.ok()) return absl::StrCat("<error: ", s.ToString(), ">");
  return std::string(value);
}

bool Exists(const Generation& g, const std::string& key,
            uint32_t tail_end = 0) {
  bool exists = false;
  EXPECT_TRUE(g.Exists(key, Hash64(key), tail_end, &exists).ok());
  return exists;
}

TEST(GenerationTest, GenerationZeroIsEmptyAndHasNoFiles) {
  GenerationFixture fixture;
  absl::StatusOr<std::shared_ptr<Generation>> g =
      LoadGeneration(fixture.files(), 0);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->gen, 0u);
  EXPECT_EQ(Read(**g, "a"), "<missing>");
  EXPECT_FALSE(Exists(**g, "a"));
}

TEST(GenerationTest, MissingGenerationIsNotFound) {
  GenerationFixture fixture;
  EXPECT_TRUE(absl::IsNotFound(LoadGeneration(fixture.files(), 7).status()));
}

TEST(GenerationTest, LogOverridesSnapshotLatestWins) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({{"a", "1"}, {"b", "2"}});
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(Read(*g, "a"), "1");
  uint32_t end = 0;
  WriteBatch first;
  first.Put("a", "3");
  first.Delete("b");
  GenerationFixture::Append(g.get(), first, &end);
  WriteBatch second;
  second.Put("c", "4");
  second.Put("a", "5");
  GenerationFixture::Append(g.get(), second, &end);
  ASSERT_THAT(g->ApplyRecords(end, [] {}), IsOk());
  EXPECT_EQ(g->applied, end);
  EXPECT_EQ(g->applied_records, 2u);
  EXPECT_EQ(Read(*g, "a"), "5");
  EXPECT_EQ(Read(*g, "b"), "<missing>");
  EXPECT_EQ(Read(*g, "c"), "4");
  EXPECT_TRUE(Exists(*g, "a"));
  EXPECT_FALSE(Exists(*g, "b"));
  EXPECT_FALSE(Exists(*g, "zz"));
}

TEST(GenerationTest, UnindexedTailIsSearchedFirst) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({{"a", "1"}, {"b", "2"}});
  ASSERT_NE(g, nullptr);
  uint32_t end = 0;
  WriteBatch batch;
  batch.Put("a", "tail");
  batch.Delete("b");
  GenerationFixture::Append(g.get(), batch, &end);
  const uint64_t head = control::MakeHead(g->gen, end);
  EXPECT_EQ(g->SearchableTailEnd(head), end);
  // Another generation's head, or one past the log: not searchable.
  EXPECT_EQ(g->SearchableTailEnd(control::MakeHead(g->gen + 1, end)), 0u);
  EXPECT_EQ(g->SearchableTailEnd(control::MakeHead(g->gen, 0)), 0u);
  EXPECT_EQ(Read(*g, "a", end), "tail");
  EXPECT_EQ(Read(*g, "a"), "1");  // Not indexed: the snapshot's.
  EXPECT_EQ(Read(*g, "b", end), "<missing>");
  EXPECT_FALSE(Exists(*g, "b", end));
  EXPECT_TRUE(Exists(*g, "b"));
  EXPECT_EQ(g->applied, 0u);
}

TEST(GenerationTest, LongTailIsNotSearchedInPlace) {
  GenerationFixture fixture(1 << 20);
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  uint32_t end = 0;
  while (end <= kMaxTailBytes) {
    WriteBatch batch;
    batch.Put(absl::StrCat("k", end), std::string(100, 'v'));
    GenerationFixture::Append(g.get(), batch, &end);
  }
  EXPECT_EQ(g->SearchableTailEnd(control::MakeHead(g->gen, end)), 0u);
}

TEST(GenerationTest, DamagedRecordIsDataLossAndEarlierOnesStayIndexed) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  uint32_t end = 0;
  WriteBatch good;
  good.Put("good", "1");
  GenerationFixture::Append(g.get(), good, &end);
  const uint32_t damaged_at = end;
  WriteBatch bad;
  bad.Put("bad", "2");
  GenerationFixture::Append(g.get(), bad, &end);
  const_cast<char*>(g->records)[end - 1] ^= 0x40;  // In the value.
  absl::Status s = g->ApplyRecords(end, [] {});
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find(g->log_segment.path()), std::string::npos) << s;
  EXPECT_NE(s.message().find(absl::StrCat("offset ", 64 + damaged_at)),
            std::string::npos)
      << s;
  EXPECT_EQ(g->applied, damaged_at);
  EXPECT_EQ(Read(*g, "good"), "1");
  EXPECT_EQ(Read(*g, "bad"), "<missing>");
}

TEST(GenerationTest, HeadMovingBackIsDataLoss) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  uint32_t end = 0;
  WriteBatch batch;
  batch.Put("k", "v");
  GenerationFixture::Append(g.get(), batch, &end);
  ASSERT_THAT(g->ApplyRecords(end, [] {}), IsOk());
  EXPECT_TRUE(absl::IsDataLoss(g->ApplyRecords(end - 1, [] {})));
}

TEST(GenerationTest, BetweenIsCalledOncePerRecord) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  uint32_t end = 0;
  for (int i = 0; i < 5; i++) {
    WriteBatch batch;
    batch.Put(absl::StrCat("k", i), "v");
    GenerationFixture::Append(g.get(), batch, &end);
  }
  int calls = 0;
  ASSERT_THAT(g->ApplyRecords(end, [&calls] { calls++; }), IsOk());
  EXPECT_EQ(calls, 5);
}

TEST(GenerationTest, CarryRecordsMovesThemAndIndexesThem) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> old = fixture.Make({{"s", "0"}});
  ASSERT_NE(old, nullptr);
  uint32_t end = 0;
  uint32_t second_at = 0;
  for (int i = 0; i < 3; i++) {
    if (i == 1) second_at = end;
    WriteBatch batch;
    batch.Put(absl::StrCat("k", i), absl::StrCat("v", i));
    GenerationFixture::Append(old.get(), batch, &end);
  }
  ASSERT_THAT(old->ApplyRecords(end, [] {}), IsOk());
  // The next generation's snapshot holds the first record; it carries the
  // other two.
  std::shared_ptr<Generation> next =
      fixture.Next(*old, {{"k0", std::string("v0")}});
  ASSERT_NE(next, nullptr);
  bool fits = false;
  ASSERT_THAT(next->CarryRecords(*old, second_at, end, &fits, [] {}), IsOk());
  EXPECT_TRUE(fits);
  EXPECT_EQ(next->applied, end - second_at);
  EXPECT_EQ(next->applied_records, 2u);
  EXPECT_EQ(Read(*next, "s"), "0");
  EXPECT_EQ(Read(*next, "k0"), "v0");
  EXPECT_EQ(Read(*next, "k1"), "v1");
  EXPECT_EQ(Read(*next, "k2"), "v2");
  // Records outside the old log are refused; too many do not fit.
  EXPECT_TRUE(absl::IsDataLoss(next->CarryRecords(
      *old, 0, static_cast<uint32_t>(old->record_capacity + 1), &fits, [] {})));
  std::shared_ptr<Generation> big = fixture.Make({});
  ASSERT_NE(big, nullptr);
  uint32_t big_end = 0;
  while (big_end + 600 < big->record_capacity) {
    WriteBatch batch;
    batch.Put(absl::StrCat("b", big_end), std::string(500, 'x'));
    GenerationFixture::Append(big.get(), batch, &big_end);
  }
  const uint32_t before = next->applied;
  ASSERT_THAT(next->CarryRecords(*big, 0, big_end, &fits, [] {}), IsOk());
  if (big_end > next->record_capacity - before) {
    EXPECT_FALSE(fits);
    EXPECT_EQ(next->applied, before);  // Nothing carried.
  }
}

TEST(GenerationTest, LoadGenerationMapsWhatWasWritten) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> made = fixture.Make({{"a", "1"}});
  ASSERT_NE(made, nullptr);
  uint32_t end = 0;
  WriteBatch batch;
  batch.Put("b", "2");
  GenerationFixture::Append(made.get(), batch, &end);
  absl::StatusOr<std::shared_ptr<Generation>> loaded =
      LoadGeneration(fixture.files(), made->gen);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  Generation& g = **loaded;
  EXPECT_EQ(g.record_capacity, made->record_capacity);
  EXPECT_EQ(g.compact_at, made->compact_at);
  ASSERT_THAT(g.ApplyRecords(end, [] {}), IsOk());
  EXPECT_EQ(Read(g, "a"), "1");
  EXPECT_EQ(Read(g, "b"), "2");
}

TEST(GenerationTest, SegmentsOfAnotherGenerationAreDataLoss) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> made = fixture.Make({{"a", "1"}});
  ASSERT_NE(made, nullptr);
  // Generation 1's files under generation 2's names.
  const GenerationFiles& files = fixture.files();
  ASSERT_THAT(port::Link(files.SnapshotPath(1), files.SnapshotPath(2)), IsOk());
  ASSERT_THAT(port::Link(files.LogPath(1), files.LogPath(2)), IsOk());
  EXPECT_TRUE(absl::IsDataLoss(LoadGeneration(files, 2).status()));
}

TEST(GenerationTest, ReserveFileFailsOnceFilesAreClosed) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  EXPECT_THAT(g->ReserveLog(0, 16), IsOk());
  EXPECT_GE(g->reserved.load(), 16u);
  g->CloseFiles();
  EXPECT_TRUE(absl::IsFailedPrecondition(g->ReserveFile(64, 4096)));
  // Records already reserved need no file; others do.
  EXPECT_THAT(g->ReserveLog(0, 16), IsOk());
  EXPECT_TRUE(
      absl::IsFailedPrecondition(g->ReserveLog(g->reserved.load(), 16)) ||
      g->reserved.load() >= g->record_capacity);
}

}  // namespace
}  // namespace ultradict
