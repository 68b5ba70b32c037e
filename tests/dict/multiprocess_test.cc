// multiprocess_test.cc: Dict across forked processes: exact concurrent
// increments through `d[k] += 1`, and change notifications.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "ultradict/dict.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::ScopedDestroy;
using testing::UniqueName;

using Counters = Dict<std::string, int64_t>;

// Waits for pid; true when it exited with code 0.
bool Reap(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(DictMultiprocessTest, ConcurrentIncrementsAreExact) {
  constexpr int kProcs = 4;
  constexpr int kIncrements = 10000;
  const std::string name = UniqueName("incr");
  ScopedDestroy destroy(name);
  {
    absl::StatusOr<Counters> d = Counters::Open(Options(), name);
    ASSERT_THAT(d.status(), IsOk());
    (*d)["total"] = 0;
  }
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; p++) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      absl::StatusOr<Counters> d = Counters::Open(Options(), name);
      if (!d.ok()) _exit(1);
      const std::string mine = "proc" + std::to_string(p);
      for (int i = 0; i < kIncrements; i++) {
        auto total = (*d)["total"];
        total += 1;
        if (!total.status().ok()) _exit(2);
        (*d)[mine] += 1;
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) EXPECT_TRUE(Reap(pid));
  absl::StatusOr<Counters> d = Counters::Open(Options(), name);
  ASSERT_THAT(d.status(), IsOk());
  EXPECT_EQ(d->Find("total"), int64_t{kProcs} * kIncrements);
  int64_t sum = 0;
  for (const auto& [key, value] : d->Items()) {
    if (key != "total") {
      EXPECT_EQ(value, kIncrements) << key;
      sum += value;
    }
  }
  EXPECT_EQ(sum, int64_t{kProcs} * kIncrements);
  EXPECT_EQ(d->size(), kProcs + 1);
}

TEST(DictMultiprocessTest, WaitForChangeWakesOnAnotherProcessesWrite) {
  const std::string name = UniqueName("wait");
  ScopedDestroy destroy(name);
  absl::StatusOr<Counters> d = Counters::Open(Options(), name);
  ASSERT_THAT(d.status(), IsOk());
  const uint64_t seq = d->LatestSequence();

  // Nothing writes: the wait times out and reports no change.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(d->WaitForChange(seq, 300), seq);
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(250));

  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[1]);
    char c;
    if (read(ready[0], &c, 1) != 1) _exit(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    absl::StatusOr<Counters> other = Counters::Open(Options(), name);
    if (!other.ok()) _exit(2);
    (*other)["event"] += 1;
    _exit(0);
  }
  close(ready[0]);
  start = std::chrono::steady_clock::now();
  ASSERT_EQ(write(ready[1], "x", 1), 1);
  close(ready[1]);
  const uint64_t latest = d->WaitForChange(seq, 10000);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GT(latest, seq);
  EXPECT_LT(waited, std::chrono::seconds(2));
  EXPECT_EQ(d->Find("event"), 1);
  EXPECT_TRUE(Reap(pid));
  // Through db() as well.
  EXPECT_EQ(d->db()->WaitForChange(latest, 50), latest);
}

}  // namespace
}  // namespace ultradict
