// change_cursor_test.cc: DB::ReadChangesFrom, the change feed's cursor: it
// delivers what ReadChanges does, continues across compactions and other
// processes' handles, says OutOfRange when its updates were folded into a
// snapshot and DataLoss for a damaged record.

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "port/port.h"
#include "tests/testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::UniqueName;

// Every update as a line, and "end" after each committed record.
struct Collect : WriteBatch::Handler {
  std::vector<std::string> seen;
  void Put(std::string_view k, std::string_view v) override {
    seen.push_back(absl::StrCat("put ", std::string(k), "=",
                                std::string(v.substr(0, 12)), "/", v.size()));
  }
  void Delete(std::string_view k) override {
    seen.push_back(absl::StrCat("del ", std::string(k)));
  }
  void EndOfBatch() override { seen.push_back("end"); }
};

class ChangeCursorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = UniqueName("cursor");
    options_.log_size = 256 << 10;  // Small: compactions come quickly.
    // Compactions where the tests put them (CompactLog, or a full log):
    // a background one freezes the log at a moment of its own, and folds
    // the records of the round written before it, which a reader that
    // reads after each round has not read yet (OutOfRange, as documented).
    options_.background_compaction = false;
    auto db = DB::Open(options_, name_);
    ASSERT_THAT(db.status(), IsOk());
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    DestroyDB(name_, options_).IgnoreError();
    EXPECT_TRUE(testing::LeftoverFiles(name_).empty());
  }

  // Round r of mixed updates: puts (some large, compressed), a delete and
  // a batch of three.
  void WriteRound(int r) {
    for (int i = 0; i < 5; i++) {
      const size_t size = i == 4 ? 5000 : 20;
      ASSERT_THAT(db_->Put(absl::StrCat("k", r, "_", i),
                           std::string(size, static_cast<char>('a' + i))),
                  IsOk());
    }
    ASSERT_THAT(db_->Delete(absl::StrCat("k", r, "_1")), IsOk());
    WriteBatch batch;
    batch.Put(absl::StrCat("b", r), "x");
    batch.Delete(absl::StrCat("k", r, "_2"));
    batch.Put(absl::StrCat("b", r), "y");
    ASSERT_THAT(db_->Write(batch), IsOk());
  }

  Options options_;
  std::string name_;
  std::unique_ptr<DB> db_;
};

TEST_F(ChangeCursorTest, EqualsReadChangesRoundAfterRound) {
  ChangeCursor cursor{db_->LatestSequence()};
  for (int r = 0; r < 20; r++) {
    const uint64_t before = cursor.sequence;
    WriteRound(r);
    Collect by_cursor, by_sequence;
    ASSERT_THAT(db_->ReadChangesFrom(&cursor, &by_cursor), IsOk());
    auto reached = db_->ReadChanges(before, &by_sequence);
    ASSERT_THAT(reached.status(), IsOk());
    EXPECT_EQ(cursor.sequence, *reached);
    EXPECT_EQ(cursor.sequence, db_->LatestSequence());
    EXPECT_EQ(cursor.sequence - before, 7u);  // 5 puts, a delete, a batch.
    EXPECT_EQ(by_cursor.seen, by_sequence.seen) << r;
    ASSERT_EQ(by_cursor.seen.size(), 16u);  // 10 + 2 + 4.
    EXPECT_EQ(by_cursor.seen.back(), "end");
    EXPECT_EQ(by_cursor.seen[0],
              absl::StrCat("put k", r, "_0=aaaaaaaaaaaa/20"));
  }
  // Nothing new: nothing delivered, the cursor stays.
  const ChangeCursor at = cursor;
  Collect none;
  ASSERT_THAT(db_->ReadChangesFrom(&cursor, &none), IsOk());
  EXPECT_TRUE(none.seen.empty());
  EXPECT_EQ(cursor.sequence, at.sequence);
  EXPECT_EQ(cursor.offset, at.offset);
  EXPECT_EQ(cursor.generation, at.generation);
}

TEST_F(ChangeCursorTest, ContinuesAcrossCompactions) {
  ChangeCursor cursor{db_->LatestSequence()};
  uint32_t generations_seen = 0, last_generation = cursor.generation;
  size_t ends = 0;
  for (int r = 0; r < 30; r++) {
    WriteRound(r);
    Collect c;
    ASSERT_THAT(db_->ReadChangesFrom(&cursor, &c), IsOk()) << r;
    for (const std::string& s : c.seen) ends += s == "end";
    EXPECT_EQ(c.seen[0], absl::StrCat("put k", r, "_0=aaaaaaaaaaaa/20"));
    EXPECT_EQ(cursor.sequence, db_->LatestSequence());
    if (cursor.generation != last_generation) generations_seen++;
    last_generation = cursor.generation;
    // Compacted after reading: the next round is read from the new log.
    if (r % 3 == 2) {
      ASSERT_THAT(db_->CompactLog(), IsOk());
    }
  }
  EXPECT_GE(generations_seen, 10u);
  EXPECT_EQ(ends, 30u * 7);  // Every record once.
}

TEST_F(ChangeCursorTest, OutOfRangeWhenFoldedIntoASnapshot) {
  ChangeCursor cursor{db_->LatestSequence()};
  WriteRound(0);
  Collect first;
  ASSERT_THAT(db_->ReadChangesFrom(&cursor, &first), IsOk());
  WriteRound(1);
  ASSERT_THAT(db_->CompactLog(), IsOk());
  const ChangeCursor before = cursor;
  Collect c;
  absl::Status s = db_->ReadChangesFrom(&cursor, &c);
  EXPECT_TRUE(absl::IsOutOfRange(s)) << s;
  EXPECT_TRUE(c.seen.empty());
  EXPECT_EQ(cursor.sequence, before.sequence);
  EXPECT_EQ(cursor.offset, before.offset);
  EXPECT_EQ(cursor.generation, before.generation);
  // A fresh cursor at the dictionary's sequence continues from there.
  cursor = ChangeCursor{db_->LatestSequence()};
  WriteRound(2);
  ASSERT_THAT(db_->ReadChangesFrom(&cursor, &c), IsOk());
  EXPECT_EQ(c.seen.size(), 16u);
}

TEST_F(ChangeCursorTest, AnotherHandleFollowsTheWriter) {
  auto reader = DB::Open(options_, name_);
  ASSERT_THAT(reader.status(), IsOk());
  ChangeCursor cursor{(*reader)->LatestSequence()};
  size_t ends = 0;
  for (int r = 0; r < 40; r++) {
    WriteRound(r);  // 40 rounds of ~5 KiB, with compactions between some.
    Collect c;
    ASSERT_THAT((*reader)->ReadChangesFrom(&cursor, &c), IsOk()) << r;
    for (const std::string& seen : c.seen) ends += seen == "end";
    if (r % 10 == 9) {
      ASSERT_THAT(db_->CompactLog(), IsOk());
    }
  }
  EXPECT_EQ(ends, 40u * 7);
  std::string generation;
  ASSERT_TRUE(db_->GetProperty("ultradict.generation", &generation));
  EXPECT_GE(std::stoi(generation), 4) << "compactions were followed";
  EXPECT_EQ(cursor.sequence, db_->LatestSequence());
}

TEST_F(ChangeCursorTest, AheadOfTheDictionaryDeliversNothing) {
  WriteRound(0);
  ChangeCursor cursor{db_->LatestSequence() + 5};
  Collect c;
  ASSERT_THAT(db_->ReadChangesFrom(&cursor, &c), IsOk());
  EXPECT_TRUE(c.seen.empty());
  EXPECT_EQ(cursor.sequence, db_->LatestSequence() + 5);
  EXPECT_EQ(cursor.generation, 0u);
  EXPECT_EQ(cursor.offset, 0u);
}

TEST_F(ChangeCursorTest, PlaceOutsideTheLogIsInvalidArgument) {
  ChangeCursor cursor{db_->LatestSequence()};
  WriteRound(0);
  Collect c;
  ASSERT_THAT(db_->ReadChangesFrom(&cursor, &c), IsOk());
  ASSERT_NE(cursor.generation, 0u);
  cursor.offset += 1 << 20;
  absl::Status s = db_->ReadChangesFrom(&cursor, &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
}

TEST_F(ChangeCursorTest, DamagedRecordIsDataLoss) {
  ChangeCursor cursor{db_->LatestSequence()};
  ASSERT_THAT(db_->Put("a", "1"), IsOk());
  Collect c;
  ASSERT_THAT(db_->ReadChangesFrom(&cursor, &c), IsOk());
  ASSERT_THAT(db_->Put("b", "2"), IsOk());
  ASSERT_THAT(db_->Put("c", "3"), IsOk());
  std::string log_file;
  for (const std::string& f : testing::LeftoverFiles(name_)) {
    if (absl::EndsWith(f, ".log")) log_file = f;
  }
  ASSERT_FALSE(log_file.empty());
  const std::string path =
      absl::StrCat(port::SegmentDirectory(""), "/", log_file);
  // Flips a byte of the payload of "b"'s record (after the 64-byte log
  // header and the record's 9-byte header): the mapping sees it.
  const int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  const off_t at = 64 + cursor.offset + 9 + 2;
  char byte = 0;
  ASSERT_EQ(pread(fd, &byte, 1, at), 1);
  byte ^= 0x40;
  ASSERT_EQ(pwrite(fd, &byte, 1, at), 1);
  close(fd);
  const ChangeCursor before = cursor;
  Collect d;
  absl::Status s = db_->ReadChangesFrom(&cursor, &d);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), log_file)) << s;
  EXPECT_TRUE(d.seen.empty());
  EXPECT_EQ(cursor.sequence, before.sequence);
  EXPECT_EQ(cursor.offset, before.offset);
  EXPECT_TRUE(absl::IsDataLoss(db_->ReadChanges(before.sequence, &d).status()));
}

}  // namespace
}  // namespace ultradict
