// snapshot_scanner.h: reads a snapshot's entries in key order a block of
// bytes at a time, copied out of its file (port::SegmentFile), instead of
// through this process's mapping of it.
//
// Why: on the VMs this project runs on, the first touch of each page of a
// mapping costs 2-8 us, paid by every process for every page of every new
// snapshot it reads. A compaction of 1 M entries spent 205-281 ms of its
// ~330 ms touching the old snapshot's 141 MB; pread copies the same bytes
// in 41 ms. Reading a few entries after a Seek stays cheap: the first
// blocks are small (4 KiB of entries, 64 offsets) and each next one twice
// as large (doc/design.md, "Reading a snapshot in order").
//
// The bytes are those of a segment other processes may damage: each entry
// is bounds-checked as Reader::EntryAt checks it, and must lie where the
// snapshot's offsets say (entries are written one after the other), so
// that a scan and a lookup never disagree about an undamaged snapshot and
// damage is DataLoss naming the segment and offset.

#ifndef ULTRADICT_DB_SNAPSHOT_SCANNER_H_
#define ULTRADICT_DB_SNAPSHOT_SCANNER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "db/snapshot_reader.h"
#include "port/port.h"

namespace ultradict {
namespace snapshot {

class Scanner {
 public:
  // Bytes of the first block read after a SeekTo, and of the largest.
  static constexpr size_t kFirstBlock = 4 * 1024;
  static constexpr size_t kMaxBlock = 256 * 1024;

  // Scans the snapshot `reader` reads (opened), whose bytes `file` reads;
  // the reader, and the mapping both read, must outlive the scanner.
  // Positioned at entry 0.
  Scanner(const Reader* reader, port::SegmentFile file);
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // Positions the scanner at entry i (i <= count(): count() is the end).
  void SeekTo(uint64_t i);
  // The entry at the position (which must be below count()), then moves
  // past it. The views in *entry stay valid until the next call. Its
  // checksum is checked when `verify`. DataLoss on damage.
  absl::Status Next(Entry* entry, bool verify);
  // The position: the entry Next reads.
  uint64_t position() const { return next_; }
  uint64_t count() const { return reader_->count(); }

 private:
  // Makes data bytes [offset, offset + n) (data-area offsets; within the
  // data area) available in the buffer, reading a block from offset when
  // they are not.
  absl::Status Ensure(uint64_t offset, size_t n);
  // The offset of entry i, from the offsets area (read a block at a time).
  absl::Status OffsetOf(uint64_t i, uint64_t* offset);
  const char* At(uint64_t offset) const {
    return buffer_.get() + (offset - window_begin_);
  }

  const Reader* const reader_;
  const port::SegmentFile file_;
  uint64_t next_ = 0;         // The entry Next reads.
  uint64_t data_offset_ = 0;  // Where it lies in the data area.
  bool located_ = false;      // Whether data_offset_ is known.
  size_t block_ = kFirstBlock;
  // Data bytes [window_begin_, window_begin_ + window_size_) are in buffer_.
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  uint64_t window_begin_ = 0;
  size_t window_size_ = 0;
  // Entry offsets [offsets_begin_, offsets_begin_ + offsets_count_); read
  // 64 at first after a SeekTo, then twice as many each time up to 1024.
  static constexpr size_t kFirstOffsets = 64;
  static constexpr size_t kOffsetsPerBlock = 1024;
  char offsets_[8 * kOffsetsPerBlock];
  uint64_t offsets_begin_ = 0;
  size_t offsets_count_ = 0;
  size_t offsets_block_ = kFirstOffsets;
};

}  // namespace snapshot
}  // namespace ultradict

#endif  // ULTRADICT_DB_SNAPSHOT_SCANNER_H_
