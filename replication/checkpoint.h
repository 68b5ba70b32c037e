// checkpoint.h: full dumps of a dictionary in Redis, each with the sequence
// it corresponds to, written by the publisher and read by a follower that
// starts (or fell behind a trimmed stream). See layout.h for the keys and
// entry_format.h for the chunks.

#ifndef ULTRADICT_REPLICATION_CHECKPOINT_H_
#define ULTRADICT_REPLICATION_CHECKPOINT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "replication/layout.h"
#include "replication/redis_client.h"
#include "ultradict/db.h"

namespace ultradict {
namespace replication {

// Bytes of pairs per chunk before compression. Small: hiredis 0.14 moves
// the rest of its output buffer after every write(2), so the cost of a
// command grows with the square of its size (4 MiB chunks: 6.5 s to write
// a checkpoint of 1 M entries).
inline constexpr size_t kChunkBytes = 256 << 10;

struct CheckpointInfo {
  uint64_t seq = 0;
  uint32_t chunks = 0;
  uint64_t pairs = 0;
};

// Writes a checkpoint of db (a consistent view: taken under the write lock
// for the instant it takes to open an iterator) and registers it in
// KEY:checkpoints once complete, then keeps the newest `keep` and trims the
// stream behind the oldest kept one. A marker entry "SEQ-1" goes into the
// stream when SEQ <= marker_limit (records up to SEQ are already there, or
// never will be). Returns what it wrote.
absl::StatusOr<CheckpointInfo> WriteCheckpoint(RedisClient* redis,
                                               const Layout& layout, DB* db,
                                               bool compress, int keep,
                                               uint64_t marker_limit);

// The newest complete checkpoint; nullopt when there is none.
absl::StatusOr<std::optional<CheckpointInfo>> LatestCheckpoint(
    RedisClient* redis, const Layout& layout);

// Replaces db's contents with checkpoint `info` in one atomic write
// (DB::IngestSorted, kReplace: the next snapshot is built straight from
// the pairs; local keys the checkpoint lacks are gone). Every chunk is
// read and checked before anything is written: DataLoss or
// FailedPrecondition (wrong name) leave db untouched. NotFound when the
// checkpoint was removed meanwhile (retry with the newer one).
// Where LoadCheckpoint's time went (for replication_bench): fetching and
// decoding the chunks, and IngestSorted.
struct LoadTimes {
  double fetch_s = 0;
  double write_s = 0;
};
absl::Status LoadCheckpoint(RedisClient* redis, const Layout& layout,
                            const CheckpointInfo& info, DB* db,
                            LoadTimes* times = nullptr);

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_CHECKPOINT_H_
