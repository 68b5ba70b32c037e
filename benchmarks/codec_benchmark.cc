// codec_benchmark.cc: Google Benchmark micro-benchmarks of the typed codecs
// (include/ultradict/codec.h) that Dict runs on every key and value:
// Encode and Decode of integers, doubles, strings and a PodCodec struct.
//
//   bazel run -c opt //benchmarks:codec_benchmark
//
// Results in doc/benchmarks.md ("Micro-benchmarks").

#include <cstdint>
#include <string>

#include "benchmark/benchmark.h"
#include "ultradict/codec.h"

namespace ultradict {
namespace {

struct Point {
  int32_t x, y, z;
};

}  // namespace

template <>
struct Codec<Point> : PodCodec<Point, 'P'> {};

namespace {

template <typename T>
T Sample(int64_t i);
template <>
int64_t Sample<int64_t>(int64_t i) {
  return i * 7919 - 1000000;
}
template <>
uint32_t Sample<uint32_t>(int64_t i) {
  return static_cast<uint32_t>(i * 7919);
}
template <>
double Sample<double>(int64_t i) {
  return static_cast<double>(i) * 0.37 - 1e6;
}
template <>
Point Sample<Point>(int64_t i) {
  return Point{static_cast<int32_t>(i), static_cast<int32_t>(i + 1), 7};
}

template <typename T>
void BM_Encode(benchmark::State& state) {
  int64_t i = 0;
  for (auto _ : state) {
    std::string bytes = Codec<T>::Encode(Sample<T>(i++));
    benchmark::DoNotOptimize(bytes);
  }
}

template <typename T>
void BM_Decode(benchmark::State& state) {
  const std::string bytes = Codec<T>::Encode(Sample<T>(12345));
  for (auto _ : state) {
    benchmark::DoNotOptimize(bytes.data());
    absl::StatusOr<T> value = Codec<T>::Decode(bytes);
    benchmark::DoNotOptimize(value);
  }
}

BENCHMARK_TEMPLATE(BM_Encode, int64_t);
BENCHMARK_TEMPLATE(BM_Decode, int64_t);
BENCHMARK_TEMPLATE(BM_Encode, uint32_t);
BENCHMARK_TEMPLATE(BM_Decode, uint32_t);
BENCHMARK_TEMPLATE(BM_Encode, double);
BENCHMARK_TEMPLATE(BM_Decode, double);
BENCHMARK_TEMPLATE(BM_Encode, Point);
BENCHMARK_TEMPLATE(BM_Decode, Point);

// Strings: a copy each way (Dict's std::string values).
void BM_EncodeString(benchmark::State& state) {
  const std::string value(static_cast<size_t>(state.range(0)), 'v');
  for (auto _ : state) {
    std::string bytes = Codec<std::string>::Encode(value);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeString)->Arg(16)->Arg(100)->Arg(4096);

void BM_DecodeString(benchmark::State& state) {
  const std::string bytes(static_cast<size_t>(state.range(0)), 'v');
  for (auto _ : state) {
    absl::StatusOr<std::string> value = Codec<std::string>::Decode(bytes);
    benchmark::DoNotOptimize(value);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DecodeString)->Arg(16)->Arg(100)->Arg(4096);

// A payload of the wrong size: the error path (a DataLoss status with a
// message) that a type mismatch between processes takes.
void BM_DecodeInt64WrongSize(benchmark::State& state) {
  const std::string bytes(5, 'x');
  for (auto _ : state) {
    absl::StatusOr<int64_t> value = Codec<int64_t>::Decode(bytes);
    benchmark::DoNotOptimize(value);
  }
}
BENCHMARK(BM_DecodeInt64WrongSize);

}  // namespace
}  // namespace ultradict
