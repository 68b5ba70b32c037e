// write_batch.h: a group of updates applied atomically.
//
//   ultradict::WriteBatch batch;
//   batch.Delete("key1");
//   batch.Put("key2", value);
//   absl::Status s = db->Write(batch);
//
// Updates apply in the order they were added: after the Write above, "key2"
// holds `value` even if it was also "key1". Every process sees either none or
// all of a batch. A WriteBatch is not thread-safe; guard it if shared.

#ifndef ULTRADICT_INCLUDE_WRITE_BATCH_H_
#define ULTRADICT_INCLUDE_WRITE_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ultradict {

class WriteBatch {
 public:
  // Receives the updates of a batch, in order (see Iterate).
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void Put(std::string_view key, std::string_view value) = 0;
    virtual void Delete(std::string_view key) = 0;
    // Called after the last update of each batch (by DB::ReadChanges: of
    // each committed record, so a handler can tell commits apart, e.g. to
    // replicate each as one unit). Not called for a damaged batch. Default:
    // nothing.
    virtual void EndOfBatch() {}
  };

  WriteBatch();
  WriteBatch(const WriteBatch&) = default;
  WriteBatch& operator=(const WriteBatch&) = default;
  ~WriteBatch() = default;

  // Stores key -> value when the batch is written.
  void Put(std::string_view key, std::string_view value);

  // Removes key when the batch is written (no error if it is absent).
  void Delete(std::string_view key);

  // Removes every update from the batch.
  void Clear();

  // Number of updates in the batch.
  uint32_t Count() const;

  // Bytes of the batch's encoding (about the bytes it takes in the log).
  size_t ApproximateSize() const { return rep_.size(); }

  // Makes room for `bytes` bytes of encoding (see ApproximateSize) before
  // a large batch is built, so that it is not copied as it grows. A hint:
  // the batch grows past it as needed.
  void Reserve(size_t bytes) { rep_.reserve(bytes); }

  // Calls handler for each update, in order. Returns DataLoss if the
  // encoding is damaged (only possible for batches decoded from a log).
  absl::Status Iterate(Handler* handler) const;

 private:
  friend class WriteBatchInternal;
  std::string rep_;  // See db/write_batch.cc for the format.
};

}  // namespace ultradict

#endif  // ULTRADICT_INCLUDE_WRITE_BATCH_H_
