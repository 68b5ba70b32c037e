#!/usr/bin/env bash
# watch_test.sh: `watch` in a background process sees the writes of other
# invocations, --from-start, --count, SIGTERM, and updates folded into a
# snapshot before they could be read.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/cli/testlib.sh"

expect 0 "$UD" put "$NAME" before 0

# Three updates from other processes, then exit by --count.
timeout 30 "$UD" watch "$NAME" --count 3 >"$SCRATCH/w1.out" 2>"$SCRATCH/w1.err" &
pid=$!
wait_for_file_text "$SCRATCH/w1.err" "watching \"$NAME\""
"$UD" put "$NAME" "k 1" "v 1"
"$UD" del "$NAME" before
printf 'x\ty' | "$UD" put "$NAME" k2 -
wait "$pid" || fail "watch --count 3 exited $?"
[[ $(cat "$SCRATCH/w1.out") == $'put k\\x201 v\\x201\ndel before\nput k2 x\\ty' ]] ||
  fail "watch saw: $(cat "$SCRATCH/w1.out")"

# --from-start prints the contents first; --count counts updates only.
timeout 30 "$UD" watch "$NAME" --from-start --count 1 >"$SCRATCH/w2.out" 2>"$SCRATCH/w2.err" &
pid=$!
wait_for_file_text "$SCRATCH/w2.err" "watching"
"$UD" put "$NAME" k3 v3
wait "$pid" || fail "watch --from-start exited $?"
[[ $(cat "$SCRATCH/w2.out") == $'put k\\x201 v\\x201\nput k2 x\\ty\nput k3 v3' ]] ||
  fail "watch --from-start saw: $(cat "$SCRATCH/w2.out")"

# SIGTERM ends it cleanly (exit 0).
timeout 30 "$UD" watch "$NAME" >"$SCRATCH/w3.out" 2>"$SCRATCH/w3.err" &
pid=$!
wait_for_file_text "$SCRATCH/w3.err" "watching"
kill -TERM "$pid"
wait "$pid" || fail "watch after SIGTERM exited $?"

# Updates folded into a snapshot while the watcher was stopped: it says so
# and goes on with the next update. (No `timeout` wrapper here: the
# watcher itself must be the process that is stopped.)
"$UD" watch "$NAME" --count 1 >"$SCRATCH/w4.out" 2>"$SCRATCH/w4.err" &
pid=$!
wait_for_file_text "$SCRATCH/w4.err" "watching"
kill -STOP "$pid"
"$UD" put "$NAME" folded 1
"$UD" compact "$NAME"
kill -CONT "$pid"
wait_for_file_text "$SCRATCH/w4.out" "were folded into a snapshot"
"$UD" put "$NAME" later 2
wait "$pid" || fail "watch after a fold exited $?"
grep -qE '^# updates [0-9]+\.\.[0-9]+ were folded into a snapshot; continuing from sequence [0-9]+$' \
  "$SCRATCH/w4.out" || fail "no fold line: $(cat "$SCRATCH/w4.out")"
[[ $(tail -n 1 "$SCRATCH/w4.out") == "put later 2" ]] || fail "nothing after the fold"

# A watched dictionary that is destroyed: exit 1.
timeout 30 "$UD" watch "$NAME" >"$SCRATCH/w5.out" 2>"$SCRATCH/w5.err" &
pid=$!
wait_for_file_text "$SCRATCH/w5.err" "watching"
"$UD" destroy "$NAME"
set +e
wait "$pid"
rc=$?
set -e
[[ $rc == 1 ]] || fail "watch of a destroyed dictionary exited $rc"
echo PASS
