// digest.cc: see digest.h.

#include "replication/digest.h"

#include <xxhash.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "util/coding.h"

namespace ultradict {
namespace replication {

std::string Digest::Hex() const {
  return absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
}

absl::StatusOr<Digest> ComputeDigest(DB* db) {
  Digest d;
  d.sequence = db->LatestSequence();
  std::unique_ptr<Iterator> it = db->NewIterator();
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(
      XXH3_createState(), &XXH3_freeState);
  XXH3_64bits_reset(state.get());
  char len[4];
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key(), value = it->value();
    EncodeFixed32(len, static_cast<uint32_t>(key.size()));
    XXH3_64bits_update(state.get(), len, sizeof(len));
    XXH3_64bits_update(state.get(), key.data(), key.size());
    EncodeFixed32(len, static_cast<uint32_t>(value.size()));
    XXH3_64bits_update(state.get(), len, sizeof(len));
    XXH3_64bits_update(state.get(), value.data(), value.size());
    d.entries++;
  }
  if (!it->status().ok()) return it->status();
  d.hash = XXH3_64bits_digest(state.get());
  return d;
}

}  // namespace replication
}  // namespace ultradict
