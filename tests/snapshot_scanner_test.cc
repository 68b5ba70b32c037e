// snapshot_scanner_test.cc: reading a snapshot in order out of its file
// (snapshot::Scanner over port::SegmentFile) gives exactly what
// Reader::EntryAt gives, across block boundaries and from any position;
// then damaged and truncated files.

#include "db/snapshot_scanner.h"

#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "db/snapshot_builder.h"
#include "db/snapshot_format.h"
#include "db/snapshot_reader.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "ultradict/options.h"
#include "util/coding.h"

namespace ultradict {
namespace snapshot {
namespace {

class ScannerTest : public ::testing::Test {
 protected:
  // Entries of many sizes: most small, some larger than the largest block
  // (so that an entry straddles blocks, and one needs a larger buffer).
  void Build(bool compress) {
    keys_.clear();
    values_.clear();
    for (int i = 0; i < 3000; i++) {
      keys_.push_back(absl::StrCat("key", 100000 + i));
      size_t size = 1 + (i * 37) % 200;
      if (i % 500 == 7) size = Scanner::kMaxBlock + 1000 + i;
      values_.push_back(std::string(size, static_cast<char>('a' + i % 26)));
    }
    std::vector<std::pair<std::string_view, std::string_view>> entries;
    for (size_t i = 0; i < keys_.size(); i++) {
      entries.emplace_back(keys_[i], values_[i]);
    }
    path_ = absl::StrCat(::testing::TempDir(), "/scan", getpid(), compress);
    unlink(path_.c_str());
    BuildOptions options;
    options.generation = 5;
    options.compress = compress;
    options.compression_threshold = 100;
    absl::StatusOr<port::Segment> segment =
        snapshot::Build(path_, options, entries);
    ASSERT_TRUE(segment.ok()) << segment.status();
    segment_ = std::move(*segment);
    ASSERT_TRUE(
        reader_.Open(segment_.data(), segment_.size(), "S.5.snap").ok());
  }
  void TearDown() override {
    segment_ = port::Segment();
    unlink(path_.c_str());
  }

  // Scans from entry `from` to the end, comparing with EntryAt.
  void ExpectScanMatches(Scanner* scanner, uint64_t from) {
    scanner->SeekTo(from);
    for (uint64_t i = from; i < reader_.count(); i++) {
      ASSERT_EQ(scanner->position(), i);
      Entry got, want;
      absl::Status s = scanner->Next(&got, /*verify=*/true);
      ASSERT_TRUE(s.ok()) << i << ": " << s;
      ASSERT_TRUE(reader_.EntryAt(i, &want).ok());
      ASSERT_EQ(got.key, want.key) << i;
      ASSERT_EQ(got.value, want.value) << i;
      ASSERT_EQ(got.raw, want.raw) << i;
      ASSERT_EQ(got.compressed, want.compressed) << i;
    }
    Entry past;
    EXPECT_TRUE(absl::IsOutOfRange(scanner->Next(&past, true)));
  }

  // The data-area offset of entry i (from the offsets).
  uint64_t OffsetOf(uint64_t i) const {
    return DecodeFixed64(segment_.data() + reader_.offsets_offset() + 8 * i);
  }

  std::vector<std::string> keys_, values_;
  std::string path_;
  port::Segment segment_;
  Reader reader_;
};

TEST_F(ScannerTest, ScansAsEntryAtFromTheFile) {
  for (bool compress : {false, true}) {
    Build(compress);
    port::SegmentFile file = port::SegmentFile::Of(segment_);
#ifndef _WIN32
    EXPECT_TRUE(file.reads_file());
#endif
    Scanner scanner(&reader_, std::move(file));
    EXPECT_EQ(scanner.count(), keys_.size());
    ExpectScanMatches(&scanner, 0);
    // From positions inside and at the ends of blocks, and again after.
    for (uint64_t from :
         {uint64_t{1}, uint64_t{7}, uint64_t{8}, uint64_t{1023}, uint64_t{1024},
          uint64_t{2999}, uint64_t{3000}, uint64_t{0}}) {
      ExpectScanMatches(&scanner, from);
    }
    TearDown();
  }
}

TEST_F(ScannerTest, ReadsTheMappingOnceTheFileIsClosed) {
  Build(false);
  segment_.CloseFile();
  port::SegmentFile file = port::SegmentFile::Of(segment_);
  EXPECT_FALSE(file.reads_file());
  Scanner scanner(&reader_, std::move(file));
  ExpectScanMatches(&scanner, 0);
}

TEST_F(ScannerTest, KeepsReadingTheFileAfterTheSegmentClosesIt) {
  Build(false);
  Scanner scanner(&reader_, port::SegmentFile::Of(segment_));
  segment_.CloseFile();  // The scanner has a descriptor of its own.
  ExpectScanMatches(&scanner, 0);
}

TEST_F(ScannerTest, EntryNotWhereTheOffsetsSayIsDataLoss) {
  Build(false);
  // Entry 10 listed one byte later than where entry 9 ends.
  const uint64_t offset = OffsetOf(10);
  char* listed = segment_.data() + reader_.offsets_offset() + 8 * 10;
  EncodeFixed64(listed, offset + 1);
  Scanner scanner(&reader_, port::SegmentFile::Of(segment_));
  Entry entry;
  for (int i = 0; i < 10; i++) ASSERT_TRUE(scanner.Next(&entry, true).ok());
  absl::Status s = scanner.Next(&entry, true);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("S.5.snap"), std::string_view::npos) << s;
  EXPECT_NE(s.message().find(absl::StrCat("at offset ", kHeaderSize + offset)),
            std::string_view::npos)
      << s;
  // A scan that starts there takes the listed offset, where no entry
  // starts: damage too, or an entry that does not check.
  scanner.SeekTo(10);
  s = scanner.Next(&entry, true);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_F(ScannerTest, DamagedLengthsAndChecksumsAreDataLoss) {
  Build(false);
  // Entry 3's value byte: the checksum catches it when verifying.
  char* entry3 = segment_.data() + kHeaderSize + OffsetOf(3);
  Entry entry;
  ASSERT_TRUE(reader_.EntryAt(3, &entry).ok());
  const size_t value_at = entry.value.data() - entry3;
  entry3[value_at] ^= 1;
  {
    Scanner scanner(&reader_, port::SegmentFile::Of(segment_));
    scanner.SeekTo(3);
    EXPECT_TRUE(absl::IsDataLoss(scanner.Next(&entry, /*verify=*/true)));
    scanner.SeekTo(3);
    EXPECT_TRUE(scanner.Next(&entry, /*verify=*/false).ok());
  }
  entry3[value_at] ^= 1;
  // The last entry's key length, as large as a varint32 goes: past the
  // end of the data area.
  const uint64_t last = reader_.count() - 1;
  char* p = segment_.data() + kHeaderSize + OffsetOf(last) + 4;
  for (int i = 0; i < 4; i++) p[i] = static_cast<char>(0xff);
  p[4] = 0x0f;
  {
    Scanner scanner(&reader_, port::SegmentFile::Of(segment_));
    scanner.SeekTo(last);
    absl::Status s = scanner.Next(&entry, /*verify=*/false);
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  }
  // A value length past kMaxValueSize but within the data area's: damage,
  // found before any buffer is sized for it.
  {
    char* q = p;
    q = EncodeVarint32(q, 3);                                  // key
    EncodeVarint32(q, static_cast<uint32_t>(kMaxValueSize + 1));  // value
    Scanner scanner(&reader_, port::SegmentFile::Of(segment_));
    scanner.SeekTo(last);
    absl::Status s = scanner.Next(&entry, /*verify=*/false);
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
    EXPECT_NE(s.message().find("limits"), std::string_view::npos) << s;
  }
  // A varint that never ends.
  for (int i = 0; i < 5; i++) p[i] = static_cast<char>(0xff);
  {
    Scanner scanner(&reader_, port::SegmentFile::Of(segment_));
    scanner.SeekTo(last);
    absl::Status s = scanner.Next(&entry, /*verify=*/false);
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  }
}

TEST_F(ScannerTest, OffsetPastTheDataIsDataLoss) {
  Build(false);
  char* listed = segment_.data() + reader_.offsets_offset() + 8 * 5;
  EncodeFixed64(listed, reader_.data_size() + 12345);
  Scanner scanner(&reader_, port::SegmentFile::Of(segment_));
  scanner.SeekTo(5);
  Entry entry;
  absl::Status s = scanner.Next(&entry, true);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EncodeFixed64(listed, ~uint64_t{0});
  scanner.SeekTo(5);
  s = scanner.Next(&entry, true);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

#ifndef _WIN32
TEST_F(ScannerTest, TruncatedFileIsDataLossNotACrash) {
  Build(false);
  // Someone cuts the file: through the mapping, bytes past the new end
  // would be SIGBUS; read out of the file, they are an error.
  port::SegmentFile file = port::SegmentFile::Of(segment_);
  ASSERT_TRUE(file.reads_file());
  ASSERT_EQ(truncate(path_.c_str(), kHeaderSize + OffsetOf(2000)), 0);
  Scanner scanner(&reader_, std::move(file));
  Entry entry;
  absl::Status s;
  uint64_t read = 0;
  while ((s = scanner.Next(&entry, true)).ok()) read++;
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_LE(read, 2000u);
  EXPECT_NE(s.message().find("ends at offset"), std::string_view::npos) << s;
}
#endif

TEST_F(ScannerTest, SegmentFileChecksItsRange) {
  Build(false);
  port::SegmentFile file = port::SegmentFile::Of(segment_);
  char byte;
  EXPECT_TRUE(file.ReadAt(segment_.size() - 1, &byte, 1).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(file.ReadAt(segment_.size(), &byte, 1)));
  EXPECT_TRUE(absl::IsInvalidArgument(file.ReadAt(~uint64_t{0}, &byte, 2)));
}

}  // namespace
}  // namespace snapshot
}  // namespace ultradict
