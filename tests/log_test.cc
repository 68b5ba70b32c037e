// log_test.cc: log writer and reader together, then damaged bytes.

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "db/log_format.h"
#include "db/log_index_format.h"
#include "db/log_reader.h"
#include "db/log_run_format.h"
#include "db/log_writer.h"
#include "db/write_batch_internal.h"
#include "gtest/gtest.h"
#include "ultradict/write_batch.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ultradict {
namespace log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteBatch a, b;
    a.Put("k1", "v1");
    b.Put("k2", std::string(4000, 'z'));  // Compresses well.
    b.Delete("k1");
    AppendRecord(WriteBatchInternal::Contents(a), false, &records_);
    first_size_ = records_.size();
    AppendRecord(WriteBatchInternal::Contents(b), true, &records_);
    header_.generation = 7;
    header_.base_sequence = 42;
    header_.record_capacity = 8192;
    header_.node_capacity = 1024;
    header_.first_slot_bits = kMinSlotBits;
    header_.max_slot_bits = kMinSlotBits + 1;
    ASSERT_LE(records_.size(), header_.record_capacity);
    segment_.assign(FileSize(header_), '\0');
    EncodeHeader(&segment_[0], header_);
    segment_.replace(kHeaderSize, records_.size(), records_);
  }

  // Reads every record; returns the first error.
  absl::Status ReadAll(int* count) {
    Header header;
    absl::Status s = ParseHeader(segment_.data(), segment_.size(), "L", &header);
    if (!s.ok()) return s;
    const char* data = segment_.data() + kHeaderSize;
    // The records written (the head's offset), within the record area.
    const size_t limit =
        std::min<size_t>(records_.size(), header.record_capacity);
    *count = 0;
    for (size_t offset = 0; offset < limit;) {
      Record record;
      s = ReadRecord(data, limit, offset, "L", &record);
      if (!s.ok()) return s;
      std::string scratch;
      std::string_view batch;
      s = RecordBatch(record, &scratch, &batch);
      if (!s.ok()) return s;
      if (WriteBatchInternal::Count(batch) == 0) return absl::DataLossError("empty");
      offset += record.size;
      ++*count;
    }
    return absl::OkStatus();
  }

  Header header_;
  std::string records_;
  std::string segment_;
  size_t first_size_ = 0;
};

TEST_F(LogTest, RoundTrip) {
  Header header;
  ASSERT_TRUE(ParseHeader(segment_.data(), segment_.size(), "L", &header).ok());
  EXPECT_EQ(header.generation, 7u);
  EXPECT_EQ(header.base_sequence, 42u);
  EXPECT_EQ(header.capacity, segment_.size());
  EXPECT_EQ(header.record_capacity, 8192u);
  EXPECT_EQ(header.node_capacity, 1024u);
  EXPECT_EQ(header.first_slot_bits, kMinSlotBits);
  EXPECT_EQ(header.max_slot_bits, kMinSlotBits + 1);
  // Records, then the index from the next page, then the run area from
  // the page after the index, to the end of the file.
  const size_t index_size = IndexSize(1024, kMinSlotBits, kMinSlotBits + 1);
  const size_t runs_at =
      RunAreaOffset(IndexOffset(kHeaderSize, 8192), index_size);
  EXPECT_EQ(segment_.size(), runs_at + RunAreaSize(1024));
  EXPECT_GE(runs_at, IndexOffset(kHeaderSize, 8192) + index_size);
  EXPECT_EQ(IndexOffset(kHeaderSize, 8192) % 4096, 0u);
  EXPECT_EQ(runs_at % 4096, 0u);
  EXPECT_EQ(RunAreaSize(1024) % 4096, 0u);
  int count = 0;
  ASSERT_TRUE(ReadAll(&count).ok());
  EXPECT_EQ(count, 2);
  // The second record was stored compressed.
  Record record;
  ASSERT_TRUE(ReadRecord(segment_.data() + kHeaderSize,
                         segment_.size() - kHeaderSize, first_size_, "L", &record)
                  .ok());
  EXPECT_NE(record.type & kCompressedFlag, 0);
  EXPECT_LT(record.payload.size(), 1000u);
}

TEST_F(LogTest, BadChecksumNamesSegmentAndOffset) {
  segment_[kHeaderSize + first_size_ + 12] ^= 1;  // Inside record 2.
  int count = 0;
  absl::Status s = ReadAll(&count);
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_NE(s.message().find("L: checksum mismatch at offset " +
                             std::to_string(kHeaderSize + first_size_)),
            std::string::npos)
      << s;
  EXPECT_EQ(count, 1);
}

TEST_F(LogTest, BadLengthAndTruncatedTail) {
  std::string saved = segment_;
  // A length pointing past the end.
  segment_[kHeaderSize + 4] = '\xff';
  int count;
  EXPECT_TRUE(absl::IsDataLoss(ReadAll(&count)));
  segment_ = saved;
  // A truncated segment no longer matches its header's capacity.
  segment_.resize(segment_.size() - 3);
  EXPECT_TRUE(absl::IsDataLoss(ReadAll(&count)));
  // Truncated record header.
  Record record;
  EXPECT_TRUE(absl::IsDataLoss(ReadRecord(saved.data() + kHeaderSize, 5, 0, "L",
                                          &record)));
}

TEST_F(LogTest, DamagedHeader) {
  for (size_t i : {0, 8, 12, 16, 24, 32, 40, 44, 48, 56, 57, 63}) {
    std::string damaged = segment_;
    damaged[i] ^= 0x40;
    Header header;
    absl::Status s = ParseHeader(damaged.data(), damaged.size(), "L", &header);
    EXPECT_FALSE(s.ok()) << "byte " << i;
  }
  Header header;
  EXPECT_TRUE(absl::IsDataLoss(ParseHeader(segment_.data(), 10, "L", &header)));
}

// A header whose checksum is right but whose shape is impossible, or does
// not match the file, is refused before anything past it is read.
TEST_F(LogTest, HeaderShapeIsChecked) {
  const auto damaged = [](const Header& h, size_t size) {
    std::string copy(size, '\0');
    EncodeHeader(&copy[0], h);
    Header parsed;
    return ParseHeader(copy.data(), copy.size(), "L", &parsed);
  };
  Header h = header_;
  EXPECT_TRUE(damaged(h, FileSize(h)).ok());
  EXPECT_TRUE(absl::IsDataLoss(damaged(h, FileSize(h) + 4096)));
  EXPECT_TRUE(absl::IsDataLoss(damaged(h, FileSize(h) - 8)));
  h.first_slot_bits = kMinSlotBits - 1;
  EXPECT_TRUE(absl::IsDataLoss(damaged(h, FileSize(h))));
  h = header_;
  h.max_slot_bits = h.first_slot_bits - 1;
  EXPECT_TRUE(absl::IsDataLoss(damaged(h, FileSize(h))));
  h = header_;
  h.node_capacity = (uint32_t{1} << kMaxSlotBits) + 1;
  EXPECT_TRUE(absl::IsDataLoss(damaged(h, 1 << 20)));
  // A record area larger than the index can locate (31-bit offsets).
  h = header_;
  h.record_capacity = kMaxRecordBytes + 4096;
  EXPECT_TRUE(absl::IsDataLoss(damaged(h, 1 << 20)));
  // The header's capacity field must match the file (EncodeHeader writes
  // FileSize): a changed one, checksummed again, is refused.
  std::string copy = segment_;
  EncodeFixed64(&copy[24], copy.size() + 4096);
  EncodeFixed32(&copy[kHeaderChecksumOffset], HeaderChecksum(copy.data()));
  Header parsed;
  EXPECT_TRUE(
      absl::IsDataLoss(ParseHeader(copy.data(), copy.size(), "L", &parsed)));
}

TEST_F(LogTest, VersionsReadAndRefused) {
  // Versions 1 and 2 (no shared index), 3 (an index without a filter), 4
  // (table_bits where the writer's counters are) and versions this build
  // does not know are refused with a clear error, not guessed at.
  for (uint32_t version : {1u, 2u, 3u, 4u, 5u, 6u, 0u}) {
    std::string copy = segment_;
    EncodeFixed32(&copy[8], version);
    EncodeFixed32(&copy[kHeaderChecksumOffset], HeaderChecksum(copy.data()));
    Header header;
    absl::Status s = ParseHeader(copy.data(), copy.size(), "L", &header);
    if (version >= kMinLogVersion && version <= kLogVersion) {
      EXPECT_TRUE(s.ok()) << version << ": " << s;
    } else {
      EXPECT_TRUE(absl::IsFailedPrecondition(s)) << version << ": " << s;
      EXPECT_NE(s.message().find("version"), std::string::npos) << s;
    }
  }
}

}  // namespace
}  // namespace log
}  // namespace ultradict
