// transaction.cc: writes that read first, under the write lock: Update
// (read-modify-write of one key), Transact (a transaction over several),
// and LockWrites (the write lock held across calls). See db_impl.h.

#include <map>
#include <optional>
#include <string>

#include "db/db_impl.h"
#include "db/write_batch_internal.h"

namespace ultradict {

absl::Status DBImpl::Update(
    std::string_view key,
    absl::FunctionRef<std::optional<std::string>(const std::string_view*)> fn) {
  absl::Status s = WriteBatchInternal::CheckSizes(key, {});
  if (!s.ok()) return s;
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  std::optional<std::string> current;
  {
    port::WriterMutexLock l(&mu_);
    s = RefreshLocked();
    if (!s.ok()) return s;
    std::string scratch;
    std::string_view v;
    s = current_->Lookup(
        key, &scratch, &v,
        control::HeadOffset(block_.head().load(std::memory_order_acquire)));
    if (s.ok()) {
      current.emplace(v);
    } else if (!absl::IsNotFound(s)) {
      return s;
    }
  }
  std::string_view current_view;
  if (current.has_value()) current_view = *current;
  std::optional<std::string> next =
      fn(current.has_value() ? &current_view : nullptr);
  WriteBatch batch;
  if (next.has_value()) {
    s = WriteBatchInternal::CheckSizes(key, *next);
    if (!s.ok()) return s;
    batch.Put(key, *next);
  } else {
    if (!current.has_value()) return absl::OkStatus();  // Nothing to do.
    batch.Delete(key);
  }
  return CommitAsWriter(WriteBatchInternal::Contents(batch));
}

// A transaction's view: its own writes over the DB (whose head cannot move
// while the write lock is held).
class TransactionImpl : public Transaction {
 public:
  explicit TransactionImpl(DBImpl* db) : db_(db) {}

  absl::Status Get(std::string_view key, std::string* value) override {
    auto it = writes_.find(std::string(key));
    if (it != writes_.end()) {
      if (!it->second.has_value()) return absl::NotFoundError("key not found");
      *value = *it->second;
      return absl::OkStatus();
    }
    // The write lock is held (Transact): the head cannot move.
    port::ReaderMutexLock l(&db_->mu_);
    std::string scratch;
    std::string_view v;
    absl::Status s = db_->current_->Lookup(
        key, &scratch, &v,
        control::HeadOffset(db_->block_.head().load(std::memory_order_acquire)));
    if (absl::IsNotFound(s)) return absl::NotFoundError("key not found");
    if (s.ok()) value->assign(v.data(), v.size());
    return s;
  }
  void Put(std::string_view key, std::string_view value) override {
    if (!WriteBatchInternal::CheckSizes(key, value).ok() && status_.ok()) {
      status_ = WriteBatchInternal::CheckSizes(key, value);
    }
    writes_[std::string(key)] = std::string(value);
    batch_.Put(key, value);
  }
  void Delete(std::string_view key) override {
    if (!WriteBatchInternal::CheckSizes(key, {}).ok() && status_.ok())
      status_ = WriteBatchInternal::CheckSizes(key, {});
    writes_[std::string(key)] = std::nullopt;
    batch_.Delete(key);
  }

  const WriteBatch& batch() const { return batch_; }
  const absl::Status& status() const { return status_; }

 private:
  DBImpl* db_;
  std::map<std::string, std::optional<std::string>> writes_;
  WriteBatch batch_;
  absl::Status status_;
};

absl::Status DBImpl::Transact(
    absl::FunctionRef<absl::Status(Transaction&)> fn) {
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  {
    port::WriterMutexLock l(&mu_);
    absl::Status s = RefreshLocked();
    if (!s.ok()) return s;
  }
  TransactionImpl txn(this);
  absl::Status s = fn(txn);
  if (!s.ok()) return s;
  if (!txn.status().ok()) return txn.status();
  if (txn.batch().Count() == 0) return absl::OkStatus();
  return CommitAsWriter(WriteBatchInternal::Contents(txn.batch()));
}

// A held write lock (DB::LockWrites). Commits inline, like Update and
// Transact: a full log is compacted by this writer rather than waited for.
class WriteLockImpl : public WriteLock {
 public:
  // db's write lock is held (LockWriter succeeded).
  explicit WriteLockImpl(DBImpl* db) : db_(db), pid_(port::CurrentPid()) {}
  ~WriteLockImpl() override ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (port::CurrentPid() == pid_) db_->UnlockWriter();
  }

  absl::Status Put(std::string_view key, std::string_view value) override {
    return PutOrDelete(key, &value);
  }
  absl::Status Delete(std::string_view key) override {
    return PutOrDelete(key, nullptr);
  }
  absl::Status Write(const WriteBatch& batch) override {
    absl::Status s = CheckHolder();
    if (!s.ok()) return s;
    const std::string_view rep = WriteBatchInternal::Contents(batch);
    uint32_t count = 0;
    s = db_->CheckBatch(rep, &count);
    if (!s.ok() || count == 0) return s;
    db_->writer_.AssertHeld();
    return db_->CommitAsWriter(rep);
  }

 private:
  absl::Status PutOrDelete(std::string_view key,
                           const std::string_view* value) {
    absl::Status s = CheckHolder();
    if (!s.ok()) return s;
    DBImpl::OneEntryBatch batch;
    s = db_->EncodeOne(key, value, &batch);
    if (!s.ok()) return s;
    db_->writer_.AssertHeld();
    return db_->CommitAsWriter(batch.rep(), batch.single());
  }
  absl::Status CheckHolder() const {
    if (port::CurrentPid() == pid_) return absl::OkStatus();
    return absl::FailedPreconditionError(
        "the write lock is held by the parent process (WriteLock used in a "
        "fork child)");
  }

  DBImpl* const db_;
  const int32_t pid_;
};

absl::StatusOr<std::unique_ptr<WriteLock>> DBImpl::LockWrites(
    int64_t timeout_ms) {
  if (timeout_ms < 0) {
    return absl::InvalidArgumentError("LockWrites: negative timeout");
  }
  absl::Status s = LockWriter(timeout_ms);
  if (!s.ok()) return s;
  return std::unique_ptr<WriteLock>(new WriteLockImpl(this));
}

}  // namespace ultradict
