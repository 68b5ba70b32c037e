// log_run_test.cc: the sorted runs of a log (db/log_run.h) and what builds
// and reads them: LogRuns alone over an area in memory (publication,
// older heads, a full area, damage, a builder that died, builders racing),
// then RunBuilder and the iterator over generations, against a model at
// many heads, incremental runs, compressed logs and damaged runs.

#include "db/log_run.h"

#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "db/changes.h"
#include "db/db_iter.h"
#include "db/generation.h"
#include "db/log_run_format.h"
#include "db/run_builder.h"
#include "gtest/gtest.h"
#include "tests/generation_testutil.h"
#include "tests/testutil.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ultradict {
namespace {

using testing::GenerationFixture;
using testing::IsOk;

constexpr uint32_t kNodes = 1024;

// A run area in memory, aligned for its atomic words.
class LogRunsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    area_.assign(log::RunAreaSize(kNodes) / 8, 0);
    ASSERT_THAT(
        runs_.Open(Area(), log::RunAreaSize(kNodes), 1 << 20, kNodes, "L"),
        IsOk());
  }
  char* Area() { return reinterpret_cast<char*>(area_.data()); }

  // Adds a run of `count` entries (location i * 10 + end, check i).
  bool Add(uint32_t end, uint32_t count) {
    bool added = false;
    EXPECT_THAT(runs_.Add(
                    end, count, count,
                    [&](char* dst) {
                      for (uint32_t i = 0; i < count; i++) {
                        EncodeFixed32(dst + 8 * i, i * 10 + end);
                        EncodeFixed32(dst + 8 * i + 4, i);
                      }
                    },
                    [](size_t, size_t) { return absl::OkStatus(); }, &added),
                IsOk());
    return added;
  }
  // The end of the run Newest finds at `end`, or 0 for none.
  uint32_t NewestAt(uint32_t end) {
    LogRuns::Run run;
    bool found = false;
    EXPECT_THAT(runs_.Newest(end, &run, &found), IsOk());
    return found ? run.end : 0;
  }

  std::vector<uint64_t> area_;
  LogRuns runs_;
};

TEST_F(LogRunsTest, EmptyAreaHasNoRun) {
  EXPECT_EQ(NewestAt(UINT32_MAX), 0u);
  uint32_t end, nodes;
  EXPECT_FALSE(runs_.NewestEnd(&end, &nodes));
}

TEST_F(LogRunsTest, RunIsFoundFromItsEndOn) {
  ASSERT_TRUE(Add(100, 3));
  EXPECT_EQ(NewestAt(99), 0u);
  EXPECT_EQ(NewestAt(100), 100u);
  LogRuns::Run run;
  bool found = false;
  ASSERT_THAT(runs_.Newest(500, &run, &found), IsOk());
  ASSERT_TRUE(found);
  EXPECT_EQ(run.count, 3u);
  EXPECT_EQ(run.nodes, 3u);
  EXPECT_EQ(run.location(2), 120u);
  EXPECT_EQ(run.check(2), 2u);
  EXPECT_EQ(run.file_offset, (1u << 20) + log::kRunAreaHeaderSize);
  uint32_t end = 0, nodes = 0;
  ASSERT_TRUE(runs_.NewestEnd(&end, &nodes));
  EXPECT_EQ(end, 100u);
}

TEST_F(LogRunsTest, OlderRunsServeOlderHeads) {
  ASSERT_TRUE(Add(100, 3));
  ASSERT_TRUE(Add(200, 5));
  ASSERT_TRUE(Add(300, 7));
  EXPECT_EQ(NewestAt(50), 0u);
  EXPECT_EQ(NewestAt(150), 100u);
  EXPECT_EQ(NewestAt(299), 200u);
  EXPECT_EQ(NewestAt(300), 300u);
}

TEST_F(LogRunsTest, RunNoNewerThanThePublishedOneIsNotPublished) {
  ASSERT_TRUE(Add(200, 5));
  EXPECT_FALSE(Add(100, 3));
  EXPECT_FALSE(Add(200, 3));
  EXPECT_EQ(NewestAt(1000), 200u);
  EXPECT_EQ(NewestAt(150), 0u);
}

TEST_F(LogRunsTest, FullAreaAddsNothing) {
  const uint32_t fits =
      static_cast<uint32_t>((log::RunAreaSize(kNodes) -
                             log::kRunAreaHeaderSize - log::kRunHeaderSize) /
                            log::kRunEntrySize);
  EXPECT_FALSE(Add(100, fits + 1));
  ASSERT_TRUE(Add(100, fits));
  EXPECT_FALSE(Add(200, 1));
  EXPECT_EQ(NewestAt(1000), 100u);
}

// A builder that died after taking its bytes (or while writing them)
// leaves nothing visible; the next run goes after its bytes.
TEST_F(LogRunsTest, BuilderThatDiedLeavesNothingVisible) {
  ASSERT_TRUE(Add(100, 3));
  auto* claimed =
      reinterpret_cast<std::atomic<uint64_t>*>(Area() + log::kRunClaimedOffset);
  const uint64_t before = claimed->load();
  claimed->store(before + 4096);  // Taken, half written, never published.
  std::memset(Area() + log::kRunAreaHeaderSize + before, 0x5a, 1000);
  EXPECT_EQ(NewestAt(1000), 100u);
  ASSERT_TRUE(Add(200, 3));
  LogRuns::Run run;
  bool found = false;
  ASSERT_THAT(runs_.Newest(1000, &run, &found), IsOk());
  ASSERT_TRUE(found);
  EXPECT_EQ(run.end, 200u);
  EXPECT_GE(run.file_offset,
            (1u << 20) + log::kRunAreaHeaderSize + before + 4096);
  EXPECT_EQ(NewestAt(150), 100u);  // Still linked to the older one.
}

TEST_F(LogRunsTest, DamageIsDataLossNamingTheOffset) {
  ASSERT_TRUE(Add(100, 3));
  const size_t at = log::kRunAreaHeaderSize;
  LogRuns::Run run;
  bool found = false;

  // An entry: the run's checksum.
  Area()[at + log::kRunHeaderSize + 5] ^= 1;
  absl::Status s = runs_.Newest(1000, &run, &found);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(absl::StrContains(
      s.message(),
      "L: run checksum mismatch at offset " + std::to_string((1 << 20) + at)))
      << s;
  Area()[at + log::kRunHeaderSize + 5] ^= 1;
  ASSERT_THAT(runs_.Newest(1000, &run, &found), IsOk());

  // The header (its count).
  Area()[at + log::kRunCountOffset] ^= 1;
  s = runs_.Newest(1000, &run, &found);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "damaged run header")) << s;
  uint32_t end, nodes;
  EXPECT_FALSE(runs_.NewestEnd(&end, &nodes));
  Area()[at + log::kRunCountOffset] ^= 1;

  // The reference to the newest run.
  auto* current =
      reinterpret_cast<std::atomic<uint64_t>*>(Area() + log::kRunCurrentOffset);
  const uint64_t good = current->load();
  for (uint64_t bad : {uint64_t{1} << 40, uint64_t{2}, good + 64}) {
    current->store(bad);
    s = runs_.Newest(1000, &run, &found);
    EXPECT_TRUE(absl::IsDataLoss(s)) << bad << " " << s;
  }
  current->store(good);
  ASSERT_THAT(runs_.Newest(1000, &run, &found), IsOk());
}

TEST_F(LogRunsTest, LinksGoBackOnly) {
  ASSERT_TRUE(Add(100, 3));
  ASSERT_TRUE(Add(200, 3));
  auto* current =
      reinterpret_cast<std::atomic<uint64_t>*>(Area() + log::kRunCurrentOffset);
  const size_t newest = current->load() - 1;
  // Link the newest run to itself, with its header checksum made right.
  char* h = Area() + newest;
  EncodeFixed32(h + log::kRunPreviousOffset, static_cast<uint32_t>(newest + 1));
  EncodeFixed32(h + log::kRunHeaderChecksumOffset,
                Checksum32(h, log::kRunHeaderChecksumOffset));
  LogRuns::Run run;
  bool found = false;
  absl::Status s = runs_.Newest(150, &run, &found);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "does not go back")) << s;
  EXPECT_EQ(NewestAt(1000), 200u);  // The newest itself is whole.
}

// Two builders racing: the one that took its bytes first (lower in the
// area) publishes last, with an older end. The newer run, published
// meanwhile, must stay current (LogRuns::Add: "false ... when a run with
// an end at or past `end` was published meanwhile").
TEST_F(LogRunsTest, OlderRunPublishedLastDoesNotReplaceANewerOne) {
  ASSERT_TRUE(Add(100, 3));
  bool inner_added = false, outer_added = false;
  ASSERT_THAT(
      runs_.Add(
          200, 4, 4,
          [&](char* dst) {
            std::memset(dst, 0, 4 * log::kRunEntrySize);
            // Meanwhile another builder takes the bytes after
            // these and publishes a newer run.
            inner_added = Add(300, 5);
          },
          [](size_t, size_t) { return absl::OkStatus(); }, &outer_added),
      IsOk());
  ASSERT_TRUE(inner_added);
  EXPECT_FALSE(outer_added);
  EXPECT_EQ(NewestAt(UINT32_MAX), 300u);
  EXPECT_EQ(NewestAt(299), 100u);  // Older heads still find the older run.
}

// Two builders at once (as two writer processes' background threads may
// be, each with its own view of the area): the one that took its bytes
// first publishes last. A run published meanwhile after its bytes, of
// records as far or further, stays the newest; one of fewer records is
// replaced, and the chain of older runs stays linked.
TEST_F(LogRunsTest, SlowerBuilderBelowANewerRunLeavesIt) {
  ASSERT_TRUE(Add(100, 3));
  LogRuns other;  // Another process's view of the same area.
  ASSERT_THAT(
      other.Open(Area(), log::RunAreaSize(kNodes), 1 << 20, kNodes, "L"),
      IsOk());
  // While this builder writes its run of the records below `end`, the
  // other takes the bytes after it and publishes one below `other_end`.
  auto add_around = [&](uint32_t end, uint32_t other_end, bool* added,
                        bool* other_added) {
    ASSERT_THAT(runs_.Add(
                    end, 5, 5,
                    [&](char* dst) {
                      ASSERT_THAT(
                          other.Add(
                              other_end, 7, 7,
                              [&](char* o) { std::memset(o, 0, 7 * 8); },
                              [](size_t, size_t) { return absl::OkStatus(); },
                              other_added),
                          IsOk());
                      std::memset(dst, 0, 5 * 8);
                    },
                    [](size_t, size_t) { return absl::OkStatus(); }, added),
                IsOk());
  };
  bool added = false, other_added = false;
  add_around(200, 300, &added, &other_added);
  EXPECT_TRUE(other_added);
  EXPECT_FALSE(added);  // Not newer than the other's.
  EXPECT_EQ(NewestAt(UINT32_MAX), 300u);
  EXPECT_EQ(NewestAt(299), 100u);
  uint32_t end = 0, nodes = 0;
  ASSERT_TRUE(runs_.NewestEnd(&end, &nodes));
  EXPECT_EQ(end, 300u);
  EXPECT_EQ(nodes, 7u);

  add_around(500, 400, &added, &other_added);
  EXPECT_TRUE(other_added);
  EXPECT_TRUE(added);  // Newer than the other's: replaces it...
  EXPECT_EQ(NewestAt(UINT32_MAX), 500u);
  EXPECT_EQ(NewestAt(450), 300u);  // ...linked to the run below its bytes.
  EXPECT_EQ(NewestAt(299), 100u);
}

// Builders in several threads at once: each run lands whole, the newest
// end is published, and every older head finds a run no newer than it.
TEST_F(LogRunsTest, BuildersRacing) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([this, t] {
      for (uint32_t i = 1; i <= 25; i++) Add(1000 * i + t, 5);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GE(NewestAt(UINT32_MAX), 25000u);
  for (uint32_t head = 0; head < 26000; head += 77) {
    const uint32_t found = NewestAt(head);
    EXPECT_LE(found, head);
  }
}

// --- RunBuilder and the iterator, over generations ---

using Model = std::map<std::string, std::optional<std::string>>;

// The state at a head: the snapshot's contents with the log's updates.
std::map<std::string, std::string> StateOf(
    const std::map<std::string, std::string>& snapshot, const Model& log) {
  std::map<std::string, std::string> state = snapshot;
  for (const auto& [k, v] : log) {
    if (v.has_value()) {
      state[k] = *v;
    } else {
      state.erase(k);
    }
  }
  return state;
}

// Checks an iterator over g at head `end` (as DB::NewIterator makes it)
// against `state`: a whole scan, and seeks to some keys. *used_run: the
// end of the run it read (0 for none).
void CheckIterator(const std::shared_ptr<Generation>& g, uint32_t end,
                   const std::map<std::string, std::string>& state,
                   std::mt19937_64* rng, uint32_t* used_run) {
  IteratorLog log;
  ASSERT_THAT(ReadIteratorLog(*g, end, &log), IsOk());
  *used_run = log.run.count > 0 ? log.run.end : 0;
  auto live = std::make_shared<std::atomic<int>>(0);
  std::unique_ptr<Iterator> it = NewDBIterator(g, std::move(log), live);
  auto expected = state.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    ASSERT_NE(expected, state.end()) << end;
    ASSERT_EQ(it->key(), expected->first) << end;
    ASSERT_EQ(it->value(), expected->second) << end;
  }
  ASSERT_THAT(it->status(), IsOk());
  ASSERT_EQ(expected, state.end()) << end;
  for (int i = 0; i < 20; i++) {
    const std::string target = absl::StrCat("k", (*rng)() % 700);
    it->Seek(target);
    auto want = state.lower_bound(target);
    if (want == state.end()) {
      ASSERT_FALSE(it->Valid()) << target;
    } else {
      ASSERT_TRUE(it->Valid()) << target;
      ASSERT_EQ(it->key(), want->first);
      ASSERT_EQ(it->value(), want->second);
      it->Next();
      ++want;
      if (want != state.end()) {
        ASSERT_TRUE(it->Valid());
        ASSERT_EQ(it->key(), want->first);
      }
    }
  }
  ASSERT_THAT(it->status(), IsOk());
}

// Appends `records` random batches to g's log and indexes them; returns
// each head with the log's model there.
std::vector<std::pair<uint32_t, Model>> Write(Generation* g, int records,
                                              std::mt19937_64* rng,
                                              uint32_t* end, Model* model,
                                              bool compress = false) {
  std::vector<std::pair<uint32_t, Model>> heads;
  for (int r = 0; r < records; r++) {
    WriteBatch batch;
    const int ops = 1 + static_cast<int>((*rng)() % 3);
    for (int o = 0; o < ops; o++) {
      // Keys longer than 16 bytes too, sharing their prefix.
      const uint64_t n = (*rng)() % 600;
      const std::string key =
          n % 5 == 0 ? absl::StrCat("k", n, "-long-key-past-16-bytes")
                     : absl::StrCat("k", n);
      if ((*rng)() % 7 == 0) {
        batch.Delete(key);
        (*model)[key] = std::nullopt;
      } else {
        const std::string value = absl::StrCat(
            *end, "/", o, compress ? std::string(300, 'c') : std::string());
        batch.Put(key, value);
        (*model)[key] = value;
      }
    }
    const uint32_t from = *end;
    GenerationFixture::Append(g, batch, end, compress);
    bool fits = false;
    EXPECT_THAT(g->IndexRecords(from, *end, &fits, [] {}), IsOk());
    EXPECT_TRUE(fits);
    heads.emplace_back(*end, *model);
  }
  return heads;
}

class RunBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::map<std::string, std::string> contents;
    for (int i = 0; i < 600; i += 3) {
      contents[absl::StrCat("k", i)] = absl::StrCat("snap", i);
    }
    snapshot_ = contents;
    g_ = fixture_.Make(contents);
  }

  GenerationFixture fixture_{size_t{4} << 20};
  std::map<std::string, std::string> snapshot_;
  std::shared_ptr<Generation> g_;
  std::mt19937_64 rng_{7};
};

// Runs built at several heads, each from the last (the builder's kept
// list plus the records after it), and iterators at every head in
// between: whatever run they find, they see exactly the state there.
TEST_F(RunBuilderTest, IteratorsAtEveryHeadMatchTheModel) {
  RunBuilder builder(/*min_run_entries=*/1);
  Model model;
  uint32_t end = 0;
  std::vector<std::pair<uint32_t, Model>> heads = {{0, model}};
  std::vector<uint32_t> run_ends;
  for (int step = 0; step < 6; step++) {
    auto more = Write(g_.get(), 150, &rng_, &end, &model);
    heads.insert(heads.end(), more.begin(), more.end());
    ASSERT_THAT(builder.Build(g_, end, [] { return true; }), IsOk());
    uint32_t newest = 0, nodes = 0;
    ASSERT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
    if (newest == end) {
      run_ends.push_back(end);
      EXPECT_EQ(nodes, g_->index.nodes_used());
    } else {  // Not due: too few entries since the last run.
      EXPECT_LT(g_->index.nodes_used(), NextRunAt(nodes, 1));
      EXPECT_EQ(g_->run_due_at.load(), NextRunAt(nodes, 1));
    }
  }
  EXPECT_GE(run_ends.size(), 4u);
  auto more = Write(g_.get(), 100, &rng_, &end, &model);  // Past the last.
  heads.insert(heads.end(), more.begin(), more.end());
  int with_run = 0;
  for (size_t i = 0; i < heads.size(); i += 7) {
    const auto& [at, log] = heads[i];
    uint32_t used = 0;
    CheckIterator(g_, at, StateOf(snapshot_, log), &rng_, &used);
    if (HasFatalFailure()) return;
    // The newest run at or below the head.
    uint32_t want = 0;
    for (uint32_t e : run_ends) {
      if (e <= at) want = e;
    }
    // That one, or none when more than a quarter of its entries again came
    // after it (ReadIteratorLog: then it saves less than it costs).
    EXPECT_TRUE(used == want || used == 0) << at << " " << used;
    with_run += used != 0;
  }
  EXPECT_GT(with_run, 20);
  // A run of every record, and a few records more: read with it.
  RunBuilder last(/*min_run_entries=*/1);
  ASSERT_THAT(last.Build(g_, end, [] { return true; }), IsOk());
  Write(g_.get(), 10, &rng_, &end, &model);
  uint32_t used = 0;
  CheckIterator(g_, end, StateOf(snapshot_, model), &rng_, &used);
  EXPECT_GT(used, 0u);
  EXPECT_LT(used, end);
}

// A builder that starts from another generation's list, or whose kept
// list is newer than the head asked, starts over; a run that another
// builder published first is respected.
TEST_F(RunBuilderTest, BuildersStartOverWhenTheirListDoesNotFit) {
  RunBuilder a(1), b(1);
  Model model;
  uint32_t end = 0;
  Write(g_.get(), 100, &rng_, &end, &model);
  const uint32_t first = end;
  ASSERT_THAT(a.Build(g_, first, [] { return true; }), IsOk());
  Write(g_.get(), 100, &rng_, &end, &model);
  ASSERT_THAT(b.Build(g_, end, [] { return true; }), IsOk());  // From 0.
  Write(g_.get(), 100, &rng_, &end, &model);
  ASSERT_THAT(a.Build(g_, end, [] { return true; }), IsOk());  // Incremental.
  uint32_t newest = 0, nodes = 0;
  ASSERT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
  EXPECT_EQ(newest, end);
  uint32_t used = 0;
  CheckIterator(g_, end, StateOf(snapshot_, model), &rng_, &used);
  EXPECT_EQ(used, end);
  // Asked for an older head than its list: starts over, and is not
  // published (a newer run is).
  ASSERT_THAT(b.Build(g_, first, [] { return true; }), IsOk());
  ASSERT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
  EXPECT_EQ(newest, end);
}

TEST_F(RunBuilderTest, AbandonedBuildPublishesNothing) {
  RunBuilder builder(1);
  Model model;
  uint32_t end = 0;
  Write(g_.get(), 600, &rng_, &end, &model);
  int asked = 0;
  ASSERT_THAT(builder.Build(g_, end, [&] { return ++asked < 2; }), IsOk());
  EXPECT_GE(asked, 2);
  uint32_t newest = 0, nodes = 0;
  EXPECT_FALSE(g_->runs.NewestEnd(&newest, &nodes));
  ASSERT_THAT(builder.Build(g_, end, [] { return true; }), IsOk());
  EXPECT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
}

// Entries of compressed records are not read one by one in place: such a
// log gets no run, and the writer is not asked again.
TEST_F(RunBuilderTest, CompressedLogGetsNoRun) {
  RunBuilder builder(1);
  Model model;
  uint32_t end = 0;
  Write(g_.get(), 50, &rng_, &end, &model);
  Write(g_.get(), 20, &rng_, &end, &model, /*compress=*/true);
  ASSERT_THAT(builder.Build(g_, end, [] { return true; }), IsOk());
  uint32_t newest = 0, nodes = 0;
  EXPECT_FALSE(g_->runs.NewestEnd(&newest, &nodes));
  EXPECT_EQ(g_->run_due_at.load(), UINT32_MAX);
  uint32_t used = 0;
  CheckIterator(g_, end, StateOf(snapshot_, model), &rng_, &used);
  EXPECT_EQ(used, 0u);
}

// An iterator that finds no run has one built for every process
// (RunBuilder::BuildOnce): of all the records below its head, the newest
// entry of each key, which iterators then read and find like the model.
// Nothing is published while a run is not due; a due one is built from
// record 0 again (nothing is kept between them).
TEST_F(RunBuilderTest, BuildOnceListsTheNewestEntryOfEveryKey) {
  RunBuilder builder(/*min_run_entries=*/1);
  Model model;
  uint32_t end = 0;
  Write(g_.get(), 400, &rng_, &end, &model);
  EXPECT_FALSE(RunWorthBuilding(*g_, end));  // Below kMinRunEntries.
  ASSERT_THAT(builder.BuildOnce(g_, end), IsOk());
  uint32_t newest = 0, nodes = 0;
  ASSERT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
  EXPECT_EQ(newest, end);
  EXPECT_EQ(nodes, g_->index.nodes_used());
  uint32_t used = 0;
  CheckIterator(g_, end, StateOf(snapshot_, model), &rng_, &used);
  if (HasFatalFailure()) return;
  EXPECT_EQ(used, end);
  const uint32_t first = end;
  Write(g_.get(), 5, &rng_, &end, &model);
  ASSERT_THAT(builder.BuildOnce(g_, end), IsOk());
  ASSERT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
  EXPECT_EQ(newest, first);
  Write(g_.get(), 200, &rng_, &end, &model);
  ASSERT_THAT(builder.BuildOnce(g_, end), IsOk());
  ASSERT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
  EXPECT_EQ(newest, end);
  EXPECT_EQ(nodes, g_->index.nodes_used());
  CheckIterator(g_, end, StateOf(snapshot_, model), &rng_, &used);
  EXPECT_EQ(used, end);
}

// The run area's claimed bytes (log_run_format.h): what adders took.
uint64_t Claimed(const Generation& g) {
  uint64_t claimed;
  std::memcpy(
      &claimed,
      g.log_segment.data() + g.runs.file_offset() + log::kRunClaimedOffset, 8);
  return claimed;
}

// A run is due by the entries below the head asked for, not by the
// index's count (which may be past them): an older head's build publishes
// nothing and takes no bytes. Builders racing in one process publish the
// run once, and take its bytes once.
TEST_F(RunBuilderTest, BuildOnceCountsTheEntriesBelowItsHeadAndBuildsOnce) {
  Model model;
  uint32_t end = 0;
  Write(g_.get(), 400, &rng_, &end, &model);
  const uint32_t first = end;
  ASSERT_THAT(RunBuilder(1).BuildOnce(g_, first), IsOk());
  const uint64_t claimed = Claimed(*g_);
  EXPECT_GT(claimed, 0u);
  Write(g_.get(), 5, &rng_, &end, &model);
  const uint32_t older = end;
  Write(g_.get(), 300, &rng_, &end, &model);
  uint32_t newest = 0, nodes = 0;
  ASSERT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
  ASSERT_GE(g_->index.nodes_used(), NextRunAt(nodes, 1));  // Due by it.
  ASSERT_THAT(RunBuilder(1).BuildOnce(g_, older), IsOk());
  ASSERT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
  EXPECT_EQ(newest, first);
  EXPECT_EQ(Claimed(*g_), claimed);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back(
        [this, end] { EXPECT_THAT(RunBuilder(1).BuildOnce(g_, end), IsOk()); });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(g_->runs.NewestEnd(&newest, &nodes));
  EXPECT_EQ(newest, end);
  LogRuns::Run run;
  bool found = false;
  ASSERT_THAT(g_->runs.Newest(end, &run, &found), IsOk());
  ASSERT_TRUE(found);
  EXPECT_EQ(Claimed(*g_), claimed + ((log::kRunHeaderSize +
                                      run.count * log::kRunEntrySize + 63) &
                                     ~uint64_t{63}));
  uint32_t used = 0;
  CheckIterator(g_, end, StateOf(snapshot_, model), &rng_, &used);
  EXPECT_EQ(used, end);
}

// A log with a compressed record gets no run from an iterator either, and
// later iterators do not try again.
TEST_F(RunBuilderTest, BuildOnceLeavesACompressedLogWithoutRuns) {
  RunBuilder builder(1);
  Model model;
  uint32_t end = 0;
  Write(g_.get(), 50, &rng_, &end, &model);
  Write(g_.get(), 20, &rng_, &end, &model, /*compress=*/true);
  ASSERT_THAT(builder.BuildOnce(g_, end), IsOk());
  uint32_t newest = 0, nodes = 0;
  EXPECT_FALSE(g_->runs.NewestEnd(&newest, &nodes));
  EXPECT_EQ(g_->run_due_at.load(), UINT32_MAX);
  EXPECT_FALSE(RunWorthBuilding(*g_, end));
  uint32_t used = 0;
  CheckIterator(g_, end, StateOf(snapshot_, model), &rng_, &used);
  EXPECT_EQ(used, 0u);
}

// A run whose checksums hold but whose entries lead to the wrong bytes,
// or are out of order, makes the iterator fail with DataLoss naming the
// log and the run; a damaged run header fails ReadIteratorLog.
TEST_F(RunBuilderTest, DamagedRunIsDataLoss) {
  RunBuilder builder(1);
  Model model;
  uint32_t end = 0;
  Write(g_.get(), 300, &rng_, &end, &model);
  ASSERT_THAT(builder.Build(g_, end, [] { return true; }), IsOk());
  LogRuns::Run run;
  bool found = false;
  ASSERT_THAT(g_->runs.Newest(end, &run, &found), IsOk());
  ASSERT_TRUE(found);
  ASSERT_GT(run.count, 10u);
  char* entries = const_cast<char*>(run.entries);
  char* header = entries - log::kRunHeaderSize;
  auto reseal = [&] {
    EncodeFixed32(header + log::kRunEntriesChecksumOffset,
                  Checksum32(entries, size_t{run.count} * log::kRunEntrySize));
    EncodeFixed32(header + log::kRunHeaderChecksumOffset,
                  Checksum32(header, log::kRunHeaderChecksumOffset));
  };
  auto scan = [&]() -> absl::Status {
    IteratorLog log;
    absl::Status s = ReadIteratorLog(*g_, end, &log);
    if (!s.ok()) return s;
    std::unique_ptr<Iterator> it = NewDBIterator(
        g_, std::move(log), std::make_shared<std::atomic<int>>(0));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
    }
    return it->status();
  };
  ASSERT_THAT(scan(), IsOk());
  const std::string saved(entries, size_t{run.count} * log::kRunEntrySize);

  // Two entries swapped: out of order.
  std::swap_ranges(entries + 8 * 3, entries + 8 * 4, entries + 8 * 4);
  reseal();
  absl::Status s = scan();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(absl::StrContains(
      s.message(),
      "of the sorted run at offset " + std::to_string(run.file_offset)))
      << s;
  // A location off its entry, and one past the run's end.
  std::memcpy(entries, saved.data(), saved.size());
  EncodeFixed32(entries + 8 * 5, DecodeFixed32(entries + 8 * 5) + 1);
  reseal();
  EXPECT_TRUE(absl::IsDataLoss(scan()));
  std::memcpy(entries, saved.data(), saved.size());
  EncodeFixed32(entries + 8 * 6, end + 100);
  reseal();
  EXPECT_TRUE(absl::IsDataLoss(scan()));
  // Not resealed: the run's checksum.
  std::memcpy(entries, saved.data(), saved.size());
  entries[3] ^= 0x10;
  s = scan();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "run checksum mismatch")) << s;
  std::memcpy(entries, saved.data(), saved.size());
  reseal();
  EXPECT_THAT(scan(), IsOk());
}

// A damaged (lowered) `claimed` word must not let a builder write over a
// published run that iterators read as they go: here a builder of an
// older head (it passed its check before the newer run was published)
// takes the newer run's bytes and writes its own entries there. An
// iterator made before must then give the state at its head or fail,
// never an older value.
TEST_F(RunBuilderTest, LoweredClaimedWordDoesNotChangeAPublishedRun) {
  RunBuilder old_builder(1), builder(1);
  Model model;
  uint32_t end = 0;
  Write(g_.get(), 300, &rng_, &end, &model);
  const uint32_t old_end = end;
  ASSERT_THAT(old_builder.Build(g_, old_end, [] { return true; }), IsOk());
  LogRuns::Run old_run;
  bool found = false;
  ASSERT_THAT(g_->runs.Newest(old_end, &old_run, &found), IsOk());
  ASSERT_TRUE(found);
  const std::string old_entries(old_run.entries,
                                size_t{old_run.count} * log::kRunEntrySize);
  Write(g_.get(), 300, &rng_, &end, &model);
  ASSERT_THAT(builder.Build(g_, end, [] { return true; }), IsOk());
  LogRuns::Run run;
  ASSERT_THAT(g_->runs.Newest(end, &run, &found), IsOk());
  ASSERT_TRUE(found);
  ASSERT_EQ(run.end, end);
  IteratorLog log;
  ASSERT_THAT(ReadIteratorLog(*g_, end, &log), IsOk());
  std::unique_ptr<Iterator> it = NewDBIterator(
      g_, std::move(log), std::make_shared<std::atomic<int>>(0));
  // Damage: `claimed` lowered to where the newest run starts.
  char* area = g_->log_segment.data() + g_->runs.file_offset();
  reinterpret_cast<std::atomic<uint64_t>*>(area + log::kRunClaimedOffset)
      ->store(run.file_offset - g_->runs.file_offset() -
              log::kRunAreaHeaderSize);
  bool added = true;
  ASSERT_THAT(g_->runs.Add(
                  old_end, old_run.nodes, old_run.count,
                  [&](char* dst) {
                    std::memcpy(dst, old_entries.data(), old_entries.size());
                  },
                  [](size_t, size_t) { return absl::OkStatus(); }, &added),
              IsOk());
  EXPECT_FALSE(added);
  const auto state = StateOf(snapshot_, model);
  int wrong = 0, right = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto want = state.find(std::string(it->key()));
    if (want == state.end() || want->second != it->value()) {
      wrong++;
    } else {
      right++;
    }
  }
  EXPECT_EQ(wrong, 0) << right << " right before; status "
                      << it->status();
}

}  // namespace
}  // namespace ultradict
