#!/usr/bin/env bash
# run_test.sh RUNFILES COMMAND [ARGS...]: runs one ctest test the way
# `bazel test` runs it: TEST_SRCDIR/TEST_WORKSPACE name the runfiles tree
# (RUNFILES = .../runfiles/ultradict, the working directory), TEST_TMPDIR is a
# fresh private directory, removed afterwards. cmake/tests.cmake sets this
# script as each test target's launcher (CROSSCOMPILING_EMULATOR), so it also
# runs GoogleTest's --gtest_list_tests discovery.
set -uo pipefail
runfiles=$1
shift
export TEST_SRCDIR=${runfiles%/*}
export TEST_WORKSPACE=${runfiles##*/}
TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/ultradict-ctest.XXXXXX") || exit 1
export TEST_TMPDIR
cd "$runfiles" || exit 1
"$@"
rc=$?
rm -rf "$TEST_TMPDIR"
exit $rc
