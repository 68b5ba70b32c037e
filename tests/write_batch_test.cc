// write_batch_test.cc: the encoding of a WriteBatch, and the single-entry
// batches Put and Delete encode without one.

#include "ultradict/write_batch.h"

#include <string>
#include <string_view>
#include <vector>

#include "db/write_batch_internal.h"
#include "gtest/gtest.h"

namespace ultradict {
namespace {

// Encodes a single entry as DB::Put / DB::Delete do, and checks it against
// the WriteBatch holding the same entry and against DecodeEntry.
void CheckSingleEntry(std::string_view key, const std::string_view* value) {
  SCOPED_TRACE(testing::Message() << "key size " << key.size() << ", value "
                                  << (value ? value->size() : -1));
  WriteBatch batch;
  if (value != nullptr) {
    batch.Put(key, *value);
  } else {
    batch.Delete(key);
  }
  const std::string_view expected = WriteBatchInternal::Contents(batch);

  const size_t size = WriteBatchInternal::SingleEntrySize(key, value);
  ASSERT_EQ(size, expected.size());
  std::string rep(size + 8, '#');  // Bytes past the end must stay as they are.
  WriteBatchInternal::Entry entry;
  WriteBatchInternal::EncodeSingleEntry(key, value, rep.data(), &entry);
  EXPECT_EQ(rep.substr(size), std::string(8, '#'));
  rep.resize(size);
  EXPECT_EQ(rep, expected);
  EXPECT_EQ(WriteBatchInternal::Count(rep), 1u);

  std::vector<WriteBatchInternal::Entry> decoded;
  ASSERT_TRUE(
      WriteBatchInternal::ForEachEntry(
          rep,
          [&](const WriteBatchInternal::Entry& e) { decoded.push_back(e); })
          .ok());
  ASSERT_EQ(decoded.size(), 1u);
  EXPECT_EQ(entry.start, decoded[0].start);
  EXPECT_EQ(entry.key.data(), decoded[0].key.data());
  EXPECT_EQ(entry.key, key);
  EXPECT_EQ(entry.value.data(), decoded[0].value.data());
  EXPECT_EQ(entry.value.size(), decoded[0].value.size());
  EXPECT_EQ(entry.value, value != nullptr ? *value : std::string_view());
  EXPECT_EQ(entry.deleted, value == nullptr);
}

TEST(WriteBatchTest, SingleEntryIsEncodedAsAWriteBatchWouldBe) {
  // Lengths around the varint boundaries (1, 2 and 3 length bytes).
  for (size_t key_size : {0, 1, 16, 127, 128, 300, 16384}) {
    const std::string key(key_size, 'k');
    CheckSingleEntry(key, nullptr);
    for (size_t value_size : {0, 1, 100, 127, 128, 16383, 16384, 70000}) {
      const std::string value(value_size, 'v');
      const std::string_view view = value;
      CheckSingleEntry(key, &view);
    }
  }
}

TEST(WriteBatchTest, ClearKeepsAnEmptyValidBatch) {
  WriteBatch batch;
  batch.Put("a", std::string(1000, 'x'));
  batch.Delete("b");
  EXPECT_EQ(batch.Count(), 2u);
  batch.Clear();
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_EQ(WriteBatchInternal::Count(WriteBatchInternal::Contents(batch)), 0u);
  batch.Put("c", "d");
  EXPECT_EQ(batch.Count(), 1u);
  WriteBatch fresh;
  fresh.Put("c", "d");
  EXPECT_EQ(WriteBatchInternal::Contents(batch),
            WriteBatchInternal::Contents(fresh));
}

TEST(WriteBatchTest, ReserveChangesNothingButRoom) {
  WriteBatch reserved, plain;
  reserved.Put("a", "1");
  reserved.Reserve(1 << 20);  // Keeps what it holds.
  plain.Put("a", "1");
  EXPECT_EQ(WriteBatchInternal::Contents(reserved),
            WriteBatchInternal::Contents(plain));
  for (int i = 0; i < 1000; i++) {
    reserved.Put(std::to_string(i), std::string(2000, 'v'));  // Past it.
    plain.Put(std::to_string(i), std::string(2000, 'v'));
  }
  reserved.Reserve(10);  // Smaller than held: nothing lost.
  EXPECT_EQ(reserved.Count(), 1001u);
  EXPECT_EQ(WriteBatchInternal::Contents(reserved),
            WriteBatchInternal::Contents(plain));
}

}  // namespace
}  // namespace ultradict
