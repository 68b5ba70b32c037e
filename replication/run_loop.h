// run_loop.h: what the publisher and the follower share as long-lived
// processes: a stop flag, a log callback, and the reconnect loop that runs
// a session until it ends, retrying with exponential backoff while Redis is
// unreachable (Unavailable) and returning any other error.

#ifndef ULTRADICT_REPLICATION_RUN_LOOP_H_
#define ULTRADICT_REPLICATION_RUN_LOOP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace ultradict {
namespace replication {

// Receives one line per event worth telling an operator (connects,
// reconnects, checkpoints, bootstraps). May be empty.
using LogFn = std::function<void(std::string_view)>;

// Sleeps up to ms, returning early when stop is set.
void SleepUnlessStopped(int64_t ms, const std::atomic<bool>& stop);

// Milliseconds since an arbitrary start (steady clock).
int64_t MonotonicMs();

// Runs session() until stop is set or it returns a non-retryable error.
// An Unavailable result is logged and retried after a backoff that doubles
// from 50 ms up to max_backoff_ms (reset when a session lasted > 10 s).
// Returns OK when stopped.
absl::Status RunWithReconnect(const std::atomic<bool>& stop,
                              int64_t max_backoff_ms, const LogFn& log,
                              absl::FunctionRef<absl::Status()> session);

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_RUN_LOOP_H_
