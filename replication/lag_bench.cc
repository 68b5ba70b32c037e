// lag_bench.cc: see lag_bench.h.

#include "replication/lag_bench.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "replication/lag_recorder.h"
#include "replication/stage_trace.h"

namespace ultradict {
namespace replication {

namespace {

uint64_t GenerationOf(DB* db) {
  std::string g;
  uint64_t gen = 0;
  if (db->GetProperty("ultradict.generation", &g) && absl::SimpleAtoi(g, &gen))
    return gen;
  return 0;
}

// Reads the copy's change feed into `rec` until every put was seen, or the
// writer is `done` and nothing new arrived for a while. `issued`: puts the
// writer has started (see CatchUp: a put may be applied at the copy before
// its Put returns at the primary).
// With a `trace`, tells it the copy's generation after each read.
void ReadCopy(DB* copy, LagRecorder* rec, const std::atomic<bool>& done,
              const std::atomic<uint64_t>& issued, StageTrace* trace) {
  ChangeCursor cursor{copy->LatestSequence()};
  while (!rec->all_seen()) {
    if (copy->WaitForChange(cursor.sequence, 100) <= cursor.sequence) {
      if (done.load()) break;  // The follower holds everything by then.
      continue;
    }
    absl::Status s = copy->ReadChangesFrom(&cursor, rec);
    if (absl::IsOutOfRange(s)) {
      // The copy folded records into a snapshot before this reader read
      // them: go on from now, and Get the puts skipped that way.
      cursor = ChangeCursor{copy->LatestSequence()};
      s = rec->CatchUp(copy, issued.load());
    }
    Die(s, "reading the copy");
    if (trace != nullptr) trace->GenerationSeen(1, GenerationOf(copy), NowNs());
  }
}

}  // namespace

bool RunLagBench(const BenchEnv& env, uint64_t rate, uint64_t seconds,
                 bool stages) {
  const uint64_t total = rate * seconds;
  std::unique_ptr<StageTrace> trace;
  if (stages) trace = std::make_unique<StageTrace>(total);
  auto a = OpenBenchDb(env, env.dir_a, "bench_lag");
  auto b = OpenBenchDb(env, env.dir_b, "bench_lag");
  Pipeline p(env, a.get(), b.get(), "bench:lag",
             trace ? trace->Hook() : StageFn(), stages);
  p.WaitFor(a->LatestSequence());
  if (trace) trace->set_base_seq(a->LatestSequence());
  std::atomic<bool> done{false};
  std::atomic<uint64_t> issued{0};
  LagRecorder rec(total);
  std::thread reader(
      [&] { ReadCopy(b.get(), &rec, done, issued, trace.get()); });
  const int64_t start = NowNs();
  if (stages) std::fprintf(stderr, "%.3f lag: first put\n", start / 1e6);
  const double interval = 1e9 / rate;
  for (uint64_t i = 0; i < total; i++) {
    const int64_t due = start + static_cast<int64_t>(i * interval);
    // Sleeps (a spinning writer took a third of the 2 CPUs from the
    // publisher, follower and Redis); a late put goes at once.
    const int64_t wait = due - NowNs();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    issued.store(i + 1);
    Die(a->Put(LagKey(i), LagValue(NowNs())), "put");
    if (trace) {
      const int64_t now = NowNs();
      trace->PutReturned(i, now);
      trace->GenerationSeen(0, GenerationOf(a.get()), now);
    }
  }
  p.WaitFor(a->LatestSequence());
  done = true;
  reader.join();
  const std::vector<int64_t> lags = rec.SortedLags();
  const uint64_t missing = total - rec.seen();
  std::printf(
      "lag          : p50 %.3f ms, p99 %.3f ms, max %.3f ms (%llu of %llu "
      "puts seen at %llu puts/s; %llu of them by Get after %llu OutOfRange, "
      "upper bounds; %llu never seen%s)   target p50 < 1 ms, p99 < 10 ms\n",
      PercentileMs(lags, 0.5), PercentileMs(lags, 0.99),
      PercentileMs(lags, 1.0), static_cast<unsigned long long>(rec.seen()),
      static_cast<unsigned long long>(total),
      static_cast<unsigned long long>(rate),
      static_cast<unsigned long long>(rec.by_fallback()),
      static_cast<unsigned long long>(rec.out_of_range()),
      static_cast<unsigned long long>(missing),
      missing != 0 ? ": FAILED, replication lost them" : "");
  if (trace) trace->Print(rec, start, stdout);
  return missing == 0;
}

}  // namespace replication
}  // namespace ultradict
