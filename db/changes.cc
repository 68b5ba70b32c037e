// changes.cc: see changes.h.

#include "db/changes.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>

#include "db/write_batch_internal.h"
#include "port/port.h"

namespace ultradict {

namespace {

// Bytes [start, start + 8) of key as a big-endian word, zero-padded.
uint64_t KeyWord(std::string_view key, size_t start) {
  if (key.size() >= start + 8) {
    uint64_t word;
    std::memcpy(&word, key.data() + start, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    word = __builtin_bswap64(word);
#endif
    return word;
  }
  uint64_t word = 0;
  for (size_t i = start; i < start + 8; i++) {
    word =
        word << 8 | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0u);
  }
  return word;
}

// Reserves room for n more changes. A list is filled front to back right
// after: its fresh pages go to huge pages where the system has them
// (port::AdviseHugePages: at 1 M changes, 64 MiB of 4 KiB pages took
// 40% of collecting the log's changes in page faults).
void ReserveChanges(std::vector<Change>* changes, size_t n) {
  const size_t capacity = changes->capacity();
  changes->reserve(changes->size() + n);
  if (changes->capacity() != capacity) {
    port::AdviseHugePages(
        changes->data() + changes->size(),
        (changes->capacity() - changes->size()) * sizeof(Change));
  }
}

// From this many changes on, SortChanges sorts by radix (SortedRefs); below
// it, by comparison, in place. The radix sort needs two arrays of refs and
// a new list, in fresh memory: on this project's VMs that costs unless it
// is in huge pages (port::AdviseHugePages: from 4 MiB). Sorting every list
// by radix lost below ~250 K changes (10 K: 4.2 ms against 0.6; 100 K: 23
// against 7.9); from 256 K on it wins (300 K: 15-16 ms against 26; 700 K:
// 31 against 66-69; changes_benchmark, doc/benchmarks.md).
constexpr size_t kRadixSortFrom = size_t{1} << 18;

// A change's place in a radix sort: its key's prefix and its index in the
// list (a list sorted by radix holds fewer than 2^32 changes).
struct PrefixRef {
  uint64_t hi;  // prefix.first
  uint64_t lo;  // prefix.second
  uint32_t index;
};

// Byte b of a ref's 16-byte prefix, b = 0 the least significant.
inline unsigned PrefixByte(const PrefixRef& r, int b) {
  const uint64_t word = b < 8 ? r.lo >> (8 * b) : r.hi >> (8 * (b - 8));
  return static_cast<unsigned>(word & 0xff);
}

// An uninitialized array of n refs in fresh memory, in huge pages where the
// system has them (see ReserveChanges).
std::unique_ptr<PrefixRef[]> NewRefs(size_t n) {
  std::unique_ptr<PrefixRef[]> refs(new PrefixRef[n]);
  port::AdviseHugePages(refs.get(), n * sizeof(PrefixRef));
  return refs;
}

// The changes' refs ordered by prefix, stably (equal prefixes stay in list
// order): least significant byte first, one pass per byte of the prefix
// that not all keys share (db_bench's 16-byte decimal keys below 10^6 vary
// in 6 of them). Null when all keys share their whole prefix: there is
// nothing to sort by.
std::unique_ptr<PrefixRef[]> SortedRefs(const std::vector<Change>& changes) {
  const size_t n = changes.size();
  std::unique_ptr<PrefixRef[]> refs = NewRefs(n);
  std::vector<std::array<uint32_t, 256>> counts(16);
  for (auto& count : counts) count.fill(0);
  for (size_t i = 0; i < n; i++) {
    PrefixRef& r = refs[i];
    r = PrefixRef{changes[i].prefix.first, changes[i].prefix.second,
                  static_cast<uint32_t>(i)};
    for (int b = 0; b < 16; b++) counts[b][PrefixByte(r, b)]++;
  }
  std::unique_ptr<PrefixRef[]> other;
  for (int b = 0; b < 16; b++) {
    std::array<uint32_t, 256>& count = counts[b];
    if (std::find(count.begin(), count.end(), n) != count.end()) {
      continue;  // Every key has the same byte here.
    }
    if (other == nullptr) other = NewRefs(n);
    uint32_t start = 0;  // Where the refs of each byte value go.
    for (uint32_t& c : count) {
      const uint32_t here = c;
      c = start;
      start += here;
    }
    for (size_t i = 0; i < n; i++) {
      other[count[PrefixByte(refs[i], b)]++] = refs[i];
    }
    refs.swap(other);
  }
  if (other == nullptr) return nullptr;  // No pass ran.
  return refs;
}

// Sorts [first, last) by key, then order, and writes the last change of
// each key from `out` on (out may be first: each change is written at or
// before where it was read); returns the end of what it wrote.
Change* SortAndKeepLast(Change* first, Change* last, Change* out) {
  std::sort(first, last, [](const Change& a, const Change& b) {
    const int c = CompareKeys(a.prefix, a.key, b.prefix, b.key);
    return c != 0 ? c < 0 : a.order < b.order;
  });
  for (Change* c = first; c != last; c++) {
    if (c + 1 != last &&
        CompareKeys(c->prefix, c->key, c[1].prefix, c[1].key) == 0) {
      continue;  // A later change of the same key follows.
    }
    *out++ = *c;
  }
  return out;
}

// SortChanges of a large list, given its refs sorted by prefix
// (SortedRefs): the changes gathered in that order into a new list, each
// run of equal prefixes (one key's changes, or keys longer than the prefix)
// sorted by key and order on the way.
void GatherSortedChanges(const PrefixRef* refs, std::vector<Change>* changes) {
  const size_t total = changes->size();
  std::vector<Change> sorted;
  ReserveChanges(&sorted, total);  // Never grown below: runs sort in place.
  // The changes lie all over the list: each is loaded kAhead refs before
  // its use.
  constexpr size_t kAhead = 16;
  size_t loaded = 0;  // The changes of refs [0, loaded) were asked for.
  for (size_t i = 0; i < total;) {
    size_t j = i + 1;
    while (j < total && refs[j].hi == refs[i].hi && refs[j].lo == refs[i].lo) {
      j++;
    }
    for (; loaded < std::min(j + kAhead, total); loaded++) {
      const char* c =
          reinterpret_cast<const char*>(changes->data() + refs[loaded].index);
      __builtin_prefetch(c);
      __builtin_prefetch(c + sizeof(Change) - 1);
    }
    const size_t at = sorted.size();
    for (size_t k = i; k < j; k++) sorted.push_back((*changes)[refs[k].index]);
    if (j > i + 1) {
      // A run of equal prefixes: sorted where it lies, in the new list's
      // reserved room (no copy of its own, whose fresh pages cost as much
      // as the sort when one prefix is shared by most keys).
      Change* const first = sorted.data() + at;
      Change* const kept =
          SortAndKeepLast(first, sorted.data() + sorted.size(), first);
      sorted.resize(static_cast<size_t>(kept - sorted.data()));
    }
    i = j;
  }
  changes->swap(sorted);
}

}  // namespace

KeyPrefix PrefixOf(std::string_view key) {
  return {KeyWord(key, 0), KeyWord(key, 8)};
}

void SortChanges(std::vector<Change>* changes) {
  if (changes->size() >= kRadixSortFrom &&
      changes->size() <= std::numeric_limits<uint32_t>::max()) {
    const std::unique_ptr<PrefixRef[]> refs = SortedRefs(*changes);
    if (refs != nullptr) {
      GatherSortedChanges(refs.get(), changes);
      return;
    }
    // Every key starts with the same 16 bytes (a tenant's keys, say): the
    // comparison sort, in place. Gathering them first into one run took
    // 214-216 ms at 300 K changes, in place 130-131 (changes_benchmark).
  }
  Change* const data = changes->data();
  changes->resize(SortAndKeepLast(data, data + changes->size(), data) - data);
}

absl::Status CollectIndexChanges(const Generation& g, uint32_t end,
                                 std::deque<std::string>* buffers,
                                 std::vector<Change>* changes) {
  if (g.gen == 0) return absl::OkStatus();
  ReserveChanges(changes, g.index.keys());
  uint32_t damaged_at = 0;
  const LogIndex::Found found = g.index.ForEachLatest(
      end,
      [buffers](std::string&& batch) -> const std::string& {
        buffers->push_back(std::move(batch));
        return buffers->back();
      },
      [changes](const LogIndex::Entry& e) {
        changes->push_back(MakeChange(e.key, LogValue{e.value, e.deleted}, 0));
      },
      &damaged_at);
  return found == LogIndex::Found::kDamaged ? g.IndexDamage(damaged_at)
                                            : absl::OkStatus();
}

absl::Status CollectLogChanges(const Generation& g, uint32_t from, uint32_t end,
                               uint64_t records,
                               std::deque<std::string>* buffers,
                               absl::FunctionRef<void()> tick,
                               std::vector<Change>* changes) {
  // At least one change per record: grown in steps, the vector was copied
  // and its fresh pages faulted in over and over (a sixth of the background
  // thread's time in a fill).
  ReserveChanges(changes, records);
  WriteBatchInternal::Entries entries;
  return ForEachBatch(
      g, from, end,
      [&](std::string_view batch, std::string* scratch, uint32_t) {
        tick();
        if (!scratch->empty()) {
          buffers->push_back(std::move(*scratch));
          batch = buffers->back();
        }
        entries.clear();
        absl::Status st = WriteBatchInternal::Decode(batch, &entries);
        for (const WriteBatchInternal::Entry& e : entries) {
          changes->push_back(
              MakeChange(e.key, LogValue{e.value, e.deleted}, changes->size()));
        }
        return st;
      });
}

absl::Status CollectLatestChanges(const Generation& g, uint32_t end,
                                  std::deque<std::string>* buffers,
                                  std::vector<Change>* changes) {
  if (g.gen == 0) return absl::OkStatus();
  // Reading the log costs ~50 ns per entry and walking the index ~85 per
  // key, and each change listed costs ~65 ns to sort: the log is cheaper
  // up to ~1.3 entries per key. Measured at 1 M entries: 920 K entries of
  // as many keys (a fill) took 45 ms to read in order against 62-65 to
  // walk; 800 K entries of 550 K keys (the suite's overwrites) 40 against
  // 47, then 70 ms to sort against 40-51. Both counts are the writer's
  // (approximate for another process, and bounded: they size the list).
  const uint64_t keys = g.index.keys();
  const uint64_t entries =
      std::min(g.index.nodes_used(), g.index.node_capacity());
  if (entries <= keys + keys / 4) {
    return CollectLogChanges(
        g, 0, end, entries, buffers, [] {}, changes);
  }
  return CollectIndexChanges(g, end, buffers, changes);
}

}  // namespace ultradict
