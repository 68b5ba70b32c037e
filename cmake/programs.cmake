# programs.cmake: the `ultradict` tool (ULTRADICT_BUILD_TOOLS), db_bench,
# replication_bench and the Google Benchmark micro-benchmarks
# (ULTRADICT_BUILD_BENCHMARKS), the replication component both need
# (cmake/replication.cmake), and the
# examples (built with the tests, which run them). Tools and benchmarks link
# the engine statically (they use its private formats); the examples link
# ultradict::ultradict, the library as installed (shared or static).

# The runfiles tree of the tests (cmake/tests.cmake): a Bazel-like layout,
# $TEST_SRCDIR/ultradict/<package>/<binary>, symlinks to the built programs.
set(ULTRADICT_RUNFILES ${PROJECT_BINARY_DIR}/runfiles/ultradict)

# ultradict_program(<target> <copts> <sources...>): a program, and its link
# at ULTRADICT_RUNFILES/<dir of its first source>/<target>.
function(ultradict_program target copts)
  add_executable(${target} ${ARGN})
  target_compile_options(${target} PRIVATE ${${copts}})
  list(GET ARGN 0 first)
  get_filename_component(dir ${first} DIRECTORY)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E make_directory ${ULTRADICT_RUNFILES}/${dir}
    COMMAND ${CMAKE_COMMAND} -E create_symlink $<TARGET_FILE:${target}>
            ${ULTRADICT_RUNFILES}/${dir}/${target}
    VERBATIM)
endfunction()

# The tools' and db_bench's JSON: nlohmann-json3-dev (header-only).
if(ULTRADICT_BUILD_TOOLS OR ULTRADICT_BUILD_BENCHMARKS)
  find_package(nlohmann_json 3 CONFIG REQUIRED)
  # //replication (hiredis): the tool's publish/follow commands,
  # replication_bench and the replication tests; never libultradict.
  include(cmake/replication.cmake)
endif()

if(ULTRADICT_BUILD_TOOLS)
  add_library(ultradict_tool_lib STATIC ${ULTRADICT_TOOL_LIB_SOURCES})
  target_compile_options(ultradict_tool_lib PRIVATE ${ULTRADICT_DEFAULT_COPTS})
  target_link_libraries(ultradict_tool_lib PUBLIC
    ultradict_internal absl::strings nlohmann_json::nlohmann_json)

  ultradict_program(ultradict ULTRADICT_DEFAULT_COPTS ${ULTRADICT_TOOL_SOURCES})
  target_link_libraries(ultradict PRIVATE
    ultradict_tool_lib replication replication_digest)
endif()

if(ULTRADICT_BUILD_BENCHMARKS)
  pkg_check_modules(ULTRADICT_LMDB REQUIRED QUIET IMPORTED_TARGET lmdb)  # liblmdb-dev
  add_library(ultradict_bench_lib STATIC ${ULTRADICT_BENCH_LIB_SOURCES})
  target_compile_options(ultradict_bench_lib PRIVATE ${ULTRADICT_DEFAULT_COPTS})
  target_link_libraries(ultradict_bench_lib PUBLIC
    ultradict_internal absl::flat_hash_map absl::hash absl::str_format
    PkgConfig::ULTRADICT_LMDB nlohmann_json::nlohmann_json)

  ultradict_program(db_bench ULTRADICT_DEFAULT_COPTS ${ULTRADICT_DB_BENCH_SOURCES})
  target_link_libraries(db_bench PRIVATE
    ultradict_bench_lib absl::flags absl::flags_parse absl::flags_usage)

  # Micro-benchmarks: testonly in Bazel, so built with the tests (which run
  # them briefly); measure with -DCMAKE_BUILD_TYPE=Release.
  if(ULTRADICT_BUILD_TESTS)
    find_package(benchmark CONFIG REQUIRED)  # libbenchmark-dev
    add_library(ultradict_micro_main STATIC ${ULTRADICT_MICRO_MAIN})
    target_compile_options(ultradict_micro_main PRIVATE ${ULTRADICT_DEFAULT_COPTS})
    target_link_libraries(ultradict_micro_main PUBLIC benchmark::benchmark)
    foreach(src IN LISTS ULTRADICT_MICRO_BENCHMARKS)
      get_filename_component(name ${src} NAME_WE)
      ultradict_program(${name} ULTRADICT_DEFAULT_COPTS ${src})
      target_link_libraries(${name} PRIVATE ultradict_internal ultradict_micro_main)
    endforeach()
  endif()
endif()

if(ULTRADICT_BUILD_TESTS)
  foreach(src IN LISTS ULTRADICT_EXAMPLES)
    get_filename_component(name ${src} NAME_WE)
    ultradict_program(${name} ULTRADICT_DEFAULT_COPTS ${src})
    target_link_libraries(${name} PRIVATE ultradict::ultradict)
  endforeach()
endif()
