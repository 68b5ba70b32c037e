// changes_benchmark.cc: Google Benchmark micro-benchmarks of SortChanges
// (db/changes.h), which every iterator runs over the changes of the log
// (DBImpl::NewIterator) and every compaction over the changes it merges:
// what an ordered structure of the log, kept by the writer, would save
// each of them (doc/benchmarks.md, issue 19). Large lists are sorted by
// radix; the comparison sort that smaller ones get runs beside it at the
// same sizes, the baseline.
//
//   bazel run -c opt //benchmarks:changes_benchmark
//
// The arguments are the number of changes, distinct 16-byte decimal keys
// (db_bench's) in random order, their bytes scattered as in a log (a 1 M
// fill leaves ~0.7-0.9 M changes in the log); and 1 when every key starts
// with the same 16 bytes (a tenant's keys, say), the radix sort's worst
// case. Results in doc/benchmarks.md
// ("Micro-benchmarks").

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "db/changes.h"

namespace ultradict {
namespace {

// n changes of distinct keys below 10 * n in random order; their keys and
// values live in *bytes. With `shared_prefix`, each key is 16 bytes that
// every key shares, then the number: the radix sort has no byte to sort
// by, and one run of equal prefixes holds every change.
std::vector<Change> MakeChanges(size_t n, bool shared_prefix,
                                std::string* bytes) {
  std::mt19937_64 rng(301);
  std::vector<uint64_t> numbers(10 * n);
  std::iota(numbers.begin(), numbers.end(), 0);
  std::shuffle(numbers.begin(), numbers.end(), rng);
  numbers.resize(n);
  const std::string prefix = shared_prefix ? "tenant/000000042" : "";
  const size_t key_size = prefix.size() + 16, value_size = 100;
  bytes->assign(n * (key_size + value_size), 'v');
  std::vector<Change> changes;
  changes.reserve(n);
  for (size_t i = 0; i < n; i++) {
    char* key = bytes->data() + i * (key_size + value_size);
    char text[17];
    std::snprintf(text, sizeof(text), "%016llu",
                  static_cast<unsigned long long>(numbers[i]));
    std::copy(prefix.begin(), prefix.end(), key);
    std::copy(text, text + 16, key + prefix.size());
    changes.push_back(MakeChange(
        std::string_view(key, key_size),
        LogValue{std::string_view(key + key_size, value_size), false}, i));
  }
  return changes;
}

void CheckSorted(const std::vector<Change>& changes, size_t n) {
  if (changes.size() != n) std::abort();
  for (size_t i = 1; i < changes.size(); i++) {
    if (!(changes[i - 1].key < changes[i].key)) std::abort();
  }
}

// The comparison sort that SortChanges uses below its radix thresholds
// (2^13 changes for keys whose prefixes differ within 8 bytes, as here;
// 2^18 for others), and used for every list before: std::sort by key and
// order, then the last change of each key kept. The radix sort's baseline.
void ComparisonSort(std::vector<Change>* changes) {
  std::sort(changes->begin(), changes->end(),
            [](const Change& a, const Change& b) {
              const int c = CompareKeys(a.prefix, a.key, b.prefix, b.key);
              return c != 0 ? c < 0 : a.order < b.order;
            });
  size_t n = 0;
  for (size_t i = 0; i < changes->size(); i++) {
    const Change& c = (*changes)[i];
    if (i + 1 < changes->size() &&
        CompareKeys(c.prefix, c.key, (*changes)[i + 1].prefix,
                    (*changes)[i + 1].key) == 0) {
      continue;
    }
    (*changes)[n++] = c;
  }
  changes->resize(n);
}

void SortChangesOf(std::vector<Change>* changes) { SortChanges(changes); }

// Arguments: the number of changes, and 1 when the keys share a prefix.
template <void (*Sort)(std::vector<Change>*)>
void BM_Sort(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::string bytes;
  const std::vector<Change> unsorted =
      MakeChanges(n, state.range(1) != 0, &bytes);
  std::vector<Change> changes;
  for (auto _ : state) {
    state.PauseTiming();
    changes = unsorted;  // Memory already touched, as a collected list's.
    state.ResumeTiming();
    Sort(&changes);
    benchmark::DoNotOptimize(changes.data());
  }
  CheckSorted(changes, n);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK_TEMPLATE(BM_Sort, SortChangesOf)
    ->Args({10000, 0})
    ->Args({100000, 0})
    ->Args({300000, 0})
    ->Args({700000, 0})
    ->Args({300000, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Sort, ComparisonSort)
    ->Args({300000, 0})
    ->Args({700000, 0})
    ->Args({300000, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ultradict
