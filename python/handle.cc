// handle.cc: Handle's life (open, close), reads, change feed and
// properties, and the module's functions (options, destroy, list). Writes
// are in handle_write.cc, the lock in handle_lock.cc.

#include "python/handle.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "python/errors.h"
#include "python/handle_internal.h"
#include "ultradict/iterator.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace python {

using handle_internal::Bytes;
using handle_internal::FindHeld;
using handle_internal::Held;
using handle_internal::HeldLocks;
using handle_internal::kWaitSliceMs;
using handle_internal::View;

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
  Drain();
  if (db_ == nullptr) return;  // Closed by another thread meanwhile.
  std::unique_ptr<DB> db = std::move(db_);
  py::gil_scoped_release release;
  db.reset();
}

void Handle::Drain() {
  if (db_ == nullptr) return;
  CheckClosable();
  Held* held = FindHeld(lock_key_);
  if (held != nullptr && held->owner == this) {
    held->lock.reset();  // Released before its DB goes.
    HeldLocks().erase(lock_key_);
    held = nullptr;
  }
  if (held != nullptr && held->thread == std::this_thread::get_id() &&
      in_flight_ > 0) {
    Raise(absl::FailedPreconditionError(
        "close() while this thread holds the dictionary's lock (through "
        "another UltraDict) and other threads' calls may wait for it"));
  }
  closing_ = true;
  while (in_flight_ > 0) {  // Each needs the GIL to leave.
    py::gil_scoped_release release;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

DB* Handle::db() {
  if (db_ == nullptr || closing_) {
    PyErr_SetString(Errors().already_closed, "the UltraDict was closed");
    throw py::error_already_set();
  }
  return db_.get();
}

std::string Handle::name() const {
  return db_ == nullptr ? lock_key_.substr(lock_key_.rfind('/') + 1)
                        : db_->name();
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

uint64_t Handle::LatestSequence() { return db()->LatestSequence(); }

uint64_t Handle::WaitForChange(uint64_t since, int64_t timeout_ms) {
  DB* d = db();
  const int64_t kForever = std::numeric_limits<int64_t>::max();
  int64_t left = timeout_ms < 0 ? kForever : timeout_ms;
  for (;;) {
    const int64_t slice = std::min(left, kWaitSliceMs);
    uint64_t seq;
    {
      InFlight in_flight(this);
      py::gil_scoped_release release;
      seq = d->WaitForChange(since, slice);
    }
    if (closing_) db();  // close() waits for us: raises AlreadyClosed.
    if (seq > since) return seq;
    if (left != kForever) left -= slice;
    if (left <= 0) return seq;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
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
    InFlight in_flight(this);
    py::gil_scoped_release release;
    reached = d->ReadChanges(since, &collector);
  }
  Check(reached.status());
  py::list out;
  for (const auto& [key, value] : collector.changes) {
    out.append(py::make_tuple(Bytes(key), value.has_value()
                                              ? py::object(Bytes(*value))
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
    InFlight in_flight(this);
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
