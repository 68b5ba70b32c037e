#!/usr/bin/env bash
# bad_input_test.sh: every kind of bad input gives its documented exit code
# and one clear line on stderr, never a crash, a hang or partial output.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/cli/testlib.sh"

# Help: exit 0, exit codes documented.
for help in --help -h help; do
  expect 0 "$UD" $help
  [[ $OUT == *"Exit codes:"*"3  damage found"* ]] || fail "$help: no exit codes"
done
for cmd in put get del ls list stat watch dump verify destroy compact; do
  expect 0 "$UD" "$cmd" --help
  [[ $OUT == "Usage: ultradict $cmd"*"--dir"*"Exit codes:"* ]] || fail "$cmd --help"
done
expect 0 "$UD" help dump
[[ $OUT == "Usage: ultradict dump"* ]] || fail "help dump"

# Usage errors: exit 2.
expect 2 "$UD"
expect_error 2 "$UD" frobnicate
expect_error 2 "$UD" help frobnicate
expect_error 2 "$UD" get
expect_error 2 "$UD" get "$NAME"
expect_error 2 "$UD" put "$NAME" k
expect_error 2 "$UD" put "$NAME" k v extra
expect_error 2 "$UD" ls "$NAME" --bogus
expect_error 2 "$UD" ls "$NAME" --limit
expect_error 2 "$UD" ls "$NAME" --limit=-3
expect_error 2 "$UD" ls "$NAME" --limit abc
expect_error 2 "$UD" ls "$NAME" --values=yes
expect_error 2 "$UD" watch "$NAME" --count 0
expect_error 2 "$UD" get "bad/name" k
expect_error 2 "$UD" get "$(printf 'n%.0s' {1..65})" k
expect_error 2 "$UD" put "" k v
expect_error 2 "$UD" dump
expect_error 2 "$UD" dump "$NAME" --segment /etc/passwd
expect_error 2 "$UD" verify --segment=
expect_error 2 "$UD" get "$NAME" -k
expect_error 2 "$UD" list --dir=

# A dictionary that does not exist: exit 1, and nothing created.
for cmd in "get $NAME k" "del $NAME k" "ls $NAME" "stat $NAME" \
    "compact $NAME" "destroy $NAME" "dump $NAME" "verify $NAME" \
    "watch $NAME"; do
  # shellcheck disable=SC2086
  expect_error 1 timeout 20 "$UD" $cmd
  [[ $ERR == *"does not exist"* ]] || fail "$cmd: unclear message: $ERR"
  [[ -z $OUT ]] || fail "$cmd printed on stdout"
done
[[ -z $(ls "$ULTRADICT_DIR") ]] || fail "a command on a missing name created files"
expect_error 1 "$UD" list --dir "$SCRATCH/no/such/dir"
# put creates the dictionary, not its segment directory: a missing directory
# is an error of the setup (exit 4) that names the directory.
expect_error 4 "$UD" put "$NAME" k v --dir "$SCRATCH/no/such/dir"
[[ $ERR == "ultradict: put: segment directory $SCRATCH/no/such/dir does not exist" ]] ||
  fail "put into a missing directory: $ERR"
expect_error 1 "$UD" get "$NAME" k --dir "$SCRATCH/no/such/dir"
[[ $ERR == *"does not exist in $SCRATCH/no/such/dir"* ]] || fail "get: $ERR"

# Files that are not (whole) segments, for dump and verify --segment.
expect 0 "$UD" put "$NAME" s1 one
expect 0 "$UD" compact "$NAME"
expect 0 "$UD" put "$NAME" a 1
D=$ULTRADICT_DIR
LOG=$(segment_path 2 log)
SNAP=$(segment_path 2 snap)
: >"$SCRATCH/empty"
printf 'UDLOG' >"$SCRATCH/tiny"
head -c 100 "$SNAP" >"$SCRATCH/snap.trunc"
head -c 1000 "$LOG" >"$SCRATCH/log.trunc"
head -c 4096 "$D/ud.$NAME" >"$SCRATCH/control.trunc"
head -c 4096 /dev/urandom >"$SCRATCH/random"
mkfifo "$SCRATCH/fifo"
for cmd in dump verify; do
  expect_error 3 "$UD" $cmd --segment /etc/passwd
  [[ $ERR == *"not an UltraDict segment"* && -z $OUT ]] || fail "$cmd /etc/passwd"
  expect_error 3 "$UD" $cmd --segment "$SCRATCH/random"
  [[ -z $OUT ]] || fail "$cmd random printed on stdout"
  expect_error 3 "$UD" $cmd --segment "$SCRATCH/empty"
  expect_error 3 "$UD" $cmd --segment "$SCRATCH/tiny"
  expect_error 1 "$UD" $cmd --segment "$SCRATCH/nonexistent"
  expect_error 2 "$UD" $cmd --segment "$SCRATCH"
  expect_error 2 timeout 20 "$UD" $cmd --segment "$SCRATCH/fifo"
  # Truncated segments: the report says DAMAGED, stderr one line, exit 3.
  for f in snap.trunc log.trunc control.trunc; do
    expect_error 3 "$UD" $cmd --segment "$SCRATCH/$f"
    grep -q "DAMAGE" "$SCRATCH/out" || fail "$cmd $f: no DAMAGE line"
    grep -q "problems: DAMAGED$" "$SCRATCH/out" || fail "$cmd $f: summary"
  done
done

# A missing segment of the current generation (the dictionary is damaged).
mv "$SNAP" "$SCRATCH/snap.moved"
expect_error 3 "$UD" verify "$NAME"
grep -qF "generation 2 is current but its segment cannot be read" "$SCRATCH/out" ||
  fail "missing snapshot not reported"
expect_error 3 "$UD" get "$NAME" a
mv "$SCRATCH/snap.moved" "$SNAP"
expect 0 "$UD" verify "$NAME"
echo PASS
