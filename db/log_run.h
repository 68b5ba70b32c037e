// log_run.h: the sorted runs of a log's keys (format in log_run_format.h):
// a view over the run area of a mapped log segment.
//
// Any process may add a run (the background thread of a writer's process
// does, and an iterator that found none, without the write lock: runs list
// committed records only, which never change); any process reads the published
// ones without a lock. A run never changes once published. The bytes are shared
// memory that other processes write: every header is checked against its
// checksum and the area's bounds, entries against their checksum, and a chain
// of runs is followed only towards lower offsets (so it cannot loop).

#ifndef ULTRADICT_DB_LOG_RUN_H_
#define ULTRADICT_DB_LOG_RUN_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "db/log_run_format.h"
#include "util/coding.h"

namespace ultradict {

class LogRuns {
 public:
  // A published run: the newest entry of each of `count` keys among the
  // records [0, end), in key order.
  struct Run {
    uint32_t end = 0;
    uint32_t nodes = 0;  // Index entries below end.
    uint32_t count = 0;
    const char* entries = nullptr;  // count x kRunEntrySize bytes.
    size_t file_offset = 0;         // Of the run's header, for messages.

    uint32_t location(size_t i) const {
      return DecodeFixed32(entries + i * log::kRunEntrySize);
    }
    uint32_t check(size_t i) const {
      return DecodeFixed32(entries + i * log::kRunEntrySize + 4);
    }
  };

  LogRuns() = default;
  LogRuns(const LogRuns&) = delete;
  LogRuns& operator=(const LogRuns&) = delete;

  // Views the run area [area, area + size), which starts at file_offset
  // in the log named `name`. DataLoss when size is not the area's size for
  // node_capacity.
  absl::Status Open(char* area, size_t size, size_t file_offset,
                    uint32_t node_capacity, std::string_view name);

  // --- Reading (any process, no lock) ---
  // The newest published run whose end is at most `end` (a head offset):
  // *found and *run, its entries checked against their checksum; *found
  // false when there is none. DataLoss naming the log and the offset of a
  // damaged header or run.
  absl::Status Newest(uint32_t end, Run* run, bool* found) const;
  // The end and nodes of the newest published run (whatever its end), for
  // a writer deciding whether another is due; false when there is none or
  // its header is damaged (then a new one replaces it).
  bool NewestEnd(uint32_t* end, uint32_t* nodes) const;
  // Whether the area has room left for a run of `count` entries (a hint:
  // another adder may take it first).
  bool HasRoomFor(uint32_t count) const;

  // --- Adding (any process; no lock: runs are added one after the
  // other in the area, each publication a compare-and-swap) ---
  // Adds and publishes a run of `count` entries that lists the newest
  // entry of each key among the records [0, end) (`nodes` index entries),
  // written by fill(entries) in key order. reserve(offset, length)
  // reserves the area's bytes [offset, offset + length) in the file before
  // they are written. *added false when the area has no room left, or
  // when a run with an end at or past `end` was published meanwhile (then
  // this one is not published; its bytes are not even taken when that run
  // was there before they were). Errors are reserve's.
  absl::Status Add(uint32_t end, uint32_t nodes, uint32_t count,
                   absl::FunctionRef<void(char*)> fill,
                   absl::FunctionRef<absl::Status(size_t, size_t)> reserve,
                   bool* added);

  size_t size() const { return size_; }
  // Where the area starts in the log file.
  size_t file_offset() const { return file_offset_; }

 private:
  // Where the next run of `bytes` bytes goes when runs have taken `used`
  // bytes (the `claimed` word): *at, an area offset; false when it does
  // not fit, or `used` is past the area (damage).
  bool PlaceAfter(uint64_t used, size_t bytes, size_t* at) const;
  // The area's bytes for a run of `count` entries (header included).
  static size_t RunBytes(uint32_t count) {
    return (log::kRunHeaderSize + size_t{count} * log::kRunEntrySize + 63) &
           ~size_t{63};
  }
  std::atomic<uint64_t>& Word64(size_t offset) const {
    return *reinterpret_cast<std::atomic<uint64_t>*>(area_ + offset);
  }
  // Reads and checks the header of the run at area offset `at` (entries
  // not checked). False when it is out of bounds or damaged.
  bool ReadHeader(size_t at, Run* run, uint32_t* previous) const;
  absl::Status Damage(size_t at, std::string_view what) const;
  // How a walk of a chain of runs (WalkChain) ended.
  enum class WalkEnd {
    kStopped,      // stop() returned true for the run at *at.
    kChainEnd,     // A zero reference: no (further) run.
    kOutOfBounds,  // A reference past the area.
    kBadHeader,    // The header at *at is out of bounds or damaged.
    kBadLink,      // The run at *at links to itself or to a higher offset.
  };
  // Walks the chain of published runs from `ref` (an area offset + 1, as
  // the `current` word and the `previous` links hold them; 0 for none),
  // newest first: reads and checks each run's header into *run (*at its
  // area offset) and calls stop(*at, *run), until stop returns true or
  // the chain ends or is damaged. Links are followed to lower offsets only:
  // a damaged chain cannot loop.
  WalkEnd WalkChain(uint64_t ref, Run* run, size_t* at,
                    absl::FunctionRef<bool(size_t, const Run&)> stop) const;
  // The `previous` link of a run at area offset `at`, of the records below
  // `end`, published over the run the current word names (`newest`): that
  // run when it lies below `at`, else the first run of its chain that
  // does; 0 when there is none or a header on the way is damaged.
  // *superseded when `newest` lists records as far as `end` or further
  // (then the new run is not published).
  uint32_t LinkFor(uint64_t newest, size_t at, uint32_t end,
                   bool* superseded) const;
  // Whether the area's bytes [at, at + bytes) hold part of a run published
  // in the chain from `current` (claimed bytes never do, but for damage).
  bool OverlapsPublished(size_t at, size_t bytes) const;

  std::string name_;
  char* area_ = nullptr;
  size_t size_ = 0;
  size_t file_offset_ = 0;
};

}  // namespace ultradict

#endif  // ULTRADICT_DB_LOG_RUN_H_
