// log_index_testutil.h: a LogIndex over a real in-memory log (a record
// area and an index area sized as a log segment's), written the way the
// writer writes it (records by log::AppendRecord, entries by Add, then
// Publish), and a model of every version of every key (testonly).

#ifndef ULTRADICT_TESTS_LOG_INDEX_TESTUTIL_H_
#define ULTRADICT_TESTS_LOG_INDEX_TESTUTIL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/log_index.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace testing {

class IndexedLog {
 public:
  // A key's value (nullopt: deleted) as of a record starting at `at`.
  struct Version {
    uint32_t at;
    std::optional<std::string> value;
  };
  using Model = std::map<std::string, std::optional<std::string>>;

  // A log of record_capacity bytes of records whose index has room for at
  // least min_nodes entries. Formats and opens the index; Open's status
  // is in open_status().
  IndexedLog(uint32_t record_capacity, size_t min_nodes);

  // Appends batch as one record (zstd-compressed when `compress` and that
  // makes it smaller), adds its entries to the index and publishes it,
  // as the writer does. False (with a gtest failure) when it does not fit.
  bool Append(const WriteBatch& batch, bool compress = false);
  // The same without Publish and without updating the model: a writer
  // that dies after adding the record's entries (`entries` of them).
  bool AppendUnpublished(const WriteBatch& batch, size_t entries);

  // The model at head offset `end`: each key's newest version below it.
  Model ModelAt(uint32_t end) const;
  // What Find should return for key at `end`: nullopt when the key has no
  // entry below end, else its version (whose value is nullopt if deleted).
  std::optional<Version> ExpectedAt(std::string_view key, uint32_t end) const;

  // Find's result for key at end, with the entry's value in *value
  // (nullopt: a delete); *damaged_at on kDamaged.
  LogIndex::Found Find(std::string_view key, uint32_t end,
                       std::optional<std::string>* value,
                       uint32_t* damaged_at) const;
  // ForEachLatest's result at end, collected into *seen.
  LogIndex::Found Latest(uint32_t end, Model* seen, uint32_t* damaged_at) const;

  LogIndex& index() { return index_; }
  const LogIndex& index() const { return index_; }
  char* records() { return records_.data(); }
  char* area() { return reinterpret_cast<char*>(area_.data()); }
  size_t area_size() const { return area_size_; }
  const LogIndex::Shape& shape() const { return shape_; }
  // The file offset of the index area (what damage offsets are relative to).
  size_t area_file_offset() const;
  uint32_t head() const { return head_; }
  uint32_t records_published() const { return count_; }
  // Record boundaries: 0, then the end of each published record.
  const std::vector<uint32_t>& boundaries() const { return boundaries_; }
  const std::map<std::string, std::vector<Version>>& versions() const {
    return versions_;
  }
  const absl::Status& open_status() const { return open_status_; }
  // The byte offset in the index area of the current table's slot i.
  size_t SlotOffset(uint32_t bits, size_t i) const;
  // The byte offset in the index area of node i (0-based).
  size_t NodeOffset(uint32_t i) const;

 private:
  bool Write(const WriteBatch& batch, bool compress, bool publish);

  uint32_t record_capacity_;
  std::vector<char> records_;
  LogIndex::Shape shape_;
  size_t area_size_;
  std::vector<uint64_t> area_;  // 8-byte aligned, as a mapping is.
  LogIndex index_;
  absl::Status open_status_;
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  std::vector<uint32_t> boundaries_{0};
  std::map<std::string, std::vector<Version>> versions_;
};

// The 32-bit tag the index stores for a key's 64-bit hash (the format's
// "hash" field: the two halves xor'ed).
uint32_t IndexTag(uint64_t hash);

}  // namespace testing
}  // namespace ultradict

#endif  // ULTRADICT_TESTS_LOG_INDEX_TESTUTIL_H_
