// db_iter.cc: see db_iter.h.

#include "db/db_iter.h"

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "db/snapshot_scanner.h"

namespace ultradict {

namespace {

// Cache lines of a run entry's record that an iterator asks for ahead of
// decoding it (RunAt): a 16-byte key and a 100-byte value with their
// lengths span 2-3 lines. Larger entries are read on in order.
constexpr uint32_t kRunEntryLines = 3;

class DBIter : public Iterator {
 public:
  DBIter(std::shared_ptr<const Generation> generation, IteratorLog log,
         std::vector<uint32_t> order, std::shared_ptr<std::atomic<int>> live)
      : gen_(std::move(generation)),
        run_(log.run),
        log_(std::move(log.changes)),
        order_(std::move(order)),
        buffers_(std::move(log.buffers)),
        live_(std::move(live)) {
    snap_count_ = gen_->gen == 0 ? 0 : gen_->snapshot.count();
    if (snap_count_ > 0) {
      // Read in order out of its file, not through the mapping
      // (snapshot_scanner.h).
      scanner_ = std::make_unique<snapshot::Scanner>(&gen_->snapshot,
                                                     gen_->SnapshotFile());
    }
    live_->fetch_add(1, std::memory_order_relaxed);
  }
  ~DBIter() override { live_->fetch_sub(1, std::memory_order_relaxed); }

  bool Valid() const override { return valid_; }
  absl::Status status() const override { return status_; }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }

  void SeekToFirst() override {
    li_ = 0;
    touched_ = 0;
    ri_ = 0;
    batch_.clear();
    si_ = 0;
    if (scanner_ != nullptr) scanner_->SeekTo(si_);
    have_snap_ = false;
    FindNext();
  }

  void Seek(std::string_view target) override {
    const KeyPrefix prefix = PrefixOf(target);
    li_ = std::lower_bound(order_.begin(), order_.end(), target,
                           [this, &prefix](uint32_t i, std::string_view t) {
                             const Change& c = log_[i];
                             return CompareKeys(c.prefix, c.key, prefix, t) < 0;
                           }) -
          order_.begin();
    touched_ = li_;
    if (!SeekRun(target, prefix)) return;
    si_ = 0;
    if (snap_count_ > 0) {
      absl::Status s = gen_->snapshot.LowerBound(target, &si_);
      if (!s.ok()) return Fail(s);
      scanner_->SeekTo(si_);
    }
    have_snap_ = false;
    FindNext();
  }

  void Next() override {
    if (!valid_) return;
    FindNext();
  }

 private:
  void Fail(absl::Status s) {
    status_ = std::move(s);
    valid_ = false;
  }

  absl::Status RunDamage(size_t i) const {
    return absl::DataLossError(
        absl::StrCat(gen_->log_segment.path(), ": entry ", i,
                     " of the sorted run at offset ", run_.file_offset,
                     " does not decode or is out of order"));
  }

  // Decodes the run's entry i into *c (its key's prefix set).
  bool DecodeRun(size_t i, Change* c) const {
    LogIndex::Entry e;
    if (!gen_->index.EntryAt(run_.location(i), run_.check(i), run_.end, &e)) {
      return false;
    }
    *c = MakeChange(e.key, LogValue{e.value, e.deleted}, 0);
    return true;
  }

  // ri_ := the first entry of the run not below target.
  bool SeekRun(std::string_view target, const KeyPrefix& prefix) {
    batch_.clear();
    size_t lo = 0, hi = run_.count;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      Change c;
      if (!DecodeRun(mid, &c)) {
        Fail(RunDamage(mid));
        return false;
      }
      if (CompareKeys(c.prefix, c.key, prefix, target) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    ri_ = lo;
    return true;
  }

  // The run's entry i, decoded with the batch of kTouchBatch it starts
  // (their records' lines loaded at once first); null after Fail. Each key
  // must be above the one before it in the run.
  const Change* RunAt(size_t i) {
    if (i >= batch_at_ && i - batch_at_ < batch_.size()) {
      return &batch_[i - batch_at_];
    }
    const bool follows = !batch_.empty() && i == batch_at_ + batch_.size();
    Change last;
    if (follows) last = batch_.back();
    const size_t n = std::min<size_t>(kTouchBatch, run_.count - i);
    // Their entries' lines, at once (their misses overlap): the first
    // kRunEntryLines of each, which decoding reads whole (its check). With
    // the log in 2 MiB pages (readseq over a run of 0.73-0.77 M keys, ns
    // per entry): 113-124 with the first line only, 59-69 with three.
    // (In 4 KiB pages the first line alone had measured best: 103-121,
    // against 172-205 for the lines up to 128 bytes further, each line
    // beyond a page boundary a TLB miss of its own.)
    for (size_t k = 0; k < n; k++) {
      const uint32_t location = run_.location(i + k);
      for (uint32_t line = 0; line < kRunEntryLines; line++) {
        const uint64_t at = uint64_t{location} + 64 * line;
        if (at >= gen_->record_capacity) break;
        __builtin_prefetch(gen_->records + at);
      }
    }
    batch_.resize(n);
    batch_at_ = i;
    for (size_t k = 0; k < n; k++) {
      const Change* before =
          k > 0 ? &batch_[k - 1] : (follows ? &last : nullptr);
      if (!DecodeRun(i + k, &batch_[k]) ||
          (before != nullptr &&
           CompareKeys(before->prefix, before->key, batch_[k].prefix,
                       batch_[k].key) >= 0)) {
        batch_.clear();
        Fail(RunDamage(i + k));
        return nullptr;
      }
    }
    return &batch_[0];
  }

  // The log's next change: the run's or the list's, whichever key comes
  // first (the list's when both have the key: it is newer). Null when
  // both are done, or after Fail.
  const Change* PeekLog() {
    for (;;) {
      const Change* listed = nullptr;
      if (li_ < order_.size()) {
        TouchAheadInOrder(log_, order_, li_, &touched_);
        listed = &log_[order_[li_]];
      }
      if (ri_ >= run_.count) {
        from_run_ = false;
        return listed;
      }
      const Change* in_run = RunAt(ri_);
      if (in_run == nullptr) return nullptr;
      if (listed == nullptr) {
        from_run_ = true;
        return in_run;
      }
      const int order =
          CompareKeys(in_run->prefix, in_run->key, listed->prefix, listed->key);
      if (order == 0) {  // Replaced after the run.
        ri_++;
        continue;
      }
      from_run_ = order < 0;
      return from_run_ ? in_run : listed;
    }
  }

  // Positions on the next live entry at or after (ri_, li_, si_).
  void FindNext() {
    valid_ = false;
    if (!status_.ok()) return;
    for (;;) {
      if (!have_snap_ && si_ < snap_count_) {
        absl::Status s = scanner_->Next(&snap_, /*verify=*/true);
        if (!s.ok()) return Fail(s);
        snap_prefix_ = PrefixOf(snap_.key);
        have_snap_ = true;
      }
      const Change* change = PeekLog();
      if (!status_.ok()) return;
      if (!have_snap_ && change == nullptr) return;
      const int order = change != nullptr && have_snap_
                            ? CompareKeys(change->prefix, change->key,
                                          snap_prefix_, snap_.key)
                            : -1;
      if (change != nullptr && order <= 0) {
        if (from_run_) {
          ri_++;
        } else {
          li_++;
        }
        if (order == 0) {  // The log's is newer.
          have_snap_ = false;
          si_++;
        }
        if (change->value.deleted) continue;
        key_ = change->key;
        value_ = change->value.value;
      } else {
        key_ = snap_.key;
        absl::Status s = snapshot::EntryValue(snap_, &scratch_, &value_);
        if (!s.ok()) return Fail(s);
        have_snap_ = false;
        si_++;
      }
      valid_ = true;
      return;
    }
  }

  std::shared_ptr<const Generation> gen_;
  // The run (count 0 without one), read from ri_ on, kTouchBatch entries
  // at a time: batch_ holds entries [batch_at_, batch_at_ + size).
  const LogRuns::Run run_;
  size_t ri_ = 0;
  std::vector<Change> batch_;
  size_t batch_at_ = 0;
  bool from_run_ = false;  // PeekLog's change is the run's.
  // The changes after the run, and their order: log_[order_[i]] is the
  // i-th key's newest (SortChangeOrder).
  std::vector<Change> log_;
  std::vector<uint32_t> order_;
  // Decompressed batches that entries of log_ point into (a deque moves
  // without moving its elements, so the views stay valid).
  std::deque<std::string> buffers_;
  const std::shared_ptr<std::atomic<int>> live_;
  uint64_t snap_count_ = 0;
  // Reads the snapshot's entry si_ (when snap_count_ > 0).
  std::unique_ptr<snapshot::Scanner> scanner_;
  size_t li_ = 0;
  size_t touched_ = 0;  // order_[li_, touched_) were loaded (TouchAhead).
  uint64_t si_ = 0;
  snapshot::Entry snap_;
  KeyPrefix snap_prefix_;
  bool have_snap_ = false;
  bool valid_ = false;
  std::string_view key_, value_;
  std::string scratch_;
  absl::Status status_;
};

class ErrorIterator : public Iterator {
 public:
  explicit ErrorIterator(absl::Status status) : status_(std::move(status)) {}
  bool Valid() const override { return false; }
  void SeekToFirst() override {}
  void Seek(std::string_view) override {}
  void Next() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  absl::Status status() const override { return status_; }

 private:
  absl::Status status_;
};

}  // namespace

bool RunWorthBuilding(const Generation& g, uint32_t end) {
  if (g.gen == 0 || end == 0) return false;
  return g.index.nodes_used() >= kMinRunEntries && !g.WantsCompaction(end) &&
         g.run_due_at.load(std::memory_order_relaxed) != UINT32_MAX;
}

absl::Status ReadIteratorLog(const Generation& g, uint32_t end,
                             IteratorLog* log, bool* run_wanted) {
  bool have_run = false;
  absl::Status s = g.runs.Newest(end, &log->run, &have_run);
  if (!s.ok()) return s;
  // The entries past the run, estimated from their bytes at the run's
  // bytes per entry (at this head, which may be older than the index's
  // newest entry; bounded by the index's capacity: shared words).
  const uint64_t after_run =
      have_run && log->run.end > 0
          ? std::min<uint64_t>(
                uint64_t{end - log->run.end} * log->run.nodes / log->run.end,
                g.index.node_capacity())
          : 0;
  // A run followed by more than a quarter of its entries again (runs are
  // kept within that while they are built; they stop while a compaction is
  // due) saves less than it costs: every record after it is read and
  // sorted, and each of the run's entries read at random, more and more of
  // them replaced since. 1 M overwrites after a fill, past a run of 0.7 M
  // entries: 343-443 ns per entry scanned, against 182 without the run.
  if (!have_run || after_run * kRunGrowth > log->run.nodes) {
    log->run = LogRuns::Run();
    if (run_wanted != nullptr && RunWorthBuilding(g, end)) {
      *run_wanted = true;
      return absl::OkStatus();
    }
    return CollectLatestChanges(g, end, &log->buffers, &log->changes);
  }
  // The log's keys in order as far as the run lists them: only the records
  // after it are this iterator's to sort. The list is sized, not grown: a
  // vector grown in steps copies itself and faults its fresh pages in
  // over and over (41% of that scan's time before).
  return CollectLogChanges(
      g, log->run.end, end, after_run + after_run / 8, &log->buffers, [] {},
      &log->changes);
}

std::unique_ptr<Iterator> NewDBIterator(
    std::shared_ptr<const Generation> generation, IteratorLog log,
    std::shared_ptr<std::atomic<int>> live) {
  // One change per key: sorted by their prefixes, mostly without reading
  // the keys' bytes (scattered over the log, a cache miss each). Here, not
  // in ReadIteratorLog: the DB calls that with its handle's lock held.
  std::vector<uint32_t> order;
  SortChangeOrder(&log.changes, &order);
  return std::make_unique<DBIter>(std::move(generation), std::move(log),
                                  std::move(order), std::move(live));
}

std::unique_ptr<Iterator> NewErrorIterator(absl::Status status) {
  return std::make_unique<ErrorIterator>(std::move(status));
}

}  // namespace ultradict
