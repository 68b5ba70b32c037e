// layout.h: the Redis keys of one replicated dictionary, all derived from
// the stream's key (default "ultradict:NAME"):
//
//   KEY                      the stream: one entry per group of records
//                            (ID "SEQ-0", SEQ = the group's last record) or
//                            checkpoint marker (ID "SEQ-1")
//   KEY:meta                 hash: format, name (whose stream this is)
//   KEY:checkpoints          sorted set: sequence of each complete checkpoint
//   KEY:checkpoint:SEQ       hash: chunks, pairs, created_ms
//   KEY:checkpoint:SEQ:I     string: chunk I (entry_format.h, kind 3)
//   KEY:request              string: a follower's request for a checkpoint
//   KEY:publisher            hash: position, pid, host, updated_ms
//   KEY:lease                string: the id of the publisher that holds the
//                            stream (expires kLeaseMs after its last renewal)
//   KEY:followers            hash: follower id -> "position updated_ms"

#ifndef ULTRADICT_REPLICATION_LAYOUT_H_
#define ULTRADICT_REPLICATION_LAYOUT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "util/strings.h"

namespace ultradict {
namespace replication {

// The value of KEY:meta's "format" field this build writes and reads.
inline constexpr char kStreamFormat[] = "ultradict-replication-1";

struct Layout {
  std::string stream;

  static std::string DefaultStream(std::string_view name) {
    return absl::StrCat("ultradict:", AsAbsl(name));
  }
  std::string meta() const { return stream + ":meta"; }
  std::string checkpoints() const { return stream + ":checkpoints"; }
  std::string checkpoint(uint64_t seq) const {
    return absl::StrCat(stream, ":checkpoint:", seq);
  }
  std::string chunk(uint64_t seq, uint32_t i) const {
    return absl::StrCat(stream, ":checkpoint:", seq, ":", i);
  }
  std::string request() const { return stream + ":request"; }
  std::string publisher() const { return stream + ":publisher"; }
  std::string lease() const { return stream + ":lease"; }
  std::string followers() const { return stream + ":followers"; }
};

// Stream entry IDs.
inline std::string RecordsId(uint64_t last_seq) {
  return absl::StrCat(last_seq, "-0");
}
inline std::string MarkerId(uint64_t seq) { return absl::StrCat(seq, "-1"); }

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_LAYOUT_H_
