// digest.h: an order-independent fingerprint of a dictionary's contents, to
// check that two machines hold the same data (`ultradict stat --digest`).
//
// XXH3-64 over the pairs in key order (the iterator's order, so the order
// of the writes that made them does not matter), each pair as
// key_length:fixed32 key value_length:fixed32 value. Two dictionaries with
// equal contents have equal digests whatever their history.

#ifndef ULTRADICT_REPLICATION_DIGEST_H_
#define ULTRADICT_REPLICATION_DIGEST_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "ultradict/db.h"

namespace ultradict {
namespace replication {

struct Digest {
  uint64_t hash = 0;
  uint64_t entries = 0;
  uint64_t sequence = 0;  // LatestSequence() when the view was taken.
  std::string Hex() const;
};

// Digest of a point-in-time view of db. Errors: the iterator's (DataLoss).
absl::StatusOr<Digest> ComputeDigest(DB* db);

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_DIGEST_H_
