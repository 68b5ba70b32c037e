// tuple_codec.h: the typed encoding of small tuples (doc/python.md,
// "Encoding"), which spares them pickle in a dictionary whose settings say
// "tuples" (settings version 3, typed_codec.h's Format::tuples).
//
// A tuple is encoded when it is an exact tuple and every item, at any
// depth up to kMaxTupleDepth, is an exact str (with UTF-8), bytes, int (64
// bits), float, bool, None or such a tuple; anything else (a namedtuple, a
// list inside, a big int) pickles the whole tuple, as before. Decoding
// gives an equal tuple of the same item types.
//
//   value   't' body              key   0x81 body   (frozen tags)
//   body    count:varint item{count}
//   item    'n'                          None
//           '?' 0x00|0x01                bool
//           'q' 8 bytes                  int (codec.h int64 payload)
//           'd' 8 bytes                  float (codec.h double payload)
//           's' length:varint UTF-8      str
//           'y' length:varint bytes      bytes
//           't' body                     tuple
//   varint  LEB128, 7 bits a byte, low first, at most 10 bytes, minimal
//
// Example: (7, "k") as a value is 74 02 71 80 00 00 00 00 00 00 07 73 01 6B.
// Encodings are canonical (one per tuple), so a tuple key always has the
// same bytes; the decoder refuses anything else (non-minimal varints,
// trailing bytes, bad UTF-8). A C++ Dict reads neither tag (a codec
// mismatch naming the tag). All functions need the GIL.

#ifndef ULTRADICT_PYTHON_TUPLE_CODEC_H_
#define ULTRADICT_PYTHON_TUPLE_CODEC_H_

#include <Python.h>

#include <string_view>

#include "python/typed_codec.h"

namespace ultradict {
namespace python {

// Frozen: stored in shared memory. 0x81 never starts a str key (a UTF-8
// continuation byte) nor a pickle (0x80).
inline constexpr unsigned char kTupleKeyTag = 0x81;
inline constexpr char kTupleTag = 't';
inline constexpr char kNoneItemTag = 'n';
// Deeper tuples are pickled (the decoder refuses them too).
inline constexpr int kMaxTupleDepth = 16;

// lead + the body of tuple into out; false, with no Python error set, when
// tuple is not an exact tuple of the types above (the caller pickles it).
// Up to Encoded::kInline bytes it is written in one pass over the items;
// a larger tuple is measured first, then written.
bool EncodeTuple(PyObject* tuple, char lead, Encoded* out);

// The tuple whose body (the bytes after the lead byte) is `body`: a new
// reference, or nullptr with DataLossError set when body is not a complete
// canonical encoding (or another error, such as MemoryError).
PyObject* DecodeTuple(std::string_view body);

}  // namespace python
}  // namespace ultradict

#endif  // ULTRADICT_PYTHON_TUPLE_CODEC_H_
