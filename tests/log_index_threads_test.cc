// log_index_threads_test.cc: LogIndex read by threads while one thread
// writes it, as processes do through the shared segment: under TSan this
// checks the index's memory ordering (records and nodes written before the
// slot, slots before the progress, a grown table before table_bits).
//
// The writer adds version v of 16 keys in one record per version, plus new
// keys that make the table grow several times, and publishes each record.
// Readers take the published progress as their head and check: every value
// found is its key's, versions never go back, all 16 keys are at the
// same version at one head (Find and ForEachLatest), and the keys that the
// newest record added first are found (the filter's bits come before the
// head).

#include <atomic>
#include <cstdio>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/log_index.h"
#include "gtest/gtest.h"
#include "tests/log_index_testutil.h"
#include "ultradict/write_batch.h"
#include "util/checksum.h"

namespace ultradict {
namespace {

constexpr int kKeys = 16;
constexpr int kVersions = 1000;
constexpr int kNewKeysPerVersion = 8;  // 8,000 keys: tables of 2^10..2^14.

std::string Key(int k) { return absl::StrCat("key", k); }
std::string NewKey(int v, int n) { return absl::StrCat("new", v, "_", n); }
std::string Value(int k, int v) { return absl::StrCat(Key(k), "/", v, "/x"); }

// The version in a value of key k, or -1 when the value is not its own.
int VersionOf(int k, std::string_view value) {
  const std::string prefix = Key(k) + "/";
  if (value.substr(0, prefix.size()) != prefix) return -1;
  int v = 0;
  size_t i = prefix.size();
  for (; i < value.size() && value[i] >= '0' && value[i] <= '9'; i++) {
    v = v * 10 + (value[i] - '0');
  }
  return i > prefix.size() && Value(k, v) == value ? v : -1;
}

TEST(LogIndexThreadsTest, ReadersAtPublishedHeadsWhileTheWriterAdds) {
  testing::IndexedLog log(1 << 22, kVersions * (kKeys + kNewKeysPerVersion));
  ASSERT_TRUE(log.open_status().ok()) << log.open_status();
  std::atomic<bool> done{false};
  std::atomic<int> finds{0}, new_finds{0}, scans{0};
  auto reader = [&] {
    int latest = -1;
    std::string scratch;
    while (!done.load(std::memory_order_acquire)) {
      uint32_t end, records;
      log.index().Progress(&end, &records);
      int at_head = -1;
      for (int k = 0; k < kKeys; k++) {
        LogIndex::Entry entry;
        uint32_t damaged_at;
        const LogIndex::Found found = log.index().Find(
            Key(k), Hash64(Key(k)), end, &scratch, &entry, &damaged_at);
        if (records == 0) {
          ASSERT_EQ(found, LogIndex::Found::kNo);
          continue;
        }
        ASSERT_EQ(found, LogIndex::Found::kYes) << Key(k) << " at " << end;
        const int v = VersionOf(k, entry.value);
        ASSERT_GE(v, 0) << entry.value;
        ASSERT_GE(v, latest) << Key(k);
        if (at_head >= 0) {
          ASSERT_EQ(v, at_head) << "two versions at one head";
        }
        at_head = latest = v;
        finds++;
      }
      // The keys that the newest record below the head added first: their
      // filter bits were set just before it was published, and a reader at
      // that head must pass the filter (no false negative).
      for (int n = 0; records > 0 && n < kNewKeysPerVersion; n++) {
        const std::string key = NewKey(static_cast<int>(records) - 1, n);
        LogIndex::Entry entry;
        uint32_t damaged_at;
        ASSERT_EQ(log.index().Find(key, Hash64(key), end, &scratch, &entry,
                                   &damaged_at),
                  LogIndex::Found::kYes)
            << key << " at " << end;
        ASSERT_EQ(entry.value, "n");
        new_finds++;
      }
      std::deque<std::string> kept;  // Entries point into these.
      uint32_t damaged_at;
      int seen = -1;
      ASSERT_EQ(log.index().ForEachLatest(
                    end,
                    [&](std::string&& b) -> const std::string& {
                      kept.push_back(std::move(b));
                      return kept.back();
                    },
                    [&](const LogIndex::Entry& e) {
                      if (e.key.substr(0, 3) != "key") return;
                      int k = 0;
                      for (char c : e.key.substr(3)) k = k * 10 + (c - '0');
                      const int v = VersionOf(k, e.value);
                      ASSERT_GE(v, latest) << e.value;
                      if (seen >= 0) {
                        ASSERT_EQ(v, seen);
                      }
                      seen = v;
                    },
                    &damaged_at),
                LogIndex::Found::kYes);
      scans++;
    }
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; r++) readers.emplace_back(reader);
  for (int v = 0; v < kVersions; v++) {
    WriteBatch batch;
    for (int k = 0; k < kKeys; k++) batch.Put(Key(k), Value(k, v));
    for (int n = 0; n < kNewKeysPerVersion; n++) {
      batch.Put(NewKey(v, n), "n");
    }
    ASSERT_TRUE(log.Append(batch, /*compress=*/v % 2 == 1));
  }
  done.store(true, std::memory_order_release);
  for (std::thread& t : readers) t.join();
  std::printf(
      "%d Finds (%d of new keys) and %d scans at published heads; table "
      "2^%u\n",
      finds.load() + new_finds.load(), new_finds.load(), scans.load(),
      log.index().table_bits());
  EXPECT_GE(log.index().table_bits(), 14u);
  EXPECT_GT(finds.load(), 0);
  EXPECT_GT(new_finds.load(), 0);
  EXPECT_GT(scans.load(), 0);
}

}  // namespace
}  // namespace ultradict
