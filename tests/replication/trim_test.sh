#!/usr/bin/env bash
# Trimming and compaction: the publisher checkpoints every 5,000 records and
# keeps one checkpoint, so the stream is trimmed behind it. A stopped
# follower restarted after its position was trimmed bootstraps; a follower
# started late bootstraps; the primary compacts during publishing; records
# compacted away while the publisher was down are covered by a checkpoint.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/replication/testlib.sh" || exit 1

NAME=repl_trim_$$
start_redis
"$TOOL" load "$A" "$NAME" 0 1 >/dev/null
pub() {
  bg pub "$UD" publish "$NAME" --dir "$A" --redis "$(url)" \
    --checkpoint-every 5000 --keep-checkpoints 1
  PUB=$LAST_PID
}
pub
bg f1 "$UD" follow "$NAME" --dir "$B" --redis "$(url)" --id f1; F1=$LAST_PID
"$TOOL" load "$A" "$NAME" 30000 11 3000 >/dev/null  # Compacts every 3,000.
wait_same "$A" "$B" "$NAME"

# Stop f1, write more: its position is trimmed from the stream.
kill -TERM "$F1"; wait "$F1" || fail "f1 unclean stop"
"$TOOL" load "$A" "$NAME" 30000 12 >/dev/null
pos=$("$UD" stat --dir "$B" "$NAME" | sed -n 's/^replication position: //p')
for i in $(seq 1 200); do
  deleted=$(rcli XRANGE "ultradict:$NAME" - + COUNT 1 | sed -n 1p)
  [[ ${deleted%-*} -gt $pos ]] && break; sleep 0.1
done
log "f1 stopped at $pos; the stream now starts at $deleted"
[[ ${deleted%-*} -gt $pos ]] || fail "the stream was not trimmed past $pos"
bg f1 "$UD" follow "$NAME" --dir "$B" --redis "$(url)" --id f1; F1=$LAST_PID
bg f2 "$UD" follow "$NAME" --dir "$C" --redis "$(url)" --id f2; F2=$LAST_PID
wait_same "$A" "$B" "$NAME"
wait_same "$A" "$C" "$NAME"
grep -q "trimmed past its position" "$WORK/f1.log" || fail "f1 did not bootstrap"
grep -q "a new follower" "$WORK/f2.log" || fail "f2 did not bootstrap"

# The publisher is down while the primary compacts: it resumes with a
# checkpoint, and the followers bootstrap over the gap.
kill -9 "$PUB"; wait "$PUB" 2>/dev/null || true
"$TOOL" load "$A" "$NAME" 20000 13 1000 >/dev/null
pub
wait_same "$A" "$B" "$NAME"
wait_same "$A" "$C" "$NAME"
grep -q "compacted before publishing" "$WORK/pub.log" || fail "no checkpoint over the compaction"
grep -q "gap after its position" "$WORK/f2.log" || fail "f2 did not see the gap"

# A local write to a followed copy is refused; forced (--write-replica), it
# is undone at the next applied entry.
"$UD" put --dir "$B" "$NAME" local-key local-value 2>/dev/null && fail "a local put was not refused"
"$UD" put --write-replica --dir "$B" "$NAME" local-key local-value
"$TOOL" load "$A" "$NAME" 10 14 >/dev/null
wait_same "$A" "$B" "$NAME"
grep -q "written to locally" "$WORK/f1.log" || fail "f1 did not notice the local write"
echo PASS
