// db_impl_read.cc: the read path: following the head (mapping a new
// generation, indexing new records), the read view, Get, GetPinned and
// NewIterator. See db_impl.h for the locks.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/db_impl.h"
#include "db/db_iter.h"

namespace ultradict {

absl::Status DBImpl::SwitchToLocked(uint32_t gen, uint64_t head, bool may_retry,
                                    bool* retry) {
  *retry = false;
  absl::StatusOr<std::shared_ptr<Generation>> g = LoadGeneration(files_, gen);
  if (!g.ok() && may_retry &&
      block_.head().load(std::memory_order_acquire) != head) {
    // Retired by a compaction meanwhile (and maybe its name taken by
    // another user's file since): follow the head.
    *retry = true;
    return absl::OkStatus();
  }
  if (absl::IsNotFound(g.status())) {
    return absl::DataLossError(absl::StrCat(
        "generation ", gen, " of \"", name_,
        "\" is current but its segment is missing: ", g.status().message()));
  }
  if (absl::IsInvalidArgument(g.status())) {  // Not a regular file.
    return absl::DataLossError(
        absl::StrCat("generation ", gen, " of \"", name_,
                     "\" is current but its segment cannot be used: ",
                     g.status().message()));
  }
  if (!g.ok()) return g.status();
  if (current_ != nullptr) current_->CloseFiles();  // Retired here.
  current_ = std::move(*g);
  return absl::OkStatus();
}

absl::Status DBImpl::RefreshLocked() {
  for (int attempt = 0;; attempt++) {
    const uint64_t head = block_.head().load(std::memory_order_acquire);
    if (head == applied_head_) return absl::OkStatus();
    const uint32_t gen = control::HeadGeneration(head);
    const uint32_t offset = control::HeadOffset(head);
    if (current_ == nullptr || current_->gen != gen) {
      bool retry = false;
      absl::Status s = SwitchToLocked(gen, head, attempt < 1000, &retry);
      if (!s.ok()) return s;
      if (retry) continue;
    }
    if (offset > current_->record_capacity) {
      return absl::DataLossError(
          absl::StrCat(current_->log_segment.path(), ": head offset ", offset,
                       " past the log's capacity ", current_->record_capacity));
    }
    absl::Status s = current_->ApplyRecords(offset, [] {});
    if (!s.ok()) return s;
    applied_head_ = head;
    return absl::OkStatus();
  }
}

template <typename Fn>
absl::Status DBImpl::WithReadView(Fn&& fn) {
  absl::Status s = CheckFork();
  if (!s.ok()) return s;
  {
    port::ReaderMutexLock l(&mu_);
    if (block_.head().load(std::memory_order_acquire) == applied_head_) {
      return fn(current_, 0);
    }
  }
  // New records: index them if nobody else in this process holds the lock
  // (their cost is then paid once, not by every read) ...
  if (mu_.TryLock()) {
    s = RefreshLocked();
    // Downgrading would let a writer in between: read under the exclusive
    // lock, which is as good for fn.
    if (s.ok()) s = fn(current_, 0);
    mu_.Unlock();
    return s;
  }
  {
    // ... else, when only a few records behind in the same generation,
    // search them in place rather than wait for the lock.
    port::ReaderMutexLock l(&mu_);
    const uint64_t head = block_.head().load(std::memory_order_acquire);
    if (head == applied_head_) return fn(current_, 0);
    const uint32_t tail_end = current_->SearchableTailEnd(head);
    if (tail_end != 0) return fn(current_, tail_end);
  }
  port::WriterMutexLock l(&mu_);
  s = RefreshLocked();
  if (!s.ok()) return s;
  return fn(current_, 0);
}

absl::Status DBImpl::Get(std::string_view key, std::string* value) {
  return WithReadView([&](const std::shared_ptr<Generation>& g,
                          uint32_t tail_end) -> absl::Status {
    std::string scratch;
    std::string_view v;
    absl::Status s = g->Lookup(key, &scratch, &v, tail_end);
    if (absl::IsNotFound(s)) {
      return absl::NotFoundError("");  // No message: a miss stays cheap.
    }
    if (s.ok()) value->assign(v.data(), v.size());
    return s;
  });
}

absl::Status DBImpl::GetPinned(std::string_view key, PinnableValue* value) {
  return WithReadView([&](const std::shared_ptr<Generation>& g,
                          uint32_t tail_end) -> absl::Status {
    auto scratch = std::make_shared<std::string>();
    std::string_view v;
    absl::Status s = g->Lookup(key, scratch.get(), &v, tail_end);
    if (absl::IsNotFound(s)) return absl::NotFoundError("key not found");
    if (!s.ok()) return s;
    if (!scratch->empty()) {
      value->pin_ = scratch;  // Decompressed: the copy is the pin.
    } else {
      value->pin_ = g;  // Keeps the mapping alive.
    }
    value->data_ = v;
    return absl::OkStatus();
  });
}

std::unique_ptr<Iterator> DBImpl::NewIterator() {
  std::shared_ptr<const Generation> g;
  std::vector<std::pair<std::string_view, LogValue>> entries;
  absl::Status s = CheckFork();
  if (!s.ok()) return NewErrorIterator(s);
  {
    port::WriterMutexLock l(&mu_);
    s = RefreshLocked();
    if (!s.ok()) return NewErrorIterator(s);
    g = current_;
    entries.reserve(current_->index.size());
    const bool all =
        current_->index.ForEach([&entries](const LogIndex::Entry& e) {
          entries.emplace_back(e.key, LogValue{e.value, e.deleted});
        });
    if (!all) return NewErrorIterator(current_->DamagedIndexEntry());
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return NewDBIterator(std::move(g), std::move(entries), live_iterators_);
}

}  // namespace ultradict
