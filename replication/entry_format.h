// entry_format.h: the bytes UltraDict's replication puts into Redis: one
// frame per stream entry (a group of whole committed records, or a marker
// saying a checkpoint was written) and one frame per checkpoint chunk.
// Every frame names its format, version and dictionary, and is parsed with
// bounds checks: a foreign, truncated or damaged frame is an error, never a
// partial result. See doc/replication.md "Formats" for the grammar.
//
// Frame (all integers little-endian; frozen):
//   magic      fixed32  0x31524455 ("UDR1")
//   version    uint8    1
//   kind       uint8    1 records, 2 checkpoint marker, 3 checkpoint chunk
//   flags      uint8    bit 0: body is a zstd frame
//   name       uint8 length (1..64) + bytes: the dictionary's name
//   seq        fixed64  records: sequence of the first record;
//                       marker and chunk: the checkpoint's sequence
//   count      fixed32  records (kind 1) or pairs (kind 3); 0 for a marker
//   index      fixed32  chunk number (kind 3), else 0
//   body       fixed32 length + bytes
//   checksum   fixed32  low 32 bits of XXH3 over every byte before it
// records body := record{count}
//   record     := ops:varint32 op{ops}
//   op         := 1 key:lenprefixed value:lenprefixed | 2 key:lenprefixed
// chunk body   := (key:lenprefixed value:lenprefixed){count}

#ifndef ULTRADICT_REPLICATION_ENTRY_FORMAT_H_
#define ULTRADICT_REPLICATION_ENTRY_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "ultradict/db.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace replication {

inline constexpr uint32_t kFrameMagic = 0x31524455;  // "UDR1" (frozen).
inline constexpr uint8_t kFrameVersion = 1;
// The field of a stream entry that holds its frame.
inline constexpr char kEntryField[] = "u";
// The largest body a frame may declare (decompressed too).
inline constexpr size_t kMaxBodySize = size_t{512} << 20;

enum class FrameKind : uint8_t {
  kRecords = 1,
  kCheckpointMarker = 2,
  kCheckpointChunk = 3,
};

struct Frame {
  FrameKind kind = FrameKind::kRecords;
  std::string name;
  uint64_t seq = 0;
  uint32_t count = 0;
  uint32_t index = 0;
  std::string body;  // Uncompressed.
};

// The frame's bytes; the body is stored as a zstd frame when `compress` and
// that makes it smaller.
std::string EncodeFrame(const Frame& frame, bool compress);

// Parses a frame. FailedPrecondition for bytes that are not an UltraDict
// replication frame (no magic) or another format version; DataLoss for a
// truncated or damaged one. `where` names it in messages (e.g. "stream
// entry 5-0 of ud:x"). *frame is complete when OK.
absl::Status DecodeFrame(std::string_view bytes, std::string_view where,
                         Frame* frame);

// Builds a records body: a WriteBatch::Handler fed by DB::ReadChanges
// (EndOfBatch ends each record).
class RecordsBuilder : public WriteBatch::Handler {
 public:
  void Put(std::string_view key, std::string_view value) override;
  void Delete(std::string_view key) override;
  void EndOfBatch() override;

  // Whole records so far, their count and bytes.
  uint32_t records() const { return records_; }
  const std::string& body() const { return body_; }
  // Where each whole record ends in body().
  const std::vector<size_t>& ends() const { return ends_; }

 private:
  std::string body_;
  std::vector<size_t> ends_;
  std::string ops_;
  uint32_t ops_count_ = 0;
  uint32_t records_ = 0;
};

// Decodes the records of a records frame, skipping the first `skip`, and
// appends their updates to *out in order. The whole body is checked first:
// DataLoss (and *out unchanged) when any record is damaged or the count is
// wrong.
absl::Status DecodeRecords(const Frame& frame, std::string_view where,
                           uint32_t skip, WriteBatch* out);

// Appends one pair to a chunk body.
void AppendPair(std::string* body, std::string_view key,
                std::string_view value);
// Appends the pairs of a chunk frame to *pairs (views into frame.body)
// after checking the whole body: DataLoss when damaged (*pairs unchanged),
// or when keys are not strictly increasing after `*last_key` (updated;
// chunks continue it).
absl::Status AppendPairs(const Frame& frame, std::string_view where,
                         std::string* last_key, std::vector<KeyValue>* pairs);
// The same, calling fn(key, value) for each pair (never when damaged).
absl::Status ForEachPair(
    const Frame& frame, std::string_view where, std::string* last_key,
    absl::FunctionRef<void(std::string_view, std::string_view)> fn);

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_ENTRY_FORMAT_H_
