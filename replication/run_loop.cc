// run_loop.cc: see run_loop.h.

#include "replication/run_loop.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"

namespace ultradict {
namespace replication {

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepUnlessStopped(int64_t ms, const std::atomic<bool>& stop) {
  const int64_t end = MonotonicMs() + ms;
  while (!stop.load()) {
    const int64_t left = end - MonotonicMs();
    if (left <= 0) return;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min<int64_t>(left, 20)));
  }
}

absl::Status RunWithReconnect(const std::atomic<bool>& stop,
                              int64_t max_backoff_ms, const LogFn& log,
                              absl::FunctionRef<absl::Status()> session) {
  int64_t backoff = 50;
  while (!stop.load()) {
    const int64_t start = MonotonicMs();
    absl::Status s = session();
    if (s.ok() || stop.load()) return absl::OkStatus();
    if (!absl::IsUnavailable(s)) return s;
    if (MonotonicMs() - start > 10000) backoff = 50;
    if (log) {
      log(absl::StrCat(s.message(), "; retrying in ", backoff, " ms"));
    }
    SleepUnlessStopped(backoff, stop);
    backoff = std::min(backoff * 2, std::max<int64_t>(max_backoff_ms, 50));
  }
  return absl::OkStatus();
}

}  // namespace replication
}  // namespace ultradict
