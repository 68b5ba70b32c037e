// publisher.cc: see publisher.h.

#include "replication/publisher.h"

#include <unistd.h>

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "replication/checkpoint.h"
#include "replication/entry_format.h"
#include "replication/stream_info.h"

namespace ultradict {
namespace replication {

namespace {
// How long one wait for a commit lasts before housekeeping runs again.
constexpr int64_t kWaitMs = 50;
// How often requests are polled, the position is reported and the lease
// renewed.
constexpr int64_t kHousekeepingMs = 200;

// Extends the lease KEYS[1] by ARGV[2] ms if ARGV[1] holds it (1), else 0.
constexpr char kRenewScript[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
// Removes the lease KEYS[1] if ARGV[1] holds it.
constexpr char kReleaseScript[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) else return 0 end";

std::string LeaseId() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(
      host, ":", getpid(), ":",
      std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
}
}  // namespace

Publisher::Publisher(DB* db, PublisherOptions options)
    : db_(db), options_(std::move(options)), lease_id_(LeaseId()) {
  layout_.stream = options_.stream.empty() ? Layout::DefaultStream(db_->name())
                                           : options_.stream;
  std::string compression;
  compress_ = db_->GetProperty("ultradict.compression", &compression) &&
              compression == "zstd";
}

void Publisher::Log(std::string_view line) const {
  if (options_.log) options_.log(line);
}

absl::Status Publisher::Run(const std::atomic<bool>& stop) {
  absl::StatusOr<RedisUrl> url = RedisUrl::Parse(options_.redis_url);
  if (!url.ok()) return url.status();
  url_ = *url;
  if (!options_.state_path.empty()) {
    absl::StatusOr<StateFile> f = StateFile::Open(options_.state_path);
    if (!f.ok()) return f.status();
    state_ = std::make_unique<StateFile>(std::move(*f));
  }
  return RunWithReconnect(stop, options_.max_backoff_ms, options_.log,
                          [&] { return Session(stop); });
}

absl::Status Publisher::Session(const std::atomic<bool>& stop) {
  absl::StatusOr<std::unique_ptr<RedisClient>> redis =
      RedisClient::Connect(url_);
  if (!redis.ok()) return redis.status();
  absl::Status s = Start(redis->get());
  while (s.ok() && !stop.load()) {
    s = Housekeeping(redis->get());
    if (!s.ok()) break;
    const uint64_t pos = position_.load();
    if (db_->WaitForChange(pos, kWaitMs) > pos)
      s = PublishChanges(redis->get());
  }
  if (s.ok() && stop.load()) ReleaseLease(redis->get());
  return s;
}

absl::Status Publisher::TakeLease(RedisClient* redis) {
  absl::StatusOr<Reply> r = redis->Command(
      {"SET", layout_.lease(), lease_id_, "NX", "PX", absl::StrCat(kLeaseMs)});
  if (!r.ok()) return r.status();
  if (!r->is_nil()) return absl::OkStatus();
  absl::Status s = RenewLease(redis);  // Ours from a previous session?
  if (!absl::IsUnavailable(s)) return s;
  r = redis->Command({"GET", layout_.lease()});
  absl::StatusOr<Reply> ttl = redis->Command({"PTTL", layout_.lease()});
  if (!r.ok() || !ttl.ok()) return !r.ok() ? r.status() : ttl.status();
  return absl::UnavailableError(absl::StrCat(
      "stream ", layout_.stream, " is published by ",
      r->is_nil() ? "nobody now" : r->str, " (its lease ends within ",
      ttl->integer, " ms); standing by"));
}

absl::Status Publisher::RenewLease(RedisClient* redis) {
  absl::StatusOr<Reply> r =
      redis->Command({"EVAL", kRenewScript, "1", layout_.lease(), lease_id_,
                      absl::StrCat(kLeaseMs)});
  if (!r.ok()) return r.status();
  if (r->integer == 1) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("publisher ", lease_id_, " does not hold the lease of ",
                   layout_.stream, " (taken by another publisher?)"));
}

void Publisher::ReleaseLease(RedisClient* redis) {
  redis->Command({"EVAL", kReleaseScript, "1", layout_.lease(), lease_id_})
      .IgnoreError();  // Else it expires.
}

// Finds the position from Redis (the stream's top, or the newest
// checkpoint), writing a first checkpoint on a new stream.
absl::Status Publisher::Start(RedisClient* redis) {
  absl::Status s = CheckMeta(redis, layout_, db_->name(), /*claim=*/true);
  if (!s.ok()) return s;
  s = TakeLease(redis);
  if (!s.ok()) return s;
  absl::StatusOr<StreamTop> top = GetStreamTop(redis, layout_);
  if (!top.ok()) return top.status();
  absl::StatusOr<std::optional<CheckpointInfo>> ckpt =
      LatestCheckpoint(redis, layout_);
  if (!ckpt.ok()) return ckpt.status();
  if (!ckpt->has_value()) {
    Log(absl::StrCat("publishing \"", db_->name(), "\" to new stream ",
                     layout_.stream, " at ", url_.Display()));
    position_ = db_->LatestSequence();
    return Checkpoint(redis, "first checkpoint of a new stream", true);
  }
  const uint64_t pos = std::max(top->last_ms, (*ckpt)->seq);
  const uint64_t latest = db_->LatestSequence();
  if (pos > latest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stream ", layout_.stream, " is at sequence ", pos,
        " but dictionary \"", db_->name(), "\" only at ", latest,
        " (was it recreated?); remove the stream's keys or publish to another "
        "--stream"));
  }
  position_ = pos;
  last_checkpoint_seq_ = (*ckpt)->seq;
  last_checkpoint_ms_ = MonotonicMs();
  Log(absl::StrCat("publishing \"", db_->name(), "\" to ", layout_.stream,
                   " at ", url_.Display(), " from sequence ", pos));
  return absl::OkStatus();
}

absl::Status Publisher::Checkpoint(RedisClient* redis, std::string_view why,
                                   bool jump) {
  absl::StatusOr<CheckpointInfo> info =
      WriteCheckpoint(redis, layout_, db_, compress_, options_.keep_checkpoints,
                      jump ? UINT64_MAX : position_.load());
  if (!info.ok()) return info.status();
  // Records up to info->seq are in the checkpoint: a follower at an older
  // position bootstraps from it (it sees the gap), so publishing resumes
  // after it.
  if (jump && info->seq > position_.load()) position_ = info->seq;
  last_checkpoint_seq_ = info->seq;
  last_checkpoint_ms_ = MonotonicMs();
  checkpoints_++;
  Reached(Stage::kCheckpointed, info->seq);
  Log(absl::StrCat("checkpoint at sequence ", info->seq, ": ", info->pairs,
                   " entries in ", info->chunks, " chunks (", AsAbsl(why),
                   ")"));
  return absl::OkStatus();
}

absl::Status Publisher::Housekeeping(RedisClient* redis) {
  const int64_t now = MonotonicMs();
  if (now - last_housekeeping_ms_ < kHousekeepingMs) return absl::OkStatus();
  last_housekeeping_ms_ = now;
  absl::Status lease = RenewLease(redis);
  if (!lease.ok()) return lease;
  const uint64_t pos = position_.load();
  absl::StatusOr<Reply> r = redis->Command({"GETDEL", layout_.request()});
  if (!r.ok()) return r.status();
  if (!r->is_nil() && pos > last_checkpoint_seq_) {
    absl::Status s =
        Checkpoint(redis, absl::StrCat("requested by ", r->str), false);
    if (!s.ok()) return s;
  } else if (pos > last_checkpoint_seq_ &&
             (pos - last_checkpoint_seq_ >= options_.checkpoint_every_records ||
              now - last_checkpoint_ms_ >= options_.checkpoint_interval_ms)) {
    absl::Status s = Checkpoint(redis, "periodic", false);
    if (!s.ok()) return s;
  }
  r = redis->Command({"HSET", layout_.publisher(), "position",
                      absl::StrCat(position_.load()), "pid",
                      absl::StrCat(getpid()), "sequence",
                      absl::StrCat(db_->LatestSequence())});
  if (!r.ok()) return r.status();
  if (state_ != nullptr) {
    ReplicaState st;
    st.position = position_.load();
    st.url = url_.Display();
    st.stream = layout_.stream;
    state_->Write(st).IgnoreError();  // Only for stat.
  }
  return absl::OkStatus();
}

absl::Status Publisher::PublishChanges(RedisClient* redis) {
  const uint64_t pos = position_.load();
  RecordsBuilder builder;
  // O(new records): the cursor continues where the last call stopped.
  ChangeCursor cursor = cursor_.sequence == pos ? cursor_ : ChangeCursor{pos};
  absl::Status read = db_->ReadChangesFrom(&cursor, &builder);
  if (absl::IsOutOfRange(read)) {
    return Checkpoint(redis,
                      absl::StrCat("records after ", pos,
                                   " were compacted before publishing"),
                      true);
  }
  if (!read.ok()) return read;
  const uint64_t reached = cursor.sequence;
  if (reached - pos != builder.records()) {
    return absl::InternalError(absl::StrCat("ReadChangesFrom ", pos,
                                            " reached ", reached, " with ",
                                            builder.records(), " records"));
  }
  Reached(Stage::kRead, reached);
  const std::vector<size_t>& ends = builder.ends();
  size_t entries = 0;
  for (size_t i = 0, begin = 0; i < ends.size();) {
    size_t j = i;  // Records [i, j] go into one entry.
    while (j + 1 < ends.size() && j + 1 - i < options_.max_records_per_entry &&
           ends[j + 1] - begin <= options_.max_entry_bytes) {
      j++;
    }
    Frame frame;
    frame.name = db_->name();
    frame.seq = pos + i + 1;
    frame.count = static_cast<uint32_t>(j - i + 1);
    frame.body = builder.body().substr(begin, ends[j] - begin);
    absl::Status s =
        redis->Append({"XADD", layout_.stream, RecordsId(pos + j + 1),
                       kEntryField, EncodeFrame(frame, compress_)});
    if (!s.ok()) return s;
    entries++;
    begin = ends[j];
    i = j + 1;
  }
  for (size_t e = 0; e < entries; e++) {
    absl::StatusOr<Reply> r = redis->GetReply();
    if (!r.ok()) return r.status();
    if (r->type == Reply::kError) {
      const std::string what = absl::StrCat("XADD to ", layout_.stream);
      if (absl::StrContains(r->str, "equal or smaller")) {
        // Entries past ours are there: another publisher wrote them (it
        // held the lease while this one hung). Start again from the top.
        return absl::UnavailableError(absl::StrCat(
            what, ": ", r->str, " (another publisher writes to this stream)"));
      }
      return ErrorReply(what, r->str);
    }
  }
  cursor_ = cursor;
  position_ = reached;
  Reached(Stage::kPublished, reached);
  return absl::OkStatus();
}

}  // namespace replication
}  // namespace ultradict
