// compaction.h: folding a generation's log into the next generation's
// snapshot, and making that next generation (doc/design.md, "Compaction").
//
// These steps need no lock and no handle: their inputs are a generation's
// records below a published head, which never change. DBImpl runs them
// inline (CompactAsWriter) or on the background thread, and decides when.
//
//   changes = CollectIndexChanges(g) or CollectLogChanges(g, ...)
//   BuildSnapshot(g, &changes, ...)          -> the next snapshot
//   PrepareGeneration(g, snapshot, ...)      -> the next generation, with
//                                               the records carried over

#ifndef ULTRADICT_DB_COMPACTION_H_
#define ULTRADICT_DB_COMPACTION_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "db/changes.h"
#include "db/generation.h"
#include "db/snapshot_builder.h"
#include "db/snapshot_scanner.h"
#include "port/port.h"

namespace ultradict {

// Writes `changes` (sorted, one per key: SortChanges), merged with the
// snapshot that `base` scans from its first entry (null: none), into
// builder: a put replaces or adds its key, a delete drops it. Entries the
// changes leave alone are copied whole, checksum and compression included,
// without being decoded. Calls tick() every 1024 entries.
absl::Status MergeSortedChanges(snapshot::Scanner* base,
                                const std::vector<Change>& changes,
                                snapshot::Builder* builder,
                                absl::FunctionRef<void()> tick);

// Writes the snapshot of generation g.gen + 1 at path: g's snapshot with
// `changes` applied (ordered by SortChangeOrder, which may sort the list in
// place, then merged as MergeSortedChanges does).
// `options` says how (its generation is set here). *count: its entries.
absl::Status BuildSnapshot(const Generation& g, std::vector<Change>* changes,
                           snapshot::BuildOptions options,
                           const std::string& path,
                           absl::FunctionRef<void()> tick, port::Segment* out,
                           uint64_t* count);
// Writes a snapshot at path (removing a leftover there first): `fill`
// adds its entries to the builder, which has room for `expected` of them
// (a hint). On success *out is the snapshot, mapped, and *count its
// entries; on failure the file is removed.
absl::Status BuildSnapshotWith(
    const std::string& path, const snapshot::BuildOptions& options,
    size_t expected, absl::FunctionRef<absl::Status(snapshot::Builder*)> fill,
    port::Segment* out, uint64_t* count);

// The size of the next generation's log (header included, whole pages),
// whose snapshot is snapshot_bytes long and into which carried_bytes of
// records are carried.
//
// The log grows with the data: compaction costs O(data) and starts after
// O(data) bytes of writes (Generation::SetUpLog: a third of the larger of
// the initial log size and the snapshot), so its cost per write stays flat.
// The log holds eight times the snapshot plus four times the records
// carried into it, reserved only as writes approach: the room beyond the
// compaction point is what writers fill while a background compaction runs
// (2-3 s at 10 M entries), instead of waiting for it. Writers outrun
// compaction about 1:1 in bytes (the compaction writes a whole snapshot and
// carries what came meanwhile, in rounds that chase the head), so while a
// dictionary grows, less room made the writer wait: 3x the snapshot, for 4
// of a 1 M fill's 7 compactions; 4x + 2x carried, for 2-3 of them (5-40 ms
// each). Unwritten room costs nothing on tmpfs (a sparse file), and a
// writer that does not outrun the compaction never reaches it. Where a
// segment takes all its space when created (port::kSparseSegments false:
// Windows), half as much room. Never less than initial_log_size, never
// more than log::kMaxRecordBytes. These are bytes of records: the file
// also holds the index of the records (log_index_format.h).
size_t NextLogCapacity(size_t initial_log_size, size_t snapshot_bytes,
                       size_t carried_bytes);

// Makes the next generation of `old` from its complete snapshot `snap`:
// creates its log at log_path (its final name, or a temporary one that the
// caller renames before publishing) holding old's records
// [carried_from, carried_to), and indexes them; its index has room for
// them and for `more_entries` entries besides. Needs no lock: the records
// of a log below its published head never change. Calls tick() between
// records. Removes the log it made when it fails.
absl::Status PrepareGeneration(const Generation& old, port::Segment snap,
                               const GenerationFiles& files,
                               const std::string& log_path,
                               uint32_t carried_from, uint32_t carried_to,
                               uint64_t base_sequence,
                               absl::FunctionRef<void()> tick,
                               std::shared_ptr<Generation>* out,
                               size_t more_entries = 0);

}  // namespace ultradict

#endif  // ULTRADICT_DB_COMPACTION_H_
