// index_crash_test.cc: writers killed inside their updates of the shared
// log index (issue 19) leave an index that readers read right and the next
// writer repairs.
//
// Each case: the harness (this process) fills a dictionary; a reader child
// (this binary re-exec'd, --child=reader) pins the dictionary at that head
// with an iterator and notes every value; a writer child (--child=writer,
// linked with the fault-point engine) writes batches of several entries and
// reports each acknowledged one on fd 3, until it kills itself at a fault
// point of the write path: index.before_add (the record written, nothing
// indexed), index.after_first_add (one entry indexed), write.before_publish
// (all indexed, the head not moved), write.after_publish (the head moved,
// the index's progress not), each also in a batch that grows the index's
// table. Then:
//  - before any write, every key reads as the model of committed batches
//    (acknowledged ones, plus the dying one when its head was published):
//    entries of an unpublished record are skipped;
//  - the harness writes (the next writer repairs the index), and every key
//    is checked again, after more batches over the same keys, through a
//    fresh handle and after a compaction;
//  - the reader child walks its iterator, pinned at the older head: every
//    value is still the one it noted.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/subprocess.h"
#include "ultradict/db.h"
#include "util/strings.h"

namespace ultradict {
namespace {

using testing::Child;
using Model = std::map<std::string, std::optional<std::string>>;

constexpr int kKeys = 40;
constexpr int kBatch = 5;
constexpr int kGrowKeys = 700;  // Past half of the first table's 1024 slots.
constexpr int64_t kChildTimeoutMs = 60 * 1000;

std::string Key(int k) { return absl::StrCat("key", 100 + k); }

// The value of key in batch `seq` of writer `round`: names its key.
std::string Value(const std::string& key, int round, int64_t seq) {
  std::string v = absl::StrCat(key, "/", round, "/", seq, "/");
  while (v.size() < 20 + static_cast<size_t>(seq % 50)) v += "x";
  return v;
}

// Batch seq of a writer: kBatch keys (one deleted every third batch), and
// for `grow`, batch kGrowAt also kGrowKeys new keys.
constexpr int64_t kGrowAt = 4;
void MakeBatch(int round, int64_t seq, bool grow, WriteBatch* batch,
               Model* model) {
  for (int i = 0; i < kBatch; i++) {
    const std::string key = Key(static_cast<int>((seq * 7 + i * 3) % kKeys));
    if (i == 2 && seq % 3 == 0) {
      batch->Delete(key);
      (*model)[key] = std::nullopt;
    } else {
      batch->Put(key, Value(key, round, seq));
      (*model)[key] = Value(key, round, seq);
    }
  }
  if (grow && seq == kGrowAt) {
    for (int g = 0; g < kGrowKeys; g++) {
      const std::string key = absl::StrCat("grow", round, "_", g);
      batch->Put(key, Value(key, round, seq));
      (*model)[key] = Value(key, round, seq);
    }
  }
}

Options TestOptions() {
  Options options;
  options.log_size = 1 << 20;             // No compaction during a case...
  options.background_compaction = false;  // ...of its own accord.
  options.write_lock_timeout_ms = 30 * 1000;
  return options;
}

// --- Children ---

int ChildWriter(const std::map<std::string, std::string>& args) {
  Options options = TestOptions();
  options.create_if_missing = false;
  auto db = DB::Open(options, args.at("name"));
  int round = 0;
  if (!db.ok() || !absl::SimpleAtoi(args.at("round"), &round)) return 2;
  const bool grow = args.at("grow") == "1";
  Model unused;
  for (int64_t seq = 1;; seq++) {
    WriteBatch batch;
    MakeBatch(round, seq, grow, &batch, &unused);
    absl::Status s = (*db)->Write(batch);
    if (!s.ok()) {
      std::fprintf(stderr, "writer: %s\n", s.ToString().c_str());
      return 1;
    }
    testing::WriteAll(testing::kReportFd, absl::StrCat(seq, "\n"));
  }
}

// Pins the dictionary with an iterator, notes its entries, says "ready";
// when its stdin closes, walks the iterator and reports "ok <n>" or what
// changed.
int ChildReader(const std::map<std::string, std::string>& args) {
  Options options = TestOptions();
  options.create_if_missing = false;
  auto db = DB::Open(options, args.at("name"));
  if (!db.ok()) return 2;
  std::unique_ptr<Iterator> it = (*db)->NewIterator();
  std::map<std::string, std::string> noted;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    noted[std::string(it->key())] = std::string(it->value());
  }
  // Each noted value is what Get said at that head (no writer runs yet).
  for (const auto& [key, value] : noted) {
    std::string got;
    if (!(*db)->Get(key, &got).ok() || got != value) {
      testing::WriteAll(testing::kReportFd, "bad: Get differs at start\n");
      return 1;
    }
  }
  testing::WriteAll(testing::kReportFd, "ready\n");
  char c;
  while (read(0, &c, 1) > 0) {
  }
  size_t n = 0;
  std::string report = "ok";
  for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
    auto found = noted.find(std::string(it->key()));
    if (found == noted.end() || found->second != it->value()) {
      report = absl::StrCat("bad: ", ultradict::AsAbsl(it->key()), " changed");
      break;
    }
  }
  if (!it->status().ok())
    report = absl::StrCat("bad: ", it->status().ToString());
  if (report == "ok" && n != noted.size()) report = "bad: fewer entries";
  testing::WriteAll(testing::kReportFd, absl::StrCat(report, " ", n, "\n"));
  return 0;
}

// --- The harness ---

struct Case {
  const char* fault;
  bool grow;
  // Whether the dying batch is committed (its head published).
  bool committed;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.fault << (c.grow ? " (growing batch)" : "");
}

class IndexCrashTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    name_ = absl::StrCat("t", getpid(), "_idxcrash");
    auto db = DB::Open(TestOptions(), name_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    for (int k = 0; k < kKeys; k += 2) {  // Half the keys, in the log.
      model_[Key(k)] = Value(Key(k), 0, k);
      ASSERT_TRUE(db_->Put(Key(k), *model_[Key(k)]).ok());
    }
  }
  void TearDown() override {
    for (Child* c : {&writer_, &reader_}) {
      if (c->pid > 0) testing::KillAndReap(c->pid);
      testing::ClosePipes(c);
    }
    db_.reset();
    DestroyDB(name_).IgnoreError();
    auto files = port::ListDirectory(port::SegmentDirectory(""));
    if (files.ok()) {
      for (const std::string& f : *files) {
        EXPECT_NE(f.rfind("ud." + name_, 0), 0u) << "left behind: " << f;
      }
    }
  }

  // Every key of the model (and a key never written) read through db.
  void CheckModel(DB* db, const std::string& when) {
    SCOPED_TRACE(when);
    for (const auto& [key, value] : model_) {
      std::string got;
      absl::Status s = db->Get(key, &got);
      if (value.has_value()) {
        ASSERT_TRUE(s.ok()) << key << ": " << s;
        ASSERT_EQ(got, *value) << key;
      } else {
        ASSERT_TRUE(absl::IsNotFound(s)) << key << ": " << s << " " << got;
      }
    }
    std::string got;
    ASSERT_TRUE(absl::IsNotFound(db->Get("never", &got)));
    size_t live = 0, seen = 0;
    for (const auto& [key, value] : model_) live += value.has_value();
    std::unique_ptr<Iterator> it = db->NewIterator();
    for (it->SeekToFirst(); it->Valid(); it->Next(), seen++) {
      auto m = model_.find(std::string(it->key()));
      ASSERT_TRUE(m != model_.end() && m->second == std::string(it->value()))
          << ultradict::AsAbsl(it->key());
    }
    ASSERT_TRUE(it->status().ok()) << it->status();
    ASSERT_EQ(seen, live);
    std::string entries;
    ASSERT_TRUE(db->GetProperty("ultradict.num-entries", &entries));
    EXPECT_EQ(entries, absl::StrCat(live));
  }

  // log2 of the slots of the index's current table (ultradict.stats).
  int TableBits() {
    std::string stats;
    EXPECT_TRUE(db_->GetProperty("ultradict.log-index", &stats));
    const size_t at = stats.find(", table 2^");
    int bits = -1;
    if (at != std::string::npos) {
      const std::string rest = stats.substr(at + 10);
      EXPECT_TRUE(absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &bits))
          << stats;
    }
    return bits;
  }

  void Run(const Case& c) {
    reader_ = testing::SpawnSelf({"--child=reader", "--name=" + name_});
    ASSERT_GT(reader_.pid, 0);
    std::string line;
    ASSERT_TRUE(testing::ReadLine(reader_.from_child, &line, kChildTimeoutMs));
    ASSERT_EQ(line, "ready");
    // The writer dies in batch kGrowAt (skipping the passes before it).
    const int round = 1;
    writer_ = testing::SpawnSelf(
        {"--child=writer", "--name=" + name_, absl::StrCat("--round=", round),
         absl::StrCat("--grow=", c.grow ? 1 : 0)},
        {absl::StrCat("ULTRADICT_FAULT_POINT=", c.fault),
         absl::StrCat("ULTRADICT_FAULT_SKIP=", kGrowAt - 1)});
    ASSERT_GT(writer_.pid, 0);
    int status = 0;
    ASSERT_TRUE(testing::WaitExit(writer_.pid, kChildTimeoutMs, &status))
        << "the writer did not reach " << c.fault;
    writer_.pid = -1;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << testing::DescribeStatus(status);
    std::string acks;
    fcntl(writer_.from_child, F_SETFL, O_NONBLOCK);
    while (testing::ReadAvailable(writer_.from_child, &acks)) {
    }
    testing::ClosePipes(&writer_);
    std::vector<std::string> lines =
        absl::StrSplit(acks, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), static_cast<size_t>(kGrowAt - 1)) << acks;
    for (int64_t seq = 1; seq < kGrowAt; seq++) {
      WriteBatch unused;
      MakeBatch(round, seq, c.grow, &unused, &model_);
    }
    if (c.committed) {
      WriteBatch unused;
      MakeBatch(round, kGrowAt, c.grow, &unused, &model_);
    }
    // The dying writer grew the table (before its fault point) or not.
    EXPECT_EQ(TableBits(), c.grow ? 11 : 10);
    ASSERT_NO_FATAL_FAILURE(CheckModel(db_.get(), "before the next write"));
    // The next writer repairs, then overwrites the same keys.
    for (int64_t seq = 1; seq <= 8; seq++) {
      WriteBatch batch;
      MakeBatch(round + 1, seq, c.grow && seq == kGrowAt, &batch, &model_);
      ASSERT_TRUE(db_->Write(batch).ok());
      if (seq == 1) {
        ASSERT_NO_FATAL_FAILURE(CheckModel(db_.get(), "repaired"));
      }
    }
    ASSERT_NO_FATAL_FAILURE(CheckModel(db_.get(), "after more writes"));
    {
      auto fresh = DB::Open(TestOptions(), name_);
      ASSERT_TRUE(fresh.ok()) << fresh.status();
      ASSERT_NO_FATAL_FAILURE(CheckModel(fresh->get(), "fresh handle"));
    }
    close(reader_.to_child);  // "Go": its stdin ends.
    reader_.to_child = -1;
    ASSERT_TRUE(testing::ReadLine(reader_.from_child, &line, kChildTimeoutMs));
    EXPECT_EQ(line, absl::StrCat("ok ", kKeys / 2)) << "reader at the old head";
    ASSERT_TRUE(testing::WaitExit(reader_.pid, kChildTimeoutMs, &status));
    reader_.pid = -1;
    ASSERT_TRUE(db_->CompactLog().ok());
    ASSERT_NO_FATAL_FAILURE(CheckModel(db_.get(), "compacted"));
  }

  std::string name_;
  std::unique_ptr<DB> db_;
  Child writer_, reader_;
  Model model_;
};

TEST_P(IndexCrashTest, NextWriterRepairs) { Run(GetParam()); }

INSTANTIATE_TEST_SUITE_P(
    FaultPoints, IndexCrashTest,
    ::testing::Values(Case{"index.before_add", false, false},
                      Case{"index.after_first_add", false, false},
                      Case{"write.before_publish", false, false},
                      Case{"write.after_publish", false, true},
                      Case{"index.before_add", true, false},
                      Case{"index.after_first_add", true, false},
                      Case{"write.before_publish", true, false},
                      Case{"write.after_publish", true, true}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name =
          absl::StrCat(info.param.grow ? "Growing_" : "", info.param.fault);
      for (char& ch : name) {
        if (ch == '.') ch = '_';
      }
      return name;
    });

int RunChild(int argc, char** argv) {
  const auto args = testing::ParseChildArgs(argc, argv);
  if (args.at("child") == "writer") return ChildWriter(args);
  if (args.at("child") == "reader") return ChildReader(args);
  std::fprintf(stderr, "unknown child role\n");
  return 3;
}

}  // namespace
}  // namespace ultradict

int main(int argc, char** argv) {
  return ultradict::testing::TestMainWithChildren(argc, argv,
                                                  &ultradict::RunChild);
}
