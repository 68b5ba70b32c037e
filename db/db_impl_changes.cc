// db_impl_changes.cc: the change feed: ReadChanges (from a sequence, walking
// the current log from its start) and ReadChangesFrom (from a cursor, reading
// only the records committed since the previous call). See db_impl.h.
//
// Both read the current generation's log up to the committed bytes that the
// control segment's head word names, counting records themselves: the
// records below the head never change, so they are read without a lock and
// without indexing them.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "db/db_impl.h"
#include "db/log_reader.h"
#include "db/write_batch_internal.h"

namespace ultradict {

absl::Status DBImpl::ReadChangesImpl(ChangeCursor* cursor,
                                     WriteBatch::Handler* handler,
                                     bool* ahead) {
  *ahead = false;
  absl::Status s = CheckFork();
  if (!s.ok()) return s;
  std::shared_ptr<Generation> g;
  uint32_t end = 0;
  s = CurrentView(&g, &end);
  if (!s.ok()) return s;
  const uint64_t base = g->log_header.base_sequence;
  const uint64_t want = cursor->sequence;
  if (want < base) {
    return absl::OutOfRangeError(absl::StrCat("updates ", want + 1, "..", base,
                                              " were folded into a snapshot"));
  }
  ChangeCursor at{base, g->gen, 0};
  if (cursor->generation != 0 && cursor->generation == g->gen) {
    if (cursor->offset > end) {
      return absl::InvalidArgumentError(absl::StrCat(
          "change cursor at offset ", cursor->offset, " of generation ",
          cursor->generation, ", past its ", end, " committed record bytes"));
    }
    at = *cursor;
  }
  // Records up to `want` are skipped without decoding (placing the cursor).
  while (at.offset < end) {
    log::Record record;
    s = log::ReadRecord(g->records, end, at.offset, g->log_segment.path(),
                        &record);
    if (!s.ok()) return s;
    if (at.sequence >= want) {
      std::string scratch;
      std::string_view batch;
      s = log::RecordBatch(record, &scratch, &batch);
      if (s.ok()) s = WriteBatchInternal::Iterate(batch, handler);
      if (!s.ok()) {
        return absl::DataLossError(absl::StrCat(g->log_segment.path(), ": ",
                                                s.message(), " at offset ",
                                                log::kHeaderSize + at.offset));
      }
    }
    at.sequence++;
    at.offset += static_cast<uint32_t>(record.size);
    if (at.sequence > want) *cursor = at;
  }
  if (at.sequence < want) {
    *ahead = true;
    *cursor = ChangeCursor{want};
    return absl::OkStatus();
  }
  *cursor = at;
  return absl::OkStatus();
}

absl::Status DBImpl::ReadChangesFrom(ChangeCursor* cursor,
                                     WriteBatch::Handler* handler) {
  bool ahead;
  return ReadChangesImpl(cursor, handler, &ahead);
}

absl::StatusOr<uint64_t> DBImpl::ReadChanges(uint64_t since,
                                             WriteBatch::Handler* handler) {
  ChangeCursor cursor{since};
  bool ahead;
  absl::Status s = ReadChangesImpl(&cursor, handler, &ahead);
  if (!s.ok()) return s;
  return cursor.sequence;  // `since` when it is past the dictionary's.
}

}  // namespace ultradict
