// background.h: the background thread of one DB handle. It runs the
// compactions the writer schedules (the work itself is DBImpl's, passed in
// as a function), drops retired generations (unmapping a large one takes a
// while), reserves log pages ahead of the writer, turns each snapshot it
// or the writer published into huge pages, and builds the sorted runs of
// the log that the writer asks for (run_builder.h) when no compaction is
// scheduled.
//
// The thread starts at the first request and lives until Stop(). It exists
// only in the process that made the handle: in a fork child the requests
// are refused (the child compacts inline) and the thread's state is left
// alone (see Abandon).

#ifndef ULTRADICT_DB_BACKGROUND_H_
#define ULTRADICT_DB_BACKGROUND_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "db/generation.h"
#include "db/run_builder.h"
#include "port/mutex.h"

namespace ultradict {

// The background thread keeps a log's pages reserved up to this far beyond
// the last record (AskReserve): a log smaller than that is reserved whole.
// Far enough that the pages it zeroed have left its core's caches when the
// writer gets there: 1 MiB ahead, writing into lines another core had just
// zeroed made puts slower than allocating the pages themselves (1 M
// fillrandom 379 -> 410 ns/op; 16 MiB ahead: 330-345).
inline constexpr size_t kReserveAhead = size_t{16} << 20;
// ... and touches them (port::PrefaultPages: the first access to each page
// costs 7-19 us on this project's VMs) up to this far beyond it, in step
// with the writer: 30 ms of the thread's time per step rather than 120 ms
// at once for pages a slow writer may not reach. (Touching 2 MiB, 8 MiB
// or all 32 MiB reserved ahead measured within the VM's noise of each
// other, doc/benchmarks.md; 8 MiB leaves a margin for a writer that runs
// while the thread compacts, when it touches pages only between steps.)
inline constexpr size_t kTouchAhead = size_t{8} << 20;

class Background {
 public:
  // enabled: Options::background_compaction (when false, every request is
  // refused). compact: one background compaction, run on the thread with
  // no lock held. head: the dictionary's head word (control block), to see
  // that a generation was replaced.
  Background(bool enabled, std::function<void()> compact,
             const std::atomic<uint64_t>* head);
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  // Stop() must have been called (or the object abandoned).
  ~Background() = default;

  // Whether requests are taken: enabled, and in the process that made it.
  bool Accepts() const;

  // Asks for a compaction (once: while one is scheduled or running, again
  // does nothing). False when refused (the caller compacts inline).
  bool ScheduleCompaction() ABSL_LOCKS_EXCLUDED(mu_);
  // Whether a compaction is scheduled or running; then *published is the
  // count of publications so far (see WaitForPublication).
  bool CompactionPending(uint64_t* published) ABSL_LOCKS_EXCLUDED(mu_);
  // Called by the compaction when it published a generation: wakes the
  // writers waiting for room.
  void Published() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits at most `timeout` until the compaction is no longer pending, or
  // published something after `published`, or the thread stops.
  void WaitForPublication(uint64_t published, std::chrono::milliseconds timeout)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Hands a generation no longer current to the thread, which drops it
  // (unmapping it unless an iterator or pinned value holds it). When
  // refused, the caller's reference simply goes.
  void Retire(std::shared_ptr<const Generation> generation)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The writer (write lock held), after a record was appended to g's log
  // up to `end`: when the reserved pages end less than kReserveAhead beyond
  // it, asks the thread to reserve up to twice that beyond it, so that the
  // writer rarely allocates log pages itself (2-3 us per 4 KiB page on
  // tmpfs: 75 ns per put of 130 bytes); when the touched ones end less
  // than kTouchAhead beyond it, to touch up to twice that (the writer's
  // first write to each page cost 226-283 ns per put of 130 bytes).
  void AskReserve(const std::shared_ptr<Generation>& g, size_t end)
      ABSL_LOCKS_EXCLUDED(mu_);
  // On the thread, between steps of its work that hold no lock (also amid
  // a compaction, which takes much longer than the writer takes to use the
  // bytes reserved ahead): serves the writer's request, if any. Cheap when
  // there is none; does nothing off the thread.
  void MaybeServeReserve() ABSL_LOCKS_EXCLUDED(mu_) {
    if (reserve_wanted_.load(std::memory_order_relaxed)) ServeReserve();
  }

  // The writer (write lock held), after a commit left g's log with
  // run_due_at entries or more below head offset `end`: asks the thread
  // for a sorted run of the records below `end` (replacing an earlier
  // request). The thread builds it when no compaction is scheduled, and
  // abandons it when one is.
  void AskRun(const std::shared_ptr<Generation>& g, uint32_t end)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The writer, after publishing g: asks the thread to turn g's snapshot
  // into 2 MiB pages (port::Segment::CollapseHugePages), a step at a time,
  // while g is the dictionary's generation. The snapshot was written with
  // write(2) into 4 KiB pages, and every Get and every put of a key new
  // to the log probes it at random: on this project's VMs a TLB miss there
  // cost about as much as the cache miss. After a compaction, before any
  // run is built; replaces an earlier request.
  void AskCollapse(const std::shared_ptr<const Generation>& g)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Stops the thread and waits for it (in the process that made it).
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  // In a fork child (where the thread does not exist): forgets the thread
  // without touching its state, which the parent's thread may have been
  // changing at the fork, and leaks this object: not even its condition
  // variable can be destroyed (the child inherited it with a waiter that
  // never leaves, and destroying it would wait for that waiter forever).
  static void Abandon(std::unique_ptr<Background> background);
  // Whether this is a fork child of the process that made it.
  bool InForkChild() const;

  // Around fork() (fork_guard.h): held by the forking thread, so that no
  // thread is inside a critical section of mu_ at the fork.
  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.Lock(); }
  void UnlockAfterFork() ABSL_UNLOCK_FUNCTION(mu_) { mu_.Unlock(); }

 private:
  // A writer's request to reserve log pages ahead (AskReserve). Weak:
  // replacing or dropping a request never unmaps a generation (which the
  // writer, holding its locks, must not wait for; see Retire).
  struct ReserveRequest {
    std::weak_ptr<Generation> gen;
    size_t end = 0;        // Reserve up to here,
    size_t touch_end = 0;  // and touch up to here.
    bool pending = false;
  };

  // A writer's request for a sorted run (AskRun); weak as ReserveRequest.
  struct RunRequest {
    std::weak_ptr<Generation> gen;
    uint32_t end = 0;
    bool pending = false;
  };

  // A writer's request to collapse a snapshot (AskCollapse); weak as
  // ReserveRequest.
  struct CollapseRequest {
    std::weak_ptr<const Generation> gen;
    bool pending = false;
  };

  void WakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // On the thread: collapses the requested snapshot, if any.
  void ServeCollapse() ABSL_LOCKS_EXCLUDED(mu_);
  // On the thread: drops the generations retired so far.
  void DropRetired() ABSL_LOCKS_EXCLUDED(mu_);
  // On the thread: builds the requested run, if any.
  void ServeRun() ABSL_LOCKS_EXCLUDED(mu_);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  void ServeReserve() ABSL_LOCKS_EXCLUDED(mu_);
  // Whether g is still the dictionary's generation (the head word names
  // it): false once a compaction has replaced it.
  bool IsCurrent(const Generation& g) const;

  const bool enabled_;
  const std::function<void()> compact_;
  const std::atomic<uint64_t>* const head_;
  const int32_t pid_;  // The process whose thread thread_ is.

  port::Mutex mu_;
  port::CondVar cv_{&mu_};
  bool scheduled_ ABSL_GUARDED_BY(mu_) = false;
  // scheduled_, for a look without mu_: a writer asks for a compaction at
  // every commit while the log is past its compaction point, and the one
  // scheduled then runs for a while.
  std::atomic<bool> scheduled_hint_{false};
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // Generations published (see Published): a writer that waits for the log
  // to have room wakes at a publication, before the thread has unmapped the
  // generation it replaced.
  uint64_t published_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::shared_ptr<const Generation>> retired_ ABSL_GUARDED_BY(mu_);
  ReserveRequest reserve_ ABSL_GUARDED_BY(mu_);
  RunRequest run_ ABSL_GUARDED_BY(mu_);
  CollapseRequest collapse_ ABSL_GUARDED_BY(mu_);
  // stop_, for a look without mu_ amid a run's build.
  std::atomic<bool> stop_hint_{false};
  // Used by the thread only.
  RunBuilder run_builder_;
  // A request is pending (a hint read without mu_; set and cleared under it).
  std::atomic<bool> reserve_wanted_{false};
  // Started under mu_ (WakeLocked), joined by Stop.
  std::thread thread_;
};

}  // namespace ultradict

#endif  // ULTRADICT_DB_BACKGROUND_H_
