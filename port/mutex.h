// mutex.h: the locks of this process, as capabilities that clang's
// thread-safety analysis (-Wthread-safety) checks, after LevelDB's
// port::Mutex: Mutex, SharedMutex, CondVar, their scoped holders, and the
// scoped holder of a cross-process ProcessMutex (port.h).
//
// The wrappers hold std::mutex / std::shared_mutex, which ThreadSanitizer
// sees (Debian's Abseil is not built with it, so absl::Mutex is not used).
// A class field names the lock that guards it with ABSL_GUARDED_BY(mu_), a
// method the locks its caller must hold with ABSL_EXCLUSIVE_LOCKS_REQUIRED
// or ABSL_SHARED_LOCKS_REQUIRED; the compiler refuses code that breaks them.

#ifndef ULTRADICT_PORT_MUTEX_H_
#define ULTRADICT_PORT_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "port/port.h"

namespace ultradict {
namespace port {

class CondVar;

// A mutex of this process.
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Tells the analysis that the caller holds it (not checked at run time).
  void AssertHeld() ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// A reader-writer mutex of this process.
class ABSL_LOCKABLE SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return mu_.try_lock();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }

  // In a fork child whose only thread held it exclusively at the fork
  // (see ResetSharedMutexInForkChild): makes it new and unlocked.
  void ResetInForkChild() ABSL_UNLOCK_FUNCTION() {
    ResetSharedMutexInForkChild(&mu_);
  }

 private:
  std::shared_mutex mu_;
};

// A condition variable waited on with its Mutex held (not annotated, as in
// LevelDB: the analysis cannot tell that cv.mu_ is the caller's mutex).
class CondVar {
 public:
  explicit CondVar(Mutex* mu) : mu_(mu) {}
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases *mu_, waits for a signal (or a spurious wake-up), takes it
  // again.
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Wait, for at most `timeout`; false when it timed out.
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    const bool signalled =
        cv_.wait_for(lock, timeout) == std::cv_status::no_timeout;
    lock.release();
    return signalled;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  Mutex* const mu_;
  std::condition_variable cv_;
};

// Holds a Mutex for a scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// Holds a SharedMutex exclusively for a scope.
class ABSL_SCOPED_LOCKABLE WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
  }
  ~WriterMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// Holds a SharedMutex shared for a scope.
class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->ReaderLock();
  }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// Holds a cross-process ProcessMutex (port.h) for a scope, when it could be
// taken within the timeout: status() says whether it was. When its previous
// holder died holding it, owner_died() is true; the holder repairs what it
// protects and calls MarkConsistent() before the scope ends (else the mutex
// is left marked inconsistent, as ProcessMutex's contract says).
class ProcessMutexLock {
 public:
  ProcessMutexLock(void* storage, int64_t timeout_ms) : storage_(storage) {
    status_ = ProcessMutex::Lock(storage_, timeout_ms, &owner_died_);
  }
  ~ProcessMutexLock() {
    if (status_.ok()) ProcessMutex::Unlock(storage_);
  }
  ProcessMutexLock(const ProcessMutexLock&) = delete;
  ProcessMutexLock& operator=(const ProcessMutexLock&) = delete;

  const absl::Status& status() const { return status_; }
  bool owner_died() const { return owner_died_; }
  void MarkConsistent() {
    if (status_.ok() && owner_died_) ProcessMutex::MarkConsistent(storage_);
    owner_died_ = false;
  }

 private:
  void* const storage_;
  bool owner_died_ = false;
  absl::Status status_;
};

}  // namespace port
}  // namespace ultradict

#endif  // ULTRADICT_PORT_MUTEX_H_
