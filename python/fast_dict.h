// fast_dict.h: _ultradict.FastBase, the C base class of
// ultradict.UltraDict. It runs d[k], d.get(k), k in d, d[k] = v and
// del d[k] without a Python frame and without pybind11's dispatch: the key
// and value go through typed_codec.h, the read through DB::Get with the GIL
// held (reads never wait) into the instance's value buffer (a read that
// starts while another read of the instance decodes, e.g. from a
// finalizer, uses its own), the write through Handle::WriteOne (which
// releases the GIL only to wait for another writer).
//
// The Python subclass binds it to its open handle once settings are known:
//   self._bind(handle, serializer.dumps, serializer.loads, typed, recurse,
//              gone, tuples)
// and provides the slow paths the C code calls back:
//   self._load_ref(key_bytes, value_bytes)  a nested-dictionary reference:
//                                           the child, or `gone`
//   self._py_setitem(key, value), self._py_delitem(key)   when recurse
// It also gets the codec as methods: _encode_key, _encode_value,
// _decode_key, _decode_value (bytes in or out).

#ifndef ULTRADICT_PYTHON_FAST_DICT_H_
#define ULTRADICT_PYTHON_FAST_DICT_H_

#include <Python.h>

namespace ultradict {
namespace python {

// Adds FastBase to module; false with a Python error set on failure.
bool AddFastBase(PyObject* module);

}  // namespace python
}  // namespace ultradict

#endif  // ULTRADICT_PYTHON_FAST_DICT_H_
