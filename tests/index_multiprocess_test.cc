// index_multiprocess_test.cc: readers in other processes read through the
// shared log index (issue 19) while one writer process overwrites the same
// keys with increasing versions.
//
// The writer child (this binary re-exec'd, --child=writer) writes version
// v = 1, 2, ... of every key in one batch per version; a value names its
// key and version. The log is small, so compactions (which carry records
// into a new log and its index) happen throughout. Reader children
// (--child=reader) Get keys in turn and now and then iterate, until their
// stdin closes. Each checks:
//  - every value decodes to the key it was read under (never another key's);
//  - the versions it reads never go backwards: a read loads a head at
//    least as new as any earlier read's, and every key has the same version
//    at any head, so each Get's version is >= every earlier read's;
//  - an iteration sees one head: every key at the same version.

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/subprocess.h"
#include "ultradict/db.h"
#include "util/strings.h"

namespace ultradict {
namespace {

using testing::Child;

constexpr int kKeys = 24;
constexpr int kReaders = 2;
constexpr int64_t kChildTimeoutMs = 120 * 1000;
constexpr auto kRunFor = std::chrono::milliseconds(2500);

std::string Key(int k) { return absl::StrCat("key", 100 + k); }

// Every fourth key's values are large and compressible (zstd records).
std::string Value(int k, int64_t version) {
  std::string v = absl::StrCat(Key(k), "/", version, "/");
  const size_t size = k % 4 == 0 ? 400 : 16 + static_cast<size_t>(version % 40);
  while (v.size() < size) v += static_cast<char>('a' + v.size() % 7);
  return v;
}

// The version of a value of key k; -1 when it is not exactly Value(k, v).
int64_t VersionOf(int k, std::string_view value) {
  std::vector<std::string> parts =
      absl::StrSplit(AsAbsl(value), absl::MaxSplits('/', 2));
  int64_t version;
  if (parts.size() != 3 || parts[0] != Key(k) ||
      !absl::SimpleAtoi(parts[1], &version) || Value(k, version) != value) {
    return -1;
  }
  return version;
}

bool StdinClosed() {
  pollfd p{0, POLLIN, 0};
  return poll(&p, 1, 0) == 1;  // Readable: EOF (nothing is ever sent).
}

Options TestOptions() {
  Options options;
  options.log_size = 32 * 1024;  // A compaction every few dozen versions.
  options.compression = Compression::kZstdCompression;
  options.create_if_missing = false;
  return options;
}

int ChildWriter(const std::map<std::string, std::string>& args) {
  auto db = DB::Open(TestOptions(), args.at("name"));
  if (!db.ok()) return 2;
  int64_t version = 1;
  for (; !StdinClosed(); version++) {
    WriteBatch batch;
    for (int k = 0; k < kKeys; k++) batch.Put(Key(k), Value(k, version));
    absl::Status s = (*db)->Write(batch);
    if (!s.ok()) {
      std::fprintf(stderr, "writer: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  testing::WriteAll(testing::kReportFd, absl::StrCat(version - 1, "\n"));
  return 0;
}

int ChildReader(const std::map<std::string, std::string>& args) {
  auto db = DB::Open(TestOptions(), args.at("name"));
  if (!db.ok()) return 2;
  int64_t latest = 0, gets = 0, scans = 0, advances = 0;
  std::string bad;
  for (int64_t i = 0; bad.empty() && !StdinClosed(); i++) {
    if (i % 64 == 63) {
      std::unique_ptr<Iterator> it = (*db)->NewIterator();
      int64_t seen = -1;
      int n = 0;
      for (it->SeekToFirst(); it->Valid() && bad.empty(); it->Next(), n++) {
        const int64_t v = VersionOf(n, it->value());
        if (it->key() != Key(n) || v < 0) {
          bad = absl::StrCat("scan: ", AsAbsl(it->key()), " holds ",
                             AsAbsl(it->value().substr(0, 24)));
        } else if (seen >= 0 && v != seen) {
          bad = absl::StrCat("scan: versions ", seen, " and ", v, " at once");
        } else if (v < latest) {
          bad = absl::StrCat("scan: version ", v, " after ", latest);
        }
        seen = v;
      }
      if (bad.empty() && (!it->status().ok() || n != kKeys)) {
        bad = absl::StrCat("scan: ", it->status().ToString(), ", ", n, " keys");
      }
      if (seen > latest) latest = seen;
      scans++;
      continue;
    }
    const int k = static_cast<int>(i % kKeys);
    std::string value;
    absl::Status s = (*db)->Get(Key(k), &value);
    const int64_t v = s.ok() ? VersionOf(k, value) : -1;
    if (!s.ok() || v < 0) {
      bad = absl::StrCat("get ", Key(k), ": ", s.ToString(), " ",
                         value.substr(0, 24));
    } else if (v < latest) {
      bad = absl::StrCat("get ", Key(k), ": version ", v, " after ", latest);
    } else {
      advances += v > latest;
      latest = v;
    }
    gets++;
  }
  testing::WriteAll(testing::kReportFd,
                    bad.empty() ? absl::StrCat("ok ", gets, " ", scans, " ",
                                               advances, " ", latest, "\n")
                                : absl::StrCat("bad ", bad, "\n"));
  return bad.empty() ? 0 : 1;
}

class IndexMultiprocessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = absl::StrCat("t", getpid(), "_idxmp");
    Options options = TestOptions();
    options.create_if_missing = true;
    auto db = DB::Open(options, name_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    WriteBatch batch;  // Version 0 of every key.
    for (int k = 0; k < kKeys; k++) batch.Put(Key(k), Value(k, 0));
    ASSERT_TRUE(db_->Write(batch).ok());
  }
  void TearDown() override {
    for (Child& c : children_) {
      if (c.pid > 0) testing::KillAndReap(c.pid);
      testing::ClosePipes(&c);
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

  // Closes the child's stdin, reads its report line and waits for it.
  std::string Finish(Child* c) {
    close(c->to_child);
    c->to_child = -1;
    std::string line;
    EXPECT_TRUE(testing::ReadLine(c->from_child, &line, kChildTimeoutMs));
    int status = 0;
    EXPECT_TRUE(testing::WaitExit(c->pid, kChildTimeoutMs, &status));
    c->pid = -1;
    EXPECT_EQ(testing::DescribeStatus(status), "exit 0") << line;
    return line;
  }

  std::string name_;
  std::unique_ptr<DB> db_;
  std::vector<Child> children_;
};

TEST_F(IndexMultiprocessTest, ReadersNeverGoBackAndNeverSeeAnotherKey) {
  for (int r = 0; r < kReaders; r++) {
    children_.push_back(
        testing::SpawnSelf({"--child=reader", "--name=" + name_}));
  }
  children_.push_back(
      testing::SpawnSelf({"--child=writer", "--name=" + name_}));
  for (const Child& c : children_) ASSERT_GT(c.pid, 0);
  std::this_thread::sleep_for(kRunFor);
  const std::string written = Finish(&children_.back());
  int64_t last = 0;
  ASSERT_TRUE(absl::SimpleAtoi(written, &last)) << written;
  EXPECT_GT(last, 20) << "the writer wrote too few versions to test much";
  for (int r = 0; r < kReaders; r++) {
    const std::string report = Finish(&children_[r]);
    SCOPED_TRACE(report);
    std::vector<std::string> f = absl::StrSplit(report, ' ');
    ASSERT_EQ(f.size(), 5u);
    ASSERT_EQ(f[0], "ok");
    int64_t gets, scans, advances, latest;
    ASSERT_TRUE(
        absl::SimpleAtoi(f[1], &gets) && absl::SimpleAtoi(f[2], &scans) &&
        absl::SimpleAtoi(f[3], &advances) && absl::SimpleAtoi(f[4], &latest));
    EXPECT_GT(gets, 100);
    EXPECT_GT(scans, 0);
    EXPECT_GT(advances, 1) << "the reader never saw the writer's progress";
    EXPECT_LE(latest, last);
    std::printf("reader %d: %s (writer wrote %lld versions)\n", r,
                report.c_str(), static_cast<long long>(last));
  }
  // Every key at the last version; the writer compacted meanwhile.
  for (int k = 0; k < kKeys; k++) {
    std::string value;
    ASSERT_TRUE(db_->Get(Key(k), &value).ok());
    EXPECT_EQ(VersionOf(k, value), last) << Key(k);
  }
  std::string compactions;
  ASSERT_TRUE(db_->GetProperty("ultradict.stats", &compactions));
  EXPECT_EQ(compactions.find("compactions: 0\n"), std::string::npos)
      << compactions;
}

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
