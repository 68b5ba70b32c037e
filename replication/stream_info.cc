// stream_info.cc: see stream_info.h.

#include "replication/stream_info.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "util/strings.h"

namespace ultradict {
namespace replication {

absl::Status CheckMeta(RedisClient* redis, const Layout& layout,
                       std::string_view name, bool claim) {
  if (claim) {
    // The name first: a reader takes the metadata as written once the
    // format is there.
    absl::StatusOr<Reply> r =
        redis->Command({"HSETNX", layout.meta(), "name", std::string(name)});
    if (r.ok()) {
      r = redis->Command({"HSETNX", layout.meta(), "format", kStreamFormat});
    }
    if (!r.ok()) return r.status();
  }
  absl::StatusOr<Reply> r =
      redis->Command({"HMGET", layout.meta(), "format", "name"});
  if (!r.ok()) return r.status();
  if (r->elements.size() != 2) {
    return absl::DataLossError(absl::StrCat("HMGET ", layout.meta(),
                                            ": unexpected reply"));
  }
  if (r->elements[1].is_nil()) {
    // No name: a stream with entries is someone else's (a publisher sets
    // the name before anything else).
    absl::StatusOr<Reply> type = redis->Command({"TYPE", layout.stream});
    // Read the name again: a publisher may have claimed the stream and
    // added to it between the two commands.
    absl::StatusOr<Reply> again =
        redis->Command({"HGET", layout.meta(), "name"});
    if (!again.ok()) return again.status();
    if (!again->is_nil()) {
      return absl::NotFoundError(absl::StrCat(
          "stream ", layout.stream, " is being set up by its publisher"));
    }
    if (type.ok() && type->str != "none") {
      return absl::FailedPreconditionError(absl::StrCat(
          "Redis key ", layout.stream, " (a ", type->str,
          ") is not an UltraDict replication stream (no ", layout.meta(), ")"));
    }
    return absl::NotFoundError(absl::StrCat(
        "stream ", layout.stream, " has no publisher yet (no ", layout.meta(),
        ")"));
  }
  if (r->elements[0].is_nil()) {
    return absl::NotFoundError(absl::StrCat(
        "stream ", layout.stream, " is being set up by its publisher"));
  }
  if (r->elements[0].str != kStreamFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stream ", layout.stream, " is in format \"", r->elements[0].str,
        "\"; this build reads \"", kStreamFormat, "\""));
  }
  if (r->elements[1].str != name) {
    return absl::FailedPreconditionError(
        absl::StrCat("stream ", layout.stream, " belongs to dictionary \"",
                     r->elements[1].str, "\", not \"", AsAbsl(name), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<StreamTop> GetStreamTop(RedisClient* redis,
                                       const Layout& layout) {
  StreamTop top;
  absl::StatusOr<Reply> r = redis->Command({"XINFO", "STREAM", layout.stream});
  if (!r.ok()) {
    if (absl::IsFailedPrecondition(r.status()) &&
        absl::StrContains(r.status().message(), "no such key")) {
      return top;
    }
    return r.status();
  }
  top.exists = true;
  const Reply* last = r->Field("last-generated-id");
  const Reply* deleted = r->Field("max-deleted-entry-id");
  const Reply* length = r->Field("length");
  if (last == nullptr ||
      !ParseStreamId(last->str, &top.last_ms, &top.last_seq)) {
    return absl::DataLossError(
        absl::StrCat("XINFO STREAM ", layout.stream, ": no last-generated-id"));
  }
  if (deleted != nullptr) {
    ParseStreamId(deleted->str, &top.deleted_ms, &top.deleted_seq);
  }
  if (length != nullptr) top.length = static_cast<uint64_t>(length->integer);
  return top;
}

}  // namespace replication
}  // namespace ultradict
