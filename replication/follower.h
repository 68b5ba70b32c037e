// follower.h: applies a dictionary's Redis stream to a local dictionary of
// the same name, in order, each stream entry as one atomic write, skipping
// what it already holds (by sequence); bootstraps from the newest
// checkpoint when it is new, when its position was trimmed from the stream
// or when the stream has a gap after it (see doc/replication.md).
//
//   ultradict::replication::FollowerOptions options;
//   options.redis_url = "redis://10.0.0.5:6379";
//   options.state_path = ultradict::replication::FollowStatePath(dir, name);
//   ultradict::replication::Follower follower(db.get(), options);
//   absl::Status s = follower.Run(stop);
//
// The position (the primary's sequence the local contents reflect) is kept
// in options.state_path, written after each applied write together with the
// dictionary's own sequence and its control segment's inode: a restarted
// follower resumes there; when the dictionary changed otherwise (recreated,
// or written locally by more than the follower's last write) it bootstraps.
//
// Once attached, it marks the dictionary a replica (DB::SetReplicaOf with
// the Redis URL and stream): writes of every other handle are refused with
// FailedPrecondition unless made with Options::write_replica (which the
// follower then undoes by loading the checkpoint again). It leaves the mark
// when it stops: the copy stays read-only until `ultradict unfollow NAME`
// (SetReplicaOf("")) or the next follower.
//
// Thread safety: Run on one thread; position() from any.

#ifndef ULTRADICT_REPLICATION_FOLLOWER_H_
#define ULTRADICT_REPLICATION_FOLLOWER_H_

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

struct FollowerOptions {
  std::string redis_url;
  std::string stream;          // Empty: "ultradict:NAME".
  std::string state_path;      // Required: FollowStatePath(dir, name).
  std::string directory;       // Of the local dictionary (for its inode).
  std::string id;              // In KEY:followers; empty: host:pid.
  uint32_t read_count = 1024;  // Stream entries per XREAD.
  int64_t max_backoff_ms = 5000;
  LogFn log;
  // Told when XREAD returned records (Stage::kReceived), when their local
  // write returned (kApplied), and when a checkpoint was loaded
  // (kBootstrapped).
  StageFn on_stage;
};

class Follower {
 public:
  Follower(DB* db, FollowerOptions options);

  // Follows until stop is set (then OK). Unreachable Redis is retried with
  // backoff; the local dictionary stays readable meanwhile. Errors (nothing
  // of the offending entry applied): FailedPrecondition (the stream is
  // another dictionary's, another format, or holds foreign entries),
  // DataLoss (a damaged or truncated entry or checkpoint), InvalidArgument.
  absl::Status Run(const std::atomic<bool>& stop);

  uint64_t position() const { return position_.load(); }
  uint64_t bootstraps() const { return bootstraps_.load(); }

 private:
  absl::Status Session(const std::atomic<bool>& stop);
  absl::Status Bootstrap(RedisClient* redis, const std::atomic<bool>& stop,
                         std::string_view why);
  // Applies the entries of one XREAD reply; *gap when one starts after a
  // missing record.
  absl::Status ApplyEntries(const Reply& entries, bool* gap);
  // Tells on_stage the last sequence an XREAD reply's entries reach.
  void ReportReceived(const Reply& entries) const;
  // Whether the entries right after the position are gone from the stream.
  absl::StatusOr<bool> TrimmedPast(RedisClient* redis);
  absl::Status SaveState();
  // Marks the dictionary a replica of the stream, with this follower's
  // handle as its writer (DB::SetReplicaOf), once attached to the stream.
  absl::Status MarkReplica();
  bool StateMatchesDictionary();
  void Log(std::string_view line) const;
  void Reached(Stage stage, uint64_t seq) const {
    if (options_.on_stage) options_.on_stage(stage, seq);
  }

  DB* db_;
  FollowerOptions options_;
  Layout layout_;
  RedisUrl url_;
  std::unique_ptr<StateFile> state_;
  bool have_position_ = false;
  bool marked_ = false;  // MarkReplica done.
  std::atomic<uint64_t> position_{0};
  std::atomic<uint64_t> bootstraps_{0};
  std::string last_id_;
  uint64_t local_seq_ = 0;  // The dictionary's sequence after our last write.
  int64_t last_report_ms_ = 0;
};

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_FOLLOWER_H_
