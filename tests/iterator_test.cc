// iterator_test.cc: DB::NewIterator (and the entry count) against a
// std::map model, with keys
// made to stress the merge of the log's changes with the snapshot: keys
// that share long prefixes, keys that are prefixes of others, the empty
// key, bytes above 0x7f, and keys on both sides of the 16 bytes that the
// engine compares without reading the keys (their prefix).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::ScopedDestroy;
using testing::UniqueName;

// Keys drawn from a small set of stems, so that many share prefixes of
// every length up to ~40 bytes, and some are prefixes of others.
std::string RandomKey(std::mt19937_64& rng) {
  static const char* const kStems[] = {
      "",
      "a",
      "ab",
      "abcdefghijklmno",    // 15 bytes
      "abcdefghijklmnop",   // 16
      "abcdefghijklmnopq",  // 17
      "user:000000000001:",
      "user:000000000001:profile",
      "user:000000000002:",
      "\xff\xfe",
      "\x80",
  };
  std::string key = kStems[rng() % (sizeof(kStems) / sizeof(kStems[0]))];
  const int extra = static_cast<int>(rng() % 4);
  for (int i = 0; i < extra; i++) {
    const char alphabet[] = {'\0', 'a', 'b', '\x7f', '\x80', '\xff'};
    key.push_back(alphabet[rng() % sizeof(alphabet)]);
  }
  return key;
}

std::string Escaped(std::string_view s) {
  return absl::CHexEscape(std::string(s));
}

class IteratorTest : public ::testing::TestWithParam<bool> {};

// Walks the whole iterator, then Seeks to `seeks` targets from target()
// and steps on from each a few times; every key and value must be what
// the model says, and the iterator invalid where the model ends.
void ExpectLikeModelAt(DB* db, const std::map<std::string, std::string>& model,
                       absl::FunctionRef<std::string()> target, int seeks) {
  std::unique_ptr<Iterator> it = db->NewIterator();
  auto m = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
    ASSERT_NE(m, model.end()) << "extra key " << Escaped(it->key());
    ASSERT_EQ(it->key(), m->first);
    ASSERT_EQ(it->value(), m->second) << Escaped(m->first);
  }
  ASSERT_THAT(it->status(), IsOk());
  ASSERT_EQ(m, model.end()) << "missing key " << Escaped(m->first);
  for (int i = 0; i < seeks; i++) {
    const std::string t = target();
    it->Seek(t);
    auto want = model.lower_bound(t);
    for (int step = 0; step < 3; step++, ++want) {
      if (want == model.end()) {
        ASSERT_FALSE(it->Valid()) << Escaped(t);
        break;
      }
      ASSERT_TRUE(it->Valid()) << Escaped(t);
      ASSERT_EQ(it->key(), want->first) << Escaped(t);
      ASSERT_EQ(it->value(), want->second) << Escaped(want->first);
      it->Next();
    }
  }
  ASSERT_THAT(it->status(), IsOk());
}

// ExpectLikeModelAt with 200 targets of RandomKey.
void ExpectLikeModel(DB* db, const std::map<std::string, std::string>& model,
                     std::mt19937_64& rng) {
  ExpectLikeModelAt(
      db, model, [&rng] { return RandomKey(rng); }, 200);
}

TEST_P(IteratorTest, MergesLogAndSnapshotLikeAMap) {
  const bool compress = GetParam();
  Options options;
  options.log_size = 64 * 1024;  // Compactions along the way.
  if (compress) {
    options.compression = Compression::kZstdCompression;
    options.compression_threshold = 32;
  }
  const std::string name = UniqueName("iter");
  ScopedDestroy destroy(name);
  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  std::map<std::string, std::string> model;
  std::mt19937_64 rng(compress ? 7 : 3);
  for (int round = 0; round < 6; round++) {
    for (int i = 0; i < 300; i++) {
      const std::string key = RandomKey(rng);
      if (rng() % 4 == 0) {
        ASSERT_THAT((*db)->Delete(key), IsOk());
        model.erase(key);
      } else if (rng() % 5 == 0) {
        WriteBatch batch;  // Several entries in one record, some of one key.
        std::string k;
        for (int b = 0; b < 5; b++) {
          if (b == 0 || rng() % 3 != 0) k = RandomKey(rng);
          if (rng() % 4 == 0) {
            batch.Delete(k);
            model.erase(k);
            continue;
          }
          const std::string v =
              std::string(rng() % 80, 'v') + std::to_string(i);
          batch.Put(k, v);
          model[k] = v;
        }
        ASSERT_THAT((*db)->Write(batch), IsOk());
      } else {
        const std::string value =
            std::to_string(round) + ":" + std::to_string(i);
        ASSERT_THAT((*db)->Put(key, value), IsOk());
        model[key] = value;
      }
    }
    ExpectLikeModel(db->get(), model, rng);
    // The entry count, kept by each commit from what its keys held before
    // (deletes of missing keys, batches that write a key twice).
    std::string entries;
    ASSERT_TRUE((*db)->GetProperty("ultradict.num-entries", &entries));
    EXPECT_EQ(entries, std::to_string(model.size())) << "round " << round;
    // Half the rounds fold the log into the snapshot, so that the next
    // round's changes merge with snapshot entries of the same keys.
    if (round % 2 == 0) {
      ASSERT_THAT((*db)->CompactLog(), IsOk());
    }
    ExpectLikeModel(db->get(), model, rng);
  }
}

INSTANTIATE_TEST_SUITE_P(Compressions, IteratorTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Zstd" : "Plain";
                         });

// A log of thousands of changes is sorted by radix over the bytes in
// which their keys' 16-byte prefixes differ, and the iterator reads the
// changes where they lie, in that order (SortChangeOrder). Keys here are 8
// digits and a shared tail, then a suffix: prefixes differ within 8 bytes
// (12-byte references), and keys of one prefix (the same digits, other
// suffixes, overwrites, deletes) are ordered among themselves. Few keys are
// written twice, so the iterator reads the log's records in order, every
// superseded change among them.
TEST(IteratorTest, ALargeLogReadInRadixOrderIsLikeAMap) {
  Options options;
  options.log_size = 64 << 20;            // One log for everything.
  options.background_compaction = false;  // No run: the iterator sorts.
  const std::string name = UniqueName("radix");
  ScopedDestroy destroy(name);
  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  std::mt19937_64 rng(11);
  std::map<std::string, std::string> model;
  auto key_of = [](uint64_t number, uint64_t suffix) {
    char digits[9];
    std::snprintf(digits, sizeof(digits), "%08llu",
                  static_cast<unsigned long long>(number));
    return absl::StrCat(digits, "/shared-tail/", suffix);
  };
  for (int i = 0; i < 30000; i++) {
    const std::string key = key_of(rng() % 30000, rng() % 3);
    if (rng() % 6 == 0) {
      ASSERT_THAT((*db)->Delete(key), IsOk());
      model.erase(key);
    } else {
      const std::string value = absl::StrCat("v", i);
      ASSERT_THAT((*db)->Put(key, value), IsOk());
      model[key] = value;
    }
  }
  // A key that may be there, or one between two suffixes of a number, or
  // a prefix of one.
  ExpectLikeModelAt(
      db->get(), model,
      [&] {
        std::string target = key_of(rng() % 30100, rng() % 3);
        if (rng() % 2 == 0) target.back() = '0' + static_cast<char>(rng() % 10);
        if (rng() % 3 == 0) target.resize(rng() % target.size());
        return target;
      },
      2000);
}

// n writes to keys "key<0-149999>" (one in nine longer than 16 bytes),
// one in ten a Delete, the others a Put of "<i><value_tail>"; the model
// follows.
void WriteRandomly(DB* db, int n, const std::string& value_tail,
                   std::mt19937_64& rng,
                   std::map<std::string, std::string>* model) {
  for (int i = 0; i < n; i++) {
    const std::string key = absl::StrCat(
        "key", rng() % 150000, rng() % 9 == 0 ? "-past-16-bytes" : "");
    if (rng() % 10 == 0) {
      ASSERT_THAT(db->Delete(key), IsOk());
      model->erase(key);
    } else {
      const std::string value = absl::StrCat(i, value_tail);
      ASSERT_THAT(db->Put(key, value), IsOk());
      (*model)[key] = value;
    }
  }
}

// The "ultradict.log-run" property's "records below E": the end of the
// run an iterator would read now (0 when there is none).
uint64_t RunEnd(DB* db) {
  std::string run;
  EXPECT_TRUE(db->GetProperty("ultradict.log-run", &run));
  EXPECT_NE(run, "damaged");
  const size_t at = run.find("records below ");
  if (at == std::string::npos) return 0;
  return std::stoull(run.substr(at + 14));
}

// Past kMinRunEntries entries in one log, the writer's background thread
// publishes sorted runs of it; iterators (of this handle and of another)
// read a run and sort only the records after it, and see what the model
// says, before and after more writes past the run.
TEST(IteratorRunTest, ReadsTheSortedRunsOfALargeLog) {
  Options options;
  options.log_size = size_t{64} << 20;  // No compaction: one log.
  const std::string name = UniqueName("iterrun");
  ScopedDestroy destroy(name);
  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  std::map<std::string, std::string> model;
  std::mt19937_64 rng(11);
  auto write = [&](int n) { WriteRandomly(db->get(), n, "v", rng, &model); };
  write(140000);
  if (HasFatalFailure()) return;
  // The background thread builds the run after the commit that made it
  // due; it is published when it is whole.
  uint64_t run_end = 0;
  for (int i = 0; i < 3000 && run_end == 0; i++) {
    run_end = RunEnd(db->get());
    if (run_end == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(run_end, 0u);
  std::string generation;
  ASSERT_TRUE((*db)->GetProperty("ultradict.generation", &generation));
  ExpectLikeModel(db->get(), model, rng);
  if (HasFatalFailure()) return;
  // Another handle (as another process would) reads the same run.
  auto other = DB::Open(options, name);
  ASSERT_THAT(other.status(), IsOk());
  EXPECT_EQ(RunEnd(other->get()), RunEnd(db->get()));
  ExpectLikeModel(other->get(), model, rng);
  if (HasFatalFailure()) return;
  // More writes: iterators merge the run with their sort of the rest.
  write(5000);
  if (HasFatalFailure()) return;
  ExpectLikeModel(db->get(), model, rng);
  ExpectLikeModel(other->get(), model, rng);
  std::string now;
  ASSERT_TRUE((*db)->GetProperty("ultradict.generation", &now));
  EXPECT_EQ(now, generation);  // All of it in one log, as meant.
}

// Without a background thread nobody builds runs as the log grows: the
// first iterator over kMinRunEntries entries or more sorts them into a
// published run (RunBuilder::BuildOnce), which later iterators, of this
// handle and of another (as another process's would), read instead of
// sorting the records again. Compressed records get no run; iterators
// sort them themselves, as before.
TEST(IteratorRunTest, AnIteratorThatFindsNoRunPublishesOne) {
  for (const bool compressed : {false, true}) {
    SCOPED_TRACE(compressed ? "compressed" : "plain");
    Options options;
    options.log_size = size_t{64} << 20;  // No compaction: one log.
    options.background_compaction = false;
    options.compression = compressed ? Compression::kZstdCompression
                                     : Compression::kNoCompression;
    options.compression_threshold = 64;
    const std::string name = UniqueName("iterbuild");
    ScopedDestroy destroy(name);
    auto db = DB::Open(options, name);
    ASSERT_THAT(db.status(), IsOk());
    std::map<std::string, std::string> model;
    std::mt19937_64 rng(13);
    // Values compressible past the threshold when compression is on.
    WriteRandomly(db->get(), 70000, std::string(100, 'v'), rng, &model);
    if (HasFatalFailure()) return;
    EXPECT_EQ(RunEnd(db->get()), 0u);
    ExpectLikeModel(db->get(), model, rng);
    if (HasFatalFailure()) return;
    const uint64_t run_end = RunEnd(db->get());
    if (compressed) {
      EXPECT_EQ(run_end, 0u);
      continue;
    }
    EXPECT_GT(run_end, 0u);
    auto other = DB::Open(options, name);
    ASSERT_THAT(other.status(), IsOk());
    EXPECT_EQ(RunEnd(other->get()), run_end);
    ExpectLikeModel(other->get(), model, rng);
  }
}

}  // namespace
}  // namespace ultradict
