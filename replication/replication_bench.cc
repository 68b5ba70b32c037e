// replication_bench.cc: throughput, lag and bootstrap of replication through
// a loopback Redis (issue 22's targets; results in doc/benchmarks.md).
//
//   bazel run -c opt //replication:replication_bench -- [--puts=N]
//       [--rate=N] [--seconds=N] [--entries=N] [--log_mb=N] [--redis=URL]
//       [--only=throughput|lag|bootstrap]
//
// Benchmarks (one line each: name, result, unit, target):
//   throughput  --puts puts (16 B keys, 100 B values) as fast as one writer
//               commits them, Publisher and Follower running: puts/s from
//               the first put until the follower holds the last one.
//   lag         --rate puts/s for --seconds: for each put, the time from its
//               commit (its value carries the clock) until a reader of the
//               follower's dictionary sees it (DB::WaitForChange +
//               ReadChangesFrom); p50/p99/max.
//   bootstrap   a checkpoint of --entries entries loaded into a new follower
//               dictionary (read from Redis, checked, one DB::IngestSorted).
// --only runs that one benchmark (e.g. to profile it).
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

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "replication/checkpoint.h"
#include "replication/follower.h"
#include "replication/publisher.h"
#include "replication/redis_client.h"
#include "ultradict/db.h"

namespace ultradict {
namespace replication {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Clock::now().time_since_epoch())
      .count();
}

struct Env;
Env* g_env = nullptr;  // Cleaned up at exit, also after Die().
void Cleanup();

void Die(const absl::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "replication_bench: %s: %s\n", what,
               std::string(s.message()).c_str());
  std::exit(1);
}

std::string Key(uint64_t i) {
  std::string k = absl::StrCat("key", i);
  k.resize(16, '.');
  return k;
}

// A 100-byte value whose first 8 bytes are the commit clock (ns).
std::string Value(int64_t ns) {
  std::string v(100, 'v');
  std::memcpy(&v[0], &ns, sizeof(ns));
  return v;
}

struct Env {
  size_t log_size = 0;  // Options::log_size of both dictionaries; 0: default.
  std::string redis_url;
  std::string dir_a, dir_b;
  pid_t redis_pid = 0;
  std::string redis_dir;
};

std::string g_root;

void Cleanup() {
  if (g_env == nullptr) return;
  if (!g_root.empty()) std::filesystem::remove_all(g_root);
  if (g_env->redis_pid != 0) {
    kill(g_env->redis_pid, SIGTERM);
    waitpid(g_env->redis_pid, nullptr, 0);
    std::filesystem::remove_all(g_env->redis_dir);
  }
  g_env = nullptr;
}

std::unique_ptr<DB> OpenDb(const Env& env, const std::string& dir,
                           const std::string& name) {
  Options options;
  options.directory = dir;
  if (env.log_size != 0) options.log_size = env.log_size;
  auto db = DB::Open(options, name);
  Die(db.status(), "open");
  return std::move(*db);
}

// Publisher and Follower threads for `name` (primary in dir_a, copy in dir_b).
struct Pipeline {
  std::atomic<bool> stop{false};
  std::unique_ptr<Publisher> publisher;
  std::unique_ptr<Follower> follower;
  std::thread pub_thread, fol_thread;

  Pipeline(const Env& env, DB* primary, DB* copy, const std::string& stream) {
    PublisherOptions po;
    po.redis_url = env.redis_url;
    po.stream = stream;
    publisher = std::make_unique<Publisher>(primary, po);
    FollowerOptions fo;
    fo.redis_url = env.redis_url;
    fo.stream = stream;
    fo.directory = env.dir_b;
    fo.state_path = FollowStatePath(env.dir_b, copy->name());
    follower = std::make_unique<Follower>(copy, fo);
    pub_thread =
        std::thread([this] { Die(publisher->Run(stop), "publisher"); });
    fol_thread = std::thread([this] { Die(follower->Run(stop), "follower"); });
  }
  // Until the follower holds `seq`, and has bootstrapped (attached): a
  // new follower is at position 0 before it even connected, and puts timed
  // from then measured its start-up (a 300-500 ms lag of the first puts).
  void WaitFor(uint64_t seq) {
    while (follower->position() < seq || follower->bootstraps() == 0)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ~Pipeline() {
    stop = true;
    pub_thread.join();
    fol_thread.join();
  }
};

void Throughput(const Env& env, uint64_t puts) {
  auto a = OpenDb(env, env.dir_a, "bench_tp");
  auto b = OpenDb(env, env.dir_b, "bench_tp");
  Pipeline p(env, a.get(), b.get(), "bench:tp");
  p.WaitFor(a->LatestSequence());
  const int64_t start = NowNs();
  for (uint64_t i = 0; i < puts; i++) Die(a->Put(Key(i), Value(0)), "put");
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

// Reads the follower's changes and records each put's lag.
class LagCollector : public WriteBatch::Handler {
 public:
  std::vector<int64_t> lags;
  void Put(std::string_view, std::string_view value) override {
    int64_t ns;
    std::memcpy(&ns, value.data(), sizeof(ns));
    if (ns != 0) lags.push_back(NowNs() - ns);
  }
  void Delete(std::string_view) override {}
};

// Removes the keys of `stream` and waits until Redis has rewritten its AOF
// without them: else the rewrite of the previous benchmark's data (a fork
// and a compressed dump of ~300 MB) runs during the next one, on the same
// 2 CPUs (perf saw it as lzf_compress in redis-server, and lag stalls of
// 100-1000 ms).
void ForgetStream(const Env& env, const std::string& stream) {
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

void Lag(const Env& env, uint64_t rate, uint64_t seconds) {
  auto a = OpenDb(env, env.dir_a, "bench_lag");
  auto b = OpenDb(env, env.dir_b, "bench_lag");
  Pipeline p(env, a.get(), b.get(), "bench:lag");
  p.WaitFor(a->LatestSequence());
  const uint64_t total = rate * seconds;
  std::atomic<bool> done{false};
  LagCollector collector;
  std::thread reader([&] {
    ChangeCursor cursor{b->LatestSequence()};
    while (!done.load() || collector.lags.size() < total) {
      if (b->WaitForChange(cursor.sequence, 100) <= cursor.sequence) {
        if (done.load()) break;
        continue;
      }
      absl::Status s = b->ReadChangesFrom(&cursor, &collector);
      if (absl::IsOutOfRange(s)) cursor = ChangeCursor{b->LatestSequence()};
    }
  });
  const int64_t start = NowNs();
  const double interval = 1e9 / rate;
  for (uint64_t i = 0; i < total; i++) {
    const int64_t due = start + static_cast<int64_t>(i * interval);
    // Sleeps (a spinning writer took a third of the 2 CPUs from the
    // publisher, follower and Redis); a late put goes at once.
    const int64_t wait = due - NowNs();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    Die(a->Put(Key(i), Value(NowNs())), "put");
  }
  p.WaitFor(a->LatestSequence());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  done = true;
  reader.join();
  std::vector<int64_t>& l = collector.lags;
  std::sort(l.begin(), l.end());
  auto pct = [&](double q) {
    return l.empty()
               ? 0.0
               : l[std::min(l.size() - 1, static_cast<size_t>(q * l.size()))] /
                     1e6;
  };
  std::printf(
      "lag          : p50 %.3f ms, p99 %.3f ms, max %.3f ms (%zu of %llu puts "
      "seen at %llu puts/s)   target p50 < 1 ms, p99 < 10 ms\n",
      pct(0.5), pct(0.99), l.empty() ? 0.0 : l.back() / 1e6, l.size(),
      static_cast<unsigned long long>(total),
      static_cast<unsigned long long>(rate));
}

void Bootstrap(const Env& env, uint64_t entries) {
  auto a = OpenDb(env, env.dir_a, "bench_boot");
  for (uint64_t i = 0; i < entries;) {
    WriteBatch batch;
    for (int j = 0; j < 10000 && i < entries; j++, i++)
      batch.Put(Key(i), Value(0));
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
  auto b = OpenDb(env, env.dir_b, "bench_boot");
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

int FreePort() {
  for (int port = 20000 + getpid() % 20000;; port++) {
    RedisUrl u;
    u.host = "127.0.0.1";
    u.port = port;
    if (!RedisClient::Connect(u, 200).ok()) return port;
  }
}

void StartRedis(Env* env) {
  const int port = FreePort();
  char tmpl[] = "/tmp/replbench-redis.XXXXXX";
  env->redis_dir = mkdtemp(tmpl);
  env->redis_pid = fork();
  if (env->redis_pid == 0) {
    const std::string p = absl::StrCat(port);
    execlp("redis-server", "redis-server", "--port", p.c_str(), "--bind",
           "127.0.0.1", "--dir", env->redis_dir.c_str(), "--appendonly", "yes",
           "--save", "", "--logfile", "redis.log", nullptr);
    _exit(127);
  }
  env->redis_url = absl::StrCat("redis://127.0.0.1:", port);
  RedisUrl u = *RedisUrl::Parse(env->redis_url);
  for (int i = 0; i < 100 && !RedisClient::Connect(u, 200).ok(); i++)
    usleep(50000);
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
  static Env env;
  g_env = &env;
  std::atexit(Cleanup);
  std::string only;
  for (int i = 1; i < argc; i++) {
    if (std::string(argv[i]).rfind("--redis=", 0) == 0)
      env.redis_url = argv[i] + 8;
    if (std::string(argv[i]).rfind("--only=", 0) == 0) only = argv[i] + 7;
  }
  auto wanted = [&only](const char* name) {
    return only.empty() || only == name;
  };
  env.log_size = Flag(argc, argv, "log_mb", 0) << 20;
  if (env.redis_url.empty()) StartRedis(&env);
  char ta[] = "/dev/shm/replbench.XXXXXX";
  const std::string root = mkdtemp(ta);
  g_root = root;
  env.dir_a = root + "/a";
  env.dir_b = root + "/b";
  std::filesystem::create_directories(env.dir_a);
  std::filesystem::create_directories(env.dir_b);
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
    Throughput(env, Flag(argc, argv, "puts", 1000000));
    ForgetStream(env, "bench:tp");
    std::fflush(stdout);
  }
  if (wanted("lag")) {
    Lag(env, Flag(argc, argv, "rate", 10000), Flag(argc, argv, "seconds", 5));
    std::fflush(stdout);
  }
  if (wanted("bootstrap")) Bootstrap(env, Flag(argc, argv, "entries", 1000000));
  return 0;
}

}  // namespace
}  // namespace replication
}  // namespace ultradict

int main(int argc, char** argv) {
  return ultradict::replication::Main(argc, argv);
}
