#!/usr/bin/env bash
# Steady state: a publisher on machine A, two followers (machines B and C),
# 200,000 mixed Puts, Deletes and WriteBatches at the primary. At the end
# the digests are equal, a reader on B never saw half a batch, stat shows
# lag 0, and SIGTERM stops every process cleanly (exit 0). A local
# `ultradict put` into a follower's copy fails (exit 4, naming the primary),
# also after the follower stopped, until `ultradict unfollow`.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/replication/testlib.sh" || exit 1

NAME=repl_main_$$
start_redis
"$TOOL" load "$A" "$NAME" 0 1 >/dev/null  # Creates the primary.
bg pub "$UD" publish "$NAME" --dir "$A" --redis "$(url)"; PUB=$LAST_PID
bg f1 "$UD" follow "$NAME" --dir "$B" --redis "$(url)" --id f1; F1=$LAST_PID
bg f2 "$UD" follow "$NAME" --dir "$C" --redis "$(url)" --id f2; F2=$LAST_PID
bg check "$TOOL" check-batches "$B" "$NAME" "$WORK/stop"; CHECK=$LAST_PID

start=$SECONDS
"$TOOL" load "$A" "$NAME" 200000 7 >"$WORK/load.out"
log "200000 updates at the primary in $((SECONDS - start))s (sequence $(cat "$WORK/load.out"))"
wait_same "$A" "$B" "$NAME" 60
wait_same "$A" "$C" "$NAME" 60
log "followers caught up $((SECONDS - start))s after the load started"
touch "$WORK/stop"
wait "$CHECK" || fail "a reader on B saw half a batch (check.log)"
cat "$WORK/check.log" >&2

# stat: the follower's position equals the publisher's (lag 0).
sleep 1.2  # Positions are reported every 200 ms (publisher).
"$UD" stat --dir "$B" "$NAME" >"$WORK/stat.out"
grep -q "^replication: follower of ultradict:$NAME" "$WORK/stat.out" || fail "stat: $(cat "$WORK/stat.out")"
grep -q "^replication lag: 0 records" "$WORK/stat.out" || fail "stat lag: $(cat "$WORK/stat.out")"
"$UD" stat --dir "$A" "$NAME" | grep -q "^replication publish lag: 0 records" || fail "publisher stat"
[[ $(digest "$A" "$NAME") =~ ^[0-9a-f]{16}$ ]] || fail "digest format"

# The followed copy refuses local writes (exit 4, naming the primary).
expect_put_refused() {
  local code=0
  "$UD" put --dir "$B" "$NAME" local_key v 2>"$WORK/put.err" || code=$?
  [[ $code == 4 ]] || fail "put into a followed copy: exit $code ($1)"
  grep -q "follows $(url)/0 stream ultradict:$NAME (ultradict follow); open it with Options::write_replica" \
    "$WORK/put.err" || fail "put into a followed copy ($1): $(cat "$WORK/put.err")"
}
expect_put_refused "follower running"
grep -q "^replica of: $(url)/0 stream ultradict:$NAME$" "$WORK/stat.out" || fail "stat: replica of: $(cat "$WORK/stat.out")"
"$UD" stat --dir "$A" "$NAME" >"$WORK/stat_a.out"
grep -q "^replica of: none$" "$WORK/stat_a.out" || fail "stat: primary not a replica: $(cat "$WORK/stat_a.out")"

# Clean shutdown on SIGTERM.
kill -TERM "$PUB" "$F1" "$F2"
for p in "$PUB" "$F1" "$F2"; do
  wait "$p" || fail "process $p did not exit 0 on SIGTERM"
done
grep -q "stopped at sequence" "$WORK/f1.log" || fail "f1 did not report its stop"
# The mark stays after the follower stopped (read-only copy) until unfollow.
expect_put_refused "follower stopped"
"$UD" unfollow --dir "$B" "$NAME" >"$WORK/unfollow.out" || fail "unfollow"
grep -q "^$NAME no longer follows $(url)/0 stream ultradict:$NAME: writable$" "$WORK/unfollow.out" ||
  fail "unfollow: $(cat "$WORK/unfollow.out")"
"$UD" put --dir "$B" "$NAME" local_key v || fail "put after unfollow"
echo PASS
