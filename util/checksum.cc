// checksum.cc: see checksum.h.

#include "util/checksum.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ultradict {

uint64_t Hash64(const void* data, size_t size) {
  return XXH3_64bits(data, size);
}

uint32_t Checksum32(std::string_view a, std::string_view b) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, a.data(), a.size());
  XXH3_64bits_update(&state, b.data(), b.size());
  return static_cast<uint32_t>(XXH3_64bits_digest(&state));
}

}  // namespace ultradict
