// stage_hook.h: an optional callback through which the Publisher and the
// Follower tell when the primary's records reach each step of replication,
// to find where lag comes from (replication_bench --stages) or to export it
// to a monitoring system. Empty by default (then it costs one test of an
// empty std::function per step).
//
//   options.on_stage = [](Stage stage, uint64_t seq) { ... };
//
// Each call means: the records up to primary sequence `seq` have just
// reached `stage`. Calls come from the Publisher's or the Follower's thread,
// with `seq` non-decreasing per stage within a session; the callback must be
// quick and must not throw.

#ifndef ULTRADICT_REPLICATION_STAGE_HOOK_H_
#define ULTRADICT_REPLICATION_STAGE_HOOK_H_

#include <cstdint>
#include <functional>

namespace ultradict {
namespace replication {

enum class Stage : uint8_t {
  kRead = 0,          // Publisher: read from the primary's change feed.
  kPublished = 1,     // Publisher: XADD acknowledged by Redis.
  kReceived = 2,      // Follower: XREAD returned them.
  kApplied = 3,       // Follower: its DB::Write of them returned.
  kCheckpointed = 4,  // Publisher: a checkpoint at `seq` is complete.
  kBootstrapped = 5,  // Follower: loaded the checkpoint at `seq`.
};
inline constexpr int kNumStages = 6;

// The stage's name ("read", "published", ...).
inline const char* StageName(Stage stage) {
  static constexpr const char* kNames[kNumStages] = {
      "read",    "published",    "received",
      "applied", "checkpointed", "bootstrapped"};
  return kNames[static_cast<int>(stage)];
}

using StageFn = std::function<void(Stage stage, uint64_t seq)>;

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_STAGE_HOOK_H_
