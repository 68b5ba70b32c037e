// bench_env.h: what replication_bench's benchmarks share: the Redis server
// it starts, the two directories standing for two machines, opening a
// dictionary, and a Publisher + Follower pair running as threads.
// Test-only (the benchmark); errors end the process (Die).

#ifndef ULTRADICT_REPLICATION_BENCH_ENV_H_
#define ULTRADICT_REPLICATION_BENCH_ENV_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "replication/follower.h"
#include "replication/publisher.h"
#include "replication/stage_hook.h"
#include "ultradict/db.h"

namespace ultradict {
namespace replication {

struct BenchEnv {
  size_t log_size = 0;  // Options::log_size of both dictionaries; 0: default.
  std::string redis_url;
  std::string root;          // Under /dev/shm, removed at exit.
  std::string dir_a, dir_b;  // The primary's and the copy's directories.
  pid_t redis_pid = 0;       // When started here.
  std::string redis_dir;
};

// Prints "replication_bench: WHAT: message" and exits 1 unless s is OK.
void Die(const absl::Status& s, const char* what);

// Starts redis-server (appendonly yes, everysec) on a free loopback port in
// a temporary directory, creates the two dictionary directories, and
// registers their removal (and Redis's stop) at exit. With a non-empty
// env->redis_url, uses that Redis instead.
void SetUpBenchEnv(BenchEnv* env);

std::unique_ptr<DB> OpenBenchDb(const BenchEnv& env, const std::string& dir,
                                const std::string& name);

// Publisher and Follower threads for stream `stream` (primary in dir_a,
// copy in dir_b); `on_stage` (may be empty) is given to both; with `verbose`
// their log lines go to stderr, with the time.
struct Pipeline {
  std::atomic<bool> stop{false};
  std::unique_ptr<Publisher> publisher;
  std::unique_ptr<Follower> follower;
  std::thread pub_thread, fol_thread;

  Pipeline(const BenchEnv& env, DB* primary, DB* copy,
           const std::string& stream, StageFn on_stage = StageFn(),
           bool verbose = false);
  // Until the follower holds `seq`, and has bootstrapped (attached): a
  // new follower is at position 0 before it even connected, and puts timed
  // from then measured its start-up (a 300-500 ms lag of the first puts).
  void WaitFor(uint64_t seq);
  ~Pipeline();
};

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_BENCH_ENV_H_
