#!/usr/bin/env bash
# run_tests.sh: cross-builds UltraDict for Windows with mingw-w64 and runs
# its tests under Wine (see doc/windows.md).
#
#   tools/windows/run_tests.sh            # or: tools/dev.sh windows
#
# 1. Installs what is missing (apt): mingw-w64 (posix threads), wine, and
#    the Debian sources of Abseil and zstd (a deb-src entry is added).
# 2. Builds Abseil, zstd and GoogleTest with mingw once, into
#    $ULTRADICT_MINGW_CACHE (default ~/.cache/ultradict-mingw); skipped when
#    built. Nothing third-party enters the repository.
# 3. Cross-compiles util/, db/, port/port_windows.cc and the tests into .exe
#    files in $ULTRADICT_WINDOWS_BUILD (default /tmp/ultradict-windows-build).
# 4. Runs each test under Wine with a fresh WINEPREFIX under /tmp (each run
#    bounded by `timeout`), stops the wineserver, prints "N passed, N failed"
#    and exits non-zero when anything failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)
CACHE=${ULTRADICT_MINGW_CACHE:-$HOME/.cache/ultradict-mingw}
BUILD=${ULTRADICT_WINDOWS_BUILD:-/tmp/ultradict-windows-build}
TEST_TIMEOUT=${ULTRADICT_WINDOWS_TIMEOUT:-300}
JOBS=$(nproc 2>/dev/null || echo 2)
PACKAGES=(g++-mingw-w64-x86-64-posix wine wine64 dpkg-dev make libxxhash-dev googletest)
DEB_SRC_LIST=/etc/apt/sources.list.d/ultradict-deb-src.sources

log() { echo "run_tests.sh: $*" >&2; }

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)

install_packages() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
}

# deb-src for Debian's own archive: the same URIs/suites as the deb entries.
ensure_deb_src() {
  if grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return 0
  fi
  # Mirror the deb entries already configured (whatever archive or mirror
  # this machine uses), as deb-src.
  log "adding $DEB_SRC_LIST: deb-src twins of the configured deb entries"
  local f entries=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f && $f != "$DEB_SRC_LIST" ]] || continue
    entries+=$(sed -E 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb-src/' "$f")$'\n\n'
  done
  if [[ -z $entries ]]; then  # One-line style only (sources.list).
    local line
    while read -r line; do
      set -- $line
      shift
      local opts=""
      [[ $1 == \[* ]] && { opts=$1; shift; }
      entries+="Types: deb-src"$'\n'"URIs: $1"$'\n'"Suites: $2"$'\n'"Components: ${*:3}"$'\n\n'
    done < <(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list)
  fi
  [[ -n $entries ]] || { log "no deb entries to mirror as deb-src"; exit 1; }
  printf '%s' "$entries" | "${sudo_cmd[@]}" tee "$DEB_SRC_LIST" >/dev/null
  "${sudo_cmd[@]}" apt-get update -qq
}

fetch_sources() {
  mkdir -p "$CACHE/src"
  local need=()
  compgen -G "$CACHE/src/abseil-*/absl" >/dev/null || need+=(abseil)
  compgen -G "$CACHE/src/libzstd-*/lib" >/dev/null || need+=(zstd)
  [[ ${#need[@]} -eq 0 ]] && return 0
  ensure_deb_src
  log "apt-get source ${need[*]} into $CACHE/src"
  (cd "$CACHE/src" && apt-get source -qq "${need[@]}" >/dev/null 2>&1) ||
    (cd "$CACHE/src" && apt-get source "${need[@]}")
}

build_deps() {
  if [[ -f $CACHE/lib/libabsl.a && -f $CACHE/lib/libzstd.a &&
        -f $CACHE/lib/libgtest.a && -f $CACHE/include/xxhash.h &&
        -e $CACHE/include/absl ]]; then
    return 0  # Built already.
  fi
  log "building Abseil, zstd and GoogleTest with mingw into $CACHE (once)"
  make -s -f tools/windows/deps.mk CACHE="$CACHE" -j"$JOBS" all >"$CACHE/build.log" 2>&1 || {
    tail -40 "$CACHE/build.log" >&2
    log "dependency build failed (log: $CACHE/build.log)"
    exit 1
  }
}

build_project() {
  log "cross-compiling UltraDict and its tests into $BUILD"
  mkdir -p "$BUILD"
  make -s -f tools/windows/project.mk CACHE="$CACHE" BUILD="$BUILD" -j"$JOBS" all
}

WINEPREFIX_DIR=""
cleanup() {
  if [[ -n $WINEPREFIX_DIR ]]; then
    WINEPREFIX=$WINEPREFIX_DIR timeout 30 wineserver -k >/dev/null 2>&1 || true
    rm -rf "$WINEPREFIX_DIR"
  fi
}

run_tests() {
  WINEPREFIX_DIR=$(mktemp -d /tmp/ultradict-wine.XXXXXX)
  trap cleanup EXIT
  export WINEPREFIX=$WINEPREFIX_DIR WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  local wine=wine
  command -v wine >/dev/null || wine=/usr/lib/wine/wine64
  log "initializing WINEPREFIX $WINEPREFIX"
  timeout "$TEST_TIMEOUT" wineboot -i >/dev/null 2>&1 || timeout "$TEST_TIMEOUT" "$wine" cmd /c exit >/dev/null 2>&1 || true

  local passed=0 failed=0 cases=0 failed_names=() exe name rc out start n
  for exe in "$BUILD"/bin/*.exe; do
    name=$(basename "$exe" .exe)
    out="$BUILD/logs/$name.log"
    mkdir -p "$BUILD/logs"
    start=$(date +%s)
    rc=0
    (cd "$BUILD" && timeout "$TEST_TIMEOUT" "$wine" "$exe" >"$out" 2>&1) || rc=$?
    if [[ $rc -ne 0 && $rc -ne 124 ]] && ! grep -q '^\[==========\]' "$out"; then
      # Wine itself failed before the program's first line (seen once:
      # "wine client error:0: recvmsg: Connection reset by peer"): once more.
      echo "      $name did not start under Wine (exit $rc): retried once"
      rc=0
      (cd "$BUILD" && timeout "$TEST_TIMEOUT" "$wine" "$exe" >"$out" 2>&1) || rc=$?
    fi
    # Wine can exit 0 after an unhandled exception (its debugger prints a
    # backtrace and the process ends): a run passes only with gtest's
    # closing summary.
    if [[ $rc -eq 0 ]] && ! grep -qE '^\[  PASSED  \] [0-9]+ test' "$out"; then
      echo "run_tests.sh: $name ended without gtest's summary (crashed?)" >>"$out"
      rc=1
    fi
    local counts
    counts=$(grep -E '^\[  PASSED  \]|^\[  FAILED  \] [0-9]+ test' "$out" | tr '\n' ' ' || true)
    n=$(grep -oE '^\[==========\] [0-9]+ tests? from' "$out" | tail -1 | grep -oE '[0-9]+' | head -1 || true)
    cases=$((cases + ${n:-0}))
    if [[ $rc -eq 0 ]]; then
      passed=$((passed + 1))
      echo "PASS  $name ($(( $(date +%s) - start ))s) $counts"
    else
      failed=$((failed + 1))
      failed_names+=("$name")
      echo "FAIL  $name (exit $rc$([[ $rc -eq 124 ]] && echo ', timed out')) $counts"
      grep -E '^\[  FAILED  \]|Failure|error' "$out" | head -20 | sed 's/^/      /'
      echo "      log: $out"
    fi
  done
  echo "Windows (Wine) test programs: $passed passed, $failed failed ($cases test cases run)"
  [[ $failed -eq 0 ]]
}

main() {
  local t0; t0=$(date +%s)
  install_packages
  fetch_sources
  build_deps
  build_project
  local rc=0
  run_tests || rc=$?
  log "done in $(( $(date +%s) - t0 ))s"
  return $rc
}

main "$@"
