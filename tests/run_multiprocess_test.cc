// run_multiprocess_test.cc: the sorted runs of a log (db/log_run.h) as
// other processes read them, and as a writer killed amid building one
// leaves them.
//
// Every write stays in one log (Options::log_size 64 MiB, no compression:
// a log holding a compressed record gets no run) past kMinRunEntries
// (65536) entries, so the writer's background thread builds and publishes
// runs. The test binary re-execs itself (/proc/self/exe, --child=<role>;
// see subprocess.h).
//
// RunMultiprocessTest.ReadersAtDifferentHeads: a writer child
// (--child=overwriter) applies op i = 0, 1, ... : key perm[i % N] (a fixed
// permutation of N keys) at version i / N, a Put of "key:version:..." or,
// for some keys at some versions, a Delete. Reader children
// (--child=scanner) keep several iterators made at different times, so at
// different heads, and walk them a chunk at a time, interleaved, while runs
// are published; one iterator made at the start, and one made when the
// first run is seen, are walked only at the end. Each scan must be the
// state after some prefix of the writer's ops: keys strictly increasing,
// every value its key's, and one point P (the number of ops applied) that
// explains every key's version and every absent key (the interval of
// possible P, narrowed by each key, stays non-empty); a scan made later
// is at a P no smaller, and sees no key at an older version. The
// "ultradict.log-run" property, read before each iterator is made, counts
// the scans that read a run: the test fails when none did.
//
// RunCrashTest.KilledWhileBuildingRuns: rounds of a writer child
// (--child=writer) SIGKILLed at a random time, or as soon as the harness
// sees it claim bytes of the run area for a run it has not published yet
// (it watches the area's `claimed` word through its own read-only mapping
// of the log segment). The writer writes its own sequence of Puts and
// Deletes and stores the count acknowledged in a shared file after each.
// After each kill the harness checks the run area (a claim left
// unpublished is counted), runs `ultradict verify` (records, index, and
// the newest run against the records), and starts a checker child
// (--child=checker) that opens the dictionary and:
//  - sees through "ultradict.log-run" exactly the run published in the
//    area's `current` word (never the one claimed and left);
//  - iterates: the scan equals the model of every acknowledged op (the
//    op in flight at the kill may or may not be there);
//  - writes until the next run is due and waits for it to be published
//    (past the leftover bytes), then iterates again against the model.
// Then the harness checks that a new run lies past the bytes left claimed,
// and (every third round) runs `ultradict verify` again. 40 rounds or 15 s
// (6 rounds or 75 s under a sanitizer); targeted rounds go on past that (up
// to twice as long) until a kill has left a claim unpublished.
//
// Length: about 20 s in all by default (the overwriter's ops spread over
// 2.5 s, the crash case's 15 s: sized for CI, which runs this test in three
// builds). RUN_MULTIPROCESS_SCALE=<n> makes both n times as long (the
// overwriter's pacing, and the crash case's rounds and time; under a
// sanitizer the overwriter is unpaced), for a longer run by hand: `bazel
// test --test_env=RUN_MULTIPROCESS_SCALE=10 //tests:run_multiprocess_test`.
// RUN_CRASH_SEED=<seed> (printed in the summary) replays the crash case's
// random choices.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "db/log_format.h"
#include "db/log_index_format.h"
#include "db/log_reader.h"
#include "db/log_run_format.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/sanitized_build.h"
#include "tests/subprocess.h"
#include "tests/testutil.h"
#include "ultradict/db.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/strings.h"

namespace ultradict {
namespace {

using testing::Child;

// Loops for load scale down with this under a sanitizer (5-20x slower).
constexpr int kScale = testing::kSanitizedBuild ? 5 : 1;
constexpr int64_t kChildTimeoutMs = 240 * 1000;
// The first run of a log is due at this many entries (db/generation.h).
constexpr uint32_t kMinRunEntries = 65536;

// RUN_MULTIPROCESS_SCALE (see the top): how many times the default length
// the cases run; 0 when it is set to something else than a number >= 1.
int64_t LengthScale() {
  const char* env = std::getenv("RUN_MULTIPROCESS_SCALE");
  if (env == nullptr) return 1;
  int64_t scale;
  return absl::SimpleAtoi(env, &scale) && scale >= 1 ? scale : 0;
}

// Key k, in the order of k.
std::string Key(int k) { return absl::StrCat("key", 1000000 + k); }

// k of Key(k); -1 when `key` is not one.
int KeyIndex(std::string_view key, int keys) {
  int k;
  if (key.size() != 10 || key.substr(0, 3) != "key" ||
      !absl::SimpleAtoi(AsAbsl(key.substr(3)), &k) || k < 1000000 ||
      k - 1000000 >= keys) {
    return -1;
  }
  return k - 1000000;
}

// A value naming its key and two numbers, of varying length.
std::string Value(int k, int64_t a, int64_t b) {
  std::string v = absl::StrCat(Key(k), ":", a, ":", b, ":");
  const size_t size = 24 + static_cast<size_t>((a * 7 + b * 3 + k) % 17);
  while (v.size() < size) v.push_back(static_cast<char>('a' + v.size() % 23));
  return v;
}

// (a, b) of a value of key k; false when it is not exactly Value(k, a, b).
bool ParseValue(int k, std::string_view value, int64_t* a, int64_t* b) {
  std::vector<std::string> parts =
      absl::StrSplit(AsAbsl(value), absl::MaxSplits(':', 3));
  return parts.size() == 4 && parts[0] == Key(k) &&
         absl::SimpleAtoi(parts[1], a) && absl::SimpleAtoi(parts[2], b) &&
         Value(k, *a, *b) == value;
}

bool StdinClosed() {
  pollfd p{0, POLLIN, 0};
  return poll(&p, 1, 0) == 1;  // Readable: EOF (nothing is ever sent).
}

void WaitForStdinToClose() {
  char c;
  while (read(0, &c, 1) > 0) {
  }
}

Options TestOptions() {
  Options options;
  options.log_size = size_t{64} << 20;  // One log: runs get built.
  options.create_if_missing = false;
  options.write_lock_timeout_ms = 60 * 1000;
  return options;
}

// "ultradict.log-run", parsed: "keys K, entries N, records below E of H".
struct RunInfo {
  bool damaged = false;
  bool found = false;
  uint64_t keys = 0, entries = 0, end = 0, head = 0;
};
RunInfo ReadRunProperty(DB* db) {
  RunInfo info;
  std::string text;
  if (!db->GetProperty("ultradict.log-run", &text) || text == "damaged") {
    info.damaged = true;
    return info;
  }
  if (text == "none") return info;
  std::vector<std::string> f =
      absl::StrSplit(text, absl::ByAnyChar(" ,"), absl::SkipEmpty());
  // keys K entries N records below E of H
  info.found = f.size() == 9 && absl::SimpleAtoi(f[1], &info.keys) &&
               absl::SimpleAtoi(f[3], &info.entries) &&
               absl::SimpleAtoi(f[6], &info.end) &&
               absl::SimpleAtoi(f[8], &info.head);
  info.damaged = !info.found;
  return info;
}

// The index entries of the current log ("ultradict.log-index": "keys K,
// nodes N of C, ..."); 0 when unknown.
uint64_t IndexNodes(DB* db) {
  std::string text;
  if (!db->GetProperty("ultradict.log-index", &text)) return 0;
  const size_t at = text.find("nodes ");
  uint64_t nodes = 0;
  if (at == std::string::npos ||
      !absl::SimpleAtoi(text.substr(at + 6, text.find(' ', at + 6) - at - 6),
                        &nodes)) {
    return 0;
  }
  return nodes;
}

std::string Generation(DB* db) {
  std::string gen;
  return db->GetProperty("ultradict.generation", &gen) ? gen : "?";
}

// The run area of a log segment (db/log_run_format.h), mapped read-only to
// see claims and publications as they happen, without opening the
// dictionary.
class RunAreaView {
 public:
  RunAreaView() = default;
  RunAreaView(const RunAreaView&) = delete;
  RunAreaView& operator=(const RunAreaView&) = delete;
  ~RunAreaView() { Close(); }

  // Maps the log of generation `gen` of `name`, or its newest log for -1
  // (a compactor that died between naming its log and publishing it
  // leaves a newer one); false when there is none (or it does not parse).
  bool Open(const std::string& name, int64_t gen = -1) {
    Close();
    auto files = port::ListDirectory(port::SegmentDirectory(""));
    if (!files.ok()) return false;
    const std::string prefix = absl::StrCat("ud.", name, ".");
    int64_t newest = -1;
    for (const std::string& f : *files) {
      int64_t g;
      if (!absl::StartsWith(f, prefix) || !absl::EndsWith(f, ".log")) continue;
      const std::string rest = f.substr(prefix.size());
      if (!absl::SimpleAtoi(rest.substr(0, rest.find('.')), &g)) continue;
      if (gen >= 0 ? g == gen : g > newest) {
        newest = g;
        path_ = absl::StrCat(port::SegmentDirectory(""), "/", f);
      }
    }
    if (newest < 0) return false;
    const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    void* map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
      map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                 MAP_SHARED, fd, 0);
    }
    close(fd);
    if (map == MAP_FAILED) return false;
    map_ = static_cast<const char*>(map);
    map_size_ = static_cast<size_t>(st.st_size);
    log::Header h;
    if (!log::ParseHeader(map_, map_size_, path_, &h).ok()) {
      Close();
      return false;
    }
    const size_t runs_at = log::RunAreaOffset(
        log::IndexOffset(log::kHeaderSize, h.record_capacity),
        log::IndexSize(h.node_capacity, h.first_slot_bits, h.max_slot_bits));
    area_ = map_ + runs_at;
    area_size_ = log::RunAreaSize(h.node_capacity);
    return runs_at + area_size_ == map_size_;
  }

  const std::string& path() const { return path_; }

  // The area offset past the bytes claimed so far.
  uint64_t ClaimedEnd() const {
    return log::kRunAreaHeaderSize + Word(log::kRunClaimedOffset);
  }
  // The newest published run: its end (a head offset; 0 when none), and
  // the area offsets of its bytes [*start, *bytes_end) (both
  // kRunAreaHeaderSize when none).
  void Published(uint64_t* end, uint64_t* start, uint64_t* bytes_end) const {
    *end = 0;
    *start = *bytes_end = log::kRunAreaHeaderSize;
    const uint64_t current = Word(log::kRunCurrentOffset);
    if (current == 0 || current - 1 + log::kRunHeaderSize > area_size_) return;
    *start = current - 1;
    const char* h = area_ + current - 1;
    const uint64_t count = DecodeFixed32(h + log::kRunCountOffset);
    *end = DecodeFixed32(h + log::kRunEndOffset);
    *bytes_end = current - 1 +
                 ((log::kRunHeaderSize + count * log::kRunEntrySize + 63) &
                  ~uint64_t{63});
  }
  // What the bytes at area offset `at` hold: a run's magic (its entries
  // were written: the header follows them), and a whole header (its
  // checksum holds: only the compare-and-swap of `current` was left).
  void Leftover(uint64_t at, bool* magic, bool* whole) const {
    *magic = *whole = false;
    if (at + log::kRunHeaderSize > area_size_) return;
    const char* h = area_ + at;
    *magic = DecodeFixed64(h) == log::kRunMagic;
    *whole = *magic && DecodeFixed32(h + log::kRunHeaderChecksumOffset) ==
                           Checksum32(h, log::kRunHeaderChecksumOffset);
  }

 private:
  uint64_t Word(size_t offset) const {
    return reinterpret_cast<const std::atomic<uint64_t>*>(area_ + offset)
        ->load(std::memory_order_acquire);
  }
  void Close() {
    if (map_ != nullptr) munmap(const_cast<char*>(map_), map_size_);
    map_ = area_ = nullptr;
    map_size_ = area_size_ = 0;
  }

  std::string path_;
  const char* map_ = nullptr;
  size_t map_size_ = 0;
  const char* area_ = nullptr;
  size_t area_size_ = 0;
};

// ---------------------------------------------------------------------------
// ReadersAtDifferentHeads: the writer's ops and the readers' checks.

// The overwriter's keys: op i is key Perm()[i % kKeys] at version i / kKeys.
constexpr int kKeys = 20000;
constexpr int kStride = 7919;  // Prime, so i -> i * kStride % kKeys permutes.

struct Order {
  std::vector<int> perm, pos;  // pos[perm[i]] == i
  Order() : perm(kKeys), pos(kKeys) {
    for (int i = 0; i < kKeys; i++) {
      perm[i] = static_cast<int>(int64_t{i} * kStride % kKeys);
      pos[perm[i]] = i;
    }
  }
};

// Whether version v of key k is a Delete (runs list deletions too).
constexpr bool MayBeDeleted(int k) { return k % 7 == 3; }
bool Deleted(int k, int64_t v) { return v % 3 == 2 && MayBeDeleted(k); }
static_assert(!MayBeDeleted(kKeys - 1),
              "every scan covers a key never deleted");

int ChildOverwriter(const std::map<std::string, std::string>& args) {
  auto db = DB::Open(TestOptions(), args.at("name"));
  int64_t ops = 0, millis = 0;
  if (!db.ok() || !absl::SimpleAtoi(args.at("ops"), &ops) ||
      !absl::SimpleAtoi(args.at("millis"), &millis)) {
    return 2;
  }
  const Order order;
  const auto start = std::chrono::steady_clock::now();
  std::string generation;
  int64_t i = 0;
  for (; i < ops; i++) {
    if (i % 1024 == 0) {
      if (StdinClosed()) break;
      // Paced over `millis`, so that readers scan all along.
      const auto due = start + std::chrono::milliseconds(i * millis / ops);
      std::this_thread::sleep_until(due);
    }
    const int k = order.perm[i % kKeys];
    const int64_t v = i / kKeys;
    absl::Status s = Deleted(k, v) ? (*db)->Delete(Key(k))
                                   : (*db)->Put(Key(k), Value(k, v, 0));
    if (!s.ok()) {
      std::fprintf(stderr, "overwriter: %s\n", s.ToString().c_str());
      return 1;
    }
    if (i == 0) generation = Generation(db->get());
  }
  // The generation its ops went to (all to one log: no compaction).
  testing::WriteAll(testing::kReportFd,
                    absl::StrCat("wrote ", i, " ", generation, "\n"));
  WaitForStdinToClose();
  return 0;
}

// One iterator of a scanner, walked a chunk at a time.
struct Scan {
  std::unique_ptr<Iterator> it;
  int from = 0;                  // It covers keys from here on (Seek).
  bool had_run = false;          // The property showed a run when it was made.
  std::vector<int64_t> version;  // Per key: -1 when not seen.
  int last = -1;                 // The last key seen.
  int64_t entries = 0;
  bool done = false;
};

// Checks scans against the writer's ops (see the top of the file).
class ScanChecker {
 public:
  ScanChecker() : seen_(kKeys, -1) {}

  // Walks up to n entries of `scan`; false (and *bad) on a wrong one.
  bool Step(Scan* scan, int n, std::string* bad) {
    for (int i = 0; i < n && !scan->done; i++) {
      if (!scan->it->Valid()) {
        scan->done = true;
        if (!scan->it->status().ok()) {
          *bad = absl::StrCat("iterator: ", scan->it->status().ToString());
          return false;
        }
        break;
      }
      const int k = KeyIndex(scan->it->key(), kKeys);
      int64_t v, zero;
      if (k < scan->from || k <= scan->last) {
        *bad = absl::StrCat("key ", AsAbsl(scan->it->key()), " after key ",
                            scan->last, " (from ", scan->from, ")");
        return false;
      }
      if (!ParseValue(k, scan->it->value(), &v, &zero) || zero != 0 || v < 0 ||
          Deleted(k, v)) {
        *bad = absl::StrCat(Key(k), " holds ",
                            AsAbsl(scan->it->value().substr(0, 40)));
        return false;
      }
      scan->version[k] = v;
      scan->last = k;
      scan->entries++;
      scan->it->Next();
    }
    return true;
  }

  // A whole scan: the state after P ops for one P. `ordered`: made after
  // the scans checked before with ordered (so at a P no smaller).
  bool Check(const Scan& scan, bool ordered, std::string* bad) {
    const int64_t n = kKeys;
    int64_t lo = 0, hi = INT64_MAX;
    bool any = false;
    for (int k = scan.from; k < kKeys; k++) {
      if (scan.version[k] < 0) continue;
      // Present at version v: op t = v * n + pos[k] applied, the next not.
      const int64_t t = scan.version[k] * n + order_.pos[k];
      lo = std::max(lo, t + 1);
      hi = std::min(hi, t + n);
      any = true;
    }
    if (!any) {
      // Before the first op of every key it covers that is never deleted
      // (the last key is one: every scan covers one).
      for (int k = scan.from; k < kKeys; k++) {
        if (!MayBeDeleted(k)) hi = std::min<int64_t>(hi, order_.pos[k]);
      }
    }
    if (lo > hi) {
      *bad = absl::StrCat("versions of no single point (", lo, " > ", hi, ")");
      return false;
    }
    // Absent keys: within [lo, hi] (shorter than n) each key has at most
    // one op, at t; absent before it when its state at lo is absent, after
    // it when the op is a Delete.
    for (int k = scan.from; k < kKeys; k++) {
      if (scan.version[k] >= 0) continue;
      const int64_t p = order_.pos[k];
      const int64_t applied = lo > p ? (lo - p - 1) / n + 1 : 0;
      const bool absent_at_lo = applied == 0 || Deleted(k, applied - 1);
      const int64_t t = p + applied * n;  // Its first op not applied at lo.
      const bool op_in = t < hi;
      const bool before = absent_at_lo;                 // P in [lo, t]
      const bool after = op_in && Deleted(k, applied);  // P in [t + 1, hi]
      if (!op_in) {
        if (!absent_at_lo) {
          *bad = absl::StrCat(Key(k), " missing at ops ", lo, "..", hi);
          return false;
        }
      } else if (before && !after) {
        hi = t;
      } else if (after && !before) {
        lo = t + 1;
      } else if (!before && !after) {
        *bad = absl::StrCat(Key(k), " missing at ops ", lo, "..", hi);
        return false;
      }
    }
    if (!ordered) return true;
    if (hi < max_lo_) {
      *bad = absl::StrCat("a scan at ops ", lo, "..", hi,
                          " after one at ops >= ", max_lo_);
      return false;
    }
    for (int k = scan.from; k < kKeys; k++) {
      if (scan.version[k] < 0) continue;
      if (scan.version[k] < seen_[k]) {
        *bad = absl::StrCat(Key(k), " at version ", scan.version[k],
                            " after version ", seen_[k]);
        return false;
      }
      seen_[k] = scan.version[k];
    }
    max_lo_ = std::max(max_lo_, lo);
    return true;
  }

 private:
  const Order order_;
  std::vector<int64_t> seen_;  // Per key: the newest version seen.
  int64_t max_lo_ = 0;
};

int ChildScanner(const std::map<std::string, std::string>& args) {
  auto db = DB::Open(TestOptions(), args.at("name"));
  if (!db.ok()) return 2;
  constexpr int kLive = 3;      // Iterators walked at once.
  constexpr int kChunk = 1500;  // Entries of each per step.
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  ScanChecker checker;
  int64_t scans = 0, run_scans = 0, seeks = 0;
  uint64_t most_from_run = 0;  // Of the head, in per mille.
  std::string bad;
  auto make_scan = [&](bool seek) {
    auto scan = std::make_unique<Scan>();
    const RunInfo run = ReadRunProperty(db->get());
    if (run.damaged) bad = "log-run property: damaged";
    scan->had_run = run.found;
    if (run.found && run.head > 0) {
      most_from_run = std::max(most_from_run, run.end * 1000 / run.head);
    }
    scan->it = (*db)->NewIterator();
    scan->version.assign(kKeys, -1);
    if (seek) {
      scan->from = static_cast<int>(rng() % kKeys);
      scan->it->Seek(Key(scan->from));
    } else {
      scan->it->SeekToFirst();
    }
    return scan;
  };
  // Pinned at old heads, walked one entry per step and finished at the
  // end: one made at the first scan that sees entries, one at the first
  // scan that reads a run.
  std::vector<std::unique_ptr<Scan>> pinned;
  bool pinned_early = false, pinned_at_run = false;
  std::deque<std::unique_ptr<Scan>> live;
  while (bad.empty() && !StdinClosed()) {
    if (live.size() < kLive) {
      const bool seek = scans % 4 == 3;
      live.push_back(make_scan(seek));
      scans++;
      seeks += seek;
      run_scans += live.back()->had_run;
      if (!pinned_early && live.back()->it->Valid()) {
        pinned.push_back(make_scan(false));
        pinned_early = true;
      }
      if (!pinned_at_run && live.back()->had_run) {
        pinned.push_back(make_scan(false));
        pinned_at_run = true;
      }
    }
    for (auto& scan : live) {
      if (!checker.Step(scan.get(), kChunk, &bad)) break;
    }
    for (auto& scan : pinned) {
      if (bad.empty()) checker.Step(scan.get(), 1, &bad);
    }
    // In the order they were made (so at heads in order).
    while (bad.empty() && !live.empty() && live.front()->done) {
      checker.Check(*live.front(), /*ordered=*/true, &bad);
      live.pop_front();
    }
  }
  int64_t pinned_entries = 0;
  for (auto& scan : pinned) {
    while (bad.empty() && !scan->done) checker.Step(scan.get(), kChunk, &bad);
    if (bad.empty()) checker.Check(*scan, /*ordered=*/false, &bad);
    pinned_entries += scan->entries;
  }
  const std::string report =
      bad.empty()
          ? absl::StrCat("ok ", scans, " ", run_scans, " ", seeks, " ",
                         pinned.size(), " ", pinned_entries, " ", most_from_run)
          : absl::StrCat("bad ", bad);
  testing::WriteAll(testing::kReportFd, report + "\n");
  return bad.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------
// KilledWhileBuildingRuns: the writers' ops, the model and the checker.

constexpr int kCrashKeys = 50000;

// Op s (1, 2, ...) of writer w: its key, and whether it is a Delete.
int CrashKey(int64_t w, int64_t s) {
  return static_cast<int>((s * 7919 + w * 104729) % kCrashKeys);
}
bool CrashDeleted(int64_t w, int64_t s) { return (s + w) % 11 == 0; }

// The last op applied to a key: writer w's op s (w == 0: never written).
// Present with Value(k, w, s) unless that op is a Delete.
struct KeyState {
  int32_t w = 0;
  int32_t s = 0;
};
bool Absent(const KeyState& st) {
  return st.w == 0 || CrashDeleted(st.w, st.s);
}
using Model = std::vector<KeyState>;

// Applies writer w's ops [from, to] to the model.
void ApplyOps(int64_t w, int64_t from, int64_t to, Model* model) {
  for (int64_t s = from; s <= to; s++) {
    (*model)[CrashKey(w, s)] = {static_cast<int32_t>(w),
                                static_cast<int32_t>(s)};
  }
}

bool SaveModel(const Model& model, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(model.data()),
            static_cast<std::streamsize>(model.size() * sizeof(KeyState)));
  return out.good();
}

bool LoadModel(const std::string& path, Model* model) {
  model->assign(kCrashKeys, KeyState());
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(model->data()),
          static_cast<std::streamsize>(model->size() * sizeof(KeyState)));
  return in.good();
}

// A counter in a small file that several processes map: the writer's
// acknowledged ops (stored after each op returned OK).
class SharedCounter {
 public:
  SharedCounter() = default;
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;
  ~SharedCounter() {
    if (map_ != nullptr) munmap(map_, kSize);
  }
  bool Open(const std::string& path) {
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    const bool sized = ftruncate(fd, kSize) == 0;
    void* map =
        sized ? mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
              : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) return false;
    map_ = map;
    return true;
  }
  std::atomic<int64_t>& value() {
    return *static_cast<std::atomic<int64_t>*>(map_);
  }

 private:
  static constexpr size_t kSize = 4096;
  void* map_ = nullptr;
};

// Writes ops 1, 2, ... of writer --w until it is killed (or its stdin
// closes), storing the count acknowledged in the --acks file after each.
int ChildWriter(const std::map<std::string, std::string>& args) {
  SharedCounter acked;
  int64_t w = 0;
  if (!acked.Open(args.at("acks")) || !absl::SimpleAtoi(args.at("w"), &w)) {
    return 2;
  }
  auto db = DB::Open(TestOptions(), args.at("name"));
  if (!db.ok()) {
    std::fprintf(stderr, "writer: open: %s\n", db.status().ToString().c_str());
    return 2;
  }
  for (int64_t s = 1;; s++) {
    if (s % 4096 == 0 && StdinClosed()) return 0;
    const int k = CrashKey(w, s);
    absl::Status st = CrashDeleted(w, s) ? (*db)->Delete(Key(k))
                                         : (*db)->Put(Key(k), Value(k, w, s));
    if (!st.ok()) {
      std::fprintf(stderr, "writer: %s\n", st.ToString().c_str());
      return 1;
    }
    acked.value().store(s, std::memory_order_release);
  }
}

// Whether an entry read (or its absence: value null) is key k at `st`.
bool Holds(int k, const std::string_view* value, const KeyState& st) {
  if (value == nullptr) return Absent(st);
  int64_t w, s;
  return !Absent(st) && ParseValue(k, *value, &w, &s) && w == st.w && s == st.s;
}

// Iterates all of db against the model. Key `uncertain` may also be at
// `alt` (the op in flight when its writer was killed): *landed says which
// it was. Empty when the scan matches, else what is wrong.
std::string ScanAgainstModel(DB* db, const Model& model, int uncertain,
                             const KeyState& alt, bool* landed) {
  *landed = false;
  std::unique_ptr<Iterator> it = db->NewIterator();
  int next = 0;  // Keys below it were checked.
  auto check = [&](int k, const std::string_view* value) -> std::string {
    if (Holds(k, value, model[k])) return "";
    if (k == uncertain && Holds(k, value, alt)) {
      *landed = true;
      return "";
    }
    return absl::StrCat(Key(k), value == nullptr ? " missing" : " holds ",
                        value == nullptr ? "" : AsAbsl(value->substr(0, 40)),
                        " (model: writer ", model[k].w, " op ", model[k].s,
                        ")");
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const int k = KeyIndex(it->key(), kCrashKeys);
    if (k < next) {
      return absl::StrCat("key ", AsAbsl(it->key()), " after ", Key(next - 1));
    }
    for (; next < k; next++) {
      std::string bad = check(next, nullptr);
      if (!bad.empty()) return bad;
    }
    const std::string_view value = it->value();
    std::string bad = check(k, &value);
    if (!bad.empty()) return bad;
    next = k + 1;
  }
  if (!it->status().ok()) return it->status().ToString();
  for (; next < kCrashKeys; next++) {
    std::string bad = check(next, nullptr);
    if (!bad.empty()) return bad;
  }
  return "";
}

// The index entries at which the run after one of `entries` is due
// (db/generation.h, NextRunAt).
uint64_t NextRunAt(uint64_t entries) {
  return entries + std::max<uint64_t>(entries / 4, kMinRunEntries);
}

#define CHECKER_CHECK(cond, ...)                                  \
  do {                                                            \
    if (!(cond)) {                                                \
      testing::WriteAll(testing::kReportFd,                       \
                        absl::StrCat("bad ", __VA_ARGS__, "\n")); \
      return 1;                                                   \
    }                                                             \
  } while (0)

// After writer --uw was killed having acknowledged ops below --us: checks
// that the run an iterator reads is the one published in the run area,
// scans against the --model file, writes as writer --w until the next run
// is due, waits for it (at most --max_wait_ms), and scans again. Reports
// "ok <landed> <ops> <new run> <generation changed>".
int ChildChecker(const std::map<std::string, std::string>& args) {
  int64_t w, uw, us, max_wait_ms, gen;
  if (!absl::SimpleAtoi(args.at("w"), &w) ||
      !absl::SimpleAtoi(args.at("uw"), &uw) ||
      !absl::SimpleAtoi(args.at("us"), &us) ||
      !absl::SimpleAtoi(args.at("max_wait_ms"), &max_wait_ms)) {
    return 2;
  }
  Model model;
  CHECKER_CHECK(LoadModel(args.at("model"), &model), "model file");
  auto db = DB::Open(TestOptions(), args.at("name"));
  CHECKER_CHECK(db.ok(), "open: ", db.status().ToString());
  // The run an iterator reads is the one the area's `current` word names
  // (this process is alone: nothing is built meanwhile).
  const std::string generation = Generation(db->get());
  const RunInfo before = ReadRunProperty(db->get());
  CHECKER_CHECK(!before.damaged, "log-run property: damaged");
  RunAreaView area;
  uint64_t published = 0, start, bytes_end;
  if (absl::SimpleAtoi(generation, &gen) && area.Open(args.at("name"), gen)) {
    area.Published(&published, &start, &bytes_end);
  }
  CHECKER_CHECK((before.found ? before.end : 0) == published,
                "the run read ends at ", before.end, ", the one published at ",
                published);
  // The killed writer's acknowledged ops, and maybe the one in flight.
  const int uncertain = CrashKey(uw, us);
  bool landed = false;
  std::string bad = ScanAgainstModel(
      db->get(), model, uncertain,
      {static_cast<int32_t>(uw), static_cast<int32_t>(us)}, &landed);
  CHECKER_CHECK(bad.empty(), "after the kill: ", bad);
  if (landed)
    model[uncertain] = {static_cast<int32_t>(uw), static_cast<int32_t>(us)};
  // Write until the next run is due (past the leftovers of the killed
  // writer's, if any).
  const uint64_t due =
      before.found ? NextRunAt(before.entries) : kMinRunEntries;
  const uint64_t nodes = IndexNodes(db->get());
  const int64_t ops = std::max<int64_t>(
      1000, due > nodes ? static_cast<int64_t>(due - nodes) + 1 : 1);
  for (int64_t s = 1; s <= ops; s++) {
    const int k = CrashKey(w, s);
    absl::Status st = CrashDeleted(w, s) ? (*db)->Delete(Key(k))
                                         : (*db)->Put(Key(k), Value(k, w, s));
    CHECKER_CHECK(st.ok(), "write: ", st.ToString());
  }
  ApplyOps(w, 1, ops, &model);
  // The background thread publishes the next run (unless a compaction
  // came first).
  RunInfo after;
  bool compacted = false, new_run = false;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(max_wait_ms);
  while (!new_run && !compacted &&
         std::chrono::steady_clock::now() < deadline) {
    after = ReadRunProperty(db->get());
    CHECKER_CHECK(!after.damaged, "log-run property: damaged");
    new_run = after.found && (!before.found || after.end > before.end);
    compacted = Generation(db->get()) != generation;
    if (!new_run) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  bool unused;
  bad = ScanAgainstModel(db->get(), model, -1, KeyState(), &unused);
  CHECKER_CHECK(bad.empty(), "after more writes: ", bad);
  testing::WriteAll(testing::kReportFd,
                    absl::StrCat("ok ", landed, " ", ops, " ", new_run, " ",
                                 compacted, "\n"));
  return 0;
}

// ---------------------------------------------------------------------------
// The harness's helpers.

// Runs `ultradict verify <name>` (it reads the segments without opening
// the dictionary); its exit code, and its output and messages in *out.
int Verify(const std::string& name, std::string* out) {
  return testing::RunTool("verify " + name, out, testing::ToolStderr::kMerge);
}

class ChildrenTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (Child& c : children_) {
      if (c.pid > 0) testing::KillAndReap(c.pid);
      testing::ClosePipes(&c);
    }
    db_.reset();
    if (!name_.empty()) DestroyDB(name_).IgnoreError();
    for (const std::string& f : extra_files_) unlink(f.c_str());
    EXPECT_TRUE(testing::LeftoverFiles(name_).empty())
        << absl::StrJoin(testing::LeftoverFiles(name_), " ");
  }

  void Create(const std::string& hint) {
    name_ = testing::UniqueName(hint);
    Options options = TestOptions();
    options.create_if_missing = true;
    auto db = DB::Open(options, name_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  // Closes the child's stdin, reads its report line (unless `report` is
  // false) and waits for it to exit 0.
  std::string Finish(Child* c, bool report = true) {
    if (c->to_child >= 0) close(c->to_child);
    c->to_child = -1;
    std::string line;
    if (report) {
      EXPECT_TRUE(testing::ReadLine(c->from_child, &line, kChildTimeoutMs));
    }
    int status = 0;
    EXPECT_TRUE(testing::WaitExit(c->pid, kChildTimeoutMs, &status));
    c->pid = -1;
    testing::ClosePipes(c);
    EXPECT_EQ(testing::DescribeStatus(status), "exit 0") << line;
    return line;
  }

  std::string name_;
  std::unique_ptr<DB> db_;
  std::vector<Child> children_;
  std::vector<std::string> extra_files_;
};

class RunMultiprocessTest : public ChildrenTest {};

TEST_F(RunMultiprocessTest, ReadersAtDifferentHeads) {
  ASSERT_NO_FATAL_FAILURE(Create("runmp"));
  // Runs at 65536, 131072 and 196608 entries (under a sanitizer unpaced,
  // the last one just reached); the log's index has 524288 nodes, and at
  // half of them a compaction is due (then runs are not built).
  // Paced over 2.5 s (unpaced under a sanitizer), while readers scan.
  const int64_t scale = LengthScale();
  ASSERT_GE(scale, 1) << "RUN_MULTIPROCESS_SCALE: a number >= 1";
  const int64_t ops = testing::kSanitizedBuild ? 200000 : 260000;
  const int64_t millis = testing::kSanitizedBuild ? 1 : 2500 * scale;
  constexpr int kReaders = 2;
  for (int r = 0; r < kReaders; r++) {
    children_.push_back(
        testing::SpawnSelf({"--child=scanner", "--name=" + name_}));
  }
  children_.push_back(testing::SpawnSelf(
      {"--child=overwriter", "--name=" + name_, absl::StrCat("--ops=", ops),
       absl::StrCat("--millis=", millis)}));
  for (const Child& c : children_) ASSERT_GT(c.pid, 0);
  std::string wrote;
  ASSERT_TRUE(
      testing::ReadLine(children_.back().from_child, &wrote, kChildTimeoutMs));
  std::vector<std::string> wrote_fields = absl::StrSplit(wrote, ' ');
  ASSERT_EQ(wrote_fields.size(), 3u) << wrote;
  ASSERT_EQ(wrote_fields[1], absl::StrCat(ops)) << wrote;
  const std::string generation = wrote_fields[2];
  // The readers go on a little at the last head (iterators made now read
  // the newest run and sort what follows it).
  std::this_thread::sleep_for(std::chrono::milliseconds(300 * kScale));
  int64_t run_scans_in_all = 0;
  for (int r = 0; r < kReaders; r++) {
    const std::string report = Finish(&children_[r]);
    SCOPED_TRACE(report);
    std::printf("reader %d: %s\n", r, report.c_str());
    std::vector<std::string> f = absl::StrSplit(report, ' ');
    ASSERT_EQ(f.size(), 7u);
    ASSERT_EQ(f[0], "ok");
    int64_t scans, run_scans, seeks, pinned, pinned_entries, from_run;
    ASSERT_TRUE(
        absl::SimpleAtoi(f[1], &scans) && absl::SimpleAtoi(f[2], &run_scans) &&
        absl::SimpleAtoi(f[3], &seeks) && absl::SimpleAtoi(f[4], &pinned) &&
        absl::SimpleAtoi(f[5], &pinned_entries) &&
        absl::SimpleAtoi(f[6], &from_run));
    EXPECT_GT(scans, 4);
    EXPECT_GT(seeks, 0);
    EXPECT_GT(pinned_entries, 0);
    run_scans_in_all += run_scans;
  }
  EXPECT_GT(run_scans_in_all, 0) << "no scan read a sorted run";
  Finish(&children_.back(), /*report=*/false);
  // All of it in one log, as meant; the last run is there.
  EXPECT_EQ(Generation(db_.get()), generation);
  const RunInfo run = ReadRunProperty(db_.get());
  EXPECT_TRUE(run.found && run.entries >= kMinRunEntries);
  // The final state, exactly: every key at its last op.
  const Order order;
  std::unique_ptr<Iterator> it = db_->NewIterator();
  it->SeekToFirst();
  for (int k = 0; k < kKeys; k++) {
    const int64_t last = (ops - 1 - order.pos[k]) / kKeys;
    if (Deleted(k, last)) continue;
    ASSERT_TRUE(it->Valid()) << Key(k) << ": " << it->status();
    ASSERT_EQ(it->key(), Key(k));
    ASSERT_EQ(it->value(), Value(k, last, 0));
    it->Next();
  }
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok()) << it->status();
}

class RunCrashTest : public ChildrenTest {
 protected:
  // A targeted kill waits at most this long for the writer to claim a run.
  static constexpr int64_t kTargetWaitMs = 2500 * kScale;
  // A random kill comes at most this long after the first acknowledged op.
  static constexpr int kMaxDelayMs = 1200;

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Create("runcrash"));
    db_.reset();  // Only the children open it.
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string dir = tmp != nullptr ? tmp : "/tmp";
    acks_path_ = absl::StrCat(dir, "/", name_, ".acks");
    model_path_ = absl::StrCat(dir, "/", name_, ".model");
    extra_files_ = {acks_path_, model_path_};
    ASSERT_TRUE(acks_.Open(acks_path_));
    model_.assign(kCrashKeys, KeyState());
  }

  int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - since)
        .count();
  }

  // Waits until the writer claims bytes of the run area of the log it
  // writes that it has not published yet (true), or kTargetWaitMs.
  bool WaitForClaim(const Child& writer) {
    RunAreaView watch;
    bool watching = watch.Open(name_);
    uint64_t claimed0 = watching ? watch.ClaimedEnd() : 0;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t polls = 1;; polls++) {
      if (watching) {
        uint64_t end, start, bytes_end;
        watch.Published(&end, &start, &bytes_end);
        const uint64_t claimed = watch.ClaimedEnd();
        if (claimed != claimed0 && claimed > bytes_end) return true;
      }
      // Sleeping between looks, this process is woken at once (the
      // writer's two threads keep both cores busy; polling without a
      // break, it is preempted for milliseconds and misses claims).
      std::this_thread::sleep_for(std::chrono::microseconds(20));
      if (polls % 256 == 0) {
        if (ElapsedMs(start) > kTargetWaitMs) return false;
        int status;
        if (testing::WaitExit(writer.pid, 0, &status)) {
          ADD_FAILURE() << "writer ended: " << testing::DescribeStatus(status);
          return false;
        }
        RunAreaView probe;  // A compaction made a new log.
        if (probe.Open(name_) && probe.path() != watch.path()) {
          watching = watch.Open(name_);
          claimed0 = watching ? watch.ClaimedEnd() : 0;
        }
      }
    }
  }

  void Round(int64_t round, bool targeted, bool verify_after_checker,
             std::mt19937_64* rng) {
    const int64_t w = 2 * round - 1;  // The writer; w + 1: the checker.
    RunAreaView before;
    const bool had_log = before.Open(name_);
    const uint64_t claimed_before = had_log ? before.ClaimedEnd() : 0;
    acks_.value().store(0);
    children_.push_back(
        testing::SpawnSelf({"--child=writer", "--name=" + name_,
                            absl::StrCat("--w=", w), "--acks=" + acks_path_}));
    Child* writer = &children_.back();
    ASSERT_GT(writer->pid, 0);
    const auto start = std::chrono::steady_clock::now();
    int status = 0;
    while (acks_.value().load() == 0) {
      ASSERT_LT(ElapsedMs(start), kChildTimeoutMs) << "no op acknowledged";
      ASSERT_FALSE(testing::WaitExit(writer->pid, 0, &status))
          << "writer ended: " << testing::DescribeStatus(status);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (targeted) {
      targeted_kills_++;
      claims_seen_ += WaitForClaim(*writer);
      ASSERT_FALSE(HasFailure());
      // A moment of the run's last steps (reserve, fill, publish: about a
      // millisecond for 50000 keys) or, once a kill left a claim, after.
      const int64_t spin_us[] = {0, 300, 3000};
      const int64_t most = spin_us[(*rng)() % (left_claims_ == 0 ? 2 : 3)];
      const auto spin = std::chrono::microseconds(
          static_cast<int64_t>((*rng)() % static_cast<uint64_t>(most + 1)));
      const auto until = std::chrono::steady_clock::now() + spin;
      while (std::chrono::steady_clock::now() < until) {
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::uniform_int_distribution<int>(0, kMaxDelayMs)(*rng)));
    }
    kill(writer->pid, SIGKILL);
    ASSERT_TRUE(testing::WaitExit(writer->pid, kChildTimeoutMs, &status));
    writer->pid = -1;
    testing::ClosePipes(writer);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "writer ended with " << testing::DescribeStatus(status);
    const int64_t acked = acks_.value().load();
    ApplyOps(w, 1, acked, &model_);
    acked_ops_ += acked;
    // What the writer left in the run area of the newest log.
    RunAreaView after;
    uint64_t run_end = 0, run_start, bytes_end, left_end = 0;
    if (after.Open(name_)) {
      after.Published(&run_end, &run_start, &bytes_end);
      const bool same_log = had_log && after.path() == before.path();
      const uint64_t claimed = after.ClaimedEnd();
      if (claimed > bytes_end && (!same_log || claimed != claimed_before)) {
        left_claims_++;
        left_end = claimed;
        bool magic, whole;
        after.Leftover(std::max(bytes_end, same_log ? claimed_before : 0),
                       &magic, &whole);
        left_filled_ += magic;
        left_whole_ += whole;
      }
    }
    runs_at_kill_ += run_end > 0;
    std::string out;
    ASSERT_EQ(Verify(name_, &out), 0) << "after the kill:\n" << out;
    ASSERT_TRUE(SaveModel(model_, model_path_));
    children_.push_back(testing::SpawnSelf(
        {"--child=checker", "--name=" + name_, absl::StrCat("--w=", w + 1),
         "--model=" + model_path_, absl::StrCat("--uw=", w),
         absl::StrCat("--us=", acked + 1),
         absl::StrCat("--max_wait_ms=", 20000 * kScale)}));
    ASSERT_GT(children_.back().pid, 0);
    const std::string report = Finish(&children_.back());
    std::vector<std::string> f = absl::StrSplit(report, ' ');
    int64_t landed, ops, new_run, compacted;
    ASSERT_TRUE(
        f.size() == 5 && f[0] == "ok" && absl::SimpleAtoi(f[1], &landed) &&
        absl::SimpleAtoi(f[2], &ops) && absl::SimpleAtoi(f[3], &new_run) &&
        absl::SimpleAtoi(f[4], &compacted))
        << "checker: " << report;
    if (landed) ApplyOps(w, acked + 1, acked + 1, &model_);
    ApplyOps(w + 1, 1, ops, &model_);
    in_flight_landed_ += landed;
    new_runs_ += new_run;
    compactions_ += compacted;
    checker_ops_ += ops;
    // A run published after a claim left in the same log lies past it.
    RunAreaView later;
    if (left_end > 0 && new_run && !compacted && later.Open(name_) &&
        later.path() == after.path()) {
      later.Published(&run_end, &run_start, &bytes_end);
      EXPECT_GE(run_start, left_end) << "a run over the bytes left claimed";
      runs_past_leftovers_++;
    }
    if (verify_after_checker) {
      ASSERT_EQ(Verify(name_, &out), 0) << "after the checker:\n" << out;
    }
  }

  std::string acks_path_, model_path_;
  SharedCounter acks_;
  Model model_;
  int64_t targeted_kills_ = 0, claims_seen_ = 0, left_claims_ = 0;
  int64_t left_filled_ = 0, left_whole_ = 0, runs_at_kill_ = 0;
  int64_t acked_ops_ = 0, in_flight_landed_ = 0, new_runs_ = 0;
  int64_t compactions_ = 0, checker_ops_ = 0, runs_past_leftovers_ = 0;
};

TEST_F(RunCrashTest, KilledWhileBuildingRuns) {
  const int64_t scale = LengthScale();
  ASSERT_GE(scale, 1) << "RUN_MULTIPROCESS_SCALE: a number >= 1";
  const int64_t rounds = (testing::kSanitizedBuild ? 6 : 40) * scale;
  const int64_t budget_ms = (testing::kSanitizedBuild ? 75000 : 15000) * scale;
  uint64_t seed = std::random_device()();
  if (const char* env = std::getenv("RUN_CRASH_SEED")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seed));
  }
  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  int64_t done = 0;
  for (;;) {
    // Past the rounds or the budget, targeted rounds go on (up to twice
    // as long) until a writer has died with a claim left unpublished.
    const bool more = done < rounds && ElapsedMs(start) < budget_ms;
    const bool extra = !more && left_claims_ == 0 && done < 2 * rounds &&
                       ElapsedMs(start) < 2 * budget_ms;
    if (!more && !extra) break;
    done++;
    Round(done, /*targeted=*/extra || done % 2 == 0,
          /*verify_after_checker=*/done % 3 == 0, &rng);
    if (HasFatalFailure()) {
      ADD_FAILURE() << "seed " << seed << ", round " << done;
      return;
    }
  }
  std::printf(
      "run crash summary: rounds=%lld targeted=%lld claims_seen=%lld "
      "left_claims=%lld (entries_written=%lld header_whole=%lld "
      "runs_published_past_them=%lld) "
      "runs_at_kill=%lld acked_ops=%lld in_flight_landed=%lld "
      "checker_ops=%lld new_runs=%lld compactions=%lld seconds=%.1f "
      "seed=%llu\n",
      static_cast<long long>(done), static_cast<long long>(targeted_kills_),
      static_cast<long long>(claims_seen_),
      static_cast<long long>(left_claims_),
      static_cast<long long>(left_filled_), static_cast<long long>(left_whole_),
      static_cast<long long>(runs_past_leftovers_),
      static_cast<long long>(runs_at_kill_), static_cast<long long>(acked_ops_),
      static_cast<long long>(in_flight_landed_),
      static_cast<long long>(checker_ops_), static_cast<long long>(new_runs_),
      static_cast<long long>(compactions_), ElapsedMs(start) / 1000.0,
      static_cast<unsigned long long>(seed));
  EXPECT_GE(done, 3);
  EXPECT_GT(runs_at_kill_, 0) << "no writer died with a run published";
  EXPECT_GT(new_runs_, 0) << "no run was published after a kill";
  EXPECT_GT(left_claims_, 0)
      << "no writer died between claiming a run's bytes and publishing it";
}

int RunChild(int argc, char** argv) {
  const auto args = testing::ParseChildArgs(argc, argv);
  const std::string& role = args.at("child");
  if (role == "overwriter") return ChildOverwriter(args);
  if (role == "scanner") return ChildScanner(args);
  if (role == "writer") return ChildWriter(args);
  if (role == "checker") return ChildChecker(args);
  std::fprintf(stderr, "unknown child role %s\n", role.c_str());
  return 3;
}

}  // namespace
}  // namespace ultradict

int main(int argc, char** argv) {
  return ultradict::testing::TestMainWithChildren(argc, argv,
                                                  &ultradict::RunChild);
}
