// write_batch_internal.h: access to a WriteBatch's encoding for the engine.
//
// Encoding (the payload of every log record, frozen):
//   batch := count: varint32, entry{count}
//   entry := tag: uint8 (1 = put, 2 = delete), key: varint32 length + bytes,
//            [value: varint32 length + bytes]   (put only)

#ifndef ULTRADICT_DB_WRITE_BATCH_INTERNAL_H_
#define ULTRADICT_DB_WRITE_BATCH_INTERNAL_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ultradict/write_batch.h"

namespace ultradict {

enum class BatchTag : uint8_t { kPut = 1, kDelete = 2 };

class WriteBatchInternal {
 public:
  static std::string_view Contents(const WriteBatch& batch) {
    return batch.rep_;
  }
  // Calls handler for each entry of an encoded batch; DataLoss on damage.
  static absl::Status Iterate(std::string_view rep,
                              WriteBatch::Handler* handler);
  // Number of entries claimed by an encoded batch (0 when damaged).
  static uint32_t Count(std::string_view rep);
};

}  // namespace ultradict

#endif  // ULTRADICT_DB_WRITE_BATCH_INTERNAL_H_
