// db_iter.h: the Iterator of a DB: a merge of a generation's snapshot with
// the log entries that were committed when the iterator was made: those of
// a sorted run of the log (log_run.h), if one was published, and the
// iterator's own sorted list of those after the run.

#ifndef ULTRADICT_DB_DB_ITER_H_
#define ULTRADICT_DB_DB_ITER_H_

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/changes.h"
#include "db/generation.h"
#include "ultradict/iterator.h"

namespace ultradict {

// What an iterator reads of a generation's log below a head offset: the
// newest published sorted run of the log that the head covers (log_run.h;
// count 0 when there is none), whose entries the iterator decodes as it
// goes, and the changes of the records after it (all of them without a
// run), newer than the run's, in no order (NewDBIterator sorts them).
// The changes' views point into the generation or into `buffers`.
struct IteratorLog {
  LogRuns::Run run;
  std::vector<Change> changes;
  std::deque<std::string> buffers;  // Decompressed batches.
};

// Reads g's log below head offset `end` for an iterator. DataLoss when a
// run or a record is damaged. With `run_wanted`, when there is no run to
// read and a run of the records below `end` would be worth building for
// every process (RunWorthBuilding), sets *run_wanted and reads nothing.
absl::Status ReadIteratorLog(const Generation& g, uint32_t end,
                             IteratorLog* log, bool* run_wanted = nullptr);

// Whether an iterator that found no usable run below `end` should build
// and publish one (RunBuilder::BuildOnce) rather than sort the records
// for itself alone: when they are at least kMinRunEntries, no compaction
// is due (which would replace the log and its runs soon; the writer's
// runs stop then too) and g's run_due_at is not "never" in this process
// (compressed records, a failed build, or the writer's background thread
// asked to build one).
bool RunWorthBuilding(const Generation& g, uint32_t end);

// An iterator over `generation`'s snapshot and `log` (ReadIteratorLog),
// which it keeps, after sorting its changes (SortChangeOrder: one per key).
// `live` counts the iterators alive (+1 while this one lives), for the DB's
// check that none outlives it.
std::unique_ptr<Iterator> NewDBIterator(
    std::shared_ptr<const Generation> generation, IteratorLog log,
    std::shared_ptr<std::atomic<int>> live);

// An iterator that is never valid and reports `status`.
std::unique_ptr<Iterator> NewErrorIterator(absl::Status status);

}  // namespace ultradict

#endif  // ULTRADICT_DB_DB_ITER_H_
