// changes.cc: see changes.h.

#include "db/changes.h"

#include <algorithm>
#include <cstring>

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

}  // namespace

KeyPrefix PrefixOf(std::string_view key) {
  return {KeyWord(key, 0), KeyWord(key, 8)};
}

void SortChanges(std::vector<Change>* changes) {
  std::sort(changes->begin(), changes->end(),
            [](const Change& a, const Change& b) {
              const int c = CompareKeys(a.prefix, a.key, b.prefix, b.key);
              return c != 0 ? c < 0 : a.order < b.order;
            });
  const size_t total = changes->size();
  size_t n = 0;
  for (size_t i = 0; i < total; i++) {
    const Change& c = (*changes)[i];
    if (i + 1 < total && CompareKeys(c.prefix, c.key, (*changes)[i + 1].prefix,
                                     (*changes)[i + 1].key) == 0) {
      continue;  // A later change of the same key follows.
    }
    (*changes)[n++] = c;
  }
  changes->resize(n);
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

absl::Status CollectLogChanges(const Generation& g, uint32_t end,
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
      g, 0, end, [&](std::string_view batch, std::string* scratch, uint32_t) {
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

}  // namespace ultradict
