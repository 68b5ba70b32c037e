// handle_write.cc: Handle's writes (handle.h): each goes through the lock
// this thread holds (d.lock), or takes the write lock itself.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "python/errors.h"
#include "python/handle.h"
#include "python/handle_internal.h"
#include "ultradict/iterator.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace python {

using handle_internal::Bytes;
using handle_internal::View;

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
  InFlight in_flight(this);
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

bool Handle::Delete(py::bytes key) { return !Pop(key).is_none(); }

py::object Handle::Pop(py::bytes key) {
  DB* d = db();
  WriteLock* held = HeldByMe();
  const std::string_view k = View(key);
  std::optional<std::string> old;
  absl::Status s;
  {
    InFlight in_flight(this);
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
      s = d->Update(k,
                    [&old](const std::string_view* current)
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
    InFlight in_flight(this);
    py::gil_scoped_release release;
    if (held != nullptr) {
      s = d->Get(k, &result);
      if (absl::IsNotFound(s)) {
        result.assign(v.data(), v.size());
        s = held->Put(k, v);
      }
    } else {
      s = d->Update(
          k,
          [&](const std::string_view* current) -> std::optional<std::string> {
            result =
                current != nullptr ? std::string(*current) : std::string(v);
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
    InFlight in_flight(this);
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

void Handle::WriteMany(const std::vector<std::pair<py::bytes, py::bytes>>& puts,
                       const std::vector<py::bytes>& deletes) {
  DB* d = db();
  WriteLock* held = HeldByMe();
  WriteBatch batch;
  for (const auto& [k, v] : puts) batch.Put(View(k), View(v));
  for (const auto& k : deletes) batch.Delete(View(k));
  absl::Status s;
  {
    InFlight in_flight(this);
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
    InFlight in_flight(this);
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
  for (const auto& [k, v] : refs)
    out.append(py::make_tuple(Bytes(k), Bytes(v)));
  return out;
}

}  // namespace python
}  // namespace ultradict
