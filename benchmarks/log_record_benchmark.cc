// log_record_benchmark.cc: Google Benchmark micro-benchmarks of a log
// record's life (db/log_writer.h, db/log_reader.h, the WriteBatch
// encoding): a writer encodes a batch into a record (plain, or zstd when
// compressed), a reader checks and parses it and decodes its entries.
//
//   bazel run -c opt //benchmarks:log_record_benchmark
//
// Arguments: entries per batch, value bytes (keys are 16 bytes, as in
// db_bench). Results in doc/benchmarks.md ("Micro-benchmarks").

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "benchmark/benchmark.h"
#include "db/log_format.h"
#include "db/log_reader.h"
#include "db/log_writer.h"
#include "db/write_batch_internal.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace {

// A batch of `entries` puts, 16-byte keys, values of `value_size` bytes
// with some repetition (so that zstd has something to find, as in text).
std::string Batch(int64_t entries, int64_t value_size) {
  WriteBatch batch;
  std::string value;
  for (int64_t i = 0; i < value_size; i++) {
    value.push_back(static_cast<char>('a' + (i * 7 + i / 13) % 26));
  }
  char key[24];
  for (int64_t i = 0; i < entries; i++) {
    std::snprintf(key, sizeof(key), "%016lld",
                  static_cast<long long>(i * 7919));
    batch.Put(key, value);
  }
  return std::string(WriteBatchInternal::Contents(batch));
}

void Check(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "log_record_benchmark: %s\n", s.ToString().c_str());
    std::abort();
  }
}

void Shapes(benchmark::internal::Benchmark* b) {
  b->Args({1, 100})->Args({1, 4096})->Args({100, 100});
}

void SetBytes(benchmark::State& state, const std::string& batch) {
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(batch.size()));
}

// What a put does in the log: the record written where the head is.
void BM_EncodeRecord(benchmark::State& state) {
  const std::string batch = Batch(state.range(0), state.range(1));
  std::string dst(log::kRecordHeaderSize + batch.size(), '\0');
  for (auto _ : state) {
    log::EncodeRecord(batch, dst.data());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, batch);
}
BENCHMARK(BM_EncodeRecord)->Apply(Shapes);

// With Options::compression: zstd, kept when smaller.
void BM_AppendRecordCompressed(benchmark::State& state) {
  const std::string batch = Batch(state.range(0), state.range(1));
  std::string out;
  for (auto _ : state) {
    out.clear();
    log::AppendRecord(batch, /*compress=*/true, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ratio"] =
      static_cast<double>(out.size()) / static_cast<double>(batch.size());
  SetBytes(state, batch);
}
BENCHMARK(BM_AppendRecordCompressed)->Apply(Shapes);

// A reader meeting the record: bounds and checksum, then the batch view.
void BM_ReadRecord(benchmark::State& state) {
  const std::string batch = Batch(state.range(0), state.range(1));
  std::string area;
  log::AppendRecord(batch, /*compress=*/false, &area);
  std::string scratch;
  for (auto _ : state) {
    log::Record record;
    Check(log::ReadRecord(area.data(), area.size(), 0, "bench.log", &record));
    std::string_view view;
    Check(log::RecordBatch(record, &scratch, &view));
    benchmark::DoNotOptimize(view);
  }
  SetBytes(state, batch);
}
BENCHMARK(BM_ReadRecord)->Apply(Shapes);

// The same for a compressed record (decompression included).
void BM_ReadRecordCompressed(benchmark::State& state) {
  const std::string batch = Batch(state.range(0), state.range(1));
  std::string area;
  log::AppendRecord(batch, /*compress=*/true, &area);
  std::string scratch;
  for (auto _ : state) {
    log::Record record;
    Check(log::ReadRecord(area.data(), area.size(), 0, "bench.log", &record));
    std::string_view view;
    Check(log::RecordBatch(record, &scratch, &view));
    benchmark::DoNotOptimize(view);
  }
  SetBytes(state, batch);
}
BENCHMARK(BM_ReadRecordCompressed)->Apply(Shapes);

// Decoding every entry of the batch (what indexing a record does).
void BM_DecodeBatchEntries(benchmark::State& state) {
  const std::string batch = Batch(state.range(0), state.range(1));
  for (auto _ : state) {
    size_t keys = 0;
    Check(WriteBatchInternal::ForEachEntry(
        batch,
        [&keys](const WriteBatchInternal::Entry& e) { keys += e.key.size(); }));
    benchmark::DoNotOptimize(keys);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DecodeBatchEntries)->Apply(Shapes);

}  // namespace
}  // namespace ultradict
