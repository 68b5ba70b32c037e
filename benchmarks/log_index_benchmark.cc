// log_index_benchmark.cc: Google Benchmark micro-benchmarks of the shared
// index of a log (db/log_index.h): every Get goes through LogIndex::Find
// (then, for a key not written since the last compaction, the snapshot),
// which probes the table, follows the key's node and decodes and checks
// the entry where it lies in the log.
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
#include "db/log_format.h"
#include "db/log_index.h"
#include "db/log_writer.h"
#include "db/write_batch_internal.h"
#include "ultradict/write_batch.h"
#include "util/checksum.h"
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

// A record area (standing for the mapped log), one record of a put of a
// 16-byte key and an 8-byte value each, and its index, all indexed.
struct Indexed {
  std::string records;
  std::vector<char> area;  // The index area.
  LogIndex index;
  std::vector<uint32_t> ends;  // Of each record.
};

LogIndex::Shape ShapeOf(const Indexed& x, int64_t n) {
  return LogIndex::ShapeFor(x.records.size(), static_cast<size_t>(n));
}

void OpenEmpty(Indexed* x, int64_t n) {
  const LogIndex::Shape shape = ShapeOf(*x, n);
  x->area.assign(
      log::IndexSize(shape.node_capacity, shape.first_bits, shape.max_bits), 0);
  LogIndex::Format(x->area.data());
  if (!x->index
           .Open(x->area.data(), x->area.size(), x->records.data(),
                 static_cast<uint32_t>(x->records.size()), shape, "bench.log")
           .ok()) {
    Fail("index does not open");
  }
}

// Adds every record's entry to x->index.
void AddAll(Indexed* x) {
  std::string scratch;
  uint32_t at = 0;
  for (uint32_t end : x->ends) {
    std::string_view payload(x->records.data() + at + log::kRecordHeaderSize,
                             end - at - log::kRecordHeaderSize);
    bool fits = false;
    if (!x->index.MakeRoom(1, [](size_t, size_t) { return absl::OkStatus(); },
                           &fits)
             .ok() ||
        !fits) {
      Fail("no room");
    }
    const absl::Status s = WriteBatchInternal::ForEachEntry(
        payload, [&](const WriteBatchInternal::Entry& e) {
          const uint32_t location =
              static_cast<uint32_t>(e.start - x->records.data());
          if (!x->index
                   .Add(e.key, Hash64(e.key), location,
                        LogIndex::EntryCheck(e), end, &scratch)
                   .ok()) {
            Fail("add failed");
          }
        });
    if (!s.ok()) Fail("bad record");
    at = end;
  }
}

void Build(int64_t n, Indexed* x) {
  WriteBatch batch;
  x->records.reserve(static_cast<size_t>(n) * 40);
  for (int64_t i = 0; i < n; i++) {
    batch.Clear();
    batch.Put(Key(i * 2), "value..");
    std::string record;
    log::AppendRecord(WriteBatchInternal::Contents(batch), false, &record);
    x->records += record;
    x->ends.push_back(static_cast<uint32_t>(x->records.size()));
  }
  OpenEmpty(x, n);
  AddAll(x);
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
  const uint32_t end = static_cast<uint32_t>(x.records.size());
  std::string scratch;
  for (auto _ : state) {
    LogIndex::Entry e;
    uint32_t damaged_at;
    const std::string_view key = probes[i++];
    if (x.index.Find(key, Hash64(key), end, &scratch, &e, &damaged_at) !=
        LogIndex::Found::kYes) {
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
  const uint32_t end = static_cast<uint32_t>(x.records.size());
  std::string scratch;
  for (auto _ : state) {
    LogIndex::Entry e;
    uint32_t damaged_at;
    const std::string_view key = probes[i++];
    if (x.index.Find(key, Hash64(key), end, &scratch, &e, &damaged_at) !=
        LogIndex::Found::kNo) {
      Fail("absent key found");
    }
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_FindMiss)->Arg(1 << 10)->Arg(1 << 20);

// Indexing: n adds into an empty index (its growth included), per add:
// what the writer does for each entry it commits.
void BM_InsertAll(benchmark::State& state) {
  const int64_t n = state.range(0);
  Indexed& x = IndexOf(n);
  Indexed fresh;
  fresh.records = x.records;
  fresh.ends = x.ends;
  for (auto _ : state) {
    OpenEmpty(&fresh, n);
    AddAll(&fresh);
    benchmark::DoNotOptimize(fresh.index.keys());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_InsertAll)
    ->Arg(1 << 10)
    ->Arg(1 << 20)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ultradict
