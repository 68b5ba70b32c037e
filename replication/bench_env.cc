// bench_env.cc: see bench_env.h.

#include "replication/bench_env.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "replication/lag_recorder.h"
#include "replication/redis_client.h"
#include "replication/state_file.h"

namespace ultradict {
namespace replication {

namespace {
BenchEnv* g_env = nullptr;  // Cleaned up at exit, also after Die().

void Cleanup() {
  if (g_env == nullptr) return;
  if (!g_env->root.empty()) std::filesystem::remove_all(g_env->root);
  if (g_env->redis_pid != 0) {
    kill(g_env->redis_pid, SIGTERM);
    waitpid(g_env->redis_pid, nullptr, 0);
    std::filesystem::remove_all(g_env->redis_dir);
  }
  g_env = nullptr;
}

int FreePort() {
  for (int port = 20000 + getpid() % 20000;; port++) {
    RedisUrl u;
    u.host = "127.0.0.1";
    u.port = port;
    if (!RedisClient::Connect(u, 200).ok()) return port;
  }
}

void StartRedis(BenchEnv* env) {
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
// Log lines to stderr, with the monotonic clock in ms.
LogFn LogTo(const char* who) {
  return [who](std::string_view line) {
    std::fprintf(stderr, "%.3f %s: %.*s\n", NowNs() / 1e6, who,
                 static_cast<int>(line.size()), line.data());
  };
}
}  // namespace

void Die(const absl::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "replication_bench: %s: %s\n", what,
               std::string(s.message()).c_str());
  std::exit(1);
}

void SetUpBenchEnv(BenchEnv* env) {
  g_env = env;
  std::atexit(Cleanup);
  if (env->redis_url.empty()) StartRedis(env);
  char ta[] = "/dev/shm/replbench.XXXXXX";
  env->root = mkdtemp(ta);
  env->dir_a = env->root + "/a";
  env->dir_b = env->root + "/b";
  std::filesystem::create_directories(env->dir_a);
  std::filesystem::create_directories(env->dir_b);
}

std::unique_ptr<DB> OpenBenchDb(const BenchEnv& env, const std::string& dir,
                                const std::string& name) {
  Options options;
  options.directory = dir;
  if (env.log_size != 0) options.log_size = env.log_size;
  auto db = DB::Open(options, name);
  Die(db.status(), "open");
  return std::move(*db);
}

Pipeline::Pipeline(const BenchEnv& env, DB* primary, DB* copy,
                   const std::string& stream, StageFn on_stage, bool verbose) {
  PublisherOptions po;
  po.redis_url = env.redis_url;
  po.stream = stream;
  po.on_stage = on_stage;
  if (verbose) po.log = LogTo("publisher");
  publisher = std::make_unique<Publisher>(primary, po);
  FollowerOptions fo;
  fo.redis_url = env.redis_url;
  fo.stream = stream;
  fo.on_stage = std::move(on_stage);
  if (verbose) fo.log = LogTo("follower");
  fo.directory = env.dir_b;
  fo.state_path = FollowStatePath(env.dir_b, copy->name());
  follower = std::make_unique<Follower>(copy, fo);
  pub_thread = std::thread([this] { Die(publisher->Run(stop), "publisher"); });
  fol_thread = std::thread([this] { Die(follower->Run(stop), "follower"); });
}

void Pipeline::WaitFor(uint64_t seq) {
  while (follower->position() < seq || follower->bootstraps() == 0)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
}

Pipeline::~Pipeline() {
  stop = true;
  pub_thread.join();
  fol_thread.join();
}

}  // namespace replication
}  // namespace ultradict
