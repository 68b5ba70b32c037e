// corruption_test.cc: damaged segment files give errors, never a crash, an
// overread or a hang (run under ASan in CI).
//
// A dictionary in a private segment directory (under $TEST_TMPDIR) gets
// entries in its snapshot and in its log, plain and zstd-compressed, and is
// closed. Then, for each segment file (control ud.N, log ud.N.<gen>.log,
// snapshot ud.N.<gen>.snap), bytes are flipped, zeroed and the file is
// truncated at every field boundary of its header (control_block.h,
// log_format.h, snapshot_format.h) and at places in its record or entry
// area; each time Open, Get of every key, a full iteration, Put and
// CompactLog must return OK or an error Status. The pristine files are put
// back between cases.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/control_block.h"
#include "db/filename.h"
#include "db/log_format.h"
#include "db/log_reader.h"
#include "db/snapshot_format.h"
#include "db/snapshot_reader.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/testutil.h"
#include "ultradict/db.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::UniqueName;

constexpr int kSnapKeys = 30;
constexpr int kLogKeys = 12;

std::string SnapKey(int i) { return absl::StrCat("snap", 100 + i); }
std::string LogKey(int i) { return absl::StrCat("log", 100 + i); }
std::vector<std::string> AllKeys() {
  std::vector<std::string> keys;
  for (int i = 0; i < kSnapKeys; i++) keys.push_back(SnapKey(i));
  for (int i = 0; i < kLogKeys; i++) keys.push_back(LogKey(i));
  keys.push_back("batch-a");
  keys.push_back("batch-b");
  return keys;
}
// Every fifth value is large and compressible (compressed when the
// dictionary compresses: the threshold is 256 bytes).
std::string ValueOf(const std::string& key, int i) {
  std::string v = absl::StrCat(key, "=");
  const size_t size = i % 5 == 0 ? 2000 : 10 + i;
  while (v.size() < size) v += "abcdefgh";
  return v;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

struct Mutation {
  std::string file;  // Base name in the directory.
  enum Kind { kFlip, kZero, kTruncate } kind;
  size_t offset;
  std::string Describe() const {
    const char* k = kind == kFlip ? "flip" : kind == kZero ? "zero" : "truncate";
    return absl::StrCat(k, " ", file, " at ", offset);
  }
};

class CorruptionTest : public ::testing::TestWithParam<Compression> {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    name_ = UniqueName("corrupt");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name_);
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0) << dir_;
    options_.directory = dir_;
    options_.compression = GetParam();
    options_.log_size = 16384;
    // A fixed layout to damage: no compaction of its own accord.
    options_.background_compaction = false;
    options_.write_lock_timeout_ms = 1000;  // A damaged mutex costs 1 s.
    {
      auto db = DB::Open(options_, name_);
      ASSERT_THAT(db.status(), IsOk());
      for (int i = 0; i < kSnapKeys; i++) {
        ASSERT_THAT((*db)->Put(SnapKey(i), ValueOf(SnapKey(i), i)), IsOk());
      }
      ASSERT_THAT((*db)->CompactLog(), IsOk());
      for (int i = 0; i < kLogKeys; i++) {
        ASSERT_THAT((*db)->Put(LogKey(i), ValueOf(LogKey(i), i)), IsOk());
      }
      ASSERT_THAT((*db)->Put(SnapKey(0), "overwritten in the log"), IsOk());
      ASSERT_THAT((*db)->Delete(SnapKey(1)), IsOk());
      WriteBatch batch;
      batch.Put("batch-a", ValueOf("batch-a", 5));
      batch.Put("batch-b", "b");
      ASSERT_THAT((*db)->Write(batch), IsOk());
    }
    auto files = port::ListDirectory(dir_);
    ASSERT_THAT(files.status(), IsOk());
    for (const std::string& f : *files) {
      pristine_[f] = ReadFile(dir_ + "/" + f);
      std::string n;
      FileType type;
      uint64_t gen;
      ASSERT_TRUE(ParseFileName(f, &n, &type, &gen)) << f;
      if (type == FileType::kControl) control_ = f;
      if (type == FileType::kLog) log_ = f;
      if (type == FileType::kSnapshot) snap_ = f;
    }
    ASSERT_FALSE(control_.empty());
    ASSERT_FALSE(log_.empty());
    ASSERT_FALSE(snap_.empty());
  }

  void TearDown() override {
    DestroyDB(name_, options_).IgnoreError();
    auto files = port::ListDirectory(dir_);
    if (files.ok()) {
      EXPECT_TRUE(files->empty()) << absl::StrJoin(*files, " ");
      for (const std::string& f : *files) unlink((dir_ + "/" + f).c_str());
    }
    rmdir(dir_.c_str());
  }

  void Restore() {
    auto files = port::ListDirectory(dir_);
    ASSERT_THAT(files.status(), IsOk());
    for (const std::string& f : *files) unlink((dir_ + "/" + f).c_str());
    for (const auto& [f, data] : pristine_) WriteFile(dir_ + "/" + f, data);
  }

  void Apply(const Mutation& m) {
    std::string data = pristine_.at(m.file);
    switch (m.kind) {
      case Mutation::kFlip:
        if (m.offset < data.size()) data[m.offset] ^= '\xff';
        break;
      case Mutation::kZero:
        for (size_t i = m.offset; i < m.offset + 4 && i < data.size(); i++) {
          data[i] = 0;
        }
        break;
      case Mutation::kTruncate:
        data.resize(std::min(m.offset, data.size()));
        break;
    }
    WriteFile(dir_ + "/" + m.file, data);
  }

  // Uses the damaged dictionary every way; only the absence of crashes,
  // overreads and hangs is checked (and tallied).
  void Exercise(const Mutation& m) {
    auto tally = [&](const absl::Status& s) {
      codes_[absl::StatusCodeToString(s.code())]++;
    };
    tried_++;
    auto db = DB::Open(options_, name_);
    tally(db.status());
    if (!db.ok()) return;
    opened_++;
    std::vector<std::string> keys = {"batch-a", "batch-b", "missing"};
    for (int i = 0; i < kSnapKeys; i++) keys.push_back(SnapKey(i));
    for (int i = 0; i < kLogKeys; i++) keys.push_back(LogKey(i));
    for (const std::string& key : keys) {
      std::string value;
      tally((*db)->Get(key, &value));
      PinnableValue pinned;
      (*db)->GetPinned(key, &pinned).IgnoreError();
    }
    {
      std::unique_ptr<Iterator> it = (*db)->NewIterator();
      int n = 0;
      for (it->SeekToFirst(); it->Valid() && n < 1000; it->Next()) n++;
      tally(it->status());
      it->Seek("log");
      tally(it->status());
    }
    std::string stats;
    (*db)->GetProperty("ultradict.stats", &stats);
    tally((*db)->Put("new-key", "new value"));
    tally((*db)->CompactLog());
    (void)m;
  }

  void RunAll(const std::vector<Mutation>& mutations) {
    for (const Mutation& m : mutations) {
      SCOPED_TRACE(m.Describe());
      Restore();
      Apply(m);
      Exercise(m);
      if (HasFatalFailure()) return;
    }
    Restore();
  }

  std::vector<Mutation> AllKinds(const std::string& file,
                                 const std::set<size_t>& offsets) {
    std::vector<Mutation> out;
    for (size_t off : offsets) {
      if (off > pristine_.at(file).size()) continue;
      out.push_back({file, Mutation::kFlip, off});
      out.push_back({file, Mutation::kZero, off});
      out.push_back({file, Mutation::kTruncate, off});
    }
    return out;
  }

  // Offsets (from the start of the record area) of the committed records.
  std::vector<size_t> RecordOffsets() {
    const std::string& log = pristine_.at(log_);
    const uint64_t head =
        DecodeFixed64(pristine_.at(control_).data() + control::kHeadOffset);
    const size_t end = static_cast<uint32_t>(head);
    std::vector<size_t> offsets;
    for (size_t off = 0; off < end;) {
      log::Record record;
      absl::Status s = log::ReadRecord(log.data() + log::kHeaderSize, end, off,
                                       log_, &record);
      EXPECT_THAT(s, IsOk());
      if (!s.ok()) break;
      offsets.push_back(off);
      off += record.size;
    }
    return offsets;
  }

  Options options_;
  std::string name_, dir_;
  std::map<std::string, std::string> pristine_;
  std::string control_, log_, snap_;
  std::map<std::string, int> codes_;
  int tried_ = 0, opened_ = 0;
};

TEST_P(CorruptionTest, ControlSegment) {
  // Field boundaries of control_block.h, the mutex, counters, members.
  std::set<size_t> offsets = {
      0,   1,   7,   8,   12,  16,  17,  18,  20,   24,   32,  36,
      40,  44,  64,  65,  72,  80,  96,  127, 128,  132,  136, 191,
      192, 196, 200, 208, 216, 224, 232, 240, 248,  256,  320, 384,
      385, 448, 449, 456, 463, 464, 471, 472, 4095, 4096, 4100};
  const size_t size = pristine_.at(control_).size();
  offsets.insert(size - 1);
  offsets.insert(size);
  offsets.insert(size / 2);
  RunAll(AllKinds(control_, offsets));
  std::printf("control: %d corruptions tried, %d opened; calls: %s\n",
              tried_, opened_,
              absl::StrJoin(codes_, " ", absl::PairFormatter("=")).c_str());
}

TEST_P(CorruptionTest, ControlSegmentOfAnotherVersionIsRefused) {
  // A control segment of format version 1 (the head shared its cache line
  // with the counters, which lay elsewhere), with a valid header checksum:
  // refused by name and version, never read with this layout.
  // Versions 3 (whose logs had no shared index), 4 (whose index had no
  // filter) and 5 (whose index kept table_bits with the writer's counters),
  // of this version's layout, checksum their identity too.
  for (uint32_t version : {2u, 3u, 4u, 5u, control::kVersion + 1}) {
    SCOPED_TRACE(version);
    std::string data = pristine_.at(control_);
    EncodeFixed32(&data[8], version);
    ChecksumStream sum;
    sum.Update(data.data(), control::kHeaderChecksumOffset);
    if (version >= 3 && version <= 5) {
      sum.Update(data.data() + control::kIdentityOffset,
                 control::kIdentityEnd - control::kIdentityOffset);
    }
    EncodeFixed32(&data[control::kHeaderChecksumOffset], sum.Checksum32());
    WriteFile(dir_ + "/" + control_, data);
    auto db = DB::Open(options_, name_);
    ASSERT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition)
        << db.status();
    EXPECT_TRUE(absl::StrContains(
        db.status().message(),
        absl::StrCat("control format version ", version, ", this build reads ",
                     control::kVersion)))
        << db.status();
  }
  Restore();
  auto db = DB::Open(options_, name_);
  ASSERT_THAT(db.status(), IsOk());
  std::string value;
  EXPECT_THAT((*db)->Get("batch-b", &value), IsOk());
  EXPECT_EQ(value, "b");
}

TEST_P(CorruptionTest, LogSegment) {
  std::set<size_t> offsets = {0, 1, 7, 8, 12, 16, 24, 32, 40, 44, 48, 63};
  const std::vector<size_t> records = RecordOffsets();
  ASSERT_GE(records.size(), 10u);
  for (size_t r : records) {
    const size_t at = log::kHeaderSize + r;
    for (size_t d : {0, 3, 4, 7, 8, 9, 12}) offsets.insert(at + d);
  }
  const uint64_t head =
      DecodeFixed64(pristine_.at(control_).data() + control::kHeadOffset);
  offsets.insert(log::kHeaderSize + static_cast<uint32_t>(head) - 1);
  offsets.insert(log::kHeaderSize + static_cast<uint32_t>(head));  // Past it.
  offsets.insert(pristine_.at(log_).size() - 1);
  offsets.insert(pristine_.at(log_).size());
  RunAll(AllKinds(log_, offsets));
  std::printf("log: %d corruptions tried, %d opened; calls: %s\n",
              tried_, opened_,
              absl::StrJoin(codes_, " ", absl::PairFormatter("=")).c_str());
}

TEST_P(CorruptionTest, SnapshotSegment) {
  std::set<size_t> offsets = {0,  1,  7,  8,  12, 16, 24,  32,  40,  48,
                              56, 64, 72, 80, 84, 88, 92, 96, 127};
  const std::string& snap = pristine_.at(snap_);
  snapshot::Reader reader;
  ASSERT_THAT(reader.Open(snap.data(), snap.size(), snap_), IsOk());
  for (uint64_t i = 0; i < reader.count(); i += 3) {
    snapshot::Entry entry;
    ASSERT_THAT(reader.EntryAt(i, &entry), IsOk());
    const size_t key_at = static_cast<size_t>(entry.key.data() - snap.data());
    const size_t value_at = static_cast<size_t>(entry.value.data() - snap.data());
    // The entry's checksum, lengths, flags, key and value.
    for (size_t at : {key_at - 7, key_at - 3, key_at - 2, key_at - 1, key_at,
                      value_at, value_at + entry.value.size() - 1}) {
      offsets.insert(at);
    }
  }
  const size_t offsets_at = DecodeFixed64(snap.data() + 48);
  const size_t index_at = DecodeFixed64(snap.data() + 56);
  for (size_t at : {offsets_at, offsets_at + 8, offsets_at + 13, index_at,
                    index_at + 4, index_at + 8, snap.size() - 8, snap.size() - 1,
                    snap.size()}) {
    offsets.insert(at);
  }
  // Every slot of the hash index, flipped (probing must stay bounded).
  std::vector<Mutation> mutations = AllKinds(snap_, offsets);
  for (size_t at = index_at + 7; at < snap.size(); at += 8) {
    mutations.push_back({snap_, Mutation::kFlip, at});
  }
  RunAll(mutations);
  std::printf("snapshot: %d corruptions tried, %d opened; calls: %s\n",
              tried_, opened_,
              absl::StrJoin(codes_, " ", absl::PairFormatter("=")).c_str());
}

TEST_P(CorruptionTest, FlippedLogRecordNamesSegmentAndOffset) {
  // Opening reads no record (the index is shared): reading the damaged
  // entry's key reports it, naming the log and an offset inside the record.
  const std::vector<size_t> records = RecordOffsets();
  ASSERT_GE(records.size(), 3u);
  for (size_t i : {size_t{0}, size_t{2}, records.size() - 1}) {
    const size_t at = log::kHeaderSize + records[i];
    const size_t next =
        i + 1 < records.size()
            ? log::kHeaderSize + records[i + 1]
            : log::kHeaderSize +
                  static_cast<uint32_t>(DecodeFixed64(
                      pristine_.at(control_).data() + control::kHeadOffset));
    SCOPED_TRACE(absl::StrCat("record ", i, " at ", at));
    Restore();
    // The last byte of the record: of its last entry, which the index
    // points to (the batch's count is not read by a lookup).
    Apply({log_, Mutation::kFlip, next - 1});
    auto db = DB::Open(options_, name_);
    ASSERT_THAT(db.status(), IsOk());
    int damaged = 0;
    std::string value;
    for (const std::string& key : AllKeys()) {
      absl::Status s = (*db)->Get(key, &value);
      if (!absl::IsDataLoss(s)) continue;
      damaged++;
      EXPECT_TRUE(absl::StrContains(s.message(), log_)) << s;
      const size_t o = s.message().rfind("offset ");
      ASSERT_NE(o, absl::string_view::npos) << s;
      const size_t offset = std::stoul(std::string(s.message().substr(o + 7)));
      EXPECT_GE(offset, at) << s;
      EXPECT_LT(offset, next) << s;
    }
    EXPECT_GE(damaged, 1);
  }
  Restore();
  auto db = DB::Open(options_, name_);
  ASSERT_THAT(db.status(), IsOk());
}

TEST_P(CorruptionTest, LogEntryChangedAfterIndexingIsDataLoss) {
  // Another process with write access scribbles on a record after this
  // handle checked and indexed it: reading the key, iterating and
  // compacting report DataLoss naming the log, instead of returning the
  // snapshot's older value or dropping the key. Other keys still read.
  auto db = DB::Open(options_, name_);
  ASSERT_THAT(db.status(), IsOk());
  std::string value;
  ASSERT_THAT((*db)->Get(SnapKey(0), &value), IsOk());
  ASSERT_EQ(value, "overwritten in the log");
  const std::vector<size_t> records = RecordOffsets();
  ASSERT_GT(records.size(), static_cast<size_t>(kLogKeys));
  // The record of SnapKey(0)'s overwrite (small: never compressed); its
  // entry's tag follows the batch's 5-byte count.
  const size_t at = log::kHeaderSize + records[kLogKeys] +
                    log::kRecordHeaderSize + 5;
  ASSERT_EQ(pristine_.at(log_)[at], 1);  // A put.
  const int fd = open((dir_ + "/" + log_).c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "\x7f", 1, static_cast<off_t>(at)), 1);
  close(fd);
  absl::Status s = (*db)->Get(SnapKey(0), &value);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), log_)) << s;
  ASSERT_THAT((*db)->Get(SnapKey(2), &value), IsOk());
  EXPECT_EQ(value, ValueOf(SnapKey(2), 2));
  ASSERT_THAT((*db)->Get(LogKey(3), &value), IsOk());
  EXPECT_EQ(value, ValueOf(LogKey(3), 3));
  std::unique_ptr<Iterator> it = (*db)->NewIterator();
  EXPECT_TRUE(absl::IsDataLoss(it->status())) << it->status();
  s = (*db)->CompactLog();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_P(CorruptionTest, FlippedSnapshotEntryGivesDataLossOnGet) {
  const std::string& snap = pristine_.at(snap_);
  snapshot::Reader reader;
  ASSERT_THAT(reader.Open(snap.data(), snap.size(), snap_), IsOk());
  // Keys only in the snapshot: a small and a large (maybe compressed) value.
  for (int i : {5, 10}) {
    const std::string key = SnapKey(i);
    SCOPED_TRACE(key);
    snapshot::Entry entry;
    ASSERT_THAT(reader.Find(key, &entry), IsOk());
    const size_t value_at = static_cast<size_t>(entry.value.data() - snap.data());
    Restore();
    Apply({snap_, Mutation::kFlip, value_at + entry.value.size() / 2});
    auto db = DB::Open(options_, name_);
    ASSERT_THAT(db.status(), IsOk());
    std::string value;
    absl::Status s = (*db)->Get(key, &value);
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), snap_)) << s;
    PinnableValue pinned;
    EXPECT_TRUE(absl::IsDataLoss((*db)->GetPinned(key, &pinned)));
    // Other keys still read.
    ASSERT_THAT((*db)->Get(SnapKey(i + 1), &value), IsOk());
    EXPECT_EQ(value, ValueOf(SnapKey(i + 1), i + 1));
    ASSERT_THAT((*db)->Get(LogKey(3), &value), IsOk());
    // An iteration over it reports the damage.
    std::unique_ptr<Iterator> it = (*db)->NewIterator();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
    }
    EXPECT_TRUE(absl::IsDataLoss(it->status())) << it->status();
    // A compaction copies the entry whole, checksum and all: it succeeds
    // (the rest of the dictionary stays writable) and the damage is still
    // reported where it lies.
    ASSERT_THAT((*db)->CompactLog(), IsOk());
    EXPECT_TRUE(absl::IsDataLoss((*db)->Get(key, &value)));
    ASSERT_THAT((*db)->Get(LogKey(3), &value), IsOk());
    ASSERT_THAT((*db)->Get(SnapKey(i + 1), &value), IsOk());
    EXPECT_EQ(value, ValueOf(SnapKey(i + 1), i + 1));
    // A new write replaces the damaged value (and keeps the count right).
    std::string entries_before, entries_after;
    ASSERT_TRUE((*db)->GetProperty("ultradict.num-entries", &entries_before));
    ASSERT_THAT((*db)->Put(key, "repaired"), IsOk());
    ASSERT_THAT((*db)->Get(key, &value), IsOk());
    EXPECT_EQ(value, "repaired");
    ASSERT_TRUE((*db)->GetProperty("ultradict.num-entries", &entries_after));
    EXPECT_EQ(entries_before, entries_after);
  }
  Restore();
}

INSTANTIATE_TEST_SUITE_P(
    Compressions, CorruptionTest,
    ::testing::Values(Compression::kNoCompression,
                      Compression::kZstdCompression),
    [](const ::testing::TestParamInfo<Compression>& info) {
      return info.param == Compression::kNoCompression ? std::string("Plain")
                                                       : std::string("Zstd");
    });

}  // namespace
}  // namespace ultradict
