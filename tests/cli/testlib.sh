# testlib.sh: helpers for the `ultradict` CLI tests (sourced by each test).
#
# Every test gets a private segment directory ($ULTRADICT_DIR under
# $TEST_TMPDIR, so nothing touches /dev/shm) and a unique dictionary name
# ($NAME); both are removed on exit, even when the test fails.

set -euo pipefail

UD="${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tools/ultradict"
[[ -x $UD ]] || { echo "FAIL: ultradict binary not found at $UD" >&2; exit 1; }
export ULTRADICT_DIR="${TEST_TMPDIR}/shm.$$"
mkdir -p "$ULTRADICT_DIR"
NAME="cli_$$_${RANDOM}"
SCRATCH="${TEST_TMPDIR}/scratch.$$"
mkdir -p "$SCRATCH"

cleanup() {
  "$UD" destroy "$NAME" --force >/dev/null 2>&1 || true
  rm -rf "$ULTRADICT_DIR" "$SCRATCH"
  if compgen -G "/dev/shm/ud.${NAME}*" >/dev/null; then
    echo "FAIL: segments of $NAME leaked into /dev/shm" >&2
    exit 1
  fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [[ -f $SCRATCH/out ]] && { echo "--- stdout:" >&2; head -c 4000 "$SCRATCH/out" >&2; }
  [[ -f $SCRATCH/err ]] && { echo "--- stderr:" >&2; head -c 4000 "$SCRATCH/err" >&2; }
  exit 1
}

# run CMD...: runs CMD; $RC is its exit code, $SCRATCH/out and $SCRATCH/err
# its output, $OUT and $ERR the same as strings.
run() {
  set +e
  "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null
  RC=$?
  set -e
  OUT=$(cat "$SCRATCH/out")
  ERR=$(cat "$SCRATCH/err")
}

# expect CODE CMD...: runs CMD and checks its exit code.
expect() {
  local want=$1
  shift
  run "$@"
  [[ $RC == "$want" ]] || fail "'$*' exited $RC, expected $want"
}

# expect_error CODE CMD...: CMD exits CODE with exactly one line on stderr,
# "ultradict: ...".
expect_error() {
  expect "$@"
  local lines
  lines=$(wc -l <"$SCRATCH/err")
  [[ $lines == 1 ]] || fail "'${*:2}' wrote $lines lines on stderr, expected 1"
  [[ $ERR == ultradict:* ]] || fail "'${*:2}': stderr does not start with 'ultradict:'"
}

# expect_line PATTERN: $SCRATCH/out has a line matching the fixed string.
expect_line() {
  grep -qxF -- "$1" "$SCRATCH/out" || fail "no line '$1' in the output"
}

# flip_byte FILE OFFSET: inverts the bits of one byte in place.
flip_byte() {
  local v
  v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $((v ^ 0xff)))" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# wait_for_file_text FILE TEXT: waits (10 s at most) until FILE holds TEXT.
wait_for_file_text() {
  for _ in $(seq 1 200); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "timed out waiting for '$2' in $1"
}

# segment_path GEN KIND: the file of $NAME's segment of generation GEN, KIND
# log or snap (its name holds a tag that only the control segment tells).
segment_path() {
  local f
  for f in "$ULTRADICT_DIR/ud.$NAME.$1."*".$2" "$ULTRADICT_DIR/ud.$NAME.$1.$2"; do
    if [[ -e $f || -L $f ]]; then
      echo "$f"
      return 0
    fi
  done
  echo "$ULTRADICT_DIR/no-$2-of-generation-$1"
}

# json_check EXPR...: $SCRATCH/out is one JSON document (parsed with
# Python's json module, as `d`) and each Python expression is true of it.
json_check() {
  python3 - "$SCRATCH/out" "$@" <<'PY' || fail "JSON check failed (see above)"
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    d = json.load(f)
for expr in sys.argv[2:]:
    if not eval("(" + expr + ")", {"d": d}):
        sys.exit("JSON check false: " + expr)
PY
}
