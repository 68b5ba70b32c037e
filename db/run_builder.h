// run_builder.h: builds the sorted runs of a generation's log (log_run.h)
// on the background thread of a writer's process, and for an iterator of
// any process that found none (BuildOnce), so that iterators in every
// process read the log in key order instead of sorting it.
//
// A run lists each key's newest entry below a published head offset, read
// from records that no longer change, so it is built without the write
// lock. Runs are due as the log grows (RunDue): the first at
// kMinRunEntries entries, each next one when the entries past the last run
// reach a quarter of those below it. The builder keeps the sorted changes
// of its last run of the current generation, and makes the next one by
// sorting only the records after it and merging.

#ifndef ULTRADICT_DB_RUN_BUILDER_H_
#define ULTRADICT_DB_RUN_BUILDER_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "db/changes.h"
#include "db/generation.h"

namespace ultradict {

class RunBuilder {
 public:
  // min_run_entries: the entries of a log's first run and the least
  // between runs (kMinRunEntries; tests use less).
  explicit RunBuilder(uint32_t min_run_entries = kMinRunEntries)
      : min_run_entries_(min_run_entries) {}
  RunBuilder(const RunBuilder&) = delete;
  RunBuilder& operator=(const RunBuilder&) = delete;

  // Builds and publishes a run of g's records below head offset `end`
  // (committed), unless the newest published run makes one not due yet,
  // and sets g's run_due_at for the writer (not when it abandons the build:
  // Background::ServeRun does then). keep_going() is asked between
  // records and steps: false abandons the build (OK, nothing published).
  // A log holding a compressed record gets no run (run_due_at never). OK
  // also when the run area is full or a newer run was published meanwhile.
  // DataLoss when a record does not decode.
  absl::Status Build(const std::shared_ptr<Generation>& g, uint32_t end,
                     absl::FunctionRef<bool()> keep_going);

  // Builds and publishes a run of all of g's records below head offset
  // `end`, as Build does but keeping nothing for a next run: for an
  // iterator that found no run to read (so that the log's records are
  // sorted once for every process, not once per iterator). Sorts through
  // an order (SortChangeOrder), without a sorted copy of the changes, so
  // that it costs about what the iterator's own sort would. OK with
  // nothing published when a run is not due by Build's rule (counted by
  // the entries below `end`), when the log's index is half full or more
  // (its area is sized for runs below that: log_run_format.h), while
  // another iterator of this process builds one, and after a failure of
  // this process's (g's run_due_at "never"). Sets "never" when the area
  // has no room, a record is compressed, or the build fails (reserve's
  // error; DataLoss when a record does not decode).
  absl::Status BuildOnce(const std::shared_ptr<Generation>& g, uint32_t end);

  // Forgets the changes kept from the last run (their generation is gone).
  void Reset();

 private:
  enum class Collected { kAll, kAbandoned, kCompressed, kDamaged };
  // Appends the changes of g's records [end_, end) to *tail, each with
  // its entry's place as its order (location << 32 | check); kDamaged
  // with *status when a record does not decode.
  Collected CollectTail(const Generation& g, uint32_t end,
                        absl::FunctionRef<bool()> keep_going,
                        std::vector<Change>* tail, absl::Status* status);
  // sorted_ := sorted_ merged with tail (sorted, one per key), tail's
  // change winning for a key in both.
  void MergeTail(const std::vector<Change>& tail);
  // Adds changes[order[i]] (changes[i] without an order), i < count, to
  // g's runs as the run of the records below end_ (nodes_ entries);
  // *added as LogRuns::Add's.
  absl::Status Publish(Generation* g, const std::vector<Change>& changes,
                       const std::vector<uint32_t>* order, bool* added);
  // BuildOnce, the only iterator of this process building for g.
  absl::Status BuildOnceLocked(Generation* g, uint32_t end);

  // The sorted changes of the last run built (of gen_, below end_,
  // covering nodes_ entries), views into gen_'s log: used only while
  // gen_ lives.
  const uint32_t min_run_entries_;
  std::weak_ptr<const Generation> gen_;
  uint32_t end_ = 0;
  uint32_t nodes_ = 0;
  std::vector<Change> sorted_;
  std::vector<Change> spare_;  // The next merge's output (its pages reused).
};

}  // namespace ultradict

#endif  // ULTRADICT_DB_RUN_BUILDER_H_
