// ingest_test.cc: DB::IngestSorted (db/db_impl_ingest.cc), a bulk load
// that builds the next generation's snapshot straight from its entries.
//
// Against a model (std::map): merge and replace over a snapshot and a log,
// on empty and non-empty dictionaries; counters and the change feed; views
// opened before it keep their contents; invalid input writes nothing.
// Crash safety: a child process (this binary re-exec'd, linked with the
// fault-point engine) is killed at each fault point inside the call, and at
// random times in a loop of ingests; the survivor sees the old contents or
// the new, never a mix, and the next writer removes what the child left.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/subprocess.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

// As tests/testutil.h's, which links the engine without fault points.
MATCHER(IsOk, "is OK") {
  if (arg.ok()) return true;
  *result_listener << "status is " << arg.ToString();
  return false;
}

std::string UniqueName(const std::string& hint) {
  static std::atomic<int> counter{0};
  return absl::StrCat("t", getpid(), "_", counter++, "_", hint);
}

using Model = std::map<std::string, std::string>;

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

// Entries (sorted) of the model, as IngestSorted takes them.
std::vector<KeyValue> EntriesOf(const Model& m) {
  std::vector<KeyValue> entries;
  for (const auto& [k, v] : m) entries.push_back(KeyValue{k, v});
  return entries;
}

// The whole dictionary, read with an iterator; also checks every Get.
Model Contents(DB* db) {
  Model m;
  std::unique_ptr<Iterator> it = db->NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    m.emplace(std::string(it->key()), std::string(it->value()));
  }
  EXPECT_THAT(it->status(), IsOk());
  for (const auto& [k, v] : m) {
    std::string got;
    EXPECT_THAT(db->Get(k, &got), IsOk()) << k;
    EXPECT_EQ(got, v) << k;
  }
  return m;
}

uint64_t Property(DB* db, const char* name) {
  std::string value;
  uint64_t n = 0;
  EXPECT_TRUE(db->GetProperty(name, &value)) << name;
  EXPECT_TRUE(absl::SimpleAtoi(value, &n)) << name << ": " << value;
  return n;
}

// "puts: N" from ultradict.stats.
uint64_t Puts(DB* db) {
  std::string stats;
  EXPECT_TRUE(db->GetProperty("ultradict.stats", &stats));
  const size_t at = stats.find("\nputs: ");
  uint64_t n = 0;
  if (at == std::string::npos) return 0;
  const size_t from = at + 7;
  EXPECT_TRUE(
      absl::SimpleAtoi(stats.substr(from, stats.find('\n', from) - from), &n));
  return n;
}

// Files of dictionary `name` in the segment directory.
std::vector<std::string> FilesOf(const std::string& name) {
  std::vector<std::string> files;
  auto all = port::ListDirectory(port::SegmentDirectory(""));
  if (!all.ok()) return files;
  for (const std::string& f : *all) {
    if (f == "ud." + name || f.rfind("ud." + name + ".", 0) == 0) {
      files.push_back(f);
    }
  }
  return files;
}

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = UniqueName("ingest");
    db_ = Open(name_);
  }
  void TearDown() override {
    db_.reset();
    DestroyDB(name_).IgnoreError();
    EXPECT_TRUE(FilesOf(name_).empty());
  }
  static std::unique_ptr<DB> Open(const std::string& name) {
    Options options;
    options.log_size = 64 << 10;  // A log that fills, so both are used.
    auto db = DB::Open(options, name);
    EXPECT_THAT(db.status(), IsOk());
    return db.ok() ? std::move(*db) : nullptr;
  }
  // Puts keys [from, to) with values tagged `tag`, into db and model.
  void Fill(int from, int to, const std::string& tag) {
    for (int i = from; i < to; i++) {
      const std::string v = absl::StrCat(tag, i);
      ASSERT_THAT(db_->Put(Key(i), v), IsOk());
      model_[Key(i)] = v;
    }
  }
  // A snapshot with keys [0, 300) (some deleted again), then a log with
  // overwrites and deletes of keys in it and new keys.
  void SnapshotAndLog() {
    Fill(0, 300, "snap");
    ASSERT_THAT(db_->CompactLog(), IsOk());
    Fill(250, 350, "log");
    for (int i = 0; i < 300; i += 7) {
      ASSERT_THAT(db_->Delete(Key(i)), IsOk());
      model_.erase(Key(i));
    }
  }

  std::string name_;
  std::unique_ptr<DB> db_;
  Model model_;
};

TEST_F(IngestTest, IntoAnEmptyDictionary) {
  Model in;
  for (int i = 0; i < 1000; i++) in[Key(i)] = absl::StrCat("v", i);
  const uint64_t seq = db_->LatestSequence();
  ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kMerge), IsOk());
  EXPECT_EQ(Contents(db_.get()), in);
  EXPECT_EQ(db_->LatestSequence(), seq + 1);
  EXPECT_EQ(Property(db_.get(), "ultradict.num-entries"), 1000u);
  EXPECT_EQ(Puts(db_.get()), 1000u);
  // An ordinary write goes on from there, into the new (empty) log.
  ASSERT_THAT(db_->Put(Key(5), "after"), IsOk());
  in[Key(5)] = "after";
  EXPECT_EQ(Contents(db_.get()), in);
  EXPECT_EQ(db_->LatestSequence(), seq + 2);
}

TEST_F(IngestTest, MergeOverSnapshotAndLogNewWins) {
  SnapshotAndLog();
  Model in;  // Over snapshot keys, log keys, deleted keys and new keys.
  for (int i = 200; i < 400; i += 3) in[Key(i)] = absl::StrCat("new", i);
  const uint64_t seq = db_->LatestSequence();
  const uint64_t puts = Puts(db_.get());
  ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kMerge), IsOk());
  for (const auto& [k, v] : in) model_[k] = v;
  EXPECT_EQ(Contents(db_.get()), model_);
  EXPECT_EQ(Property(db_.get(), "ultradict.num-entries"), model_.size());
  EXPECT_EQ(db_->LatestSequence(), seq + 1);
  EXPECT_EQ(Puts(db_.get()), puts + in.size());
  // Another handle (another member) sees the same.
  std::unique_ptr<DB> other = Open(name_);
  EXPECT_EQ(Contents(other.get()), model_);
}

TEST_F(IngestTest, ReplaceLeavesExactlyTheEntries) {
  SnapshotAndLog();
  Model in;
  for (int i = 100; i < 500; i += 2) in[Key(i)] = absl::StrCat("only", i);
  ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kReplace), IsOk());
  EXPECT_EQ(Contents(db_.get()), in);
  EXPECT_EQ(Property(db_.get(), "ultradict.num-entries"), in.size());
  // Into a dictionary that never had a snapshot, too.
  ASSERT_THAT(db_->CompactLog(), IsOk());
  EXPECT_EQ(Contents(db_.get()), in);
}

TEST_F(IngestTest, EmptyEntries) {
  Fill(0, 50, "v");
  const uint64_t seq = db_->LatestSequence();
  ASSERT_THAT(db_->IngestSorted({}, IngestMode::kMerge), IsOk());
  EXPECT_EQ(db_->LatestSequence(), seq);  // Nothing happened.
  EXPECT_EQ(Contents(db_.get()), model_);
  ASSERT_THAT(db_->IngestSorted({}, IngestMode::kReplace), IsOk());
  EXPECT_EQ(db_->LatestSequence(), seq + 1);
  EXPECT_TRUE(Contents(db_.get()).empty());
  EXPECT_EQ(Property(db_.get(), "ultradict.num-entries"), 0u);
  ASSERT_THAT(db_->Put("k", "v"), IsOk());
  EXPECT_EQ(Contents(db_.get()), (Model{{"k", "v"}}));
}

TEST_F(IngestTest, InvalidInputWritesNothing) {
  SnapshotAndLog();
  const uint64_t seq = db_->LatestSequence();
  const std::string big_key(kMaxKeySize + 1, 'k');
  const std::vector<std::vector<KeyValue>> bad = {
      {{"b", "1"}, {"a", "2"}},              // Out of order.
      {{"a", "1"}, {"b", "2"}, {"b", "3"}},  // Repeated.
      {{"a", "1"}, {big_key, "2"}},          // Key too large.
      {{"ab", "1"}, {"a", "2"}},             // A prefix after its extension.
      {{std::string_view("a\xff", 2), "1"}, {std::string_view("a\x01", 2), ""}},
  };
  for (size_t i = 0; i < bad.size(); i++) {
    for (IngestMode mode : {IngestMode::kMerge, IngestMode::kReplace}) {
      absl::Status s = db_->IngestSorted(bad[i], mode);
      EXPECT_TRUE(absl::IsInvalidArgument(s)) << i << ": " << s;
    }
  }
  EXPECT_EQ(db_->LatestSequence(), seq);
  EXPECT_EQ(Contents(db_.get()), model_);
  // Bytewise order: 0xff sorts after 0x01 and after every ASCII byte.
  const std::vector<KeyValue> ok = {{"", "empty key"},
                                    {std::string_view("a\x01", 2), "1"},
                                    {"ab", "2"},
                                    {std::string_view("a\xff", 2), "3"}};
  ASSERT_THAT(db_->IngestSorted(ok, IngestMode::kReplace), IsOk());
  Model want;
  for (const KeyValue& e : ok) want[std::string(e.key)] = std::string(e.value);
  EXPECT_EQ(Contents(db_.get()), want);
}

TEST_F(IngestTest, OlderViewsKeepTheirContents) {
  SnapshotAndLog();
  const Model before = model_;
  std::unique_ptr<Iterator> it = db_->NewIterator();
  it->SeekToFirst();
  PinnableValue pinned;
  ASSERT_THAT(db_->GetPinned(Key(1), &pinned), IsOk());
  const std::string pinned_was(pinned.data());
  Model in;
  for (int i = 0; i < 600; i++) in[Key(i)] = absl::StrCat("replaced", i);
  ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kReplace), IsOk());
  // The iterator opened before it still walks the old contents.
  Model seen;
  for (; it->Valid(); it->Next()) {
    seen.emplace(std::string(it->key()), std::string(it->value()));
  }
  EXPECT_THAT(it->status(), IsOk());
  it.reset();
  EXPECT_EQ(seen, before);
  EXPECT_EQ(pinned.data(), pinned_was);
  EXPECT_EQ(Contents(db_.get()), in);
}

TEST_F(IngestTest, ChangeFeedReportsTheGap) {
  Fill(0, 20, "a");
  ChangeCursor cursor{db_->LatestSequence()};
  struct Count : WriteBatch::Handler {
    int puts = 0;
    void Put(std::string_view, std::string_view) override { puts++; }
    void Delete(std::string_view) override {}
  } handler;
  ASSERT_THAT(db_->ReadChangesFrom(&cursor, &handler), IsOk());
  const uint64_t at = cursor.sequence;
  ASSERT_THAT(db_->IngestSorted({{"x", "1"}}, IngestMode::kMerge), IsOk());
  EXPECT_EQ(db_->WaitForChange(at, 0), at + 1);
  EXPECT_TRUE(absl::IsOutOfRange(db_->ReadChangesFrom(&cursor, &handler)));
  EXPECT_EQ(cursor.sequence, at);  // Unchanged, as documented.
  EXPECT_TRUE(absl::IsOutOfRange(db_->ReadChanges(at, &handler).status()));
  // From the ingest's sequence on, the feed works as usual.
  ChangeCursor after{db_->LatestSequence()};
  ASSERT_THAT(db_->Put("y", "2"), IsOk());
  ASSERT_THAT(db_->ReadChangesFrom(&after, &handler), IsOk());
  EXPECT_EQ(handler.puts, 1);
  EXPECT_EQ(after.sequence, at + 2);
}

TEST_F(IngestTest, ReplicaAndLockRulesAsWrite) {
  Options options;
  auto other = DB::Open(options, name_);
  ASSERT_THAT(other.status(), IsOk());
  ASSERT_THAT(db_->SetReplicaOf("redis://primary"), IsOk());
  absl::Status s = (*other)->IngestSorted({{"a", "1"}}, IngestMode::kMerge);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(db_->IngestSorted({{"a", "1"}}, IngestMode::kMerge), IsOk());
  ASSERT_THAT(db_->SetReplicaOf(""), IsOk());
  s = db_->Transact([&](Transaction&) {
    return db_->IngestSorted({{"b", "2"}}, IngestMode::kMerge);
  });
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_EQ(Contents(db_.get()), (Model{{"a", "1"}}));
}

// Random writes, compactions and ingests of both modes against the model.
TEST_F(IngestTest, RandomAgainstModel) {
  std::mt19937 rng(1234);
  const int keys = 3000;
  for (int round = 0; round < 12; round++) {
    for (int i = 0; i < 300; i++) {
      const std::string k = Key(static_cast<int>(rng() % keys));
      if (rng() % 4 == 0) {
        ASSERT_THAT(db_->Delete(k), IsOk());
        model_.erase(k);
      } else {
        const std::string v(rng() % 300, static_cast<char>('a' + round));
        ASSERT_THAT(db_->Put(k, v), IsOk());
        model_[k] = v;
      }
    }
    if (round % 3 == 1) {
      ASSERT_THAT(db_->CompactLog(), IsOk());
    }
    Model in;
    const int n = static_cast<int>(rng() % (keys / 2));
    for (int i = 0; i < n; i++) {
      in[Key(static_cast<int>(rng() % keys))] =
          absl::StrCat("r", round, "-", i);
    }
    const bool replace = round % 4 == 3;
    ASSERT_THAT(db_->IngestSorted(EntriesOf(in), replace ? IngestMode::kReplace
                                                         : IngestMode::kMerge),
                IsOk());
    if (replace) model_.clear();
    for (const auto& [k, v] : in) model_[k] = v;
    ASSERT_EQ(Contents(db_.get()), model_) << "round " << round;
    ASSERT_EQ(Property(db_.get(), "ultradict.num-entries"), model_.size());
  }
}

// A reader thread never sees two versions at once: every ingest rewrites
// all keys with its round number.
TEST_F(IngestTest, ReaderNeverSeesAMix) {
  const int keys = 2000;
  std::atomic<bool> stop{false};
  std::atomic<int> views{0};
  std::string failure;
  std::thread reader([&] {
    std::unique_ptr<DB> db = Open(name_);
    while (!stop.load() && failure.empty()) {
      std::unique_ptr<Iterator> it = db->NewIterator();
      std::string first;
      int n = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
        if (n == 0) first = std::string(it->value());
        if (it->value() != first) failure = "two rounds in one view";
      }
      if (n != 0 && n != keys) failure = absl::StrCat(n, " keys in a view");
      views++;
    }
  });
  for (int round = 0; round < 20; round++) {
    Model in;
    for (int i = 0; i < keys; i++) in[Key(i)] = absl::StrCat("round", round);
    ASSERT_THAT(db_->IngestSorted(EntriesOf(in), IngestMode::kMerge), IsOk());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(failure, "");
  EXPECT_GT(views.load(), 0);
}

// ---------------------------------------------------------------------------
// Killed inside the call.

constexpr int kCrashKeys = 4000;

// Every key [0, kCrashKeys) with the value "rR-i".
Model RoundModel(int64_t round) {
  Model m;
  for (int i = 0; i < kCrashKeys; i++)
    m[Key(i)] = absl::StrCat("r", round, "-", i);
  return m;
}

// The child: ingests round `round` (kMerge) once, or rounds round,
// round + 1, ... for ever ("loop"), reporting each round done on fd 3.
int RunChild(int argc, char** argv) {
  std::map<std::string, std::string> args = testing::ParseChildArgs(argc, argv);
  Options options;
  options.create_if_missing = false;
  auto db = DB::Open(options, args["name"]);
  int64_t round = 0;
  if (!db.ok() || !absl::SimpleAtoi(args["round"], &round)) return 2;
  do {
    const Model m = RoundModel(round);
    absl::Status s = (*db)->IngestSorted(EntriesOf(m), IngestMode::kMerge);
    if (!s.ok()) {
      std::fprintf(stderr, "ingest child: %s\n", s.ToString().c_str());
      return 1;
    }
    testing::WriteAll(testing::kReportFd, absl::StrCat(round++, "\n"));
  } while (args["child"] == "loop");
  return 0;
}

class IngestCrashTest : public IngestTest {
 protected:
  // The round (all keys "rR-...") that the dictionary holds; -1 when it
  // holds something else (a mix, or keys missing).
  int64_t RoundHeld() {
    const Model m = Contents(db_.get());
    if (m.size() != kCrashKeys) return -1;
    int64_t round = -1;
    const std::string& v = m.begin()->second;
    if (!absl::SimpleAtoi(v.substr(1, v.find('-') - 1), &round)) return -1;
    return m == RoundModel(round) ? round : -1;
  }
  // After a writer died: the next write recovers; then only the current
  // generation's two files are left besides the control segment.
  void ExpectRecovered() {
    ASSERT_THAT(db_->Put("after", "crash"), IsOk());
    ASSERT_THAT(db_->Delete("after"), IsOk());
    const std::string gen =
        absl::StrCat(Property(db_.get(), "ultradict.generation"));
    int current = 0;
    for (const std::string& f : FilesOf(name_)) {
      if (f == "ud." + name_) continue;
      EXPECT_EQ(f.rfind(absl::StrCat("ud.", name_, ".", gen, "."), 0), 0u)
          << f << " left (generation " << gen << ")";
      current++;
    }
    EXPECT_EQ(current, 2);
    EXPECT_THAT(db_->CompactLog(), IsOk());
  }
};

TEST_F(IngestCrashTest, KilledAtEachFaultPointLeavesOldOrNew) {
  struct Point {
    const char* name;
    bool published;  // Killed after the new head was published.
  };
  const Point points[] = {{"ingest.before_snapshot", false},
                          {"ingest.after_snapshot", false},
                          {"compact.before_publish", false},
                          {"compact.after_publish", true}};
  int64_t round = 0;
  for (const Point& point : points) {
    SCOPED_TRACE(point.name);
    // The old state: round `round` in a snapshot, then again in the log
    // for a part of the keys (so that the merge reads both).
    ASSERT_THAT(
        db_->IngestSorted(EntriesOf(RoundModel(round)), IngestMode::kReplace),
        IsOk());
    for (int i = 0; i < 50; i++) {
      ASSERT_THAT(db_->Put(Key(i), absl::StrCat("r", round, "-", i)), IsOk());
    }
    testing::Child child =
        testing::SpawnSelf({"--child=once", "--name=" + name_,
                            absl::StrCat("--round=", round + 1)},
                           {absl::StrCat("ULTRADICT_FAULT_POINT=", point.name),
                            "ULTRADICT_FAULT_SKIP=0"});
    ASSERT_GT(child.pid, 0);
    int status = 0;
    ASSERT_TRUE(testing::WaitExit(child.pid, 60 * 1000, &status));
    testing::ClosePipes(&child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << testing::DescribeStatus(status);
    EXPECT_EQ(RoundHeld(), point.published ? round + 1 : round);
    ExpectRecovered();
    EXPECT_EQ(RoundHeld(), point.published ? round + 1 : round);
    round += 2;
  }
}

TEST_F(IngestCrashTest, KilledAtRandomTimesLeavesOldOrNew) {
  ASSERT_THAT(db_->IngestSorted(EntriesOf(RoundModel(0)), IngestMode::kMerge),
              IsOk());
  std::mt19937 rng(99);
  int64_t next = 1;  // The round the next child starts with.
  for (int kill = 0; kill < 12; kill++) {
    testing::Child child = testing::SpawnSelf(
        {"--child=loop", "--name=" + name_, absl::StrCat("--round=", next)});
    ASSERT_GT(child.pid, 0);
    std::string line;
    ASSERT_TRUE(testing::ReadLine(child.from_child, &line, 60 * 1000));
    usleep(static_cast<useconds_t>(rng() % 30000));
    testing::KillAndReap(child.pid);
    // The last round it acknowledged before the kill.
    int64_t acked = 0;
    do {
      ASSERT_TRUE(absl::SimpleAtoi(line, &acked)) << line;
    } while (testing::ReadLine(child.from_child, &line, 1000));
    testing::ClosePipes(&child);
    // That round, or the next one if it was published but not reported.
    const int64_t held = RoundHeld();
    EXPECT_GE(held, acked) << "kill " << kill;
    EXPECT_LE(held, acked + 1) << "kill " << kill;
    ExpectRecovered();
    next = std::max(held, acked) + 1;
  }
}

}  // namespace
}  // namespace ultradict

int main(int argc, char** argv) {
  return ultradict::testing::TestMainWithChildren(argc, argv,
                                                  ultradict::RunChild);
}
