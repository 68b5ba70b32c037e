// handle.h: Handle, the C++ object behind ultradict._ultradict.DB: one open
// dictionary, its byte-level operations for the Python layer, and the
// process's held write locks (d.lock).
//
// Keys and values are bytes (the Python layer and typed_codec.h encode).
// Every call that may wait (the write lock, a write that finds the lock
// taken, WaitForChange) runs with the GIL released; everything else in this
// file, reads included (they never wait), runs with the GIL held, which
// also guards the table of held locks.
//
// Held locks are per dictionary and process, not per Handle: while a thread
// holds the write lock of dictionary N (through any Handle of N), every
// write of that thread to N, through any Handle, goes through the held
// lock (DB::LockWrites), and the thread may take it again (a count).
// Other threads' writes wait for it. In a fork child, a lock the parent
// held is forgotten (never released from the child).
//
// In-flight calls: a call that releases the GIL while it uses the DB is
// counted (under the GIL), and close() waits for those in flight, with the
// GIL released, before it closes the DB; from when close() starts, new
// calls raise AlreadyClosedError. Waits that could last (the lock,
// WaitForChange) look every kWaitSliceMs (100 ms) and end with
// AlreadyClosedError; a write waiting for another writer completes first.
//
// A reserved key, kMetaKey, holds the Python layer's settings of the
// dictionary (serializer, recurse, buffer size); keys(), items(), size(),
// popitem() and clear() ignore it.

#ifndef ULTRADICT_PYTHON_HANDLE_H_
#define ULTRADICT_PYTHON_HANDLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "pybind11/pybind11.h"
#include "ultradict/db.h"
#include "ultradict/options.h"

namespace ultradict {
namespace python {

namespace py = pybind11;

// Sorts first; no pickle, marshal or JSON encoding starts with a NUL byte.
inline constexpr std::string_view kMetaKey("\0\0ultradict.python.meta", 24);

class Handle {
 public:
  // Opens the dictionary (DB::Open).
  Handle(const std::string& name, const Options& options);
  ~Handle();
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  std::string name() const;
  const std::string& directory() const { return options_.directory; }
  // True after close().
  bool closed() const { return db_ == nullptr; }
  // Releases this handle's locks and closes the DB (idempotent), after
  // Drain(). FailedPreconditionError when another thread holds the lock
  // through this handle (see CheckClosable).
  void Close();
  // The first half of Close(): releases the lock this thread holds through
  // this handle, refuses new calls (AlreadyClosedError) and waits, with the
  // GIL released, for the calls in flight in other threads. Raises
  // FailedPreconditionError (and refuses nothing) when another thread
  // holds the lock through this handle, or when this thread holds it
  // through another handle while calls are in flight (they may wait for
  // it).
  void Drain();
  // Calls of other threads inside the engine with the GIL released.
  int in_flight() const { return in_flight_; }
  // Raises FailedPreconditionError when another thread holds the
  // dictionary's lock through this handle.
  void CheckClosable();

  // For the C fast paths (fast_dict.h), GIL held: the DB, or nullptr
  // once close() has started.
  DB* raw_db() const { return closing_ ? nullptr : db_.get(); }
  // Stores key -> *value, or removes key when value is nullptr (then
  // *existed tells whether it was there). Keeps the GIL when the write
  // cannot wait: this thread holds the lock (d.lock), or the lock is free
  // now (a try-lock, DB::LockWrites(0)); releases it only to wait for
  // another writer, who may be a thread of this process that needs the GIL
  // to release d.lock. The handle must be open.
  absl::Status WriteOne(std::string_view key, const std::string_view* value,
                        bool* existed);

  // Bytes API; the Python layer passes bytes and gets bytes or None.
  py::object Get(py::bytes key);
  bool Contains(py::bytes key);
  void Put(py::bytes key, py::bytes value);
  // Removes key; whether it was present.
  bool Delete(py::bytes key);
  // Removes key and returns its value, or None when absent.
  py::object Pop(py::bytes key);
  // The value of key, after storing value there if absent.
  py::bytes SetDefault(py::bytes key, py::bytes value);
  // Removes and returns the last (key, value) in key order; None if empty.
  py::object PopItem();
  // Applies puts then deletes atomically.
  void WriteMany(const std::vector<std::pair<py::bytes, py::bytes>>& puts,
                 const std::vector<py::bytes>& deletes);
  // Removes every entry but kMetaKey atomically; returns the removed
  // (key, value) pairs whose value starts with prefix (nested references).
  py::list Clear(py::bytes prefix);
  // Point-in-time lists in key order, without kMetaKey.
  py::list Keys();
  py::list Items();
  size_t Size();

  // The write lock (see the file comment). timeout_ms < 0: no limit. False
  // on timeout. Interruptible (KeyboardInterrupt) while waiting.
  bool Lock(int64_t timeout_ms);
  // Releases one level; FailedPreconditionError when this thread does not
  // hold the lock.
  void Unlock();
  // Whether this thread holds the dictionary's write lock (any Handle).
  bool LockedByMe();
  // Levels this thread holds (0 when none).
  int LockDepth();

  uint64_t LatestSequence();
  uint64_t WaitForChange(uint64_t since, int64_t timeout_ms);
  // The updates committed after sequence `since` (DB::ReadChanges), in
  // order: (sequence reached, [(key, value or None for a delete)]), without
  // kMetaKey. OutOfRange (ValueError) when some were already folded into a
  // snapshot.
  py::tuple ReadChanges(uint64_t since);
  // A DB property, or None when unknown.
  py::object Property(const std::string& property);
  void Compact();

 private:
  // Counts a call in flight from construction to destruction: construct
  // it before releasing the GIL and let it go after taking it back.
  class InFlight {
   public:
    explicit InFlight(Handle* handle) : handle_(handle) {
      handle_->in_flight_++;
    }
    ~InFlight() { handle_->in_flight_--; }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    Handle* handle_;
  };

  DB* db();  // Raises AlreadyClosedError once Close() has started.
  // The lock this thread holds on the dictionary, or nullptr.
  WriteLock* HeldByMe();

  Options options_;
  std::string lock_key_;  // Directory and name: the held-lock table's key.
  std::unique_ptr<DB> db_;
  int in_flight_ = 0;     // Guarded by the GIL.
  bool closing_ = false;  // Guarded by the GIL; set by Drain().
};

// Options from the module's arguments (lifetime and compression are the
// enums' values); raises ValueError for values the enums or mode_t cannot
// hold. DB::Open validates the rest.
Options MakeOptions(bool create_if_missing, bool error_if_exists, int lifetime,
                    size_t log_size, const std::string& directory,
                    int compression, size_t compression_threshold, int mode,
                    bool allow_other_owner, int64_t write_lock_timeout_ms,
                    bool background_compaction);

// Removes the dictionary `name` (DB::DestroyDB); raises on error
// (NotFoundError when missing).
void Destroy(const std::string& name, const std::string& directory);
// Names of the dictionaries in directory (DB::ListDBs).
std::vector<std::string> List(const std::string& directory);

}  // namespace python
}  // namespace ultradict

#endif  // ULTRADICT_PYTHON_HANDLE_H_
