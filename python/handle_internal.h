// handle_internal.h: what the Handle files (handle.cc, handle_write.cc,
// handle_lock.cc) share and nothing else includes: the table of write
// locks held by this process's threads (see handle.h) and bytes helpers.
// Everything here needs the GIL.

#ifndef ULTRADICT_PYTHON_HANDLE_INTERNAL_H_
#define ULTRADICT_PYTHON_HANDLE_INTERNAL_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "pybind11/pybind11.h"
#include "python/handle.h"
#include "ultradict/db.h"

namespace ultradict {
namespace python {
namespace handle_internal {

// A write lock held by a thread of this process (guarded by the GIL).
struct Held {
  std::unique_ptr<WriteLock> lock;
  const Handle* owner = nullptr;  // Whose DB the lock was taken through.
  std::thread::id thread;
  pid_t pid = 0;
  int depth = 0;
};

// This process's id, cached (getpid() is a system call); right in a fork
// child too.
pid_t Pid();

// Lock key (directory and name) -> the held lock. Never destroyed.
std::map<std::string, Held>& HeldLocks();

// The entry of key if it belongs to this process (a fork child forgets its
// parent's, without releasing them), else nullptr.
Held* FindHeld(const std::string& key);

// The bytes of b (a bytes object); throws error_already_set otherwise.
std::string_view View(const py::bytes& b);

inline py::bytes Bytes(std::string_view s) {
  return py::bytes(s.data(), s.size());
}

// How long one wait (for the lock, for a change) lasts before Python
// signals and close() are checked.
inline constexpr int64_t kWaitSliceMs = 100;

}  // namespace handle_internal
}  // namespace python
}  // namespace ultradict

#endif  // ULTRADICT_PYTHON_HANDLE_INTERNAL_H_
