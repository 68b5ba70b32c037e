// publisher.h: appends every committed record of a dictionary to a Redis
// stream, in commit order, and writes checkpoints (see doc/replication.md).
//
//   ultradict::replication::PublisherOptions options;
//   options.redis_url = "redis://127.0.0.1:6379";
//   ultradict::replication::Publisher publisher(db.get(), options);
//   absl::Status s = publisher.Run(stop);   // until stop is set
//
// Each stream entry holds one or more whole records (consecutive commits;
// a WriteBatch is never split), with ID "S-0" where S is the sequence of
// its last record. The position is the stream itself: a restarted
// publisher continues after the stream's top, so nothing is published twice
// and nothing is skipped; when the records after it were compacted away
// meanwhile, it writes a checkpoint at the current sequence first.
//
// One publisher per stream: a publisher holds the stream's lease
// (KEY:lease, renewed every 200 ms, expiring after kLeaseMs). Another
// publisher of the same stream stands by, retrying with backoff, and takes
// over once the lease is released (clean stop) or expires (the holder died
// or hung); a holder that finds its lease lost stands by in turn.
//
// Thread safety: Run on one thread; stats() from any.

#ifndef ULTRADICT_REPLICATION_PUBLISHER_H_
#define ULTRADICT_REPLICATION_PUBLISHER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "replication/layout.h"
#include "replication/redis_client.h"
#include "replication/run_loop.h"
#include "replication/stage_hook.h"
#include "replication/state_file.h"
#include "ultradict/db.h"

namespace ultradict {
namespace replication {

struct PublisherOptions {
  std::string redis_url;  // redis://[user:pass@]host:port[/db]
  std::string stream;     // Empty: "ultradict:NAME".
  uint32_t max_records_per_entry = 512;
  size_t max_entry_bytes = 1 << 20;  // Before compression.
  // A checkpoint after this many records or this long (whichever first,
  // and only when something changed), and when a follower asks.
  uint64_t checkpoint_every_records = 1000000;
  int64_t checkpoint_interval_ms = 10 * 60 * 1000;
  int keep_checkpoints = 2;  // The stream is trimmed behind the oldest.
  int64_t max_backoff_ms = 5000;
  std::string state_path;  // Where stat finds position; empty: none.
  LogFn log;
  // Told when records were read (Stage::kRead), acknowledged by Redis
  // (kPublished), and when a checkpoint is complete (kCheckpointed).
  StageFn on_stage;
};

class Publisher {
 public:
  Publisher(DB* db, PublisherOptions options);

  // Publishes until stop is set (then OK). Unreachable Redis is retried
  // with backoff. Errors: FailedPrecondition (the stream belongs to another
  // dictionary or format, or is ahead of the dictionary: it was
  // recreated), InvalidArgument (bad URL), DataLoss (damaged log).
  absl::Status Run(const std::atomic<bool>& stop);

  uint64_t position() const { return position_.load(); }
  uint64_t checkpoints() const { return checkpoints_.load(); }

 private:
  absl::Status Session(const std::atomic<bool>& stop);
  absl::Status Start(RedisClient* redis);
  // Writes a checkpoint. With `jump` (records after the position are gone
  // from the log), publishing resumes after it.
  absl::Status Checkpoint(RedisClient* redis, std::string_view why, bool jump);
  absl::Status PublishChanges(RedisClient* redis);
  absl::Status Housekeeping(RedisClient* redis);
  // Takes the stream's lease, or Unavailable naming its holder.
  absl::Status TakeLease(RedisClient* redis);
  // Extends the lease; Unavailable when another publisher holds it now.
  absl::Status RenewLease(RedisClient* redis);
  void ReleaseLease(RedisClient* redis);
  void Log(std::string_view line) const;
  void Reached(Stage stage, uint64_t seq) const {
    if (options_.on_stage) options_.on_stage(stage, seq);
  }

  DB* db_;
  PublisherOptions options_;
  Layout layout_;
  RedisUrl url_;
  bool compress_ = false;
  std::atomic<uint64_t> position_{0};
  // Where the change feed continues (DB::ReadChangesFrom) while its
  // sequence is the position; else it is placed again from the position.
  ChangeCursor cursor_;
  std::atomic<uint64_t> checkpoints_{0};
  uint64_t last_checkpoint_seq_ = 0;
  int64_t last_checkpoint_ms_ = 0;
  int64_t last_housekeeping_ms_ = 0;
  std::unique_ptr<StateFile> state_;
  std::string lease_id_;  // host:pid:nonce
};

// How long a publisher's lease on its stream outlives its last renewal: a
// publisher killed without a clean stop is replaced after at most this.
inline constexpr int64_t kLeaseMs = 5000;

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_PUBLISHER_H_
