// log_index_benchmark.cc: Google Benchmark micro-benchmarks of the index
// probe (db/log_index.h): every Get of a key written since the last
// compaction goes through LogIndex::Find, which hashes the key, probes the
// table and decodes the entry where it lies in the log.
//
//   bazel run -c opt //benchmarks:log_index_benchmark
//
// The argument is the number of keys indexed (1 Ki fits in cache, 1 Mi
// does not). Results in doc/benchmarks.md ("Micro-benchmarks").

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "db/log_index.h"
#include "db/write_batch_internal.h"
#include "ultradict/write_batch.h"
#include "util/coding.h"

namespace ultradict {
namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "log_index_benchmark: %s\n", what);
  std::abort();
}

std::string Key(int64_t i) {
  char key[24];
  std::snprintf(key, sizeof(key), "%016lld", static_cast<long long>(i));
  return key;
}

// An area of encoded batches (standing for the mapped log), one put of a
// 16-byte key and an 8-byte value per batch, all indexed.
struct Indexed {
  std::string area;
  LogIndex index;
};

void Build(int64_t n, Indexed* x) {
  WriteBatch batch;
  x->area.reserve(static_cast<size_t>(n) * 32);
  std::vector<size_t> ends;
  for (int64_t i = 0; i < n; i++) {
    batch.Clear();
    batch.Put(Key(i * 2), "value..");
    const std::string_view rep = WriteBatchInternal::Contents(batch);
    x->area.append(rep.data(), rep.size());
    ends.push_back(x->area.size());
  }
  x->index.SetArea(x->area.data(), x->area.size());
  x->index.SetLimit(x->area.size());
  size_t start = 0;
  for (size_t end : ends) {
    std::string_view rep(x->area.data() + start, end - start);
    const absl::Status s = WriteBatchInternal::ForEachEntry(
        rep, [&](const WriteBatchInternal::Entry& e) {
          x->index.Insert(LogIndex::MakeKey(e.key), e, x->area.data() + end);
        });
    if (!s.ok()) std::abort();
    start = end;
  }
}

// Built once per size and kept for the whole run.
Indexed& IndexOf(int64_t n) {
  static auto* built = new std::map<int64_t, std::unique_ptr<Indexed>>;
  std::unique_ptr<Indexed>& x = (*built)[n];
  if (x == nullptr) {
    x = std::make_unique<Indexed>();
    Build(n, x.get());
  }
  return *x;
}

// Every key of the index (hits) or as many absent ones (misses), 16 bytes
// each back to back, in a scattered order: i * an odd constant mod n, a
// permutation since n is a power of two. At 1 Mi keys a probe then misses
// the caches as a Get of a random key does.
class Probes {
 public:
  Probes(int64_t n, bool hits) : n_(static_cast<size_t>(n)) {
    for (int64_t i = 0; i < n; i++) {
      const int64_t k = (i * 2654435761LL) & (n - 1);
      bytes_ += Key(k * 2 + (hits ? 0 : 1));
    }
  }
  std::string_view operator[](size_t i) const {
    return std::string_view(bytes_.data() + (i % n_) * 16, 16);
  }

 private:
  size_t n_;
  std::string bytes_;
};

void BM_FindHit(benchmark::State& state) {
  const Indexed& x = IndexOf(state.range(0));
  const Probes probes(state.range(0), /*hits=*/true);
  size_t i = 0;
  for (auto _ : state) {
    LogIndex::Entry e;
    if (x.index.Find(probes[i++], &e) != LogIndex::Found::kYes) {
      Fail("key not found");
    }
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_FindHit)->Arg(1 << 10)->Arg(1 << 20);

void BM_FindMiss(benchmark::State& state) {
  const Indexed& x = IndexOf(state.range(0));
  const Probes probes(state.range(0), /*hits=*/false);
  size_t i = 0;
  for (auto _ : state) {
    LogIndex::Entry e;
    if (x.index.Find(probes[i++], &e) != LogIndex::Found::kNo) {
      Fail("absent key found");
    }
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_FindMiss)->Arg(1 << 10)->Arg(1 << 20);

// Indexing: n inserts into an empty index (growth included), per insert.
void BM_InsertAll(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Indexed& x = IndexOf(n);
  std::vector<WriteBatchInternal::Entry> entries;
  std::string_view rest(x.area);
  while (!rest.empty()) {
    // Each batch: its count (1), then its entry.
    uint32_t count;
    WriteBatchInternal::Entry e;
    if (!GetVarint32(&rest, &count) || count != 1 ||
        !WriteBatchInternal::DecodeEntry(&rest, &e)) {
      std::abort();
    }
    entries.push_back(e);
  }
  const char* end = x.area.data() + x.area.size();
  for (auto _ : state) {
    LogIndex index;
    index.SetArea(x.area.data(), x.area.size());
    index.SetLimit(x.area.size());
    for (const WriteBatchInternal::Entry& e : entries) {
      index.Insert(LogIndex::MakeKey(e.key), e, end);
    }
    benchmark::DoNotOptimize(index.size());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_InsertAll)
    ->Arg(1 << 10)
    ->Arg(1 << 20)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ultradict
