// crash_test.cc: writers SIGKILLed at random times and at every fault point
// never wedge the survivors and never lose or tear an acknowledged write.
//
// The harness (this process, the survivor) starts writer children (this
// binary re-exec'd with --child=writer, linked with the fault-point variant
// of the engine). A writer Puts (key, Value(key, round, seq)) for seq = 1, 2,
// ... and reports on its fd 3 every seq whose Put returned OK. The harness
// kills it either after a random 0..5 ms once it has acknowledged a write,
// or lets it kill itself at a fault point ($ULTRADICT_FAULT_POINT, after
// $ULTRADICT_FAULT_SKIP passes). Meanwhile, and after each kill, the
// survivor reads and writes; every call is timed. After each kill:
//  - every key holds the value of its last acknowledged Put, or a value that
//    the killed writer wrote later (published, killed before the ack);
//    keys it did not acknowledge hold their previous value or such a later one;
//  - every value is intact (it is recomputed from the key, round and seq);
//  - a verify pass (iterate all, Get all, CompactLog) is clean.
//
// Default: 200 kills (< 60 s; 100 under a sanitizer). CRASH_KILLS=1000 for
// a long run.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/sanitized_build.h"
#include "tests/subprocess.h"
#include "ultradict/db.h"
#include "util/strings.h"

namespace ultradict {
namespace {

using testing::Child;

constexpr int kKeys = 64;
constexpr int kSurvivorKeys = 8;
// Bound on any single survivor call (seconds, for a loaded CI machine; the
// robust mutex hands a dead holder's lock on at once, so calls take
// milliseconds in practice: the longest is printed).
constexpr double kMaxCallSeconds = 5.0;
// How long a fault-point writer may run before it is killed anyway.
constexpr int64_t kFaultWaitMs = 20 * 1000;

const char* const kFaultPoints[] = {
    "write.before_publish",   "write.after_publish",
    "compact.before_snapshot", "compact.after_snapshot",
    "compact.before_publish",  "compact.after_publish",
    // In the background compaction thread (holding the compaction mutex).
    "bgcompact.before_snapshot", "bgcompact.after_snapshot",
    "bgcompact.after_carry",
};
constexpr int kNumFaultPoints = 9;

std::string Key(int k) { return absl::StrCat("key", 100 + k); }
int KeyOfSeq(int64_t seq) { return static_cast<int>((seq * 7) % kKeys); }

// The value a writer of `round` stores at its seq-th Put. Self-describing
// and of varying size, so a torn or misplaced value is caught.
std::string Value(const std::string& key, int64_t round, int64_t seq) {
  std::string v = absl::StrCat(key, "/", round, "/", seq, "/");
  const size_t size = v.size() + static_cast<size_t>((seq * 131 + round) % 240);
  for (size_t i = v.size(); i < size; i++) {
    v.push_back(static_cast<char>('a' + (seq + round + i) % 26));
  }
  return v;
}

// Parses and checks a value: true when it is exactly Value(key, round, seq).
bool ParseValue(const std::string& key, std::string_view value, int64_t* round,
                int64_t* seq) {
  std::vector<std::string> parts =
      absl::StrSplit(ultradict::AsAbsl(value), absl::MaxSplits('/', 3));
  if (parts.size() != 4 || parts[0] != key) return false;
  if (!absl::SimpleAtoi(parts[1], round) || !absl::SimpleAtoi(parts[2], seq)) {
    return false;
  }
  return Value(key, *round, *seq) == value;
}

int64_t EnvInt(const char* name, int64_t def) {
  const char* s = std::getenv(name);
  int64_t v;
  if (s == nullptr || !absl::SimpleAtoi(s, &v)) return def;
  return v;
}

// ---------------------------------------------------------------------------
// The writer child.

int ChildWriter(const std::map<std::string, std::string>& args) {
  Options options;
  options.create_if_missing = false;
  auto db = DB::Open(options, args.at("name"));
  if (!db.ok()) {
    std::fprintf(stderr, "writer: open: %s\n", db.status().ToString().c_str());
    return 2;
  }
  int64_t round = 0;
  if (!absl::SimpleAtoi(args.at("round"), &round)) return 2;
  // A writer that is to die in its background compaction leaves compaction
  // to that thread: an inline one of its own would make the background
  // one give up before it gets there (the generation moved on).
  const char* fault = std::getenv("ULTRADICT_FAULT_POINT");
  const bool own_compactions =
      fault == nullptr || std::string(fault).rfind("bgcompact.", 0) != 0;
  for (int64_t seq = 1;; seq++) {
    const std::string key = Key(KeyOfSeq(seq));
    absl::Status s = (*db)->Put(key, Value(key, round, seq));
    if (!s.ok()) {
      std::fprintf(stderr, "writer: Put: %s\n", s.ToString().c_str());
      return 1;
    }
    testing::WriteAll(testing::kReportFd, absl::StrCat(seq, "\n"));
    if (own_compactions && seq % 16 == 0) {  // Besides the log-full ones.
      s = (*db)->CompactLog();
      if (!s.ok()) {
        std::fprintf(stderr, "writer: CompactLog: %s\n", s.ToString().c_str());
        return 1;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The harness.

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = absl::StrCat("t", getpid(), "_crash");
    Options options;
    options.log_size = 4096;  // Compactions every few dozen writes.
    options.write_lock_timeout_ms = 60 * 1000;
    auto db = DB::Open(options, name_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void TearDown() override {
    if (child_.pid > 0) testing::KillAndReap(child_.pid);
    testing::ClosePipes(&child_);
    db_.reset();
    DestroyDB(name_).IgnoreError();
    EXPECT_TRUE(Leftovers().empty()) << absl::StrJoin(Leftovers(), " ");
  }

  std::vector<std::string> Leftovers() {
    std::vector<std::string> left;
    auto files = port::ListDirectory(port::SegmentDirectory(""));
    if (!files.ok()) return left;
    for (const std::string& f : *files) {
      if (f.rfind("ud." + name_, 0) == 0) left.push_back(f);
    }
    return left;
  }

  // Runs fn, timing it as a survivor call.
  template <typename Fn>
  auto Timed(Fn&& fn) {
    const auto start = std::chrono::steady_clock::now();
    auto result = fn();
    const double seconds = std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - start)
                               .count();
    longest_call_ = std::max(longest_call_, seconds);
    EXPECT_LT(seconds, kMaxCallSeconds) << "a survivor call blocked";
    return result;
  }

  // One survivor operation while a writer runs: a Put of its own or a Get.
  void SurvivorStep() {
    steps_++;
    if (steps_ % 2 == 0) {
      const int j = static_cast<int>(steps_ / 2 % kSurvivorKeys);
      const std::string value = absl::StrCat("survivor", steps_);
      absl::Status s = Timed([&] { return db_->Put(absl::StrCat("s", j), value); });
      ASSERT_TRUE(s.ok()) << s;
      survivor_[j] = value;
    } else {
      const int k = static_cast<int>(steps_ / 2 % kKeys);
      std::string value;
      absl::Status s = Timed([&] { return db_->Get(Key(k), &value); });
      ASSERT_TRUE(s.ok() || absl::IsNotFound(s)) << s;
      int64_t round, seq;
      if (s.ok()) {
        ASSERT_TRUE(ParseValue(Key(k), value, &round, &seq)) << value;
      }
    }
  }

  // Reads the child's reports now available; false once it closed them.
  bool Drain() {
    if (!testing::ReadAvailable(child_.from_child, &reports_)) return false;
    return true;
  }

  // Runs one round: a writer killed at a random time (fault == nullptr) or
  // at the fault point.
  void RunRound(int64_t round, const char* fault, int64_t skip,
                std::mt19937_64* rng) {
    std::vector<std::string> env;
    if (fault != nullptr) {
      env.push_back(absl::StrCat("ULTRADICT_FAULT_POINT=", fault));
      env.push_back(absl::StrCat("ULTRADICT_FAULT_SKIP=", skip));
    }
    reports_.clear();
    child_ = testing::SpawnSelf(
        {"--child=writer", "--name=" + name_, absl::StrCat("--round=", round)},
        env);
    ASSERT_GT(child_.pid, 0);
    fcntl(child_.from_child, F_SETFL, O_NONBLOCK);
    int status = 0;
    bool exited = false;
    const auto start = std::chrono::steady_clock::now();
    auto elapsed_ms = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - start)
          .count();
    };
    if (fault == nullptr) {
      // Wait for a first acknowledgement, then 0..5 ms more.
      while (reports_.find('\n') == std::string::npos) {
        ASSERT_LT(elapsed_ms(), kFaultWaitMs) << "writer never acknowledged";
        ASSERT_TRUE(Drain()) << "writer ended early";
        SurvivorStep();
        if (HasFatalFailure()) return;
      }
      const auto kill_at =
          std::chrono::steady_clock::now() +
          std::chrono::microseconds(std::uniform_int_distribution<int>(
              0, 5000)(*rng));
      while (std::chrono::steady_clock::now() < kill_at) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      kill(child_.pid, SIGKILL);
      random_kills_++;
    } else {
      // It kills itself at the fault point.
      while (!(exited = testing::WaitExit(child_.pid, 0, &status))) {
        if (elapsed_ms() > kFaultWaitMs) break;
        Drain();
        SurvivorStep();
        if (HasFatalFailure()) return;
      }
      if (!exited) {
        kill(child_.pid, SIGKILL);
        faults_missed_++;
      } else {
        fault_kills_[fault]++;
      }
    }
    if (!exited) {
      ASSERT_TRUE(testing::WaitExit(child_.pid, 60 * 1000, &status));
    }
    child_.pid = -1;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "writer ended with " << testing::DescribeStatus(status);
    while (Drain()) {
    }
    testing::ClosePipes(&child_);
    kills_++;
    Verify(round);
  }

  // Checks every key against what the killed writer acknowledged.
  void Verify(int64_t round) {
    std::map<int, int64_t> acked;  // Key -> last acknowledged seq.
    for (absl::string_view line : absl::StrSplit(reports_, '\n')) {
      if (line.empty()) continue;
      int64_t seq;
      ASSERT_TRUE(absl::SimpleAtoi(line, &seq)) << "bad report " << line;
      acked[KeyOfSeq(seq)] = seq;
      acked_writes_++;
    }
    // Keys of the dictionary: ours (written by writers) and the survivor's.
    for (int k = 0; k < kKeys; k++) {
      std::string value;
      absl::Status s = Timed([&] { return db_->Get(Key(k), &value); });
      ASSERT_TRUE(s.ok() || absl::IsNotFound(s)) << s;
      std::optional<std::pair<int64_t, int64_t>> now;
      if (s.ok()) {
        int64_t r, seq;
        ASSERT_TRUE(ParseValue(Key(k), value, &r, &seq))
            << Key(k) << " holds a damaged value: " << value;
        ASSERT_EQ(KeyOfSeq(seq), k) << "value of seq " << seq << " under "
                                    << Key(k);
        now.emplace(r, seq);
      }
      auto a = acked.find(k);
      if (a != acked.end()) {
        acked_keys_checked_++;
        ASSERT_TRUE(now.has_value()) << Key(k) << " lost acked seq " << a->second;
        ASSERT_EQ(now->first, round) << Key(k) << " lost acked seq " << a->second;
        ASSERT_GE(now->second, a->second)
            << Key(k) << " lost acked seq " << a->second;
        if (now->second > a->second) later_values_++;
      } else if (now != model_[k]) {
        // Changed without an ack: only by the killed writer, later on.
        ASSERT_TRUE(now.has_value() && now->first == round)
            << Key(k) << " changed from what it held before the round";
        later_values_++;
      }
      model_[k] = now;
    }
    for (int j = 0; j < kSurvivorKeys; j++) {
      if (survivor_[j].empty()) continue;
      std::string value;
      absl::Status s = Timed([&] { return db_->Get(absl::StrCat("s", j), &value); });
      ASSERT_TRUE(s.ok()) << s;
      ASSERT_EQ(value, survivor_[j]);
    }
    // The verify pass, every fifth round with a fresh handle.
    std::unique_ptr<DB> fresh;
    DB* db = db_.get();
    if (round % 5 == 0) {
      auto opened = Timed([&] { return DB::Open(Options(), name_); });
      ASSERT_TRUE(opened.ok()) << opened.status();
      fresh = std::move(*opened);
      db = fresh.get();
    }
    VerifyPass(db);
  }

  void VerifyPass(DB* db) {
    int found = 0;
    absl::Status status = Timed([&] {
      std::unique_ptr<Iterator> it = db->NewIterator();
      std::string prev;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        const std::string key(it->key());
        EXPECT_TRUE(found == 0 || prev < key) << "iterator out of order";
        prev = key;
        found++;
        int64_t r, seq;
        if (key.rfind("key", 0) == 0) {
          EXPECT_TRUE(ParseValue(key, it->value(), &r, &seq)) << key;
        } else {
          EXPECT_EQ(key[0], 's') << key;
        }
        std::string value;
        absl::Status s = db->Get(key, &value);
        EXPECT_TRUE(s.ok()) << s;
        EXPECT_EQ(value, it->value()) << key;
      }
      return it->status();
    });
    ASSERT_TRUE(status.ok()) << status;
    int expected = 0;
    for (int k = 0; k < kKeys; k++) expected += model_[k].has_value();
    for (int j = 0; j < kSurvivorKeys; j++) expected += !survivor_[j].empty();
    ASSERT_EQ(found, expected);
    absl::Status s = Timed([&] { return db->CompactLog(); });
    ASSERT_TRUE(s.ok()) << s;
    verify_passes_++;
  }

  std::string name_;
  std::unique_ptr<DB> db_;
  Child child_;
  std::string reports_;
  std::optional<std::pair<int64_t, int64_t>> model_[kKeys];  // (round, seq)
  std::string survivor_[kSurvivorKeys];
  int64_t steps_ = 0;
  double longest_call_ = 0;
  int64_t kills_ = 0, random_kills_ = 0, faults_missed_ = 0;
  std::map<std::string, int64_t> fault_kills_;
  int64_t acked_writes_ = 0, acked_keys_checked_ = 0, later_values_ = 0;
  int64_t verify_passes_ = 0;
};

TEST_F(CrashTest, KilledWritersLoseNothingAcknowledged) {
  // 200 kills (half under a sanitizer: 70 s there for 200, each fault
  // point still hit about 5 times).
  const int64_t kills =
      EnvInt("CRASH_KILLS", testing::kSanitizedBuild ? 100 : 200);
  const uint64_t seed = static_cast<uint64_t>(
      EnvInt("CRASH_SEED", static_cast<int64_t>(std::random_device()())));
  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t round = 1; round <= kills; round++) {
    if (round % 2 == 1) {
      RunRound(round, nullptr, 0, &rng);
    } else {
      const char* fault = kFaultPoints[(round / 2) % kNumFaultPoints];
      const bool write_point = std::string(fault).rfind("write.", 0) == 0;
      const int64_t skip =
          std::uniform_int_distribution<int64_t>(0, write_point ? 40 : 3)(rng);
      RunRound(round, fault, skip, &rng);
    }
    if (HasFatalFailure()) {
      ADD_FAILURE() << "seed " << seed << ", round " << round;
      return;
    }
  }
  const double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  std::string recoveries = "?";
  std::string stats;
  if (db_->GetProperty("ultradict.stats", &stats)) {
    for (absl::string_view line : absl::StrSplit(stats, '\n')) {
      if (absl::ConsumePrefix(&line, "recoveries: ")) recoveries = std::string(line);
    }
  }
  std::vector<std::string> per_fault;
  for (const auto& [fault, n] : fault_kills_) {
    per_fault.push_back(absl::StrCat(fault, "=", n));
  }
  std::printf(
      "crash summary: kills=%lld (random=%lld fault=%lld [%s] fault_not_reached=%lld) "
      "acked_writes=%lld acked_keys_checked=%lld later_unacked_values=%lld "
      "verify_passes=%lld survivor_steps=%lld longest_survivor_call_ms=%.1f "
      "lock_recoveries=%s seconds=%.1f seed=%llu\n",
      static_cast<long long>(kills_), static_cast<long long>(random_kills_),
      static_cast<long long>(kills_ - random_kills_ - faults_missed_),
      absl::StrJoin(per_fault, " ").c_str(),
      static_cast<long long>(faults_missed_),
      static_cast<long long>(acked_writes_),
      static_cast<long long>(acked_keys_checked_),
      static_cast<long long>(later_values_),
      static_cast<long long>(verify_passes_), static_cast<long long>(steps_),
      longest_call_ * 1000, recoveries.c_str(), seconds,
      static_cast<unsigned long long>(seed));
  EXPECT_EQ(kills_, kills);
  EXPECT_GT(acked_writes_, 0);

  // Nothing the killed processes left behind outlives the next compaction:
  // once the survivor has compacted and closed (its background thread
  // finishes or removes its own work), only the control segment and the
  // current generation's two segments remain.
  ASSERT_TRUE(db_->CompactLog().ok());
  std::string gen;
  ASSERT_TRUE(db_->GetProperty("ultradict.generation", &gen));
  db_.reset();
  std::vector<std::string> files = Leftovers();
  std::sort(files.begin(), files.end());
  const std::string base = "ud." + name_;
  // ud.N, ud.N.<gen>.<tag>.log and ud.N.<gen>.<tag>.snap (filename.h).
  const std::string current = absl::StrCat(base, ".", gen, ".");
  int logs = 0, snaps = 0;
  for (const std::string& f : files) {
    if (f.rfind(current, 0) != 0) continue;
    if (absl::EndsWith(f, ".log")) logs++;
    if (absl::EndsWith(f, ".snap")) snaps++;
  }
  EXPECT_TRUE(files.size() == 3 && files[0] == base && logs == 1 && snaps == 1)
      << absl::StrJoin(files, " ");
}

int RunChild(int argc, char** argv) {
  const auto args = testing::ParseChildArgs(argc, argv);
  if (args.at("child") == "writer") return ChildWriter(args);
  std::fprintf(stderr, "unknown child role\n");
  return 3;
}

}  // namespace
}  // namespace ultradict

int main(int argc, char** argv) {
  return ultradict::testing::TestMainWithChildren(argc, argv,
                                                  &ultradict::RunChild);
}
