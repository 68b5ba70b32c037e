// generation.h: one mapped generation of a dictionary (its snapshot and its
// log, see doc/design.md) and what needs nothing but a generation: loading
// it, setting up its log, adding records to its shared index, finding a
// key, carrying records over from an older generation, reserving its log's
// pages.
//
// A Generation is shared (std::shared_ptr) by the handle that made it
// current, the iterators and pinned values that read it, and the background
// thread that retires it. Its records below the published head never change,
// so they are read without a lock; the shared index of its log is changed
// only by the holder of the write lock (in any process), or before the
// generation is published, by the one thread that builds it.

#ifndef ULTRADICT_DB_GENERATION_H_
#define ULTRADICT_DB_GENERATION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "db/control_block.h"
#include "db/filename.h"
#include "db/log_format.h"
#include "db/log_index.h"
#include "db/log_reader.h"
#include "db/log_run.h"
#include "db/snapshot_reader.h"
#include "port/mutex.h"
#include "port/port.h"

namespace ultradict {

// A log's pages are reserved (allocated) this many bytes at a time as
// records (or index nodes) reach them, not all at its creation: most of a
// log is never written before the next compaction, and allocating pages
// means zeroing them.
inline constexpr size_t kLogReserveStep = size_t{1} << 20;

// Record bytes that start a log's background compaction: a third of the
// larger of the initial log size and the snapshot (see NextLogCapacity in
// compaction.h). The log is larger: the room beyond is what writers use
// while the background compaction runs, so that they wait for it only
// when it is slower than writing that much.
inline size_t CompactionPoint(size_t record_capacity, size_t initial_log_size,
                              size_t snapshot_bytes) {
  const size_t base =
      initial_log_size > snapshot_bytes ? initial_log_size : snapshot_bytes;
  return (record_capacity < base ? record_capacity : base) / 3;
}

// A log gets its first sorted run (log_run.h, built by run_builder.h) when
// this many entries lie below its head: below that an iterator's own sort
// of the log costs a few milliseconds (65536 changes: ~4 ms), which a run
// would not save.
inline constexpr uint32_t kMinRunEntries = 65536;
// The next run is due when the entries past the last one reach 1 /
// kRunGrowth of those below it: an iterator sorts at most a fifth of the
// log's entries itself, and the runs of a log add up to at most kRunGrowth
// + 1 times its entries (see log_run_format.h, kRunEntriesPerNode).
inline constexpr uint32_t kRunGrowth = 4;
// The index entries at which the run after one of `nodes` entries is due
// (min_entries: kMinRunEntries, or less in tests).
inline uint32_t NextRunAt(uint32_t nodes,
                          uint32_t min_entries = kMinRunEntries) {
  const uint32_t step =
      nodes / kRunGrowth > min_entries ? nodes / kRunGrowth : min_entries;
  return nodes > UINT32_MAX - step ? UINT32_MAX : nodes + step;
}

// Where the files of one dictionary's generations are, and how they are
// opened and created.
struct GenerationFiles {
  std::string dir;
  std::string name;
  FileKey key;  // Names the files (see filename.h).
  bool allow_other_owner = false;
  uint32_t mode = 0600;
  // Bytes of the first log, and the least any log holds (control block).
  size_t initial_log_size = 0;

  std::string LogPath(uint32_t gen) const {
    return LogFileName(dir, name, key, gen);
  }
  std::string SnapshotPath(uint32_t gen) const {
    return SnapshotFileName(dir, name, key, gen);
  }
};

// A value in the log: a view into the mapped log (or a decompressed buffer
// of the generation), or a deletion.
struct LogValue {
  std::string_view value;
  bool deleted = false;
};

// One mapped generation and the shared index of its log records.
struct Generation {
  uint32_t gen = 0;  // 0: the empty dictionary, which has no files.
  port::Segment log_segment;
  port::Segment snap_segment;
  log::Header log_header;
  snapshot::Reader snapshot;
  const char* records = nullptr;  // The record area of the log.
  size_t record_capacity = 0;
  // The index of the log's records, in the log segment (log_index.h):
  // written by the holder of the write lock, read by everyone.
  LogIndex index;
  // Sorted runs of the log's keys, after the index in the log segment
  // (log_run.h): added by background threads and by iterators that found
  // none (RunBuilder::BuildOnce), read by iterators.
  LogRuns runs;
  // The index entries (nodes_used) at which the writer asks this process's
  // background thread for the next run: set by that thread after each
  // build (RunBuilder, Background::ServeRun) and to "never" by the writer
  // when it asks (Background::AskRun), read by the writer at each commit.
  // An iterator's build sets it to "never" when it fails or finds the
  // log's records compressed (then no iterator of this process tries
  // again), and never raises it from "never".
  std::atomic<uint32_t> run_due_at{kMinRunEntries};
  // Set while an iterator of this process builds a run of this log
  // (RunBuilder::BuildOnce): the others sort for themselves meanwhile,
  // instead of each building and claiming the same run's bytes.
  std::atomic<bool> iterator_building_run{false};
  // Record bytes known to be reserved in the file (see kLogReserveStep):
  // all below it are. Raised by the writer (write lock held) and by the
  // background thread (background.h), each to the end of a range it
  // reserved, never lowered: atomic, as they do it without a common lock.
  std::atomic<size_t> reserved{0};
  // How far the writer asked the background thread to reserve (write lock).
  size_t reserve_asked = 0;
  // Record bytes the background thread touched (port::PrefaultPages), all
  // below it: read and raised by that thread only (Background::
  // ServeReserve), so a plain field. And how far the writer asked it to
  // (write lock).
  size_t touched = 0;
  size_t touch_asked = 0;
  // Bytes of the index area known to be reserved for nodes (the writer's,
  // or the compactor's before it publishes the generation).
  size_t index_reserved = 0;
  size_t compact_at = 0;  // Record bytes that start a background compaction.

  // The files of the segments, closed when the generation stops being
  // current in this process (CloseFiles), so that pinned generations hold
  // no descriptor (an iterator may hold a dup of the snapshot's while it
  // lives: port::SegmentFile). The snapshot's is kept open to read it in
  // order (SnapshotFile), the log's to reserve and sync it.
  // file_mu orders those uses with the close: the background thread
  // reserves pages of a generation without any other lock. Nothing is
  // locked under file_mu.
  mutable port::Mutex file_mu;
  bool files_closed ABSL_GUARDED_BY(file_mu) = false;

  // Reserves [offset, offset + length) of the log file; FailedPrecondition
  // after CloseFiles.
  absl::Status ReserveFile(size_t offset, size_t length)
      ABSL_LOCKS_EXCLUDED(file_mu);
  void CloseFiles() ABSL_LOCKS_EXCLUDED(file_mu);
  // Reads the snapshot's bytes in order (snapshot_scanner.h): through a
  // descriptor of its own while the snapshot's file is open here, through
  // the mapping after CloseFiles.
  port::SegmentFile SnapshotFile() const ABSL_LOCKS_EXCLUDED(file_mu);
  absl::Status SyncFiles() ABSL_LOCKS_EXCLUDED(file_mu);

  // Raises `reserved` to at least `end` (all below it reserved).
  void Reserved(size_t end);
  // Reserves the log's pages for record bytes [at, at + length) unless
  // this process knows them reserved: a kLogReserveStep at a time, or just
  // the bytes asked when a whole step does not fit.
  absl::Status ReserveLog(size_t at, size_t length);

  // Once the log and snapshot are mapped: sets the record area, opens the
  // index and sets compact_at. initial_log_size: the dictionary's (control
  // block). DataLoss when the index does not fit the header's shape.
  absl::Status SetUpLog(size_t initial_log_size);
  // Whether the log is past its compaction point at head offset `end`:
  // its records, or its index's nodes.
  bool WantsCompaction(uint32_t end) const;

  // --- The writer's side of the index (the write lock held, or the
  // generation not published yet) ---
  // Makes room in the index for `n` more entries (nodes reserved, the
  // table grown); *fits false when the index is full.
  absl::Status MakeIndexRoom(size_t n, bool* fits);
  // Adds the entries of the records [from, to) to the index, each batch
  // checked whole first, and records the progress; *fits false (and
  // nothing from that record on is added) when the index is full. Calls
  // between() between records. DataLoss naming the log and offset.
  absl::Status IndexRecords(uint32_t from, uint32_t to, bool* fits,
                            absl::FunctionRef<void()> between);
  // After a writer died: undoes what it added to the index for records at
  // or past head offset `end`, and brings the progress up to `end`.
  absl::Status RepairIndex(uint32_t end);
  // How many records lie below head offset `end` (from the index's
  // progress, walking the record headers it has not counted yet).
  absl::StatusOr<uint32_t> RecordsBelow(uint32_t end) const;

  // Appends old's records [from, to) to this log after those it holds
  // (up to its index's progress) and indexes them (IndexRecords); sets
  // *fits to false (and changes nothing visible) when they do not fit.
  absl::Status CarryRecords(const Generation& old, uint32_t from, uint32_t to,
                            bool* fits, absl::FunctionRef<void()> between);

  // Finds key among snapshot + log records below head offset `end`: OK
  // with *value (valid while the generation lives; may use *scratch),
  // NotFound (without a message: DB::Get returns it as it is), or DataLoss.
  absl::Status Lookup(std::string_view key, std::string* scratch,
                      std::string_view* value, uint32_t end) const;
  // Whether key is in the snapshot (its value is not checksummed): what a
  // writer needs to keep the entry count when the log has no entry of the
  // key (LogIndex::Prior::kNone).
  absl::Status ExistsInSnapshot(std::string_view key, uint64_t hash,
                                bool* exists) const;
  // DataLoss naming the log and the file offset of what does not decode.
  absl::Status IndexDamage(uint32_t file_offset) const;
};

// Maps generation `gen` of the dictionary (gen 0: the empty one, no files)
// and sets up its log and index. NotFound when a
// segment is missing, DataLoss when one is damaged or of another
// generation, InvalidArgument when one is not a regular file.
absl::StatusOr<std::shared_ptr<Generation>> LoadGeneration(
    const GenerationFiles& files, uint32_t gen);

// Reads the records of g's log in [from, to), each checked against its
// checksum, and calls fn(batch, &scratch, record_size) with its WriteBatch
// encoding, which lies in the mapped log or, for a compressed record, in
// scratch (fn may keep it by moving it out). Damage, in a record or in its
// batch, is DataLoss naming the segment and the record's offset.
template <typename Fn>
absl::Status ForEachBatch(const Generation& g, uint32_t from, uint32_t to,
                          Fn&& fn) {
  for (uint32_t offset = from; offset < to;) {
    log::Record record;
    absl::Status s =
        log::ReadRecord(g.records, to, offset, g.log_segment.path(), &record);
    if (!s.ok()) return s;
    std::string scratch;
    std::string_view batch;
    s = log::RecordBatch(record, &scratch, &batch);
    if (s.ok()) s = fn(batch, &scratch, static_cast<uint32_t>(record.size));
    if (!s.ok()) {
      return absl::DataLossError(absl::StrCat(g.log_segment.path(), ": ",
                                              s.message(), " at offset ",
                                              log::kHeaderSize + offset));
    }
    offset += static_cast<uint32_t>(record.size);
  }
  return absl::OkStatus();
}

}  // namespace ultradict

#endif  // ULTRADICT_DB_GENERATION_H_
