#!/usr/bin/env bash
# Developer entry point for UltraDict: install dependencies, build, test,
# run sanitizers, benchmarks and fuzzers. Run `tools/dev.sh help` for usage.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(
  bazel-bootstrap bazel-rules-java libabsl-dev libzstd-dev libxxhash-dev
  liblmdb-dev libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  clang-14 libclang-rt-14-dev pkg-config procps python3 python3-dev
  pybind11-dev python3-pytest universal-ctags cmake
  libhiredis-dev redis-server
)

# Tests tagged like this are skipped by the sanitizer runs.
SANITIZE_SKIP_TAGS="benchmark"

usage() {
  cat <<'USAGE'
Usage: tools/dev.sh <command> [args]

Commands:
  setup      Install missing Debian packages (apt-get; idempotent; quiet:
             one line naming them, apt's log only when it fails).
  demo       Build and run the demo: bazel run -c opt //examples:demo
  test       Run the whole test suite: bazel test //..., then the Python
             package's pytest suite (tools/python_test.sh; skipped when
             ULTRADICT_SKIP_PYTHON_TESTS=1).
  sanitize   Run the suite under ASan+UBSan and under TSan (clang-14).
  bench      Run the benchmark: bazel run -c opt //benchmarks:db_bench -- [args]
  install    Build the `ultradict` tool (-c opt) and copy it to ${PREFIX:-/usr/local}/bin;
             install the `ultradict` Python package for python3 on PATH and
             /usr/bin/python3 (each CPython 3.11 found).
  fuzz       Run each fuzzer under //tests/fuzz for ${FUZZ_SECONDS:-30}s,
             ${FUZZ_JOBS:-1} at a time (with more than 1, each one's
             output is printed when it ends).
  windows    Cross-build with mingw-w64 and run the Windows tests under Wine
             (tools/windows/run_tests.sh; see doc/windows.md).
  help       Show this message.
USAGE
}

# Installs the missing PACKAGES quietly: one line naming them, apt's log
# only when it fails (then exits with apt's status). Nothing is printed,
# and apt is not run, when all are installed (one dpkg-query call).
setup() {
  local missing=() pkg status log rc=0
  declare -A installed=()
  while IFS=' ' read -r pkg status; do
    [[ $status == installed ]] && installed[$pkg]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null)
  for pkg in "${PACKAGES[@]}"; do
    [[ -n ${installed[$pkg]:-} ]] || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "dev.sh setup: installing from Debian: ${missing[*]}" >&2
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  log=$(mktemp "${TMPDIR:-/tmp}/ultradict-setup.XXXXXX.log")
  {
    "${sudo[@]}" apt-get update &&
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y \
        --no-install-recommends "${missing[@]}"
  } </dev/null >"$log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    cat "$log" >&2
    echo "dev.sh setup: apt-get failed (exit $rc) installing: ${missing[*]}" >&2
    rm -f "$log"
    return "$rc"
  fi
  rm -f "$log"
}

# sanitize_run <asan|tsan> [extra bazel args]: test //... under one sanitizer.
sanitize_run() {
  local cfg=$1; shift
  local filters="-no-${cfg},-${SANITIZE_SKIP_TAGS}"
  bazel test --config="$cfg" --test_tag_filters="$filters" \
    --build_tag_filters="$filters" "$@" //...
}

# fuzz_one <target> <bin> <seconds>: fuzzes one target; its new inputs go
# to a scratch dir so the checked-in corpus stays clean (kept, with any
# crash artifact, when the fuzzer fails).
fuzz_one() {
  local target=$1 bin=$2 seconds=$3 name corpus scratch
  name=${target##*:}
  corpus=tests/fuzz/corpus/$name
  [[ -d $corpus ]] || corpus=""  # Run without a seed corpus.
  scratch=$(mktemp -d)
  echo "=== fuzzing $target for ${seconds}s (corpus: ${corpus:-none})"
  if ! "$bin" -max_total_time="$seconds" -artifact_prefix="$scratch/" \
      -print_final_stats=1 "$scratch" ${corpus:+"$corpus"}; then
    echo "dev.sh fuzz: $target FAILED; artifacts in $scratch" >&2
    return 1
  fi
  rm -rf "$scratch"
}

# Runs each fuzzer under $FUZZ_SCOPE for $FUZZ_SECONDS, $FUZZ_JOBS of them
# at a time (default 1: one after the other, output as it comes). With
# more, each writes to its own log, printed whole when it fails and as its
# final stats when it passes. Give each a core of its own (FUZZ_JOBS <=
# nproc) for the same fuzzing per target as a run one at a time.
fuzz() {
  local seconds=${FUZZ_SECONDS:-30} scope=${FUZZ_SCOPE:-//tests/fuzz/...}
  local jobs=${FUZZ_JOBS:-1} targets target pkg bindir status=0 logs rc
  [[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "dev.sh fuzz: FUZZ_JOBS=$jobs is not a count" >&2; return 2; }
  targets=$(bazel query --noshow_progress "attr(tags, fuzzer, $scope)" 2>/dev/null || true)
  if [[ -z $targets ]]; then
    echo "dev.sh fuzz: no fuzzer targets under //tests/fuzz; nothing to do."
    return 0
  fi
  # shellcheck disable=SC2086
  bazel build --config=fuzz $targets
  bindir=$(bazel info --config=fuzz bazel-bin 2>/dev/null)
  if [[ $jobs -eq 1 ]]; then
    for target in $targets; do
      pkg=${target#//}; pkg=${pkg%%:*}
      fuzz_one "$target" "$bindir/$pkg/${target##*:}" "$seconds" || status=1
    done
    return $status
  fi
  logs=$(mktemp -d)
  echo "=== fuzzing $(wc -w <<<"$targets") targets for ${seconds}s each, $jobs at a time"
  for target in $targets; do
    while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
    pkg=${target#//}; pkg=${pkg%%:*}
    ( rc=0
      fuzz_one "$target" "$bindir/$pkg/${target##*:}" "$seconds" \
        >"$logs/${target##*:}.log" 2>&1 || rc=$?
      echo "$rc" >"$logs/${target##*:}.rc" ) &
  done
  wait
  for target in $targets; do
    rc=$(cat "$logs/${target##*:}.rc" 2>/dev/null || echo "no exit status")
    if [[ $rc == 0 ]]; then
      grep -E '^(=== fuzzing|Done [0-9]+ runs|stat::)' "$logs/${target##*:}.log"
    else
      echo "---------------- $target FAILED ($rc): its whole output ----------------"
      cat "$logs/${target##*:}.log"
      status=1
    fi
  done
  rm -rf "$logs"
  return $status
}

# Installs the Python package (built -c opt) into the site-packages of each
# CPython 3.11 interpreter among `python3` on PATH and /usr/bin/python3.
install_python() {
  bazel build -c opt //python:package
  local bin py exe real dest done_list=" " ver
  bin=$(bazel info -c opt bazel-bin)
  for py in python3 /usr/bin/python3; do
    exe=$("$py" -c 'import sys; print(sys.executable)' 2>/dev/null) || continue
    real=$(readlink -f "$exe")
    [[ $done_list == *" $real "* ]] && continue
    done_list+="$real "
    ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if [[ $ver != 3.11 ]]; then
      echo "dev.sh install: $exe is Python $ver, the package is built for 3.11: skipped" >&2
      continue
    fi
    dest=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ultradict
    rm -rf "$dest"
    install -d "$dest"
    install -m 0644 python/ultradict/*.py "$dest/"
    install -m 0755 "$bin/python/ultradict/_ultradict.so" "$dest/"
    "$py" -c 'import ultradict' && echo "installed $dest (for $exe)"
  done
}

cmd=${1:-help}
[[ $# -gt 0 ]] && shift
case "$cmd" in
  setup) setup ;;
  demo) setup; bazel run -c opt //examples:demo -- "$@" ;;
  test)
    setup
    rc=0
    bazel test "$@" //... || rc=$?
    if [[ ${ULTRADICT_SKIP_PYTHON_TESTS:-0} != 1 ]]; then
      tools/python_test.sh || { [[ $rc -eq 0 ]] && rc=1; }
    fi
    exit $rc
    ;;
  sanitize)
    setup
    rc=0
    sanitize_run asan "$@" || rc=1
    sanitize_run tsan "$@" || rc=1
    exit $rc
    ;;
  bench) setup; bazel run -c opt //benchmarks:db_bench -- "$@" ;;
  install)
    setup
    bazel build -c opt //tools:ultradict
    install -D -m 0755 "$(bazel info -c opt bazel-bin)/tools/ultradict" \
      "${PREFIX:-/usr/local}/bin/ultradict"
    echo "installed ${PREFIX:-/usr/local}/bin/ultradict"
    install_python
    ;;
  fuzz) setup; fuzz ;;
  windows) exec tools/windows/run_tests.sh "$@" ;;
  help|-h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
