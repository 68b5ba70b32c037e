// db_bench: LevelDB-style performance runs of UltraDict, with an in-process
// absl::flat_hash_map and LMDB measured in the same run as baselines.
//
//   bazel run -c opt //benchmarks:db_bench -- --engine=all
//
// Benchmarks (--benchmarks, comma-separated, run in this order):
//   fillseq          write num entries in key order into a new dictionary
//   fillrandom       write num entries in random order into a new one
//   overwrite        overwrite num random existing keys
//   readrandom       --reads random Gets of existing keys
//   readmissing      --reads random Gets of absent keys
//   readhot          --reads random Gets within the hottest 1% of the keys
//   readseq          iterate over the whole dictionary
//   deleterandom     delete every key, in random order
//   fillbatch        write num entries in key order, 100 per WriteBatch
//   readwhilewriting --threads reader threads read while 1 thread overwrites
//                    (ns/op is a reader's)
//   compact          one DB::CompactLog of the whole dictionary
//   attachwrites     attach right after num/10 untimed random overwrites: the
//                    log full of changes (in the suite, before compact)
//   attach           a NEW process opens the dictionary and does its first Get
//                    (timed inside that process)
//   mpwrite          --procs writer processes, distinct key ranges
//   mpread           --procs reader processes while 1 process writes
//                    (--writer_rate puts/s, or as fast as it can)
//   propagation      Put in this process until Get in another process sees it
//                    (median over --rounds; p99 in the latency line)
//
// Output: a header, then one line per benchmark and engine (an interface:
// scripts parse it):
//   <engine> <benchmark> : <X> ns/op; <Y> MB/s; <Z> ops/s [note]
// or "<engine> <benchmark> : n/a (why)"; with --histogram a latency line
// (p50 p99 p99.9 max) follows; with --engine=all a table of ratios ends the
// report. --json writes one JSON document to stdout instead (the report
// goes to stderr). Everything the run creates (UltraDict segments ud.*,
// LMDB directories, under /dev/shm or $ULTRADICT_DIR) is removed at the
// end, on errors and on SIGINT/SIGTERM.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "benchmarks/bench_util.h"
#include "benchmarks/engine.h"
#include "benchmarks/multiprocess.h"
#include "nlohmann/json.hpp"

constexpr char kAllBenchmarks[] =
    "fillseq,fillrandom,overwrite,readrandom,readmissing,readhot,readseq,"
    "deleterandom,fillbatch,readwhilewriting,attachwrites,compact,attach,"
    "mpwrite,mpread,"
    "propagation";

ABSL_FLAG(std::string, benchmarks, kAllBenchmarks,
          "Comma-separated benchmarks to run, in order.");
ABSL_FLAG(int64_t, num, 1000000, "Number of entries.");
ABSL_FLAG(int64_t, key_size, 16, "Bytes per key.");
ABSL_FLAG(int64_t, value_size, 100, "Bytes per value.");
ABSL_FLAG(std::string, engine, "all", "ultradict, hashmap, lmdb or all.");
ABSL_FLAG(bool, compression, false, "UltraDict: zstd-compress values.");
ABSL_FLAG(int64_t, log_size, 0,
          "UltraDict: initial log size in bytes (0: the default).");
ABSL_FLAG(int, procs, 2, "Processes of mpwrite and mpread.");
ABSL_FLAG(int64_t, writer_rate, 0,
          "Puts per second of mpread's writer process (0: as fast as it "
          "can).");
ABSL_FLAG(int, threads, 1, "Reader threads of readwhilewriting.");
ABSL_FLAG(bool, histogram, false, "Print latency percentiles.");
ABSL_FLAG(bool, json, false,
          "Write a JSON document to stdout (the report goes to stderr).");
ABSL_FLAG(int64_t, reads, -1, "Reads per reader (-1: --num).");
ABSL_FLAG(int, rounds, 1000, "Rounds of propagation.");
ABSL_FLAG(int, attach_runs, 5, "New processes timed by attach.");
ABSL_FLAG(int64_t, lmdb_map_size, 0, "LMDB map size in bytes (0: auto).");
ABSL_FLAG(std::string, db_prefix, "",
          "Prefix of the names of dictionaries and LMDB directories "
          "(default dbbench-<pid>).");
// Internal: set when db_bench runs itself as a helper process.
ABSL_FLAG(std::string, helper, "", "Internal: helper mode.");
ABSL_FLAG(std::string, helper_location, "", "Internal.");
ABSL_FLAG(int, helper_index, 0, "Internal.");
ABSL_FLAG(int, helper_result_fd, -1, "Internal.");
ABSL_FLAG(int, helper_go_fd, -1, "Internal.");
ABSL_FLAG(int, helper_stop_fd, -1, "Internal.");

namespace ultradict {
namespace bench {
namespace {

FILE* g_report = stdout;  // stderr with --json.

bool IsPutBenchmark(const std::string& name) {
  return name == "fillseq" || name == "fillrandom" || name == "overwrite" ||
         name == "fillbatch";
}

// Runs benchmarks against one engine kind, keeping its state between them
// (reads reuse what the fills wrote; a benchmark that needs all entries
// refills a fresh engine, untimed, when they are not there).
class Runner {
 public:
  Runner(EngineKind kind, const BenchParams& params, int* instance)
      : kind_(kind), p_(params), instance_(instance), rng_(301) {
    perm_.resize(p_.num);
    std::iota(perm_.begin(), perm_.end(), uint64_t{0});
    std::shuffle(perm_.begin(), perm_.end(), rng_);
    value_ = MakeValue(p_.value_size, 7);
  }

  std::string Describe() {
    if (engine_ == nullptr && !Fresh().ok()) return EngineName(kind_);
    return engine_->Describe();
  }

  absl::StatusOr<Result> Run(const std::string& name) {
    Result r;
    absl::Status s = Dispatch(name, &r);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat(EngineName(kind_), " ",
                                                 name, ": ", s.message()));
    }
    r.benchmark = name;
    r.engine = EngineName(kind_);
    return r;
  }

  // Removes the storage now.
  void Close() { engine_.reset(); }

 private:
  bool Shared() const { return kind_ != EngineKind::kHashMap; }

  absl::Status Dispatch(const std::string& name, Result* r) {
    if (name == "fillseq") return Fill(/*random=*/false, r);
    if (name == "fillrandom") return Fill(/*random=*/true, r);
    if (name == "overwrite") return Overwrite(r);
    if (name == "readrandom") return Read(p_.num, 0, r);
    if (name == "readmissing") return Read(p_.num, p_.num, r);
    if (name == "readhot") return Read(std::max<uint64_t>(1, p_.num / 100), 0, r);
    if (name == "readseq") return ReadSeq(r);
    if (name == "deleterandom") return DeleteRandom(r);
    if (name == "fillbatch") return FillBatch(r);
    if (name == "readwhilewriting") return ReadWhileWriting(r);
    if (name == "compact") return Compact(r);
    if (name == "attach" || name == "attachwrites" || name == "mpwrite" ||
        name == "mpread" || name == "propagation") {
      return MultiProcess(name, r);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unknown benchmark \"", name, "\""));
  }

  absl::Status Fresh() {
    engine_.reset();  // Removes the old storage first.
    full_ = false;
    auto e = CreateEngine(kind_, p_.config, (*instance_)++);
    if (!e.ok()) return e.status();
    engine_ = std::move(*e);
    return absl::OkStatus();
  }

  absl::Status EnsureFull() {
    if (engine_ != nullptr && full_) return absl::OkStatus();
    absl::Status s = Fresh();
    std::string key;
    for (uint64_t i = 0; s.ok() && i < p_.num; ++i) {
      MakeKey(i, p_.key_size, &key);
      s = engine_->Put(key, value_);
    }
    full_ = s.ok();
    return s;
  }

  // Times n calls of op(i) (each timed alone with --histogram).
  template <typename Op>
  absl::Status Timed(uint64_t n, Result* r, Op&& op) {
    std::vector<uint64_t> latencies;
    uint64_t start = NowNanos();
    if (!p_.histogram) {
      for (uint64_t i = 0; i < n; ++i) {
        absl::Status s = op(i);
        if (!s.ok()) return s;
      }
    } else {
      latencies.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t t = NowNanos();
        absl::Status s = op(i);
        latencies.push_back(NowNanos() - t);
        if (!s.ok()) return s;
      }
      r->has_percentiles = true;
      r->latency = ComputePercentiles(&latencies);
    }
    r->seconds = static_cast<double>(NowNanos() - start) / 1e9;
    FinishResult(r);
    return absl::OkStatus();
  }

  uint64_t EntryBytes() const { return p_.key_size + p_.value_size; }

  absl::Status Fill(bool random, Result* r) {
    absl::Status s = Fresh();
    if (!s.ok()) return s;
    std::string key;
    r->ops = p_.num;
    r->bytes = p_.num * EntryBytes();
    s = Timed(p_.num, r, [&](uint64_t i) {
      MakeKey(random ? perm_[i] : i, p_.key_size, &key);
      return engine_->Put(key, value_);
    });
    full_ = s.ok();
    r->note = engine_->MemoryNote();
    return s;
  }

  absl::Status Overwrite(Result* r) {
    absl::Status s = EnsureFull();
    if (!s.ok()) return s;
    std::string key;
    r->ops = p_.num;
    r->bytes = p_.num * EntryBytes();
    s = Timed(p_.num, r, [&](uint64_t) {
      MakeKey(rng_() % p_.num, p_.key_size, &key);
      return engine_->Put(key, value_);
    });
    r->note = engine_->MemoryNote();
    return s;
  }

  // Reads keys offset + [0, range).
  absl::Status Read(uint64_t range, uint64_t offset, Result* r) {
    absl::Status s = EnsureFull();
    if (!s.ok()) return s;
    std::unique_ptr<Engine::Reader> reader = engine_->NewReader();
    std::string key, value;
    uint64_t found = 0;
    r->ops = p_.reads;
    s = Timed(p_.reads, r, [&](uint64_t) {
      MakeKey(offset + rng_() % range, p_.key_size, &key);
      absl::Status g = reader->Get(key, &value);
      if (g.ok()) {
        ++found;
        return g;
      }
      return absl::IsNotFound(g) ? absl::OkStatus() : g;
    });
    if (!s.ok()) return s;
    r->bytes = found * EntryBytes();
    FinishResult(r);
    uint64_t expected = offset == 0 ? p_.reads : 0;
    if (found != expected) {
      r->note = absl::StrCat("(", found, " of ", p_.reads, " found)");
    }
    return absl::OkStatus();
  }

  absl::Status ReadSeq(Result* r) {
    absl::Status s = EnsureFull();
    if (!s.ok()) return s;
    const std::string scan_note = engine_->ScanNote();
    uint64_t start = NowNanos();
    const uint64_t cpu_start = ThreadCpuNanos();
    s = engine_->Scan(&r->ops, &r->bytes);
    const uint64_t cpu = ThreadCpuNanos() - cpu_start;
    r->seconds = static_cast<double>(NowNanos() - start) / 1e9;
    if (!s.ok()) return s;
    FinishResult(r);
    // The scan's own CPU time: on a shared machine the wall time also
    // counts the time other jobs held the CPU.
    r->note =
        absl::StrFormat("(cpu %.1f ns/op)", static_cast<double>(cpu) /
                                                std::max<uint64_t>(r->ops, 1));
    if (r->ops != p_.num) {
      r->note += absl::StrCat("(", r->ops, " of ", p_.num, " entries)");
    }
    r->note += scan_note;
    if (kind_ == EngineKind::kHashMap) r->note += "(unordered)";
    return absl::OkStatus();
  }

  absl::Status DeleteRandom(Result* r) {
    absl::Status s = EnsureFull();
    if (!s.ok()) return s;
    full_ = false;
    std::string key;
    r->ops = p_.num;
    r->bytes = p_.num * p_.key_size;
    return Timed(p_.num, r, [&](uint64_t i) {
      MakeKey(perm_[i], p_.key_size, &key);
      return engine_->Delete(key);
    });
  }

  absl::Status FillBatch(Result* r) {
    constexpr uint64_t kBatch = 100;
    absl::Status s = Fresh();
    if (!s.ok()) return s;
    std::vector<std::pair<std::string, std::string>> batch;
    uint64_t batches = (p_.num + kBatch - 1) / kBatch;
    Result per_batch;
    s = Timed(batches, &per_batch, [&](uint64_t b) {
      batch.clear();
      for (uint64_t i = b * kBatch; i < std::min(p_.num, (b + 1) * kBatch);
           ++i) {
        batch.emplace_back(std::string(), value_);
        MakeKey(i, p_.key_size, &batch.back().first);
      }
      return engine_->PutBatch(batch);
    });
    if (!s.ok()) return s;
    full_ = true;
    r->ops = p_.num;
    r->bytes = p_.num * EntryBytes();
    r->seconds = per_batch.seconds;
    FinishResult(r);
    r->has_percentiles = per_batch.has_percentiles;
    r->latency = per_batch.latency;
    r->note = p_.histogram ? "(100 per batch; latency per batch)"
                           : "(100 per batch)";
    return absl::OkStatus();
  }

  absl::Status ReadWhileWriting(Result* r) {
    absl::Status s = EnsureFull();
    if (!s.ok()) return s;
    engine_->SetConcurrent(true);
    std::atomic<bool> done{false};
    absl::Status writer_status;
    uint64_t writes = 0;
    std::thread writer([&] {
      std::mt19937_64 rng(99);
      std::string key;
      std::string value = MakeValue(p_.value_size, 8);
      while (!done.load(std::memory_order_relaxed)) {
        MakeKey(rng() % p_.num, p_.key_size, &key);
        writer_status = engine_->Put(key, value);
        if (!writer_status.ok()) return;
        ++writes;
      }
    });
    int n = std::max(1, p_.threads);
    std::vector<Result> results(static_cast<size_t>(n));
    std::vector<absl::Status> statuses(static_cast<size_t>(n));
    std::vector<std::vector<uint64_t>> latencies(static_cast<size_t>(n));
    uint64_t start = NowNanos();
    std::vector<std::thread> readers;
    for (int t = 0; t < n; ++t) {
      readers.emplace_back([&, t] {
        std::unique_ptr<Engine::Reader> reader = engine_->NewReader();
        std::mt19937_64 rng(1000 + t);
        std::string key, value;
        std::vector<uint64_t>& lat = latencies[t];
        if (p_.histogram) lat.reserve(p_.reads);
        uint64_t t0 = NowNanos();
        for (uint64_t i = 0; i < p_.reads; ++i) {
          MakeKey(rng() % p_.num, p_.key_size, &key);
          uint64_t a = p_.histogram ? NowNanos() : 0;
          absl::Status g = reader->Get(key, &value);
          if (p_.histogram) lat.push_back(NowNanos() - a);
          if (!g.ok()) {
            statuses[t] = g;
            return;
          }
        }
        results[t].seconds = static_cast<double>(NowNanos() - t0) / 1e9;
      });
    }
    for (std::thread& t : readers) t.join();
    uint64_t wall = NowNanos() - start;
    done = true;
    writer.join();
    engine_->SetConcurrent(false);
    if (!writer_status.ok()) return writer_status;
    double per_reader_ns = 0;
    std::vector<uint64_t> all;
    for (int t = 0; t < n; ++t) {
      if (!statuses[t].ok()) return statuses[t];
      per_reader_ns += results[t].seconds * 1e9 / static_cast<double>(p_.reads);
      all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    }
    r->ops = p_.reads * static_cast<uint64_t>(n);
    r->bytes = r->ops * EntryBytes();
    r->seconds = static_cast<double>(wall) / 1e9;
    FinishResult(r);
    r->ns_per_op = per_reader_ns / n;
    if (p_.histogram) {
      r->has_percentiles = true;
      r->latency = ComputePercentiles(&all);
    }
    r->note = absl::StrCat("(", n, " reader thread(s), ns/op per reader; ",
                           writes, " writes meanwhile)");
    return absl::OkStatus();
  }

  absl::Status Compact(Result* r) {
    if (kind_ != EngineKind::kUltraDict) {
      r->skipped = true;
      r->note = "(no log to compact)";
      return absl::OkStatus();
    }
    absl::Status s = EnsureFull();
    if (!s.ok()) return s;
    // What it has to do depends on what the log holds (a burst of writes
    // just before leaves more of them there: the background compaction lags).
    const std::string before = engine_->ScanNote();
    uint64_t start = NowNanos();
    s = engine_->Compact();
    r->seconds = static_cast<double>(NowNanos() - start) / 1e9;
    if (!s.ok()) return s;
    r->ops = 1;
    r->bytes = p_.num * EntryBytes();
    FinishResult(r);
    r->note = absl::StrCat("(one CompactLog of ", p_.num, " entries)",
                           before.empty() ? "" : " before it ", before);
    return absl::OkStatus();
  }

  absl::Status MultiProcess(const std::string& name, Result* r) {
    if (!Shared()) {
      r->skipped = true;
      r->note = "(in-process only)";
      return absl::OkStatus();
    }
    absl::Status s = name == "mpwrite" ? Fresh() : EnsureFull();
    if (!s.ok()) return s;
    absl::StatusOr<Result> result;
    if (name == "attachwrites") {
      // Untimed: the log fills with changes (no compaction is asked for),
      // so that attaching meets whatever the writes left.
      std::string key;
      for (uint64_t i = 0; s.ok() && i < std::max<uint64_t>(p_.num / 10, 1);
           i++) {
        MakeKey(rng_() % p_.num, p_.key_size, &key);
        s = engine_->Put(key, value_);
      }
      if (!s.ok()) return s;
    }
    if (name == "attach" || name == "attachwrites") {
      result = RunAttach(engine_.get(), p_);
    } else if (name == "mpwrite") {
      result = RunMpWrite(engine_.get(), p_);
    } else if (name == "mpread") {
      result = RunMpRead(engine_.get(), p_);
    } else {
      // From a quiet store: right after a fill, the background compaction
      // of it would run during the rounds (tens of ms), taking one of the
      // machine's cores from the two processes timed here.
      s = engine_->Compact();
      if (!s.ok() && !absl::IsUnimplemented(s)) return s;
      result = RunPropagation(engine_.get(), p_);
    }
    if (!result.ok()) {
      full_ = false;  // Whatever the helpers left, refill next time.
      return result.status();
    }
    *r = std::move(*result);
    if (name == "mpwrite") full_ = true;  // The ranges cover [0, num).
    if (name == "propagation") full_ = false;  // Holds one more key.
    return absl::OkStatus();
  }

  const EngineKind kind_;
  const BenchParams& p_;
  int* instance_;
  std::mt19937_64 rng_;
  std::vector<uint64_t> perm_;
  std::string value_;
  std::unique_ptr<Engine> engine_;
  bool full_ = false;
};

// ---- Report ---------------------------------------------------------------

void PrintHeader(const BenchParams& p, const std::vector<std::string>& engines) {
  time_t now = time(nullptr);
  char date[64];
  strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", localtime(&now));
  fprintf(g_report, "Date:       %s\n", date);
  fprintf(g_report, "CPU:        %d * %s\n", NumCpus(), CpuModel().c_str());
  fprintf(g_report, "Keys:       %zu bytes each\n", p.key_size);
  fprintf(g_report, "Values:     %zu bytes each\n", p.value_size);
  fprintf(g_report, "Entries:    %llu\n",
          static_cast<unsigned long long>(p.num));
  fprintf(g_report, "RawSize:    %.1f MB (estimated)\n",
          static_cast<double>((p.key_size + p.value_size) * p.num) / 1048576.0);
  fprintf(g_report, "Reads:      %llu per reader; procs %d; threads %d\n",
          static_cast<unsigned long long>(p.reads), p.procs, p.threads);
  for (const std::string& e : engines) {
    fprintf(g_report, "Engine:     %s\n", e.c_str());
  }
#if !defined(__OPTIMIZE__)
  fprintf(g_report,
          "WARNING: Optimization is disabled: benchmarks unnecessarily slow "
          "(build with -c opt)\n");
#endif
#ifndef NDEBUG
  fprintf(g_report,
          "WARNING: Assertions are enabled; benchmarks unnecessarily slow\n");
#endif
  fprintf(g_report, "------------------------------------------------\n");
  fflush(g_report);
}

void PrintResult(const Result& r) {
  std::string label = absl::StrFormat("%-10s %-16s :", r.engine, r.benchmark);
  if (r.skipped) {
    fprintf(g_report, "%s        n/a %s\n", label.c_str(), r.note.c_str());
  } else {
    // Slow operations (compact, attach) keep two decimals of ops/s.
    fprintf(g_report, "%s %11.1f ns/op; %8.1f MB/s; %11.*f ops/s %s\n",
            label.c_str(), r.ns_per_op, r.mb_per_s, r.ops_per_s < 100 ? 2 : 0,
            r.ops_per_s, r.note.c_str());
    if (r.has_percentiles) {
      fprintf(g_report,
              "%-10s %-16s   latency ns: p50 %llu  p99 %llu  p99.9 %llu  "
              "max %llu\n",
              "", "", static_cast<unsigned long long>(r.latency.p50),
              static_cast<unsigned long long>(r.latency.p99),
              static_cast<unsigned long long>(r.latency.p999),
              static_cast<unsigned long long>(r.latency.max));
    }
  }
  fflush(g_report);
}

const Result* Find(const std::vector<Result>& results, const std::string& engine,
                   const std::string& benchmark) {
  for (const Result& r : results) {
    if (r.engine == engine && r.benchmark == benchmark && !r.skipped) return &r;
  }
  return nullptr;
}

void PrintRatios(const std::vector<Result>& results,
                 const std::vector<std::string>& benchmarks) {
  fprintf(g_report,
          "------------------------------------------------\n"
          "Ratios of ns/op (below 1: UltraDict is faster)\n"
          "%-17s %12s %12s %12s %11s %9s\n",
          "benchmark", "ultradict", "hashmap", "lmdb", "ud/hashmap",
          "ud/lmdb");
  auto cell = [](const Result* r) {
    return r == nullptr ? std::string("n/a")
                        : absl::StrFormat("%.1f", r->ns_per_op);
  };
  for (const std::string& b : benchmarks) {
    const Result* ud = Find(results, "ultradict", b);
    const Result* hm = Find(results, "hashmap", b);
    const Result* lm = Find(results, "lmdb", b);
    const Result* ref = hm;
    bool starred = false;
    if (IsPutBenchmark(b) && Find(results, "hashmap", "overwrite") != nullptr) {
      ref = Find(results, "hashmap", "overwrite");
      starred = true;
    }
    auto ratio = [&](const Result* base) {
      return ud == nullptr || base == nullptr || base->ns_per_op <= 0
                 ? std::string("n/a")
                 : absl::StrFormat("%.2f", ud->ns_per_op / base->ns_per_op);
    };
    fprintf(g_report, "%-17s %12s %12s %12s %10s%s %9s\n", b.c_str(),
            cell(ud).c_str(), cell(hm).c_str(), cell(lm).c_str(),
            ratio(ref).c_str(), starred ? "*" : " ", ratio(lm).c_str());
  }
  fprintf(g_report,
          "* puts are compared with hashmap overwrite (no rehashing)\n");
  fflush(g_report);
}

// A number of the JSON report, to 0.001 (the text report shows 0.1).
double Round3(double x) { return std::round(x * 1000) / 1000; }

// The --json document: keys documented in doc/benchmarks.md (an interface:
// added to, never renamed).
void PrintJson(const BenchParams& p, const std::vector<Result>& results) {
  using Json = nlohmann::ordered_json;
  bool optimized = false, assertions = true;
#if defined(__OPTIMIZE__)
  optimized = true;
#endif
#ifdef NDEBUG
  assertions = false;
#endif
  Json doc;
  doc["date"] = static_cast<int64_t>(time(nullptr));
  doc["cpu"] = CpuModel();
  doc["cores"] = NumCpus();
  doc["key_size"] = p.key_size;
  doc["value_size"] = p.value_size;
  doc["entries"] = p.num;
  doc["reads"] = p.reads;
  doc["procs"] = p.procs;
  doc["writer_rate"] = p.writer_rate;
  doc["threads"] = p.threads;
  doc["compression"] = p.config.compression;
  doc["optimized"] = optimized;
  doc["assertions"] = assertions;
  Json& items = doc["results"];
  items = Json::array();
  for (const Result& r : results) {
    Json item;
    item["engine"] = r.engine;
    item["benchmark"] = r.benchmark;
    item["skipped"] = r.skipped;
    if (!r.skipped) {
      item["ns_per_op"] = Round3(r.ns_per_op);
      item["mb_per_s"] = Round3(r.mb_per_s);
      item["ops_per_s"] = Round3(r.ops_per_s);
      item["ops"] = r.ops;
    }
    if (r.has_percentiles) {
      item["p50_ns"] = r.latency.p50;
      item["p99_ns"] = r.latency.p99;
      item["p999_ns"] = r.latency.p999;
      item["max_ns"] = r.latency.max;
    }
    item["note"] = r.note;
    items.push_back(std::move(item));
  }
  const std::string text =
      doc.dump(1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
  printf("%s\n", text.c_str());
  fflush(stdout);
}

int Main() {
  BenchParams p;
  p.num = static_cast<uint64_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_num)));
  p.key_size = static_cast<size_t>(absl::GetFlag(FLAGS_key_size));
  p.value_size = static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_value_size)));
  int64_t reads = absl::GetFlag(FLAGS_reads);
  p.reads = reads < 0 ? p.num : static_cast<uint64_t>(reads);
  p.procs = std::max(1, absl::GetFlag(FLAGS_procs));
  p.writer_rate = std::max<int64_t>(0, absl::GetFlag(FLAGS_writer_rate));
  p.threads = std::max(1, absl::GetFlag(FLAGS_threads));
  p.rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  p.attach_runs = std::max(1, absl::GetFlag(FLAGS_attach_runs));
  p.histogram = absl::GetFlag(FLAGS_histogram);
  p.config.log_size = static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_log_size)));
  p.config.compression = absl::GetFlag(FLAGS_compression);
  int64_t map_size = absl::GetFlag(FLAGS_lmdb_map_size);
  p.config.lmdb_map_size =
      map_size > 0 ? static_cast<size_t>(map_size)
                   : std::max<size_t>(size_t{1} << 30,
                                      (p.key_size + p.value_size + 64) * p.num * 4);
  if (p.key_size < 8 || p.key_size > 1024) {
    fprintf(stderr, "db_bench: --key_size must be 8..1024\n");
    return 2;
  }
  double key_space = 1;
  for (size_t i = 0; i < std::min<size_t>(p.key_size, 19); ++i) key_space *= 10;
  if (static_cast<double>(p.num) * 2 > key_space) {
    fprintf(stderr, "db_bench: --num too large for --key_size\n");
    return 2;
  }

  EngineKind kind;
  std::string engine_flag = absl::GetFlag(FLAGS_engine);

  if (!absl::GetFlag(FLAGS_helper).empty()) {
    HelperArgs args;
    args.mode = absl::GetFlag(FLAGS_helper);
    if (!ParseEngineKind(engine_flag, &kind)) return 2;
    args.kind = kind;
    args.location = absl::GetFlag(FLAGS_helper_location);
    args.index = absl::GetFlag(FLAGS_helper_index);
    args.result_fd = absl::GetFlag(FLAGS_helper_result_fd);
    args.go_fd = absl::GetFlag(FLAGS_helper_go_fd);
    args.stop_fd = absl::GetFlag(FLAGS_helper_stop_fd);
    return RunHelper(args, p);
  }

  std::vector<EngineKind> kinds;
  if (engine_flag == "all") {
    kinds = {EngineKind::kUltraDict, EngineKind::kHashMap, EngineKind::kLmdb};
  } else if (ParseEngineKind(engine_flag, &kind)) {
    kinds = {kind};
  } else {
    fprintf(stderr, "db_bench: unknown --engine=%s (ultradict, hashmap, lmdb, "
                    "all)\n", engine_flag.c_str());
    return 2;
  }
  std::vector<std::string> benchmarks;
  for (absl::string_view b :
       absl::StrSplit(absl::GetFlag(FLAGS_benchmarks), ',', absl::SkipEmpty())) {
    benchmarks.emplace_back(b);
  }
  p.config.prefix = absl::GetFlag(FLAGS_db_prefix);
  if (p.config.prefix.empty()) {
    p.config.prefix = absl::StrCat("dbbench-", getpid());
  }

  if (absl::GetFlag(FLAGS_json)) g_report = stderr;
  signal(SIGPIPE, SIG_IGN);
  InstallCleanupHandlers();

  int instance = 0;
  std::vector<std::unique_ptr<Runner>> runners;
  std::vector<std::string> descriptions;
  for (EngineKind k : kinds) {
    runners.push_back(std::make_unique<Runner>(k, p, &instance));
    descriptions.push_back(runners.back()->Describe());
    runners.back()->Close();
  }
  PrintHeader(p, descriptions);

  std::vector<Result> results;
  int status = 0;
  for (auto& runner : runners) {
    for (const std::string& b : benchmarks) {
      absl::StatusOr<Result> r = runner->Run(b);
      if (!r.ok()) {
        fprintf(stderr, "db_bench: %s\n", r.status().ToString().c_str());
        status = 1;
        break;
      }
      PrintResult(*r);
      results.push_back(std::move(*r));
    }
    runner->Close();  // Frees memory and /dev/shm before the next engine.
    if (status != 0) break;
  }
  if (status == 0 && kinds.size() > 1) PrintRatios(results, benchmarks);
  if (absl::GetFlag(FLAGS_json)) PrintJson(p, results);
  return status;
}

}  // namespace
}  // namespace bench
}  // namespace ultradict

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "LevelDB-style performance runs of UltraDict, with an in-process "
      "absl::flat_hash_map and LMDB as baselines in the same run.\n\n"
      "  db_bench [--engine=ultradict|hashmap|lmdb|all] [--benchmarks=a,b,c] "
      "[--num=N] [--histogram] [--json]\n\n"
      "Benchmarks: fillseq, fillrandom, overwrite, readrandom, readmissing, "
      "readhot, readseq, deleterandom, fillbatch, readwhilewriting, "
      "attachwrites, compact, attach, mpwrite, mpread, propagation (see doc/benchmarks.md). Build "
      "with -c opt: bazel run -c opt //benchmarks:db_bench -- --engine=all");
  absl::ParseCommandLine(argc, argv);
  return ultradict::bench::Main();
}
