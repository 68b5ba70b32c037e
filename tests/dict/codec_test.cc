// codec_test.cc: Codec<T> round trips, order preservation, type tags.

#include "ultradict/codec.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace {

struct Point {
  int32_t x;
  int32_t y;
};

struct Color {
  uint8_t r, g, b;
};

}  // namespace

template <>
struct ultradict::Codec<Point> : ultradict::PodCodec<Point, 'P'> {};

template <>
struct ultradict::Codec<Color> {
  static constexpr char kTypeTag = 'C';
  static constexpr char kTypeName[] = "Color";
  static std::string Encode(const Color& c) {
    return std::string{static_cast<char>(c.r), static_cast<char>(c.g),
                       static_cast<char>(c.b)};
  }
  static absl::StatusOr<Color> Decode(std::string_view b) {
    if (b.size() != 3) return absl::DataLossError("bad Color");
    return Color{static_cast<uint8_t>(b[0]), static_cast<uint8_t>(b[1]),
                 static_cast<uint8_t>(b[2])};
  }
};

namespace ultradict {
namespace {

using testing::IsOk;

template <typename T>
void ExpectRoundTrip(T v) {
  const std::string payload = Codec<T>::Encode(v);
  absl::StatusOr<T> back = Codec<T>::Decode(payload);
  ASSERT_THAT(back.status(), IsOk());
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(*back));
      return;
    }
    EXPECT_EQ(std::signbit(*back), std::signbit(v));
  }
  EXPECT_EQ(*back, v);
  absl::StatusOr<T> value = DecodeValue<T>(EncodeValue<T>(v));
  ASSERT_THAT(value.status(), IsOk());
  if constexpr (!std::is_floating_point_v<T>) {
    EXPECT_EQ(*value, v);
  }
}

// Sorting the encodings bytewise sorts the values numerically.
template <typename T>
void ExpectOrderPreserved(std::vector<T> values) {
  std::vector<std::string> encoded;
  for (T v : values) encoded.push_back(Codec<T>::Encode(v));
  std::sort(values.begin(), values.end());
  std::sort(encoded.begin(), encoded.end());
  for (size_t i = 0; i < values.size(); i++) {
    absl::StatusOr<T> back = Codec<T>::Decode(encoded[i]);
    ASSERT_THAT(back.status(), IsOk());
    EXPECT_EQ(*back, values[i]) << i;
  }
}

template <typename T>
std::vector<T> IntegerSamples() {
  std::vector<T> v = {std::numeric_limits<T>::min(),
                      std::numeric_limits<T>::max(), T{0}, T{1},
                      static_cast<T>(std::numeric_limits<T>::max() / 2)};
  if (std::is_signed_v<T>) {
    v.push_back(static_cast<T>(-1));
    v.push_back(static_cast<T>(std::numeric_limits<T>::min() + 1));
  }
  std::mt19937_64 rng(42);
  for (int i = 0; i < 500; i++) v.push_back(static_cast<T>(rng()));
  return v;
}

template <typename T>
void CheckInteger() {
  for (T v : IntegerSamples<T>()) ExpectRoundTrip(v);
  ExpectOrderPreserved(IntegerSamples<T>());
  EXPECT_EQ(Codec<T>::Encode(T{0}).size(), sizeof(T));
}

TEST(CodecTest, Integers) {
  CheckInteger<int8_t>();
  CheckInteger<int16_t>();
  CheckInteger<int32_t>();
  CheckInteger<int64_t>();
  CheckInteger<uint8_t>();
  CheckInteger<uint16_t>();
  CheckInteger<uint32_t>();
  CheckInteger<uint64_t>();
  CheckInteger<long long>();           // NOLINT: same tag as int64_t.
  CheckInteger<unsigned long long>();  // NOLINT
  EXPECT_EQ(Codec<long long>::kTypeTag, Codec<int64_t>::kTypeTag);  // NOLINT
}

TEST(CodecTest, IntegerEncodingIsBigEndianWithSignFlipped) {
  EXPECT_EQ(Codec<int32_t>::Encode(0), std::string("\x80\x00\x00\x00", 4));
  EXPECT_EQ(Codec<int32_t>::Encode(-1), std::string("\x7f\xff\xff\xff", 4));
  EXPECT_EQ(Codec<uint16_t>::Encode(0x1234), std::string("\x12\x34", 2));
  EXPECT_LT(Codec<int64_t>::Encode(-5), Codec<int64_t>::Encode(3));
}

TEST(CodecTest, Floats) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> d = {0.0,
                           -0.0,
                           1.5,
                           -1.5,
                           1e300,
                           -1e300,
                           inf,
                           -inf,
                           1e-310,
                           -1e-310,
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest()};
  for (double v : d) ExpectRoundTrip(v);
  ExpectRoundTrip(std::numeric_limits<double>::quiet_NaN());
  d.erase(d.begin() + 1);  // -0.0 == 0.0 for std::sort.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  for (int i = 0; i < 500; i++) d.push_back(dist(rng));
  ExpectOrderPreserved(d);
  // -0.0 sorts right before +0.0.
  EXPECT_LT(Codec<double>::Encode(-0.0), Codec<double>::Encode(0.0));

  std::vector<float> f = {
      0.0f, 2.5f, -2.5f, 1e30f, -1e30f, std::numeric_limits<float>::infinity()};
  for (float v : f) ExpectRoundTrip(v);
  ExpectOrderPreserved(f);
  EXPECT_EQ(Codec<float>::Encode(1.0f).size(), 4u);
}

TEST(CodecTest, StringsAndBool) {
  ExpectRoundTrip(std::string());
  ExpectRoundTrip(std::string("hello"));
  ExpectRoundTrip(std::string("\0\xff\n", 3));
  EXPECT_EQ(Codec<std::string>::Encode("abc"), "abc");
  EXPECT_EQ(Codec<std::string_view>::Encode("abc"), "abc");
  EXPECT_EQ(Codec<std::string_view>::kTypeTag, Codec<std::string>::kTypeTag);
  ExpectRoundTrip(true);
  ExpectRoundTrip(false);
  EXPECT_FALSE(Codec<bool>::Decode("\x02").ok());
}

TEST(CodecTest, PodAndUserCodecs) {
  absl::StatusOr<Point> p = DecodeValue<Point>(EncodeValue(Point{3, -4}));
  ASSERT_THAT(p.status(), IsOk());
  EXPECT_EQ(p->x, 3);
  EXPECT_EQ(p->y, -4);
  EXPECT_TRUE(absl::IsDataLoss(Codec<Point>::Decode("short").status()));

  absl::StatusOr<Color> c = DecodeValue<Color>(EncodeValue(Color{1, 2, 250}));
  ASSERT_THAT(c.status(), IsOk());
  EXPECT_EQ(c->b, 250);
  EXPECT_EQ(EncodeValue(Color{1, 2, 3})[0], 'C');
}

TEST(CodecTest, MismatchIsDetected) {
  const std::string stored = EncodeValue<int64_t>(42);
  absl::StatusOr<std::string> as_string = DecodeValue<std::string>(stored);
  ASSERT_FALSE(as_string.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(as_string.status()));
  EXPECT_NE(as_string.status().message().find("int64"), std::string::npos)
      << as_string.status();
  EXPECT_NE(as_string.status().message().find("string"), std::string::npos);

  // Same width, other signedness or kind: still detected.
  EXPECT_TRUE(
      absl::IsFailedPrecondition(DecodeValue<uint64_t>(stored).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(DecodeValue<double>(stored).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(DecodeValue<Point>(stored).status()));
  // User tags show as hex.
  absl::Status s = DecodeValue<int32_t>(EncodeValue(Color{1, 2, 3})).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_NE(s.message().find("0x43"), std::string::npos) << s;

  // Untagged or truncated bytes: DataLoss.
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<int64_t>("").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<int64_t>("q123").status()));
}

}  // namespace
}  // namespace ultradict
