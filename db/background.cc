// background.cc: the background thread of a DB handle (see background.h).

#include "db/background.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "db/control_block.h"
#include "db/log_format.h"
#include "port/port.h"

namespace ultradict {

namespace {
// The Background whose thread this is, if any.
thread_local const Background* tls_background = nullptr;
}  // namespace

Background::Background(bool enabled, std::function<void()> compact,
                       const std::atomic<uint64_t>* head)
    : enabled_(enabled),
      compact_(std::move(compact)),
      head_(head),
      pid_(port::CurrentPid()) {}

bool Background::Accepts() const {
  return enabled_ && port::CurrentPid() == pid_;
}

bool Background::InForkChild() const { return port::CurrentPid() != pid_; }

bool Background::ScheduleCompaction() {
  if (!Accepts()) return false;  // A fork child compacts inline.
  // Already scheduled or running: nothing to do (a stale true only skips
  // a request the next commit makes again).
  if (scheduled_hint_.load(std::memory_order_relaxed)) return true;
  port::MutexLock l(&mu_);
  if (stop_) return false;
  if (!scheduled_) {
    scheduled_ = true;
    scheduled_hint_.store(true, std::memory_order_relaxed);
    WakeLocked();
  }
  return true;
}

bool Background::CompactionPending(uint64_t* published) {
  if (!Accepts()) return false;
  port::MutexLock l(&mu_);
  if (!scheduled_ || stop_) return false;
  *published = published_;
  return true;
}

void Background::Published() {
  port::MutexLock l(&mu_);
  published_++;
  cv_.SignalAll();
}

void Background::WaitForPublication(uint64_t published,
                                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  port::MutexLock l(&mu_);
  while (scheduled_ && !stop_ && published_ == published) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    cv_.WaitFor(left);
  }
}

void Background::Retire(std::shared_ptr<const Generation> generation) {
  if (!Accepts()) return;
  port::MutexLock l(&mu_);
  if (stop_) return;
  retired_.push_back(std::move(generation));
  WakeLocked();
}

void Background::AskReserve(const std::shared_ptr<Generation>& g, size_t end) {
  const size_t capacity = g->record_capacity;
  const size_t wanted = std::min(end + kReserveAhead, capacity);
  const bool reserve = wanted > g->reserved.load(std::memory_order_relaxed) &&
                       wanted > g->reserve_asked;
  const bool touch = std::min(end + kTouchAhead, capacity) > g->touch_asked;
  if (!reserve && !touch) return;
  if (!Accepts()) return;
  if (reserve) g->reserve_asked = std::min(end + 2 * kReserveAhead, capacity);
  g->touch_asked = std::min(end + 2 * kTouchAhead, capacity);
  port::MutexLock l(&mu_);
  if (stop_) return;
  reserve_.gen = g;
  reserve_.end = g->reserve_asked;
  reserve_.touch_end = g->touch_asked;
  reserve_.pending = true;
  reserve_wanted_.store(true, std::memory_order_relaxed);
  WakeLocked();
}

void Background::ServeReserve() {
  if (tls_background != this) return;
  std::shared_ptr<Generation> g;
  size_t end, touch_end;
  {
    port::MutexLock l(&mu_);
    reserve_wanted_.store(false, std::memory_order_relaxed);
    if (!reserve_.pending) return;
    reserve_.pending = false;
    g = reserve_.gen.lock();  // Null when the generation is gone.
    reserve_.gen.reset();
    end = reserve_.end;
    touch_end = reserve_.touch_end;
  }
  if (g == nullptr) return;
  // A failure (a full filesystem) is left for the writer to meet and report.
  for (;;) {
    const size_t from = g->reserved.load(std::memory_order_acquire);
    if (from >= end || !IsCurrent(*g)) break;
    // A 2 MiB block of the file at a time (its end aligned), which a
    // reservation turns into one huge page where the kernel can
    // (port::Segment::Reserve), well ahead of the writer.
    constexpr size_t kBlock = port::kHugePageSize;
    const size_t block_end =
        ((log::kHeaderSize + from) / kBlock + 1) * kBlock - log::kHeaderSize;
    const size_t step = std::min(end, block_end) - from;
    if (!g->ReserveFile(log::kHeaderSize + from, step).ok()) break;
    g->Reserved(from + step);
  }
  // Reserved pages only (the writer may be writing some of them: reading
  // a byte of a page is harmless, see port::PrefaultPages).
  touch_end = std::min(touch_end, g->reserved.load(std::memory_order_acquire));
  for (;;) {
    const size_t from = g->touched;
    if (from >= touch_end || !IsCurrent(*g)) break;
    const size_t step = std::min(touch_end - from, kLogReserveStep / 4);
    port::PrefaultPages(g->records + from, step);
    g->touched = from + step;
  }
}

bool Background::IsCurrent(const Generation& g) const {
  const uint64_t head = head_->load(std::memory_order_relaxed);
  return control::HeadGeneration(head) == g.gen;
}

void Background::AskRun(const std::shared_ptr<Generation>& g, uint32_t end) {
  if (!Accepts()) return;
  // Not again until the thread has looked (it sets run_due_at).
  g->run_due_at.store(UINT32_MAX, std::memory_order_relaxed);
  port::MutexLock l(&mu_);
  if (stop_) return;
  run_.gen = g;
  run_.end = end;
  run_.pending = true;
  WakeLocked();
}

void Background::ServeRun() {
  std::shared_ptr<Generation> g;
  uint32_t end;
  {
    port::MutexLock l(&mu_);
    if (!run_.pending) return;
    run_.pending = false;
    g = run_.gen.lock();
    run_.gen.reset();
    end = run_.end;
  }
  if (g == nullptr) {
    run_builder_.Reset();
    return;
  }
  if (!IsCurrent(*g)) {  // Compacted meanwhile.
    run_builder_.Reset();
    return;
  }
  // Given up for a compaction (which replaces the log) or a stop. A
  // failure (a full filesystem, damage) leaves the log without a run:
  // iterators sort it themselves, and the writer meets the problem.
  bool gave_up = false;
  absl::Status s = run_builder_.Build(g, end, [&] {
    MaybeServeReserve();
    gave_up = scheduled_hint_.load(std::memory_order_relaxed) ||
              stop_hint_.load(std::memory_order_relaxed);
    return !gave_up;
  });
  if (gave_up || !s.ok()) {
    // Asked again at a later commit (when not compacting by then).
    g->run_due_at.store(s.ok() ? g->index.nodes_used() : UINT32_MAX,
                        std::memory_order_relaxed);
  }
}

void Background::AskCollapse(const std::shared_ptr<const Generation>& g) {
  if (!Accepts() || g->snap_segment.size() < port::kHugePageSize) return;
  port::MutexLock l(&mu_);
  if (stop_) return;
  collapse_.gen = g;
  collapse_.pending = true;
  WakeLocked();
}

void Background::ServeCollapse() {
  std::shared_ptr<const Generation> g;
  {
    port::MutexLock l(&mu_);
    if (!collapse_.pending) return;
    collapse_.pending = false;
    g = collapse_.gen.lock();
    collapse_.gen.reset();
  }
  if (g == nullptr) return;
  // A step copies its 4 KiB pages into huge ones (a 33 MB snapshot took
  // 17 ms on this project's VMs). Between steps the writer's reservations
  // are served and retired generations dropped (the one this replaced
  // arrives right after the request); a generation replaced meanwhile is
  // left as it is. A step that failed (a page in use by a reader at that
  // moment: EAGAIN) is tried once more.
  constexpr size_t kStep = 8 * port::kHugePageSize;
  const size_t size = g->snap_segment.size();
  for (size_t at = 0; at < size; at += kStep) {
    if (!IsCurrent(*g) || stop_hint_.load(std::memory_order_relaxed)) break;
    const size_t step = std::min(kStep, size - at);
    if (!g->snap_segment.CollapseHugePages(at, step)) {
      std::this_thread::yield();
      g->snap_segment.CollapseHugePages(at, step);
    }
    MaybeServeReserve();
    DropRetired();
  }
}

void Background::DropRetired() {
  std::vector<std::shared_ptr<const Generation>> retired;
  {
    port::MutexLock l(&mu_);
    retired.swap(retired_);
  }
  // Unmapped here, without mu_.
}

void Background::WakeLocked() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  cv_.Signal();
}

void Background::Loop() {
  tls_background = this;
  mu_.Lock();
  for (;;) {
    while (!scheduled_ && !stop_ && retired_.empty() && !reserve_.pending &&
           !run_.pending && !collapse_.pending) {
      cv_.Wait();
    }
    std::vector<std::shared_ptr<const Generation>> retired;
    retired.swap(retired_);
    if (stop_) break;  // `retired` is released on the way out.
    const bool compact = scheduled_;
    mu_.Unlock();
    MaybeServeReserve();  // First: the writer is about to need the pages.
    retired.clear();
    if (compact) {
      compact_();            // Writers compact inline if it fails.
      run_builder_.Reset();  // Its generation is replaced.
    }
    // The snapshot it (or an inline compaction) published, before the next
    // compaction: while it runs, a compaction counts as still scheduled
    // (a writer that finds the log full waits for the collapse, then asks
    // again; the requests meanwhile are made again by the next commits).
    // Starting the next compaction first instead, when one was asked for
    // during the collapse, left the snapshot in 4 KiB pages under steady
    // writes: overwrite 714 -> 1,038 ns (doc/benchmarks.md).
    ServeCollapse();
    if (!compact) ServeRun();
    mu_.Lock();
    if (compact) {
      scheduled_ = false;
      scheduled_hint_.store(false, std::memory_order_relaxed);
      cv_.SignalAll();
    }
  }
  mu_.Unlock();
}

void Background::Stop() {
  {
    port::MutexLock l(&mu_);
    stop_ = true;
    stop_hint_.store(true, std::memory_order_relaxed);
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  port::MutexLock l(&mu_);
  retired_.clear();
  reserve_ = ReserveRequest();
  run_ = RunRequest();
  collapse_ = CollapseRequest();
}

void Background::Abandon(std::unique_ptr<Background> background) {
  if (background->thread_.joinable()) {
    (void)background.release();  // See the header: nothing of it is touched.
  }
}

}  // namespace ultradict
