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

// Copies n bytes from src to dst. Up to 16 bytes (most keys and items)
// without a call: fixed-size copies, overlapping for lengths between two
// sizes, read nothing outside [src, src + n).
inline void CopyBytes(char* dst, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else if (n > 0 && n < 4) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  } else if (n > 16) {
    std::memcpy(dst, src, n);
  }
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
// (lone surrogates). A compact ASCII str (most keys) is its own UTF-8: no
// call into CPython; others go through PyUnicode_AsUTF8AndSize, which
// caches their UTF-8 in the object.
inline bool Utf8Of(PyObject* str, std::string_view* out) {
  if (PyUnicode_IS_COMPACT_ASCII(str)) {
    *out = std::string_view(static_cast<const char*>(PyUnicode_DATA(str)),
                            static_cast<size_t>(PyUnicode_GET_LENGTH(str)));
    return true;
  }
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(str, &size);
  if (data == nullptr) {
    PyErr_Clear();
    return false;
  }
  *out = std::string_view(data, static_cast<size_t>(size));
  return true;
}

// An exact int (not a bool) that fits in 64 bits, or false (no error
// set). CPython 3.11 stores an int as its sign and size (ob_size) and
// 30-bit digits; one of at most two digits (|v| < 2^60, nearly every int
// a program stores) is read here without a call. Later versions changed
// that layout: they take the call.
inline bool Int64Of(PyObject* obj, int64_t* out) {
#if PY_VERSION_HEX < 0x030C0000 && PyLong_SHIFT == 30
  const Py_ssize_t size = Py_SIZE(obj);
  if (size >= -2 && size <= 2) {
    const digit* d = reinterpret_cast<PyLongObject*>(obj)->ob_digit;
    int64_t v = 0;  // (ob_digit[0] of zero may be undefined: not read.)
    if (size != 0) v = static_cast<int64_t>(d[0]);
    if (size == 2 || size == -2) {
      v |= static_cast<int64_t>(d[1]) << PyLong_SHIFT;
    }
    *out = size < 0 ? -v : v;
    return true;
  }
#endif
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
