// checksum.cc: see checksum.h.

#include "util/checksum.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ultradict {

uint64_t Hash64(const void* data, size_t size) {
  return XXH3_64bits(data, size);
}

namespace {

inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline void SipRound(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = Rotl(v1, 13);
  v1 ^= v0;
  v0 = Rotl(v0, 32);
  v2 += v3;
  v3 = Rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = Rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = Rotl(v1, 17);
  v1 ^= v2;
  v2 = Rotl(v2, 32);
}

inline uint64_t Load64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

}  // namespace

uint64_t SipHash24(uint64_t k0, uint64_t k1, const void* data, size_t size) {
  const unsigned char* in = static_cast<const unsigned char*>(data);
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
  uint64_t v3 = 0x7465646279746573ULL ^ k1;
  const size_t full = size - size % 8;
  for (size_t i = 0; i < full; i += 8) {
    const uint64_t m = Load64(in + i);
    v3 ^= m;
    SipRound(v0, v1, v2, v3);
    SipRound(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t last = static_cast<uint64_t>(size) << 56;
  for (size_t i = full; i < size; i++) {
    last |= static_cast<uint64_t>(in[i]) << (8 * (i - full));
  }
  v3 ^= last;
  SipRound(v0, v1, v2, v3);
  SipRound(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 4; i++) SipRound(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
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
