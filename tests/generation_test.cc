// generation_test.cc: a generation on its own (db/generation.h), without a
// DB: loading, indexing records into the shared index, lookups at older
// and newer heads, counting records, repairing after a dead writer, a full
// index, carrying records over, and damage.

#include "db/generation.h"

#include <cstring>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "db/control_block.h"
#include "db/log_format.h"
#include "db/write_batch_internal.h"
#include "gtest/gtest.h"
#include "tests/generation_testutil.h"
#include "tests/testutil.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ultradict {
namespace {

using testing::GenerationFixture;
using testing::IsOk;

// Looks key up in g as a reader at head offset `end` does: its value,
// "<missing>" or "<error: ...>".
std::string Read(const Generation& g, const std::string& key,
                 uint32_t end = 0) {
  std::string scratch;
  std::string_view value;
  absl::Status s = g.Lookup(key, &scratch, &value, end);
  if (absl::IsNotFound(s)) return "<missing>";
  if (!s.ok()) return absl::StrCat("<error: ", s.ToString(), ">");
  return std::string(value);
}

bool Exists(const Generation& g, const std::string& key, uint32_t end = 0) {
  std::string scratch;
  std::string_view value;
  const absl::Status s = g.Lookup(key, &scratch, &value, end);
  EXPECT_TRUE(s.ok() || absl::IsNotFound(s)) << s;
  return s.ok();
}

// Indexes g's records [from, to) as a writer does; they must fit.
void Index(Generation* g, uint32_t from, uint32_t to) {
  bool fits = false;
  ASSERT_THAT(g->IndexRecords(from, to, &fits, [] {}), IsOk());
  EXPECT_TRUE(fits);
}

void ExpectProgress(const Generation& g, uint32_t offset, uint32_t records) {
  uint32_t at, count;
  g.index.Progress(&at, &count);
  EXPECT_EQ(at, offset);
  EXPECT_EQ(count, records);
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
  const uint32_t first_end = end;
  WriteBatch second;
  second.Put("c", "4");
  second.Put("a", "5");
  GenerationFixture::Append(g.get(), second, &end);
  Index(g.get(), 0, end);
  ExpectProgress(*g, end, 2);
  EXPECT_EQ(Read(*g, "a", end), "5");
  EXPECT_EQ(Read(*g, "b", end), "<missing>");
  EXPECT_EQ(Read(*g, "c", end), "4");
  EXPECT_TRUE(Exists(*g, "a", end));
  EXPECT_FALSE(Exists(*g, "b", end));
  EXPECT_FALSE(Exists(*g, "zz", end));
  // Older heads see what was below them: the snapshot, then the first.
  EXPECT_EQ(Read(*g, "a", 0), "1");
  EXPECT_EQ(Read(*g, "b", 0), "2");
  EXPECT_EQ(Read(*g, "c", 0), "<missing>");
  EXPECT_TRUE(Exists(*g, "b", 0));
  EXPECT_EQ(Read(*g, "a", first_end), "3");
  EXPECT_EQ(Read(*g, "b", first_end), "<missing>");
  EXPECT_EQ(Read(*g, "c", first_end), "<missing>");
}

TEST(GenerationTest, RecordsBelowCountsFromTheProgress) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  std::vector<uint32_t> ends = {0};
  uint32_t end = 0;
  for (int i = 0; i < 4; i++) {
    WriteBatch batch;
    batch.Put(absl::StrCat("k", i), std::string(i * 10, 'v'));
    GenerationFixture::Append(g.get(), batch, &end);
    ends.push_back(end);
  }
  for (uint32_t i = 0; i < ends.size(); i++) {
    absl::StatusOr<uint32_t> n = g->RecordsBelow(ends[i]);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, i);
  }
  Index(g.get(), 0, ends[2]);
  ExpectProgress(*g, ends[2], 2);
  for (uint32_t i = 0; i < ends.size(); i++) {  // Before and past it.
    absl::StatusOr<uint32_t> n = g->RecordsBelow(ends[i]);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, i);
  }
  // A length that runs past the end: DataLoss naming the record.
  EncodeFixed32(const_cast<char*>(g->records) + ends[3] + 4, 1 << 20);
  absl::StatusOr<uint32_t> n = g->RecordsBelow(ends[4]);
  EXPECT_TRUE(absl::IsDataLoss(n.status())) << n.status();
  EXPECT_NE(n.status().message().find(absl::StrCat("offset ", 64 + ends[3])),
            std::string::npos)
      << n.status();
  EXPECT_TRUE(absl::IsDataLoss(g->RecordsBelow(ends[2] + 3).status()));
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
  bool fits = false;
  absl::Status s = g->IndexRecords(0, end, &fits, [] {});
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find(g->log_segment.path()), std::string::npos) << s;
  EXPECT_NE(s.message().find(absl::StrCat("offset ", 64 + damaged_at)),
            std::string::npos)
      << s;
  ExpectProgress(*g, damaged_at, 1);
  EXPECT_EQ(Read(*g, "good", damaged_at), "1");
  EXPECT_EQ(Read(*g, "bad", damaged_at), "<missing>");
}

// A writer that died after adding a record's entries to the index, before
// publishing the head: the next one repairs.
TEST(GenerationTest, RepairIndexUndoesAnUnpublishedRecord) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({{"s", "snap"}});
  ASSERT_NE(g, nullptr);
  uint32_t end = 0;
  WriteBatch batch;
  batch.Put("a", "1");
  GenerationFixture::Append(g.get(), batch, &end);
  Index(g.get(), 0, end);
  const uint32_t head = end;
  WriteBatch dead;
  dead.Put("a", "dead");
  dead.Put("s", "dead");
  dead.Put("new", "dead");
  GenerationFixture::Append(g.get(), dead, &end);
  std::string scratch;
  bool fits = false;
  ASSERT_THAT(g->MakeIndexRoom(3, &fits), IsOk());
  ASSERT_TRUE(fits);
  WriteBatchInternal::Entries entries;
  ASSERT_THAT(WriteBatchInternal::Decode(
                  std::string_view(g->records + head + log::kRecordHeaderSize,
                                   end - head - log::kRecordHeaderSize),
                  &entries),
              IsOk());
  for (const auto& e : entries) {
    ASSERT_THAT(g->index.Add(e.key, Hash64(e.key),
                             static_cast<uint32_t>(e.start - g->records), 0,
                             end, &scratch),
                IsOk());
  }
  EXPECT_EQ(Read(*g, "a", head), "1");  // Readers at the head skip them.
  EXPECT_TRUE(g->index.NeedsRepair(head));
  ASSERT_THAT(g->RepairIndex(head), IsOk());
  ExpectProgress(*g, head, 1);
  // Even a reader past the head (a later record's) no longer finds them.
  EXPECT_EQ(Read(*g, "a", end), "1");
  EXPECT_EQ(Read(*g, "s", end), "snap");
  EXPECT_EQ(Read(*g, "new", end), "<missing>");
  // The next record goes where the dead one was.
  uint32_t next_end = head;
  WriteBatch next;
  next.Put("new", "2");
  GenerationFixture::Append(g.get(), next, &next_end);
  Index(g.get(), head, next_end);
  EXPECT_FALSE(g->index.NeedsRepair(next_end));
  EXPECT_EQ(Read(*g, "new", next_end), "2");
  EXPECT_EQ(Read(*g, "a", next_end), "1");
}

// A writer that died after publishing the head, before the progress.
TEST(GenerationTest, RepairIndexBringsALaggingProgressUp) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  uint32_t end = 0;
  for (int i = 0; i < 3; i++) {
    WriteBatch batch;
    batch.Put("k", absl::StrCat(i));
    GenerationFixture::Append(g.get(), batch, &end);
  }
  Index(g.get(), 0, end);
  g->index.Publish(0, 0);
  EXPECT_TRUE(g->index.NeedsRepair(end));
  ASSERT_THAT(g->RepairIndex(end), IsOk());
  ExpectProgress(*g, end, 3);
  EXPECT_FALSE(g->index.NeedsRepair(end));
  EXPECT_EQ(Read(*g, "k", end), "2");
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
  bool fits = false;
  ASSERT_THAT(g->IndexRecords(0, end, &fits, [&calls] { calls++; }), IsOk());
  EXPECT_EQ(calls, 5);
}

TEST(GenerationTest, FullIndexStopsBeforeTheRecordThatDoesNotFit) {
  GenerationFixture fixture(1 << 20);
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  const uint32_t capacity = g->index.node_capacity();
  uint32_t end = 0;
  std::vector<uint32_t> ends;
  for (uint32_t n = 0; n <= capacity; n += 100) {
    WriteBatch batch;
    for (int i = 0; i < 100; i++) batch.Put(absl::StrCat("k", n + i), "");
    GenerationFixture::Append(g.get(), batch, &end);
    ends.push_back(end);
  }
  bool fits = true;
  ASSERT_THAT(g->IndexRecords(0, end, &fits, [] {}), IsOk());
  EXPECT_FALSE(fits);
  const size_t fitted = capacity / 100;
  ExpectProgress(*g, ends[fitted - 1], static_cast<uint32_t>(fitted));
  EXPECT_TRUE(g->WantsCompaction(ends[fitted - 1]));
  EXPECT_EQ(Read(*g, "k0", ends[fitted - 1]), "");
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
  Index(old.get(), 0, end);
  // The next generation's snapshot holds the first record; it carries the
  // other two.
  std::shared_ptr<Generation> next =
      fixture.Next(*old, {{"k0", std::string("v0")}});
  ASSERT_NE(next, nullptr);
  bool fits = false;
  ASSERT_THAT(next->CarryRecords(*old, second_at, end, &fits, [] {}), IsOk());
  EXPECT_TRUE(fits);
  const uint32_t carried = end - second_at;
  ExpectProgress(*next, carried, 2);
  EXPECT_EQ(Read(*next, "s", carried), "0");
  EXPECT_EQ(Read(*next, "k0", carried), "v0");
  EXPECT_EQ(Read(*next, "k1", carried), "v1");
  EXPECT_EQ(Read(*next, "k2", carried), "v2");
  EXPECT_EQ(Read(*next, "k2", 0), "<missing>");
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
  ASSERT_THAT(next->CarryRecords(*big, 0, big_end, &fits, [] {}), IsOk());
  if (big_end > next->record_capacity - carried) {
    EXPECT_FALSE(fits);
    ExpectProgress(*next, carried, 2);  // Nothing carried.
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
  Index(made.get(), 0, end);
  absl::StatusOr<std::shared_ptr<Generation>> loaded =
      LoadGeneration(fixture.files(), made->gen);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  Generation& g = **loaded;
  EXPECT_EQ(g.record_capacity, made->record_capacity);
  EXPECT_EQ(g.compact_at, made->compact_at);
  // The index is in the segment: the loaded generation indexes nothing.
  ExpectProgress(g, end, 1);
  EXPECT_EQ(g.index.nodes_used(), 1u);
  EXPECT_EQ(Read(g, "a", end), "1");
  EXPECT_EQ(Read(g, "b", end), "2");
  EXPECT_EQ(Read(g, "b", 0), "<missing>");
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
