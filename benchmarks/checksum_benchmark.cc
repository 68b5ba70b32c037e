// checksum_benchmark.cc: Google Benchmark micro-benchmarks of
// util/checksum.h: Checksum32 (XXH3, every record, header and snapshot
// entry), ChecksumStream (the same value given piece by piece) and
// SipHash24 (keyed names), over sizes from a small record to a large value.
//
//   bazel run -c opt //benchmarks:checksum_benchmark
//
// Results in doc/benchmarks.md ("Micro-benchmarks").

#include <cstdint>
#include <string>

#include "benchmark/benchmark.h"
#include "util/checksum.h"

namespace ultradict {
namespace {

std::string Bytes(int64_t n) {
  std::string s(static_cast<size_t>(n), '\0');
  for (size_t i = 0; i < s.size(); i++) s[i] = static_cast<char>(i * 131 + 7);
  return s;
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {16, 130, 1024, 64 * 1024}) b->Arg(n);
}

void BM_Checksum32(benchmark::State& state) {
  const std::string data = Bytes(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    benchmark::DoNotOptimize(Checksum32(data));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Checksum32)->Apply(Sizes);

// In 4 pieces (a record's header fields and payload come apart).
void BM_ChecksumStream(benchmark::State& state) {
  const std::string data = Bytes(state.range(0));
  const size_t piece = data.size() / 4;
  for (auto _ : state) {
    ChecksumStream stream;
    for (size_t at = 0; at < data.size(); at += piece) {
      stream.Update(data.data() + at, std::min(piece, data.size() - at));
    }
    benchmark::DoNotOptimize(stream.Checksum32());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ChecksumStream)->Apply(Sizes);

void BM_SipHash24(benchmark::State& state) {
  const std::string data = Bytes(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    benchmark::DoNotOptimize(SipHash24(0x0706050403020100, 0x0f0e0d0c0b0a0908,
                                       data.data(), data.size()));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SipHash24)->Arg(16)->Arg(130);

}  // namespace
}  // namespace ultradict
