// log_index_test.cc: LogIndex against a std::map model: entries in the
// area and to the side, overwrites, deletes, growth, keys whose 32-bit
// hashes collide, and entries that no longer decode.

#include "db/log_index.h"

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "db/write_batch_internal.h"
#include "gtest/gtest.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace {

using Entry = LogIndex::Entry;

// Encoded batches: an "area" (standing for the mapped log) and a side
// buffer (standing for decompressed records), each decoded in place.
class LogIndexTest : public ::testing::Test {
 protected:
  // Appends batch to *buffer and inserts its entries, in order.
  void Add(const WriteBatch& batch, std::string* buffer) {
    const std::string_view rep = WriteBatchInternal::Contents(batch);
    ASSERT_LE(buffer->size() + rep.size(), buffer->capacity());  // No moves.
    const size_t at = buffer->size();
    buffer->append(rep.data(), rep.size());
    const std::string_view copy(buffer->data() + at, rep.size());
    ASSERT_TRUE(WriteBatchInternal::ForEachEntry(copy, [&](const Entry& e) {
                  index_.Insert(LogIndex::MakeKey(e.key), e,
                                copy.data() + copy.size());
                  model_[std::string(e.key)] =
                      e.deleted ? std::optional<std::string>()
                                : std::optional<std::string>(e.value);
                }).ok());
    if (buffer == &area_) index_.SetLimit(area_.size());  // Now indexed.
  }

  void CheckAgainstModel() {
    EXPECT_EQ(index_.size(), model_.size());
    for (const auto& [key, value] : model_) {
      Entry e;
      ASSERT_EQ(index_.Find(key, &e), LogIndex::Found::kYes) << key;
      EXPECT_EQ(e.key, key);
      EXPECT_EQ(e.deleted, !value.has_value()) << key;
      if (value.has_value()) {
        EXPECT_EQ(e.value, *value) << key;
      }
    }
    size_t seen = 0;
    EXPECT_TRUE(index_.ForEach([&](const Entry& e) {
      auto it = model_.find(std::string(e.key));
      ASSERT_NE(it, model_.end()) << e.key;
      EXPECT_EQ(e.deleted, !it->second.has_value());
      seen++;
    }));
    EXPECT_EQ(seen, model_.size());
  }

  std::string area_ = [] {
    std::string s;
    s.reserve(64 << 20);
    return s;
  }();
  std::string side_ = [] {
    std::string s;
    s.reserve(16 << 20);
    return s;
  }();
  LogIndex index_;
  std::map<std::string, std::optional<std::string>> model_;
};

TEST_F(LogIndexTest, PutsOverwritesAndDeletesInAreaAndSide) {
  index_.SetArea(area_.data(), area_.capacity());
  WriteBatch a;
  a.Put("apple", "1");
  a.Put("pear", "2");
  a.Delete("plum");
  Add(a, &area_);
  WriteBatch b;  // Decompressed: outside the area.
  b.Put("apple", "3");
  b.Delete("pear");
  b.Put("", "empty key");
  Add(b, &side_);
  WriteBatch c;
  c.Put("plum", std::string(1000, 'p'));
  Add(c, &area_);
  CheckAgainstModel();
  Entry e;
  EXPECT_EQ(index_.Find("quince", &e), LogIndex::Found::kNo);
  EXPECT_EQ(index_.Find("appl", &e), LogIndex::Found::kNo);
  EXPECT_EQ(index_.Find(std::string_view("apple\0", 6), &e), LogIndex::Found::kNo);
}

TEST_F(LogIndexTest, ManyKeysGrowAndCollide) {
  // 300,000 keys: about 10 pairs share a 32-bit hash (birthday bound), so
  // lookups must tell them apart by the key. Rewrites of a third of them
  // and deletes of another third, with growth of the table in between.
  index_.SetArea(area_.data(), area_.capacity());
  std::mt19937_64 rng(7);
  std::vector<std::string> keys;
  for (int i = 0; i < 300000; i++) keys.push_back("key" + std::to_string(rng()));
  std::map<uint32_t, int> hashes;
  for (const std::string& k : keys) hashes[LogIndex::MakeKey(k).hash]++;
  EXPECT_LT(hashes.size(), keys.size()) << "no colliding hashes: a weak test";
  for (size_t i = 0; i < keys.size(); i += 100) {
    WriteBatch batch;
    for (size_t j = i; j < i + 100 && j < keys.size(); j++) {
      batch.Put(keys[j], std::to_string(j));
    }
    Add(batch, &area_);
  }
  for (size_t i = 0; i < keys.size(); i += 3) {
    WriteBatch batch;
    batch.Put(keys[i], "again");
    if (i + 1 < keys.size()) batch.Delete(keys[i + 1]);
    Add(batch, i % 2 == 0 ? &area_ : &side_);
  }
  CheckAgainstModel();
  EXPECT_GT(index_.MemoryUsage(), index_.size() * 8);
  EXPECT_LT(index_.MemoryUsage(), index_.size() * 40);
}

TEST_F(LogIndexTest, ReserveKeepsEntries) {
  index_.SetArea(area_.data(), area_.capacity());
  WriteBatch batch;
  for (int i = 0; i < 1000; i++) batch.Put("k" + std::to_string(i), "v");
  Add(batch, &area_);
  index_.reserve(1 << 16);
  EXPECT_GE(index_.bucket_count(), size_t{1} << 16);
  CheckAgainstModel();
}

TEST_F(LogIndexTest, EntriesThatStopDecodingAreDamagedNotGuessed) {
  // The log lives in shared memory: if another process scribbles on an
  // indexed entry, lookups and iteration report it (never a made-up
  // delete, never bytes past what was indexed), and other keys still work.
  index_.SetArea(area_.data(), area_.capacity());
  WriteBatch batch;
  batch.Put("key", "value");
  Add(batch, &area_);
  WriteBatch other;
  other.Put("other", "fine");
  Add(other, &area_);
  const size_t tag = 5;  // After WriteBatch's padded 5-byte count.
  const size_t key_size = tag + 1, value_size = key_size + 1 + 3;
  ASSERT_EQ(area_[tag], 1);
  ASSERT_EQ(area_[key_size], 3);
  ASSERT_EQ(area_[value_size], 5);
  const std::string intact = area_;
  auto expect_damaged = [&](const char* what) {
    Entry e;
    EXPECT_EQ(index_.Find("key", &e), LogIndex::Found::kDamaged) << what;
    size_t seen = 0;
    EXPECT_FALSE(index_.ForEach([&](const Entry& x) {
      EXPECT_EQ(x.key, "other") << what;
      seen++;
    })) << what;
    EXPECT_EQ(seen, 1u) << what;
    EXPECT_EQ(index_.Find("other", &e), LogIndex::Found::kYes) << what;
    EXPECT_EQ(e.value, "fine");
    area_.replace(0, intact.size(), intact);
  };
  area_[tag] = 0x7f;
  expect_damaged("unknown tag");
  area_[key_size] = 0x7f;  // 127 bytes of key: past the indexed bytes.
  expect_damaged("key past the end");
  area_[value_size] = static_cast<char>(0xff);  // A value length running
  area_[value_size + 1] = static_cast<char>(0xff);  // past what was
  area_[value_size + 2] = 0x03;                     // indexed.
  expect_damaged("value past the end");
  Entry e;
  ASSERT_EQ(index_.Find("key", &e), LogIndex::Found::kYes);
  EXPECT_EQ(e.value, "value");
}

TEST_F(LogIndexTest, AreaSmallerThanTheLogSendsTheRestToTheSide) {
  // Offsets are 31-bit: a log made larger than 2 GiB by an older build is
  // indexed by offset up to there and through the side table beyond.
  index_.SetArea(area_.data(), 40);
  WriteBatch first, second;
  first.Put("a", "1");
  second.Put("b", std::string(100, 'b'));  // Ends past byte 40.
  Add(first, &area_);
  Add(second, &area_);
  index_.SetLimit(area_.size());
  CheckAgainstModel();
  EXPECT_GE(index_.MemoryUsage(), sizeof(std::string_view));
}

TEST(LogIndexNoArea, EverythingToTheSide) {
  LogIndex index;  // No area set: every entry is located through the side.
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Delete("b");
  const std::string rep(WriteBatchInternal::Contents(batch));
  ASSERT_TRUE(WriteBatchInternal::ForEachEntry(rep, [&](const Entry& e) {
                index.Insert(LogIndex::MakeKey(e.key), e, rep.data() + rep.size());
              }).ok());
  Entry e;
  ASSERT_EQ(index.Find("a", &e), LogIndex::Found::kYes);
  EXPECT_EQ(e.value, "1");
  ASSERT_EQ(index.Find("b", &e), LogIndex::Found::kYes);
  EXPECT_TRUE(e.deleted);
}

TEST(WriteBatchEntries, DecodeEntryFromItsStart) {
  WriteBatch batch;
  batch.Put("k", std::string(300, 'v'));  // A two-byte length.
  batch.Delete("gone");
  const std::string rep(WriteBatchInternal::Contents(batch));
  std::vector<Entry> entries;
  ASSERT_TRUE(WriteBatchInternal::ForEachEntry(rep, [&](const Entry& e) {
                entries.push_back(e);
              }).ok());
  ASSERT_EQ(entries.size(), 2u);
  for (const Entry& e : entries) {
    std::string_view rest(e.start, rep.data() + rep.size() - e.start);
    Entry again;
    ASSERT_TRUE(WriteBatchInternal::DecodeEntry(&rest, &again));
    EXPECT_EQ(again.key, e.key);
    EXPECT_EQ(again.value, e.value);
    EXPECT_EQ(again.deleted, e.deleted);
  }
  // Truncated anywhere inside an entry: false, input untouched.
  for (size_t n = 0; n < rep.size() - 5; n++) {
    std::string_view cut(entries[0].start, n);
    const std::string_view before = cut;
    Entry e;
    if (!WriteBatchInternal::DecodeEntry(&cut, &e)) {
      EXPECT_EQ(cut, before);
    }
  }
  EXPECT_TRUE(absl::IsDataLoss(WriteBatchInternal::ForEachEntry(
      rep.substr(0, rep.size() - 1), [](const Entry&) {})));
}

}  // namespace
}  // namespace ultradict
