"""Compiler flags shared by all UltraDict targets."""

# Flags for library and binary code.
ULTRADICT_DEFAULT_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]

# Flags for tests: gtest's EXPECT_EQ(size_t, int) style comparisons trip
# -Wsign-compare under -Werror.
ULTRADICT_TEST_COPTS = ULTRADICT_DEFAULT_COPTS + [
    "-Wno-sign-compare",
]
