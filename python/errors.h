// errors.h: engine Status -> Python exception, for the _ultradict module.
//
// Each absl::StatusCode maps to one Python class (a builtin, or one of the
// module's own, which subclass builtins); the message is the engine's:
//
//   NotFound           NotFoundError(KeyError)
//   AlreadyExists      AlreadyExistsError(FileExistsError)
//   InvalidArgument    ValueError
//   OutOfRange         ValueError
//   PermissionDenied   PermissionError
//   ResourceExhausted  ResourceExhaustedError(MemoryError, OSError)
//   DeadlineExceeded   TimeoutError
//   DataLoss           DataLossError(OSError)
//   FailedPrecondition FailedPreconditionError(RuntimeError)
//   anything else      OSError
//
// SetError() and Raise() must be called with the GIL held.

#ifndef ULTRADICT_PYTHON_ERRORS_H_
#define ULTRADICT_PYTHON_ERRORS_H_

#include <Python.h>

#include "absl/status/status.h"

namespace ultradict {
namespace python {

// The module's own exception classes (new references owned by the module).
struct ErrorClasses {
  PyObject* not_found = nullptr;
  PyObject* already_exists = nullptr;
  PyObject* resource_exhausted = nullptr;
  PyObject* data_loss = nullptr;
  PyObject* failed_precondition = nullptr;
  PyObject* already_closed = nullptr;  // Use of a closed handle.
};

// Creates the classes and adds them to module. False (with a Python error
// set) on failure.
bool AddErrorClasses(PyObject* module);

const ErrorClasses& Errors();

// Sets the Python exception for s (which must not be OK), for code that
// returns nullptr or -1 to CPython.
void SetError(const absl::Status& s);

// SetError(s), then throws pybind11::error_already_set.
[[noreturn]] void Raise(const absl::Status& s);

// Raise(s) unless s is OK.
inline void Check(const absl::Status& s) {
  if (!s.ok()) Raise(s);
}

}  // namespace python
}  // namespace ultradict

#endif  // ULTRADICT_PYTHON_ERRORS_H_
