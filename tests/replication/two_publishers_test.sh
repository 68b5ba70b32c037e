#!/usr/bin/env bash
# Two publishers of one dictionary on one stream: the second stands by while
# the first holds the stream's lease (nothing is published twice, no XADD
# collides), takes over when the first stops cleanly, and again after a
# SIGKILL once the killed one's lease expired (kLeaseMs, 5 s). The follower
# ends with the primary's data each time.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/replication/testlib.sh" || exit 1

NAME=repl_two_$$
start_redis
"$TOOL" load "$A" "$NAME" 0 1 >/dev/null
pub() { bg "$1" "$UD" publish "$NAME" --dir "$A" --redis "$(url)"; }
wait_log() {  # wait_log FILE PATTERN: up to 30 s.
  for i in $(seq 1 300); do grep -q "$2" "$WORK/$1" 2>/dev/null && return 0; sleep 0.1; done
  fail "$1 never said \"$2\""
}
pub p1; P1=$LAST_PID
wait_log p1.log "publishing"
pub p2; P2=$LAST_PID
bg f1 "$UD" follow "$NAME" --dir "$B" --redis "$(url)" --id f1; F1=$LAST_PID
wait_log p2.log "standing by"
"$TOOL" load "$A" "$NAME" 8000 2 2000 >/dev/null  # Compacts every 2,000.
wait_same "$A" "$B" "$NAME"
grep -q "publishing" "$WORK/p2.log" && fail "p2 published while p1 held the lease"
grep -q "XADD" "$WORK/p1.log" "$WORK/p2.log" && fail "an XADD collided"
[[ $(rcli GET "ultradict:$NAME:lease") == *":$P1:"* ]] || fail "p1 does not hold the lease"

# A clean stop releases the lease: p2 takes over (within its backoff).
kill -TERM "$P1"; wait "$P1" || fail "p1 unclean stop"
"$TOOL" load "$A" "$NAME" 3000 3 >/dev/null
wait_log p2.log "publishing"
wait_same "$A" "$B" "$NAME"

# Killed, p2 keeps its lease until it expires: p3 stands by, then takes over.
pub p3; P3=$LAST_PID
wait_log p3.log "standing by"
kill -9 "$P2"; wait "$P2" 2>/dev/null || true
"$TOOL" load "$A" "$NAME" 3000 4 >/dev/null
wait_log p3.log "publishing"
wait_same "$A" "$B" "$NAME"
grep -q "XADD" "$WORK/p3.log" && fail "an XADD collided"
kill -TERM "$P3" "$F1"; wait "$P3" && wait "$F1" || fail "unclean stop"
echo PASS
