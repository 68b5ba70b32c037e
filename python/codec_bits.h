// codec_bits.h: byte-level helpers shared by the Python package's codecs
// (typed_codec.cc, tuple_codec.cc): include/ultradict/codec.h's integer and
// double payloads, and the UTF-8 of a str. Need the GIL where they take a
// PyObject.

#ifndef ULTRADICT_PYTHON_CODEC_BITS_H_
#define ULTRADICT_PYTHON_CODEC_BITS_H_

#include <Python.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ultradict {
namespace python {

inline constexpr uint64_t kSignBit = uint64_t{1} << 63;

inline void PutBigEndian64(uint64_t bits, char* out) {
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  bits = __builtin_bswap64(bits);  // One instruction, not an 8-step loop.
  std::memcpy(out, &bits, sizeof(bits));
#else
  for (int i = 0; i < 8; i++) {
    out[i] = static_cast<char>((bits >> (8 * (7 - i))) & 0xff);
  }
#endif
}

// The 8 bytes at in, big-endian.
inline uint64_t GetBigEndian64(const char* in) {
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t bits;
  std::memcpy(&bits, in, sizeof(bits));
  return __builtin_bswap64(bits);
#else
  uint64_t bits = 0;
  for (int i = 0; i < 8; i++)
    bits = (bits << 8) | static_cast<unsigned char>(in[i]);
  return bits;
#endif
}

// The n (<= 8) bytes at in, big-endian.
inline uint64_t GetBigEndian(const char* in, size_t n) {
  if (n == 8) return GetBigEndian64(in);
  uint64_t bits = 0;
  for (size_t i = 0; i < n; i++) {
    bits = (bits << 8) | static_cast<unsigned char>(in[i]);
  }
  return bits;
}

// codec.h's double: negatives have all bits flipped, positives the sign bit.
inline uint64_t DoubleBits(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return (bits & kSignBit) ? ~bits : (bits | kSignBit);
}

inline double BitsDouble(uint64_t bits) {
  bits = (bits & kSignBit) ? (bits & ~kSignBit) : ~bits;
  double v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

// The UTF-8 of an exact str, or false (no error set) when it has none
// (lone surrogates).
inline bool Utf8Of(PyObject* str, std::string_view* out) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(str, &size);
  if (data == nullptr) {
    PyErr_Clear();
    return false;
  }
  *out = std::string_view(data, static_cast<size_t>(size));
  return true;
}

// An exact int that fits in 64 bits, or false (no error set).
inline bool Int64Of(PyObject* obj, int64_t* out) {
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
  if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    return false;
  }
  *out = v;
  return true;
}

}  // namespace python
}  // namespace ultradict

#endif  // ULTRADICT_PYTHON_CODEC_BITS_H_
