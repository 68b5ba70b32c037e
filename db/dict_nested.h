// dict_nested.h: private helpers of Dict's nested dictionaries that the
// templates in include/ultradict/dict.h do not call. The rest of the
// non-template code of dict.h (reference codec, child naming, recursive
// destroy) is declared there, in dict_internal, and defined in
// dict_nested.cc, which is built into //:ultradict.

#ifndef ULTRADICT_DB_DICT_NESTED_H_
#define ULTRADICT_DB_DICT_NESTED_H_

#include <cstdint>
#include <string_view>

#include "ultradict/dict.h"

namespace ultradict {
namespace dict_internal {

// FNV-1a, 64 bits, of a, a zero byte, then b: stable across processes,
// programs and compilers (child names depend on it: frozen).
uint64_t Fnv1a64(std::string_view a, std::string_view b);

}  // namespace dict_internal
}  // namespace ultradict

#endif  // ULTRADICT_DB_DICT_NESTED_H_
