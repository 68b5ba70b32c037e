// lag_recorder.h: the accounting of replication_bench's lag benchmark:
// which of N numbered puts a reader of the follower's copy has seen, and
// when, so that every put gets a lag and none is silently left out.
//
//   LagRecorder rec(total);                     // puts 0 .. total-1
//   writer:  db->Put(LagKey(i), LagValue(NowNs()));
//   reader:  s = copy->ReadChangesFrom(&cursor, &rec);
//            if (IsOutOfRange(s)) { cursor = {copy->LatestSequence()};
//                                   rec.CatchUp(copy, committed); }
//
// Each put's key encodes its index (LagKey) and its value the writer's clock
// just before the put (LagValue). Put() (the change feed) records the time
// it is called. A reader whose copy was compacted before it read some
// records (ReadChangesFrom says OutOfRange) calls CatchUp after placing its
// cursor at LatestSequence(): each unseen put below `committed` that Get
// finds in the copy is recorded as visible now, an upper bound of when it
// became visible (it was there before now); one Get does not find is not yet
// applied, so it comes later through the feed (it was committed to the copy
// after the cursor's new place).
//
// Thread safety: one thread at a time (the reader), then the results.

#ifndef ULTRADICT_REPLICATION_LAG_RECORDER_H_
#define ULTRADICT_REPLICATION_LAG_RECORDER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ultradict/db.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace replication {

// Nanoseconds of the steady clock.
int64_t NowNs();

// The 16-byte key of put `index` ("key<index>" padded with '.').
std::string LagKey(uint64_t index);
// The index LagKey encoded; false when `key` is not such a key.
bool ParseLagKey(std::string_view key, uint64_t* index);
// A 100-byte value whose first 8 bytes are `commit_ns`.
std::string LagValue(int64_t commit_ns);
// The clock LagValue stored; false when `value` is shorter than 8 bytes.
bool ParseLagValue(std::string_view value, int64_t* commit_ns);

class LagRecorder : public WriteBatch::Handler {
 public:
  // `now` is the clock (NowNs unless a test passes its own).
  explicit LagRecorder(
      uint64_t puts, std::function<int64_t()> now = std::function<int64_t()>());

  // The change feed: records the put's visibility (now), once per index.
  // Keys that are not LagKeys of an index below `puts` count as foreign.
  void Put(std::string_view key, std::string_view value) override;
  void Delete(std::string_view key) override {}

  // After an OutOfRange (see above): Gets each unseen put with an index
  // below `committed` from `copy` and records the ones found as visible
  // now (upper bounds, counted in by_fallback()). Errors: what Get returns
  // other than NotFound; DataLoss for a value LagValue did not make.
  absl::Status CatchUp(DB* copy, uint64_t committed);

  uint64_t puts() const { return commit_ns_.size(); }
  uint64_t seen() const { return seen_; }
  uint64_t by_fallback() const { return by_fallback_; }
  uint64_t foreign() const { return foreign_; }
  uint64_t out_of_range() const { return out_of_range_; }
  bool all_seen() const { return seen_ == commit_ns_.size(); }
  // Of put `index`: whether it was seen, the clock in its value, when it
  // became visible (an upper bound if fallback(index)); 0 while unseen.
  bool seen(uint64_t index) const { return how_[index] != kUnseen; }
  int64_t commit_ns(uint64_t index) const { return commit_ns_[index]; }
  int64_t visible_ns(uint64_t index) const { return visible_ns_[index]; }
  bool fallback(uint64_t index) const { return how_[index] == kByGet; }
  // The lags (visible - commit) of the puts seen, sorted.
  std::vector<int64_t> SortedLags() const;

 private:
  enum How : uint8_t { kUnseen, kByFeed, kByGet };
  void Record(uint64_t index, int64_t commit_ns, int64_t now, How how);

  std::function<int64_t()> now_;
  std::vector<int64_t> commit_ns_;
  std::vector<int64_t> visible_ns_;
  std::vector<How> how_;
  uint64_t lowest_unseen_ = 0;  // Every index below it has been seen.
  uint64_t seen_ = 0;
  uint64_t by_fallback_ = 0;
  uint64_t foreign_ = 0;
  uint64_t out_of_range_ = 0;  // CatchUp calls.
};

// The value of `sorted` at quantile q (0..1), in ms; 0 when empty.
double PercentileMs(const std::vector<int64_t>& sorted, double q);

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_LAG_RECORDER_H_
