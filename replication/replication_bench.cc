// replication_bench.cc: throughput, lag and bootstrap of replication through
// a loopback Redis (issue 22's targets; results in doc/benchmarks.md).
//
//   bazel run -c opt //replication:replication_bench -- [--puts=N]
//       [--rate=N] [--seconds=N] [--entries=N] [--log_mb=N] [--redis=URL]
//       [--only=throughput|lag|bootstrap] [--stages]
//
// Benchmarks (one line each: name, result, unit, target):
//   throughput  --puts puts (16 B keys, 100 B values) as fast as one writer
//               commits them, Publisher and Follower running: puts/s from
//               the first put until the follower holds the last one.
//   lag         --rate puts/s for --seconds: for each put, the time from its
//               commit (its value carries the clock) until a reader of the
//               follower's dictionary sees it (DB::WaitForChange +
//               ReadChangesFrom); p50/p99/max over every put: those whose
//               records the copy compacted before the reader read them are
//               found by Get (upper bounds; lag_recorder.h), and puts never
//               seen are a failure (exit 1). See lag_bench.h.
//   bootstrap   a checkpoint of --entries entries loaded into a new follower
//               dictionary (read from Redis, checked, one DB::IngestSorted).
// --only runs that one benchmark (e.g. to profile it).
// --stages adds to the lag line where each put's time went: the delay of
// each replication stage and the slowest puts' timelines (stage_trace.h),
// and logs the publisher's and follower's lines (checkpoints, bootstraps
// and why) to stderr in the throughput and lag runs.
// --log_mb sets Options::log_size of both dictionaries (default: the
// engine's, 4 MiB): the publisher must read each record before the log it
// is in is folded into a snapshot, else it writes a checkpoint and the
// followers bootstrap (counted in the throughput line).
// Between the throughput and the lag runs, the throughput stream is deleted
// and Redis's AOF rewritten (see ForgetStream).
// Without --redis it starts redis-server (appendonly yes, everysec) on a
// free loopback port in a temporary directory and stops it at the end.
// Publisher, Follower and the writer are threads of this process; the two
// dictionaries live in two directories under /dev/shm (removed at the end).

#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "replication/bench_env.h"
#include "replication/checkpoint.h"
#include "replication/lag_bench.h"
#include "replication/lag_recorder.h"
#include "replication/redis_client.h"
#include "ultradict/db.h"

namespace ultradict {
namespace replication {
namespace {

// With `verbose`, the publisher's and follower's log lines go to stderr.
void Throughput(const BenchEnv& env, uint64_t puts, bool verbose) {
  auto a = OpenBenchDb(env, env.dir_a, "bench_tp");
  auto b = OpenBenchDb(env, env.dir_b, "bench_tp");
  Pipeline p(env, a.get(), b.get(), "bench:tp", StageFn(), verbose);
  p.WaitFor(a->LatestSequence());
  const int64_t start = NowNs();
  for (uint64_t i = 0; i < puts; i++)
    Die(a->Put(LagKey(i), LagValue(0)), "put");
  const int64_t written = NowNs();
  p.WaitFor(a->LatestSequence());
  const int64_t done = NowNs();
  // A checkpoint after the first means the publisher read records too late
  // (folded into a snapshot first) and the follower had to bootstrap.
  std::printf(
      "throughput   : %10.0f puts/s replicated (%.0f puts/s committed; %llu "
      "puts, follower done %.0f ms after the last put; %llu checkpoints, %llu "
      "bootstraps)   target >= 100000\n",
      puts * 1e9 / (done - start), puts * 1e9 / (written - start),
      static_cast<unsigned long long>(puts), (done - written) / 1e6,
      static_cast<unsigned long long>(p.publisher->checkpoints()),
      static_cast<unsigned long long>(p.follower->bootstraps()));
}

// Removes the keys of `stream` and waits until Redis has rewritten its AOF
// without them: else the rewrite of the previous benchmark's data (a fork
// and a compressed dump of ~300 MB) runs during the next one, on the same
// 2 CPUs (perf saw it as lzf_compress in redis-server, and lag stalls of
// 100-1000 ms).
void ForgetStream(const BenchEnv& env, const std::string& stream) {
  auto url = RedisUrl::Parse(env.redis_url);
  Die(url.status(), "url");
  auto redis = RedisClient::Connect(*url, 30000);
  Die(redis.status(), "connect");
  auto keys = (*redis)->Command({"KEYS", absl::StrCat(stream, "*")});
  Die(keys.status(), "KEYS");
  for (const Reply& k : keys->elements) {
    Die((*redis)->Command({"DEL", k.str}).status(), "DEL");
  }
  for (int i = 0; i < 600; i++) {  // At most a minute.
    auto info = (*redis)->Command({"INFO", "persistence"});
    Die(info.status(), "INFO");
    const bool busy =
        info->str.find("aof_rewrite_in_progress:1") != std::string::npos ||
        info->str.find("aof_rewrite_scheduled:1") != std::string::npos;
    if (!busy && i > 0) break;
    if (!busy) (*redis)->Command({"BGREWRITEAOF"}).IgnoreError();
    usleep(100000);
  }
}

void Bootstrap(const BenchEnv& env, uint64_t entries) {
  auto a = OpenBenchDb(env, env.dir_a, "bench_boot");
  for (uint64_t i = 0; i < entries;) {
    WriteBatch batch;
    for (int j = 0; j < 10000 && i < entries; j++, i++)
      batch.Put(LagKey(i), LagValue(0));
    Die(a->Write(batch), "fill");
  }
  auto url = RedisUrl::Parse(env.redis_url);
  Die(url.status(), "url");
  auto redis = RedisClient::Connect(*url, 30000);
  Die(redis.status(), "connect");
  Layout layout;
  layout.stream = "bench:boot";
  int64_t t0 = NowNs();
  auto info =
      WriteCheckpoint(redis->get(), layout, a.get(), false, 2, UINT64_MAX);
  Die(info.status(), "checkpoint");
  const int64_t t1 = NowNs();
  auto b = OpenBenchDb(env, env.dir_b, "bench_boot");
  LoadTimes times;
  Die(LoadCheckpoint(redis->get(), layout, *info, b.get(), &times), "load");
  const int64_t t2 = NowNs();
  std::string n;
  b->GetProperty("ultradict.num-entries", &n);
  std::printf(
      "bootstrap    : %10.3f s to load a checkpoint of %llu entries (%s in the "
      "copy; fetch+decode %.3f s, IngestSorted %.3f s; writing the checkpoint "
      "took %.3f s)   target < 2 s\n",
      (t2 - t1) / 1e9, static_cast<unsigned long long>(info->pairs), n.c_str(),
      times.fetch_s, times.write_s, (t1 - t0) / 1e9);
}

uint64_t Flag(int argc, char** argv, const char* name, uint64_t def) {
  const std::string prefix = absl::StrCat("--", name, "=");
  for (int i = 1; i < argc; i++) {
    uint64_t v;
    if (std::string(argv[i]).rfind(prefix, 0) == 0 &&
        absl::SimpleAtoi(argv[i] + prefix.size(), &v)) {
      return v;
    }
  }
  return def;
}

int Main(int argc, char** argv) {
  static BenchEnv env;
  std::string only;
  bool stages = false;
  for (int i = 1; i < argc; i++) {
    if (std::string(argv[i]).rfind("--redis=", 0) == 0)
      env.redis_url = argv[i] + 8;
    if (std::string(argv[i]).rfind("--only=", 0) == 0) only = argv[i] + 7;
    if (std::string(argv[i]) == "--stages") stages = true;
  }
  auto wanted = [&only](const char* name) {
    return only.empty() || only == name;
  };
  env.log_size = Flag(argc, argv, "log_mb", 0) << 20;
  SetUpBenchEnv(&env);
  std::printf(
      "replication_bench: Redis %s%s, %u CPUs, keys 16 B, values 100 B, "
      "log_size %s\n",
      env.redis_url.c_str(),
      env.redis_pid ? " (started here, appendonly everysec)" : "",
      std::thread::hardware_concurrency(),
      env.log_size ? absl::StrCat(env.log_size >> 20, " MiB").c_str()
                   : "default");
#ifndef NDEBUG
  std::printf("WARNING: assertions enabled; build with -c opt\n");
#endif
  std::printf("------------------------------------------------\n");
  std::fflush(stdout);
  if (wanted("throughput")) {
    Throughput(env, Flag(argc, argv, "puts", 1000000), stages);
    ForgetStream(env, "bench:tp");
    std::fflush(stdout);
  }
  bool ok = true;
  if (wanted("lag")) {
    ok = RunLagBench(env, Flag(argc, argv, "rate", 10000),
                     Flag(argc, argv, "seconds", 5), stages);
    std::fflush(stdout);
  }
  if (wanted("bootstrap")) Bootstrap(env, Flag(argc, argv, "entries", 1000000));
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace replication
}  // namespace ultradict

int main(int argc, char** argv) {
  return ultradict::replication::Main(argc, argv);
}
