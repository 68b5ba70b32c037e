// stream_info.h: what a publisher or follower asks Redis about a stream
// before using it: whose it is (KEY:meta) and where it stands (XINFO).

#ifndef ULTRADICT_REPLICATION_STREAM_INFO_H_
#define ULTRADICT_REPLICATION_STREAM_INFO_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "replication/layout.h"
#include "replication/redis_client.h"

namespace ultradict {
namespace replication {

// Checks that the stream belongs to dictionary `name` in this format.
// With `claim`, a stream without metadata is claimed for `name`; without,
// it is NotFound (no publisher has started on it yet). FailedPrecondition
// naming both when it is another dictionary's or another format's.
absl::Status CheckMeta(RedisClient* redis, const Layout& layout,
                       std::string_view name, bool claim);

struct StreamTop {
  bool exists = false;
  uint64_t last_ms = 0, last_seq = 0;        // last-generated-id
  uint64_t deleted_ms = 0, deleted_seq = 0;  // max-deleted-entry-id
  uint64_t length = 0;
};
absl::StatusOr<StreamTop> GetStreamTop(RedisClient* redis,
                                       const Layout& layout);

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_STREAM_INFO_H_
