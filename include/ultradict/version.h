// version.h: the version of UltraDict for C++, in one place.
//
// Bazel compiles it, CMake reads the three numbers from it (CMakeLists.txt:
// project VERSION, the shared library's SONAME, ultradict.pc, the .deb), and
// `ultradict --version` prints ULTRADICT_VERSION_STRING. Change the numbers
// here only.
//
//   #if ULTRADICT_VERSION_NUMBER >= 100  // 0.1.0 or later
//
// 0.x: the shared library's ABI may change between minor versions (its
// SONAME is libultradict.so.0.MINOR until 1.0).

#ifndef ULTRADICT_INCLUDE_VERSION_H_
#define ULTRADICT_INCLUDE_VERSION_H_

#define ULTRADICT_VERSION_MAJOR 0
#define ULTRADICT_VERSION_MINOR 1
#define ULTRADICT_VERSION_PATCH 0

#define ULTRADICT_VERSION_NUMBER                                     \
  (ULTRADICT_VERSION_MAJOR * 10000 + ULTRADICT_VERSION_MINOR * 100 + \
   ULTRADICT_VERSION_PATCH)

#define ULTRADICT_VERSION_STR_(x) #x
#define ULTRADICT_VERSION_STR(x) ULTRADICT_VERSION_STR_(x)
// "MAJOR.MINOR.PATCH", e.g. "0.1.0".
#define ULTRADICT_VERSION_STRING                                                \
  ULTRADICT_VERSION_STR(ULTRADICT_VERSION_MAJOR)                                \
  "." ULTRADICT_VERSION_STR(ULTRADICT_VERSION_MINOR) "." ULTRADICT_VERSION_STR( \
      ULTRADICT_VERSION_PATCH)

#endif  // ULTRADICT_INCLUDE_VERSION_H_
