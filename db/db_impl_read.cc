// db_impl_read.cc: the read path: following the head (mapping a new
// generation), the read view, Get, GetPinned and NewIterator. See db_impl.h for the locks.

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/changes.h"
#include "db/db_impl.h"
#include "db/db_iter.h"
#include "db/run_builder.h"

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
    const uint32_t gen = control::HeadGeneration(head);
    if (current_ != nullptr && current_->gen == gen) return absl::OkStatus();
    bool retry = false;
    absl::Status s = SwitchToLocked(gen, head, attempt < 1000, &retry);
    if (!s.ok()) return s;
    if (!retry) return absl::OkStatus();
  }
}

absl::Status DBImpl::HeadPastLog(const Generation& g, uint32_t end) {
  return absl::DataLossError(absl::StrCat(g.log_segment.path(),
                                          ": head offset ", end,
                                          " past the log's capacity ",
                                          g.record_capacity));
}

template <typename Fn>
absl::Status DBImpl::WithReadView(Fn&& fn) {
  absl::Status s = CheckFork();
  if (!s.ok()) return s;
  for (int attempt = 0;; attempt++) {
    {
      // The usual case: the head is of the generation this process maps.
      // Nothing to do but read: the index is shared, and kept by the
      // writer.
      port::ReaderMutexLock l(&mu_);
      const uint64_t head = block_.head().load(std::memory_order_acquire);
      if (current_ != nullptr && control::HeadGeneration(head) == current_->gen) {
        const uint32_t end = control::HeadOffset(head);
        if (end > current_->record_capacity) {
          return HeadPastLog(*current_, end);
        }
        return fn(current_, end);
      }
    }
    // A compaction published the next generation: map it.
    port::WriterMutexLock l(&mu_);
    s = RefreshLocked();
    if (!s.ok()) return s;
    if (attempt >= 1000) {
      return absl::UnavailableError(absl::StrCat(
          "dictionary \"", name_, "\": generations change faster than they "
          "can be mapped"));
    }
  }
}

absl::Status DBImpl::CurrentView(std::shared_ptr<Generation>* g,
                                 uint32_t* end) {
  return WithReadView(
      [&](const std::shared_ptr<Generation>& view, uint32_t view_end) {
        *g = view;
        *end = view_end;
        return absl::OkStatus();
      });
}

absl::Status DBImpl::Get(std::string_view key, std::string* value) {
  return WithReadView([&](const std::shared_ptr<Generation>& g,
                          uint32_t end) -> absl::Status {
    std::string scratch;
    std::string_view v;
    absl::Status s = g->Lookup(key, &scratch, &v, end);
    // A miss is Lookup's NotFound as it is: without a message (cheap), and
    // not tested with absl::IsNotFound (a call into the library).
    if (s.ok()) value->assign(v.data(), v.size());
    return s;
  });
}

absl::Status DBImpl::GetPinned(std::string_view key, PinnableValue* value) {
  return WithReadView([&](const std::shared_ptr<Generation>& g,
                          uint32_t end) -> absl::Status {
    auto scratch = std::make_shared<std::string>();
    std::string_view v;
    absl::Status s = g->Lookup(key, scratch.get(), &v, end);
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
  std::shared_ptr<Generation> g;
  IteratorLog log;
  bool run_wanted = false;
  uint32_t run_end = 0;
  absl::Status s = WithReadView([&](const std::shared_ptr<Generation>& view,
                                    uint32_t end) -> absl::Status {
    g = view;
    run_end = end;
    return ReadIteratorLog(*view, end, &log, &run_wanted);
  });
  if (!s.ok()) return NewErrorIterator(s);
  if (run_wanted) {
    // No run to read, and many records: sort them once for every process,
    // into a published run (outside mu_: it takes as long as the sort this
    // iterator would do), then read that, at the same head: records below
    // it never change, and a head that moved on meanwhile could leave the
    // run too far behind to be read. When none gets published (not due
    // after all, no room, compressed records, another iterator of this
    // process building one), this iterator sorts the records itself, as it
    // would have. The build's errors leave no run and no second try in
    // this process (RunBuilder::BuildOnce); they are not this iterator's:
    // a full filesystem, a generation retired meanwhile, or a damaged
    // record that its own read may not even need (one overwritten since).
    RunBuilder builder;
    builder.BuildOnce(g, run_end).IgnoreError();
    s = WithReadView([&](const std::shared_ptr<Generation>& view,
                         uint32_t end) -> absl::Status {
      if (view != g) {  // Compacted meanwhile: the new generation, now.
        g = view;
        run_end = end;
      }
      return ReadIteratorLog(*g, run_end, &log);
    });
    if (!s.ok()) return NewErrorIterator(s);
  }
  return NewDBIterator(std::move(g), std::move(log), live_iterators_);
}

}  // namespace ultradict
