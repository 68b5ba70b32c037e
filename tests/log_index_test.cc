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
  }

  void CheckAgainstModel() {
    EXPECT_EQ(index_.size(), model_.size());
    for (const auto& [key, value] : model_) {
      Entry e;
      ASSERT_TRUE(index_.Find(key, &e)) << key;
      EXPECT_EQ(e.key, key);
      EXPECT_EQ(e.deleted, !value.has_value()) << key;
      if (value.has_value()) {
        EXPECT_EQ(e.value, *value) << key;
      }
    }
    size_t seen = 0;
    index_.ForEach([&](const Entry& e) {
      auto it = model_.find(std::string(e.key));
      ASSERT_NE(it, model_.end()) << e.key;
      EXPECT_EQ(e.deleted, !it->second.has_value());
      seen++;
    });
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
  EXPECT_FALSE(index_.Find("quince", &e));
  EXPECT_FALSE(index_.Find("appl", &e));
  EXPECT_FALSE(index_.Find(std::string_view("apple\0", 6), &e));
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

TEST_F(LogIndexTest, EntriesThatStopDecodingReadAsDeletesOfNothing) {
  // The log lives in shared memory: if another process scribbles on an
  // indexed entry, lookups must stay in bounds and not crash.
  index_.SetArea(area_.data(), area_.capacity());
  WriteBatch batch;
  batch.Put("key", "value");
  Add(batch, &area_);
  const size_t count_size = 5;  // WriteBatch's padded count.
  area_[count_size] = 0x7f;     // The tag.
  Entry e;
  EXPECT_FALSE(index_.Find("key", &e));  // Its key no longer decodes.
  size_t seen = 0;
  index_.ForEach([&](const Entry& x) {
    EXPECT_TRUE(x.deleted);
    EXPECT_TRUE(x.key.empty());
    seen++;
  });
  EXPECT_EQ(seen, 1u);
  // A key length running past the area's end.
  area_[count_size] = 1;
  area_[count_size + 1] = static_cast<char>(0xff);
  area_[count_size + 2] = static_cast<char>(0xff);
  EXPECT_FALSE(index_.Find("key", &e));
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
  ASSERT_TRUE(index.Find("a", &e));
  EXPECT_EQ(e.value, "1");
  ASSERT_TRUE(index.Find("b", &e));
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
