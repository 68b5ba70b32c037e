// db_impl_observe.cc: watching a dictionary: the latest sequence, waiting
// for a change, Sync, and the properties (stats). The change feed is in
// db_impl_changes.cc. See db_impl.h.

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/db_impl.h"
#include "db/log_reader.h"
#include "db/write_batch_internal.h"

namespace ultradict {

absl::Status DBImpl::Sync() {
  absl::Status s = CheckFork();
  if (!s.ok()) return s;
  std::shared_ptr<Generation> g;
  {
    port::WriterMutexLock l(&mu_);
    s = RefreshLocked();
    if (!s.ok()) return s;
    g = current_;
  }
  if (g->gen != 0) {
    s = g->SyncFiles();
  }
  if (s.ok()) s = control_segment_.Sync();
  return s;
}

uint64_t DBImpl::LatestSequence() {
  std::shared_ptr<Generation> g;
  uint32_t end = 0;
  absl::Status s = CurrentView(&g, &end);
  if (s.ok() && g->gen == 0) return 0;
  absl::StatusOr<uint32_t> records =
      s.ok() ? g->RecordsBelow(end) : absl::StatusOr<uint32_t>(s);
  if (!records.ok()) return block_.sequence().load(std::memory_order_relaxed);
  return g->log_header.base_sequence + *records;
}

uint64_t DBImpl::WaitForChange(uint64_t since, int64_t timeout_ms) {
  // Saturated: timeout_ms in nanoseconds overflows from ~9.2e12 ms, and
  // INT64_MAX means "wait without limit".
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  const auto deadline =
      timeout_ms >= std::chrono::duration_cast<std::chrono::milliseconds>(
                        Clock::time_point::max() - now)
                        .count()
          ? Clock::time_point::max()
          : now + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const uint32_t word = block_.change().load(std::memory_order_acquire);
    const uint64_t latest = LatestSequence();
    if (latest > since) return latest;
    const int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now())
                             .count();
    if (left <= 0) return latest;
    // Sleeps only while no commit happened since `word` was read. Writers
    // read `waiters` after bumping the change word (both seq_cst), so either
    // they see this waiter and wake it, or the wait sees the new word.
    block_.waiters().fetch_add(1, std::memory_order_seq_cst);
    if (block_.change().load(std::memory_order_seq_cst) == word) {
      port::FutexWait(&block_.change(), word, std::min<int64_t>(left, 1000));
    }
    block_.waiters().fetch_sub(1, std::memory_order_seq_cst);
  }
}

std::string DBImpl::StatsString() {
  std::shared_ptr<Generation> g;
  uint64_t head;
  {
    port::WriterMutexLock l(&mu_);
    RefreshLocked().IgnoreError();
    g = current_;
    head = block_.head().load(std::memory_order_acquire);
  }
  uint64_t sequence = g->log_header.base_sequence;
  const bool same_gen = control::HeadGeneration(head) == g->gen;
  if (g->gen != 0 && same_gen) {
    absl::StatusOr<uint32_t> records =
        g->RecordsBelow(control::HeadOffset(head));
    if (records.ok()) sequence += *records;
  }
  const bool indexed = g->gen != 0;
  std::vector<std::string> pids;
  const std::vector<control::Member> members =
      control::LiveMembers(control_segment_.fd(), block_, slot_);
  for (const control::Member& m : members) pids.push_back(absl::StrCat(m.pid));
  const std::string replica_of = block_.replica_of();
  return absl::StrCat(
      "name: ", name_, "\n", "directory: ", dir_, "\n",
      "generation: ", control::HeadGeneration(head), "\n",
      "entries: ", block_.entries().load(std::memory_order_relaxed), "\n",
      "sequence: ", sequence, "\n",
      "log bytes used: ", control::HeadOffset(head), "\n",
      "log bytes capacity: ", g->record_capacity, "\n",
      "snapshot bytes: ", g->snap_segment.size(), "\n",
      "snapshot entries: ", g->gen == 0 ? 0 : g->snapshot.count(), "\n",
      "log index (shared): ", indexed ? g->index.keys() : 0, " keys, ",
      indexed ? g->index.BytesInUse() : 0, " bytes\n",
      "compactions: ", block_.compactions().load(std::memory_order_relaxed),
      "\n", "puts: ", block_.puts().load(std::memory_order_relaxed), "\n",
      "deletes: ", block_.deletes().load(std::memory_order_relaxed), "\n",
      "recoveries: ", block_.recoveries().load(std::memory_order_relaxed), "\n",
      "members: ", members.size(), " (pids ", absl::StrJoin(pids, ","), ")\n",
      "lifetime: ", control::LifetimeName(block_.lifetime()), "\n",
      "compression: ", compress_ ? "zstd" : "none", "\n",
      "replica of: ", replica_of.empty() ? "none" : replica_of, "\n");
}

namespace {

// "ultradict.log-run" of g at head offset `end` (see db.h).
std::string LogRunProperty(const Generation& g, uint32_t end) {
  LogRuns::Run run;
  bool found = false;
  if (!g.runs.Newest(end, &run, &found).ok()) return "damaged";
  if (!found) return "none";
  return absl::StrCat("keys ", run.count, ", entries ", run.nodes,
                      ", records below ", run.end, " of ", end);
}

}  // namespace

bool DBImpl::GetProperty(std::string_view property, std::string* value) {
  if (!CheckFork().ok()) return false;
  if (property == "ultradict.stats") {
    *value = StatsString();
    return true;
  }
  if (property == "ultradict.approximate-memory-usage") {
    port::ReaderMutexLock l(&mu_);
    *value =
        absl::StrCat(control_segment_.size() + current_->snap_segment.size() +
                     current_->log_segment.size());
    return true;
  }
  if (property == "ultradict.index-memory-usage") {
    // The index of the log is shared (in the log segment): a process holds
    // none of its own.
    *value = "0";
    return true;
  }
  if (property == "ultradict.log-index") {
    std::shared_ptr<Generation> g;
    uint32_t end = 0;
    if (!CurrentView(&g, &end).ok()) return false;
    if (g->gen == 0) {
      *value = "keys 0, nodes 0 of 0, table 2^0";
    } else {
      *value = absl::StrCat("keys ", g->index.keys(), ", nodes ",
                            g->index.nodes_used(), " of ",
                            g->index.node_capacity(), ", table 2^",
                            g->index.table_bits());
    }
    return true;
  }
  if (property == "ultradict.log-run") {
    std::shared_ptr<Generation> g;
    uint32_t end = 0;
    if (!CurrentView(&g, &end).ok()) return false;
    *value = LogRunProperty(*g, end);
    return true;
  }
  if (property == "ultradict.num-entries") {
    *value = absl::StrCat(block_.entries().load(std::memory_order_relaxed));
    return true;
  }
  if (property == "ultradict.generation") {
    *value = absl::StrCat(
        control::HeadGeneration(block_.head().load(std::memory_order_acquire)));
    return true;
  }
  if (property == "ultradict.members") {
    std::vector<std::string> pids;
    for (const control::Member& m :
         control::LiveMembers(control_segment_.fd(), block_, slot_)) {
      pids.push_back(absl::StrCat(m.pid));
    }
    *value = absl::StrJoin(pids, ",");
    return true;
  }
  if (property == "ultradict.lifetime") {
    *value = control::LifetimeName(block_.lifetime());
    return true;
  }
  if (property == "ultradict.compression") {
    *value = compress_ ? "zstd" : "none";
    return true;
  }
  if (property == "ultradict.replica-of") {
    *value = block_.replica_of();
    return true;
  }
  return false;
}

}  // namespace ultradict
