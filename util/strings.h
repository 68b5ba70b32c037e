// strings.h: small string helpers. Nothing here knows the DB.

#ifndef ULTRADICT_UTIL_STRINGS_H_
#define ULTRADICT_UTIL_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace ultradict {

// The API speaks std::string_view; Abseil builds where absl::string_view is
// its own type (Debian's, ABSL_OPTION_USE_STD_STRING_VIEW 0) need this to
// pass one to absl::StrCat and friends.
inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace ultradict

#endif  // ULTRADICT_UTIL_STRINGS_H_
