// checksum.h: xxHash (XXH3) checksums and hashes. Nothing here knows the DB.

#ifndef ULTRADICT_UTIL_CHECKSUM_H_
#define ULTRADICT_UTIL_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace ultradict {

// 64-bit XXH3 of the bytes.
uint64_t Hash64(const void* data, size_t size);
inline uint64_t Hash64(std::string_view s) { return Hash64(s.data(), s.size()); }

// The checksum stored in headers and records: the low 32 bits of XXH3-64.
inline uint32_t Checksum32(const void* data, size_t size) {
  return static_cast<uint32_t>(Hash64(data, size));
}
inline uint32_t Checksum32(std::string_view s) {
  return Checksum32(s.data(), s.size());
}

// SipHash-2-4 of the bytes under the 128-bit key (k0, k1): a keyed
// pseudo-random function (Aumasson and Bernstein, 2012). Unlike XXH3 it is
// made for outputs that others see while the key stays secret: seeing
// some of them tells nothing about the others. k0 and k1 are the key's
// bytes 0..7 and 8..15 read little-endian.
uint64_t SipHash24(uint64_t k0, uint64_t k1, const void* data, size_t size);

// Checksum32 of bytes given piece by piece: the same value as Checksum32 of
// their concatenation.
class ChecksumStream {
 public:
  ChecksumStream();
  ~ChecksumStream();
  ChecksumStream(const ChecksumStream&) = delete;
  ChecksumStream& operator=(const ChecksumStream&) = delete;

  void Update(const void* data, size_t size);
  uint32_t Checksum32() const;

 private:
  struct State;  // XXH3's streaming state.
  std::unique_ptr<State> state_;
};

}  // namespace ultradict

#endif  // ULTRADICT_UTIL_CHECKSUM_H_
