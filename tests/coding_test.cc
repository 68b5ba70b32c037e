// coding_test.cc: util/coding round trips and bounded decoding.

#include "util/coding.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace ultradict {
namespace {

TEST(CodingTest, Fixed) {
  std::string s;
  PutFixed32(&s, 0x12345678);
  PutFixed64(&s, 0x0102030405060708ULL);
  ASSERT_EQ(s.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(s[0]), 0x78);  // Little-endian.
  std::string_view in(s);
  uint32_t a;
  uint64_t b;
  ASSERT_TRUE(GetFixed32(&in, &a));
  ASSERT_TRUE(GetFixed64(&in, &b));
  EXPECT_EQ(a, 0x12345678u);
  EXPECT_EQ(b, 0x0102030405060708ULL);
  EXPECT_FALSE(GetFixed32(&in, &a));
}

TEST(CodingTest, VarintRoundTrip) {
  std::string s;
  std::vector<uint64_t> values = {0, 1, 127, 128, 300, 16383, 16384,
                                  (1ull << 32) - 1, 1ull << 32, ~0ull};
  for (uint64_t v : values) PutVarint64(&s, v);
  std::string_view in(s);
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(GetVarint64(&in, &got));
    EXPECT_EQ(got, v);
    EXPECT_EQ(VarintLength(v), [&] {
      std::string t;
      PutVarint64(&t, v);
      return static_cast<int>(t.size());
    }());
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, Varint32RejectsOverflowAndTruncation) {
  std::string s;
  PutVarint64(&s, 1ull << 32);  // Too big for 32 bits.
  std::string_view in(s);
  uint32_t v;
  EXPECT_FALSE(GetVarint32(&in, &v));
  std::string truncated("\x80\x80", 2);
  in = truncated;
  EXPECT_FALSE(GetVarint32(&in, &v));
  std::string endless(20, '\xff');
  in = endless;
  uint64_t w;
  EXPECT_FALSE(GetVarint64(&in, &w));
}

TEST(CodingTest, LengthPrefixed) {
  std::string s;
  PutLengthPrefixed(&s, "hello");
  PutLengthPrefixed(&s, "");
  std::string_view in(s), out;
  ASSERT_TRUE(GetLengthPrefixed(&in, &out));
  EXPECT_EQ(out, "hello");
  ASSERT_TRUE(GetLengthPrefixed(&in, &out));
  EXPECT_EQ(out, "");
  std::string lying;
  PutVarint32(&lying, 100);
  lying += "short";
  in = lying;
  EXPECT_FALSE(GetLengthPrefixed(&in, &out));
}

}  // namespace
}  // namespace ultradict
