// multiprocess_test.cc: one dictionary used by many independent processes.
//
// The test binary re-execs itself (/proc/self/exe) with --child=<role>; main()
// runs the role before InitGoogleTest. Roles report on fd 3 (see
// subprocess.h) and exit 0 when every check they made held, 1 otherwise
// (printing the failed check on stderr).
//
// Covered: exact counts from concurrent read-modify-write (DB::Update), with
// and without compactions; WriteBatch atomicity as seen by iterators and
// Gets of other processes; use after fork(); the kUntilLastClose and
// kUntilCreatorCloses lifetimes with a SIGKILLed member; reads during
// repeated compactions; the member table under many killed members.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"
#include "tests/testutil.h"
#include "ultradict/db.h"
#include "util/strings.h"

namespace ultradict {
namespace {

using testing::Child;
using testing::IsOk;
using testing::ScopedDestroy;
using testing::UniqueName;

constexpr bool kSlowBuild = testing::kSanitizedBuild;

// Generous bound for anything a child is waited for (loaded 2-core CI,
// sanitizers).
constexpr int64_t kChildTimeoutMs = 240 * 1000;

std::string CounterKey(int i) { return absl::StrCat("count", 1000 + i); }
std::string InvariantKey(int i) { return absl::StrCat("inv", i); }
std::string BaseKey(int i) { return absl::StrCat("base", 10000 + i); }
std::string BaseValue(int i) {
  std::string v = absl::StrCat("value-of-", i, ":");
  v.resize(20 + (i * 37) % 300, static_cast<char>('a' + i % 26));
  return v;
}

// ---------------------------------------------------------------------------
// Child roles. Each returns the process exit code.

#define CHILD_CHECK(cond, ...)                                         \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "child check failed: %s: %s\n", #cond,      \
                   absl::StrCat(__VA_ARGS__).c_str());                 \
      return 1;                                                        \
    }                                                                  \
  } while (0)

int64_t IntArg(const std::map<std::string, std::string>& args,
               const std::string& key, int64_t def) {
  auto it = args.find(key);
  int64_t v;
  if (it == args.end() || !absl::SimpleAtoi(it->second, &v)) return def;
  return v;
}

std::unique_ptr<DB> OpenOrDie(const std::string& name, size_t log_size) {
  Options options;
  options.create_if_missing = false;
  options.log_size = log_size;
  auto db = DB::Open(options, name);
  if (!db.ok()) {
    std::fprintf(stderr, "child: open %s: %s\n", name.c_str(),
                 db.status().ToString().c_str());
    std::exit(2);
  }
  return std::move(*db);
}

std::optional<std::string> Increment(const std::string_view* v) {
  int64_t n = 0;
  if (v != nullptr && !absl::SimpleAtoi(ultradict::AsAbsl(*v), &n)) n = -1000000;
  return absl::StrCat(n + 1);
}

int ChildIncrement(const std::map<std::string, std::string>& args) {
  auto db = OpenOrDie(args.at("name"), IntArg(args, "log_size", 4 << 20));
  const int64_t iters = IntArg(args, "iters", 0);
  const int64_t keys = IntArg(args, "keys", 100);
  for (int64_t i = 0; i < iters; i++) {
    absl::Status s = db->Update("counter", Increment);
    CHILD_CHECK(s.ok(), s.ToString());
    s = db->Update(CounterKey(static_cast<int>(i % keys)), Increment);
    CHILD_CHECK(s.ok(), s.ToString());
  }
  return 0;
}

int ChildBatchWriter(const std::map<std::string, std::string>& args) {
  auto db = OpenOrDie(args.at("name"), 4096);
  const int64_t iters = IntArg(args, "iters", 0);
  for (int64_t v = 1; v <= iters; v++) {
    WriteBatch batch;
    // Changing order and a padding value of changing size: records differ
    // in size, so compactions fall in varied places.
    for (int j = 0; j < 10; j++) {
      const int k = (v % 2 == 0) ? j : 9 - j;
      batch.Put(InvariantKey(k), absl::StrCat(v));
    }
    batch.Put("pad", std::string(static_cast<size_t>(v % 97), 'p'));
    absl::Status s = db->Write(batch);
    CHILD_CHECK(s.ok(), s.ToString());
  }
  return 0;
}

// Checks the invariant of ChildBatchWriter until it sees the final value.
int ChildBatchReader(const std::map<std::string, std::string>& args) {
  auto db = OpenOrDie(args.at("name"), 4096);
  const int64_t target = IntArg(args, "target", 0);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kChildTimeoutMs);
  int64_t iterations = 0, gets = 0, last = 0;
  while (last < target) {
    CHILD_CHECK(std::chrono::steady_clock::now() < deadline, "timed out at ",
                last);
    // An iterator sees the ten keys all absent or all equal.
    std::unique_ptr<Iterator> it = db->NewIterator();
    std::vector<int64_t> seen;
    for (it->Seek("inv"); it->Valid() && it->key().substr(0, 3) == "inv";
         it->Next()) {
      int64_t n;
      CHILD_CHECK(absl::SimpleAtoi(ultradict::AsAbsl(it->value()), &n),
                  "bad value");
      seen.push_back(n);
    }
    CHILD_CHECK(it->status().ok(), it->status().ToString());
    CHILD_CHECK(seen.empty() || seen.size() == 10, "iterator saw ",
                seen.size(), " of 10 keys of a batch");
    for (int64_t n : seen) {
      CHILD_CHECK(n == seen[0], "iterator saw a broken batch: ", n, " vs ",
                  seen[0]);
    }
    CHILD_CHECK(seen.empty() || seen[0] >= last, "iterator went back from ",
                last, " to ", seen[0]);
    if (!seen.empty()) last = seen[0];
    iterations++;
    // Gets made one after the other never go back: each sees at least the
    // batch the previous one saw.
    int64_t prev = last;
    for (int j = 0; j < 10; j++) {
      std::string value;
      absl::Status s = db->Get(InvariantKey(j), &value);
      if (absl::IsNotFound(s) && prev == 0) continue;
      CHILD_CHECK(s.ok(), s.ToString());
      int64_t n;
      CHILD_CHECK(absl::SimpleAtoi(value, &n), "bad value ", value);
      CHILD_CHECK(n >= prev, "Get of ", InvariantKey(j), " saw ", n,
                  " after ", prev);
      prev = n;
      gets++;
    }
    last = prev;
  }
  testing::WriteAll(testing::kReportFd,
                    absl::StrCat(iterations, " ", gets, "\n"));
  return 0;
}

// Joins, says "ready", then waits for its stdin to close; with --check_key
// it then reads that key (through its own mapping) before closing.
int ChildMember(const std::map<std::string, std::string>& args) {
  auto db = OpenOrDie(args.at("name"), 4 << 20);
  std::string value;
  absl::Status s = db->Get("hello", &value);
  CHILD_CHECK(s.ok() || absl::IsNotFound(s), s.ToString());
  testing::WriteAll(testing::kReportFd, "ready\n");
  char c;
  while (read(0, &c, 1) > 0) {
  }
  if (args.count("check_key")) {
    s = db->Get(args.at("check_key"), &value);
    CHILD_CHECK(s.ok(), s.ToString());
    CHILD_CHECK(value == args.at("check_value"), value);
  }
  return 0;
}

int ChildCompactor(const std::map<std::string, std::string>& args) {
  auto db = OpenOrDie(args.at("name"), 4096);
  const int64_t rounds = IntArg(args, "rounds", 0);
  for (int64_t r = 0; r < rounds; r++) {
    absl::Status s = db->Put(absl::StrCat("churn", r % 7),
                             std::string(static_cast<size_t>(r % 500), 'c'));
    CHILD_CHECK(s.ok(), s.ToString());
    s = db->CompactLog();
    CHILD_CHECK(s.ok(), s.ToString());
  }
  absl::Status s = db->Put("done", "1");
  CHILD_CHECK(s.ok(), s.ToString());
  return 0;
}

int ChildCompactReader(const std::map<std::string, std::string>& args) {
  auto db = OpenOrDie(args.at("name"), 4096);
  const int64_t keys = IntArg(args, "keys", 0);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kChildTimeoutMs);
  int64_t passes = 0;
  for (bool done = false; !done; passes++) {
    CHILD_CHECK(std::chrono::steady_clock::now() < deadline, "timed out");
    std::string value;
    absl::Status s = db->Get("done", &value);
    CHILD_CHECK(s.ok() || absl::IsNotFound(s), s.ToString());
    done = s.ok();
    for (int i = 0; i < keys; i++) {
      s = db->Get(BaseKey(i), &value);
      CHILD_CHECK(s.ok(), BaseKey(i), ": ", s.ToString());
      CHILD_CHECK(value == BaseValue(i), BaseKey(i), " has a wrong value");
    }
    PinnableValue pinned;
    s = db->GetPinned(BaseKey(passes % keys), &pinned);
    CHILD_CHECK(s.ok(), s.ToString());
    std::unique_ptr<Iterator> it = db->NewIterator();
    int found = 0;
    for (it->Seek("base"); it->Valid() && it->key().substr(0, 4) == "base";
         it->Next()) {
      CHILD_CHECK(it->key() == BaseKey(found), "iterator: expected ",
                  BaseKey(found), ", got ", ultradict::AsAbsl(it->key()));
      CHILD_CHECK(it->value() == BaseValue(found), "iterator value of ",
                  BaseKey(found));
      found++;
    }
    CHILD_CHECK(it->status().ok(), it->status().ToString());
    CHILD_CHECK(found == keys, "iterator found ", found, " of ", keys);
    // The pinned value outlives compactions of other processes.
    CHILD_CHECK(pinned.data() == BaseValue(passes % keys), "pinned value");
  }
  testing::WriteAll(testing::kReportFd, absl::StrCat(passes, "\n"));
  return 0;
}

int RunChild(int argc, char** argv) {
  const auto args = testing::ParseChildArgs(argc, argv);
  const std::string& role = args.at("child");
  if (role == "increment") return ChildIncrement(args);
  if (role == "batch_writer") return ChildBatchWriter(args);
  if (role == "batch_reader") return ChildBatchReader(args);
  if (role == "member") return ChildMember(args);
  if (role == "compactor") return ChildCompactor(args);
  if (role == "compact_reader") return ChildCompactReader(args);
  std::fprintf(stderr, "unknown child role %s\n", role.c_str());
  return 3;
}

// ---------------------------------------------------------------------------
// The tests (in the parent).

// Children started by a test; killed and reaped at the end even when the
// test fails.
class ChildSet {
 public:
  ~ChildSet() {
    for (Child& c : children_) {
      if (c.pid > 0) testing::KillAndReap(c.pid);
      testing::ClosePipes(&c);
    }
  }
  Child& Spawn(const std::vector<std::string>& args) {
    children_.push_back(testing::SpawnSelf(args));
    EXPECT_GT(children_.back().pid, 0) << "fork failed";
    return children_.back();
  }
  // Waits for every child; true when all exited 0.
  bool WaitAll() {
    bool ok = true;
    for (Child& c : children_) {
      if (c.pid <= 0) continue;
      int status = 0;
      if (!testing::WaitExit(c.pid, kChildTimeoutMs, &status)) {
        ADD_FAILURE() << "child " << c.pid << " did not finish";
        testing::KillAndReap(c.pid);
        ok = false;
      } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ADD_FAILURE() << "child " << c.pid << ": "
                      << testing::DescribeStatus(status);
        ok = false;
      }
      c.pid = -1;
    }
    return ok;
  }

 private:
  std::deque<Child> children_;  // Stable references.
};

class MultiProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { name_ = UniqueName("mp"); }
  void TearDown() override {
    DestroyDB(name_).IgnoreError();
    EXPECT_TRUE(testing::LeftoverFiles(name_).empty());
  }

  std::unique_ptr<DB> Create(Options options) {
    auto db = DB::Open(options, name_);
    EXPECT_THAT(db.status(), IsOk());
    return db.ok() ? std::move(*db) : nullptr;
  }

  std::string name_;
};

int64_t GetInt(DB* db, const std::string& key) {
  std::string value;
  absl::Status s = db->Get(key, &value);
  EXPECT_THAT(s, IsOk()) << key;
  int64_t n = -1;
  EXPECT_TRUE(absl::SimpleAtoi(value, &n)) << value;
  return n;
}

void RunIncrements(const std::string& name, size_t log_size, DB* db) {
  constexpr int kProcesses = 4;
  constexpr int kKeys = 100;
  const int iters = kSlowBuild ? 2000 : 20000;
  const auto start = std::chrono::steady_clock::now();
  {
    ChildSet children;
    for (int p = 0; p < kProcesses; p++) {
      children.Spawn({"--child=increment", "--name=" + name,
                      absl::StrCat("--iters=", iters),
                      absl::StrCat("--keys=", kKeys),
                      absl::StrCat("--log_size=", log_size)});
    }
    ASSERT_TRUE(children.WaitAll());
  }
  const double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  EXPECT_EQ(GetInt(db, "counter"), int64_t{kProcesses} * iters);
  for (int k = 0; k < kKeys; k++) {
    EXPECT_EQ(GetInt(db, CounterKey(k)), int64_t{kProcesses} * iters / kKeys)
        << CounterKey(k);
  }
  std::string compactions;
  ASSERT_TRUE(db->GetProperty("ultradict.stats", &compactions));
  std::printf("increments: %d processes x %d x 2 Updates in %.2f s (log_size "
              "%zu)\n%s",
              kProcesses, iters, seconds, log_size, compactions.c_str());
}

TEST_F(MultiProcessTest, ConcurrentUpdatesAreExact) {
  Options options;
  auto db = Create(options);
  ASSERT_NE(db, nullptr);
  RunIncrements(name_, options.log_size, db.get());
}

TEST_F(MultiProcessTest, ConcurrentUpdatesAreExactWhileCompacting) {
  Options options;
  options.log_size = 4096;
  auto db = Create(options);
  ASSERT_NE(db, nullptr);
  RunIncrements(name_, options.log_size, db.get());
  std::string gen;
  ASSERT_TRUE(db->GetProperty("ultradict.generation", &gen));
  int64_t generation = 0;
  ASSERT_TRUE(absl::SimpleAtoi(gen, &generation));
  // How many: as many as the writers' background threads get CPU for (15-19
  // on a quiet 2-core machine; 9 once in a CI run under TSan while other
  // builds loaded both cores). More than 5 shows that the updates ran across
  // many compactions.
  EXPECT_GT(generation, 5) << "expected many compactions";
}

TEST_F(MultiProcessTest, BatchesAreAtomicForOtherProcesses) {
  Options options;
  options.log_size = 4096;  // Compactions happen between batches too.
  auto db = Create(options);
  ASSERT_NE(db, nullptr);
  const int iters = kSlowBuild ? 1500 : 6000;
  ChildSet children;
  Child& reader1 = children.Spawn({"--child=batch_reader", "--name=" + name_,
                                   absl::StrCat("--target=", iters)});
  Child& reader2 = children.Spawn({"--child=batch_reader", "--name=" + name_,
                                   absl::StrCat("--target=", iters)});
  children.Spawn({"--child=batch_writer", "--name=" + name_,
                  absl::StrCat("--iters=", iters)});
  // This process reads as well.
  int64_t last = 0;
  while (last < iters) {
    std::unique_ptr<Iterator> it = db->NewIterator();
    std::vector<std::string> values;
    for (it->Seek("inv"); it->Valid() && it->key().substr(0, 3) == "inv";
         it->Next()) {
      values.emplace_back(it->value());
    }
    ASSERT_THAT(it->status(), IsOk());
    ASSERT_TRUE(values.empty() || values.size() == 10u) << values.size();
    for (const std::string& v : values) ASSERT_EQ(v, values[0]);
    if (!values.empty()) {
      ASSERT_TRUE(absl::SimpleAtoi(values[0], &last));
    }
  }
  std::string line1, line2;
  ASSERT_TRUE(testing::ReadLine(reader1.from_child, &line1, kChildTimeoutMs));
  ASSERT_TRUE(testing::ReadLine(reader2.from_child, &line2, kChildTimeoutMs));
  ASSERT_TRUE(children.WaitAll());
  std::printf("batches: %d written; readers' iterations and Gets: %s / %s\n",
              iters, line1.c_str(), line2.c_str());
}

TEST_F(MultiProcessTest, ForkChildWritesParentReads) {
  auto db = Create(Options());
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Put("before", "fork"), IsOk());
  // That first write started the handle's background thread; let it reach
  // its wait, so the child inherits a condition variable with a waiter that
  // does not exist in the child (closing the handle there must not hang).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child uses the inherited handle (joining as a new member), then
    // closes it without destroying the dictionary.
    int rc = 0;
    std::string value;
    absl::Status s = db->Get("before", &value);
    if (!s.ok() || value != "fork") {
      std::fprintf(stderr, "fork child: Get: %s\n", s.ToString().c_str());
      rc = 1;
    }
    for (int i = 0; i < 100 && rc == 0; i++) {
      if (!db->Put(absl::StrCat("child", i), absl::StrCat(i)).ok()) rc = 2;
    }
    std::string members;
    if (!db->GetProperty("ultradict.members", &members) ||
        members.find(absl::StrCat(getpid())) == std::string::npos) {
      std::fprintf(stderr, "fork child %d: members %s\n", getpid(),
                   members.c_str());
      if (rc == 0) rc = 3;
    }
    db.reset();
    _exit(rc);
  }
  int status = 0;
  ASSERT_TRUE(testing::WaitExit(pid, kChildTimeoutMs, &status));
  ASSERT_TRUE(WIFEXITED(status)) << testing::DescribeStatus(status);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  for (int i = 0; i < 100; i++) {
    std::string value;
    ASSERT_THAT(db->Get(absl::StrCat("child", i), &value), IsOk());
    EXPECT_EQ(value, absl::StrCat(i));
  }
  // The parent's handle still writes, and the child's slot was released.
  ASSERT_THAT(db->Put("after", "fork"), IsOk());
  std::string members;
  ASSERT_TRUE(db->GetProperty("ultradict.members", &members));
  EXPECT_EQ(members, absl::StrCat(getpid()));
  auto again = DB::Open(Options(), name_);
  ASSERT_THAT(again.status(), IsOk());
  std::string value;
  ASSERT_THAT((*again)->Get("child99", &value), IsOk());
}

TEST_F(MultiProcessTest, UntilLastCloseWithKilledMember) {
  Options options;
  options.lifetime = Lifetime::kUntilLastClose;
  auto db = Create(options);
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Put("hello", "world"), IsOk());
  {
    ChildSet children;
    Child& member = children.Spawn({"--child=member", "--name=" + name_});
    std::string line;
    ASSERT_TRUE(testing::ReadLine(member.from_child, &line, kChildTimeoutMs));
    ASSERT_EQ(line, "ready");
    std::string members;
    ASSERT_TRUE(db->GetProperty("ultradict.members", &members));
    EXPECT_NE(members.find(absl::StrCat(member.pid)), std::string::npos);
    testing::KillAndReap(member.pid);
    member.pid = -1;
  }
  EXPECT_FALSE(testing::LeftoverFiles(name_).empty());
  db.reset();  // The last live member closes: the dictionary goes.
  EXPECT_TRUE(testing::LeftoverFiles(name_).empty());
}

TEST_F(MultiProcessTest, UntilLastCloseOutlivesTheCreator) {
  Options options;
  options.lifetime = Lifetime::kUntilLastClose;
  auto db = Create(options);
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Put("hello", "world"), IsOk());
  ChildSet children;
  Child& member =
      children.Spawn({"--child=member", "--name=" + name_,
                      "--check_key=hello", "--check_value=world"});
  std::string line;
  ASSERT_TRUE(testing::ReadLine(member.from_child, &line, kChildTimeoutMs));
  db.reset();  // Another member is alive: the dictionary stays.
  EXPECT_FALSE(testing::LeftoverFiles(name_).empty());
  testing::ClosePipes(&member);  // The member checks, then closes.
  ASSERT_TRUE(children.WaitAll());
  EXPECT_TRUE(testing::LeftoverFiles(name_).empty());
}

TEST_F(MultiProcessTest, UntilCreatorCloses) {
  Options options;
  options.lifetime = Lifetime::kUntilCreatorCloses;
  auto db = Create(options);
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Put("hello", "world"), IsOk());
  {
    // A member that is not the creator closes: nothing is removed.
    ChildSet children;
    Child& member = children.Spawn({"--child=member", "--name=" + name_});
    std::string line;
    ASSERT_TRUE(testing::ReadLine(member.from_child, &line, kChildTimeoutMs));
    testing::ClosePipes(&member);
    ASSERT_TRUE(children.WaitAll());
  }
  EXPECT_FALSE(testing::LeftoverFiles(name_).empty());
  {
    // A member that is SIGKILLed: nothing is removed either.
    ChildSet children;
    Child& member = children.Spawn({"--child=member", "--name=" + name_});
    std::string line;
    ASSERT_TRUE(testing::ReadLine(member.from_child, &line, kChildTimeoutMs));
    testing::KillAndReap(member.pid);
    member.pid = -1;
  }
  EXPECT_FALSE(testing::LeftoverFiles(name_).empty());
  ChildSet children;
  Child& member =
      children.Spawn({"--child=member", "--name=" + name_,
                      "--check_key=hello", "--check_value=world"});
  std::string line;
  ASSERT_TRUE(testing::ReadLine(member.from_child, &line, kChildTimeoutMs));
  db.reset();  // The creator closes: the files go at once...
  EXPECT_TRUE(testing::LeftoverFiles(name_).empty());
  testing::ClosePipes(&member);  // ...and the member still reads its mapping.
  ASSERT_TRUE(children.WaitAll());
  EXPECT_TRUE(testing::LeftoverFiles(name_).empty());
}

TEST_F(MultiProcessTest, ReadsDuringRepeatedCompactions) {
  Options options;
  options.log_size = 4096;
  auto db = Create(options);
  ASSERT_NE(db, nullptr);
  constexpr int kKeys = 200;
  for (int i = 0; i < kKeys; i++) {
    ASSERT_THAT(db->Put(BaseKey(i), BaseValue(i)), IsOk());
  }
  const int rounds = kSlowBuild ? 150 : 600;
  ChildSet children;
  Child& reader = children.Spawn({"--child=compact_reader", "--name=" + name_,
                                  absl::StrCat("--keys=", kKeys)});
  children.Spawn({"--child=compactor", "--name=" + name_,
                  absl::StrCat("--rounds=", rounds)});
  std::string passes;
  ASSERT_TRUE(testing::ReadLine(reader.from_child, &passes, kChildTimeoutMs));
  ASSERT_TRUE(children.WaitAll());
  std::string stats;
  ASSERT_TRUE(db->GetProperty("ultradict.stats", &stats));
  std::printf("compactions: %d explicit; reader passes: %s\n%s", rounds,
              passes.c_str(), stats.c_str());
}

TEST_F(MultiProcessTest, KilledMembersDoNotFillTheMemberTable) {
  auto db = Create(Options());
  ASSERT_NE(db, nullptr);
  // Each round checks that the killed member is gone; under a sanitizer a
  // child costs ~0.4 s, so fewer rounds.
  const int kMembers = kSlowBuild ? 50 : 1000;
  size_t most = 0;
  for (int i = 0; i < kMembers; i++) {
    ChildSet children;
    Child& member = children.Spawn({"--child=member", "--name=" + name_});
    std::string line;
    ASSERT_TRUE(testing::ReadLine(member.from_child, &line, kChildTimeoutMs));
    ASSERT_EQ(line, "ready");
    testing::KillAndReap(member.pid);
    member.pid = -1;
    std::string members;
    ASSERT_TRUE(db->GetProperty("ultradict.members", &members));
    const size_t count =
        std::vector<std::string>(absl::StrSplit(members, ',')).size();
    most = std::max(most, count);
    ASSERT_LE(count, 2u) << members;
  }
  std::string members;
  ASSERT_TRUE(db->GetProperty("ultradict.members", &members));
  EXPECT_EQ(members, absl::StrCat(getpid()));
  ASSERT_THAT(db->Put("still", "works"), IsOk());
  auto again = DB::Open(Options(), name_);
  ASSERT_THAT(again.status(), IsOk());
  std::printf("members: %d attached and were killed; at most %zu listed\n",
              kMembers, most);
}

}  // namespace
}  // namespace ultradict

int main(int argc, char** argv) {
  return ultradict::testing::TestMainWithChildren(argc, argv,
                                                  &ultradict::RunChild);
}
