#include "python/typed_codec.h"

#include <cstdint>
#include <cstring>

#include "python/codec_bits.h"
#include "python/errors.h"
#include "python/handle.h"
#include "python/tuple_codec.h"

namespace ultradict {
namespace python {
namespace {

float BitsFloat(uint32_t bits) {
  constexpr uint32_t kSign = uint32_t{1} << 31;
  bits = (bits & kSign) ? (bits & ~kSign) : ~bits;
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

// Whether b is well-formed UTF-8 (as CPython's strict decoder accepts it:
// no overlongs, no surrogates, nothing above U+10FFFF).
bool IsUtf8(std::string_view b) {
  size_t i = 0;
  while (i < b.size()) {
    const unsigned char c = static_cast<unsigned char>(b[i]);
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  // Bounds of the second byte.
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (b.size() - i - 1 < n) return false;
    for (size_t j = 1; j <= n; j++) {
      const unsigned char d = static_cast<unsigned char>(b[i + j]);
      if (d < (j == 1 ? lo : 0x80) || d > (j == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

// tag + payload into out.
void Tagged(char tag, std::string_view payload, Encoded* out) {
  char* p = out->Reserve(1 + payload.size());
  p[0] = tag;
  CopyBytes(p + 1, payload.data(), payload.size());
}

void TaggedInt64(char tag, uint64_t bits, Encoded* out) {
  char* p = out->Reserve(9);
  p[0] = tag;
  PutBigEndian64(bits, p + 1);
}

// serializer.dumps(obj) into out; in the typed format it must start with
// kPickleMark (so that it never reads as a typed entry).
bool Serialize(const Format& format, PyObject* obj, Encoded* out) {
  PyObject* data = PyObject_CallOneArg(format.dumps, obj);
  if (data == nullptr) return false;
  if (PyUnicode_Check(data)) {  // A text serializer (json): its UTF-8.
    PyObject* utf8 = PyUnicode_AsUTF8String(data);
    Py_DECREF(data);
    if (utf8 == nullptr) return false;
    data = utf8;
  }
  if (!PyBytes_Check(data)) {
    Py_DECREF(data);
    PyErr_SetString(PyExc_TypeError, "serializer.dumps must return bytes");
    return false;
  }
  out->Own(data);
  if (format.typed &&
      (out->view().empty() ||
       static_cast<unsigned char>(out->view()[0]) != kPickleMark)) {
    PyErr_SetString(PyExc_ValueError,
                    "the typed format needs pickle protocol 2 or later");
    return false;
  }
  return true;
}

PyObject* Deserialize(const Format& format, std::string_view bytes) {
  PyObject* data = PyBytes_FromStringAndSize(
      bytes.data(), static_cast<Py_ssize_t>(bytes.size()));
  if (data == nullptr) return nullptr;
  PyObject* obj = PyObject_CallOneArg(format.loads, data);
  Py_DECREF(data);
  return obj;
}

PyObject* BytesOf(std::string_view b) {
  return PyBytes_FromStringAndSize(b.data(), static_cast<Py_ssize_t>(b.size()));
}

// str when b is valid UTF-8, else bytes.
PyObject* StrOrBytes(std::string_view b) {
  PyObject* s = PyUnicode_DecodeUTF8(
      b.data(), static_cast<Py_ssize_t>(b.size()), "strict");
  if (s != nullptr) return s;
  PyErr_Clear();
  return BytesOf(b);
}

PyObject* DataLoss(const char* what, unsigned char tag) {
  PyErr_Format(
      Errors().data_loss != nullptr ? Errors().data_loss : PyExc_OSError,
      "%s (type tag 0x%02x)", what, static_cast<unsigned>(tag));
  return nullptr;
}

// A C++ integer value: tag and payload size of each width.
PyObject* DecodeInteger(char tag, std::string_view payload) {
  size_t width = 0;
  bool is_signed = true;
  switch (tag) {
    case 'b':
      width = 1;
      break;
    case 'h':
      width = 2;
      break;
    case 'i':
      width = 4;
      break;
    case 'q':
      width = 8;
      break;
    case 'B':
      width = 1;
      is_signed = false;
      break;
    case 'H':
      width = 2;
      is_signed = false;
      break;
    case 'I':
      width = 4;
      is_signed = false;
      break;
    case 'Q':
      width = 8;
      is_signed = false;
      break;
    default:
      return nullptr;
  }
  if (payload.size() != width) {
    return DataLoss("integer value of the wrong size", tag);
  }
  uint64_t bits = GetBigEndian(payload.data(), width);
  if (!is_signed) return PyLong_FromUnsignedLongLong(bits);
  const uint64_t sign = uint64_t{1} << (8 * width - 1);
  bits ^= sign;
  if (width < 8 && (bits & sign)) bits |= ~((sign << 1) - 1);  // Extend.
  return PyLong_FromLongLong(static_cast<long long>(bits));
}

}  // namespace

char* Encoded::Reserve(size_t n) {
  char* p = inline_;
  if (n > kInline) {
    heap_.resize(n);
    p = heap_.data();
  }
  view_ = std::string_view(p, n);
  return p;
}

void Encoded::Own(PyObject* bytes) {
  Py_XDECREF(owner_);
  owner_ = bytes;
  view_ = std::string_view(PyBytes_AS_STRING(bytes),
                           static_cast<size_t>(PyBytes_GET_SIZE(bytes)));
}

bool EncodeKey(const Format& format, PyObject* key, Encoded* out) {
  if (format.typed) {
    if (PyUnicode_CheckExact(key)) {
      std::string_view utf8;
      if (Utf8Of(key, &utf8) && utf8 != kMetaKey) {
        out->Borrow(utf8);  // Owned by key, which the caller holds.
        return true;
      }
    } else if (PyBytes_CheckExact(key)) {
      const std::string_view b(PyBytes_AS_STRING(key),
                               static_cast<size_t>(PyBytes_GET_SIZE(key)));
      const unsigned char first =
          b.empty() ? 0 : static_cast<unsigned char>(b[0]);
      if (!b.empty() && first != kPickleMark && first != kBytesKeyTag &&
          first != kIntKeyTag && !(format.tuples && first == kTupleKeyTag) &&
          !IsUtf8(b)) {
        out->Borrow(b);  // Reads back as bytes, as a C++ binary key does.
      } else {
        Tagged(static_cast<char>(kBytesKeyTag), b, out);
      }
      return true;
    } else if (PyLong_CheckExact(key)) {
      int64_t v;
      if (Int64Of(key, &v)) {
        TaggedInt64(static_cast<char>(kIntKeyTag),
                    static_cast<uint64_t>(v) ^ kSignBit, out);
        return true;
      }
    } else if (format.tuples &&
               EncodeTuple(key, static_cast<char>(kTupleKeyTag), out)) {
      return true;
    }
  }
  return Serialize(format, key, out);
}

bool EncodeValue(const Format& format, PyObject* value, Encoded* out) {
  if (format.typed) {
    if (PyUnicode_CheckExact(value)) {
      std::string_view utf8;
      if (Utf8Of(value, &utf8)) {
        Tagged(kStrTag, utf8, out);
        return true;
      }
    } else if (PyBytes_CheckExact(value)) {
      Tagged(kBytesTag,
             std::string_view(PyBytes_AS_STRING(value),
                              static_cast<size_t>(PyBytes_GET_SIZE(value))),
             out);
      return true;
    } else if (PyLong_CheckExact(value)) {
      int64_t v;
      if (Int64Of(value, &v)) {
        TaggedInt64(kInt64Tag, static_cast<uint64_t>(v) ^ kSignBit, out);
        return true;
      }
    } else if (PyBool_Check(value)) {
      char* p = out->Reserve(2);
      p[0] = kBoolTag;
      p[1] = value == Py_True ? 1 : 0;
      return true;
    } else if (PyFloat_CheckExact(value)) {
      TaggedInt64(kDoubleTag, DoubleBits(PyFloat_AS_DOUBLE(value)), out);
      return true;
    } else if (format.tuples && EncodeTuple(value, kTupleTag, out)) {
      return true;
    }
  }
  return Serialize(format, value, out);
}

PyObject* DecodeKey(const Format& format, std::string_view b) {
  if (!format.typed) return Deserialize(format, b);
  if (b.empty()) return PyUnicode_FromStringAndSize("", 0);
  const unsigned char first = static_cast<unsigned char>(b[0]);
  if (first == kPickleMark) return Deserialize(format, b);
  if (first == kBytesKeyTag) return BytesOf(b.substr(1));
  if (first == kIntKeyTag && b.size() == 9) {
    const uint64_t bits = GetBigEndian64(b.data() + 1) ^ kSignBit;
    return PyLong_FromLongLong(static_cast<long long>(bits));
  }
  if (format.tuples && first == kTupleKeyTag) {
    PyObject* tuple = DecodeTuple(b.substr(1));
    if (tuple != nullptr || Errors().data_loss == nullptr ||
        !PyErr_ExceptionMatches(Errors().data_loss)) {
      return tuple;
    }
    PyErr_Clear();  // Not a tuple: a C++ program's binary key.
    return BytesOf(b);
  }
  // A str key, or a binary one (bytes from Python, or a C++ program's).
  return IsUtf8(b) ? PyUnicode_DecodeUTF8(
                         b.data(), static_cast<Py_ssize_t>(b.size()), "strict")
                   : BytesOf(b);
}

PyObject* DecodeValue(const Format& format, std::string_view b) {
  if (!format.typed) return Deserialize(format, b);
  if (b.empty()) {
    PyErr_SetString(
        Errors().data_loss != nullptr ? Errors().data_loss : PyExc_OSError,
        "value has no type tag (written without a codec?)");
    return nullptr;
  }
  const char tag = b[0];
  const std::string_view payload = b.substr(1);
  switch (tag) {
    case static_cast<char>(kPickleMark):
      return Deserialize(format, b);
    case kStrTag:
      return StrOrBytes(payload);
    case kBytesTag:
      return BytesOf(payload);
    case kTupleTag:
      return DecodeTuple(payload);
    case kBoolTag:
      if (payload.size() != 1 || static_cast<unsigned char>(payload[0]) > 1) {
        return DataLoss("bool value of the wrong form", tag);
      }
      return PyBool_FromLong(payload[0]);
    case kDoubleTag:
      if (payload.size() != 8) return DataLoss("double of the wrong size", tag);
      return PyFloat_FromDouble(BitsDouble(GetBigEndian64(payload.data())));
    case 'f':
      if (payload.size() != 4) return DataLoss("float of the wrong size", tag);
      return PyFloat_FromDouble(
          BitsFloat(static_cast<uint32_t>(GetBigEndian(payload.data(), 4))));
    default:
      break;
  }
  PyObject* integer = DecodeInteger(tag, payload);
  if (integer != nullptr || PyErr_Occurred()) return integer;
  return DataLoss("a value Python cannot read",
                  static_cast<unsigned char>(tag));
}

bool IsNestedRef(const Format& format, bool recurse, std::string_view b) {
  if (format.typed) return !b.empty() && b[0] == kNestedTag;
  return recurse && b.size() >= 2 && b[0] == 'N' && b[1] == '1';
}

}  // namespace python
}  // namespace ultradict
