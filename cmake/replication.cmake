# replication.cmake: the Redis replication component (//replication, issue
# 22; doc/replication.md), for the `ultradict` tool, replication_bench and
# the tests. Not part of libultradict and not installed as a library: the
# core library, ultradict.pc and the CMake package do not depend on hiredis.
# Like the tools, it links the engine statically (ultradict_internal).
#
# hiredis: Debian 12's libhiredis-dev 0.14, by pkg-config (hiredis.pc).
#
# Defines: replication_entry_format, replication_digest, replication,
# replication_lag_recorder (static libraries, as //replication:entry_format,
# :digest, :replication, :lag_recorder) and, with ULTRADICT_BUILD_BENCHMARKS,
# the replication_bench program.

pkg_check_modules(ULTRADICT_HIREDIS REQUIRED QUIET IMPORTED_TARGET hiredis)

add_library(replication_entry_format STATIC
  ${ULTRADICT_REPLICATION_ENTRY_FORMAT_SOURCES})
target_compile_options(replication_entry_format PRIVATE ${ULTRADICT_DEFAULT_COPTS})
target_link_libraries(replication_entry_format PUBLIC
  ultradict_internal absl::function_ref absl::status absl::strings)

add_library(replication_digest STATIC ${ULTRADICT_REPLICATION_DIGEST_SOURCES})
target_compile_options(replication_digest PRIVATE ${ULTRADICT_DEFAULT_COPTS})
target_link_libraries(replication_digest PUBLIC
  ultradict_internal absl::statusor absl::strings ultradict::xxhash)

add_library(replication STATIC ${ULTRADICT_REPLICATION_SOURCES})
target_compile_options(replication PRIVATE ${ULTRADICT_DEFAULT_COPTS})
target_link_libraries(replication PUBLIC
  replication_digest replication_entry_format ultradict_internal
  absl::function_ref absl::status absl::statusor absl::strings
  PkgConfig::ULTRADICT_HIREDIS)

# The lag benchmark's accounting (test-only in Bazel; its test runs here
# too).
add_library(replication_lag_recorder STATIC
  ${ULTRADICT_REPLICATION_LAG_RECORDER_SOURCES})
target_compile_options(replication_lag_recorder PRIVATE ${ULTRADICT_DEFAULT_COPTS})
target_link_libraries(replication_lag_recorder PUBLIC
  ultradict_internal absl::status absl::strings)

# //replication:replication_bench: tagged "benchmark" in Bazel and a plain
# binary (not a test), so built with db_bench and never run by ctest:
#   <build>/replication_bench   (starts its own redis-server)
if(ULTRADICT_BUILD_BENCHMARKS)
  ultradict_program(replication_bench ULTRADICT_DEFAULT_COPTS
    ${ULTRADICT_REPLICATION_BENCH_SOURCES})
  target_link_libraries(replication_bench PRIVATE
    replication replication_lag_recorder absl::strings)
endif()
