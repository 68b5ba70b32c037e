// port_mutex_test.cc: the annotated locks of port/mutex.h: the in-process
// Mutex, SharedMutex and CondVar, and ProcessMutexLock, the scoped holder
// of a cross-process mutex (a holder that died, repair, timeout).

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "port/mutex.h"

namespace ultradict {
namespace port {
namespace {

// A ProcessMutex in memory shared with fork children.
class SharedStorage {
 public:
  SharedStorage() {
    size_ = ProcessMutex::StorageSize();
    data_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(data_, MAP_FAILED);
    EXPECT_TRUE(ProcessMutex::Init(data_).ok());
  }
  ~SharedStorage() { munmap(data_, size_); }
  void* get() { return data_; }

 private:
  void* data_;
  size_t size_;
};

// Runs fn in a fork child; its exit code.
template <typename Fn>
int InChild(Fn fn) {
  const pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

TEST(ProcessMutexLockTest, HoldsForItsScope) {
  SharedStorage storage;
  {
    ProcessMutexLock lock(storage.get(), 1000);
    ASSERT_TRUE(lock.status().ok()) << lock.status();
    EXPECT_FALSE(lock.owner_died());
    // Another process cannot take it meanwhile.
    EXPECT_EQ(InChild([&] {
                ProcessMutexLock other(storage.get(), 20);
                return absl::IsDeadlineExceeded(other.status()) ? 0 : 1;
              }),
              0);
  }
  // Released at the end of the scope.
  EXPECT_EQ(InChild([&] {
              ProcessMutexLock other(storage.get(), 1000);
              return other.status().ok() ? 0 : 1;
            }),
            0);
}

TEST(ProcessMutexLockTest, AHolderThatDiedIsReportedAndRepaired) {
  SharedStorage storage;
  // The child exits holding the mutex.
  ASSERT_EQ(InChild([&] {
              bool died = false;
              return ProcessMutex::Lock(storage.get(), 1000, &died).ok() ? 0
                                                                         : 1;
            }),
            0);
  {
    ProcessMutexLock lock(storage.get(), 1000);
    ASSERT_TRUE(lock.status().ok()) << lock.status();
    EXPECT_TRUE(lock.owner_died());
    lock.MarkConsistent();
    EXPECT_FALSE(lock.owner_died());
  }
  // Consistent again: taken normally.
  ProcessMutexLock again(storage.get(), 1000);
  ASSERT_TRUE(again.status().ok()) << again.status();
  EXPECT_FALSE(again.owner_died());
}

TEST(ProcessMutexLockTest, NotTakenWithinTheTimeoutReleasesNothing) {
  SharedStorage storage;
  ProcessMutexLock holder(storage.get(), 1000);
  ASSERT_TRUE(holder.status().ok());
  int rc = InChild([&] {
    {
      ProcessMutexLock failed(storage.get(), 10);
      if (!absl::IsDeadlineExceeded(failed.status())) return 1;
    }
    // The failed scope's end did not unlock the parent's hold.
    ProcessMutexLock again(storage.get(), 10);
    return absl::IsDeadlineExceeded(again.status()) ? 0 : 2;
  });
  EXPECT_EQ(rc, 0);
}

TEST(MutexTest, CondVarWaitsForASignal) {
  Mutex mu;
  CondVar cv(&mu);
  bool ready = false;  // Guarded by mu.
  std::thread signaller([&] {
    MutexLock l(&mu);
    ready = true;
    cv.SignalAll();
  });
  {
    MutexLock l(&mu);
    while (!ready) cv.Wait();
  }
  signaller.join();
  MutexLock l(&mu);
  EXPECT_FALSE(
      cv.WaitFor(std::chrono::milliseconds(1)));  // No signal: times out.
}

// What it checks takes the lock in ways the analysis refuses on purpose.
void CheckReadersShareWritersExclude() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  SharedMutex mu;
  mu.ReaderLock();
  std::atomic<bool> second_reader{false};
  std::thread reader([&] {
    ReaderMutexLock l(&mu);  // Shared with the main thread's hold.
    second_reader = true;
  });
  reader.join();
  EXPECT_TRUE(second_reader);
  EXPECT_FALSE(mu.TryLock());  // A reader holds it.
  mu.ReaderUnlock();
  ASSERT_TRUE(mu.TryLock());
  mu.Unlock();
}

TEST(MutexTest, SharedMutexReadersShareWritersExclude) {
  CheckReadersShareWritersExclude();
}

}  // namespace
}  // namespace port
}  // namespace ultradict
