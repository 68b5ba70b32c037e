// checksum.cc: see checksum.h.

#include "util/checksum.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ultradict {

uint64_t Hash64(const void* data, size_t size) {
  return XXH3_64bits(data, size);
}

struct ChecksumStream::State {
  XXH3_state_t xxh3;
};

ChecksumStream::ChecksumStream() : state_(new State) {
  XXH3_64bits_reset(&state_->xxh3);
}

ChecksumStream::~ChecksumStream() = default;

void ChecksumStream::Update(const void* data, size_t size) {
  XXH3_64bits_update(&state_->xxh3, data, size);
}

uint32_t ChecksumStream::Checksum32() const {
  return static_cast<uint32_t>(XXH3_64bits_digest(&state_->xxh3));
}

}  // namespace ultradict
