# tests.cmake: ctest runs the same tests as `bazel test //...` (the Python
# package's tests stay Bazel-only: tools/python_test.sh). GoogleTest cases
# are discovered one by one (gtest_discover_tests); shell tests run as in
# Bazel. Each test runs through cmake/run_test.sh: a Bazel-like runfiles
# tree ($TEST_SRCDIR/ultradict: the test data from the source tree, the
# programs linked in by ultradict_program) and a private $TEST_TMPDIR.
#
#   cmake -B build -DULTRADICT_BUILD_TESTS=ON && cmake --build build -j2
#   ctest --test-dir build -j2 --output-on-failure

if(NOT ULTRADICT_BUILD_TOOLS)
  message(FATAL_ERROR "ULTRADICT_BUILD_TESTS=ON needs ULTRADICT_BUILD_TOOLS=ON (the CLI tests)")
endif()
find_package(GTest CONFIG REQUIRED)  # libgtest-dev, libgmock-dev
include(GoogleTest)

# The test data Bazel ships as runfiles: testlib.sh, the fuzz corpora: one
# link per entry of tests/, except tests/replication, a real directory (the
# repl_tool program is linked into it, never into the source tree).
if(IS_SYMLINK ${ULTRADICT_RUNFILES}/tests)  # A build dir of the older layout.
  file(REMOVE ${ULTRADICT_RUNFILES}/tests)
endif()
file(MAKE_DIRECTORY ${ULTRADICT_RUNFILES}/tests/replication)
file(GLOB _ud_test_entries CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/tests
     ${PROJECT_SOURCE_DIR}/tests/*)
list(REMOVE_ITEM _ud_test_entries replication)
foreach(_ud_entry IN LISTS _ud_test_entries)
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/tests/${_ud_entry}
       ${ULTRADICT_RUNFILES}/tests/${_ud_entry} SYMBOLIC)
endforeach()
foreach(_ud_file IN LISTS ULTRADICT_REPLICATION_SH_TEST_LIB)
  get_filename_component(_ud_name ${_ud_file} NAME)
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${_ud_file}
       ${ULTRADICT_RUNFILES}/tests/replication/${_ud_name} SYMBOLIC)
endforeach()

set(ULTRADICT_TEST_LAUNCHER ${PROJECT_SOURCE_DIR}/cmake/run_test.sh ${ULTRADICT_RUNFILES})
set(ULTRADICT_TEST_TIMEOUT 600)

add_library(ultradict_testutil STATIC ${ULTRADICT_TESTUTIL_SOURCES})
target_compile_options(ultradict_testutil PRIVATE ${ULTRADICT_TEST_COPTS})
target_link_libraries(ultradict_testutil PUBLIC
  ultradict_internal absl::strings GTest::gtest GTest::gmock)

# The test's name as in Bazel: tests/db_test.cc -> db_test,
# tests/dict/multiprocess_test.cc -> dict.multiprocess_test.
function(ultradict_test_name src out)
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(dir ${src} DIRECTORY)
  string(REGEX REPLACE "^tests/?" "" dir "${dir}")
  string(REPLACE "/" "." dir "${dir}")
  if(dir)
    set(name ${dir}.${name})
  endif()
  set(${out} ${name} PARENT_SCOPE)
endfunction()

# ultradict_gtest(<src> <libraries...>): one test binary, its cases in ctest.
function(ultradict_gtest src)
  ultradict_test_name(${src} name)
  string(REPLACE "." "_" target ${name})
  add_executable(${target} ${src})
  target_compile_options(${target} PRIVATE ${ULTRADICT_TEST_COPTS})
  target_link_libraries(${target} PRIVATE ${ARGN})
  set_target_properties(${target} PROPERTIES
    CROSSCOMPILING_EMULATOR "${ULTRADICT_TEST_LAUNCHER}")
  gtest_discover_tests(${target}
    TEST_PREFIX ${name}.
    DISCOVERY_MODE PRE_TEST
    PROPERTIES TIMEOUT ${ULTRADICT_TEST_TIMEOUT})
endfunction()

foreach(src IN LISTS ULTRADICT_GTEST_MAIN_TESTS)
  ultradict_gtest(${src} ultradict_testutil ultradict_tool_lib GTest::gtest_main)
endforeach()
foreach(src IN LISTS ULTRADICT_OWN_MAIN_TESTS)
  ultradict_gtest(${src} ultradict_testutil)
endforeach()
foreach(src IN LISTS ULTRADICT_FAULT_POINT_TESTS)
  ultradict_gtest(${src} ultradict_fault_points absl::strings GTest::gtest GTest::gmock)
  ultradict_test_name(${src} name)
  string(REPLACE "." "_" target ${name})
  target_sources(${target} PRIVATE tests/subprocess.cc)
endforeach()

# ultradict_sh_test(<script> [args...]): a shell test as Bazel's sh_test.
function(ultradict_sh_test script)
  ultradict_test_name(${script} name)
  add_test(NAME ${name}
    COMMAND ${ULTRADICT_TEST_LAUNCHER} bash ${PROJECT_SOURCE_DIR}/${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ULTRADICT_TEST_TIMEOUT})
endfunction()

# //tests/fuzz: each fuzz function over its seed corpus.
add_library(ultradict_fuzz_main STATIC ${ULTRADICT_FUZZ_REGRESSION_MAIN})
target_compile_options(ultradict_fuzz_main PRIVATE ${ULTRADICT_TEST_COPTS})
foreach(src IN LISTS ULTRADICT_FUZZ_REGRESSION_TESTS)
  get_filename_component(fuzzer ${src} NAME_WE)
  add_executable(${fuzzer}_regression_test ${src})
  target_compile_options(${fuzzer}_regression_test PRIVATE ${ULTRADICT_TEST_COPTS})
  target_link_libraries(${fuzzer}_regression_test PRIVATE
    ultradict_fuzz_main ultradict_internal)
  add_test(NAME fuzz.${fuzzer}_regression_test
    COMMAND ${ULTRADICT_TEST_LAUNCHER} $<TARGET_FILE:${fuzzer}_regression_test>
            tests/fuzz/corpus/${fuzzer})
  set_tests_properties(fuzz.${fuzzer}_regression_test PROPERTIES
    TIMEOUT ${ULTRADICT_TEST_TIMEOUT})
endforeach()
add_executable(make_corpus ${ULTRADICT_FUZZ_TOOL_SOURCES})
target_compile_options(make_corpus PRIVATE ${ULTRADICT_TEST_COPTS})
target_link_libraries(make_corpus PRIVATE ultradict_internal absl::strings)

foreach(script IN LISTS ULTRADICT_CLI_SH_TESTS)
  if(script MATCHES "/version_test.sh$")
    ultradict_sh_test(${script} ${PROJECT_VERSION})
  else()
    ultradict_sh_test(${script})
  endif()
endforeach()
add_dependencies(cli_compressed_test ultradict)
add_dependencies(run_multiprocess_test ultradict)  # Runs `ultradict verify`.

foreach(script IN LISTS ULTRADICT_EXAMPLE_SH_TESTS)
  ultradict_sh_test(${script})
endforeach()

# //tests/replication (cmake/replication.cmake): the frames' unit test and the
# shell tests, which run tools/ultradict and repl_tool from the runfiles tree
# and start their own redis-server (redis-server, redis-cli: tools/dev.sh
# setup installs them).
foreach(src IN LISTS ULTRADICT_REPLICATION_GTEST_TESTS)
  ultradict_gtest(${src} ultradict_testutil replication_entry_format GTest::gtest_main)
endforeach()
foreach(src IN LISTS ULTRADICT_REPLICATION_LAG_RECORDER_TESTS)
  ultradict_gtest(${src} ultradict_testutil replication_lag_recorder GTest::gtest_main)
endforeach()
ultradict_program(repl_tool ULTRADICT_TEST_COPTS ${ULTRADICT_REPL_TOOL_SOURCES})
target_link_libraries(repl_tool PRIVATE
  replication replication_entry_format absl::strings)
foreach(script IN LISTS ULTRADICT_REPLICATION_SH_TESTS)
  ultradict_sh_test(${script})
endforeach()

if(ULTRADICT_BUILD_BENCHMARKS)
  foreach(script IN LISTS ULTRADICT_BENCH_SH_TESTS)
    ultradict_sh_test(${script} $<TARGET_FILE:db_bench>)
  endforeach()
  foreach(src IN LISTS ULTRADICT_MICRO_BENCHMARKS)
    get_filename_component(name ${src} NAME_WE)
    add_test(NAME benchmarks.${name}
      COMMAND ${ULTRADICT_TEST_LAUNCHER} $<TARGET_FILE:${name}>)
    set_tests_properties(benchmarks.${name} PROPERTIES TIMEOUT ${ULTRADICT_TEST_TIMEOUT})
  endforeach()
endif()

# The shared library exports the public API and nothing else.
if(BUILD_SHARED_LIBS)
  add_test(NAME library.exports
    COMMAND ${PROJECT_SOURCE_DIR}/cmake/check_exports.sh $<TARGET_FILE:ultradict_shared>)
endif()
