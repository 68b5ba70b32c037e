// lag_bench.h: replication_bench's lag benchmark: `rate` puts/s for
// `seconds` at the primary while a Publisher and a Follower run; for every
// put, the time from its commit until a reader of the follower's copy sees
// it (see LagRecorder for how puts whose records the copy compacted before
// the reader read them are still measured). Prints one line; with `stages`,
// also where the time went (StageTrace).

#ifndef ULTRADICT_REPLICATION_LAG_BENCH_H_
#define ULTRADICT_REPLICATION_LAG_BENCH_H_

#include <cstdint>

#include "replication/bench_env.h"

namespace ultradict {
namespace replication {

// Returns false when some put never became visible at the follower (a
// replication failure, reported on the line).
bool RunLagBench(const BenchEnv& env, uint64_t rate, uint64_t seconds,
                 bool stages);

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_LAG_BENCH_H_
