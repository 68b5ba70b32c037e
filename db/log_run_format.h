// log_run_format.h: layout of the run area of a log segment, which holds
// sorted runs of the log's keys: lists of where each key's newest entry
// among the records below some head offset lies, in key order, so that an
// iterator reads the log in order without sorting it. Frozen; the grammar
// with a worked example is in doc/design.md ("Sorted runs").
//
// A run is built without the write lock, by the background thread of a
// writer's process or by an iterator that found none (any process), from
// records that no longer change (those below a published head), and is
// never changed once published: an iterator at a
// head at or past a run's `end` merges the snapshot, the run and its own
// sort of the records [end, head) only.
//
//   run area, at the first multiple of 4096 past the log's index area
//   (log_index_format.h), RunAreaSize(node_capacity) bytes:
//     current   fixed64  atomic: 1 + the area offset of the newest
//                        published run, or 0 when none was
//     claimed   fixed64  atomic: bytes of the area taken by runs so far,
//                        from kRunAreaHeaderSize (a builder takes the
//                        bytes of its run first, then writes it, then
//                        publishes it in `current`; a builder that died
//                        leaves bytes taken and never published)
//     (zero padding to 64)
//     runs, each at a multiple of 64:
//       magic      fixed64  kRunMagic ("UDLRUN\0\1" little-endian)
//       version    fixed32  kRunVersion
//       count      fixed32  entries
//       end        fixed32  head offset: the run lists the newest entry of
//                           each key among the records [0, end)
//       nodes      fixed32  index entries below `end` (the log index's
//                           nodes_used there): how far a later run is due
//       previous   fixed32  1 + the area offset of the run that was current
//                           when this one was published, or 0; when that
//                           one lies above this one (its builder took its
//                           bytes later and published first), the first
//                           run of its chain below this one: links always
//                           go to lower offsets
//       entries_checksum fixed32  low 32 bits of XXH3 of the entries
//       header_checksum  fixed32  low 32 bits of XXH3 of bytes [0, 32)
//       (zero padding to 64)
//       entries    count x 8 bytes, in the order of their keys (bytewise),
//                  one per key, deletions included:
//         location fixed32  offset in the record area of the entry (its
//                           tag byte); never a compressed record (a log
//                           holding one gets no run)
//         check    fixed32  low 32 bits of XXH3 of the entry's bytes, as
//                           in the log index's buckets

#ifndef ULTRADICT_DB_LOG_RUN_FORMAT_H_
#define ULTRADICT_DB_LOG_RUN_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace ultradict {
namespace log {

inline constexpr uint64_t kRunMagic = 0x0100'4e55'524c'4455ULL;  // "UDLRUN\0\1"
inline constexpr uint32_t kRunVersion = 1;
inline constexpr size_t kRunAreaHeaderSize = 64;
inline constexpr size_t kRunCurrentOffset = 0;
inline constexpr size_t kRunClaimedOffset = 8;
inline constexpr size_t kRunHeaderSize = 64;
inline constexpr size_t kRunEntrySize = 8;
inline constexpr size_t kRunCountOffset = 12;
inline constexpr size_t kRunEndOffset = 16;
inline constexpr size_t kRunNodesOffset = 20;
inline constexpr size_t kRunPreviousOffset = 24;
inline constexpr size_t kRunEntriesChecksumOffset = 28;
inline constexpr size_t kRunHeaderChecksumOffset = 32;

// Entries of runs the area holds per index node. A run lists at most the
// index's entries below its end, and runs are built only while the index
// is under half full (past that the log is being compacted), each at least
// a quarter larger than the last (kRunGrowth): so all of a log's runs add
// up to at most 5/2 x node_capacity entries, and 3 leave room for the
// headers. A full area means no more runs for that log; iterators then
// sort its records themselves, as they do below kMinRunEntries.
inline constexpr size_t kRunEntriesPerNode = 3;

// Bytes of the run area of a log whose index has node_capacity nodes.
inline constexpr size_t RunAreaSize(uint32_t node_capacity) {
  return (kRunAreaHeaderSize +
          kRunEntriesPerNode * kRunEntrySize *
              static_cast<size_t>(node_capacity) +
          4095) &
         ~size_t{4095};
}
// Where the run area starts, from the start of the file, given where the
// index area starts and its size.
inline constexpr size_t RunAreaOffset(size_t index_offset, size_t index_size) {
  return (index_offset + index_size + 4095) & ~size_t{4095};
}

}  // namespace log
}  // namespace ultradict

#endif  // ULTRADICT_DB_LOG_RUN_FORMAT_H_
