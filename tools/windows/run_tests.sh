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
# Debian source packages built with mingw, and a file each tree must have.
SOURCE_PACKAGES=(abseil libzstd)
declare -A SOURCE_KEY=([abseil]=absl/base/config.h [libzstd]=lib/zstd.h)

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

# have_sources: apt knows the source packages we need (deb-src entries and
# their lists are there).
have_sources() {
  local pkg
  for pkg in "${SOURCE_PACKAGES[@]}"; do
    [[ -n $(source_versions "$pkg") ]] || return 1
  done
}

# deb-src for Debian's own archive: the same URIs/suites as the deb entries.
# Whether sources are available is asked of apt (not inferred from the
# presence of some deb-src line, which may be for another archive or have
# no downloaded lists yet).
ensure_deb_src() {
  have_sources && return 0
  if [[ ! -f $DEB_SRC_LIST ]]; then
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
  fi
  log "apt-get update (for the deb-src lists)"
  "${sudo_cmd[@]}" apt-get update -qq
  have_sources || {
    log "apt-cache showsrc lists no version of some of: ${SOURCE_PACKAGES[*]} (deb-src entries: $DEB_SRC_LIST)"
    exit 1
  }
}

# sort_versions_desc: Debian versions on stdin, one a line, newest first
# (dpkg --compare-versions; the lists are a handful of lines).
sort_versions_desc() {
  local v sorted=() i inserted
  while read -r v; do
    [[ -n $v ]] || continue
    inserted=0
    for i in "${!sorted[@]}"; do
      if dpkg --compare-versions "$v" gt "${sorted[$i]}"; then
        sorted=("${sorted[@]:0:$i}" "$v" "${sorted[@]:$i}")
        inserted=1
        break
      fi
    done
    [[ $inserted -eq 1 ]] || sorted+=("$v")
  done
  [[ ${#sorted[@]} -eq 0 ]] || printf '%s\n' "${sorted[@]}"
}

# source_versions PKG: the versions of source package PKG that apt-cache
# showsrc lists (every configured suite: main, -updates, -security), newest
# first, each once.
source_versions() {
  apt-cache showsrc "$1" 2>/dev/null |
    awk -v p="$1" '/^Package: /{ok=($2==p)} ok && /^Version: /{print $2}' |
    sort -u | sort_versions_desc
}

# source_dir PKG: the complete, fetched source tree of PKG in $CACHE/src (the
# one with the marker fetch_source writes last), or nothing.
source_dir() {
  local d
  for d in "$CACHE/src/$1"-*/; do
    [[ -f $d/.ultradict-fetched ]] && { echo "${d%/}"; return 0; }
  done
  return 0
}

# fetch_source PKG KEYFILE: apt-get source PKG into $CACHE/src, trying every
# version apt-cache showsrc lists, newest first, until one downloads and
# unpacks with KEYFILE in it. The archive may list a version whose files it
# no longer (or not yet) serves: bookworm-security's libzstd
# 1.5.4+dfsg2-5+deb12u1 answers 404 from some mirrors while bookworm's
# 1.5.4+dfsg2-5 is there. The build needs a source, not a given version.
# Each attempt works in its own hidden directory that only a complete tree
# leaves (moved into $CACHE/src under its own name, marker written last), so
# no failed or interrupted attempt leaves a tree that $CACHE/src/PKG-*
# matches.
fetch_source() {
  local pkg=$1 key=$2 versions=() v work dirs tried=() reason
  mapfile -t versions < <(source_versions "$pkg")
  if [[ ${#versions[@]} -eq 0 ]]; then
    log "apt-cache showsrc $pkg lists no version (no deb-src entry for it?)"
    return 1
  fi
  log "source $pkg: candidates, newest first: ${versions[*]}"
  for v in "${versions[@]}"; do
    work=$(mktemp -d "$CACHE/src/.fetch-$pkg.XXXXXX")
    if (cd "$work" && apt-get source -q "$pkg=$v" >"$work/apt-get.log" 2>&1); then
      mapfile -t dirs < <(find "$work" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*")
      if [[ ${#dirs[@]} -eq 1 && -e ${dirs[0]}/$key ]]; then
        local dest="$CACHE/src/$(basename "${dirs[0]}")"
        rm -rf "$dest"
        mv "${dirs[0]}" "$dest"
        echo "$pkg=$v" >"$dest/.ultradict-fetched"
        rm -rf "$work"
        log "source $pkg: using $v ($dest)"
        return 0
      fi
      reason="unpacked, but no single $pkg-*/ directory with $key"
    else
      reason=$(grep -E '^(E|W): ' "$work/apt-get.log" | grep -vE 'unsandboxed|^W: Skipping' |
               head -3 | tr '\n' ' ')
      [[ -n $reason ]] || reason=$(tail -2 "$work/apt-get.log" | tr '\n' ' ')
    fi
    log "source $pkg: $v failed, skipped: $reason"
    tried+=("$v (${reason% })")
    rm -rf "$work"
  done
  log "source $pkg: every version failed; tried:"
  for v in "${tried[@]}"; do log "  $v"; done
  return 1
}

fetch_sources() {
  mkdir -p "$CACHE/src"
  # Leftovers of an interrupted attempt, and trees without the marker
  # (unpacked by an older run_tests.sh, or incompletely): fetched again.
  rm -rf "$CACHE"/src/.fetch-*
  local pkg d
  for pkg in "${SOURCE_PACKAGES[@]}"; do
    [[ -n $(source_dir "$pkg") ]] && continue
    for d in "$CACHE/src/$pkg"-*/; do
      [[ -d $d ]] || continue
      log "removing $d (no .ultradict-fetched marker: incomplete or from an older run_tests.sh)"
      rm -rf "$d"
    done
    ensure_deb_src
    fetch_source "$pkg" "${SOURCE_KEY[$pkg]}" || {
      log "could not fetch the source of $pkg"
      exit 1
    }
  done
}

# build_deps: the mingw libraries, built once per set of sources. The cache
# records which fetched sources (package=version) its libraries were built
# from; when that is not the set fetch_sources left, the objects, libraries
# and headers are dropped and rebuilt rather than trusted.
build_deps() {
  local absl zstd stamp
  absl=$(source_dir abseil); zstd=$(source_dir libzstd)
  stamp="$(cat "$absl/.ultradict-fetched" "$zstd/.ultradict-fetched")"
  if [[ -f $CACHE/lib/libabsl.a && -f $CACHE/lib/libzstd.a &&
        -f $CACHE/lib/libgtest.a && -f $CACHE/include/xxhash.h &&
        -e $CACHE/include/absl && -f $CACHE/lib/.built-from &&
        $(cat "$CACHE/lib/.built-from") == "$stamp" ]]; then
    return 0  # Built already, from these sources.
  fi
  rm -rf "$CACHE/obj" "$CACHE/lib" "$CACHE/include"
  log "building Abseil, zstd and GoogleTest with mingw into $CACHE (once) from" \
      "$(echo $stamp)"
  make -s -f tools/windows/deps.mk CACHE="$CACHE" ABSL_SRC="$absl/" ZSTD_SRC="$zstd/" \
      -j"$JOBS" all >"$CACHE/build.log" 2>&1 || {
    tail -40 "$CACHE/build.log" >&2
    log "dependency build failed (log: $CACHE/build.log)"
    exit 1
  }
  echo "$stamp" >"$CACHE/lib/.built-from"
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

# timed NAME CMD...: run one phase and log how long it took.
timed() {
  local name=$1 t; shift
  t=$(date +%s)
  "$@"
  log "$name: $(( $(date +%s) - t ))s"
}

main() {
  local t0; t0=$(date +%s)
  timed "packages" install_packages
  timed "sources" fetch_sources
  timed "dependencies (mingw)" build_deps
  timed "UltraDict and tests (mingw)" build_project
  local rc=0 t; t=$(date +%s)
  run_tests || rc=$?
  log "tests under Wine: $(( $(date +%s) - t ))s"
  log "done in $(( $(date +%s) - t0 ))s"
  return $rc
}

# Sourcing the script (to call its functions by hand) runs nothing.
[[ ${BASH_SOURCE[0]} != "$0" ]] || main "$@"
