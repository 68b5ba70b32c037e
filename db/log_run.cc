// log_run.cc: see log_run.h.

#include "db/log_run.h"

#include "absl/strings/str_cat.h"
#include "util/checksum.h"
#include "util/strings.h"

namespace ultradict {

using log::kRunHeaderSize;

absl::Status LogRuns::Open(char* area, size_t size, size_t file_offset,
                           uint32_t node_capacity, std::string_view name) {
  name_ = std::string(name);
  if (size != log::RunAreaSize(node_capacity)) {
    return absl::DataLossError(absl::StrCat(
        AsAbsl(name), ": run area of ", size, " bytes at offset ", file_offset,
        " (expected ", log::RunAreaSize(node_capacity), ")"));
  }
  area_ = area;
  size_ = size;
  file_offset_ = file_offset;
  return absl::OkStatus();
}

absl::Status LogRuns::Damage(size_t at, std::string_view what) const {
  return absl::DataLossError(absl::StrCat(AsAbsl(name_), ": ", AsAbsl(what),
                                          " at offset ", file_offset_ + at));
}

bool LogRuns::ReadHeader(size_t at, Run* run, uint32_t* previous) const {
  if (at % 64 != 0 || at < log::kRunAreaHeaderSize || at > size_ ||
      size_ - at < kRunHeaderSize) {
    return false;
  }
  const char* h = area_ + at;
  if (DecodeFixed64(h) != log::kRunMagic ||
      DecodeFixed32(h + 8) != log::kRunVersion ||
      DecodeFixed32(h + log::kRunHeaderChecksumOffset) !=
          Checksum32(h, log::kRunHeaderChecksumOffset)) {
    return false;
  }
  run->count = DecodeFixed32(h + log::kRunCountOffset);
  if (run->count > (size_ - at - kRunHeaderSize) / log::kRunEntrySize) {
    return false;
  }
  run->end = DecodeFixed32(h + log::kRunEndOffset);
  run->nodes = DecodeFixed32(h + log::kRunNodesOffset);
  run->entries = h + kRunHeaderSize;
  run->file_offset = file_offset_ + at;
  *previous = DecodeFixed32(h + log::kRunPreviousOffset);
  return true;
}

LogRuns::WalkEnd LogRuns::WalkChain(
    uint64_t ref, Run* run, size_t* at,
    absl::FunctionRef<bool(size_t, const Run&)> stop) const {
  if (ref == 0) return WalkEnd::kChainEnd;
  if (ref - 1 > size_) return WalkEnd::kOutOfBounds;
  for (;;) {
    *at = static_cast<size_t>(ref - 1);
    uint32_t previous = 0;
    if (!ReadHeader(*at, run, &previous)) return WalkEnd::kBadHeader;
    if (stop(*at, *run)) return WalkEnd::kStopped;
    if (previous == 0) return WalkEnd::kChainEnd;
    // Only downwards (so within the area), hence the walk ends.
    if (previous - 1 >= *at) return WalkEnd::kBadLink;
    ref = previous;
  }
}

absl::Status LogRuns::Newest(uint32_t end, Run* run, bool* found) const {
  *found = false;
  if (area_ == nullptr) return absl::OkStatus();
  const uint64_t current =
      Word64(log::kRunCurrentOffset).load(std::memory_order_acquire);
  // Runs published after the caller's head are passed: an older one may do.
  size_t at = 0;
  switch (WalkChain(current, run, &at,
                    [end](size_t, const Run& r) { return r.end <= end; })) {
    case WalkEnd::kChainEnd:
      return absl::OkStatus();
    case WalkEnd::kOutOfBounds:
      return Damage(log::kRunCurrentOffset, "run reference out of bounds");
    case WalkEnd::kBadHeader:
      return Damage(at, "damaged run header");
    case WalkEnd::kBadLink:
      return Damage(at + log::kRunPreviousOffset, "run link does not go back");
    case WalkEnd::kStopped:
      break;
  }
  if (Checksum32(run->entries, size_t{run->count} * log::kRunEntrySize) !=
      DecodeFixed32(area_ + at + log::kRunEntriesChecksumOffset)) {
    return Damage(at, "run checksum mismatch");
  }
  *found = true;
  return absl::OkStatus();
}

bool LogRuns::NewestEnd(uint32_t* end, uint32_t* nodes) const {
  if (area_ == nullptr) return false;
  const uint64_t current =
      Word64(log::kRunCurrentOffset).load(std::memory_order_acquire);
  Run run;
  uint32_t previous;
  if (current == 0 || current - 1 > size_ ||
      !ReadHeader(static_cast<size_t>(current - 1), &run, &previous)) {
    return false;
  }
  *end = run.end;
  *nodes = run.nodes;
  return true;
}

bool LogRuns::OverlapsPublished(size_t at, size_t bytes) const {
  const uint64_t current =
      Word64(log::kRunCurrentOffset).load(std::memory_order_acquire);
  Run run;
  size_t run_at;
  // A damaged header or link ends the search (and fails reads).
  return WalkChain(current, &run, &run_at,
                   [at, bytes](size_t r_at, const Run& r) {
                     const size_t r_bytes =
                         (kRunHeaderSize +
                          size_t{r.count} * log::kRunEntrySize + 63) &
                         ~size_t{63};
                     return at < r_at + r_bytes && r_at < at + bytes;
                   }) == WalkEnd::kStopped;
}

uint32_t LogRuns::LinkFor(uint64_t newest, size_t at, uint32_t end,
                          bool* superseded) const {
  *superseded = false;
  Run run;
  size_t run_at;
  // Links go to lower offsets only: from a run above this one, follow its
  // links (to runs of fewer records still) down to the first below.
  const WalkEnd walk =
      WalkChain(newest, &run, &run_at, [&](size_t r_at, const Run& r) {
        // The newest, wherever it lies: another builder may have taken its
        // bytes after this one's and published first.
        if (r_at == newest - 1 && r.end >= end) *superseded = true;
        return *superseded || r_at < at;
      });
  // None, or damaged (replaced without a link).
  if (walk != WalkEnd::kStopped || *superseded) return 0;
  return static_cast<uint32_t>(run_at + 1);
}

bool LogRuns::PlaceAfter(uint64_t used, size_t bytes, size_t* at) const {
  if (used > size_) return false;  // Damaged: no more runs.
  *at =
      (log::kRunAreaHeaderSize + static_cast<size_t>(used) + 63) & ~size_t{63};
  return *at <= size_ && size_ - *at >= bytes;
}

bool LogRuns::HasRoomFor(uint32_t count) const {
  size_t at;
  return area_ != nullptr &&
         PlaceAfter(
             Word64(log::kRunClaimedOffset).load(std::memory_order_relaxed),
             RunBytes(count), &at);
}

absl::Status LogRuns::Add(
    uint32_t end, uint32_t nodes, uint32_t count,
    absl::FunctionRef<void(char*)> fill,
    absl::FunctionRef<absl::Status(size_t, size_t)> reserve, bool* added) {
  *added = false;
  if (area_ == nullptr) return absl::OkStatus();
  // A run as new is there already (another builder's, finished first):
  // nothing to publish, and no bytes to take for it.
  uint32_t newest_end = 0, newest_nodes = 0;
  if (NewestEnd(&newest_end, &newest_nodes) && newest_end >= end) {
    return absl::OkStatus();
  }
  const size_t bytes = RunBytes(count);
  // Take the run's bytes.
  std::atomic<uint64_t>& claimed = Word64(log::kRunClaimedOffset);
  uint64_t used = claimed.load(std::memory_order_relaxed);
  size_t at;
  for (;;) {
    if (!PlaceAfter(used, bytes, &at)) return absl::OkStatus();  // Full.
    if (at + 1 > UINT32_MAX) return absl::OkStatus();  // Links are 32-bit.
    if (claimed.compare_exchange_weak(used,
                                      at + bytes - log::kRunAreaHeaderSize,
                                      std::memory_order_relaxed)) {
      break;
    }
  }
  // Bytes taken are never a published run's, unless `claimed` was damaged
  // (lowered): then writing them would change runs that iterators are
  // reading, with entries that decode (an older run's) but are not theirs.
  if (OverlapsPublished(at, bytes)) return absl::OkStatus();
  absl::Status s = reserve(at, bytes);
  if (!s.ok()) return s;
  char* h = area_ + at;
  fill(h + kRunHeaderSize);
  EncodeFixed64(h, log::kRunMagic);
  EncodeFixed32(h + 8, log::kRunVersion);
  EncodeFixed32(h + log::kRunCountOffset, count);
  EncodeFixed32(h + log::kRunEndOffset, end);
  EncodeFixed32(h + log::kRunNodesOffset, nodes);
  EncodeFixed32(
      h + log::kRunEntriesChecksumOffset,
      Checksum32(h + kRunHeaderSize, size_t{count} * log::kRunEntrySize));
  // Publish it, unless a run as new was published meanwhile.
  std::atomic<uint64_t>& current = Word64(log::kRunCurrentOffset);
  uint64_t newest = current.load(std::memory_order_acquire);
  for (;;) {
    bool superseded = false;
    const uint32_t previous = LinkFor(newest, at, end, &superseded);
    if (superseded) return absl::OkStatus();
    EncodeFixed32(h + log::kRunPreviousOffset, previous);
    EncodeFixed32(h + log::kRunHeaderChecksumOffset,
                  Checksum32(h, log::kRunHeaderChecksumOffset));
    if (current.compare_exchange_weak(newest, at + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      *added = true;
      return absl::OkStatus();
    }
  }
}

}  // namespace ultradict
