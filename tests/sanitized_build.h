// sanitized_build.h: whether this test binary is built under a sanitizer
// (ASan or TSan), where code runs 5-20x slower: tests that loop for load
// scale their counts down with it (what they check stays the same).

#ifndef ULTRADICT_TESTS_SANITIZED_BUILD_H_
#define ULTRADICT_TESTS_SANITIZED_BUILD_H_

namespace ultradict {
namespace testing {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif
#else
inline constexpr bool kSanitizedBuild = false;
#endif

}  // namespace testing
}  // namespace ultradict

#endif  // ULTRADICT_TESTS_SANITIZED_BUILD_H_
