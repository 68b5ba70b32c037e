// write_lock_test.cc: DB::LockWrites, a write lock held for a scope.

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::ScopedDestroy;
using testing::UniqueName;

std::unique_ptr<DB> OpenOrDie(const std::string& name) {
  auto db = DB::Open(Options(), name);
  EXPECT_THAT(db.status(), IsOk());
  return db.ok() ? std::move(*db) : nullptr;
}

TEST(WriteLockTest, WritesThroughTheLockAreVisibleAtOnce) {
  const std::string name = UniqueName("wl");
  ScopedDestroy destroy(name);
  std::unique_ptr<DB> a = OpenOrDie(name);
  std::unique_ptr<DB> b = OpenOrDie(name);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_THAT(a->Put("gone", "x"), IsOk());
  {
    auto lock = a->LockWrites(1000);
    ASSERT_THAT(lock.status(), IsOk());
    ASSERT_THAT((*lock)->Put("k", "v1"), IsOk());
    std::string value;
    ASSERT_THAT(b->Get("k", &value), IsOk());  // Before the lock is released.
    EXPECT_EQ(value, "v1");
    ASSERT_THAT((*lock)->Delete("gone"), IsOk());
    EXPECT_TRUE(absl::IsNotFound(b->Get("gone", &value)));
    WriteBatch batch;
    batch.Put("k", "v2");
    batch.Put("k2", "w");
    ASSERT_THAT((*lock)->Write(batch), IsOk());
    ASSERT_THAT(a->Get("k", &value), IsOk());
    EXPECT_EQ(value, "v2");
  }
  ASSERT_THAT(b->Put("after", "1"), IsOk());  // Released.
}

TEST(WriteLockTest, HolderThreadsOwnWritesFailInsteadOfDeadlocking) {
  const std::string name = UniqueName("wl");
  ScopedDestroy destroy(name);
  std::unique_ptr<DB> db = OpenOrDie(name);
  ASSERT_NE(db, nullptr);
  auto lock = db->LockWrites(1000);
  ASSERT_THAT(lock.status(), IsOk());
  EXPECT_TRUE(absl::IsFailedPrecondition(db->Put("k", "v")));
  EXPECT_TRUE(absl::IsFailedPrecondition(db->LockWrites(0).status()));
  lock->reset();
  EXPECT_THAT(db->Put("k", "v"), IsOk());
}

TEST(WriteLockTest, OthersWaitOrTimeOut) {
  const std::string name = UniqueName("wl");
  ScopedDestroy destroy(name);
  std::unique_ptr<DB> a = OpenOrDie(name);
  std::unique_ptr<DB> b = OpenOrDie(name);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(a->LockWrites(-1).status()));
  auto lock = a->LockWrites(0);
  ASSERT_THAT(lock.status(), IsOk());
  EXPECT_TRUE(absl::IsDeadlineExceeded(b->LockWrites(0).status()));
  EXPECT_TRUE(absl::IsDeadlineExceeded(b->LockWrites(50).status()));
  std::atomic<bool> written{false};
  std::thread writer([&] {
    EXPECT_THAT(b->Put("k", "from thread"), IsOk());
    written = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(written.load());
  ASSERT_THAT((*lock)->Put("k", "from holder"), IsOk());
  lock->reset();
  writer.join();
  std::string value;
  ASSERT_THAT(a->Get("k", &value), IsOk());
  EXPECT_EQ(value, "from thread");
}

TEST(WriteLockTest, HolderThatDiesReleasesTheLockAtOnce) {
  const std::string name = UniqueName("wl");
  ScopedDestroy destroy(name);
  std::unique_ptr<DB> db = OpenOrDie(name);
  ASSERT_NE(db, nullptr);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipe_fds[0]);
    auto child_db = DB::Open(Options(), name);
    if (!child_db.ok()) _exit(2);
    auto lock = (*child_db)->LockWrites(1000);
    if (!lock.ok() || !(*lock)->Put("k", "child").ok()) _exit(3);
    if (write(pipe_fds[1], "x", 1) != 1) _exit(4);
    for (;;) pause();  // Killed holding the lock.
  }
  close(pipe_fds[1]);
  char c;
  ASSERT_EQ(read(pipe_fds[0], &c, 1), 1);
  close(pipe_fds[0]);
  EXPECT_TRUE(absl::IsDeadlineExceeded(db->LockWrites(0).status()));
  kill(pid, SIGKILL);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const auto start = std::chrono::steady_clock::now();
  auto lock = db->LockWrites(5000);
  ASSERT_THAT(lock.status(), IsOk());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  std::string value;
  ASSERT_THAT(db->Get("k", &value), IsOk());
  EXPECT_EQ(value, "child");
  ASSERT_THAT((*lock)->Put("k", "parent"), IsOk());
}

TEST(WriteLockTest, ForkChildOfHolderHoldsNothing) {
  const std::string name = UniqueName("wl");
  ScopedDestroy destroy(name);
  std::unique_ptr<DB> db = OpenOrDie(name);
  ASSERT_NE(db, nullptr);
  auto lock = db->LockWrites(1000);
  ASSERT_THAT(lock.status(), IsOk());
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const bool refused = absl::IsFailedPrecondition((*lock)->Put("k", "child"));
    lock->reset();  // Releases nothing.
    _exit(refused ? 0 : 1);
  }
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_THAT((*lock)->Put("k", "parent"), IsOk());  // Still held here.
  lock->reset();
  EXPECT_THAT(db->Put("k", "after"), IsOk());
}

}  // namespace
}  // namespace ultradict
