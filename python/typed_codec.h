// typed_codec.h: how the Python package turns keys and values into the
// bytes stored in a dictionary, and back (doc/python.md, "Encoding").
//
// Two formats, chosen when a dictionary is created and recorded in its
// settings (the reserved key kMetaKey):
//
// - typed (format 2, the default with serializer=pickle): exact str, bytes,
//   int (64-bit), bool and float skip the serializer; values carry the type
//   tags of include/ultradict/codec.h, str keys are stored as their UTF-8
//   bytes, so a C++ Dict<std::string, V> reads and writes the same entries.
//
//     key       stored as                     first byte
//     str       its UTF-8 bytes                never 0x80..0xC1, 0xF5..0xFF
//     bytes     0xC0, the bytes; or the bytes alone when they are not
//               UTF-8 and do not start with 0x80, 0xC0, 0xC1 (nor 0x81
//               with Format::tuples) (as a C++
//               program's binary key: both read back as bytes)
//     int       0xC1, 8 bytes (codec.h int64: big-endian, sign bit flipped)
//     tuple     0x81, tuple_codec.h's body     (Format::tuples only)
//     other     pickle.dumps(key)              0x80 (pickle protocol >= 2)
//
//     value     stored as (codec.h tags)
//     str       's', UTF-8       (C++ std::string)
//     bytes     'y', the bytes   (no C++ codec: a C++ string read fails
//                                 with a codec mismatch naming the tag)
//     int       'q', 8 bytes     (C++ int64_t)
//     bool      '?', 0 or 1      (C++ bool)
//     float     'd', 8 bytes     (C++ double)
//     tuple     't', tuple_codec.h's body (Format::tuples only; no C++ codec)
//     other     pickle.dumps(value), first byte 0x80
//     nested    'N1PP' + the child's name (a nested dictionary, recurse)
//
//   Decoding also reads what C++ codecs write: tags b h i q B H I Q -> int,
//   f d -> float, ? -> bool, s -> str (or bytes when not valid UTF-8); a key
//   that is not valid UTF-8 and has no tag is returned as bytes.
//   Tuples of str, bytes, int, float, bool, None and such tuples are typed
//   only in a dictionary whose settings say so (version 3, Format::tuples:
//   a tuple key must have one encoding per dictionary); elsewhere and for
//   any other tuple, pickle. A 't' value is read in every typed dictionary.
//   Subclasses (an IntEnum, a str subclass) go through pickle, keeping
//   their type; so do ints beyond 64 bits and strs with lone surrogates.
//
// - serializer (format 1, the first release, and any other serializer):
//   every key and value is serializer.dumps(x) (a str result is stored as
//   UTF-8).
//
// Every decoder is bounded: bad bytes give DataLossError or bytes, never a
// crash. All functions need the GIL.

#ifndef ULTRADICT_PYTHON_TYPED_CODEC_H_
#define ULTRADICT_PYTHON_TYPED_CODEC_H_

#include <Python.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace ultradict {
namespace python {

// Frozen: stored in shared memory.
inline constexpr unsigned char kPickleMark = 0x80;  // pickle's PROTO opcode.
inline constexpr unsigned char kBytesKeyTag = 0xC0;
inline constexpr unsigned char kIntKeyTag = 0xC1;
inline constexpr char kStrTag = 's';    // codec.h Codec<std::string>.
inline constexpr char kBytesTag = 'y';  // The Python package's own.
inline constexpr char kInt64Tag = 'q';  // codec.h Codec<int64_t>.
inline constexpr char kBoolTag = '?';
inline constexpr char kDoubleTag = 'd';
inline constexpr char kNestedTag = 'N';  // codec.h kNestedTypeTag.

// How a dictionary's keys and values are encoded.
struct Format {
  bool typed = false;         // Format 2; else every object through dumps.
  bool tuples = false;        // Typed tuples (tuple_codec.h); needs typed.
  PyObject* dumps = nullptr;  // Borrowed: the serializer's functions.
  PyObject* loads = nullptr;
};

// Encoded bytes: a view of a small inline buffer, a heap buffer, or a
// Python bytes/str object it holds. Not copyable.
class Encoded {
 public:
  Encoded() = default;
  ~Encoded() { Py_XDECREF(owner_); }
  Encoded(const Encoded&) = delete;
  Encoded& operator=(const Encoded&) = delete;

  static constexpr size_t kInline = 128;

  std::string_view view() const { return view_; }
  // n writable bytes, which view() then shows.
  char* Reserve(size_t n);
  // Views only the first n (<= the size reserved) of them.
  void Shrink(size_t n) { view_ = view_.substr(0, n); }
  // A view of bytes owned by the caller (who keeps them alive).
  void Borrow(std::string_view bytes) { view_ = bytes; }
  // For an encoder that learns the length as it writes: the inline buffer
  // (kInline bytes), then UseInline(n) to view the first n bytes of it.
  char* inline_buffer() { return inline_; }
  void UseInline(size_t n) { view_ = std::string_view(inline_, n); }
  // Takes the reference to `bytes` (a bytes object) and views its data.
  void Own(PyObject* bytes);

 private:
  char inline_[kInline];
  std::string heap_;
  std::string_view view_;
  PyObject* owner_ = nullptr;
};

// The stored form of a key or value; false with a Python error set (the
// serializer's, or TypeError).
bool EncodeKey(const Format& format, PyObject* key, Encoded* out);
bool EncodeValue(const Format& format, PyObject* value, Encoded* out);

// The object stored as `bytes` (a new reference), or nullptr with a Python
// error set (DataLossError for bytes no decoder accepts). DecodeValue does
// not resolve nested-dictionary references (see IsNestedRef).
PyObject* DecodeKey(const Format& format, std::string_view bytes);
PyObject* DecodeValue(const Format& format, std::string_view bytes);

// Whether a stored value may be a nested-dictionary reference, which the
// Python layer resolves (typed: tag 'N'; otherwise "N1" and recurse).
bool IsNestedRef(const Format& format, bool recurse, std::string_view bytes);

}  // namespace python
}  // namespace ultradict

#endif  // ULTRADICT_PYTHON_TYPED_CODEC_H_
