// log_index.h: a generation's in-process index of its log: for each key,
// where the key's latest entry (a put or a delete, in WriteBatch encoding)
// lies, in 8 bytes per key. Keys and values are not copied: they are decoded
// from the mapped log (or from a decompressed record) when looked up.
//
// The log is shared memory that other processes can write: an entry is
// decoded again on every use, within the bytes indexed so far, and one that
// no longer decodes is reported as damaged, never guessed at.
//
// Not thread-safe: the owner serializes writers against readers (DBImpl's
// mu_). Entries must stay where they are while the index lives.

#ifndef ULTRADICT_DB_LOG_INDEX_H_
#define ULTRADICT_DB_LOG_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "db/write_batch_internal.h"
#include "ultradict/options.h"

namespace ultradict {

class LogIndex {
 public:
  using Entry = WriteBatchInternal::Entry;

  // A key with its hash, computed once for Prefetch, Find and Insert.
  struct Key {
    std::string_view key;
    uint32_t hash;
  };
  // From Hash64(key) (util/checksum.h), the hash a snapshot looks keys up
  // by: a caller that needs both computes it once.
  static Key MakeKey(std::string_view key, uint64_t hash64) {
    return Key{key, static_cast<uint32_t>(hash64 ^ (hash64 >> 32))};
  }
  static Key MakeKey(std::string_view key);

  LogIndex();
  LogIndex(const LogIndex&) = delete;
  LogIndex& operator=(const LogIndex&) = delete;

  // Before the first Insert: entries that lie in the first 2 GiB of
  // [area, area + area_size) are located by their offset in it (4 bytes);
  // others (those of decompressed records, or beyond 2 GiB in a log made
  // by an older build) through a side table of views, 16 bytes more each.
  void SetArea(const char* area, size_t area_size);
  // Entries in the area are decoded only below `limit` (the records
  // indexed so far); raise it as records are indexed.
  void SetLimit(size_t limit) { limit_ = limit < area_size_ ? limit : area_size_; }

  // Hints that key is about to be inserted or looked up.
  void Prefetch(const Key& key) const { set_.prefetch(key); }

  // Makes `entry` the latest entry of its key. `batch_end` is the end of
  // the encoded batch holding it (a bound for decoding it again).
  void Insert(const Key& key, const Entry& entry, const char* batch_end);

  enum class Found { kNo, kYes, kDamaged };
  // kYes with *entry set to the latest entry of key; kNo when the index has
  // none; kDamaged when the entry indexed for key (or for a key with the
  // same 32-bit hash) no longer decodes.
  Found Find(const Key& key, Entry* entry) const;
  Found Find(std::string_view key, Entry* entry) const {
    return Find(MakeKey(key), entry);
  }

  // Calls fn(const Entry&) for the latest entry of every key, in no order;
  // false when some entry no longer decodes (fn is not called for it).
  // The entries lie in random places of the log: each is prefetched
  // kAhead slots before it is decoded, so that their cache misses overlap
  // (an inline compaction collects 600,000 entries in about 70 ms).
  template <typename Fn>
  bool ForEach(Fn&& fn) const {
    constexpr size_t kAhead = 16;
    uint32_t ahead[kAhead];
    size_t n = 0;
    bool all = true;
    auto visit = [&](uint32_t location) {
      Entry e;
      if (Decode(location, &e)) {
        fn(static_cast<const Entry&>(e));
      } else {
        all = false;
      }
    };
    for (const Slot& slot : set_) {
      if ((slot.location & kSide) == 0 && slot.location < limit_) {
        __builtin_prefetch(area_ + slot.location);
      }
      if (n >= kAhead) visit(ahead[n % kAhead]);
      ahead[n % kAhead] = slot.location;
      n++;
    }
    for (size_t i = n > kAhead ? n - kAhead : 0; i < n; i++) {
      visit(ahead[i % kAhead]);
    }
    return all;
  }

  size_t size() const { return set_.size(); }
  bool empty() const { return set_.empty(); }
  size_t bucket_count() const { return set_.bucket_count(); }
  void reserve(size_t n) { set_.reserve(n); }
  // Approximate heap bytes held (buckets and side table).
  size_t MemoryUsage() const;

 private:
  // Locations with this bit are indexes into side_; others are offsets in
  // the area, which is therefore at most 2^31 - 1 bytes.
  static constexpr uint32_t kSide = uint32_t{1} << 31;

  struct Slot {
    // Rewritten in place when the key gets a newer entry: it is not part of
    // the slot's identity (the key it decodes to and `hash` are).
    mutable uint32_t location;
    uint32_t hash;
  };
  static_assert(sizeof(Slot) == 8, "a slot is 8 bytes");
  struct Hash {
    using is_transparent = void;
    // The 32-bit hash multiplied out to 64 bits: absl takes the probe start
    // from hash >> 7 and the 7-bit tag from the low bits, and both then
    // depend on all 32 bits.
    static size_t Spread(uint32_t h) {
      return static_cast<size_t>(h * uint64_t{0x9E3779B97F4A7C15});
    }
    size_t operator()(const Slot& s) const { return Spread(s.hash); }
    size_t operator()(const Key& k) const {
#if defined(__GNUC__)
      // An empty barrier: without it GCC (12, with NDEBUG) finds absl's
      // prefetch(key) free of side effects and drops the call, prefetches
      // and all.
      asm volatile("");
#endif
      return Spread(k.hash);
    }
  };
  struct Eq {
    using is_transparent = void;
    const LogIndex* index;
    // A slot whose entry no longer decodes matches every key of its hash,
    // so that Find reports it rather than fall through to older data.
    bool operator()(const Slot& a, const Key& b) const {
      if (a.hash != b.hash) return false;
      Entry e;
      return !index->Decode(a.location, &e) || e.key == b.key;
    }
    bool operator()(const Key& a, const Slot& b) const { return (*this)(b, a); }
    bool operator()(const Slot& a, const Slot& b) const {
      if (a.hash != b.hash) return false;
      Entry ea, eb;
      if (!index->Decode(a.location, &ea) || !index->Decode(b.location, &eb)) {
        return true;
      }
      return ea.key == eb.key;
    }
  };

  // Decodes the entry at location, within the indexed bytes and the size
  // limits of keys and values; false when it does not.
  bool Decode(uint32_t location, Entry* entry) const;

  // Decode and Find are inline: they are on every read's path.
  const char* area_ = nullptr;
  size_t area_size_ = 0;
  size_t limit_ = 0;
  std::vector<std::string_view> side_;  // From an entry to its batch's end.
  absl::flat_hash_set<Slot, Hash, Eq> set_;
};

inline bool LogIndex::Decode(uint32_t location, Entry* entry) const {
  std::string_view bytes;
  if ((location & kSide) != 0) {
    const size_t i = location & ~kSide;
    if (i >= side_.size()) return false;
    bytes = side_[i];
  } else {
    if (location >= limit_) return false;
    bytes = std::string_view(area_ + location, limit_ - location);
  }
  return WriteBatchInternal::DecodeEntry(&bytes, entry) &&
         entry->key.size() <= kMaxKeySize && entry->value.size() <= kMaxValueSize;
}

inline LogIndex::Found LogIndex::Find(const Key& key, Entry* entry) const {
  auto it = set_.find(key);
  if (it == set_.end()) return Found::kNo;
  return Decode(it->location, entry) ? Found::kYes : Found::kDamaged;
}

}  // namespace ultradict

#endif  // ULTRADICT_DB_LOG_INDEX_H_
