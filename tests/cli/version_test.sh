#!/usr/bin/env bash
# version_test.sh: `ultradict --version` prints "ultradict MAJOR.MINOR.PATCH"
# (include/ultradict/version.h); with an argument (CMake passes its project
# version, read from that header), exactly that version.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/cli/testlib.sh"

expect 0 "$UD" --version
[[ $OUT =~ ^ultradict\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version: '$OUT'"
[[ -z $ERR ]] || fail "--version wrote to stderr"
if [[ $# -gt 0 ]]; then
  [[ $OUT == "ultradict $1" ]] || fail "--version: '$OUT', expected 'ultradict $1'"
fi
expect 0 "$UD" --help
grep -qF -- "ultradict --version" "$SCRATCH/out" || fail "--help does not mention --version"
echo PASS
