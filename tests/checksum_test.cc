// checksum_test.cc: util/checksum and util/compression.

#include "util/checksum.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "util/compression.h"

namespace ultradict {
namespace {

TEST(ChecksumTest, StableAndSensitive) {
  const std::string a = "hello world";
  EXPECT_EQ(Checksum32(a), Checksum32(a));
  std::string b = a;
  b[3] ^= 1;
  EXPECT_NE(Checksum32(a), Checksum32(b));
  ChecksumStream pieces;
  pieces.Update("hello ", 6);
  pieces.Update("world", 5);
  EXPECT_EQ(pieces.Checksum32(), Checksum32(a));
  EXPECT_EQ(Checksum32(a), static_cast<uint32_t>(Hash64(a)));
}

TEST(CompressionTest, RoundTrip) {
  std::string input;
  for (int i = 0; i < 1000; i++) input += "abcabcabc" + std::to_string(i);
  std::string frame;
  ZstdCompress(input, &frame);
  EXPECT_LT(frame.size(), input.size());
  std::string output;
  ASSERT_TRUE(ZstdUncompress(frame, input.size(), &output).ok());
  EXPECT_EQ(output, input);
}

TEST(CompressionTest, DamagedOrTooLargeIsDataLoss) {
  std::string input(10000, 'x');
  std::string frame;
  ZstdCompress(input, &frame);
  std::string output;
  EXPECT_TRUE(absl::IsDataLoss(ZstdUncompress(frame, 100, &output)));
  std::string damaged = frame;
  damaged[damaged.size() / 2] ^= 0x55;
  damaged.resize(damaged.size() - 3);
  EXPECT_TRUE(absl::IsDataLoss(ZstdUncompress(damaged, 20000, &output)));
  EXPECT_TRUE(absl::IsDataLoss(ZstdUncompress("not zstd", 20000, &output)));
}

}  // namespace
}  // namespace ultradict
