// handle_lock.cc: the write lock of d.lock (Handle::Lock and friends) and
// the process's table of held locks (handle_internal.h).

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "python/errors.h"
#include "python/handle.h"
#include "python/handle_internal.h"

namespace ultradict {
namespace python {
namespace handle_internal {

namespace {
pid_t g_pid = 0;
}  // namespace

// Reset in a fork child by a pthread_atfork handler.
pid_t Pid() {
  static const bool registered = [] {
    g_pid = getpid();
    pthread_atfork(nullptr, nullptr, [] { g_pid = getpid(); });
    return true;
  }();
  (void)registered;
  return g_pid;
}

// Leaked: never destroyed at exit.
std::map<std::string, Held>& HeldLocks() {
  static auto* held = new std::map<std::string, Held>();
  return *held;
}

Held* FindHeld(const std::string& key) {
  auto& table = HeldLocks();
  if (table.empty()) return nullptr;
  auto it = table.find(key);
  if (it == table.end()) return nullptr;
  if (it->second.pid != Pid()) {
    it->second.lock.reset();  // Releases nothing in a child (db.h).
    table.erase(it);
    return nullptr;
  }
  return &it->second;
}

std::string_view View(const py::bytes& b) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(b.ptr(), &data, &size) != 0) {
    throw py::error_already_set();
  }
  return std::string_view(data, static_cast<size_t>(size));
}

}  // namespace handle_internal

using handle_internal::FindHeld;
using handle_internal::Held;
using handle_internal::HeldLocks;
using handle_internal::kWaitSliceMs;
using handle_internal::Pid;

void Handle::CheckClosable() {
  Held* held = FindHeld(lock_key_);
  if (held != nullptr && held->owner == this &&
      held->thread != std::this_thread::get_id()) {
    // Only the holder may release it (a robust mutex); its DB must live.
    Raise(absl::FailedPreconditionError(
        "close() while another thread holds this UltraDict's lock"));
  }
}

WriteLock* Handle::HeldByMe() {
  Held* held = FindHeld(lock_key_);
  if (held == nullptr || held->thread != std::this_thread::get_id()) {
    return nullptr;
  }
  return held->lock.get();
}

bool Handle::Lock(int64_t timeout_ms) {
  DB* d = db();
  Held* held = FindHeld(lock_key_);
  if (held != nullptr && held->thread == std::this_thread::get_id()) {
    held->depth++;
    return true;
  }
  const int64_t kForever = std::numeric_limits<int64_t>::max();
  int64_t left = timeout_ms < 0 ? kForever : timeout_ms;
  for (;;) {
    const int64_t slice = std::min(left, kWaitSliceMs);
    absl::StatusOr<std::unique_ptr<WriteLock>> lock;
    {
      InFlight in_flight(this);
      py::gil_scoped_release release;
      lock = d->LockWrites(slice);
    }
    if (closing_) {  // close() waits for us.
      if (lock.ok()) lock->reset();
      db();  // Raises AlreadyClosed.
    }
    if (lock.ok()) {
      Held& entry = HeldLocks()[lock_key_];
      // An entry left means its thread ended holding the lock (the mutex
      // came to us as its owner died): forget it, never release it.
      (void)entry.lock.release();
      entry.lock = std::move(*lock);
      entry.owner = this;
      entry.thread = std::this_thread::get_id();
      entry.pid = Pid();
      entry.depth = 1;
      return true;
    }
    if (!absl::IsDeadlineExceeded(lock.status())) Raise(lock.status());
    if (left != kForever) left -= slice;
    if (left <= 0) return false;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

void Handle::Unlock() {
  Held* held = FindHeld(lock_key_);
  if (held == nullptr || held->thread != std::this_thread::get_id()) {
    Raise(absl::FailedPreconditionError(
        "release of a lock this thread does not hold"));
  }
  if (--held->depth > 0) return;
  std::unique_ptr<WriteLock> lock = std::move(held->lock);
  HeldLocks().erase(lock_key_);
  lock.reset();  // Cheap (a mutex unlock): the GIL stays held.
}

bool Handle::LockedByMe() { return HeldByMe() != nullptr; }

int Handle::LockDepth() {
  Held* held = FindHeld(lock_key_);
  if (held == nullptr || held->thread != std::this_thread::get_id()) return 0;
  return held->depth;
}

}  // namespace python
}  // namespace ultradict
