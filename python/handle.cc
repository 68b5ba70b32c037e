#include "python/handle.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "python/errors.h"
#include "ultradict/iterator.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace python {
namespace {

// A write lock held by a thread of this process (guarded by the GIL).
struct Held {
  std::unique_ptr<WriteLock> lock;
  const Handle* owner = nullptr;  // Whose DB the lock was taken through.
  std::thread::id thread;
  pid_t pid = 0;
  int depth = 0;
};

// This process's id, cached (getpid() is a system call): reset in a fork
// child by a pthread_atfork handler.
pid_t g_pid = 0;
pid_t Pid() {
  static const bool registered = [] {
    g_pid = getpid();
    pthread_atfork(nullptr, nullptr, [] { g_pid = getpid(); });
    return true;
  }();
  (void)registered;
  return g_pid;
}

// Lock key -> the held lock. Leaked: never destroyed at exit.
std::map<std::string, Held>& HeldLocks() {
  static auto* held = new std::map<std::string, Held>();
  return *held;
}

// The entry of key if it belongs to this process (a fork child forgets its
// parent's, without releasing them), else nullptr.
Held* FindHeld(const std::string& key) {
  auto& table = HeldLocks();
  if (table.empty()) return nullptr;
  auto it = table.find(key);
  if (it == table.end()) return nullptr;
  if (it->second.pid != Pid()) {
    it->second.lock.reset();  // Releases nothing in a child (db.h).
    table.erase(it);
    return nullptr;
  }
  return &it->second;
}

std::string_view View(const py::bytes& b) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(b.ptr(), &data, &size) != 0) {
    throw py::error_already_set();
  }
  return std::string_view(data, static_cast<size_t>(size));
}

py::bytes Bytes(std::string_view s) { return py::bytes(s.data(), s.size()); }

// How long one wait for the lock lasts before Python signals are checked.
constexpr int64_t kLockSliceMs = 100;

}  // namespace

Handle::Handle(const std::string& name, const Options& options)
    : options_(options) {
  absl::StatusOr<std::unique_ptr<DB>> db;
  {
    py::gil_scoped_release release;
    db = DB::Open(options_, name);
  }
  Check(db.status());
  db_ = std::move(*db);
  lock_key_ = options_.directory + "/" + db_->name();
}

Options MakeOptions(bool create_if_missing, bool error_if_exists, int lifetime,
                    size_t log_size, const std::string& directory,
                    int compression, size_t compression_threshold, int mode,
                    bool allow_other_owner, int64_t write_lock_timeout_ms,
                    bool background_compaction) {
  // Enum and mode values the casts below would wrap; DB::Open checks the
  // rest (sizes, mode bits, timeout) and names the field.
  if (lifetime < 0 || lifetime > 2) {
    Raise(absl::InvalidArgumentError("unknown lifetime " +
                                     std::to_string(lifetime)));
  }
  if (compression < 0 || compression > 1) {
    Raise(absl::InvalidArgumentError("unknown compression " +
                                     std::to_string(compression)));
  }
  if (mode < 0 || mode > 07777) {
    Raise(absl::InvalidArgumentError("mode out of range"));
  }
  Options options;
  options.create_if_missing = create_if_missing;
  options.error_if_exists = error_if_exists;
  options.lifetime = static_cast<Lifetime>(lifetime);
  options.log_size = log_size;
  options.directory = directory;
  options.compression = static_cast<Compression>(compression);
  options.compression_threshold = compression_threshold;
  options.mode = static_cast<mode_t>(mode);
  options.allow_other_owner = allow_other_owner;
  options.write_lock_timeout_ms = write_lock_timeout_ms;
  options.background_compaction = background_compaction;
  return options;
}

Handle::~Handle() { Close(); }

void Handle::Close() {
  if (db_ == nullptr) return;
  CheckClosable();
  Held* held = FindHeld(lock_key_);
  if (held != nullptr && held->owner == this) {
    held->lock.reset();  // Released before its DB goes.
    HeldLocks().erase(lock_key_);
  }
  std::unique_ptr<DB> db = std::move(db_);
  py::gil_scoped_release release;
  db.reset();
}

void Handle::CheckClosable() {
  Held* held = FindHeld(lock_key_);
  if (held != nullptr && held->owner == this &&
      held->thread != std::this_thread::get_id()) {
    // Only the holder may release it (a robust mutex); its DB must live.
    Raise(absl::FailedPreconditionError(
        "close() while another thread holds this UltraDict's lock"));
  }
}

DB* Handle::db() {
  if (db_ == nullptr) {
    PyErr_SetString(Errors().already_closed, "the UltraDict was closed");
    throw py::error_already_set();
  }
  return db_.get();
}

std::string Handle::name() const {
  return db_ == nullptr ? lock_key_.substr(lock_key_.rfind('/') + 1)
                        : db_->name();
}

WriteLock* Handle::HeldByMe() {
  Held* held = FindHeld(lock_key_);
  if (held == nullptr || held->thread != std::this_thread::get_id()) {
    return nullptr;
  }
  return held->lock.get();
}

py::object Handle::Get(py::bytes key) {
  DB* d = db();
  std::string value;
  absl::Status s = d->Get(View(key), &value);
  if (absl::IsNotFound(s)) return py::none();
  Check(s);
  return Bytes(value);
}

bool Handle::Contains(py::bytes key) {
  DB* d = db();
  PinnableValue pinned;
  absl::Status s = d->GetPinned(View(key), &pinned);
  if (absl::IsNotFound(s)) return false;
  Check(s);
  return true;
}

void Handle::Put(py::bytes key, py::bytes value) {
  db();
  const std::string_view v = View(value);
  Check(WriteOne(View(key), &v, nullptr));
}

absl::Status Handle::WriteOne(std::string_view key,
                              const std::string_view* value, bool* existed) {
  DB* d = db_.get();
  // The write through a lock this thread holds: it cannot wait.
  auto under = [&](WriteLock* lock) -> absl::Status {
    if (value != nullptr) return lock->Put(key, *value);
    PinnableValue pinned;
    absl::Status s = d->GetPinned(key, &pinned);
    *existed = s.ok();
    if (absl::IsNotFound(s)) return absl::OkStatus();
    if (!s.ok()) return s;
    return lock->Delete(key);
  };
  if (WriteLock* held = HeldByMe()) return under(held);
  {
    absl::StatusOr<std::unique_ptr<WriteLock>> lock = d->LockWrites(0);
    if (lock.ok()) return under(lock->get());  // Released on return.
    if (!absl::IsDeadlineExceeded(lock.status())) return lock.status();
  }
  // Another writer holds the lock: wait for it without the GIL.
  py::gil_scoped_release release;
  if (value != nullptr) return d->Put(key, *value);
  bool found = false;
  absl::Status s = d->Update(
      key,
      [&found](const std::string_view* current) -> std::optional<std::string> {
        found = current != nullptr;
        return std::nullopt;
      });
  *existed = found;
  return s;
}

bool Handle::Delete(py::bytes key) {
  return !Pop(key).is_none();
}

py::object Handle::Pop(py::bytes key) {
  DB* d = db();
  WriteLock* held = HeldByMe();
  const std::string_view k = View(key);
  std::optional<std::string> old;
  absl::Status s;
  {
    py::gil_scoped_release release;
    if (held != nullptr) {  // Nobody else writes: read, then delete.
      std::string value;
      s = d->Get(k, &value);
      if (s.ok()) {
        old = std::move(value);
        s = held->Delete(k);
      } else if (absl::IsNotFound(s)) {
        s = absl::OkStatus();
      }
    } else {
      s = d->Update(k, [&old](const std::string_view* current)
                           -> std::optional<std::string> {
        if (current != nullptr) old.emplace(*current);
        return std::nullopt;
      });
    }
  }
  Check(s);
  if (!old.has_value()) return py::none();
  return Bytes(*old);
}

py::bytes Handle::SetDefault(py::bytes key, py::bytes value) {
  DB* d = db();
  WriteLock* held = HeldByMe();
  const std::string_view k = View(key), v = View(value);
  std::string result;
  absl::Status s;
  {
    py::gil_scoped_release release;
    if (held != nullptr) {
      s = d->Get(k, &result);
      if (absl::IsNotFound(s)) {
        result.assign(v.data(), v.size());
        s = held->Put(k, v);
      }
    } else {
      s = d->Update(k, [&](const std::string_view* current)
                           -> std::optional<std::string> {
        result = current != nullptr ? std::string(*current) : std::string(v);
        return result;
      });
    }
  }
  Check(s);
  return Bytes(result);
}

py::object Handle::PopItem() {
  DB* d = db();
  WriteLock* held = HeldByMe();
  std::optional<std::pair<std::string, std::string>> item;
  absl::Status s;
  {
    py::gil_scoped_release release;
    // The last entry of a point-in-time view, skipping kMetaKey.
    auto last = [d](std::optional<std::pair<std::string, std::string>>* out) {
      std::unique_ptr<Iterator> it = d->NewIterator();
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->key() == kMetaKey) continue;
        out->emplace(std::string(it->key()), std::string(it->value()));
      }
      return it->status();
    };
    if (held != nullptr) {
      s = last(&item);
      if (s.ok() && item.has_value()) s = held->Delete(item->first);
    } else {
      // Under the write lock: nobody commits between the read and delete.
      s = d->Transact([&](Transaction& txn) -> absl::Status {
        absl::Status st = last(&item);
        if (st.ok() && item.has_value()) txn.Delete(item->first);
        return st;
      });
    }
  }
  Check(s);
  if (!item.has_value()) return py::none();
  return py::make_tuple(Bytes(item->first), Bytes(item->second));
}

void Handle::WriteMany(
    const std::vector<std::pair<py::bytes, py::bytes>>& puts,
    const std::vector<py::bytes>& deletes) {
  DB* d = db();
  WriteLock* held = HeldByMe();
  WriteBatch batch;
  for (const auto& [k, v] : puts) batch.Put(View(k), View(v));
  for (const auto& k : deletes) batch.Delete(View(k));
  absl::Status s;
  {
    py::gil_scoped_release release;
    s = held != nullptr ? held->Write(batch) : d->Write(batch);
  }
  Check(s);
}

py::list Handle::Clear(py::bytes prefix) {
  DB* d = db();
  WriteLock* held = HeldByMe();
  const std::string_view p = View(prefix);
  std::vector<std::pair<std::string, std::string>> refs;
  absl::Status s;
  {
    py::gil_scoped_release release;
    // Deletes everything but kMetaKey into batch, collecting references.
    auto collect = [&](WriteBatch* batch) {
      std::unique_ptr<Iterator> it = d->NewIterator();
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->key() == kMetaKey) continue;
        batch->Delete(it->key());
        if (!p.empty() && it->value().substr(0, p.size()) == p) {
          refs.emplace_back(std::string(it->key()), std::string(it->value()));
        }
      }
      return it->status();
    };
    WriteBatch batch;
    if (held != nullptr) {
      s = collect(&batch);
      if (s.ok()) s = held->Write(batch);
    } else {
      s = d->Transact([&](Transaction& txn) -> absl::Status {
        absl::Status st = collect(&batch);
        if (!st.ok()) return st;
        struct Deleter : WriteBatch::Handler {
          Transaction* txn;
          void Put(std::string_view, std::string_view) override {}
          void Delete(std::string_view key) override { txn->Delete(key); }
        } deleter;
        deleter.txn = &txn;
        return batch.Iterate(&deleter);
      });
    }
  }
  Check(s);
  py::list out;
  for (const auto& [k, v] : refs) out.append(py::make_tuple(Bytes(k), Bytes(v)));
  return out;
}

py::list Handle::Keys() {
  DB* d = db();
  py::list out;
  std::unique_ptr<Iterator> it = d->NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key() == kMetaKey) continue;
    out.append(Bytes(it->key()));
  }
  Check(it->status());
  return out;
}

py::list Handle::Items() {
  DB* d = db();
  py::list out;
  std::unique_ptr<Iterator> it = d->NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key() == kMetaKey) continue;
    out.append(py::make_tuple(Bytes(it->key()), Bytes(it->value())));
  }
  Check(it->status());
  return out;
}

size_t Handle::Size() {
  DB* d = db();
  std::string value;
  if (!d->GetProperty("ultradict.num-entries", &value)) return 0;
  size_t n = static_cast<size_t>(std::strtoull(value.c_str(), nullptr, 10));
  PinnableValue pinned;
  if (n > 0 && d->GetPinned(kMetaKey, &pinned).ok()) n--;
  return n;
}

bool Handle::Lock(int64_t timeout_ms) {
  DB* d = db();
  Held* held = FindHeld(lock_key_);
  if (held != nullptr && held->thread == std::this_thread::get_id()) {
    held->depth++;
    return true;
  }
  const int64_t kForever = std::numeric_limits<int64_t>::max();
  int64_t left = timeout_ms < 0 ? kForever : timeout_ms;
  for (;;) {
    const int64_t slice = std::min(left, kLockSliceMs);
    absl::StatusOr<std::unique_ptr<WriteLock>> lock;
    {
      py::gil_scoped_release release;
      lock = d->LockWrites(slice);
    }
    if (lock.ok()) {
      Held& entry = HeldLocks()[lock_key_];
      // An entry left means its thread ended holding the lock (the mutex
      // came to us as its owner died): forget it, never release it.
      (void)entry.lock.release();
      entry.lock = std::move(*lock);
      entry.owner = this;
      entry.thread = std::this_thread::get_id();
      entry.pid = Pid();
      entry.depth = 1;
      return true;
    }
    if (!absl::IsDeadlineExceeded(lock.status())) Raise(lock.status());
    if (left != kForever) left -= slice;
    if (left <= 0) return false;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (db_ == nullptr) db();  // Closed by another thread meanwhile.
  }
}

void Handle::Unlock() {
  Held* held = FindHeld(lock_key_);
  if (held == nullptr || held->thread != std::this_thread::get_id()) {
    Raise(absl::FailedPreconditionError(
        "release of a lock this thread does not hold"));
  }
  if (--held->depth > 0) return;
  std::unique_ptr<WriteLock> lock = std::move(held->lock);
  HeldLocks().erase(lock_key_);
  lock.reset();  // Cheap (a mutex unlock): the GIL stays held.
}

bool Handle::LockedByMe() { return HeldByMe() != nullptr; }

int Handle::LockDepth() {
  Held* held = FindHeld(lock_key_);
  if (held == nullptr || held->thread != std::this_thread::get_id()) return 0;
  return held->depth;
}

uint64_t Handle::LatestSequence() { return db()->LatestSequence(); }

uint64_t Handle::WaitForChange(uint64_t since, int64_t timeout_ms) {
  DB* d = db();
  const int64_t kForever = std::numeric_limits<int64_t>::max();
  int64_t left = timeout_ms < 0 ? kForever : timeout_ms;
  for (;;) {
    const int64_t slice = std::min(left, kLockSliceMs);
    uint64_t seq;
    {
      py::gil_scoped_release release;
      seq = d->WaitForChange(since, slice);
    }
    if (seq > since) return seq;
    if (left != kForever) left -= slice;
    if (left <= 0) return seq;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (db_ == nullptr) db();
  }
}

py::tuple Handle::ReadChanges(uint64_t since) {
  DB* d = db();
  struct Collector : WriteBatch::Handler {
    std::vector<std::pair<std::string, std::optional<std::string>>> changes;
    void Put(std::string_view key, std::string_view value) override {
      if (key != kMetaKey) changes.emplace_back(key, std::string(value));
    }
    void Delete(std::string_view key) override {
      if (key != kMetaKey) changes.emplace_back(key, std::nullopt);
    }
  } collector;
  absl::StatusOr<uint64_t> reached;
  {
    py::gil_scoped_release release;
    reached = d->ReadChanges(since, &collector);
  }
  Check(reached.status());
  py::list out;
  for (const auto& [key, value] : collector.changes) {
    out.append(py::make_tuple(
        Bytes(key), value.has_value() ? py::object(Bytes(*value))
                                      : py::object(py::none())));
  }
  return py::make_tuple(*reached, out);
}

py::object Handle::Property(const std::string& property) {
  std::string value;
  if (!db()->GetProperty(property, &value)) return py::none();
  return py::str(value);
}

void Handle::Compact() {
  DB* d = db();
  WriteLock* held = HeldByMe();
  if (held != nullptr) {
    Raise(absl::FailedPreconditionError(
        "compact() while holding the lock; release it first"));
  }
  absl::Status s;
  {
    py::gil_scoped_release release;
    s = d->CompactLog();
  }
  Check(s);
}

void Destroy(const std::string& name, const std::string& directory) {
  Options options;
  options.directory = directory;
  absl::Status s;
  {
    py::gil_scoped_release release;
    s = DestroyDB(name, options);
  }
  Check(s);
}

std::vector<std::string> List(const std::string& directory) {
  Options options;
  options.directory = directory;
  absl::StatusOr<std::vector<std::string>> names = ListDBs(options);
  Check(names.status());
  return std::move(*names);
}

}  // namespace python
}  // namespace ultradict
