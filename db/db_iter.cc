// db_iter.cc: see db_iter.h.

#include "db/db_iter.h"

#include <algorithm>
#include <memory>
#include <string>

#include "db/snapshot_scanner.h"

namespace ultradict {

namespace {

class DBIter : public Iterator {
 public:
  DBIter(std::shared_ptr<const Generation> generation,
         std::vector<Change> log_changes, std::deque<std::string> buffers,
         std::shared_ptr<std::atomic<int>> live)
      : gen_(std::move(generation)),
        log_(std::move(log_changes)),
        buffers_(std::move(buffers)),
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
    si_ = 0;
    if (scanner_ != nullptr) scanner_->SeekTo(si_);
    have_snap_ = false;
    FindNext();
  }

  void Seek(std::string_view target) override {
    const KeyPrefix prefix = PrefixOf(target);
    li_ = std::lower_bound(log_.begin(), log_.end(), target,
                           [&prefix](const Change& c, std::string_view t) {
                             return CompareKeys(c.prefix, c.key, prefix, t) < 0;
                           }) -
          log_.begin();
    touched_ = li_;
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

  // Positions on the next live entry at or after (li_, si_).
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
      const bool log_left = li_ < log_.size();
      if (!have_snap_ && !log_left) return;
      const int order = log_left && have_snap_
                            ? CompareKeys(log_[li_].prefix, log_[li_].key,
                                          snap_prefix_, snap_.key)
                            : -1;
      if (log_left && order <= 0) {
        TouchAhead(log_, li_, &touched_);
        const Change& change = log_[li_++];
        if (order == 0) {  // The log's is newer.
          have_snap_ = false;
          si_++;
        }
        if (change.value.deleted) continue;
        key_ = change.key;
        value_ = change.value.value;
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
  std::vector<Change> log_;
  // Decompressed batches that entries of log_ point into (a deque moves
  // without moving its elements, so the views stay valid).
  std::deque<std::string> buffers_;
  const std::shared_ptr<std::atomic<int>> live_;
  uint64_t snap_count_ = 0;
  // Reads the snapshot's entry si_ (when snap_count_ > 0).
  std::unique_ptr<snapshot::Scanner> scanner_;
  size_t li_ = 0;
  size_t touched_ = 0;  // log_[li_, touched_) were loaded (TouchAhead).
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

std::unique_ptr<Iterator> NewDBIterator(
    std::shared_ptr<const Generation> generation,
    std::vector<Change> log_changes, std::deque<std::string> buffers,
    std::shared_ptr<std::atomic<int>> live) {
  return std::make_unique<DBIter>(std::move(generation), std::move(log_changes),
                                  std::move(buffers), std::move(live));
}

std::unique_ptr<Iterator> NewErrorIterator(absl::Status status) {
  return std::make_unique<ErrorIterator>(std::move(status));
}

}  // namespace ultradict
