#!/usr/bin/env bash
# Faults at random points, repeated: SIGKILL the publisher, a follower and
# redis-server while the primary is written to (with compactions), then
# restart them. After recovery the digests are equal: nothing committed at
# the primary is missing at the follower. Sized for CI: 4 rounds of 15,000
# updates (about 20 s on 2 cores).
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/replication/testlib.sh" || exit 1

NAME=repl_fault_$$
ROUNDS=${ROUNDS:-4}
start_redis
"$TOOL" load "$A" "$NAME" 0 1 >/dev/null
pub() { bg pub "$UD" publish "$NAME" --dir "$A" --redis "$(url)" --checkpoint-every 20000; PUB=$LAST_PID; }
fol() { bg f1 "$UD" follow "$NAME" --dir "$B" --redis "$(url)" --id f1; F1=$LAST_PID; }
pause() { sleep "0.$((RANDOM % 5 + 1))"; }
pub; fol
for round in $(seq 1 "$ROUNDS"); do
  bg load "$TOOL" load "$A" "$NAME" 15000 "$round" 4000; LOAD=$LAST_PID
  pause; kill -9 "$PUB"; wait "$PUB" 2>/dev/null || true; pause; pub
  pause; kill -9 "$F1"; wait "$F1" 2>/dev/null || true; pause; fol
  pause; kill_redis; pause; start_redis
  wait "$LOAD" || fail "load failed"
  log "round $round: faults injected"
done
wait_same "$A" "$B" "$NAME" 60
# The processes survived the redis kill by reconnecting, not by restarts.
kill -0 "$PUB" && kill -0 "$F1" || fail "publisher or follower exited"
grep -q "retrying in" "$WORK/pub.log" "$WORK/f1.log" || fail "no reconnect logged"
kill -TERM "$PUB" "$F1"; wait "$PUB" && wait "$F1" || fail "unclean stop"
echo PASS
