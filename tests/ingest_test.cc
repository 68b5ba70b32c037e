// ingest_test.cc: DB::IngestSorted (db/db_impl_ingest.cc), a bulk load
// that builds the next generation's snapshot straight from its entries,
// against a model (std::map): merge and replace over a snapshot and a log,
// on empty and non-empty dictionaries; counters and the change feed; views
// opened before it keep their contents; invalid input writes nothing; a
// reader thread never sees two loads mixed. Killed inside the call:
// ingest_crash_test.cc.

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/ingest_testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace ingest_testing {
namespace {

class IngestTest : public IngestFixture {
 protected:
  // Puts keys [from, to) with values tagged `tag`, into db and model.
  void Fill(int from, int to, const std::string& tag) {
    for (int i = from; i < to; i++) {
      const std::string v = absl::StrCat(tag, i);
      ASSERT_THAT(db_->Put(Key(i), v), IsOk());
      model_[Key(i)] = v;
    }
  }
  // A snapshot with keys [0, 300) (some deleted again), then a log with
  // overwrites and deletes of keys in it and new keys.
  void SnapshotAndLog() {
    Fill(0, 300, "snap");
    ASSERT_THAT(db_->CompactLog(), IsOk());
    Fill(250, 350, "log");
    for (int i = 0; i < 300; i += 7) {
      ASSERT_THAT(db_->Delete(Key(i)), IsOk());
      model_.erase(Key(i));
    }
  }

  Model model_;
};

TEST_F(IngestTest, IntoAnEmptyDictionary) {
  Model in;
  for (int i = 0; i < 1000; i++) in[Key(i)] = absl::StrCat("v", i);
  const uint64_t seq = db_->LatestSequence();
  ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kMerge), IsOk());
  EXPECT_EQ(Contents(db_.get()), in);
  EXPECT_EQ(db_->LatestSequence(), seq + 1);
  EXPECT_EQ(Property(db_.get(), "ultradict.num-entries"), 1000u);
  EXPECT_EQ(Puts(db_.get()), 1000u);
  // An ordinary write goes on from there, into the new (empty) log.
  ASSERT_THAT(db_->Put(Key(5), "after"), IsOk());
  in[Key(5)] = "after";
  EXPECT_EQ(Contents(db_.get()), in);
  EXPECT_EQ(db_->LatestSequence(), seq + 2);
}

TEST_F(IngestTest, MergeOverSnapshotAndLogNewWins) {
  SnapshotAndLog();
  Model in;  // Over snapshot keys, log keys, deleted keys and new keys.
  for (int i = 200; i < 400; i += 3) in[Key(i)] = absl::StrCat("new", i);
  const uint64_t seq = db_->LatestSequence();
  const uint64_t puts = Puts(db_.get());
  ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kMerge), IsOk());
  for (const auto& [k, v] : in) model_[k] = v;
  EXPECT_EQ(Contents(db_.get()), model_);
  EXPECT_EQ(Property(db_.get(), "ultradict.num-entries"), model_.size());
  EXPECT_EQ(db_->LatestSequence(), seq + 1);
  EXPECT_EQ(Puts(db_.get()), puts + in.size());
  // Another handle (another member) sees the same.
  std::unique_ptr<DB> other = Open(name_);
  EXPECT_EQ(Contents(other.get()), model_);
}

TEST_F(IngestTest, ReplaceLeavesExactlyTheEntries) {
  SnapshotAndLog();
  Model in;
  for (int i = 100; i < 500; i += 2) in[Key(i)] = absl::StrCat("only", i);
  ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kReplace), IsOk());
  EXPECT_EQ(Contents(db_.get()), in);
  EXPECT_EQ(Property(db_.get(), "ultradict.num-entries"), in.size());
  // Into a dictionary that never had a snapshot, too.
  ASSERT_THAT(db_->CompactLog(), IsOk());
  EXPECT_EQ(Contents(db_.get()), in);
}

TEST_F(IngestTest, EmptyEntries) {
  Fill(0, 50, "v");
  const uint64_t seq = db_->LatestSequence();
  ASSERT_THAT(db_->IngestSorted({}, IngestMode::kMerge), IsOk());
  EXPECT_EQ(db_->LatestSequence(), seq);  // Nothing happened.
  EXPECT_EQ(Contents(db_.get()), model_);
  ASSERT_THAT(db_->IngestSorted({}, IngestMode::kReplace), IsOk());
  EXPECT_EQ(db_->LatestSequence(), seq + 1);
  EXPECT_TRUE(Contents(db_.get()).empty());
  EXPECT_EQ(Property(db_.get(), "ultradict.num-entries"), 0u);
  ASSERT_THAT(db_->Put("k", "v"), IsOk());
  EXPECT_EQ(Contents(db_.get()), (Model{{"k", "v"}}));
}

TEST_F(IngestTest, InvalidInputWritesNothing) {
  SnapshotAndLog();
  const uint64_t seq = db_->LatestSequence();
  const std::string big_key(kMaxKeySize + 1, 'k');
  const std::vector<std::vector<KeyValue>> bad = {
      {{"b", "1"}, {"a", "2"}},              // Out of order.
      {{"a", "1"}, {"b", "2"}, {"b", "3"}},  // Repeated.
      {{"a", "1"}, {big_key, "2"}},          // Key too large.
      {{"ab", "1"}, {"a", "2"}},             // A prefix after its extension.
      {{std::string_view("a\xff", 2), "1"}, {std::string_view("a\x01", 2), ""}},
  };
  for (size_t i = 0; i < bad.size(); i++) {
    for (IngestMode mode : {IngestMode::kMerge, IngestMode::kReplace}) {
      absl::Status s = db_->IngestSorted(bad[i], mode);
      EXPECT_TRUE(absl::IsInvalidArgument(s)) << i << ": " << s;
    }
  }
  EXPECT_EQ(db_->LatestSequence(), seq);
  EXPECT_EQ(Contents(db_.get()), model_);
  // Bytewise order: 0xff sorts after 0x01 and after every ASCII byte.
  const std::vector<KeyValue> ok = {{"", "empty key"},
                                    {std::string_view("a\x01", 2), "1"},
                                    {"ab", "2"},
                                    {std::string_view("a\xff", 2), "3"}};
  ASSERT_THAT(db_->IngestSorted(ok, IngestMode::kReplace), IsOk());
  Model want;
  for (const KeyValue& e : ok) want[std::string(e.key)] = std::string(e.value);
  EXPECT_EQ(Contents(db_.get()), want);
}

TEST_F(IngestTest, OlderViewsKeepTheirContents) {
  SnapshotAndLog();
  const Model before = model_;
  std::unique_ptr<Iterator> it = db_->NewIterator();
  it->SeekToFirst();
  PinnableValue pinned;
  ASSERT_THAT(db_->GetPinned(Key(1), &pinned), IsOk());
  const std::string pinned_was(pinned.data());
  Model in;
  for (int i = 0; i < 600; i++) in[Key(i)] = absl::StrCat("replaced", i);
  ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kReplace), IsOk());
  // The iterator opened before it still walks the old contents.
  Model seen;
  for (; it->Valid(); it->Next()) {
    seen.emplace(std::string(it->key()), std::string(it->value()));
  }
  EXPECT_THAT(it->status(), IsOk());
  it.reset();
  EXPECT_EQ(seen, before);
  EXPECT_EQ(pinned.data(), pinned_was);
  EXPECT_EQ(Contents(db_.get()), in);
}

TEST_F(IngestTest, ChangeFeedReportsTheGap) {
  Fill(0, 20, "a");
  ChangeCursor cursor{db_->LatestSequence()};
  struct Count : WriteBatch::Handler {
    int puts = 0;
    void Put(std::string_view, std::string_view) override { puts++; }
    void Delete(std::string_view) override {}
  } handler;
  ASSERT_THAT(db_->ReadChangesFrom(&cursor, &handler), IsOk());
  const uint64_t at = cursor.sequence;
  ASSERT_THAT(db_->IngestSorted({{"x", "1"}}, IngestMode::kMerge), IsOk());
  EXPECT_EQ(db_->WaitForChange(at, 0), at + 1);
  EXPECT_TRUE(absl::IsOutOfRange(db_->ReadChangesFrom(&cursor, &handler)));
  EXPECT_EQ(cursor.sequence, at);  // Unchanged, as documented.
  EXPECT_TRUE(absl::IsOutOfRange(db_->ReadChanges(at, &handler).status()));
  // From the ingest's sequence on, the feed works as usual.
  ChangeCursor after{db_->LatestSequence()};
  ASSERT_THAT(db_->Put("y", "2"), IsOk());
  ASSERT_THAT(db_->ReadChangesFrom(&after, &handler), IsOk());
  EXPECT_EQ(handler.puts, 1);
  EXPECT_EQ(after.sequence, at + 2);
}

TEST_F(IngestTest, ReplicaAndLockRulesAsWrite) {
  Options options;
  auto other = DB::Open(options, name_);
  ASSERT_THAT(other.status(), IsOk());
  ASSERT_THAT(db_->SetReplicaOf("redis://primary"), IsOk());
  absl::Status s = (*other)->IngestSorted({{"a", "1"}}, IngestMode::kMerge);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(db_->IngestSorted({{"a", "1"}}, IngestMode::kMerge), IsOk());
  ASSERT_THAT(db_->SetReplicaOf(""), IsOk());
  s = db_->Transact([&](Transaction&) {
    return db_->IngestSorted({{"b", "2"}}, IngestMode::kMerge);
  });
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  {
    auto held = db_->LockWrites(0);  // This thread holds the write lock.
    ASSERT_THAT(held.status(), IsOk());
    s = db_->IngestSorted({{"c", "3"}}, IngestMode::kMerge);
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  }
  EXPECT_EQ(Contents(db_.get()), (Model{{"a", "1"}}));
}

// Random writes, compactions and ingests of both modes against the model.
TEST_F(IngestTest, RandomAgainstModel) {
  std::mt19937 rng(1234);
  const int keys = 3000;
  for (int round = 0; round < 12; round++) {
    for (int i = 0; i < 300; i++) {
      const std::string k = Key(static_cast<int>(rng() % keys));
      if (rng() % 4 == 0) {
        ASSERT_THAT(db_->Delete(k), IsOk());
        model_.erase(k);
      } else {
        const std::string v(rng() % 300, static_cast<char>('a' + round));
        ASSERT_THAT(db_->Put(k, v), IsOk());
        model_[k] = v;
      }
    }
    if (round % 3 == 1) {
      ASSERT_THAT(db_->CompactLog(), IsOk());
    }
    Model in;
    const int n = static_cast<int>(rng() % (keys / 2));
    for (int i = 0; i < n; i++) {
      in[Key(static_cast<int>(rng() % keys))] =
          absl::StrCat("r", round, "-", i);
    }
    const bool replace = round % 4 == 3;
    ASSERT_THAT(db_->IngestSorted(EntriesOf(in), replace ? IngestMode::kReplace
                                                         : IngestMode::kMerge),
                IsOk());
    if (replace) model_.clear();
    for (const auto& [k, v] : in) model_[k] = v;
    ASSERT_EQ(Contents(db_.get()), model_) << "round " << round;
    ASSERT_EQ(Property(db_.get(), "ultradict.num-entries"), model_.size());
  }
}

// A reader thread never sees two versions at once: every ingest rewrites
// all keys with its round number.
TEST_F(IngestTest, ReaderNeverSeesAMix) {
  const int keys = 2000;
  std::atomic<bool> stop{false};
  std::atomic<int> views{0};
  std::string failure;
  std::thread reader([&] {
    std::unique_ptr<DB> db = Open(name_);
    while (!stop.load() && failure.empty()) {
      std::unique_ptr<Iterator> it = db->NewIterator();
      std::string first;
      int n = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
        if (n == 0) first = std::string(it->value());
        if (it->value() != first) failure = "two rounds in one view";
      }
      if (n != 0 && n != keys) failure = absl::StrCat(n, " keys in a view");
      views++;
    }
  });
  for (int round = 0; round < 20; round++) {
    Model in;
    for (int i = 0; i < keys; i++) in[Key(i)] = absl::StrCat("round", round);
    ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kMerge), IsOk());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(failure, "");
  EXPECT_GT(views.load(), 0);
}

}  // namespace
}  // namespace ingest_testing
}  // namespace ultradict
