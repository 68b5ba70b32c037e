// ingest_testutil.h: helpers of ingest_test and ingest_crash_test
// (DB::IngestSorted), header-only: the crash test links the fault-point
// engine, so it cannot use tests/testutil (which links the other one).

#ifndef ULTRADICT_TESTS_INGEST_TESTUTIL_H_
#define ULTRADICT_TESTS_INGEST_TESTUTIL_H_

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "ultradict/db.h"

namespace ultradict {
namespace ingest_testing {

// As tests/testutil.h's.
MATCHER(IsOk, "is OK") {
  if (arg.ok()) return true;
  *result_listener << "status is " << arg.ToString();
  return false;
}

inline std::string UniqueName(const std::string& hint) {
  static std::atomic<int> counter{0};
  return absl::StrCat("t", getpid(), "_", counter++, "_", hint);
}

using Model = std::map<std::string, std::string>;

inline std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

// Entries (sorted) of the model, as IngestSorted takes them.
inline std::vector<KeyValue> EntriesOf(const Model& m) {
  std::vector<KeyValue> entries;
  for (const auto& [k, v] : m) entries.push_back(KeyValue{k, v});
  return entries;
}

// The whole dictionary, read with an iterator; also checks every Get.
inline Model Contents(DB* db) {
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

inline uint64_t Property(DB* db, const char* name) {
  std::string value;
  uint64_t n = 0;
  EXPECT_TRUE(db->GetProperty(name, &value)) << name;
  EXPECT_TRUE(absl::SimpleAtoi(value, &n)) << name << ": " << value;
  return n;
}

// "puts: N" from ultradict.stats.
inline uint64_t Puts(DB* db) {
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
inline std::vector<std::string> FilesOf(const std::string& name) {
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

// The fixture of both: a dictionary of its own (a small log, so that the
// log fills and both it and the snapshot hold entries), destroyed after.
class IngestFixture : public ::testing::Test {
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
    options.log_size = 64 << 10;
    auto db = DB::Open(options, name);
    EXPECT_THAT(db.status(), IsOk());
    return db.ok() ? std::move(*db) : nullptr;
  }

  std::string name_;
  std::unique_ptr<DB> db_;
};

}  // namespace ingest_testing
}  // namespace ultradict

#endif  // ULTRADICT_TESTS_INGEST_TESTUTIL_H_
