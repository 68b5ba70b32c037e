// entry_format_test.cc: replication frames (replication/entry_format.h):
// round trips, then foreign, truncated and damaged bytes; and the record
// boundaries DB::ReadChanges reports through WriteBatch::Handler::EndOfBatch.

#include "replication/entry_format.h"

#include <string>
#include <vector>

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

// Collects a batch's updates as "put k v" / "del k" strings.
struct Lister : WriteBatch::Handler {
  std::vector<std::string> ops;
  int batches = 0;
  void Put(std::string_view k, std::string_view v) override {
    ops.push_back("put " + std::string(k) + " " + std::string(v));
  }
  void Delete(std::string_view k) override {
    ops.push_back("del " + std::string(k));
  }
  void EndOfBatch() override {
    ops.push_back("|");
    batches++;
  }
};

Frame TwoRecords(const std::string& value) {
  RecordsBuilder b;
  b.Put("a", value);
  b.Delete("b");
  b.EndOfBatch();
  b.Put("c", "3");
  b.EndOfBatch();
  Frame f;
  f.name = "dict";
  f.seq = 41;
  f.count = b.records();
  f.body = b.body();
  return f;
}

TEST(EntryFormatTest, RecordsRoundTrip) {
  for (bool compress : {false, true}) {
    const std::string value(compress ? 500 : 5, 'v');
    const std::string bytes = EncodeFrame(TwoRecords(value), compress);
    if (compress) {
      EXPECT_LT(bytes.size(), 200u);
    }
    Frame f;
    ASSERT_THAT(DecodeFrame(bytes, "e", &f), IsOk());
    EXPECT_EQ(f.name, "dict");
    EXPECT_EQ(f.seq, 41u);
    EXPECT_EQ(f.count, 2u);
    WriteBatch all, last;
    ASSERT_THAT(DecodeRecords(f, "e", 0, &all), IsOk());
    ASSERT_THAT(DecodeRecords(f, "e", 1, &last), IsOk());
    Lister l1, l2;
    ASSERT_THAT(all.Iterate(&l1), IsOk());
    ASSERT_THAT(last.Iterate(&l2), IsOk());
    EXPECT_THAT(l1.ops, ::testing::ElementsAre("put a " + value, "del b",
                                               "put c 3", "|"));
    EXPECT_THAT(l2.ops, ::testing::ElementsAre("put c 3", "|"));
  }
}

// A checkpoint chunk of dictionary "dict" holding `pairs`.
Frame Chunk(const std::vector<KeyValue>& pairs) {
  Frame f;
  f.kind = FrameKind::kCheckpointChunk;
  f.name = "dict";
  for (const KeyValue& p : pairs) AppendPair(&f.body, p.key, p.value);
  f.count = static_cast<uint32_t>(pairs.size());
  return f;
}

TEST(EntryFormatTest, ChunkPairsMustBeOrdered) {
  const Frame f = Chunk({{"a", "1"}, {"b", "2"}});
  Frame g;
  ASSERT_THAT(DecodeFrame(EncodeFrame(f, true), "c", &g), IsOk());
  std::string last;
  int n = 0;
  ASSERT_THAT(ForEachPair(g, "c", &last,
                          [&](std::string_view, std::string_view) { n++; }),
              IsOk());
  EXPECT_EQ(n, 2);
  EXPECT_EQ(last, "b");
  // The next chunk must continue after "b".
  EXPECT_TRUE(absl::IsDataLoss(ForEachPair(
      g, "c", &last, [&](std::string_view, std::string_view) { n++; })));
  EXPECT_EQ(n, 2);  // Nothing passed on from a bad chunk.
}

TEST(EntryFormatTest, AppendPairsLeavesNothingOfADamagedChunk) {
  std::string last;
  std::vector<KeyValue> pairs;
  // The pairs are views into the chunk: it must outlive them.
  const Frame f = Chunk({{"a", "1"}, {"c", "3"}});
  ASSERT_THAT(AppendPairs(f, "c0", &last, &pairs), IsOk());
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[1].key, "c");
  EXPECT_EQ(pairs[1].value, "3");
  // The second chunk's pairs are fine until its last one, which is cut.
  Frame g = Chunk({{"d", "4"}, {"e", "5"}});
  g.body.pop_back();
  EXPECT_TRUE(absl::IsDataLoss(AppendPairs(g, "c1", &last, &pairs)));
  EXPECT_EQ(pairs.size(), 2u);
  EXPECT_EQ(last, "c");
  // Out of order after the first chunk's last key.
  const Frame h = Chunk({{"d", "4"}, {"b", "2"}});
  EXPECT_TRUE(absl::IsDataLoss(AppendPairs(h, "c2", &last, &pairs)));
  EXPECT_EQ(pairs.size(), 2u);
}

TEST(EntryFormatTest, ForeignBytesAreFailedPrecondition) {
  Frame f;
  EXPECT_TRUE(absl::IsFailedPrecondition(DecodeFrame("hello world", "e", &f)));
  EXPECT_TRUE(absl::IsFailedPrecondition(DecodeFrame("", "e", &f)));
  std::string bytes = EncodeFrame(TwoRecords("x"), false);
  bytes[4] = 2;  // Another version.
  absl::Status s = DecodeFrame(bytes, "entry 7-0", &f);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("entry 7-0"));
}

TEST(EntryFormatTest, EveryTruncationIsDataLoss) {
  const std::string bytes = EncodeFrame(TwoRecords("value"), false);
  for (size_t n = 4; n < bytes.size(); n++) {
    Frame f;
    absl::Status s = DecodeFrame(bytes.substr(0, n), "e", &f);
    EXPECT_TRUE(absl::IsDataLoss(s)) << n << ": " << s;
  }
}

TEST(EntryFormatTest, EveryFlippedByteIsAnError) {
  const std::string bytes = EncodeFrame(TwoRecords("value"), false);
  for (size_t i = 0; i < bytes.size(); i++) {
    std::string bad = bytes;
    bad[i] ^= 0x20;
    Frame f;
    EXPECT_FALSE(DecodeFrame(bad, "e", &f).ok()) << i;
  }
}

TEST(EntryFormatTest, DamagedRecordsLeaveTheBatchUnchanged) {
  Frame f = TwoRecords("v");
  f.count = 3;  // One more than the body holds.
  WriteBatch out;
  out.Put("kept", "1");
  EXPECT_TRUE(absl::IsDataLoss(DecodeRecords(f, "e", 0, &out)));
  EXPECT_EQ(out.Count(), 1u);
  f.count = 1;  // Bytes left over.
  WriteBatch empty;
  EXPECT_TRUE(absl::IsDataLoss(DecodeRecords(f, "e", 0, &empty)));
  EXPECT_EQ(empty.Count(), 0u);
}

// ReadChanges calls EndOfBatch after each committed record, so a batch is
// told apart from the updates around it.
TEST(EntryFormatTest, ReadChangesEndsEachRecord) {
  Options options;
  options.directory = ::testing::TempDir();
  const std::string name = UniqueName("repl_endofbatch");
  ScopedDestroy destroy(name, options);
  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  const uint64_t start = (*db)->LatestSequence();
  ASSERT_THAT((*db)->Put("a", "1"), IsOk());
  WriteBatch batch;
  batch.Put("b", "2");
  batch.Delete("a");
  ASSERT_THAT((*db)->Write(batch), IsOk());
  ASSERT_THAT((*db)->Delete("b"), IsOk());
  RecordsBuilder builder;
  auto reached = (*db)->ReadChanges(start, &builder);
  ASSERT_THAT(reached.status(), IsOk());
  EXPECT_EQ(*reached, start + 3);
  EXPECT_EQ(builder.records(), 3u);
  Frame f;
  f.name = name;
  f.count = builder.records();
  f.body = builder.body();
  WriteBatch second;
  ASSERT_THAT(DecodeRecords(f, "e", 1, &second), IsOk());
  Lister l;
  ASSERT_THAT(second.Iterate(&l), IsOk());
  EXPECT_THAT(l.ops, ::testing::ElementsAre("put b 2", "del a", "del b", "|"));
}

}  // namespace
}  // namespace replication
}  // namespace ultradict
