// log_test.cc: log writer and reader together, then damaged bytes.

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "db/log_format.h"
#include "db/log_reader.h"
#include "db/log_writer.h"
#include "db/write_batch_internal.h"
#include "gtest/gtest.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "ultradict/write_batch.h"

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
    segment_.resize(kHeaderSize);
    EncodeHeader(&segment_[0], 7, kHeaderSize + records_.size(), 42);
    segment_ += records_;
  }

  // Reads every record; returns the first error.
  absl::Status ReadAll(int* count) {
    Header header;
    absl::Status s = ParseHeader(segment_.data(), segment_.size(), "L", &header);
    if (!s.ok()) return s;
    const char* data = segment_.data() + kHeaderSize;
    const size_t limit = segment_.size() - kHeaderSize;
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

  std::string records_;
  std::string segment_;
  size_t first_size_ = 0;
};

TEST_F(LogTest, RoundTrip) {
  Header header;
  ASSERT_TRUE(ParseHeader(segment_.data(), segment_.size(), "L", &header).ok());
  EXPECT_EQ(header.generation, 7u);
  EXPECT_EQ(header.base_sequence, 42u);
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
  for (size_t i : {0, 8, 12, 16, 24, 32, 40}) {
    std::string damaged = segment_;
    damaged[i] ^= 0x40;
    Header header;
    absl::Status s = ParseHeader(damaged.data(), damaged.size(), "L", &header);
    EXPECT_FALSE(s.ok()) << "byte " << i;
  }
  Header header;
  EXPECT_TRUE(absl::IsDataLoss(ParseHeader(segment_.data(), 10, "L", &header)));
}

TEST_F(LogTest, LogsSlightlyOverTwoGiBFromOlderBuildsAreRead) {
  // An older build rounded the largest log up to 2 GiB + 4 KiB; this one
  // creates at most kMaxSize but must still open those. Only the header's
  // 64 bytes are read.
  const uint64_t size = kMaxSize + 4096;
  std::string copy = segment_;
  EncodeFixed64(&copy[24], size);
  EncodeFixed32(&copy[kHeaderChecksumOffset], Checksum32(copy.data(), kHeaderChecksumOffset));
  Header header;
  absl::Status s = ParseHeader(copy.data(), size, "L", &header);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(header.capacity, size);
}

TEST_F(LogTest, VersionsReadAndRefused) {
  // Version 1 logs (every page reserved at creation) are still read; a
  // version this build does not know is refused, not guessed at.
  for (uint32_t version : {1u, 2u, 3u, 0u}) {
    std::string copy = segment_;
    EncodeFixed32(&copy[8], version);
    EncodeFixed32(&copy[kHeaderChecksumOffset], Checksum32(copy.data(), kHeaderChecksumOffset));
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
