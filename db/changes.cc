// changes.cc: see changes.h.

#include "db/changes.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>

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

// From this many changes on, SortChanges sorts by radix (RadixSort);
// below it, by comparison, in place. The radix sort needs two arrays of
// refs and a new list, in fresh memory: on this project's VMs that costs
// unless it is in huge pages (port::AdviseHugePages: from 4 MiB). With
// 24-byte refs (PrefixRef), sorting every list by radix lost below ~250 K
// changes (10 K: 4.2 ms against 0.6; 100 K: 23 against 7.9); from 256 K on
// it wins (300 K: 15-16 ms against 26; 700 K: 31 against 66-69;
// changes_benchmark, doc/benchmarks.md). With 12-byte refs (WindowRef), it
// wins from 10 K on (0.13 ms against 0.59; 100 K: 1.5-1.8 against 7.7).
constexpr size_t kRadixSortFrom = size_t{1} << 18;
constexpr size_t kWindowRadixSortFrom = size_t{1} << 13;

// A change's place in a radix sort: its key's prefix and its index in the
// list (a list sorted by radix holds fewer than 2^32 changes).
struct PrefixRef {
  uint64_t hi;  // prefix.first
  uint64_t lo;  // prefix.second
  uint32_t index;
};

// The same in 12 bytes instead of 24, for lists whose prefixes differ only
// within 8 consecutive bytes (db_bench's 16-byte decimal keys below 10^8
// differ in their last 8): those bytes as a big-endian word, and the
// index. The refs are written to fresh memory twice per sort, which on
// this project's VMs costs more than the passes over them.
#pragma pack(push, 4)
struct WindowRef {
  uint64_t key;
  uint32_t index;
};
#pragma pack(pop)
static_assert(sizeof(WindowRef) == 12, "WindowRef is packed");

// Byte b of a ref's 16-byte prefix (or 8-byte window), b = 0 the least
// significant.
inline unsigned RefByte(const PrefixRef& r, int b) {
  const uint64_t word = b < 8 ? r.lo >> (8 * b) : r.hi >> (8 * (b - 8));
  return static_cast<unsigned>(word & 0xff);
}
inline unsigned RefByte(const WindowRef& r, int b) {
  return static_cast<unsigned>((r.key >> (8 * b)) & 0xff);
}
inline bool SamePrefix(const PrefixRef& a, const PrefixRef& b) {
  return a.hi == b.hi && a.lo == b.lo;
}
inline bool SamePrefix(const WindowRef& a, const WindowRef& b) {
  return a.key == b.key;
}

// An uninitialized array of n refs in fresh memory, in huge pages where the
// system has them (see ReserveChanges).
template <typename Ref>
std::unique_ptr<Ref[]> NewRefs(size_t n) {
  std::unique_ptr<Ref[]> refs(new Ref[n]);
  port::AdviseHugePages(refs.get(), n * sizeof(Ref));
  return refs;
}

// Orders refs [0, n) by their bytes stably (equal ones stay in list
// order): least significant byte first, one pass per byte b of the
// `bytes` whose bit b of `varying` is set (the others are the same in
// every ref). *refs is the result; (*counts)[b] holds the count of each
// value of byte b.
template <typename Ref>
void RadixPasses(size_t n, int bytes, uint32_t varying,
                 std::vector<std::array<uint32_t, 256>>* counts,
                 std::unique_ptr<Ref[]>* refs) {
  std::unique_ptr<Ref[]> other;
  for (int b = 0; b < bytes; b++) {
    if ((varying >> b & 1) == 0) continue;
    if (other == nullptr) other = NewRefs<Ref>(n);
    uint32_t start = 0;  // Where the refs of each byte value go.
    for (uint32_t& c : (*counts)[b]) {
      const uint32_t here = c;
      c = start;
      start += here;
    }
    std::array<uint32_t, 256>& count = (*counts)[b];
    for (size_t i = 0; i < n; i++) {
      other[count[RefByte((*refs)[i], b)]++] = (*refs)[i];
    }
    refs->swap(other);
  }
}

// The bytes where prefixes differ, given the OR of each one's XOR with a
// common one (hi, lo: the prefix's two words): bit b of the mask is byte b
// of a PrefixRef (0 = the least significant of lo).
uint32_t ByteMask(uint64_t hi, uint64_t lo) {
  uint32_t mask = 0;
  for (int b = 0; b < 8; b++) {
    if ((lo >> (8 * b) & 0xff) != 0) mask |= 1u << b;
    if ((hi >> (8 * b) & 0xff) != 0) mask |= 1u << (8 + b);
  }
  return mask;
}

// ByteMask of the first n changes' prefixes.
uint32_t VaryingPrefixBytes(const std::vector<Change>& changes, size_t n) {
  uint64_t hi = 0, lo = 0;
  const KeyPrefix first = changes[0].prefix;
  for (size_t i = 0; i < n; i++) {
    hi |= changes[i].prefix.first ^ first.first;
    lo |= changes[i].prefix.second ^ first.second;
  }
  return ByteMask(hi, lo);
}

// The order SortChanges leaves changes in before it keeps each key's last:
// by key, then by order.
inline bool KeyThenOrderLess(const Change& a, const Change& b) {
  const int c = CompareKeys(a.prefix, a.key, b.prefix, b.key);
  return c != 0 ? c < 0 : a.order < b.order;
}
inline bool SameKey(const Change& a, const Change& b) {
  return CompareKeys(a.prefix, a.key, b.prefix, b.key) == 0;
}

// Sorts [first, last) by key, then order, and writes the last change of
// each key from `out` on (out may be first: each change is written at or
// before where it was read); returns the end of what it wrote.
Change* SortAndKeepLast(Change* first, Change* last, Change* out) {
  std::sort(first, last, [](const Change& a, const Change& b) {
    return KeyThenOrderLess(a, b);  // A lambda: inlined in the sort.
  });
  for (Change* c = first; c != last; c++) {
    if (c + 1 != last && SameKey(*c, c[1])) {
      continue;  // A later change of the same key follows.
    }
    *out++ = *c;
  }
  return out;
}

// SortChanges of a large list, given its refs sorted by prefix
// (RadixPasses): the changes gathered in that order into a new list, each
// run of equal prefixes (one key's changes, or keys longer than the prefix)
// sorted by key and order on the way.
template <typename Ref>
void GatherSortedChanges(const Ref* refs, std::vector<Change>* changes) {
  const size_t total = changes->size();
  std::vector<Change> sorted;
  ReserveChanges(&sorted, total);  // Never grown below: runs sort in place.
  // The changes lie all over the list: each is loaded kAhead refs before
  // its use.
  constexpr size_t kAhead = 16;
  size_t loaded = 0;  // The changes of refs [0, loaded) were asked for.
  for (size_t i = 0; i < total;) {
    size_t j = i + 1;
    while (j < total && SamePrefix(refs[j], refs[i])) j++;
    for (; loaded < std::min(j + kAhead, total); loaded++) {
      PrefetchChange(changes->data() + refs[loaded].index);
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

// Sorts refs to a list of kWindowRadixSortFrom changes or more by radix
// over its prefixes' varying bytes, then calls finish(refs) with them
// (const WindowRef* or const PrefixRef*, n of them), which may change the
// list. False, without a call, when every key has the same prefix (there
// is nothing to sort by), or when the bytes that vary are not within the 8
// down from the most significant one in which the first kSample changes
// differ, and the list is shorter than kRadixSortFrom.
template <typename Finish>
bool RadixSort(const std::vector<Change>* changes, Finish finish) {
  const size_t n = changes->size();
  // The bytes that vary, as the first changes show them: a pass over all
  // of them first would read the whole list once more (10-20 ms at 1.5 M
  // changes). The 12-byte refs' pass checks the guess; the 24-byte refs'
  // pass counts every byte. A sample where nothing varies is checked by a
  // pass first: most likely nothing does (a tenant's keys), and the
  // comparison sort follows.
  constexpr size_t kSample = 4096;
  uint32_t varying = VaryingPrefixBytes(*changes, std::min(n, kSample));
  if (varying == 0) varying = VaryingPrefixBytes(*changes, n);
  if (varying == 0) return false;
  std::vector<std::array<uint32_t, 256>> counts(16);
  for (auto& count : counts) count.fill(0);
  // The 8-byte window from the most significant varying byte down, when
  // it holds them all: byte b of the window is bit shift + b of `varying`.
  int top = 15;
  while ((varying >> top & 1) == 0) top--;
  const int shift = std::max(top - 7, 0);  // The window's lowest byte.
  if ((varying & ((1u << shift) - 1)) == 0) {
    std::unique_ptr<WindowRef[]> refs = NewRefs<WindowRef>(n);
    const KeyPrefix first = (*changes)[0].prefix;
    uint64_t hi = 0, lo = 0;
    for (size_t i = 0; i < n; i++) {
      const KeyPrefix& p = (*changes)[i].prefix;
      hi |= p.first ^ first.first;
      lo |= p.second ^ first.second;
      // Bytes [shift, shift + 8) of the 128-bit prefix hi:lo.
      const uint64_t key =
          shift == 0   ? p.second
          : shift == 8 ? p.first
                       : p.second >> (8 * shift) | p.first << (64 - 8 * shift);
      refs[i].key = key;
      refs[i].index = static_cast<uint32_t>(i);
      for (int b = 0; b < 8; b++) counts[b][key >> (8 * b) & 0xff]++;
    }
    varying = ByteMask(hi, lo);
    if (varying >> shift << shift == varying && varying >> shift < 256) {
      RadixPasses(n, 8, varying >> shift, &counts, &refs);
      finish(static_cast<const WindowRef*>(refs.get()));
      return true;
    }
    // A byte outside the window varies after the sample: 24-byte refs.
    for (auto& count : counts) count.fill(0);
  }
  if (n < kRadixSortFrom) return false;
  std::unique_ptr<PrefixRef[]> refs = NewRefs<PrefixRef>(n);
  for (size_t i = 0; i < n; i++) {
    PrefixRef& r = refs[i];
    r = PrefixRef{(*changes)[i].prefix.first, (*changes)[i].prefix.second,
                  static_cast<uint32_t>(i)};
    for (int b = 0; b < 16; b++) counts[b][RefByte(r, b)]++;
  }
  // Byte b varies unless one value has every change's.
  varying = 0;
  for (int b = 0; b < 16; b++) {
    if (std::find(counts[b].begin(), counts[b].end(), n) == counts[b].end()) {
      varying |= 1u << b;
    }
  }
  RadixPasses(n, 16, varying, &counts, &refs);
  finish(static_cast<const PrefixRef*>(refs.get()));
  return true;
}

// SortChangeOrder's gathering (see GatherSortedChanges): the places of the
// changes in the order of refs, sorted by prefix; in each run of equal
// prefixes, sorted by key and order, the last of each key's.
template <typename Ref>
void GatherOrder(const Ref* refs, const std::vector<Change>& changes,
                 std::vector<uint32_t>* order) {
  const size_t total = changes.size();
  order->clear();
  order->reserve(total);
  std::vector<uint32_t> run;
  for (size_t i = 0; i < total;) {
    size_t j = i + 1;
    while (j < total && SamePrefix(refs[j], refs[i])) j++;
    if (j == i + 1) {  // Most: a key of its own prefix, its change unread.
      order->push_back(refs[i].index);
      i = j;
      continue;
    }
    run.clear();
    for (size_t k = i; k < j; k++) run.push_back(refs[k].index);
    std::sort(run.begin(), run.end(), [&changes](uint32_t x, uint32_t y) {
      return KeyThenOrderLess(changes[x], changes[y]);
    });
    for (size_t k = 0; k < run.size(); k++) {
      if (k + 1 < run.size() && SameKey(changes[run[k]], changes[run[k + 1]])) {
        continue;  // A later change of the same key follows.
      }
      order->push_back(run[k]);
    }
    i = j;
  }
}

// The comparison sort of a list, in place, keeping each key's last change.
void SortInPlace(std::vector<Change>* changes) {
  Change* const data = changes->data();
  changes->resize(SortAndKeepLast(data, data + changes->size(), data) - data);
}

// Whether SortChanges and SortChangeOrder try the radix sort on n changes.
bool RadixCandidate(size_t n) {
  return n >= kWindowRadixSortFrom && n <= std::numeric_limits<uint32_t>::max();
}

}  // namespace

KeyPrefix PrefixOf(std::string_view key) {
  return {KeyWord(key, 0), KeyWord(key, 8)};
}

void SortChanges(std::vector<Change>* changes) {
  if (RadixCandidate(changes->size()) &&
      RadixSort(changes, [changes](const auto* refs) {
        GatherSortedChanges(refs, changes);
      })) {
    return;
  }
  // Every key starts with the same 16 bytes (a tenant's keys, say), or a
  // list too short for 24-byte refs: the comparison sort, in place.
  // Gathering the first kind into one run took 214-216 ms at 300 K
  // changes, in place 130-131 (changes_benchmark).
  SortInPlace(changes);
}

void SortChangeOrder(std::vector<Change>* changes,
                     std::vector<uint32_t>* order) {
  if (RadixCandidate(changes->size()) &&
      RadixSort(changes, [changes, order](const auto* refs) {
        GatherOrder(refs, *changes, order);
      })) {
    return;
  }
  SortInPlace(changes);
  order->resize(changes->size());
  std::iota(order->begin(), order->end(), uint32_t{0});
}

void ReserveChanges(std::vector<Change>* changes, size_t n) {
  const size_t capacity = changes->capacity();
  changes->reserve(changes->size() + n);
  if (changes->capacity() != capacity) {
    port::AdviseHugePages(
        changes->data() + changes->size(),
        (changes->capacity() - changes->size()) * sizeof(Change));
  }
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
