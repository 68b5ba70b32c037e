# sources.cmake: every source file of the CMake build, one list per
# component, named after the Bazel targets they mirror. Paths are relative to
# the repository root. No globs: tools/check_sources.py compares these lists
# with Bazel's BUILD files (in CI) and names each file that is in one build
# and not in the other.
#
# Adding a file to a Bazel target? Add it to the list below that holds that
# target's other files (the check's message names the list).

# //:ultradict_headers (installed to include/ultradict/).
set(ULTRADICT_PUBLIC_HEADERS
  include/ultradict/codec.h
  include/ultradict/db.h
  include/ultradict/dict.h
  include/ultradict/iterator.h
  include/ultradict/options.h
  include/ultradict/version.h
  include/ultradict/write_batch.h
)

# //util:coding, :checksum, :compression, :strings.
set(ULTRADICT_UTIL_SOURCES
  util/checksum.cc
  util/checksum.h
  util/coding.cc
  util/coding.h
  util/compression.cc
  util/compression.h
  util/strings.h
)

# //port (POSIX only; port_windows.cc is built by tools/windows/).
set(ULTRADICT_PORT_SOURCES
  port/mutex.h
  port/port.h
  port/port_posix.cc
)

# //db:filename, :write_batch, :log, :snapshot, :log_index, :log_run,
# :control_block:
# the formats, usable without the engine.
set(ULTRADICT_FORMAT_SOURCES
  db/control_block.cc
  db/control_block.h
  db/filename.cc
  db/filename.h
  db/log_format.h
  db/log_index_format.h
  db/log_index.cc
  db/log_index.h
  db/log_index_write.cc
  db/log_index_format.h
  db/log_reader.cc
  db/log_reader.h
  db/log_run.cc
  db/log_run.h
  db/log_run_format.h
  db/log_writer.cc
  db/log_writer.h
  db/snapshot_builder.cc
  db/snapshot_builder.h
  db/snapshot_format.h
  db/snapshot_reader.cc
  db/snapshot_reader.h
  db/snapshot_scanner.cc
  db/snapshot_scanner.h
  db/write_batch.cc
  db/write_batch_internal.h
)

# //db:generation, :changes, :compaction, :background, :run_builder (the
# engine's units below DBImpl) and :dict_nested (Dict's non-template code):
# compiled once, linked with either engine variant.
set(ULTRADICT_CORE_SOURCES
  db/background.cc
  db/background.h
  db/changes.cc
  db/changes.h
  db/compaction.cc
  db/compaction.h
  db/dict_nested.cc
  db/dict_nested.h
  db/generation.cc
  db/generation.h
  db/run_builder.cc
  db/run_builder.h
)

# //db:db (and //db:db_with_fault_points: the same files compiled again with
# ULTRADICT_FAULT_POINTS, for the crash test). The engine's new files
# of DBImpl go here.
set(ULTRADICT_ENGINE_SOURCES
  db/db_impl.h
  db/db_impl_changes.cc
  db/db_impl_compaction.cc
  db/db_impl_files.cc
  db/db_impl_ingest.cc
  db/db_impl_observe.cc
  db/db_impl_open.cc
  db/db_impl_read.cc
  db/db_impl_write.cc
  db/db_iter.cc
  db/db_iter.h
  db/fault_point.cc
  db/fault_point.h
  db/fork_guard.cc
  db/fork_guard.h
  db/transaction.cc
)

# //tools:report, :stats, :inspect and the `ultradict` binary.
set(ULTRADICT_TOOL_LIB_SOURCES
  tools/inspect.cc
  tools/inspect.h
  tools/report.cc
  tools/report.h
  tools/stats.cc
  tools/stats.h
)
set(ULTRADICT_TOOL_SOURCES
  tools/command.cc
  tools/command.h
  tools/db_commands.cc
  tools/inspect_commands.cc
  tools/replication_commands.cc
  tools/ultradict_main.cc
)

# //replication:entry_format, :digest, :replication, :lag_recorder
# (cmake/replication.cmake; not in libultradict) and :replication_bench
# (with :bench_env and :lag_bench).
set(ULTRADICT_REPLICATION_ENTRY_FORMAT_SOURCES
  replication/entry_format.cc
  replication/entry_format.h
)
set(ULTRADICT_REPLICATION_DIGEST_SOURCES
  replication/digest.cc
  replication/digest.h
)
set(ULTRADICT_REPLICATION_SOURCES
  replication/checkpoint.cc
  replication/checkpoint.h
  replication/follower.cc
  replication/follower.h
  replication/layout.h
  replication/publisher.cc
  replication/publisher.h
  replication/redis_client.cc
  replication/redis_client.h
  replication/run_loop.cc
  replication/run_loop.h
  replication/stage_hook.h
  replication/state_file.cc
  replication/state_file.h
  replication/stream_info.cc
  replication/stream_info.h
)
set(ULTRADICT_REPLICATION_LAG_RECORDER_SOURCES
  replication/lag_recorder.cc
  replication/lag_recorder.h
)
set(ULTRADICT_REPLICATION_BENCH_SOURCES
  replication/bench_env.cc
  replication/bench_env.h
  replication/lag_bench.cc
  replication/lag_bench.h
  replication/replication_bench.cc
  replication/stage_trace.cc
  replication/stage_trace.h
)

# //benchmarks:bench_lib and :db_bench.
set(ULTRADICT_BENCH_LIB_SOURCES
  benchmarks/bench_util.cc
  benchmarks/bench_util.h
  benchmarks/engine.cc
  benchmarks/engine.h
  benchmarks/multiprocess.cc
  benchmarks/multiprocess.h
)
set(ULTRADICT_DB_BENCH_SOURCES
  benchmarks/db_bench.cc
)
# //benchmarks:*_benchmark: Google Benchmark micro-benchmarks, one binary
# each with micro_main.cc (a brief smoke run under ctest, as under bazel test).
set(ULTRADICT_MICRO_BENCHMARKS
  benchmarks/changes_benchmark.cc
  benchmarks/checksum_benchmark.cc
  benchmarks/codec_benchmark.cc
  benchmarks/log_index_benchmark.cc
  benchmarks/log_record_benchmark.cc
)
set(ULTRADICT_MICRO_MAIN
  benchmarks/micro_main.cc
)
# //benchmarks:db_bench_smoke_test (run with db_bench's path).
set(ULTRADICT_BENCH_SH_TESTS
  benchmarks/db_bench_smoke_test.sh
)

# //examples: programs run by their shell tests.
set(ULTRADICT_EXAMPLES
  examples/demo.cc
  examples/dict_example.cc
)
set(ULTRADICT_EXAMPLE_SH_TESTS
  examples/demo_test.sh
  examples/dict_example_test.sh
)

# //tests:testutil, :subprocess, :generation_testutil, :ingest_testutil (test
# helpers).
set(ULTRADICT_TESTUTIL_SOURCES
  tests/generation_testutil.cc
  tests/generation_testutil.h
  tests/ingest_testutil.h
  tests/log_index_testutil.cc
  tests/log_index_testutil.h
  tests/sanitized_build.h
  tests/subprocess.cc
  tests/subprocess.h
  tests/testutil.cc
  tests/testutil.h
)

# cc_test targets with gtest_main, one binary per file, linked with the
# engine's private libraries (//tests, //tests/dict, //tests/cli).
set(ULTRADICT_GTEST_MAIN_TESTS
  tests/change_cursor_test.cc
  tests/checksum_test.cc
  tests/coding_test.cc
  tests/compaction_test.cc
  tests/control_block_test.cc
  tests/corruption_test.cc
  tests/db_test.cc
  tests/environment_test.cc
  tests/filename_test.cc
  tests/fork_test.cc
  tests/generation_test.cc
  tests/index_corruption_test.cc
  tests/ingest_test.cc
  tests/issue17_security_test.cc
  tests/issue17_test.cc
  tests/iterator_test.cc
  tests/log_index_test.cc
  tests/log_index_threads_test.cc
  tests/log_run_test.cc
  tests/log_test.cc
  tests/port_memory_test.cc
  tests/port_mutex_test.cc
  tests/replica_guard_test.cc
  tests/snapshot_scanner_test.cc
  tests/snapshot_test.cc
  tests/write_batch_test.cc
  tests/write_lock_test.cc
  tests/cli/compressed_test.cc
  tests/cli/stats_test.cc
  tests/dict/codec_test.cc
  tests/dict/dict_nested_test.cc
  tests/dict/dict_test.cc
  tests/dict/multiprocess_test.cc
  tests/dict/nested_test.cc
)
# cc_test targets with their own main() (they re-exec themselves as child
# processes).
set(ULTRADICT_OWN_MAIN_TESTS
  tests/index_multiprocess_test.cc
  tests/multiprocess_test.cc
  tests/run_multiprocess_test.cc
)
# Links the fault-point variant of the engine.
set(ULTRADICT_FAULT_POINT_TESTS
  tests/crash_test.cc
  tests/destroy_crash_test.cc
  tests/index_crash_test.cc
  tests/ingest_crash_test.cc
)

# //tests/cli: shell tests of the `ultradict` binary.
set(ULTRADICT_CLI_SH_TESTS
  tests/cli/bad_input_test.sh
  tests/cli/dump_test.sh
  tests/cli/issue17_test.sh
  tests/cli/roundtrip_test.sh
  tests/cli/verify_test.sh
  tests/cli/version_test.sh
  tests/cli/watch_test.sh
)
set(ULTRADICT_CLI_SH_TEST_LIB
  tests/cli/testlib.sh
)

# //tests/replication: the frames' unit test, the lag benchmark's accounting
# test, the repl_tool program and the shell tests (each starts its own
# redis-server).
set(ULTRADICT_REPLICATION_GTEST_TESTS
  tests/replication/entry_format_test.cc
)
set(ULTRADICT_REPLICATION_LAG_RECORDER_TESTS
  tests/replication/lag_recorder_test.cc
)
set(ULTRADICT_REPL_TOOL_SOURCES
  tests/replication/repl_tool.cc
)
set(ULTRADICT_REPLICATION_SH_TESTS
  tests/replication/bad_input_test.sh
  tests/replication/fault_test.sh
  tests/replication/replication_test.sh
  tests/replication/steady_test.sh
  tests/replication/trim_test.sh
  tests/replication/two_publishers_test.sh
)
set(ULTRADICT_REPLICATION_SH_TEST_LIB
  tests/replication/testlib.sh
)

# //tests/fuzz: each fuzzer's .cc runs its corpus through regression_main.cc
# (the libFuzzer binaries themselves are Bazel-only: --config=fuzz).
set(ULTRADICT_FUZZ_REGRESSION_TESTS
  tests/fuzz/log_index_fuzzer.cc
  tests/fuzz/log_run_fuzzer.cc
  tests/fuzz/log_reader_fuzzer.cc
  tests/fuzz/snapshot_reader_fuzzer.cc
  tests/fuzz/write_batch_fuzzer.cc
)
set(ULTRADICT_FUZZ_REGRESSION_MAIN
  tests/fuzz/regression_main.cc
)
set(ULTRADICT_FUZZ_TOOL_SOURCES
  tests/fuzz/make_corpus.cc
)

# Not built by CMake on purpose (tools/check_sources.py skips them):
#   python/            the Python package (Bazel and tools/python_test.sh)
#   tests/consumer/    a separate Bazel workspace (the Bazel consumer)
