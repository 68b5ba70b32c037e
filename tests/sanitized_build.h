// sanitized_build.h: whether this test binary is built under a sanitizer
// (ASan or TSan), where code runs 5-20x slower: tests that loop for load
// scale their counts down with it (what they check stays the same); and
// whether under ASan, whose allocator is not fork-safe.

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

// Under ASan alone. clang-14's ASan allocator takes no lock around fork():
// a child forked while another thread of the parent is inside it waits
// forever at its first allocation (glibc's malloc and TSan's runtime lock
// around fork). Tests that fork while other threads allocate skip there.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizerBuild = true;
#else
inline constexpr bool kAddressSanitizerBuild = false;
#endif
#else
inline constexpr bool kAddressSanitizerBuild = false;
#endif

}  // namespace testing
}  // namespace ultradict

#endif  // ULTRADICT_TESTS_SANITIZED_BUILD_H_
