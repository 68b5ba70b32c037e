// compaction_test.cc: compaction's units on their own (db/compaction.h),
// without a DB: key order by prefix, collapsing changes, merging them into
// a snapshot, collecting them from an index or a log, and the size rule of
// the next log.

#include "db/compaction.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "db/log_format.h"
#include "gtest/gtest.h"
#include "tests/generation_testutil.h"
#include "tests/testutil.h"

namespace ultradict {
namespace {

using testing::GenerationFixture;
using testing::IsOk;

int Sign(int x) { return (x > 0) - (x < 0); }

// The contents of g's snapshot, in its order.
std::vector<std::pair<std::string, std::string>> SnapshotContents(
    const Generation& g) {
  std::vector<std::pair<std::string, std::string>> out;
  for (uint64_t i = 0; i < g.snapshot.count(); i++) {
    snapshot::Entry entry;
    EXPECT_THAT(g.snapshot.EntryAt(i, &entry), IsOk());
    std::string scratch;
    std::string_view value;
    EXPECT_THAT(snapshot::EntryValue(entry, &scratch, &value), IsOk());
    out.emplace_back(std::string(entry.key), std::string(value));
  }
  return out;
}

TEST(CompactionTest, CompareKeysIsBytewiseAroundThePrefixEdge) {
  const std::string p16 = "abcdefghijklmnop";  // Exactly the prefix.
  const std::vector<std::string> keys = {
      "",
      std::string(1, '\0'),
      std::string(2, '\0'),
      "a",
      std::string("a\0", 2),
      "ab",
      p16.substr(0, 15),
      p16,
      p16 + std::string(1, '\0'),
      p16 + "a",
      p16 + "b",
      p16 + "ba",
      "abcdefghijklmnoq",
      "abcdefghijklmnoq" + std::string(1, '\0'),
      std::string(16, '\0') + "x",
      std::string(16, '\0'),
      "\x7f",
      "\x80",
      "\xff",
      std::string(20, '\xff'),
  };
  for (const std::string& a : keys) {
    for (const std::string& b : keys) {
      EXPECT_EQ(Sign(CompareKeys(PrefixOf(a), a, PrefixOf(b), b)),
                Sign(a.compare(b)))
          << absl::CEscape(a) << " vs " << absl::CEscape(b);
    }
  }
}

TEST(CompactionTest, SortChangesKeepsTheLastChangeOfEachKey) {
  std::vector<std::string> values = {"1", "2", "3", "4", "5"};
  std::vector<Change> changes = {
      MakeChange("b", LogValue{values[0], false}, 0),
      MakeChange("a", LogValue{values[1], false}, 1),
      MakeChange("b", LogValue{"", true}, 2),
      MakeChange("a", LogValue{values[2], false}, 3),
      MakeChange("c", LogValue{values[3], false}, 4),
      MakeChange("b", LogValue{values[4], false}, 5),
  };
  // Order is what decides, not position.
  std::reverse(changes.begin(), changes.end());
  SortChanges(&changes);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].key, "a");
  EXPECT_EQ(changes[0].value.value, "3");
  EXPECT_EQ(changes[1].key, "b");
  EXPECT_EQ(changes[1].value.value, "5");
  EXPECT_FALSE(changes[1].value.deleted);
  EXPECT_EQ(changes[2].key, "c");
}

TEST(CompactionTest, SortChangesKeepsALastDelete) {
  std::vector<Change> changes = {
      MakeChange("k", LogValue{"v", false}, 0),
      MakeChange("k", LogValue{"", true}, 1),
  };
  SortChanges(&changes);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].value.deleted);
}

// Large lists are sorted by their prefixes' bytes first (a radix sort,
// from 2^18 changes on), then by key and order within equal prefixes;
// smaller ones by comparison. Both are checked against a model, with keys
// of every kind the prefix makes hard: decimal keys that share most bytes, long
// keys equal in their first 16 bytes, keys that differ only by trailing zero
// bytes, the empty key, and changes whose order is not their position.
// Lists whose prefixes differ only within 8 consecutive bytes are sorted by
// those (12-byte refs, from 2^13 changes on): keys that vary in their last
// bytes, in bytes 4-11 (a window across the prefix's two words), in their
// first 8, and lists whose first changes vary in their last bytes only.
// 8 bytes of r * an odd constant: distinct for distinct r, and every
// byte varies over many r.
std::string Scrambled(uint64_t r) {
  const uint64_t x = r * 0x9E3779B97F4A7C15ULL;
  std::string bytes(8, '\0');
  for (int b = 0; b < 8; b++) bytes[b] = static_cast<char>(x >> (8 * (7 - b)));
  return bytes;
}

TEST(CompactionTest, SortChangesOfLargeListsMatchesAModel) {
  std::mt19937_64 rng(7);
  enum Kind { kMixed, kLastBytes, kMiddleBytes, kFirstBytes, kLateWide };
  for (const auto& [n, kind] :
       std::vector<std::pair<size_t, Kind>>{{5000, kMixed},
                                            {20000, kLastBytes},
                                            {300000, kMixed},
                                            {300000, kLastBytes},
                                            {300000, kMiddleBytes},
                                            {300000, kFirstBytes},
                                            {20000, kLateWide},
                                            {300000, kLateWide}}) {
    std::vector<std::string> keys;  // Stable storage for the views.
    std::vector<std::string> values;
    keys.reserve(n);
    values.reserve(n);
    for (size_t i = 0; i < n; i++) {
      std::string key;
      // kLateWide: db_bench's keys first, then any (the sorter guesses
      // which bytes vary from the first changes, and must find it out).
      const Kind now = kind != kLateWide ? kind
                       : i < 6000        ? kLastBytes
                                         : kMixed;
      switch (now == kMixed ? rng() % 5 : 5 + now) {
        case 0:  // Decimal, 16 bytes, few distinct: many overwrites.
          key = absl::StrCat(std::string(10, '0'), 100000 + rng() % 3000);
          break;
        case 1:  // Long, sharing the prefix.
          key = std::string(16, 'p') + std::to_string(rng() % 500);
          break;
        case 2:  // Trailing zero bytes.
          key = std::string("z") + std::string(rng() % 20, '\0');
          break;
        case 3:
          key = "";
          break;
        case 4:  // Random bytes, 0-24 long.
          key.resize(rng() % 25);
          for (char& c : key) c = static_cast<char>(rng() % 4);
          break;
        case 5 + kLastBytes: {  // db_bench's: 16 decimal digits, < 10^6.
          char text[17];
          std::snprintf(text, sizeof(text), "%016d",
                        static_cast<int>(rng() % 400000));
          key = text;
          break;
        }
        case 5 + kMiddleBytes:  // "tnt:", 8 varying bytes, ":suffix".
          key = "tnt:" + Scrambled(rng() % 250000) + ":suffix";
          break;
        default:  // kFirstBytes: 8 varying bytes, then a shared tail.
          key = Scrambled(rng() % 250000) + "/shared/tail";
      }
      keys.push_back(std::move(key));
      values.push_back(std::to_string(i));
    }
    // Orders are a shuffled 0..n-1: position does not decide.
    std::vector<size_t> orders(n);
    for (size_t i = 0; i < n; i++) orders[i] = i;
    std::shuffle(orders.begin(), orders.end(), rng);
    std::map<std::string, std::pair<size_t, std::string_view>> model;
    std::vector<Change> changes;
    for (size_t i = 0; i < n; i++) {
      const bool deleted = rng() % 7 == 0;
      changes.push_back(MakeChange(
          keys[i], LogValue{deleted ? std::string_view() : values[i], deleted},
          orders[i]));
      auto& latest = model[keys[i]];
      if (latest.second.data() == nullptr || orders[i] >= latest.first) {
        latest = {orders[i], deleted ? std::string_view("(deleted)")
                                     : std::string_view(values[i])};
      }
    }
    // SortChangeOrder (an iterator's) must give the same sequence.
    std::vector<Change> unmoved = changes;
    std::vector<uint32_t> order;
    SortChangeOrder(&unmoved, &order);
    SortChanges(&changes);
    ASSERT_EQ(changes.size(), model.size()) << n << " kind " << kind;
    ASSERT_EQ(order.size(), model.size()) << n << " kind " << kind;
    size_t i = 0;
    for (const auto& [key, latest] : model) {
      for (const Change* c : {&changes[i], &unmoved[order[i]]}) {
        ASSERT_EQ(c->key, key) << n << " kind " << kind << " at " << i;
        EXPECT_EQ(c->order, latest.first) << absl::CEscape(key);
        EXPECT_EQ(
            c->value.deleted ? std::string_view("(deleted)") : c->value.value,
            latest.second)
            << absl::CEscape(key);
      }
      i++;
    }
  }
}

TEST(CompactionTest, MergeAddsReplacesAndDropsDeleted) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g =
      fixture.Make({{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}});
  ASSERT_NE(g, nullptr);
  std::shared_ptr<Generation> next =
      fixture.Next(*g, {{"b", std::nullopt},
                        {"c", std::string("33")},
                        {"e", std::string("5")},
                        {"0", std::string("0")},
                        {"x", std::nullopt},  // Deleting what is not there.
                        {"e", std::string("55")}});
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->gen, g->gen + 1);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"0", "0"}, {"a", "1"}, {"c", "33"}, {"d", "4"}, {"e", "55"}};
  EXPECT_EQ(SnapshotContents(*next), want);
}

TEST(CompactionTest, MergeOfManyLongKeysSharingThePrefix) {
  GenerationFixture fixture;
  std::map<std::string, std::string> contents;
  const std::string prefix(16, 'p');
  for (int i = 0; i < 300; i += 2) {
    contents[absl::StrCat(prefix, i)] = absl::StrCat("old", i);
  }
  std::shared_ptr<Generation> g = fixture.Make(contents);
  ASSERT_NE(g, nullptr);
  std::vector<testing::Update> updates;
  for (int i = 0; i < 300; i += 3) {
    updates.emplace_back(absl::StrCat(prefix, i), absl::StrCat("new", i));
    contents[absl::StrCat(prefix, i)] = absl::StrCat("new", i);
  }
  std::shared_ptr<Generation> next = fixture.Next(*g, updates);
  ASSERT_NE(next, nullptr);
  using Contents = std::vector<std::pair<std::string, std::string>>;
  const Contents want(contents.begin(), contents.end());
  EXPECT_EQ(SnapshotContents(*next), want);
}

TEST(CompactionTest, CollectLogChangesInOrderAndIndexChangesLatest) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  uint32_t end = 0;
  WriteBatch first;
  first.Put("k", "1");
  first.Put("j", "2");
  GenerationFixture::Append(g.get(), first, &end);
  const uint32_t first_end = end;
  WriteBatch second;
  second.Delete("k");
  GenerationFixture::Append(g.get(), second, &end);
  bool fits = false;
  ASSERT_THAT(g->IndexRecords(0, end, &fits, [] {}), IsOk());
  ASSERT_TRUE(fits);
  uint32_t progress, records;
  g->index.Progress(&progress, &records);
  ASSERT_EQ(progress, end);
  ASSERT_EQ(records, 2u);

  std::vector<Change> from_log;
  std::deque<std::string> buffers;
  int ticks = 0;
  ASSERT_THAT(
      CollectLogChanges(
          *g, 0, end, records, &buffers, [&ticks] { ticks++; }, &from_log),
      IsOk());
  ASSERT_EQ(from_log.size(), 3u);
  EXPECT_EQ(from_log[0].key, "k");
  EXPECT_EQ(from_log[1].key, "j");
  EXPECT_EQ(from_log[2].key, "k");
  EXPECT_TRUE(from_log[2].value.deleted);
  EXPECT_LT(from_log[0].order, from_log[2].order);
  EXPECT_EQ(ticks, 2);

  std::vector<Change> from_index;
  ASSERT_THAT(CollectIndexChanges(*g, end, &buffers, &from_index), IsOk());
  ASSERT_EQ(from_index.size(), 2u);
  SortChanges(&from_index);
  EXPECT_EQ(from_index[0].key, "j");
  EXPECT_EQ(from_index[1].key, "k");
  EXPECT_TRUE(from_index[1].value.deleted);
  // At an older head: the versions below it.
  std::vector<Change> older;
  ASSERT_THAT(CollectIndexChanges(*g, first_end, &buffers, &older), IsOk());
  ASSERT_EQ(older.size(), 2u);
  SortChanges(&older);
  EXPECT_EQ(older[1].key, "k");
  EXPECT_FALSE(older[1].value.deleted);
  EXPECT_EQ(older[1].value.value, "1");
}

// CollectLatestChanges reads the log in order while its entries are few
// more than its keys, and the index after many overwrites: either way,
// sorted, it gives each key's latest change below the head offset asked,
// as a model does, at the newest head and at older ones.
TEST(CompactionTest, CollectLatestChangesFromTheLogOrTheIndexAlike) {
  GenerationFixture fixture(1 << 20);
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  using Model = std::map<std::string, std::optional<std::string>>;
  Model model;
  std::vector<std::pair<uint32_t, Model>> heads;  // (end, model there)
  uint32_t end = 0;
  auto append = [&](const std::string& key, std::optional<std::string> v) {
    WriteBatch batch;
    if (v.has_value()) {
      batch.Put(key, *v);
    } else {
      batch.Delete(key);
    }
    const uint32_t from = end;
    GenerationFixture::Append(g.get(), batch, &end);
    bool fits = false;
    ASSERT_THAT(g->IndexRecords(from, end, &fits, [] {}), IsOk());
    ASSERT_TRUE(fits);
    model[key] = v;
    heads.emplace_back(end, model);
  };
  auto check = [&](const char* phase) {
    std::vector<size_t> picked;  // Every 37th head, and the newest.
    for (size_t h = 0; h < heads.size(); h += 37) picked.push_back(h);
    picked.push_back(heads.size() - 1);
    for (const size_t h : picked) {
      const auto& [at, expected] = heads[h];
      std::vector<Change> changes;
      std::deque<std::string> buffers;
      ASSERT_THAT(CollectLatestChanges(*g, at, &buffers, &changes), IsOk());
      SortChanges(&changes);
      ASSERT_EQ(changes.size(), expected.size()) << phase << " at " << at;
      size_t i = 0;
      for (const auto& [key, v] : expected) {
        const Change& c = changes[i++];
        EXPECT_EQ(c.key, key) << phase << " at " << at;
        EXPECT_EQ(c.value.deleted, !v.has_value()) << phase << " " << key;
        if (v.has_value()) {
          EXPECT_EQ(c.value.value, *v) << phase << " " << key;
        }
      }
    }
  };
  for (int i = 0; i < 100; i++) {
    append(absl::StrCat("k", 1000 + i), absl::StrCat("first ", i));
  }
  // Every entry is its key's only one: the log is read in order.
  EXPECT_EQ(g->index.nodes_used(), 100u);
  EXPECT_EQ(g->index.keys(), 100u);
  check("log");
  for (int i = 0; i < 300; i++) {
    const std::string key = absl::StrCat("k", 1000 + i % 10);
    append(key, i % 50 == 49
                    ? std::nullopt
                    : std::optional<std::string>(absl::StrCat("again ", i)));
  }
  // Four entries per key: the index is walked.
  EXPECT_EQ(g->index.nodes_used(), 400u);
  EXPECT_EQ(g->index.keys(), 100u);
  check("index");
}

// The two ways CollectLatestChanges chooses between, and its choice, agree
// with a model (after SortChanges) at every head offset, with WriteBatches
// of several entries (the same key twice in one batch), deletions,
// compressed records, long keys sharing their prefix and keys differing by
// trailing zeros. (From the review of the change that added the choice.)
TEST(CompactionTest, LogAndIndexWaysAgreeAtEveryHead) {
  GenerationFixture fixture(1 << 20);
  std::shared_ptr<Generation> g = fixture.Make({});
  ASSERT_NE(g, nullptr);
  std::mt19937_64 rng(19);
  const std::vector<std::string> keys = {
      "",
      std::string(1, '\0'),
      "a",
      std::string("a\0", 2),
      std::string("a\0\0", 3),
      std::string(16, 'p'),
      std::string(16, 'p') + "x",
      std::string(16, 'p') + "y",
      std::string(16, 'p') + std::string(1, '\0'),
      "k1",
      "k2",
      "k3"};
  using Model = std::map<std::string, std::optional<std::string>>;
  Model model;
  std::vector<std::pair<uint32_t, Model>> heads;
  heads.emplace_back(0, model);
  uint32_t end = 0;
  int compressed_records = 0;
  for (int r = 0; r < 400; r++) {
    WriteBatch batch;
    const int ops = 1 + static_cast<int>(rng() % 4);
    const bool compress = rng() % 3 == 0;
    for (int o = 0; o < ops; o++) {
      const std::string& key = keys[rng() % keys.size()];
      if (rng() % 6 == 0) {
        batch.Delete(key);
        model[key] = std::nullopt;
      } else {
        // Compressible when asked: zstd keeps it only if smaller.
        const std::string value =
            absl::StrCat(r, "/", o, compress ? std::string(200, 'v') : "");
        batch.Put(key, value);
        model[key] = value;
      }
    }
    if (compress) compressed_records++;
    const uint32_t from = end;
    GenerationFixture::Append(g.get(), batch, &end, compress);
    bool fits = false;
    ASSERT_THAT(g->IndexRecords(from, end, &fits, [] {}), IsOk());
    ASSERT_TRUE(fits);
    heads.emplace_back(end, model);
  }
  ASSERT_GT(compressed_records, 50);
  for (const auto& [at, expected] : heads) {
    std::vector<Change> by_log, by_index, latest;
    std::deque<std::string> b1, b2, b3;
    ASSERT_THAT(CollectLogChanges(
                    *g, 0, at, 0, &b1, [] {}, &by_log),
                IsOk());
    ASSERT_THAT(CollectIndexChanges(*g, at, &b2, &by_index), IsOk());
    ASSERT_THAT(CollectLatestChanges(*g, at, &b3, &latest), IsOk());
    SortChanges(&by_log);
    SortChanges(&by_index);
    SortChanges(&latest);
    for (const std::vector<Change>* list : {&by_log, &by_index, &latest}) {
      ASSERT_EQ(list->size(), expected.size()) << at;
      size_t i = 0;
      for (const auto& [key, v] : expected) {
        const Change& c = (*list)[i++];
        ASSERT_EQ(c.key, key) << at;
        ASSERT_EQ(c.value.deleted, !v.has_value())
            << at << " " << absl::CEscape(key);
        if (v.has_value()) {
          ASSERT_EQ(c.value.value, *v) << at;
        }
      }
    }
  }
}

// The radix sort against a model on lists just past 2^18 changes whose
// keys make the skipped bytes and the runs of equal prefixes matter: one
// varying prefix byte (the last, or the first), one key, a prefix all keys
// share, trailing zeros across the 16-byte edge, high bytes.
TEST(CompactionTest, SortChangesOfSkewedLargeLists) {
  std::mt19937_64 rng(23);
  const size_t n = (size_t{1} << 18) + 17;
  for (int family = 0; family < 6; family++) {
    std::vector<std::string> keys(n);
    for (size_t i = 0; i < n; i++) {
      std::string& key = keys[i];
      switch (family) {
        case 0:  // Only the last prefix byte varies.
          key = std::string(15, 'q') + static_cast<char>(rng() % 256);
          break;
        case 1:  // Only the first byte varies, long keys.
          key = std::string(1, static_cast<char>(rng() % 256)) +
                std::string(20, 'r') + std::to_string(rng() % 50);
          break;
        case 2:  // One key, many changes.
          key = "same";
          break;
        case 3:  // All share a 16-byte prefix, differ after it.
          key = std::string(16, 's') + std::to_string(rng() % 100000);
          break;
        case 4:  // Trailing zeros across the 16-byte edge.
          key = "t" + std::string(rng() % 40, '\0');
          break;
        default:  // High bytes (sign), 0-18 long.
          key.resize(rng() % 19);
          for (char& c : key) c = static_cast<char>(0x7e + rng() % 4);
      }
    }
    std::vector<size_t> orders(n);
    for (size_t i = 0; i < n; i++) orders[i] = i * 3;
    std::shuffle(orders.begin(), orders.end(), rng);
    std::map<std::string, std::pair<size_t, bool>> model;
    std::vector<Change> changes;
    for (size_t i = 0; i < n; i++) {
      const bool deleted = rng() % 5 == 0;
      changes.push_back(
          MakeChange(keys[i], LogValue{keys[i], deleted}, orders[i]));
      auto it = model.find(keys[i]);
      if (it == model.end() || orders[i] > it->second.first) {
        model[keys[i]] = {orders[i], deleted};
      }
    }
    SortChanges(&changes);
    ASSERT_EQ(changes.size(), model.size()) << family;
    size_t i = 0;
    for (const auto& [key, latest] : model) {
      const Change& c = changes[i++];
      ASSERT_EQ(c.key, key) << family;
      ASSERT_EQ(c.order, latest.first) << family;
      ASSERT_EQ(c.value.deleted, latest.second) << family;
    }
  }
}

TEST(CompactionTest, NextLogCapacityRule) {
  const size_t initial = 64 * 1024;
  const size_t snap_factor = port::kSparseSegments ? 8 : 4;
  const size_t carry_factor = port::kSparseSegments ? 4 : 2;
  for (size_t snap : {size_t{0}, size_t{1000}, size_t{5000}, size_t{1} << 20}) {
    for (size_t carried : {size_t{0}, size_t{100}, size_t{1} << 16}) {
      const size_t got = NextLogCapacity(initial, snap, carried);
      const size_t want_records =
          std::max(initial, snap_factor * snap) + carry_factor * carried;
      // Bytes of records, in whole pages.
      EXPECT_GE(got, want_records) << snap << " " << carried;
      EXPECT_LT(got, want_records + 4096);
      EXPECT_EQ(got % 4096, 0u);
    }
  }
  // Never more than the index can locate.
  EXPECT_EQ(NextLogCapacity(initial, log::kMaxRecordBytes, 0),
            log::kMaxRecordBytes);
  EXPECT_EQ(NextLogCapacity(initial, 0, log::kMaxRecordBytes),
            log::kMaxRecordBytes);
}

TEST(CompactionTest, PrepareGenerationCarriesAndSizes) {
  GenerationFixture fixture;
  std::shared_ptr<Generation> g = fixture.Make({{"a", "1"}});
  ASSERT_NE(g, nullptr);
  uint32_t end = 0;
  WriteBatch batch;
  batch.Put("b", "2");
  GenerationFixture::Append(g.get(), batch, &end);
  bool fits = false;
  ASSERT_THAT(g->IndexRecords(0, end, &fits, [] {}), IsOk());
  std::vector<Change> changes;
  port::Segment snap;
  uint64_t count = 0;
  const GenerationFiles& files = fixture.files();
  ASSERT_THAT(BuildSnapshot(
                  *g, &changes, snapshot::BuildOptions(),
                  files.SnapshotPath(g->gen + 1), [] {}, &snap, &count),
              IsOk());
  EXPECT_EQ(count, 1u);
  const size_t snap_size = snap.size();
  std::shared_ptr<Generation> next;
  ASSERT_THAT(PrepareGeneration(
                  *g, std::move(snap), files, files.LogPath(g->gen + 1), 0, end,
                  /*base_sequence=*/41, [] {}, &next),
              IsOk());
  EXPECT_EQ(next->log_header.base_sequence, 41u);
  EXPECT_EQ(next->log_header.record_capacity,
            NextLogCapacity(files.initial_log_size, snap_size, end));
  EXPECT_EQ(next->log_segment.size(), log::FileSize(next->log_header));
  // Its index has room for what it carries (at least twice) and more.
  EXPECT_GE(next->index.node_capacity(), 2u);
  uint32_t progress, records;
  next->index.Progress(&progress, &records);
  EXPECT_EQ(progress, end);
  EXPECT_EQ(records, 1u);
  std::string scratch;
  std::string_view value;
  ASSERT_THAT(next->Lookup("b", &scratch, &value, end), IsOk());
  EXPECT_EQ(value, "2");
  EXPECT_TRUE(absl::IsNotFound(next->Lookup("b", &scratch, &value, 0)));
  ASSERT_THAT(next->Lookup("a", &scratch, &value, 0), IsOk());
  EXPECT_EQ(value, "1");
}

}  // namespace
}  // namespace ultradict
