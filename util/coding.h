// coding.h: fixed-width and varint encodings used by every UltraDict format.
//
// Byte order: fixed-width integers are little-endian. Varints are LEB128
// (7 bits per byte, low bits first, at most 5 bytes for 32 bits and 10 for 64
// bits). Every decoder is bounded by its input and returns false (or
// nullptr) instead of reading past the end. Nothing here knows the DB.

#ifndef ULTRADICT_UTIL_CODING_H_
#define ULTRADICT_UTIL_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ultradict {

void PutFixed32(std::string* dst, uint32_t value);
void PutFixed64(std::string* dst, uint64_t value);
void PutVarint32(std::string* dst, uint32_t value);
void PutVarint64(std::string* dst, uint64_t value);
// A varint32 length followed by the bytes.
void PutLengthPrefixed(std::string* dst, std::string_view value);

// Bytes the varint encoding of value takes.
int VarintLength(uint64_t value);

// Write the encoding at dst (room must be there); return the end.
char* EncodeVarint32(char* dst, uint32_t value);
char* EncodeVarint64(char* dst, uint64_t value);

inline void EncodeFixed32(char* dst, uint32_t value) {
  std::memcpy(dst, &value, sizeof(value));  // x86-64 and aarch64: LE.
}
inline void EncodeFixed64(char* dst, uint64_t value) {
  std::memcpy(dst, &value, sizeof(value));
}
inline uint32_t DecodeFixed32(const char* ptr) {
  uint32_t value;
  std::memcpy(&value, ptr, sizeof(value));
  return value;
}
inline uint64_t DecodeFixed64(const char* ptr) {
  uint64_t value;
  std::memcpy(&value, ptr, sizeof(value));
  return value;
}

// Decode from [p, limit); return the byte after the value or nullptr when
// the input ends early or the varint is too long. One-byte varints (the
// common case: key lengths) are decoded inline.
const char* GetVarint32PtrFallback(const char* p, const char* limit,
                                   uint32_t* value);
inline const char* GetVarint32Ptr(const char* p, const char* limit,
                                  uint32_t* value) {
  if (p < limit) {
    const uint32_t byte = static_cast<unsigned char>(*p);
    if ((byte & 0x80) == 0) {
      *value = byte;
      return p + 1;
    }
  }
  return GetVarint32PtrFallback(p, limit, value);
}
const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* value);

// Consume from the front of *input; false on damage.
bool GetVarint32(std::string_view* input, uint32_t* value);
bool GetVarint64(std::string_view* input, uint64_t* value);
bool GetFixed32(std::string_view* input, uint32_t* value);
bool GetFixed64(std::string_view* input, uint64_t* value);
bool GetLengthPrefixed(std::string_view* input, std::string_view* result);

}  // namespace ultradict

#endif  // ULTRADICT_UTIL_CODING_H_
