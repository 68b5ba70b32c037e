#!/usr/bin/env bash
# python_test.sh: builds the `ultradict` Python package with Bazel and runs
# its pytest suite (python/tests) with each CPython 3.11 interpreter found:
# `python3` on PATH (e.g. a pyenv 3.11.x) and Debian's /usr/bin/python3.
#
#   tools/python_test.sh [pytest args]     # e.g. -k lock -x
#   tools/python_test.sh --asan [pytest args]
#   tools/python_test.sh --tsan [pytest args]
#
# --asan: the extension is built with --config=asan (ASan + UBSan, clang-14)
# and each interpreter runs with the ASan runtime preloaded (LD_PRELOAD;
# leak detection off: CPython keeps objects alive at exit). Default
# interpreter /usr/bin/python3 and 5000 increments per process.
# --tsan: the extension is built with --config=tsan and run by
# //python:tsan_python, Debian's libpython3.11 in an executable that carries
# the TSan runtime (preloading it into python3 crashes at start with
# clang-14). Only the extension and the engine are instrumented; fork
# children go on (die_after_fork=0); python/tsan.supp says what is
# suppressed and why; 2000 increments per process.
#
# Environment:
#   ULTRADICT_PYTHONS      interpreters to try (default "python3 /usr/bin/python3";
#                          the same interpreter twice runs once)
#   ULTRADICT_TEST_COUNT   increments per process of the 4-process lock test
#                          (default 25000)
#   BAZEL_FLAGS            extra flags for `bazel build`
#
# Needs python3-dev, pybind11-dev and python3-pytest (tools/dev.sh setup).
# Interpreters without pytest get Debian's (symlinked, nothing installed).
# Ends with "python tests: N passed, N failed" (one count per interpreter)
# and exits non-zero when any run failed or found no interpreter.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
log() { echo "python_test.sh: $*" >&2; }

ASAN=0 TSAN=0 LABEL=
if [[ ${1:-} == --asan ]]; then ASAN=1; shift; fi
if [[ ${1:-} == --tsan ]]; then TSAN=1; shift; fi
# shellcheck disable=SC2206
FLAGS=(${BAZEL_FLAGS:-})
RUN_ENV=()
PYTHONS=${ULTRADICT_PYTHONS:-python3 /usr/bin/python3}
if [[ $ASAN -eq 1 ]]; then
  FLAGS+=(--config=asan)
  LABEL=ASan
  runtime=$(clang-14 -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
  if [[ ! -f $runtime ]]; then
    log "FAILED: no ASan runtime (clang-14, libclang-rt-14-dev: tools/dev.sh setup)"
    echo "python tests: 0 passed, 1 failed"
    exit 1
  fi
  RUN_ENV=(LD_PRELOAD="$runtime"
           ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
           ULTRADICT_TEST_COUNT="${ULTRADICT_TEST_COUNT:-5000}")
  PYTHONS=${ULTRADICT_PYTHONS:-/usr/bin/python3}
fi

TARGETS=(//python:package //python:interop_tool)
if [[ $TSAN -eq 1 ]]; then
  FLAGS+=(--config=tsan)
  LABEL=TSan
  TARGETS+=(//python:tsan_python)
  RUN_ENV=(TSAN_OPTIONS=halt_on_error=1:die_after_fork=0:report_signal_unsafe=0:suppressions=$ROOT/python/tsan.supp
           ULTRADICT_TEST_COUNT="${ULTRADICT_TEST_COUNT:-2000}")
  export PYTHONHOME=/usr  # The embedded interpreter's standard library.
fi
if ! bazel build "${FLAGS[@]}" "${TARGETS[@]}"; then
  log "FAILED: bazel build ${FLAGS[*]} ${TARGETS[*]}"
  echo "python tests: 0 passed, 1 failed"
  exit 1
fi
BIN=$(bazel info "${FLAGS[@]}" bazel-bin 2>/dev/null)
[[ $TSAN -eq 1 ]] && PYTHONS=${ULTRADICT_PYTHONS:-$BIN/python/tsan_python}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/site/ultradict" "$TMP/pytest"
cp python/ultradict/*.py "$TMP/site/ultradict/"
cp "$BIN/python/ultradict/_ultradict.so" "$TMP/site/ultradict/"
# Debian's pytest and its pure-Python dependencies, for interpreters that
# have no pytest of their own.
for m in pytest _pytest py.py pluggy iniconfig packaging attr attrs \
         more_itertools exceptiongroup; do
  [[ -e /usr/lib/python3/dist-packages/$m ]] &&
    ln -s "/usr/lib/python3/dist-packages/$m" "$TMP/pytest/$m"
done

passed=0 failed=0
declare -A seen=()
for py in $PYTHONS; do
  exe=$("$py" -c 'import sys; print(sys.executable)' 2>/dev/null) || {
    log "$py: not found, skipped"; continue; }
  real=$(readlink -f "$exe")
  [[ -n ${seen[$real]:-} ]] && continue
  seen[$real]=1
  ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [[ $ver != 3.11 ]]; then
    log "$py ($exe) is Python $ver; the extension is built for 3.11: skipped"
    continue
  fi
  path=$TMP/site
  "$py" -c 'import pytest' 2>/dev/null || path=$path:$TMP/pytest
  echo "=== pytest with $py${LABEL:+ ($LABEL)} ($exe, $("$py" -c 'import platform; print(platform.python_version())'))"
  start=$SECONDS
  if env "${RUN_ENV[@]}" PYTHONPATH="$path" PYTHONDONTWRITEBYTECODE=1 \
      ULTRADICT_INTEROP_TOOL="$BIN/python/interop_tool" timeout 600 \
      "$py" -m pytest -p no:cacheprovider -q -rfE --durations=5 \
      "$ROOT/python/tests" "$@"; then
    passed=$((passed + 1)); echo "=== $py: OK ($((SECONDS - start))s)"
  else
    failed=$((failed + 1)); echo "=== $py: FAILED ($((SECONDS - start))s)"
  fi
done
if [[ $((passed + failed)) -eq 0 ]]; then
  log "no CPython 3.11 interpreter found"
  failed=1
fi
echo "python tests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
