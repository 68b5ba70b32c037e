// multiprocess.cc: see multiprocess.h.

#include "benchmarks/multiprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace ultradict {
namespace bench {

namespace {

// ---- Process plumbing ---------------------------------------------------

class Pipe {
 public:
  Pipe() = default;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  absl::Status Open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      return absl::InternalError(absl::StrCat("pipe2: ", strerror(errno)));
    }
    read_fd = fds[0];
    write_fd = fds[1];
    return absl::OkStatus();
  }
  void CloseRead() {
    if (read_fd >= 0) close(read_fd);
    read_fd = -1;
  }
  void CloseWrite() {
    if (write_fd >= 0) close(write_fd);
    write_fd = -1;
  }
  int read_fd = -1;
  int write_fd = -1;
};

// A helper process: db_bench itself, re-executed with --helper=MODE.
class Helper {
 public:
  Helper() = default;
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;
  // Kills (SIGKILL) and reaps a helper that was not waited for.
  ~Helper() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      UnregisterChild(pid_);
    }
  }

  // Starts `db_bench --helper=mode ...`; go_fd and stop_fd (or -1) are read
  // ends the helper inherits.
  absl::Status Start(const std::string& mode, Engine* engine, int index,
                     const BenchParams& params, int go_fd, int stop_fd) {
    absl::Status s = result_.Open();
    if (!s.ok()) return s;
    std::vector<std::string> args = {
        "db_bench",
        absl::StrCat("--helper=", mode),
        absl::StrCat("--engine=", EngineName(engine->kind())),
        absl::StrCat("--helper_location=", engine->location()),
        absl::StrCat("--helper_index=", index),
        absl::StrCat("--helper_result_fd=", result_.write_fd),
        absl::StrCat("--helper_go_fd=", go_fd),
        absl::StrCat("--helper_stop_fd=", stop_fd),
        absl::StrCat("--num=", params.num),
        absl::StrCat("--key_size=", params.key_size),
        absl::StrCat("--value_size=", params.value_size),
        absl::StrCat("--reads=", params.reads),
        absl::StrCat("--procs=", params.procs),
        absl::StrCat("--writer_rate=", params.writer_rate),
        absl::StrCat("--rounds=", params.rounds),
        absl::StrCat("--log_size=", params.config.log_size),
        absl::StrCat("--compression=", params.config.compression),
        absl::StrCat("--lmdb_map_size=", params.config.lmdb_map_size),
    };
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int keep[3] = {result_.write_fd, go_fd, stop_fd};

    pid_t pid = fork();
    if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
    if (pid == 0) {
      // Only async-signal-safe calls until exec.
      for (int fd : keep) {
        if (fd >= 0) fcntl(fd, F_SETFD, 0);
      }
      execv("/proc/self/exe", argv.data());
      _exit(127);
    }
    pid_ = pid;
    RegisterChild(pid);
    result_.CloseWrite();
    reader_ = std::make_unique<LineReader>(result_.read_fd);
    return absl::OkStatus();
  }

  // The next line the helper wrote, split into numbers.
  absl::Status ReadNumbers(std::vector<uint64_t>* numbers) {
    std::string line;
    if (!reader_->ReadLine(&line)) {
      return absl::InternalError(
          absl::StrCat("helper ", pid_, " exited before answering"));
    }
    numbers->clear();
    for (absl::string_view part :
         absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      uint64_t v;
      if (!absl::SimpleAtoi(part, &v)) {
        return absl::InternalError(
            absl::StrCat("helper ", pid_, " answered \"", line, "\""));
      }
      numbers->push_back(v);
    }
    return absl::OkStatus();
  }

  absl::Status ExpectLine(const std::string& expected) {
    std::string line;
    if (!reader_->ReadLine(&line) || line != expected) {
      return absl::InternalError(absl::StrCat(
          "helper ", pid_, " did not answer \"", expected, "\""));
    }
    return absl::OkStatus();
  }
  absl::Status ExpectReady() { return ExpectLine("ready"); }

  // Answers are then awaited by polling, never by sleeping in read(2).
  void SpinOnAnswers() { reader_->Spin(); }

  // Waits for the exit; OK when it exited 0.
  absl::Status Wait() {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) {
        return absl::InternalError(absl::StrCat("waitpid: ", strerror(errno)));
      }
    }
    UnregisterChild(pid_);
    pid_t pid = pid_;
    pid_ = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return absl::InternalError(
          absl::StrCat("helper ", pid, " failed (wait status ", status, ")"));
    }
    return absl::OkStatus();
  }

 private:
  pid_t pid_ = -1;
  Pipe result_;
  std::unique_ptr<LineReader> reader_;
};

absl::Status Go(Pipe* go, int helpers) {
  return WriteAll(go->write_fd, std::string(static_cast<size_t>(helpers), 'g'));
}

// ---- Helper side ---------------------------------------------------------

absl::Status WaitForGo(int go_fd) {
  char c;
  for (;;) {
    ssize_t n = read(go_fd, &c, 1);
    if (n == 1) return absl::OkStatus();
    if (n < 0 && errno == EINTR) continue;
    return absl::InternalError("go pipe closed");
  }
}

bool StopRequested(int stop_fd) {
  struct pollfd p = {stop_fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

std::string PropagationKey(size_t key_size) {
  std::string key = "~propagation";
  key.resize(std::max<size_t>(key_size, 1), '.');
  return key;
}

void EncodeStamp(uint64_t round, uint64_t nanos, std::string* value) {
  memcpy(value->data(), &round, 8);
  memcpy(value->data() + 8, &nanos, 8);
}

absl::Status HelperBody(const HelperArgs& args, const BenchParams& params) {
  if (args.mode == "attach") {
    // Timed: open + first Get, in this fresh process.
    std::string key, value;
    MakeKey(params.num / 2, params.key_size, &key);
    uint64_t t0 = NowNanos();
    auto e = AttachEngine(args.kind, params.config, args.location);
    if (!e.ok()) return e.status();
    absl::Status s = (*e)->NewReader()->Get(key, &value);
    uint64_t t1 = NowNanos();
    if (!s.ok()) return s;
    return WriteAll(args.result_fd, absl::StrCat(t1 - t0, " ", t1, "\n"));
  }
  auto engine = AttachEngine(args.kind, params.config, args.location);
  if (!engine.ok()) return engine.status();
  Engine* db = engine->get();
  std::unique_ptr<Engine::Reader> reader = db->NewReader();
  std::string key, value = MakeValue(params.value_size, args.index + 1);
  std::mt19937_64 rng(1000 + static_cast<uint64_t>(args.index));

  if (args.mode == "propagation_reader") {
    key = PropagationKey(params.key_size);
    std::vector<uint64_t> latencies;
    latencies.reserve(static_cast<size_t>(params.rounds));
    absl::Status s = WriteAll(args.result_fd, "ready\n");
    for (int round = 0; s.ok() && round < params.rounds; ++round) {
      for (;;) {
        s = reader->Get(key, &value);
        if (!s.ok() && !absl::IsNotFound(s)) return s;
        if (s.ok() && value.size() >= 16) {
          uint64_t r, stamp;
          memcpy(&r, value.data(), 8);
          memcpy(&stamp, value.data() + 8, 8);
          if (r == static_cast<uint64_t>(round)) {
            uint64_t now = NowNanos();
            latencies.push_back(now - stamp);
            break;
          }
        }
      }
      s = WriteAll(args.result_fd, "a\n");
    }
    if (!s.ok()) return s;
    uint64_t sum = std::accumulate(latencies.begin(), latencies.end(),
                                   uint64_t{0});
    Percentiles p = ComputePercentiles(&latencies);
    return WriteAll(args.result_fd,
                    absl::StrCat(p.p50, " ", p.p99, " ", p.p999, " ", p.max,
                                 " ", sum / std::max<size_t>(1, latencies.size()),
                                 "\n"));
  }

  absl::Status s;
  if (args.mode == "mpread_writer") {
    // Joined as a writer before the readers start.
    MakeKey(0, params.key_size, &key);
    s = db->Put(key, value);
    if (!s.ok()) return s;
  }
  s = WriteAll(args.result_fd, "ready\n");
  if (!s.ok()) return s;
  s = WaitForGo(args.go_fd);
  if (!s.ok()) return s;

  if (args.mode == "mpwrite") {
    uint64_t n = static_cast<uint64_t>(params.procs);
    uint64_t begin = params.num * static_cast<uint64_t>(args.index) / n;
    uint64_t end = params.num * static_cast<uint64_t>(args.index + 1) / n;
    std::vector<uint64_t> order(end - begin);
    std::iota(order.begin(), order.end(), begin);
    std::shuffle(order.begin(), order.end(), rng);
    uint64_t t0 = NowNanos();
    for (uint64_t k : order) {
      MakeKey(k, params.key_size, &key);
      s = db->Put(key, value);
      if (!s.ok()) return s;
    }
    uint64_t t1 = NowNanos();
    return WriteAll(args.result_fd,
                    absl::StrCat(order.size(), " ", t1 - t0, "\n"));
  }
  if (args.mode == "mpread_writer") {
    uint64_t ops = 0, t0 = NowNanos();
    while (!StopRequested(args.stop_fd)) {
      for (int i = 0; i < 64; ++i, ++ops) {
        if (params.writer_rate > 0) {  // Paced: put number ops is due then.
          const uint64_t due =
              t0 +
              ops * 1000000000u / static_cast<uint64_t>(params.writer_rate);
          const uint64_t now = NowNanos();
          if (due > now) usleep(static_cast<useconds_t>((due - now) / 1000));
          if (StopRequested(args.stop_fd)) break;
        }
        MakeKey(rng() % params.num, params.key_size, &key);
        s = db->Put(key, value);
        if (!s.ok()) return s;
      }
    }
    uint64_t t1 = NowNanos();
    return WriteAll(args.result_fd, absl::StrCat(ops, " ", t1 - t0, "\n"));
  }
  if (args.mode == "mpread_reader") {
    uint64_t found = 0, t0 = NowNanos();
    for (uint64_t i = 0; i < params.reads; ++i) {
      MakeKey(rng() % params.num, params.key_size, &key);
      s = reader->Get(key, &value);
      if (s.ok()) {
        ++found;
      } else if (!absl::IsNotFound(s)) {
        return s;
      }
    }
    uint64_t t1 = NowNanos();
    // The CPU this reader process used since it started: exec, attaching,
    // and every read (with a per-process index of the log, it also indexed
    // every record the writer wrote meanwhile).
    timespec cpu{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    const uint64_t cpu_ns = static_cast<uint64_t>(cpu.tv_sec) * 1000000000u +
                            static_cast<uint64_t>(cpu.tv_nsec);
    // Page faults: a reader maps each new generation (a compaction's) and
    // touches its pages anew.
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return WriteAll(args.result_fd,
                    absl::StrCat(params.reads, " ", t1 - t0, " ", found, " ",
                                 cpu_ns, " ", usage.ru_minflt, "\n"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown helper mode \"", args.mode, "\""));
}

}  // namespace

int RunHelper(const HelperArgs& args, const BenchParams& params) {
  absl::Status s = HelperBody(args, params);
  if (!s.ok()) {
    fprintf(stderr, "db_bench helper %s #%d: %s\n", args.mode.c_str(),
            args.index, s.ToString().c_str());
    return 1;
  }
  return 0;
}

absl::StatusOr<Result> RunAttach(Engine* engine, const BenchParams& params) {
  std::vector<uint64_t> inside, total;
  for (int run = 0; run < params.attach_runs; ++run) {
    Helper helper;
    uint64_t t0 = NowNanos();
    absl::Status s = helper.Start("attach", engine, run, params, -1, -1);
    if (!s.ok()) return s;
    std::vector<uint64_t> numbers;
    s = helper.ReadNumbers(&numbers);
    if (s.ok() && numbers.size() != 2) s = absl::InternalError("bad answer");
    if (!s.ok()) return s;
    s = helper.Wait();
    if (!s.ok()) return s;
    inside.push_back(numbers[0]);
    total.push_back(numbers[1] - t0);
  }
  Percentiles in = ComputePercentiles(&inside);
  Percentiles all = ComputePercentiles(&total);
  Result r;
  r.ops = 1;
  r.seconds = static_cast<double>(in.p50) / 1e9;
  FinishResult(&r);
  r.note = absl::StrCat("(median of ", params.attach_runs,
                        " new processes, open+get inside the process; max ",
                        in.max, " ns; fork+exec+open+get ", all.p50, " ns)");
  return r;
}

absl::StatusOr<Result> RunMpWrite(Engine* engine, const BenchParams& params) {
  Pipe go;
  absl::Status s = go.Open();
  if (!s.ok()) return s;
  std::vector<std::unique_ptr<Helper>> helpers;
  for (int i = 0; i < params.procs; ++i) {
    helpers.push_back(std::make_unique<Helper>());
    s = helpers.back()->Start("mpwrite", engine, i, params, go.read_fd, -1);
    if (!s.ok()) return s;
  }
  for (auto& h : helpers) {
    s = h->ExpectReady();
    if (!s.ok()) return s;
  }
  uint64_t t0 = NowNanos();
  s = Go(&go, params.procs);
  if (!s.ok()) return s;
  uint64_t ops = 0, busy = 0;
  for (auto& h : helpers) {
    std::vector<uint64_t> numbers;
    s = h->ReadNumbers(&numbers);
    if (s.ok() && numbers.size() != 2) s = absl::InternalError("bad answer");
    if (!s.ok()) return s;
    ops += numbers[0];
    busy += numbers[1];
  }
  uint64_t t1 = NowNanos();
  for (auto& h : helpers) {
    s = h->Wait();
    if (!s.ok()) return s;
  }
  Result r;
  r.ops = ops;
  r.bytes = ops * (params.key_size + params.value_size);
  r.seconds = static_cast<double>(t1 - t0) / 1e9;
  FinishResult(&r);
  r.note = absl::StrCat("(", params.procs, " writer processes; ns/op = wall / ",
                        "all puts; per process ",
                        static_cast<uint64_t>(static_cast<double>(busy) /
                                              static_cast<double>(ops)),
                        " ns/put)");
  return r;
}

absl::StatusOr<Result> RunMpRead(Engine* engine, const BenchParams& params) {
  Pipe go, stop;
  absl::Status s = go.Open();
  if (s.ok()) s = stop.Open();
  if (!s.ok()) return s;
  Helper writer;
  s = writer.Start("mpread_writer", engine, params.procs, params, go.read_fd,
                   stop.read_fd);
  if (!s.ok()) return s;
  std::vector<std::unique_ptr<Helper>> readers;
  for (int i = 0; i < params.procs; ++i) {
    readers.push_back(std::make_unique<Helper>());
    s = readers.back()->Start("mpread_reader", engine, i, params, go.read_fd,
                              -1);
    if (!s.ok()) return s;
  }
  s = writer.ExpectReady();
  for (auto& h : readers) {
    if (s.ok()) s = h->ExpectReady();
  }
  if (!s.ok()) return s;
  uint64_t t0 = NowNanos();
  s = Go(&go, params.procs + 1);
  if (!s.ok()) return s;
  uint64_t ops = 0, found = 0, cpu_ns = 0, faults = 0;
  double per_reader_ns = 0;
  for (auto& h : readers) {
    std::vector<uint64_t> numbers;
    s = h->ReadNumbers(&numbers);
    if (s.ok() && numbers.size() != 5) s = absl::InternalError("bad answer");
    if (!s.ok()) return s;
    ops += numbers[0];
    found += numbers[2];
    cpu_ns += numbers[3];
    faults += numbers[4];
    per_reader_ns += static_cast<double>(numbers[1]) /
                     static_cast<double>(std::max<uint64_t>(1, numbers[0]));
  }
  uint64_t t1 = NowNanos();
  stop.CloseWrite();
  std::vector<uint64_t> wrote;
  s = writer.ReadNumbers(&wrote);
  if (s.ok() && wrote.size() != 2) s = absl::InternalError("bad answer");
  if (s.ok()) s = writer.Wait();
  for (auto& h : readers) {
    if (s.ok()) s = h->Wait();
  }
  if (!s.ok()) return s;
  Result r;
  r.ops = ops;
  r.bytes = found * (params.key_size + params.value_size);
  r.seconds = static_cast<double>(t1 - t0) / 1e9;
  FinishResult(&r);
  r.ns_per_op = per_reader_ns / params.procs;  // Per reader, as in LevelDB.
  r.note = absl::StrCat(
      "(", params.procs, " reader processes + 1 writer process; ns/op per ",
      "reader; writer did ", wrote[0], " puts, ",
      static_cast<uint64_t>(static_cast<double>(wrote[0]) /
                            (static_cast<double>(wrote[1]) / 1e9)),
      " puts/s; ", found, " of ", ops, " found; readers' CPU ",
      absl::StrFormat("%.3f", static_cast<double>(cpu_ns) / 1e9), " s in all, ",
      static_cast<uint64_t>(static_cast<double>(cpu_ns) /
                            static_cast<double>(std::max<uint64_t>(1, ops))),
      " ns per read, ", faults, " page faults)");
  return r;
}

absl::StatusOr<Result> RunPropagation(Engine* engine,
                                      const BenchParams& params) {
  Helper reader;
  absl::Status s =
      reader.Start("propagation_reader", engine, 0, params, -1, -1);
  if (!s.ok()) return s;
  s = reader.ExpectReady();
  if (!s.ok()) return s;
  // Waiting for each answer in read(2) let the scheduler wake this process
  // on the reader's CPU, which then came back to its Get loop only after
  // the next Put (2-3 us later: half the runs measured that, not the
  // propagation). Polling keeps both processes running.
  reader.SpinOnAnswers();
  std::string key = PropagationKey(params.key_size);
  std::string value(std::max<size_t>(params.value_size, 16), '.');
  for (int round = 0; round < params.rounds; ++round) {
    // Give the reader time to get back into its Get loop.
    uint64_t until = NowNanos() + 20000;
    while (NowNanos() < until) {
    }
    EncodeStamp(static_cast<uint64_t>(round), NowNanos(), &value);
    s = engine->Put(key, value);
    if (s.ok()) s = reader.ExpectLine("a");
    if (!s.ok()) return s;
  }
  std::vector<uint64_t> numbers;
  s = reader.ReadNumbers(&numbers);
  if (s.ok() && numbers.size() != 5) s = absl::InternalError("bad answer");
  if (s.ok()) s = reader.Wait();
  if (!s.ok()) return s;
  Result r;
  r.ops = 1;
  r.seconds = static_cast<double>(numbers[0]) / 1e9;
  FinishResult(&r);
  r.has_percentiles = true;
  r.latency.p50 = numbers[0];
  r.latency.p99 = numbers[1];
  r.latency.p999 = numbers[2];
  r.latency.max = numbers[3];
  r.note = absl::StrCat("(Put in this process until Get in another sees it; "
                        "median of ", params.rounds, " rounds; p99 ",
                        numbers[1], " ns; mean ", numbers[4], " ns)");
  return r;
}

}  // namespace bench
}  // namespace ultradict
