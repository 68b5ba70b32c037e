// checkpoint.cc: see checkpoint.h.

#include "replication/checkpoint.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "replication/entry_format.h"
#include "util/strings.h"

namespace ultradict {
namespace replication {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status WriteChunk(RedisClient* redis, const Layout& layout,
                        const std::string& name, uint64_t seq, uint32_t index,
                        uint32_t count, std::string* body, bool compress) {
  Frame frame;
  frame.kind = FrameKind::kCheckpointChunk;
  frame.name = name;
  frame.seq = seq;
  frame.count = count;
  frame.index = index;
  frame.body.swap(*body);
  absl::StatusOr<Reply> r = redis->Command(
      {"SET", layout.chunk(seq, index), EncodeFrame(frame, compress)});
  body->clear();
  return r.status();
}

absl::Status DeleteCheckpoint(RedisClient* redis, const Layout& layout,
                              uint64_t seq) {
  absl::StatusOr<Reply> h =
      redis->Command({"HGET", layout.checkpoint(seq), "chunks"});
  if (!h.ok()) return h.status();
  uint32_t chunks = 0;
  if (h->type == Reply::kString && !absl::SimpleAtoi(h->str, &chunks)) {
    chunks = 0;  // Not a number: only the checkpoint's hash is removed.
  }
  std::vector<std::string> del = {"DEL", layout.checkpoint(seq)};
  for (uint32_t i = 0; i < chunks; i++) del.push_back(layout.chunk(seq, i));
  absl::StatusOr<Reply> r =
      redis->Command({"ZREM", layout.checkpoints(), absl::StrCat(seq)});
  if (r.ok()) r = redis->Command(del);
  return r.status();
}

// Keeps the newest `keep` checkpoints and trims the stream behind the
// oldest of them: a follower bootstrapping from it needs only later records.
absl::Status Retain(RedisClient* redis, const Layout& layout, int keep) {
  absl::StatusOr<Reply> all =
      redis->Command({"ZRANGE", layout.checkpoints(), "0", "-1"});
  if (!all.ok()) return all.status();
  std::vector<uint64_t> seqs;
  for (const Reply& e : all->elements) {
    uint64_t seq;
    if (absl::SimpleAtoi(e.str, &seq)) seqs.push_back(seq);
  }
  if (seqs.empty()) return absl::OkStatus();
  const size_t drop = seqs.size() > static_cast<size_t>(keep)
                          ? seqs.size() - static_cast<size_t>(keep)
                          : 0;
  for (size_t i = 0; i < drop; i++) {
    absl::Status s = DeleteCheckpoint(redis, layout, seqs[i]);
    if (!s.ok()) return s;
  }
  return redis->Command({"XTRIM", layout.stream, "MINID", MarkerId(seqs[drop])})
      .status();
}

}  // namespace

absl::StatusOr<CheckpointInfo> WriteCheckpoint(RedisClient* redis,
                                               const Layout& layout, DB* db,
                                               bool compress, int keep,
                                               uint64_t marker_limit) {
  CheckpointInfo info;
  std::unique_ptr<Iterator> it;
  {
    // Under the write lock, the sequence and the iterator's view agree.
    absl::StatusOr<std::unique_ptr<WriteLock>> lock = db->LockWrites(30000);
    if (!lock.ok()) return lock.status();
    info.seq = db->LatestSequence();
    it = db->NewIterator();
  }
  const std::string& name = db->name();
  std::string body;
  uint32_t count = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    AppendPair(&body, it->key(), it->value());
    count++;
    info.pairs++;
    if (body.size() >= kChunkBytes) {
      absl::Status s = WriteChunk(redis, layout, name, info.seq, info.chunks++,
                                  count, &body, compress);
      if (!s.ok()) return s;
      count = 0;
    }
  }
  if (!it->status().ok()) return it->status();
  it.reset();
  if (count > 0 || info.chunks == 0) {
    absl::Status s = WriteChunk(redis, layout, name, info.seq, info.chunks++,
                                count, &body, compress);
    if (!s.ok()) return s;
  }
  absl::StatusOr<Reply> r = redis->Command(
      {"HSET", layout.checkpoint(info.seq), "chunks", absl::StrCat(info.chunks),
       "pairs", absl::StrCat(info.pairs), "created_ms", absl::StrCat(NowMs())});
  if (r.ok()) {
    r = redis->Command({"ZADD", layout.checkpoints(), absl::StrCat(info.seq),
                        absl::StrCat(info.seq)});
  }
  if (!r.ok()) return r.status();
  if (info.seq <= marker_limit) {
    Frame marker;
    marker.kind = FrameKind::kCheckpointMarker;
    marker.name = name;
    marker.seq = info.seq;
    r = redis->Command({"XADD", layout.stream, MarkerId(info.seq), kEntryField,
                        EncodeFrame(marker, false)});
    // A marker at or below the stream's top (a checkpoint at a sequence
    // already marked) is left out: the sorted set is what counts.
    if (!r.ok() && !absl::IsFailedPrecondition(r.status())) return r.status();
  }
  absl::Status s = Retain(redis, layout, keep);
  if (!s.ok()) return s;
  return info;
}

absl::StatusOr<std::optional<CheckpointInfo>> LatestCheckpoint(
    RedisClient* redis, const Layout& layout) {
  absl::StatusOr<Reply> r =
      redis->Command({"ZREVRANGE", layout.checkpoints(), "0", "0"});
  if (!r.ok()) return r.status();
  if (r->elements.empty()) return std::optional<CheckpointInfo>();
  CheckpointInfo info;
  if (!absl::SimpleAtoi(r->elements[0].str, &info.seq)) {
    return absl::DataLossError(absl::StrCat(layout.checkpoints(), ": member \"",
                                            r->elements[0].str,
                                            "\" is not a sequence"));
  }
  r = redis->Command({"HMGET", layout.checkpoint(info.seq), "chunks", "pairs"});
  if (!r.ok()) return r.status();
  if (r->elements.size() != 2 ||
      !absl::SimpleAtoi(r->elements[0].str, &info.chunks) ||
      !absl::SimpleAtoi(r->elements[1].str, &info.pairs)) {
    return absl::NotFoundError(absl::StrCat(
        layout.checkpoint(info.seq), " is missing (removed meanwhile?)"));
  }
  return std::optional<CheckpointInfo>(info);
}

absl::Status LoadCheckpoint(RedisClient* redis, const Layout& layout,
                            const CheckpointInfo& info, DB* db,
                            LoadTimes* times) {
  const auto start = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < info.chunks; i++) {
    absl::Status s = redis->Append({"GET", layout.chunk(info.seq, i)});
    if (!s.ok()) return s;
  }
  // The chunks, decoded, stay here while `entries` point into them: the
  // pairs go to the engine without being copied again.
  std::deque<Frame> frames;
  std::vector<KeyValue> entries;
  std::string last_key;
  absl::Status status;
  for (uint32_t i = 0; i < info.chunks; i++) {
    absl::StatusOr<Reply> r = redis->GetReply();  // Read every reply.
    if (!r.ok()) return r.status();
    if (!status.ok()) continue;
    const std::string where = layout.chunk(info.seq, i);
    if (r->type != Reply::kString) {
      status = absl::NotFoundError(
          absl::StrCat(where, " is missing (the checkpoint was removed?)"));
      continue;
    }
    Frame& frame = frames.emplace_back();
    status = DecodeFrame(r->str, where, &frame);
    if (status.ok() && (frame.name != db->name() || frame.seq != info.seq ||
                        frame.index != i)) {
      status = absl::FailedPreconditionError(absl::StrCat(
          where, ": chunk ", frame.index, " of dictionary \"", frame.name,
          "\" at sequence ", frame.seq, ", expected chunk ", i, " of \"",
          db->name(), "\" at ", info.seq));
    }
    if (status.ok()) {
      status = AppendPairs(frame, where, &last_key, &entries);
    }
    if (status.ok() && i == 0) {
      // About `chunks` times the first one's pairs; a hint only (the
      // header is not trusted), so bounded.
      entries.reserve(std::min<uint64_t>(
          {uint64_t{entries.size()} * info.chunks, info.pairs, 1u << 24}));
    }
  }
  if (!status.ok()) return status;
  if (entries.size() != info.pairs) {
    return absl::DataLossError(
        absl::StrCat(layout.checkpoint(info.seq), ": ", entries.size(),
                     " pairs, the header says ", info.pairs));
  }
  const auto write_start = std::chrono::steady_clock::now();
  absl::Status s = db->IngestSorted(entries, IngestMode::kReplace);
  if (times != nullptr) {
    times->write_s = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - write_start)
                         .count();
    times->fetch_s = std::chrono::duration<double>(write_start - start).count();
  }
  return s;
}

}  // namespace replication
}  // namespace ultradict
