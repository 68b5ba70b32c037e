// micro_main.cc: main() of the Google Benchmark micro-benchmarks
// (benchmarks/*_benchmark.cc).
//
// Under `bazel test` (TEST_TMPDIR is set) and without an explicit
// --benchmark_min_time, every case runs briefly (--benchmark_min_time=0.001):
// a smoke run that keeps the benchmarks building and running in the test
// suite, not a measurement. Measure with `bazel run -c opt`. A case that
// finds a wrong result aborts (benchmark.h's SkipWithError would exit 0).

#include <cstdlib>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"

int main(int argc, char** argv) {
  static char kSmoke[] = "--benchmark_min_time=0.001";
  std::vector<char*> args(argv, argv + argc);
  bool min_time_given = false;
  for (int i = 1; i < argc; i++) {
    if (std::string_view(argv[i]).rfind("--benchmark_min_time", 0) == 0) {
      min_time_given = true;
    }
  }
  if (std::getenv("TEST_TMPDIR") != nullptr && !min_time_given) {
    args.push_back(kSmoke);
  }
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
