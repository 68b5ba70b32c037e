// index_corruption_test.cc: damaged bytes in the shared index of a live
// dictionary's log (log_index_format.h): its header words (magic, version,
// table_bits, keys, nodes_used, progress), every word of sampled nodes and
// both halves of every used slot of the current table. After each, the
// dictionary is opened and every key read (Get, an iteration), then a Put
// and a CompactLog, and every key read again: each answer must be the
// key's committed value, NotFound for a key that has none, or DataLoss
// naming the log segment; never a crash, an overread (ASan), a hang, or
// another value. Answers that are wrong are listed with their damage.
//
// Damage that the index cannot tell from data (no checksum covers its
// words) is tested apart, in the cases whose names say so.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/filename.h"
#include "db/log_format.h"
#include "db/log_index_format.h"
#include "db/log_reader.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/testutil.h"
#include "ultradict/db.h"
#include "util/coding.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::UniqueName;
using Model = std::map<std::string, std::optional<std::string>>;

// A value names its key and version: another key's value is told at once.
std::string ValueOf(const std::string& key, int version, bool big) {
  std::string v = absl::StrCat(key, "#", version, "=");
  const size_t size = big ? 700 : 12 + version;
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

// A byte of the log file xor'ed with a mask.
struct Damage {
  std::string what;
  size_t offset;
  uint8_t mask = 0xff;
};

class IndexCorruptionTest : public ::testing::TestWithParam<Compression> {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    name_ = UniqueName("idxcorrupt");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name_);
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0) << dir_;
    options_.directory = dir_;
    options_.compression = GetParam();
    options_.log_size = 1 << 16;
    options_.background_compaction = false;  // A fixed layout to damage.
    options_.write_lock_timeout_ms = 1000;
    ASSERT_NO_FATAL_FAILURE(Fill());
    auto files = port::ListDirectory(dir_);
    ASSERT_THAT(files.status(), IsOk());
    for (const std::string& f : *files) {
      pristine_[f] = ReadFile(dir_ + "/" + f);
      std::string n;
      FileType type;
      uint64_t gen;
      ASSERT_TRUE(ParseFileName(f, &n, &type, &gen)) << f;
      if (type == FileType::kLog) log_ = f;
    }
    ASSERT_FALSE(log_.empty());
    ASSERT_NO_FATAL_FAILURE(FindIndex());
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

  // Keys in the snapshot, overwritten and deleted in the log over several
  // records (chains of several nodes), and keys only in the log.
  void Fill() {
    auto db = DB::Open(options_, name_);
    ASSERT_THAT(db.status(), IsOk());
    for (int i = 0; i < 30; i++) {
      const std::string key = absl::StrCat("s", i);
      model_[key] = ValueOf(key, 0, i % 5 == 0);
      ASSERT_THAT((*db)->Put(key, *model_[key]), IsOk());
    }
    ASSERT_THAT((*db)->CompactLog(), IsOk());
    for (int round = 1; round <= 6; round++) {
      WriteBatch batch;
      for (int i = round % 3; i < 30; i += 3) {
        const std::string key = absl::StrCat("s", i);
        model_[key] = ValueOf(key, round, i % 5 == 0);
        batch.Put(key, *model_[key]);
      }
      for (int j = 0; j < 15; j++) {
        const std::string key = absl::StrCat("l", j);
        if ((j + round) % 7 == 0) {
          model_[key] = std::nullopt;
          batch.Delete(key);
        } else {
          model_[key] = ValueOf(key, round, j % 4 == 0);
          batch.Put(key, *model_[key]);
        }
      }
      ASSERT_THAT((*db)->Write(batch), IsOk());
      // Single puts as well: records of one entry.
      const std::string key = absl::StrCat("one", round % 4);
      model_[key] = ValueOf(key, round, false);
      ASSERT_THAT((*db)->Put(key, *model_[key]), IsOk());
    }
  }

  void FindIndex() {
    const std::string& log = pristine_.at(log_);
    log::Header h;
    ASSERT_THAT(log::ParseHeader(log.data(), log.size(), log_, &h), IsOk());
    index_at_ = log::IndexOffset(log::kHeaderSize, h.record_capacity);
    const char* area = log.data() + index_at_;
    uint32_t bits = DecodeFixed32(area + log::kTableBitsOffset);
    if (bits == 0) bits = h.first_slot_bits;
    nodes_used_ = DecodeFixed32(area + log::kNodesUsedOffset);
    ASSERT_GE(nodes_used_, 100u);
    first_bits_ = h.first_slot_bits;
    table_at_ =
        index_at_ + log::TableOffset(h.node_capacity, h.first_slot_bits, bits);
    for (size_t i = 0; i < (size_t{1} << bits); i++) {
      // A bucket: tag, prev, location, check; in use when its tag is not 0.
      const size_t at = table_at_ + log::kSlotSize * i;
      if (DecodeFixed32(log.data() + at) != 0) used_slots_.push_back(at);
    }
    ASSERT_GE(used_slots_.size(), 40u);
    const size_t filter_at = index_at_ + log::kIndexHeaderSize;
    for (size_t at = filter_at; at < filter_at + log::FilterBytes(first_bits_);
         at += 8) {
      if (DecodeFixed64(log.data() + at) != 0) used_filter_words_.push_back(at);
    }
    ASSERT_GE(used_filter_words_.size(), 10u);
  }

  size_t NodeAt(uint32_t i) const {
    return index_at_ + log::NodeOffset(first_bits_, i);
  }

  void Restore() {
    auto files = port::ListDirectory(dir_);
    ASSERT_THAT(files.status(), IsOk());
    for (const std::string& f : *files) unlink((dir_ + "/" + f).c_str());
    for (const auto& [f, data] : pristine_) WriteFile(dir_ + "/" + f, data);
  }

  // One answer for key: right, DataLoss naming the log, or wrong (noted).
  void Check(const Damage& d, const std::string& key, const absl::Status& s,
             const std::string& value, const Model& model) {
    auto it = model.find(key);
    const bool exists = it != model.end() && it->second.has_value();
    if (s.ok() && exists && value == *it->second) return right_++, void();
    if (absl::IsNotFound(s) && !exists) return right_++, void();
    if (absl::IsDataLoss(s)) {
      data_loss_++;
      EXPECT_TRUE(absl::StrContains(s.message(), log_) ||
                  absl::StrContains(s.message(), ".snap"))
          << d.what << ": " << s;
      return;
    }
    wrong_.push_back(absl::StrCat(d.what, ": ", key, " -> ",
                                  s.ok() ? value.substr(0, 12) : s.ToString()));
  }

  void ReadEverything(const Damage& d, DB* db, const Model& model) {
    for (const auto& [key, unused] : model) {
      std::string value;
      absl::Status s = db->Get(key, &value);
      Check(d, key, s, value, model);
    }
    std::string value;
    Check(d, "missing", db->Get("missing", &value), value, model);
    std::unique_ptr<Iterator> it = db->NewIterator();
    Model seen;
    for (it->SeekToFirst(); it->Valid() && seen.size() < 1000; it->Next()) {
      seen[std::string(it->key())] = std::string(it->value());
    }
    if (!it->status().ok()) {
      Check(d, "(iteration)", it->status(), "", model);
      return;
    }
    Model live;
    for (const auto& [key, v] : model) {
      if (v.has_value()) live[key] = v;
    }
    if (seen != live) {
      wrong_.push_back(absl::StrCat(d.what, ": iteration shows ", seen.size(),
                                    " keys, not the model's ", live.size()));
    }
  }

  void Exercise(const Damage& d) {
    Restore();
    std::string data = pristine_.at(log_);
    ASSERT_LT(d.offset, data.size());
    data[d.offset] = static_cast<char>(data[d.offset] ^ d.mask);
    WriteFile(dir_ + "/" + log_, data);
    auto db = DB::Open(options_, name_);
    if (!db.ok()) {
      Check(d, "(open)", db.status(), "", model_);
      return;
    }
    ReadEverything(d, db->get(), model_);
    Model after = model_;
    absl::Status s = (*db)->Put("new-key", "new");
    if (s.ok()) after["new-key"] = "new";
    if (!s.ok()) Check(d, "(put)", s, "", model_);
    s = (*db)->CompactLog();
    if (!s.ok()) {
      Check(d, "(compact)", s, "", model_);
      return;
    }
    // What the compaction kept is now the snapshot: read it all again.
    ReadEverything(d, db->get(), after);
  }

  void RunAll(const std::vector<Damage>& damages) {
    for (const Damage& d : damages) {
      SCOPED_TRACE(d.what);
      if (std::getenv("INDEX_CORRUPTION_VERBOSE") != nullptr) {
        std::fprintf(stderr, "damage: %s\n", d.what.c_str());
      }
      Exercise(d);
      if (HasFatalFailure()) return;
    }
    Restore();
    std::printf("%s: %zu damages; answers right=%d data_loss=%d wrong=%zu\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                damages.size(), right_, data_loss_, wrong_.size());
  }

  Options options_;
  std::string name_, dir_, log_;
  std::map<std::string, std::string> pristine_;
  Model model_;
  size_t index_at_ = 0, table_at_ = 0;
  uint32_t nodes_used_ = 0;
  uint32_t first_bits_ = 0;
  std::vector<size_t> used_slots_;
  std::vector<size_t> used_filter_words_;  // Offsets of non-zero ones.
  int right_ = 0, data_loss_ = 0;
  std::vector<std::string> wrong_;
};

TEST_P(IndexCorruptionTest, HeaderWords) {
  std::vector<Damage> damages;
  const std::pair<const char*, size_t> words[] = {
      {"magic", 0},       {"magic", 7},       {"version", 8},
      {"table_bits", 64}, {"table_bits", 67}, {"keys", 68},
      {"nodes_used", 72}, {"nodes_used", 75}, {"progress", 80},
      {"progress", 83},   {"progress", 84},   {"progress", 87}};
  for (const auto& [what, at] : words) {
    for (uint8_t mask : {uint8_t{0xff}, uint8_t{0x01}}) {
      damages.push_back({absl::StrCat(what, " byte ", at, " ^", int{mask}),
                         index_at_ + at, mask});
    }
  }
  RunAll(damages);
  EXPECT_TRUE(wrong_.empty()) << absl::StrJoin(wrong_, "\n");
}

// The index's `keys` word is shared memory that nothing checks, and
// CollectIndexChanges (CompactLog's, and NewIterator's when the log holds
// many overwrites) sizes an allocation by it. With its high byte damaged
// (~4e9 keys) the reserve threw std::bad_alloc out of NewIterator and
// CompactLog (found by this test, issue 19); LogIndex::keys() is now
// bounded by the nodes used, since every key has a node. (NewIterator
// compares it with the nodes used to choose how to collect, so with this
// damage it reads the log in order instead.)
TEST_P(IndexCorruptionTest, KeysWordDamagedIsNotAnAllocationSize) {
  RunAll({{"keys byte 71 ^255", index_at_ + log::kKeysOffset + 3},
          {"keys byte 70 ^255", index_at_ + log::kKeysOffset + 2}});
  EXPECT_TRUE(wrong_.empty()) << absl::StrJoin(wrong_, "\n");
}

TEST_P(IndexCorruptionTest, NodeRefsAndSlotRefs) {
  std::vector<Damage> damages;
  for (uint32_t i = 0; i < nodes_used_; i += 5) {
    // A node: location, check, prev (1 + an older node), bucket. prev,
    // and the low byte of each other word but the location.
    damages.push_back({absl::StrCat("node ", i, " check"), NodeAt(i) + 4});
    damages.push_back({absl::StrCat("node ", i, " prev"), NodeAt(i) + 8});
    damages.push_back({absl::StrCat("node ", i, " prev high"), NodeAt(i) + 11});
    damages.push_back({absl::StrCat("node ", i, " bucket"), NodeAt(i) + 12});
  }
  for (size_t k = 0; k < used_slots_.size(); k += 2) {
    const size_t at = used_slots_[k];
    damages.push_back({absl::StrCat("bucket check at ", at), at + 12});
    damages.push_back({absl::StrCat("bucket prev at ", at), at + 4});
    damages.push_back({absl::StrCat("bucket prev high at ", at), at + 7});
  }
  RunAll(damages);
  EXPECT_TRUE(wrong_.empty()) << absl::StrJoin(wrong_, "\n");
}

// Locations, slot tags and the filter carry no redundancy: a location
// moved to another entry, a tag changed or a filter bit cleared can make a
// key read an older version (or miss its newest), which no reader can tell
// from data. This measures how often flipped bytes there do that, and
// checks the rest holds: never another key's value, a crash or a hang.
TEST_P(IndexCorruptionTest, NodeLocationsSlotTagsAndFilterAreNotChecked) {
  std::vector<Damage> damages;
  for (uint32_t i = 0; i < nodes_used_; i += 5) {
    damages.push_back({absl::StrCat("node ", i, " location"), NodeAt(i)});
    damages.push_back(
        {absl::StrCat("node ", i, " location b1"), NodeAt(i) + 1});
    damages.push_back(
        {absl::StrCat("node ", i, " location high"), NodeAt(i) + 3, 0x40});
  }
  for (size_t k = 0; k < used_slots_.size(); k += 2) {
    const size_t at = used_slots_[k];
    damages.push_back({absl::StrCat("bucket tag at ", at), at});
    damages.push_back({absl::StrCat("bucket location at ", at), at + 8});
  }
  for (size_t k = 0; k < used_filter_words_.size(); k++) {
    const size_t at = used_filter_words_[k];
    damages.push_back({absl::StrCat("filter word at ", at), at});
    damages.push_back({absl::StrCat("filter word high at ", at), at + 7});
  }
  RunAll(damages);
  for (const std::string& w : wrong_) {
    // "<damage>: <key> -> <value>": a value is the key's own or an error.
    const size_t colon = w.find(": ");
    const size_t arrow = w.find(" -> ");
    if (colon == std::string::npos || arrow == std::string::npos) continue;
    const std::string key = w.substr(colon + 2, arrow - colon - 2);
    const std::string value = w.substr(arrow + 4);
    if (key[0] == '(' || absl::StrContains(value, "NOT_FOUND") ||
        absl::StrContains(w, "iteration")) {
      continue;
    }
    EXPECT_TRUE(absl::StartsWith(value, absl::StrCat(key, "#")) ||
                absl::StartsWith(value, "new"))
        << "another key's value: " << w;
  }
  std::printf("undetectable by design (stale or missing answers):\n  %s\n",
              absl::StrJoin(wrong_, "\n  ").c_str());
}

INSTANTIATE_TEST_SUITE_P(Compressions, IndexCorruptionTest,
                         ::testing::Values(Compression::kNoCompression,
                                           Compression::kZstdCompression),
                         [](const ::testing::TestParamInfo<Compression>& info) {
                           return info.param == Compression::kNoCompression
                                      ? std::string("Plain")
                                      : std::string("Zstd");
                         });

}  // namespace
}  // namespace ultradict
