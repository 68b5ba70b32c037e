// tuple_codec.cc: see tuple_codec.h for the format.

#include "python/tuple_codec.h"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "python/codec_bits.h"
#include "python/errors.h"

namespace ultradict {
namespace python {
namespace {

constexpr size_t kMaxVarint = 10;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

inline char* PutVarint(uint64_t v, char* p) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// The bytes of the item obj at depth, or false when it cannot be encoded
// (a tuple too large for the inline buffer is measured first).
bool ItemSize(PyObject* obj, int depth, size_t* size) {
  if (obj == Py_None) {
    *size += 1;
  } else if (PyBool_Check(obj)) {
    *size += 2;
  } else if (PyLong_CheckExact(obj)) {
    int64_t v;
    if (!Int64Of(obj, &v)) return false;
    *size += 9;
  } else if (PyFloat_CheckExact(obj)) {
    *size += 9;
  } else if (PyUnicode_CheckExact(obj)) {
    std::string_view utf8;
    if (!Utf8Of(obj, &utf8)) return false;
    *size += 1 + VarintSize(utf8.size()) + utf8.size();
  } else if (PyBytes_CheckExact(obj)) {
    const size_t n = static_cast<size_t>(PyBytes_GET_SIZE(obj));
    *size += 1 + VarintSize(n) + n;
  } else if (PyTuple_CheckExact(obj)) {
    if (depth >= kMaxTupleDepth) return false;
    const Py_ssize_t n = PyTuple_GET_SIZE(obj);
    *size += 1 + VarintSize(static_cast<uint64_t>(n));
    for (Py_ssize_t i = 0; i < n; i++) {
      if (!ItemSize(PyTuple_GET_ITEM(obj, i), depth + 1, size)) return false;
    }
  } else {
    return false;
  }
  return true;
}

// The encoder: writes into a buffer, checking types and room as it goes,
// so that a small tuple's items are looked at once (type, int value,
// UTF-8). kFull when the buffer is too small.
enum class Put { kOk, kFull, kUnsupported };

struct Out {
  char* p;
  char* const end;
  bool Room(size_t n) const { return static_cast<size_t>(end - p) >= n; }
};

Put PutTuple(PyObject* tuple, int depth, Out* out);

// Writes an item: its tag and payload. The types are tested most common
// first, each by its type object (exact types; bool cannot be subclassed).
Put PutItem(PyObject* obj, int depth, Out* out) {
  // Room for a tag and the largest fixed-size payload (8 bytes), or a tag
  // and a varint length.
  if (!out->Room(1 + kMaxVarint)) return Put::kFull;
  char* p = out->p;
  const PyTypeObject* const type = Py_TYPE(obj);
  std::string_view data;  // The payload of a str or bytes item.
  if (type == &PyLong_Type) {
    int64_t v;
    if (!Int64Of(obj, &v)) return Put::kUnsupported;
    p[0] = kInt64Tag;
    PutBigEndian64(static_cast<uint64_t>(v) ^ kSignBit, p + 1);
    out->p = p + 9;
    return Put::kOk;
  } else if (type == &PyUnicode_Type) {
    if (!Utf8Of(obj, &data)) return Put::kUnsupported;
    p[0] = kStrTag;
  } else if (type == &PyFloat_Type) {
    p[0] = kDoubleTag;
    PutBigEndian64(DoubleBits(PyFloat_AS_DOUBLE(obj)), p + 1);
    out->p = p + 9;
    return Put::kOk;
  } else if (obj == Py_None) {
    p[0] = kNoneItemTag;
    out->p = p + 1;
    return Put::kOk;
  } else if (type == &PyBool_Type) {
    p[0] = kBoolTag;
    p[1] = obj == Py_True ? 1 : 0;
    out->p = p + 2;
    return Put::kOk;
  } else if (type == &PyBytes_Type) {
    data = std::string_view(PyBytes_AS_STRING(obj),
                            static_cast<size_t>(PyBytes_GET_SIZE(obj)));
    p[0] = kBytesTag;
  } else if (type == &PyTuple_Type) {
    p[0] = kTupleTag;
    out->p = p + 1;
    return PutTuple(obj, depth, out);
  } else {
    return Put::kUnsupported;
  }
  // A str or bytes item: its length, then its bytes.
  const size_t n = data.size();
  if (!out->Room(1 + kMaxVarint + n)) return Put::kFull;
  p = PutVarint(n, p + 1);
  CopyBytes(p, data.data(), n);
  out->p = p + n;
  return Put::kOk;
}

// The body of tuple, a tuple at depth (ItemSize's limit).
Put PutTuple(PyObject* tuple, int depth, Out* out) {
  if (depth >= kMaxTupleDepth) return Put::kUnsupported;
  if (!out->Room(kMaxVarint)) return Put::kFull;
  const Py_ssize_t n = PyTuple_GET_SIZE(tuple);
  out->p = PutVarint(static_cast<uint64_t>(n), out->p);
  for (Py_ssize_t i = 0; i < n; i++) {
    const Put r = PutItem(PyTuple_GET_ITEM(tuple, i), depth + 1, out);
    if (r != Put::kOk) return r;
  }
  return Put::kOk;
}

// A bounded reader of an encoded body.
class Reader {
 public:
  explicit Reader(std::string_view in)
      : begin_(in.data()), p_(in.data()), end_(in.data() + in.size()) {}
  bool done() const { return p_ == end_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }

  bool Byte(char* c) {
    if (p_ == end_) return Fail("truncated");
    *c = *p_++;
    return true;
  }
  // A minimal LEB128 varint. One byte (every small count and length) is
  // read inline.
  bool Varint(uint64_t* v) {
    if (p_ != end_ && static_cast<unsigned char>(*p_) < 0x80) {
      *v = static_cast<unsigned char>(*p_++);
      return true;
    }
    return LongVarint(v);
  }
  // The n bytes at the position (a pointer into the body), then past them.
  bool Take(size_t n, const char** out) {
    if (n > left()) return Fail("truncated");
    *out = p_;
    p_ += n;
    return true;
  }
  // Sets DataLossError naming the offset in the body.
  bool Fail(const char* what) {
    PyErr_Format(
        Errors().data_loss != nullptr ? Errors().data_loss : PyExc_OSError,
        "tuple value: %s at body offset %zu", what,
        static_cast<size_t>(p_ - begin_));
    return false;
  }

 private:
  bool LongVarint(uint64_t* v) {
    *v = 0;
    for (size_t i = 0; i < kMaxVarint; i++) {
      if (p_ == end_) return Fail("truncated varint");
      const unsigned char c = static_cast<unsigned char>(*p_++);
      if (i == 9 && c > 1) return Fail("varint overflows 64 bits");
      *v |= static_cast<uint64_t>(c & 0x7f) << (7 * i);
      if (c < 0x80) {
        if (c == 0 && i > 0) return Fail("non-minimal varint");
        return true;
      }
    }
    return Fail("varint too long");
  }

  const char* const begin_;
  const char* p_;
  const char* const end_;
};

PyObject* ReadBody(Reader* r, int depth);

PyObject* ReadItem(Reader* r, int depth) {
  char tag;
  if (!r->Byte(&tag)) return nullptr;
  const char* data;
  uint64_t n;
  switch (tag) {
    case kInt64Tag:
      if (!r->Take(8, &data)) return nullptr;
      return PyLong_FromLongLong(
          static_cast<long long>(GetBigEndian64(data) ^ kSignBit));
    case kStrTag: {
      if (!r->Varint(&n) || !r->Take(n, &data)) return nullptr;
      PyObject* s =
          PyUnicode_DecodeUTF8(data, static_cast<Py_ssize_t>(n), "strict");
      if (s == nullptr && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        r->Fail("str that is not UTF-8");
      }
      return s;
    }
    case kDoubleTag:
      if (!r->Take(8, &data)) return nullptr;
      return PyFloat_FromDouble(BitsDouble(GetBigEndian64(data)));
    case kNoneItemTag:
      Py_RETURN_NONE;
    case kBoolTag:
      if (!r->Take(1, &data)) return nullptr;
      if (data[0] != 0 && data[0] != 1) {
        r->Fail("bool of the wrong form");
        return nullptr;
      }
      return PyBool_FromLong(data[0]);
    case kBytesTag:
      if (!r->Varint(&n) || !r->Take(n, &data)) return nullptr;
      return PyBytes_FromStringAndSize(data, static_cast<Py_ssize_t>(n));
    case kTupleTag:
      if (depth + 1 >= kMaxTupleDepth) {
        r->Fail("tuples nested too deep");
        return nullptr;
      }
      return ReadBody(r, depth + 1);
    default:
      r->Fail("unknown item tag");
      return nullptr;
  }
}

PyObject* ReadBody(Reader* r, int depth) {
  uint64_t n;
  if (!r->Varint(&n)) return nullptr;
  if (n > r->left()) {  // Every item takes at least one byte.
    r->Fail("item count beyond the end");
    return nullptr;
  }
  PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(n));
  if (tuple == nullptr) return nullptr;
  for (uint64_t i = 0; i < n; i++) {
    PyObject* item = ReadItem(r, depth);
    if (item == nullptr) {
      Py_DECREF(tuple);
      return nullptr;
    }
    PyTuple_SET_ITEM(tuple, static_cast<Py_ssize_t>(i), item);
  }
  return tuple;
}

}  // namespace

bool EncodeTuple(PyObject* tuple, char lead, Encoded* out) {
  if (!PyTuple_CheckExact(tuple)) return false;
  // Most tuples fit the inline buffer: one pass. A larger one is measured
  // first, then written to the heap.
  char* const begin = out->inline_buffer();
  Out o{begin + 1, begin + Encoded::kInline};
  *begin = lead;
  const Put r = PutTuple(tuple, 0, &o);
  if (r == Put::kUnsupported) return false;
  if (r == Put::kOk) {
    out->UseInline(static_cast<size_t>(o.p - begin));
    return true;
  }
  size_t size = 0;
  if (!ItemSize(tuple, 0, &size)) return false;  // size counts a 't' lead.
  // PutItem asks for room for a tag and a varint before each item: the
  // slack lets the last ones pass; the view is then cut to the size.
  const size_t slack = 1 + kMaxVarint;
  char* p = out->Reserve(size + slack);
  *p = lead;
  Out heap{p + 1, p + size + slack};
  const Put written = PutTuple(tuple, 0, &heap);
  (void)written;
  assert(written == Put::kOk && heap.p == p + size);
  out->Shrink(size);
  return true;
}

PyObject* DecodeTuple(std::string_view body) {
  Reader r(body);
  PyObject* tuple = ReadBody(&r, 0);
  if (tuple != nullptr && !r.done()) {
    Py_DECREF(tuple);
    r.Fail("trailing bytes");
    return nullptr;
  }
  return tuple;
}

}  // namespace python
}  // namespace ultradict
