// stage_trace.cc: see stage_trace.h.

#include "replication/stage_trace.h"

#include <algorithm>
#include <cstdlib>

namespace ultradict {
namespace replication {

namespace {
constexpr const char* kColumns[] = {"returned", "read",    "published",
                                    "received", "applied", "visible"};
constexpr int kColumnCount = 6;
constexpr const char* kWho[] = {"primary", "copy"};
// Stalls printed, and how far apart (commit time) two of them must be.
constexpr int kStallsShown = 6;
constexpr int64_t kStallSpacingNs = 100'000'000;
// Events printed around a stall: from this long before its commit.
constexpr int64_t kContextNs = 20'000'000;
}  // namespace

StageTrace::StageTrace(uint64_t puts) : returned_ns_(puts, 0) {
  for (auto& e : events_) e.reserve(1 << 16);
}

StageFn StageTrace::Hook() {
  return [this](Stage stage, uint64_t seq) {
    const int64_t now = NowNs();
    std::lock_guard<std::mutex> l(mu_);
    events_[static_cast<int>(stage)].push_back(Event{seq, now});
  };
}

void StageTrace::GenerationSeen(int who, uint64_t generation, int64_t ns) {
  std::lock_guard<std::mutex> l(mu_);
  if (generation == last_gen_[who]) return;
  if (last_gen_[who] != 0) gens_.push_back(GenChange{who, generation, ns});
  last_gen_[who] = generation;
}

int64_t StageTrace::StageNs(const LagRecorder& rec, uint64_t index,
                            int col) const {
  if (col == 0) return returned_ns_[index];
  if (col == kColumnCount - 1) return rec.visible_ns(index);
  const std::vector<Event>& ev = events_[col - 1];  // kRead .. kApplied.
  const uint64_t seq = base_seq_ + index + 1;
  // Sequences grow along each stage's events: the first that reaches seq.
  auto it =
      std::lower_bound(ev.begin(), ev.end(), seq,
                       [](const Event& e, uint64_t s) { return e.seq < s; });
  return it == ev.end() ? 0 : it->ns;
}

void StageTrace::PrintStall(const LagRecorder& rec, uint64_t index,
                            int64_t start_ns, std::FILE* out) const {
  const int64_t commit = rec.commit_ns(index);
  std::fprintf(out, "  put %llu committed at %.1f ms, lag %.2f ms%s:",
               static_cast<unsigned long long>(index),
               (commit - start_ns) / 1e6,
               (rec.visible_ns(index) - commit) / 1e6,
               rec.fallback(index) ? " (by Get, upper bound)" : "");
  for (int col = 0; col < kColumnCount; col++) {
    const int64_t t = StageNs(rec, index, col);
    if (t == 0) {
      std::fprintf(out, " %s -", kColumns[col]);
    } else {
      std::fprintf(out, " %s +%.2f", kColumns[col], (t - commit) / 1e6);
    }
  }
  std::fprintf(out, "\n");
  const int64_t from = commit - kContextNs;
  const int64_t to = rec.visible_ns(index);
  for (const GenChange& g : gens_) {
    if (g.ns >= from && g.ns <= to) {
      std::fprintf(out, "    %s at generation %llu, seen at %+.2f ms\n",
                   kWho[g.who], static_cast<unsigned long long>(g.generation),
                   (g.ns - commit) / 1e6);
    }
  }
  // What each thread was doing: the longest time without an event of each
  // stage around the stall (e.g. the follower did not return from XREAD).
  for (int st = 0; st < 4; st++) {
    const std::vector<Event>& ev = events_[st];
    auto it =
        std::lower_bound(ev.begin(), ev.end(), from,
                         [](const Event& e, int64_t t) { return e.ns < t; });
    int64_t gap_from = from, gap_to = from;
    for (int64_t prev = from; it != ev.end() && prev <= to; ++it) {
      if (it->ns - prev > gap_to - gap_from) {
        gap_from = prev;
        gap_to = it->ns;
      }
      prev = it->ns;
    }
    std::fprintf(out, "    no %s event from %+.2f to %+.2f ms\n",
                 StageName(static_cast<Stage>(st)), (gap_from - commit) / 1e6,
                 (gap_to - commit) / 1e6);
  }
  for (Stage s : {Stage::kCheckpointed, Stage::kBootstrapped}) {
    for (const Event& e : events_[static_cast<int>(s)]) {
      if (e.ns >= from && e.ns <= to) {
        std::fprintf(out, "    %s at %+.2f ms\n", StageName(s),
                     (e.ns - commit) / 1e6);
      }
    }
  }
}

void StageTrace::Print(const LagRecorder& rec, int64_t start_ns,
                       std::FILE* out) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<int64_t> delays[kColumnCount];
  std::vector<uint64_t> by_lag;
  for (uint64_t i = 0; i < rec.puts(); i++) {
    if (!rec.seen(i)) continue;
    by_lag.push_back(i);
    int64_t prev = rec.commit_ns(i);
    for (int col = 0; col < kColumnCount; col++) {
      const int64_t t = StageNs(rec, i, col);
      if (t == 0) continue;  // Unknown (e.g. published by a checkpoint).
      delays[col].push_back(t - prev);
      prev = t;
    }
  }
  std::fprintf(out,
               "stages       : delay from the stage before, p50 / p99 / "
               "max ms (commit is the clock before DB::Put):\n");
  for (int col = 0; col < kColumnCount; col++) {
    std::sort(delays[col].begin(), delays[col].end());
    std::fprintf(out, "  %-10s %8.3f / %8.3f / %8.3f  (%zu puts)\n",
                 kColumns[col], PercentileMs(delays[col], 0.5),
                 PercentileMs(delays[col], 0.99),
                 PercentileMs(delays[col], 1.0), delays[col].size());
  }
  std::fprintf(out,
               "  %zu generation changes (compactions) seen, %zu "
               "checkpoints, %zu bootstraps\n",
               gens_.size(),
               events_[static_cast<int>(Stage::kCheckpointed)].size(),
               events_[static_cast<int>(Stage::kBootstrapped)].size());
  auto lag = [&rec](uint64_t i) {
    return rec.visible_ns(i) - rec.commit_ns(i);
  };
  std::sort(by_lag.begin(), by_lag.end(),
            [&lag](uint64_t x, uint64_t y) { return lag(x) > lag(y); });
  std::vector<int64_t> shown;
  std::fprintf(out, "slowest puts (stage times after commit, ms):\n");
  for (uint64_t i : by_lag) {
    if (static_cast<int>(shown.size()) == kStallsShown) break;
    const int64_t c = rec.commit_ns(i);
    bool near = false;
    for (int64_t s : shown) near |= std::abs(s - c) < kStallSpacingNs;
    if (near) continue;
    shown.push_back(c);
    PrintStall(rec, i, start_ns, out);
  }
}

}  // namespace replication
}  // namespace ultradict
