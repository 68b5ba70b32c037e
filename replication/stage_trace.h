// stage_trace.h: replication_bench --stages: where each put's lag goes.
// Records when the primary's records reach each replication stage (through
// the Publisher's and Follower's on_stage hooks), when each put returned at
// the writer, and when each dictionary's generation changed (a compaction
// published); then prints, per stage, the delay from the stage before it
// (p50/p99/max over the puts) and, for the slowest puts, their timeline
// with the events around it.
//
// Stages of put i (primary sequence base + i + 1): commit (the clock in its
// value, taken just before DB::Put) -> put returned -> read (publisher's
// ReadChangesFrom) -> published (XADD acknowledged) -> received (follower's
// XREAD returned) -> applied (its DB::Write returned) -> visible (the
// reader of the copy saw it, LagRecorder).
//
// Thread safety: the hook, PutReturned and GenerationSeen may be called
// from any thread; Print after they stopped.

#ifndef ULTRADICT_REPLICATION_STAGE_TRACE_H_
#define ULTRADICT_REPLICATION_STAGE_TRACE_H_

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <vector>

#include "replication/lag_recorder.h"
#include "replication/stage_hook.h"

namespace ultradict {
namespace replication {

class StageTrace {
 public:
  explicit StageTrace(uint64_t puts);
  // Put i is the primary's record base_seq + i + 1 (set before the puts).
  void set_base_seq(uint64_t base_seq) { base_seq_ = base_seq; }

  // For PublisherOptions/FollowerOptions::on_stage (via Pipeline).
  StageFn Hook();
  void PutReturned(uint64_t index, int64_t ns) { returned_ns_[index] = ns; }
  // `who`: 0 for the primary, 1 for the copy; called after each put or
  // read with that dictionary's generation: changes are recorded.
  void GenerationSeen(int who, uint64_t generation, int64_t ns);

  void Print(const LagRecorder& rec, int64_t start_ns, std::FILE* out) const;

 private:
  struct Event {
    uint64_t seq;
    int64_t ns;
  };
  struct GenChange {
    int who;
    uint64_t generation;
    int64_t ns;
  };
  // The time put `index` reached stage column `col` (0: returned, 1-4: read
  // .. applied, 5: visible); 0 when unknown.
  int64_t StageNs(const LagRecorder& rec, uint64_t index, int col) const;
  void PrintStall(const LagRecorder& rec, uint64_t index, int64_t start_ns,
                  std::FILE* out) const;

  uint64_t base_seq_ = 0;
  std::vector<int64_t> returned_ns_;
  mutable std::mutex mu_;
  std::vector<Event> events_[kNumStages];
  std::vector<GenChange> gens_;
  uint64_t last_gen_[2] = {0, 0};
};

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_STAGE_TRACE_H_
