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

TEST(ChecksumTest, SipHash24ReferenceVectors) {
  // The reference implementation's vectors: key 00 01 .. 0f, messages
  // 00 01 .. (n-1); n = 15 is the paper's worked example (appendix A).
  const uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
  std::string message;
  for (int i = 0; i < 16; i++) message.push_back(static_cast<char>(i));
  EXPECT_EQ(SipHash24(k0, k1, message.data(), 0), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(SipHash24(k0, k1, message.data(), 1), 0x74f839c593dc67fdULL);
  EXPECT_EQ(SipHash24(k0, k1, message.data(), 8), 0x93f5f5799a932462ULL);
  EXPECT_EQ(SipHash24(k0, k1, message.data(), 15), 0xa129ca6149be45e5ULL);
  EXPECT_NE(SipHash24(k0 ^ 1, k1, message.data(), 15), 0xa129ca6149be45e5ULL);
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
