// codec.h: how typed keys and values are turned into bytes (Dict, dict.h).
//
// Codec<T> is a trait with three members:
//
//   static constexpr char kTypeTag;       // 1 byte stored before each value
//   static constexpr char kTypeName[];    // for error messages, e.g. "int64"
//   static std::string Encode(const T&);  // the payload bytes
//   static absl::StatusOr<T> Decode(std::string_view payload);
//
// Provided codecs (tags are frozen: they are stored in shared memory and
// read by other processes, possibly other programs):
//
//   type                          tag  payload
//   int8_t .. int64_t             b h i q   big-endian, sign bit flipped
//   uint8_t .. uint64_t           B H I Q   big-endian
//   bool                          ?    one byte, 0 or 1
//   float / double                f d  big-endian IEEE bits, order-preserving
//   std::string, std::string_view s    the bytes as they are
//   trivially copyable structs    p    (opt-in, PodCodec) the object's bytes
//
// Keys are stored as the bare payload, so the bytewise key order of the
// dictionary is the natural order of the type: numeric for integers
// (negatives first) and floats (-inf < ... < -0.0 < +0.0 < ... < +inf, NaNs
// at the ends), lexicographic by bytes for strings. Values are stored as
// [tag][payload]: reading a value written with another codec (one process
// writes int64, another reads std::string) fails with FailedPrecondition
// naming both types instead of misreading the bytes.
//
// Trivially copyable structs opt in explicitly (their bytes depend on the
// compiler and CPU: all processes must agree on the layout):
//
//   struct Point { int32_t x, y; };
//   template <> struct ultradict::Codec<Point> : ultradict::PodCodec<Point> {};
//
// PodCodec checks the payload size; give distinct structs of the same size
// distinct tags to tell them apart: PodCodec<Point, 'P'>. Free for users:
// 'A'..'Z' except B H I Q N, and bytes >= 0x80; the library keeps the rest.
//
// Any other type gets a codec by specializing the trait (the original's
// `serializer`). Never decode with something that can run code:
//
//   struct Color { uint8_t r, g, b; };
//   template <>
//   struct ultradict::Codec<Color> {
//     static constexpr char kTypeTag = 'C';
//     static constexpr char kTypeName[] = "Color";
//     static std::string Encode(const Color& c) {
//       return std::string{static_cast<char>(c.r), static_cast<char>(c.g),
//                          static_cast<char>(c.b)};
//     }
//     static absl::StatusOr<Color> Decode(std::string_view b) {
//       if (b.size() != 3) return absl::DataLossError("bad Color");
//       return Color{uint8_t(b[0]), uint8_t(b[1]), uint8_t(b[2])};
//     }
//   };
//
// A codec used for keys must be order-preserving if ordered iteration is to
// follow the type's order, and must be injective (equal keys, equal bytes).
//
// Thread safety: codecs are stateless.

#ifndef ULTRADICT_INCLUDE_CODEC_H_
#define ULTRADICT_INCLUDE_CODEC_H_

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ultradict {

// The primary template is undefined: a type without a codec does not compile
// (specialize Codec<T> as above).
template <typename T, typename Enable = void>
struct Codec;

// Tag of a nested-dictionary reference (Dict::Nested). Frozen.
inline constexpr char kNestedTypeTag = 'N';

namespace codec_internal {

template <typename U>
void PutBigEndian(U bits, char* out) {
  for (size_t i = 0; i < sizeof(U); i++) {
    out[i] = static_cast<char>((bits >> (8 * (sizeof(U) - 1 - i))) & 0xff);
  }
}

template <typename U>
U GetBigEndian(const char* in) {
  U bits = 0;
  for (size_t i = 0; i < sizeof(U); i++) {
    bits = static_cast<U>((bits << 8) | static_cast<unsigned char>(in[i]));
  }
  return bits;
}

inline absl::Status SizeError(const char* type_name, size_t want, size_t got) {
  return absl::DataLossError(std::string("a ") + type_name + " takes " +
                             std::to_string(want) + " bytes, found " +
                             std::to_string(got));
}

template <typename T>
constexpr char IntegerTag() {
  switch (sizeof(T)) {
    case 1:
      return std::is_signed_v<T> ? 'b' : 'B';
    case 2:
      return std::is_signed_v<T> ? 'h' : 'H';
    case 4:
      return std::is_signed_v<T> ? 'i' : 'I';
    default:
      return std::is_signed_v<T> ? 'q' : 'Q';
  }
}

// "int8" .. "uint64": the name of the integer type of T's width and sign.
template <typename T>
constexpr const char* IntegerName() {
  constexpr bool kSigned = std::is_signed_v<T>;
  switch (sizeof(T)) {
    case 1:
      return kSigned ? "int8" : "uint8";
    case 2:
      return kSigned ? "int16" : "uint16";
    case 4:
      return kSigned ? "int32" : "uint32";
    default:
      return kSigned ? "int64" : "uint64";
  }
}

}  // namespace codec_internal

// Integers (not bool, not char): fixed width, big-endian, sign bit flipped,
// so that the bytewise order is the numeric order. `long` and `long long`
// of the same width share a tag: they are interchangeable.
template <typename T>
struct Codec<
    T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                        !std::is_same_v<T, char>>> {
  using Unsigned = std::make_unsigned_t<T>;
  static constexpr char kTypeTag = codec_internal::IntegerTag<T>();
  static constexpr const char* kTypeName = codec_internal::IntegerName<T>();

  static std::string Encode(const T& v) {
    Unsigned bits = static_cast<Unsigned>(v);
    if (std::is_signed_v<T>) {
      bits ^= static_cast<Unsigned>(Unsigned{1} << (8 * sizeof(T) - 1));
    }
    std::string out(sizeof(T), '\0');
    codec_internal::PutBigEndian(bits, out.data());
    return out;
  }
  static absl::StatusOr<T> Decode(std::string_view b) {
    if (b.size() != sizeof(T)) {
      return codec_internal::SizeError(kTypeName, sizeof(T), b.size());
    }
    Unsigned bits = codec_internal::GetBigEndian<Unsigned>(b.data());
    if (std::is_signed_v<T>) {
      bits ^= static_cast<Unsigned>(Unsigned{1} << (8 * sizeof(T) - 1));
    }
    return static_cast<T>(bits);
  }
};

template <>
struct Codec<bool> {
  static constexpr char kTypeTag = '?';
  static constexpr char kTypeName[] = "bool";
  static std::string Encode(const bool& v) { return std::string(1, v ? 1 : 0); }
  static absl::StatusOr<bool> Decode(std::string_view b) {
    if (b.size() != 1 || static_cast<unsigned char>(b[0]) > 1) {
      return absl::DataLossError("a bool takes one byte, 0 or 1");
    }
    return b[0] == 1;
  }
};

// float and double: the IEEE bits, big-endian; negatives have all bits
// flipped, positives only the sign bit, so that the bytewise order is the
// numeric order (-0.0 sorts just before +0.0).
template <typename T>
struct Codec<T, std::enable_if_t<std::is_floating_point_v<T> &&
                                 (sizeof(T) == 4 || sizeof(T) == 8) &&
                                 !std::is_same_v<T, long double>>> {
  static_assert(std::numeric_limits<T>::is_iec559, "IEEE 754 required");
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  static constexpr char kTypeTag = sizeof(T) == 4 ? 'f' : 'd';
  static constexpr const char* kTypeName = sizeof(T) == 4 ? "float" : "double";
  static constexpr Bits kSign = Bits{1} << (8 * sizeof(T) - 1);

  static std::string Encode(const T& v) {
    Bits bits;
    std::memcpy(&bits, &v, sizeof(bits));
    bits = (bits & kSign) ? static_cast<Bits>(~bits) : (bits | kSign);
    std::string out(sizeof(T), '\0');
    codec_internal::PutBigEndian(bits, out.data());
    return out;
  }
  static absl::StatusOr<T> Decode(std::string_view b) {
    if (b.size() != sizeof(T)) {
      return codec_internal::SizeError(kTypeName, sizeof(T), b.size());
    }
    Bits bits = codec_internal::GetBigEndian<Bits>(b.data());
    bits = (bits & kSign) ? (bits & ~kSign) : static_cast<Bits>(~bits);
    T v;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
  }
};

template <>
struct Codec<std::string> {
  static constexpr char kTypeTag = 's';
  static constexpr char kTypeName[] = "string";
  static std::string Encode(const std::string& v) { return v; }
  static absl::StatusOr<std::string> Decode(std::string_view b) {
    return std::string(b);
  }
};

// For keys (and lookups) without a copy. Decode returns a view of the bytes
// given: it is only valid as long as they are.
template <>
struct Codec<std::string_view> {
  static constexpr char kTypeTag = 's';
  static constexpr char kTypeName[] = "string";
  static std::string Encode(const std::string_view& v) {
    return std::string(v);
  }
  static absl::StatusOr<std::string_view> Decode(std::string_view b) {
    return b;
  }
};

// The opt-in codec of a trivially copyable struct: its object bytes as they
// are (so only processes built with the same layout may share it). Not
// order-preserving: fine for values, for keys only if order does not matter.
template <typename T, char Tag = 'p'>
struct PodCodec {
  static_assert(std::is_trivially_copyable_v<T>,
                "PodCodec needs a trivially copyable type");
  static constexpr char kTypeTag = Tag;
  static constexpr char kTypeName[] = "struct";
  static std::string Encode(const T& v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  static absl::StatusOr<T> Decode(std::string_view b) {
    if (b.size() != sizeof(T)) {
      return codec_internal::SizeError(kTypeName, sizeof(T), b.size());
    }
    T v;
    std::memcpy(static_cast<void*>(&v), b.data(), sizeof(T));
    return v;
  }
};

// Human-readable name of a value tag, for error messages.
inline std::string TypeTagName(char tag) {
  switch (tag) {
    case 'b':
      return "int8";
    case 'h':
      return "int16";
    case 'i':
      return "int32";
    case 'q':
      return "int64";
    case 'B':
      return "uint8";
    case 'H':
      return "uint16";
    case 'I':
      return "uint32";
    case 'Q':
      return "uint64";
    case '?':
      return "bool";
    case 'f':
      return "float";
    case 'd':
      return "double";
    case 's':
      return "string";
    case 'p':
      return "struct";
    case kNestedTypeTag:
      return "nested dictionary";
    default:
      break;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const unsigned char u = static_cast<unsigned char>(tag);
  return std::string("type tag 0x") + kHex[u >> 4] + kHex[u & 15];
}

// A value as stored: [Codec<T>::kTypeTag][payload].
template <typename T>
std::string EncodeValue(const T& v) {
  std::string out(1, Codec<T>::kTypeTag);
  out += Codec<T>::Encode(v);
  return out;
}

// Decodes a stored value. FailedPrecondition when it was written with
// another codec (the message names both types), DataLoss when it has no
// tag or the payload does not decode.
template <typename T>
absl::StatusOr<T> DecodeValue(std::string_view stored) {
  if (stored.empty()) {
    return absl::DataLossError(
        "value has no type tag (written without a codec?)");
  }
  if (stored[0] != Codec<T>::kTypeTag) {
    return absl::FailedPreconditionError(
        std::string("value holds a ") + TypeTagName(stored[0]) +
        ", read as a " + Codec<T>::kTypeName + " (codec mismatch)");
  }
  return Codec<T>::Decode(stored.substr(1));
}

}  // namespace ultradict

#endif  // ULTRADICT_INCLUDE_CODEC_H_
