#include "python/fast_dict.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "pybind11/pybind11.h"
#include "python/errors.h"
#include "python/handle.h"
#include "python/typed_codec.h"
#include "ultradict/db.h"

namespace ultradict {
namespace python {
namespace {

struct FastBase {
  PyObject_HEAD PyObject*
      handle_obj;  // The pybind11 DB object (owned reference).
  Handle* handle;  // Its C++ object; nullptr until _bind.
  PyObject* dumps;
  PyObject* loads;
  PyObject* gone;  // _load_ref's "removed meanwhile".
  int typed;
  int tuples;  // Format::tuples.
  int recurse;
  // Reads' value buffer (owned; made by the first read), and whether a
  // read of this object is decoding from it: a read that starts meanwhile
  // (a finalizer run by a garbage collection during the decode, another
  // thread while pickle.loads runs) uses a buffer of its own. Guarded by
  // the GIL.
  std::string* scratch;
  int scratch_busy;
};

// Interned method names and pickle.PicklingError (module init).
PyObject* g_load_ref = nullptr;
PyObject* g_py_setitem = nullptr;
PyObject* g_py_delitem = nullptr;
PyObject* g_pickling_error = nullptr;

FastBase* Self(PyObject* op) { return reinterpret_cast<FastBase*>(op); }

Format FormatOf(const FastBase* self) {
  Format f;
  f.typed = self->typed != 0;
  f.tuples = self->tuples != 0;
  f.dumps = self->dumps;
  f.loads = self->loads;
  return f;
}

// The open DB, or nullptr with a Python error set.
DB* OpenDb(FastBase* self) {
  if (self->handle == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "UltraDict is not initialised");
    return nullptr;
  }
  DB* db = self->handle->raw_db();
  if (db == nullptr) {
    PyErr_SetString(Errors().already_closed, "the UltraDict was closed");
  }
  return db;
}

PyObject* BytesOf(std::string_view b) {
  return PyBytes_FromStringAndSize(b.data(), static_cast<Py_ssize_t>(b.size()));
}

// dict's KeyError(key) (a tuple key stays one argument).
void SetKeyError(PyObject* key) {
  PyObject* args = PyTuple_Pack(1, key);
  if (args == nullptr) return;
  PyErr_SetObject(PyExc_KeyError, args);
  Py_DECREF(args);
}

// The value buffer of one read: self's scratch when no other read of self
// uses it, else one of its own.
class ReadBuffer {
 public:
  explicit ReadBuffer(FastBase* self) : self_(self) {
    if (self->scratch_busy) return;
    if (self->scratch == nullptr) self->scratch = new std::string();
    self->scratch_busy = 1;
    buffer_ = self->scratch;
  }
  ~ReadBuffer() {
    if (buffer_ != self_->scratch) return;
    if (buffer_->capacity() > (size_t{64} << 10)) std::string().swap(*buffer_);
    self_->scratch_busy = 0;
  }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  std::string* get() { return buffer_; }

 private:
  FastBase* const self_;
  std::string own_;
  std::string* buffer_ = &own_;
};

// Reads key: 1 with *out a new reference, 0 when absent (or a nested
// dictionary removed meanwhile), -1 with a Python error set.
int Lookup(FastBase* self, PyObject* key, PyObject** out) {
  DB* db = OpenDb(self);
  if (db == nullptr) return -1;
  const Format format = FormatOf(self);
  Encoded k;
  if (!EncodeKey(format, key, &k)) return -1;
  // Decoding may run Python code (allocations start garbage collections,
  // whose finalizers may read self): the buffer stays this read's.
  ReadBuffer buffer(self);
  const std::string& value = *buffer.get();
  absl::Status s = db->Get(k.view(), buffer.get());
  if (!s.ok()) {  // ok() is inline; IsNotFound a call into libabsl.
    if (absl::IsNotFound(s)) return 0;
    SetError(s);
    return -1;
  }
  PyObject* result;
  if (IsNestedRef(format, self->recurse != 0, value)) {
    PyObject* kb = BytesOf(k.view());
    PyObject* vb = kb == nullptr ? nullptr : BytesOf(value);
    result = vb == nullptr
                 ? nullptr
                 : PyObject_CallMethodObjArgs(reinterpret_cast<PyObject*>(self),
                                              g_load_ref, kb, vb, nullptr);
    Py_XDECREF(kb);
    Py_XDECREF(vb);
    if (result == self->gone) {
      Py_DECREF(result);
      return 0;
    }
  } else {
    result = DecodeValue(format, value);
  }
  if (result == nullptr) return -1;
  *out = result;
  return 1;
}

PyObject* Subscript(PyObject* op, PyObject* key) {
  PyObject* value = nullptr;
  const int found = Lookup(Self(op), key, &value);
  if (found == 0) SetKeyError(key);
  return found > 0 ? value : nullptr;
}

int AssSubscript(PyObject* op, PyObject* key, PyObject* value) {
  FastBase* self = Self(op);
  if (self->recurse) {  // Nested dictionaries: the Python layer.
    PyObject* r =
        value != nullptr
            ? PyObject_CallMethodObjArgs(op, g_py_setitem, key, value, nullptr)
            : PyObject_CallMethodObjArgs(op, g_py_delitem, key, nullptr);
    if (r == nullptr) return -1;
    Py_DECREF(r);
    return 0;
  }
  if (OpenDb(self) == nullptr) return -1;
  const Format format = FormatOf(self);
  Encoded k;
  if (!EncodeKey(format, key, &k)) return -1;
  absl::Status s;
  bool existed = true;
  if (value != nullptr) {
    Encoded v;
    if (!EncodeValue(format, value, &v)) return -1;
    const std::string_view view = v.view();
    s = self->handle->WriteOne(k.view(), &view, nullptr);
  } else {
    s = self->handle->WriteOne(k.view(), nullptr, &existed);
  }
  if (!s.ok()) {
    SetError(s);
    return -1;
  }
  if (!existed) {
    SetKeyError(key);
    return -1;
  }
  return 0;
}

// k in d: false for keys the serializer cannot encode (like dict, which
// is false for a key it does not hold).
int Contains(PyObject* op, PyObject* key) {
  FastBase* self = Self(op);
  DB* db = OpenDb(self);
  if (db == nullptr) return -1;
  Encoded k;
  if (!EncodeKey(FormatOf(self), key, &k)) {
    if (PyErr_ExceptionMatches(PyExc_TypeError) ||
        PyErr_ExceptionMatches(PyExc_AttributeError) ||
        (g_pickling_error != nullptr &&
         PyErr_ExceptionMatches(g_pickling_error))) {
      PyErr_Clear();
      return 0;
    }
    return -1;
  }
  PinnableValue pinned;
  absl::Status s = db->GetPinned(k.view(), &pinned);
  if (!s.ok()) {  // ok() is inline; IsNotFound a call into libabsl.
    if (absl::IsNotFound(s)) return 0;
    SetError(s);
    return -1;
  }
  return 1;
}

// get(key, default=None): `default` may be passed by keyword, as to
// Mapping.get (the original's).
PyObject* Get(PyObject* op, PyObject* const* args, Py_ssize_t nargs,
              PyObject* kwnames) {
  const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  PyObject* fallback = nargs == 2 ? args[1] : Py_None;
  if (nkw == 1 && nargs == 1 &&
      PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0),
                                       "default") == 0) {
    fallback = args[1];
  } else if (nkw != 0 || nargs < 1 || nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "get(key, default=None)");
    return nullptr;
  }
  PyObject* value = nullptr;
  const int found = Lookup(Self(op), args[0], &value);
  if (found < 0) return nullptr;
  if (found == 0) return Py_NewRef(fallback);
  return value;
}

PyObject* Bind(PyObject* op, PyObject* args) {
  FastBase* self = Self(op);
  PyObject *handle_obj, *dumps, *loads, *gone;
  int typed, recurse, tuples = 0;
  if (!PyArg_ParseTuple(args, "OOOppO|p:_bind", &handle_obj, &dumps, &loads,
                        &typed, &recurse, &gone, &tuples)) {
    return nullptr;
  }
  Handle* handle;
  try {
    handle = pybind11::cast<Handle*>(pybind11::handle(handle_obj));
  } catch (const pybind11::cast_error&) {
    PyErr_SetString(PyExc_TypeError, "_bind needs a _ultradict.DB");
    return nullptr;
  }
  Py_INCREF(handle_obj);
  Py_XSETREF(self->handle_obj, handle_obj);
  self->handle = handle;
  Py_INCREF(dumps);
  Py_XSETREF(self->dumps, dumps);
  Py_INCREF(loads);
  Py_XSETREF(self->loads, loads);
  Py_INCREF(gone);
  Py_XSETREF(self->gone, gone);
  self->typed = typed;
  self->tuples = typed && tuples;
  self->recurse = recurse;
  Py_RETURN_NONE;
}

// The codec, for the Python layer's slow paths.
bool Bound(FastBase* self) {
  if (self->dumps != nullptr) return true;
  PyErr_SetString(PyExc_RuntimeError, "UltraDict is not initialised");
  return false;
}

PyObject* EncodeKeyMethod(PyObject* op, PyObject* key) {
  if (!Bound(Self(op))) return nullptr;
  Encoded k;
  if (!EncodeKey(FormatOf(Self(op)), key, &k)) return nullptr;
  return BytesOf(k.view());
}

PyObject* EncodeValueMethod(PyObject* op, PyObject* value) {
  if (!Bound(Self(op))) return nullptr;
  Encoded v;
  if (!EncodeValue(FormatOf(Self(op)), value, &v)) return nullptr;
  return BytesOf(v.view());
}

// The bytes of a bytes-like argument, or false with TypeError.
bool BytesArg(PyObject* arg, std::string_view* out) {
  if (!PyBytes_Check(arg)) {
    PyErr_SetString(PyExc_TypeError, "bytes expected");
    return false;
  }
  *out = std::string_view(PyBytes_AS_STRING(arg),
                          static_cast<size_t>(PyBytes_GET_SIZE(arg)));
  return true;
}

PyObject* DecodeKeyMethod(PyObject* op, PyObject* arg) {
  std::string_view b;
  if (!Bound(Self(op)) || !BytesArg(arg, &b)) return nullptr;
  return DecodeKey(FormatOf(Self(op)), b);
}

PyObject* DecodeValueMethod(PyObject* op, PyObject* arg) {
  std::string_view b;
  if (!Bound(Self(op)) || !BytesArg(arg, &b)) return nullptr;
  return DecodeValue(FormatOf(Self(op)), b);
}

PyObject* IsRefMethod(PyObject* op, PyObject* arg) {
  std::string_view b;
  if (!Bound(Self(op)) || !BytesArg(arg, &b)) return nullptr;
  return PyBool_FromLong(
      IsNestedRef(FormatOf(Self(op)), Self(op)->recurse != 0, b));
}

void Dealloc(PyObject* op) {
  FastBase* self = Self(op);
  Py_CLEAR(self->handle_obj);
  Py_CLEAR(self->dumps);
  Py_CLEAR(self->loads);
  Py_CLEAR(self->gone);
  self->handle = nullptr;
  delete self->scratch;
  self->scratch = nullptr;
  Py_TYPE(op)->tp_free(op);
}

PyMethodDef kMethods[] = {
    {"get", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Get)),
     METH_FASTCALL | METH_KEYWORDS,
     "D.get(k, default=None) -> D[k] if k in D, else default."},
    {"_bind", Bind, METH_VARARGS,
     "_bind(handle, dumps, loads, typed, recurse, gone, tuples=False)"},
    {"_encode_key", EncodeKeyMethod, METH_O, "The stored bytes of a key."},
    {"_encode_value", EncodeValueMethod, METH_O,
     "The stored bytes of a value."},
    {"_decode_key", DecodeKeyMethod, METH_O, "The key stored as bytes."},
    {"_decode_value", DecodeValueMethod, METH_O,
     "The value stored as bytes (nested references not resolved)."},
    {"_is_ref", IsRefMethod, METH_O,
     "Whether stored value bytes may be a nested-dictionary reference."},
    {nullptr, nullptr, 0, nullptr},
};

PyMappingMethods kMapping = {nullptr, Subscript, AssSubscript};

PySequenceMethods kSequence = {};

// Filled in by AddFastBase (C++17 has no designated initializers).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
PyTypeObject g_type = {PyVarObject_HEAD_INIT(nullptr, 0)};
#pragma GCC diagnostic pop

}  // namespace

bool AddFastBase(PyObject* module) {
  g_load_ref = PyUnicode_InternFromString("_load_ref");
  g_py_setitem = PyUnicode_InternFromString("_py_setitem");
  g_py_delitem = PyUnicode_InternFromString("_py_delitem");
  if (g_load_ref == nullptr || g_py_setitem == nullptr ||
      g_py_delitem == nullptr) {
    return false;
  }
  PyObject* pickle = PyImport_ImportModule("pickle");
  if (pickle == nullptr) return false;
  g_pickling_error = PyObject_GetAttrString(pickle, "PicklingError");
  Py_DECREF(pickle);
  if (g_pickling_error == nullptr) return false;

  kSequence.sq_contains = Contains;
  g_type.tp_name = "ultradict._ultradict.FastBase";
  g_type.tp_basicsize = sizeof(FastBase);
  g_type.tp_dealloc = Dealloc;
  g_type.tp_as_sequence = &kSequence;
  g_type.tp_as_mapping = &kMapping;
  g_type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE;
  g_type.tp_doc = "The C base class of ultradict.UltraDict (fast paths).";
  g_type.tp_methods = kMethods;
  g_type.tp_new = PyType_GenericNew;
  if (PyType_Ready(&g_type) != 0) return false;
  Py_INCREF(&g_type);
  if (PyModule_AddObject(module, "FastBase",
                         reinterpret_cast<PyObject*>(&g_type)) != 0) {
    Py_DECREF(&g_type);
    return false;
  }
  return true;
}

}  // namespace python
}  // namespace ultradict
