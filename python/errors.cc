#include "python/errors.h"

#include <string>

#include "pybind11/pybind11.h"

namespace ultradict {
namespace python {
namespace {

ErrorClasses g_errors;

// A new class module.name deriving from bases (a tuple or one class).
PyObject* NewClass(PyObject* module, const char* name, PyObject* bases,
                   const char* doc) {
  const std::string qualified = std::string("ultradict._ultradict.") + name;
  PyObject* cls =
      PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (cls == nullptr) return nullptr;
  Py_INCREF(cls);
  if (PyModule_AddObject(module, name, cls) != 0) {
    Py_DECREF(cls);
    Py_DECREF(cls);
    return nullptr;
  }
  return cls;
}

}  // namespace

bool AddErrorClasses(PyObject* module) {
  g_errors.not_found = NewClass(module, "NotFoundError", PyExc_KeyError,
                                "The key or dictionary does not exist.");
  if (g_errors.not_found == nullptr) return false;
  g_errors.already_exists =
      NewClass(module, "AlreadyExistsError", PyExc_FileExistsError,
               "The dictionary exists already.");
  if (g_errors.already_exists == nullptr) return false;
  PyObject* bases = PyTuple_Pack(2, PyExc_MemoryError, PyExc_OSError);
  if (bases == nullptr) return false;
  g_errors.resource_exhausted =
      NewClass(module, "ResourceExhaustedError", bases,
               "No room for the dictionary's shared memory (e.g. /dev/shm "
               "is full).");
  Py_DECREF(bases);
  if (g_errors.resource_exhausted == nullptr) return false;
  g_errors.data_loss =
      NewClass(module, "DataLossError", PyExc_OSError,
               "The dictionary's shared memory is damaged.");
  if (g_errors.data_loss == nullptr) return false;
  g_errors.failed_precondition =
      NewClass(module, "FailedPreconditionError", PyExc_RuntimeError,
               "The call cannot work in the dictionary's state (e.g. it was "
               "destroyed, or another format version).");
  if (g_errors.failed_precondition == nullptr) return false;
  g_errors.already_closed =
      NewClass(module, "AlreadyClosedError", PyExc_ValueError,
               "The UltraDict was closed.");
  return g_errors.already_closed != nullptr;
}

const ErrorClasses& Errors() { return g_errors; }

void SetError(const absl::Status& s) {
  PyObject* type = PyExc_OSError;
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      type = g_errors.not_found;
      break;
    case absl::StatusCode::kAlreadyExists:
      type = g_errors.already_exists;
      break;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      type = PyExc_ValueError;
      break;
    case absl::StatusCode::kPermissionDenied:
      type = PyExc_PermissionError;
      break;
    case absl::StatusCode::kResourceExhausted:
      type = g_errors.resource_exhausted;
      break;
    case absl::StatusCode::kDeadlineExceeded:
      type = PyExc_TimeoutError;
      break;
    case absl::StatusCode::kDataLoss:
      type = g_errors.data_loss;
      break;
    case absl::StatusCode::kFailedPrecondition:
      type = g_errors.failed_precondition;
      break;
    default:
      break;
  }
  if (type == nullptr) type = PyExc_OSError;  // Module not initialised.
  const std::string message(s.message());
  PyErr_SetString(type, message.c_str());
}

void Raise(const absl::Status& s) {
  SetError(s);
  throw pybind11::error_already_set();
}

}  // namespace python
}  // namespace ultradict
