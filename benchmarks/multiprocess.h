// multiprocess.h: the db_bench modes that need other processes.
//
// db_bench re-executes itself (/proc/self/exe) with --helper=MODE; a helper
// attaches to the parent's dictionary, says "ready" on its result pipe, waits
// for a byte on the go pipe, works, and writes one line of numbers back:
//
//   attach              open + first Get, timed inside the new process
//   mpwrite             N writers, distinct key ranges
//   mpread_writer       overwrites random keys until the stop pipe closes
//   mpread_reader       random reads while mpread_writer writes
//   propagation_reader  spins on Get of one key; per round, how long after
//                       the parent's Put (a CLOCK_MONOTONIC stamp in the
//                       value) the new value became visible

#ifndef ULTRADICT_BENCHMARKS_MULTIPROCESS_H_
#define ULTRADICT_BENCHMARKS_MULTIPROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmarks/bench_util.h"
#include "benchmarks/engine.h"

namespace ultradict {
namespace bench {

struct HelperArgs {
  std::string mode;
  EngineKind kind = EngineKind::kUltraDict;
  std::string location;  // Engine::location() of the parent's engine.
  int index = 0;         // Which of the N helpers.
  int result_fd = -1;
  int go_fd = -1;
  int stop_fd = -1;
};

// The body of a helper process; returns its exit code.
int RunHelper(const HelperArgs& args, const BenchParams& params);

// Parent side. `engine` holds all num entries (mpwrite: none); the result's
// engine/benchmark names are left to the caller.
absl::StatusOr<Result> RunAttach(Engine* engine, const BenchParams& params);
absl::StatusOr<Result> RunMpWrite(Engine* engine, const BenchParams& params);
absl::StatusOr<Result> RunMpRead(Engine* engine, const BenchParams& params);
absl::StatusOr<Result> RunPropagation(Engine* engine,
                                      const BenchParams& params);

}  // namespace bench
}  // namespace ultradict

#endif  // ULTRADICT_BENCHMARKS_MULTIPROCESS_H_
