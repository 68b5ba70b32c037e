// bench_util.h: small pieces shared by db_bench and its helper processes:
// clocks, keys, results and their percentiles, pipes, machine facts.

#ifndef ULTRADICT_BENCHMARKS_BENCH_UTIL_H_
#define ULTRADICT_BENCHMARKS_BENCH_UTIL_H_

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "benchmarks/engine.h"

namespace ultradict {
namespace bench {

// CLOCK_MONOTONIC in nanoseconds (comparable across processes).
inline uint64_t NowNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<uint64_t>(ts.tv_nsec);
}

// CPU time of the calling thread (not counting the time other jobs held
// the CPU, which a wall clock on a shared machine does).
inline uint64_t ThreadCpuNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<uint64_t>(ts.tv_nsec);
}

// What every benchmark and helper process needs to know.
struct BenchParams {
  uint64_t num = 1000000;     // Entries.
  size_t key_size = 16;
  size_t value_size = 100;
  uint64_t reads = 1000000;   // Reads per reader.
  int procs = 2;              // Processes of the multi-process modes.
  int64_t writer_rate = 0;    // Puts/s of mpread's writer (0: flat out).
  int threads = 1;            // Reader threads of readwhilewriting.
  int rounds = 1000;          // Rounds of propagation.
  int attach_runs = 5;        // New processes timed by attach.
  bool histogram = false;
  EngineConfig config;
};

// Key number k as key_size decimal digits (zero-padded; k below
// 10^key_size). Keys >= num are never written (readmissing uses them).
void MakeKey(uint64_t k, size_t key_size, std::string* key);

// A value of value_size pseudo-random printable bytes (seeded by seed).
std::string MakeValue(size_t value_size, uint64_t seed);

struct Percentiles {
  uint64_t p50 = 0, p99 = 0, p999 = 0, max = 0;
};
// Sorts *samples. All zero when empty.
Percentiles ComputePercentiles(std::vector<uint64_t>* samples);

// One line of the report.
struct Result {
  std::string benchmark;
  std::string engine;
  bool skipped = false;   // "n/a" (note says why).
  std::string note;       // Extra words after the numbers.
  uint64_t ops = 0;
  uint64_t bytes = 0;     // Key + value bytes moved.
  double seconds = 0;     // Time the ns/op is computed from.
  double ns_per_op = 0;
  double mb_per_s = 0;
  double ops_per_s = 0;
  bool has_percentiles = false;
  Percentiles latency;
};

// Fills ns_per_op, mb_per_s and ops_per_s from ops, bytes, seconds.
void FinishResult(Result* r);

// Reads newline-terminated lines from a pipe.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // False at end of file or on error.
  bool ReadLine(std::string* line);
  // From now on ReadLine polls the fd instead of sleeping in read(2).
  void Spin();

 private:
  int fd_;
  std::string buf_;
};

absl::Status WriteAll(int fd, std::string_view data);

// "AMD EPYC ..." from /proc/cpuinfo, or "unknown".
std::string CpuModel();
int NumCpus();

}  // namespace bench
}  // namespace ultradict

#endif  // ULTRADICT_BENCHMARKS_BENCH_UTIL_H_
