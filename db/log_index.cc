// log_index.cc: see log_index.h.

#include "db/log_index.h"

#include <cassert>

#include "util/checksum.h"

namespace ultradict {

LogIndex::Key LogIndex::MakeKey(std::string_view key) {
  return MakeKey(key, Hash64(key));
}

LogIndex::LogIndex() : set_(0, Hash{}, Eq{this}) {}

void LogIndex::SetArea(const char* area, size_t area_size) {
  assert(set_.empty());
  area_ = area;
  area_size_ = area_size < kSide ? area_size : kSide - 1;
  limit_ = 0;
}

void LogIndex::Insert(const Key& key, const Entry& entry,
                      const char* batch_end) {
  uint32_t location;
  const uintptr_t start = reinterpret_cast<uintptr_t>(entry.start);
  const uintptr_t end = reinterpret_cast<uintptr_t>(batch_end);
  const uintptr_t area = reinterpret_cast<uintptr_t>(area_);
  if (start >= area && end >= start && end - area <= area_size_) {
    location = static_cast<uint32_t>(start - area);
  } else {
    location = kSide | static_cast<uint32_t>(side_.size());
    side_.emplace_back(entry.start, static_cast<size_t>(batch_end - entry.start));
  }
  auto it = set_.lazy_emplace(key, [&](const auto& construct) {
    construct(Slot{location, key.hash});
  });
  it->location = location;
}

size_t LogIndex::MemoryUsage() const {
  return set_.bucket_count() * (sizeof(Slot) + 1) +
         side_.capacity() * sizeof(std::string_view);
}

}  // namespace ultradict
