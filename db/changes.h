// changes.h: the updates of a generation's log as a list of changes, sorted
// by key: what compaction merges into the next snapshot, and what an
// iterator merges with the current one.

#ifndef ULTRADICT_DB_CHANGES_H_
#define ULTRADICT_DB_CHANGES_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "db/generation.h"

namespace ultradict {

// The first 16 bytes of a key as two big-endian words, zero-padded: they
// order like the keys do as far as they go.
using KeyPrefix = std::pair<uint64_t, uint64_t>;
KeyPrefix PrefixOf(std::string_view key);

// Bytewise comparison (<0, 0, >0) of keys a and b given their prefixes.
// When the prefixes are equal and both keys are at most 16 bytes long, the
// shorter key is a prefix of the longer one: the keys' bytes are not read.
// (Inline: sorts call it n log n times, most ending at the prefixes.)
inline int CompareKeys(const KeyPrefix& pa, std::string_view a,
                       const KeyPrefix& pb, std::string_view b) {
  if (pa.first != pb.first) return pa.first < pb.first ? -1 : 1;
  if (pa.second != pb.second) return pa.second < pb.second ? -1 : 1;
  if (a.size() <= 16 && b.size() <= 16) {
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
  }
  return a.compare(b);
}

// One update of a key on its way into a snapshot. For equal keys the later
// update (higher `order`) wins. `prefix` (set by MakeChange, while the key's
// bytes are at hand: they were just decoded) makes most comparisons end
// without touching the keys scattered over the log (a cache miss each).
struct Change {
  std::string_view key;
  LogValue value;
  size_t order;
  KeyPrefix prefix;
};
inline Change MakeChange(std::string_view key, LogValue value, size_t order) {
  return Change{key, value, order, PrefixOf(key)};
}

// TouchChanges asks for at most this many cache lines of a value (larger
// values are read in order: the hardware prefetcher follows).
constexpr uintptr_t kTouchValueLines = 4;

// Loads the first byte of the keys of changes [first, last) at once
// (independent loads: their cache and TLB misses overlap) and prefetches
// their values: a walk over sorted changes calls it for a batch of them
// before it uses them. The keys must be committed bytes (a change's are).
inline void TouchChanges(const Change* first, const Change* last) {
  unsigned sink = 0;
  for (const Change* c = first; c < last; c++) {
    if (!c->key.empty()) {
      sink += *reinterpret_cast<const volatile unsigned char*>(c->key.data());
    }
    if (!c->value.deleted && !c->value.value.empty()) {
      // Every cache line of the value, up to kTouchValueLines of them:
      // a 100-byte value spans 2-3 lines, and the walk's copy of it
      // stalled on those not asked for (a compaction's merge of 1 M
      // entries, the first line only against all: 197 -> 99 ms).
      const uintptr_t first_line =
          reinterpret_cast<uintptr_t>(c->value.value.data()) & ~uintptr_t{63};
      const uintptr_t end = reinterpret_cast<uintptr_t>(c->value.value.data()) +
                            c->value.value.size();
      for (uintptr_t line = first_line, n = 0;
           line < end && n < kTouchValueLines; line += 64, n++) {
        __builtin_prefetch(reinterpret_cast<const void*>(line));
      }
    }
  }
  (void)sink;
}

// A walk over sorted changes loads them this many at a time, ahead of use
// (TouchChanges): prefetching each one 16 ahead of its use left a walk over
// 0.7 M changes slower (see LogIndex::ForEachLatest).
constexpr size_t kTouchBatch = 32;

// Called by a walk over sorted changes before it uses changes[i]: when
// changes[i] is not among those loaded (i >= *touched), loads
// [i, i + kTouchBatch) at once and sets *touched past them. A walk starts,
// or restarts after a seek to i, with *touched = i.
inline void TouchAhead(const std::vector<Change>& changes, size_t i,
                       size_t* touched) {
  if (i < *touched) return;
  *touched = std::min(i + kTouchBatch, changes.size());
  TouchChanges(changes.data() + i, changes.data() + *touched);
}

// Asks for the cache lines of change c itself (64 bytes, which may straddle
// two lines): a walk that reads changes out of list order loads them ahead.
inline void PrefetchChange(const Change* c) {
  const char* bytes = reinterpret_cast<const char*>(c);
  __builtin_prefetch(bytes);
  __builtin_prefetch(bytes + sizeof(Change) - 1);
}

// TouchAhead for a walk over changes[order[i]] (SortChangeOrder), whose
// changes lie all over the list: also asks for the lines of the next
// batch's changes, whose keys and values the next call loads.
inline void TouchAheadInOrder(const std::vector<Change>& changes,
                              const std::vector<uint32_t>& order, size_t i,
                              size_t* touched) {
  if (i < *touched) return;
  *touched = std::min(i + kTouchBatch, order.size());
  const size_t next = std::min(*touched + kTouchBatch, order.size());
  for (size_t k = *touched; k < next; k++) PrefetchChange(&changes[order[k]]);
  for (size_t k = i; k < *touched; k++) {
    const Change* c = &changes[order[k]];
    TouchChanges(c, c + 1);
  }
}

// Reserves room for n more changes. A list is filled front to back right
// after: its fresh pages go to huge pages where the system has them
// (port::AdviseHugePages: at 1 M changes, 64 MiB of 4 KiB pages took
// 40% of collecting the log's changes in page faults; 64% of an
// iterator's run build, RunBuilder::BuildOnce).
void ReserveChanges(std::vector<Change>* changes, size_t n);

// Sorts the changes by key and keeps only the last (highest order) change
// of each key; deletions are kept (MergeSortedChanges drops them). A list
// of 2^18 changes or more is sorted by radix over the keys' prefixes (into
// a new list), and one of 2^13 or more when its prefixes differ only within
// 8 consecutive bytes: the 8 down from the most significant byte in which
// its first 4,096 changes differ; others by comparison (in place).
void SortChanges(std::vector<Change>* changes);

// SortChanges without the sorted copy of the list, for a walk that reads
// the changes once in order (an iterator's): (*order)[i] is the place in
// *changes of the i-th key's last change. A list that the radix sort takes
// stays as it is, and order costs 4 bytes of fresh memory per change
// where the copy cost 64 (which this project's VMs charge for: most of a
// full log's iterator set-up); any other list is sorted in place, and
// order is 0, 1, ...
void SortChangeOrder(std::vector<Change>* changes,
                     std::vector<uint32_t>* order);

// Every key's latest update below head offset `end`, unsorted, by the
// cheaper of two ways: when the log's entries are few more than its keys
// (at most a quarter more), every update of its records [0, end) in
// order (CollectLogChanges: one sequential read; SortChanges then drops
// the superseded ones); else each key's latest from the index
// (CollectIndexChanges: one random access per key).
absl::Status CollectLatestChanges(const Generation& g, uint32_t end,
                                  std::deque<std::string>* buffers,
                                  std::vector<Change>* changes);

// Every key's latest update below head offset `end` in g's index (one
// change each, order 0); decompressed batches are kept in *buffers, which
// the changes point into. DataLoss when an indexed entry does not decode.
absl::Status CollectIndexChanges(const Generation& g, uint32_t end,
                                 std::deque<std::string>* buffers,
                                 std::vector<Change>* changes);

// Every update in g's log records [from, end) (`records` of them, a hint
// for the vector's size), in order; decompressed payloads are kept in
// *buffers, which the changes point into. Calls tick() between records.
// `from` is a record boundary (a head offset).
absl::Status CollectLogChanges(const Generation& g, uint32_t from, uint32_t end,
                               uint64_t records,
                               std::deque<std::string>* buffers,
                               absl::FunctionRef<void()> tick,
                               std::vector<Change>* changes);

}  // namespace ultradict

#endif  // ULTRADICT_DB_CHANGES_H_
