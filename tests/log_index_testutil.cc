// log_index_testutil.cc: see log_index_testutil.h.

#include "tests/log_index_testutil.h"

#include <cstring>
#include <memory>

#include "db/log_format.h"
#include "db/log_index_format.h"
#include "db/log_writer.h"
#include "db/write_batch_internal.h"
#include "gtest/gtest.h"
#include "util/checksum.h"

namespace ultradict {
namespace testing {

uint32_t IndexTag(uint64_t hash) {
  return static_cast<uint32_t>(hash ^ (hash >> 32));
}

IndexedLog::IndexedLog(uint32_t record_capacity, size_t min_nodes)
    : record_capacity_(record_capacity),
      records_(record_capacity),
      shape_(LogIndex::ShapeFor(record_capacity, min_nodes)),
      area_size_(log::IndexSize(shape_.node_capacity, shape_.first_bits,
                                shape_.max_bits)),
      area_((area_size_ + 7) / 8) {
  LogIndex::Format(area());
  open_status_ = index_.Open(area(), area_size_, records_.data(),
                             record_capacity_, shape_, "test.7.log");
}

size_t IndexedLog::area_file_offset() const {
  return log::IndexOffset(log::kHeaderSize, record_capacity_);
}

size_t IndexedLog::SlotOffset(uint32_t bits, size_t i) const {
  return log::TableOffset(shape_.node_capacity, shape_.first_bits, bits) +
         i * log::kSlotSize;
}

size_t IndexedLog::NodeOffset(uint32_t i) const {
  return log::NodeOffset(shape_.first_bits, i);
}

bool IndexedLog::Append(const WriteBatch& batch, bool compress) {
  return Write(batch, compress, true);
}

bool IndexedLog::AppendUnpublished(const WriteBatch& batch, size_t entries) {
  EXPECT_EQ(WriteBatchInternal::Count(WriteBatchInternal::Contents(batch)),
            entries);
  return Write(batch, false, false);
}

bool IndexedLog::Write(const WriteBatch& batch, bool compress, bool publish) {
  const std::string_view rep = WriteBatchInternal::Contents(batch);
  std::string record;
  log::AppendRecord(rep, compress, &record);
  if (record.size() > record_capacity_ - head_) {
    ADD_FAILURE() << "the test's log is full";
    return false;
  }
  char* dst = records_.data() + head_;
  std::memcpy(dst, record.data(), record.size());
  const bool compressed =
      (static_cast<uint8_t>(record[log::kRecordHeaderSize - 1]) &
       log::kCompressedFlag) != 0;
  WriteBatchInternal::Entries entries;
  // Uncompressed: the entries as they lie in the log (their locations).
  const std::string_view payload =
      compressed ? rep
                 : std::string_view(dst + log::kRecordHeaderSize, rep.size());
  if (!WriteBatchInternal::Decode(payload, &entries).ok()) {
    ADD_FAILURE() << "batch does not decode";
    return false;
  }
  bool fits = false;
  absl::Status s = index_.MakeRoom(
      entries.size(), [](size_t, size_t) { return absl::OkStatus(); }, &fits);
  if (!s.ok() || !fits) {
    ADD_FAILURE() << "index has no room: " << s;
    return false;
  }
  const uint32_t end = head_ + static_cast<uint32_t>(record.size());
  std::string scratch;
  for (uint32_t i = 0; i < entries.size(); i++) {
    const auto& e = entries[i];
    const uint32_t location =
        compressed ? head_ | log::kCompressedLocation
                   : static_cast<uint32_t>(e.start - records_.data());
    s = index_.Add(e.key, Hash64(e.key), location, compressed ? i : LogIndex::EntryCheck(e), end,
                   &scratch);
    if (!s.ok()) {
      ADD_FAILURE() << s;
      return false;
    }
  }
  if (!publish) return true;
  for (const auto& e : entries) {
    versions_[std::string(e.key)].push_back(Version{
        head_, e.deleted ? std::nullopt : std::optional<std::string>(e.value)});
  }
  head_ = end;
  index_.Publish(head_, ++count_);
  boundaries_.push_back(head_);
  return true;
}

std::optional<IndexedLog::Version> IndexedLog::ExpectedAt(std::string_view key,
                                                          uint32_t end) const {
  auto it = versions_.find(std::string(key));
  if (it == versions_.end()) return std::nullopt;
  std::optional<Version> found;
  for (const Version& v : it->second) {
    if (v.at < end) found = v;  // Versions are in log order.
  }
  return found;
}

IndexedLog::Model IndexedLog::ModelAt(uint32_t end) const {
  Model model;
  for (const auto& [key, unused] : versions_) {
    std::optional<Version> v = ExpectedAt(key, end);
    if (v.has_value()) model[key] = v->value;
  }
  return model;
}

LogIndex::Found IndexedLog::Find(std::string_view key, uint32_t end,
                                 std::optional<std::string>* value,
                                 uint32_t* damaged_at) const {
  std::string scratch;
  LogIndex::Entry entry;
  const LogIndex::Found found =
      index_.Find(key, Hash64(key), end, &scratch, &entry, damaged_at);
  if (found == LogIndex::Found::kYes) {
    EXPECT_EQ(entry.key, key);
    *value =
        entry.deleted ? std::nullopt : std::optional<std::string>(entry.value);
  }
  return found;
}

LogIndex::Found IndexedLog::Latest(uint32_t end, Model* seen,
                                   uint32_t* damaged_at) const {
  std::vector<std::unique_ptr<std::string>> kept;
  seen->clear();
  return index_.ForEachLatest(
      end,
      [&](std::string&& batch) -> const std::string& {
        kept.push_back(std::make_unique<std::string>(std::move(batch)));
        return *kept.back();
      },
      [&](const LogIndex::Entry& e) {
        const bool fresh = seen->count(std::string(e.key)) == 0;
        EXPECT_TRUE(fresh) << "key seen twice: " << e.key;
        (*seen)[std::string(e.key)] =
            e.deleted ? std::nullopt : std::optional<std::string>(e.value);
      },
      damaged_at);
}

}  // namespace testing
}  // namespace ultradict
