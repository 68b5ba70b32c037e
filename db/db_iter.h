// db_iter.h: the Iterator of a DB: a merge of a generation's snapshot with
// the log entries that were committed when the iterator was made.

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

// `log_changes` must be sorted by key, one per key (SortChanges); their
// views point into `generation` or `buffers` (which the iterator keeps
// alive). `live` counts the iterators alive (+1 while this one lives), for
// the DB's check that none outlives it.
std::unique_ptr<Iterator> NewDBIterator(
    std::shared_ptr<const Generation> generation,
    std::vector<Change> log_changes, std::deque<std::string> buffers,
    std::shared_ptr<std::atomic<int>> live);

// An iterator that is never valid and reports `status`.
std::unique_ptr<Iterator> NewErrorIterator(absl::Status status);

}  // namespace ultradict

#endif  // ULTRADICT_DB_DB_ITER_H_
