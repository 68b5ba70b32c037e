// snapshot_scanner.cc: see snapshot_scanner.h.

#include "db/snapshot_scanner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/snapshot_format.h"
#include "ultradict/options.h"
#include "util/coding.h"
#include "util/strings.h"

namespace ultradict {
namespace snapshot {

namespace {

// The most bytes an entry's head takes: checksum, two varint32 lengths and
// the flags byte.
constexpr size_t kMaxEntryHead = 4 + 5 + 5 + 1;

}  // namespace

Scanner::Scanner(const Reader* reader, port::SegmentFile file)
    : reader_(reader), file_(std::move(file)) {}

void Scanner::SeekTo(uint64_t i) {
  next_ = std::min(i, reader_->count());
  located_ = false;
  block_ = kFirstBlock;
  offsets_block_ = kFirstOffsets;
}

absl::Status Scanner::OffsetOf(uint64_t i, uint64_t* offset) {
  if (i < offsets_begin_ || i - offsets_begin_ >= offsets_count_) {
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(offsets_block_, reader_->count() - i));
    offsets_count_ = 0;
    absl::Status s =
        file_.ReadAt(reader_->offsets_offset() + 8 * i, offsets_, 8 * n);
    if (!s.ok()) return s;
    offsets_begin_ = i;
    offsets_count_ = n;
    offsets_block_ = std::min(2 * offsets_block_, kOffsetsPerBlock);
  }
  *offset = DecodeFixed64(offsets_ + 8 * (i - offsets_begin_));
  return absl::OkStatus();
}

absl::Status Scanner::Ensure(uint64_t offset, size_t n) {
  if (offset >= window_begin_ && offset - window_begin_ <= window_size_ &&
      n <= window_size_ - (offset - window_begin_)) {
    return absl::OkStatus();
  }
  const size_t size = static_cast<size_t>(
      std::min<uint64_t>(std::max(block_, n), reader_->data_size() - offset));
  // Larger than a block for one large entry; back to a block's size after
  // it, so that a scan does not keep the largest entry's room.
  if (size > capacity_ || (capacity_ > kMaxBlock && size <= kMaxBlock)) {
    buffer_.reset(new char[size]);
    capacity_ = size;
  }
  window_size_ = 0;
  absl::Status s = file_.ReadAt(kHeaderSize + offset, buffer_.get(), size);
  if (!s.ok()) return s;
  window_begin_ = offset;
  window_size_ = size;
  block_ = std::min(2 * block_, kMaxBlock);
  return absl::OkStatus();
}

absl::Status Scanner::Next(Entry* entry, bool verify) {
  if (next_ >= reader_->count()) {
    return absl::OutOfRangeError(
        absl::StrCat(reader_->name(), ": no entry ", next_, " to scan"));
  }
  uint64_t listed = 0;
  absl::Status s = OffsetOf(next_, &listed);
  if (!s.ok()) return s;
  if (!located_) {
    data_offset_ = listed;
    located_ = true;
  }
  const uint64_t file_offset = kHeaderSize + data_offset_;
  auto damaged = [&](std::string_view what) {
    return absl::DataLossError(absl::StrCat(reader_->name(), ": ", AsAbsl(what),
                                            " at offset ", file_offset));
  };
  if (listed != data_offset_) {
    return damaged(absl::StrCat("entry ", next_, " listed at offset ",
                                kHeaderSize + listed,
                                ", not after the entry before it,"));
  }
  const uint64_t data_size = reader_->data_size();
  if (data_offset_ >= data_size) return damaged("entry out of bounds");
  const uint64_t left = data_size - data_offset_;
  // The head first, then the whole entry.
  s = Ensure(data_offset_,
             static_cast<size_t>(std::min<uint64_t>(left, kMaxEntryHead)));
  if (!s.ok()) return s;
  EntryHead head;
  s = ParseEntryHead(At(data_offset_), buffer_.get() + window_size_,
                     reader_->name(), file_offset, &head);
  if (!s.ok()) return s;
  // No entry is larger than the limits allow (a damaged length must not
  // have the buffer grow to the data area's size).
  if (head.key_size > kMaxKeySize || head.value_size > kMaxValueSize) {
    return damaged("entry lengths past the limits");
  }
  const uint64_t size = head.entry_size();
  if (size > left) return damaged("entry past the end");
  s = Ensure(data_offset_, static_cast<size_t>(size));
  if (!s.ok()) return s;
  const char* start = At(data_offset_);
  s = ParseEntryBody(start, start + size, head, verify, reader_->name(),
                     file_offset, entry);
  if (!s.ok()) return s;
  data_offset_ += size;
  next_++;
  return absl::OkStatus();
}

}  // namespace snapshot
}  // namespace ultradict
