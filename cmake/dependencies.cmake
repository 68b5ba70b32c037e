# dependencies.cmake: the libraries UltraDict links, found the way Debian 12
# ships them: Abseil and zstd by their CMake packages, xxHash by pkg-config,
# plus Threads. Included by CMakeLists.txt and by the installed
# ultradictConfig.cmake (where ULTRADICT_FIND_DEPENDENCY is find_dependency),
# so a consumer finds them exactly as the build did.
#
# Defines: ultradict::xxhash (an imported target).

if(NOT COMMAND ultradict_find_dependency)
  macro(ultradict_find_dependency)
    find_package(${ARGV} REQUIRED)
  endmacro()
endif()

ultradict_find_dependency(absl CONFIG)   # libabsl-dev
ultradict_find_dependency(zstd CONFIG)   # libzstd-dev: zstd::libzstd_shared
ultradict_find_dependency(Threads)
ultradict_find_dependency(PkgConfig)     # pkg-config

if(NOT TARGET ultradict::xxhash)
  # libxxhash-dev ships a .pc file only.
  pkg_check_modules(ULTRADICT_XXHASH REQUIRED QUIET IMPORTED_TARGET libxxhash)
  add_library(ultradict::xxhash INTERFACE IMPORTED)
  set_target_properties(ultradict::xxhash PROPERTIES
    INTERFACE_LINK_LIBRARIES PkgConfig::ULTRADICT_XXHASH)
endif()
