#!/usr/bin/env bash
# cmake_check.sh: the CI checks of the CMake build (issue 21). Each command
# fails loudly (non-zero exit, the failing command's output) when something
# is wrong; .ci/run runs them in this order.
#
#   tools/cmake_check.sh sources   Bazel's and CMake's source lists agree
#                                  (tools/check_sources.py)
#   tools/cmake_check.sh build     configure (RelWithDebInfo, shared and
#                                  static, tests on), build, ctest -j2
#   tools/cmake_check.sh install   install to a fresh prefix; build and run
#                                  tests/consumer_cmake (shared and static)
#                                  and tests/consumer_pkgconfig (both) there
#   tools/cmake_check.sh deb       cpack -G DEB, apt-get install the .deb,
#                                  build and run the pkg-config consumer
#                                  against /usr, remove the package
#
# The build directory is $ULTRADICT_CMAKE_BUILD (default
# /tmp/ultradict-cmake-build; `build` starts it afresh); JOBS (default 2).
# CTEST_EXCLUDE: a regular expression (ctest -E) of tests `build` builds
# but does not run (default: none; .ci/run leaves out the slow multi-process
# cases that its Bazel steps run three times); the excluded tests are listed.
# DEBUG_INFO: the debug-information flag of `build` (default -g; .ci/run
# uses -g1, line tables only: a quarter less compile time, the same -O2 code
# and warnings).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BUILD=${ULTRADICT_CMAKE_BUILD:-/tmp/ultradict-cmake-build}
JOBS=${JOBS:-2}

say() { echo "cmake_check: $*"; }
die() { echo "cmake_check: FAILED: $*" >&2; exit 1; }

# Temporary directories, removed on exit (also when a check dies).
TEMPS=()
trap 'rm -rf "${TEMPS[@]+"${TEMPS[@]}"}"' EXIT
# tempdir VAR KIND: a new directory in VAR.
tempdir() {
  local d
  d=$(mktemp -d "/tmp/ultradict-$2.XXXXXX")
  TEMPS+=("$d")
  printf -v "$1" '%s' "$d"
}

# links BINARY: its shared libraries (ldd), as a string (grep -q on a pipe
# would fail the pipeline under pipefail).
links() { ldd "$1" || die "ldd $1"; }

shm_list() { find /dev/shm -maxdepth 1 -name 'ud.*' 2>/dev/null | sort; }

build() {
  rm -rf "$BUILD"
  # /usr: the prefix of the .deb (`install` overrides it with --prefix).
  # RelWithDebInfo without its -DNDEBUG: assert() stays on, as in the
  # `bazel test` build (a death test checks one).
  local debug_info=${DEBUG_INFO:--g}
  [[ $debug_info =~ ^-g[0-3]?$ ]] || die "DEBUG_INFO=$debug_info: expected -g, -g1, -g2 or -g3"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 $debug_info" \
    -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_SHARED_LIBS=ON -DULTRADICT_BUILD_TESTS=ON
  cmake --build "$BUILD" -j"$JOBS"
  local before after
  before=$(shm_list)
  local exclude=()
  if [[ -n ${CTEST_EXCLUDE:-} ]]; then
    exclude=(-E "$CTEST_EXCLUDE")
    say "not run here (CTEST_EXCLUDE):"
    ctest --test-dir "$BUILD" -N -R "$CTEST_EXCLUDE" | grep -E '^ *Test +#' ||
      die "CTEST_EXCLUDE matches no test: $CTEST_EXCLUDE"
  fi
  ctest --test-dir "$BUILD" -j"$JOBS" --output-on-failure --no-tests=error \
    "${exclude[@]+"${exclude[@]}"}"
  after=$(shm_list)
  if [[ $after != "$before" ]]; then
    die "ctest left segments in /dev/shm: $(comm -13 <(echo "$before") <(echo "$after"))"
  fi
}

# run_consumer BINARY: runs it, expects its OK line.
run_consumer() {
  local out
  out=$("$@") || die "$* exited $?"
  echo "$out"
  grep -q '^two_processes: OK' <<<"$out" || die "$*: no OK line"
}

install_check() {
  [[ -f $BUILD/CMakeCache.txt ]] || die "no build in $BUILD (run: $0 build)"
  local prefix work libdir
  tempdir prefix prefix
  tempdir work consumers
  cmake --install "$BUILD" --prefix "$prefix"
  for f in include/ultradict/db.h include/ultradict/version.h bin/ultradict bin/db_bench; do
    [[ -e $prefix/$f ]] || die "not installed: $f"
  done
  libdir=$(dirname "$(find "$prefix" -name libultradict.a)")
  [[ -e $libdir/libultradict.so && -e $libdir/pkgconfig/ultradict.pc &&
     -e $libdir/cmake/ultradict/ultradictConfig.cmake ]] ||
    die "not installed in $libdir: libultradict.so, pkgconfig/ultradict.pc, cmake/ultradict/"
  local version
  version=$("$prefix/bin/ultradict" --version) || die "ultradict --version"
  say "installed in $prefix: $version"

  local target
  for target in ultradict::ultradict ultradict::ultradict_static; do
    local dir=$work/cmake-${target##*::}
    cmake -S "$ROOT/tests/consumer_cmake" -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" \
      -DULTRADICT_TARGET="$target" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    grep -q "^ultradict_DIR:PATH=$prefix/" "$dir/CMakeCache.txt" ||
      die "find_package found another ultradict: $(grep ^ultradict_DIR "$dir/CMakeCache.txt")"
    cmake --build "$dir" -j"$JOBS"
    if [[ $target == *static ]]; then
      ! grep -q libultradict <<<"$(links "$dir/two_processes")" || die "$target: links libultradict.so"
    else
      grep -q "libultradict.so.* => $libdir/" <<<"$(links "$dir/two_processes")" ||
        die "$target: not linked with $libdir/libultradict.so"
    fi
    run_consumer "$dir/two_processes"
  done

  cp -r "$ROOT/tests/consumer_cmake" "$ROOT/tests/consumer_pkgconfig" "$work/"
  local static
  for static in "" 1; do
    PKG_CONFIG_PATH=$libdir/pkgconfig make -s -C "$work/consumer_pkgconfig" \
      clean two_processes STATIC=$static
    if [[ -n $static ]]; then
      ! grep -q libultradict <<<"$(links "$work/consumer_pkgconfig/two_processes")" ||
        die "pkg-config --static: links libultradict.so"
    fi
    LD_LIBRARY_PATH=$libdir run_consumer "$work/consumer_pkgconfig/two_processes"
  done
}

deb_check() {
  [[ -f $BUILD/CMakeCache.txt ]] || die "no build in $BUILD (run: $0 build)"
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  if dpkg-query -W -f='${Status}' ultradict 2>/dev/null | grep -q 'install ok installed'; then
    die "the ultradict package is already installed (remove it first: apt-get remove ultradict)"
  fi
  rm -f "$BUILD"/ultradict_*.deb
  (cd "$BUILD" && cpack -G DEB)
  local deb
  deb=$(ls "$BUILD"/ultradict_*.deb) || die "cpack made no .deb"
  dpkg-deb --field "$deb" Package Version Architecture Depends Installed-Size
  dpkg-deb --contents "$deb" | awk '{print $6, $7, $8}' | grep -E '/(bin|include/ultradict|lib.*)/[^/]+( |$)'
  local work rc=0
  tempdir work deb
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$deb" >"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log"; die "apt-get install $deb"; }
  (
    set -e
    [[ $(/usr/bin/ultradict --version) == "ultradict $(dpkg-query -W -f='${Version}' ultradict)" ]] ||
      die "ultradict --version does not match the package version"
    cp -r "$ROOT/tests/consumer_cmake" "$ROOT/tests/consumer_pkgconfig" "$work/"
    # Only /usr: no PKG_CONFIG_PATH.
    env -u PKG_CONFIG_PATH make -s -C "$work/consumer_pkgconfig" two_processes
    # (/lib is /usr/lib on Debian 12: ldd may print either.)
    grep -qE 'libultradict.so.* => (/usr)?/lib/' <<<"$(links "$work/consumer_pkgconfig/two_processes")" ||
      die "the consumer does not use the packaged /usr/lib/.../libultradict.so"
    run_consumer "$work/consumer_pkgconfig/two_processes"
    # And find_package finds the packaged library without a prefix path.
    cmake -S "$work/consumer_cmake" -B "$work/cmake" >/dev/null
    grep -q '^ultradict_DIR:PATH=/usr/lib/' "$work/cmake/CMakeCache.txt" ||
      die "find_package: $(grep ^ultradict_DIR "$work/cmake/CMakeCache.txt")"
    cmake --build "$work/cmake" -j"$JOBS" >/dev/null
    run_consumer "$work/cmake/two_processes"
  ) || rc=$?
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get remove -y -qq ultradict >/dev/null ||
    { rc=1; echo "cmake_check: apt-get remove ultradict failed" >&2; }
  [[ ! -e /usr/bin/ultradict ]] || die "/usr/bin/ultradict still there after removal"
  return $rc
}

case ${1:-} in
  sources) tools/check_sources.py ;;
  build) build ;;
  install) install_check ;;
  deb) deb_check ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
say "${1} OK"
