// follower.cc: see follower.h.

#include "replication/follower.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "replication/checkpoint.h"
#include "replication/entry_format.h"
#include "replication/stream_info.h"

namespace ultradict {
namespace replication {

namespace {
constexpr int kBlockMs = 200;         // One XREAD's BLOCK.
constexpr int64_t kReportMs = 1000;   // Position into KEY:followers.
constexpr int64_t kRequestTtlS = 60;  // A checkpoint request's lifetime.
// Why a follower bootstraps (in its log).
constexpr std::string_view kTrimmed =
    "the stream was trimmed past its position";
constexpr std::string_view kGap = "the stream has a gap after its position";
constexpr std::string_view kWrittenLocally =
    "the dictionary was written to locally";

std::string DefaultId() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, ":", getpid());
}
}  // namespace

Follower::Follower(DB* db, FollowerOptions options)
    : db_(db), options_(std::move(options)) {
  layout_.stream = options_.stream.empty() ? Layout::DefaultStream(db_->name())
                                           : options_.stream;
  if (options_.id.empty()) options_.id = DefaultId();
}

void Follower::Log(std::string_view line) const {
  if (options_.log) options_.log(line);
}

bool Follower::StateMatchesDictionary() {
  absl::StatusOr<ReplicaState> st = ReadState(options_.state_path);
  if (!st.ok()) {
    if (!absl::IsNotFound(st.status())) Log(std::string(st.status().message()));
    return false;
  }
  const uint64_t inode = ControlInode(options_.directory, db_->name());
  const uint64_t local = db_->LatestSequence();
  if (st->inode != inode || st->stream != layout_.stream) {
    Log("the dictionary or stream is not the one the state file describes");
    return false;
  }
  // The follower's last write may have landed without its state update.
  if (local != st->local_seq && local != st->local_seq + 1) {
    Log(absl::StrCat("the dictionary is at sequence ", local,
                     ", the follower's last write left it at ", st->local_seq,
                     ": it was written to locally"));
    return false;
  }
  position_ = st->position;
  local_seq_ = local;
  return true;
}

absl::Status Follower::SaveState() {
  ReplicaState st;
  st.position = position_.load();
  st.local_seq = db_->LatestSequence();
  local_seq_ = st.local_seq;
  st.inode = ControlInode(options_.directory, db_->name());
  st.url = url_.Display();
  st.stream = layout_.stream;
  return state_->Write(st);
}

absl::Status Follower::Run(const std::atomic<bool>& stop) {
  absl::StatusOr<RedisUrl> url = RedisUrl::Parse(options_.redis_url);
  if (!url.ok()) return url.status();
  url_ = *url;
  if (options_.state_path.empty()) {
    return absl::InvalidArgumentError("FollowerOptions::state_path is empty");
  }
  have_position_ = StateMatchesDictionary();
  absl::StatusOr<StateFile> f = StateFile::Open(options_.state_path);
  if (!f.ok()) return f.status();
  state_ = std::make_unique<StateFile>(std::move(*f));
  return RunWithReconnect(stop, options_.max_backoff_ms, options_.log,
                          [&] { return Session(stop); });
}

absl::Status Follower::MarkReplica() {
  // DB::SetReplicaOf takes at most 127 bytes: a longer name is cut.
  constexpr size_t kMaxPrimary = 127;
  std::string primary =
      absl::StrCat(url_.Display(), " stream ", layout_.stream);
  if (primary.size() > kMaxPrimary) {
    primary.resize(kMaxPrimary - 3);
    primary += "...";
  }
  absl::Status s = db_->SetReplicaOf(primary);
  if (!s.ok()) return s;
  marked_ = true;
  Log(absl::StrCat("marked ", db_->name(), " a replica of ", primary,
                   " (local writes refused; `ultradict unfollow` clears it)"));
  return absl::OkStatus();
}

absl::Status Follower::Session(const std::atomic<bool>& stop) {
  absl::StatusOr<std::unique_ptr<RedisClient>> connected =
      RedisClient::Connect(url_);
  if (!connected.ok()) return connected.status();
  RedisClient* redis = connected->get();
  absl::Status s = CheckMeta(redis, layout_, db_->name(), /*claim=*/false);
  if (absl::IsNotFound(s)) return absl::UnavailableError(s.message());
  if (!s.ok()) return s;
  if (!marked_) {
    s = MarkReplica();
    if (!s.ok()) return s;
  }
  if (!have_position_) {
    s = Bootstrap(redis, stop, "a new follower");
  } else {
    absl::StatusOr<StreamTop> top = GetStreamTop(redis, layout_);
    if (!top.ok()) return top.status();
    absl::StatusOr<std::optional<CheckpointInfo>> ckpt =
        LatestCheckpoint(redis, layout_);
    if (!ckpt.ok()) return ckpt.status();
    const uint64_t newest =
        std::max(top->last_ms, ckpt->has_value() ? (*ckpt)->seq : 0);
    absl::StatusOr<bool> trimmed = TrimmedPast(redis);
    if (!trimmed.ok()) return trimmed.status();
    if (*trimmed) {
      s = Bootstrap(redis, stop, kTrimmed);
    } else if (newest < position_.load()) {
      s = Bootstrap(redis, stop,
                    "it is ahead of the stream (the primary was recreated?)");
    }
  }
  if (!s.ok() || stop.load()) return s;
  Log(absl::StrCat("following ", layout_.stream, " at ", url_.Display(),
                   " from sequence ", position_.load()));
  last_id_ = RecordsId(position_.load());
  while (!stop.load()) {
    if (MonotonicMs() - last_report_ms_ >= kReportMs) {
      last_report_ms_ = MonotonicMs();
      absl::StatusOr<Reply> r =
          redis->Command({"HSET", layout_.followers(), options_.id,
                          absl::StrCat(position_.load(), " ", MonotonicMs())});
      if (!r.ok()) return r.status();
      // Trimmed past the position while idle (no later entry shows a gap).
      absl::StatusOr<bool> trimmed = TrimmedPast(redis);
      if (!trimmed.ok()) return trimmed.status();
      if (*trimmed) {
        s = Bootstrap(redis, stop, kTrimmed);
        if (!s.ok()) return s;
        last_id_ = RecordsId(position_.load());
      }
    }
    absl::StatusOr<Reply> r = redis->Command(
        {"XREAD", "COUNT", absl::StrCat(options_.read_count), "BLOCK",
         absl::StrCat(kBlockMs), "STREAMS", layout_.stream, last_id_});
    if (!r.ok()) return r.status();
    if (r->type != Reply::kArray || r->elements.empty()) continue;
    const Reply& stream = r->elements[0];
    if (stream.elements.size() != 2) {
      return absl::DataLossError("XREAD: unexpected reply shape");
    }
    if (options_.on_stage) ReportReceived(stream.elements[1]);
    if (db_->LatestSequence() != local_seq_) {
      // Someone else wrote to the copy: make it the primary's again.
      s = Bootstrap(redis, stop, kWrittenLocally);
      if (!s.ok()) return s;
      last_id_ = RecordsId(position_.load());
      continue;
    }
    bool gap = false;
    s = ApplyEntries(stream.elements[1], &gap);
    if (!s.ok()) return s;
    if (gap) {
      s = Bootstrap(redis, stop, kGap);
      if (!s.ok()) return s;
      last_id_ = RecordsId(position_.load());
    }
  }
  return absl::OkStatus();
}

absl::Status Follower::Bootstrap(RedisClient* redis,
                                 const std::atomic<bool>& stop,
                                 std::string_view why) {
  // After a trim or a gap only a checkpoint past the position helps.
  const bool need_newer = have_position_ && (why == kTrimmed || why == kGap);
  Log(absl::StrCat("bootstrapping from a checkpoint: ", AsAbsl(why)));
  bool requested = false;
  while (!stop.load()) {
    absl::StatusOr<std::optional<CheckpointInfo>> ckpt =
        LatestCheckpoint(redis, layout_);
    if (!ckpt.ok() && !absl::IsNotFound(ckpt.status())) return ckpt.status();
    const bool usable = ckpt.ok() && ckpt->has_value() &&
                        (!need_newer || (*ckpt)->seq > position_.load());
    if (!usable) {
      if (!requested) {
        absl::StatusOr<Reply> r =
            redis->Command({"SET", layout_.request(), options_.id, "EX",
                            absl::StrCat(kRequestTtlS)});
        if (!r.ok()) return r.status();
        Log("asked the publisher for a checkpoint; waiting");
        requested = true;
      }
      SleepUnlessStopped(100, stop);
      continue;
    }
    const CheckpointInfo info = **ckpt;
    const int64_t start = MonotonicMs();
    absl::Status s = LoadCheckpoint(redis, layout_, info, db_);
    if (absl::IsNotFound(s)) continue;  // Replaced meanwhile: take the newer.
    if (!s.ok()) return s;
    position_ = info.seq;
    have_position_ = true;
    bootstraps_++;
    Reached(Stage::kBootstrapped, info.seq);
    s = SaveState();
    if (!s.ok()) return s;
    Log(absl::StrCat("loaded the checkpoint at sequence ", info.seq, " (",
                     info.pairs, " entries) in ", MonotonicMs() - start,
                     " ms"));
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

void Follower::ReportReceived(const Reply& entries) const {
  uint64_t ms, seq;  // The last entry's ID "S-0" or "S-1": records up to S.
  if (!entries.elements.empty() &&
      entries.elements.back().elements.size() == 2 &&
      ParseStreamId(entries.elements.back().elements[0].str, &ms, &seq)) {
    Reached(Stage::kReceived, ms);
  }
}

absl::StatusOr<bool> Follower::TrimmedPast(RedisClient* redis) {
  const uint64_t pos = position_.load();
  const std::vector<std::string> first_after = {
      "XRANGE", layout_.stream, absl::StrCat("(", RecordsId(pos)),
      "+",      "COUNT",        "1"};
  absl::StatusOr<Reply> r = redis->Command(first_after);
  if (!r.ok()) return r.status();
  if (r->elements.empty()) {
    // Nothing after the position: fine unless entries past it existed.
    absl::StatusOr<StreamTop> top = GetStreamTop(redis, layout_);
    if (!top.ok()) return top.status();
    if (top->last_ms <= pos) return false;
    // Entries are only appended at the top and trimmed at the bottom: with
    // the top past the position, if no entry after it is left now, they
    // were trimmed. Without asking again, an entry appended between the
    // XRANGE and the XINFO looked like a trim, and a caught-up follower of
    // a busy stream loaded a checkpoint for nothing (lag stalls of 50-250
    // ms every few seconds at 10,000 puts/s; tests/replication/steady_test).
    r = redis->Command(first_after);
    if (!r.ok()) return r.status();
    if (r->elements.empty()) return true;
  }
  const Reply& e = r->elements[0];
  const Reply* value =
      e.elements.size() == 2 ? e.elements[1].Field(kEntryField) : nullptr;
  Frame frame;
  if (value == nullptr || !DecodeFrame(value->str, "", &frame).ok()) {
    return false;  // The read path reports what is wrong with it.
  }
  return frame.kind == FrameKind::kCheckpointMarker ? frame.seq > pos
                                                    : frame.seq > pos + 1;
}

absl::Status Follower::ApplyEntries(const Reply& entries, bool* gap) {
  WriteBatch batch;
  uint64_t pos = position_.load();
  std::string last_id = last_id_;
  absl::Status err;
  for (const Reply& e : entries.elements) {
    if (e.elements.size() != 2) {
      err = absl::DataLossError("XREAD: unexpected entry shape");
      break;
    }
    const std::string& id = e.elements[0].str;
    const std::string where =
        absl::StrCat("stream entry ", id, " of ", layout_.stream);
    const Reply* value = e.elements[1].Field(kEntryField);
    if (value == nullptr) {
      err = absl::FailedPreconditionError(absl::StrCat(
          where, ": not an UltraDict replication entry (no field \"",
          kEntryField, "\"; the stream holds foreign entries)"));
      break;
    }
    Frame frame;
    err = DecodeFrame(value->str, where, &frame);
    if (!err.ok()) break;
    if (frame.name != db_->name()) {
      err = absl::FailedPreconditionError(
          absl::StrCat(where, ": an entry of dictionary \"", frame.name,
                       "\", not of \"", db_->name(), "\""));
      break;
    }
    if (frame.kind == FrameKind::kCheckpointMarker) {
      // A marker is written once the records up to it are in the stream
      // (or gone from the primary's log): past the position, they were
      // trimmed or skipped.
      if (frame.seq > pos) {
        *gap = true;
        break;
      }
      last_id = id;
      continue;
    }
    const uint64_t last = frame.seq + frame.count - 1;
    if (frame.kind != FrameKind::kRecords || frame.count == 0 ||
        id != RecordsId(last)) {
      err = absl::DataLossError(
          absl::StrCat(where, ": a records entry must hold records ..", last,
                       " under ID ", RecordsId(last)));
      break;
    }
    if (last <= pos) {
      last_id = id;
      continue;
    }
    if (frame.seq > pos + 1) {
      *gap = true;
      break;
    }
    err = DecodeRecords(frame, where,
                        static_cast<uint32_t>(pos + 1 - frame.seq), &batch);
    if (!err.ok()) break;
    pos = last;
    last_id = id;
  }
  if (batch.Count() > 0) {
    absl::Status s = db_->Write(batch);
    if (!s.ok()) return s;
    Reached(Stage::kApplied, pos);
  }
  if (pos != position_.load()) {
    position_ = pos;
    absl::Status s = SaveState();
    if (!s.ok()) return s;
  }
  last_id_ = last_id;
  return err;
}

}  // namespace replication
}  // namespace ultradict
