#!/usr/bin/env bash
# Bad input: Redis down at start, a stream of another dictionary, foreign
# and truncated entries, another format version. Each gives a clear error
# (exit code and message) and nothing of the bad entry is applied.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/replication/testlib.sh" || exit 1

NAME=repl_bad_$$
"$TOOL" load "$A" "$NAME" 100 1 >/dev/null
"$TOOL" load "$A" other_$$ 10 2 >/dev/null

# Redis down at start: both keep retrying, say why, and stop on SIGTERM.
REDIS_PORT=$(free_port)
bg pub "$UD" publish "$NAME" --dir "$A" --redis "$(url)"; PUB=$LAST_PID
bg f1 "$UD" follow "$NAME" --dir "$B" --redis "$(url)"; F1=$LAST_PID
sleep 1
grep -q "cannot connect to Redis at redis://127.0.0.1:$REDIS_PORT" "$WORK/pub.log" || fail "publisher: no message"
grep -q "cannot connect to Redis" "$WORK/f1.log" || fail "follower: no message"
# Once Redis is there, they proceed.
start_redis
wait_same "$A" "$B" "$NAME" 30
kill -TERM "$PUB" "$F1"; wait "$PUB" && wait "$F1" || fail "unclean stop"

expect() {  # expect CODE PATTERN LOG: the last process exited CODE, said PATTERN.
  local code=$1 pattern=$2 logf=$3 rc=0
  wait "$LAST_PID" || rc=$?
  [[ $rc -eq $code ]] || fail "exit $rc, expected $code: $(tail -2 "$logf")"
  grep -q -- "$pattern" "$logf" || fail "no \"$pattern\" in: $(tail -2 "$logf")"
}

# A stream of another dictionary: follow and publish refuse it.
bg wrong "$UD" follow other_$$ --dir "$B" --redis "$(url)" --stream "ultradict:$NAME"
expect 4 "belongs to dictionary \"$NAME\", not \"other_$$\"" "$WORK/wrong.log"
bg wrongp "$UD" publish other_$$ --dir "$A" --redis "$(url)" --stream "ultradict:$NAME"
expect 4 "belongs to dictionary" "$WORK/wrongp.log"

# A Redis key that is not a replication stream.
rcli XADD foreign '*' hello world >/dev/null
bg foreign "$UD" follow "$NAME" --dir "$C" --redis "$(url)" --stream foreign
expect 4 "not an UltraDict replication stream" "$WORK/foreign.log"

# Bad entries in a real stream, each in a stream of its own: a running
# follower stops at the entry, exit code and message say why, and its
# dictionary keeps exactly what it had. A valid entry is the control.
top() { rcli XINFO STREAM "$1" | grep -a -A1 last-generated-id | tail -1; }
for mode in valid foreign truncated version chunk wrongname; do
  S="bad:$mode" D="$WORK/m_$mode"
  mkdir -p "$D"
  bg "p_$mode" "$UD" publish "$NAME" --dir "$A" --redis "$(url)" --stream "$S"
  P=$LAST_PID
  for i in $(seq 1 100); do grep -q "first checkpoint" "$WORK/p_$mode.log" && break; sleep 0.1; done
  kill -TERM "$P"; wait "$P" || fail "publisher: unclean stop"
  bg "f_$mode" "$UD" follow "$NAME" --dir "$D" --redis "$(url)" --stream "$S"
  wait_same "$A" "$D" "$NAME" 30
  before=$(digest "$D" "$NAME")
  seq=$(( $(top "$S" | cut -d- -f1) + 1 ))
  if [[ $mode == wrongname ]]; then
    "$TOOL" xadd "$REDIS_PORT" "$S" "$seq-0" other_$$ "$seq" valid
  else
    "$TOOL" xadd "$REDIS_PORT" "$S" "$seq-0" "$NAME" "$seq" "$mode"
  fi
  case $mode in
    valid)
      for i in $(seq 1 100); do
        "$UD" get --dir "$D" "$NAME" "bad:$seq" >/dev/null 2>&1 && break; sleep 0.1
      done
      "$UD" get --dir "$D" "$NAME" "bad:$seq" >/dev/null || fail "valid entry not applied"
      kill -TERM "$LAST_PID"; wait "$LAST_PID" || fail "unclean stop"
      continue ;;
    foreign) expect 4 "holds foreign entries" "$WORK/f_$mode.log" ;;
    truncated) expect 3 "truncated" "$WORK/f_$mode.log" ;;
    version) expect 4 "replication format version 9; this build reads version 1" "$WORK/f_$mode.log" ;;
    chunk) expect 3 "must hold records" "$WORK/f_$mode.log" ;;
    wrongname) expect 4 "an entry of dictionary \"other_$$\"" "$WORK/f_$mode.log" ;;
  esac
  [[ $(digest "$D" "$NAME") == "$before" ]] || fail "$mode: something was applied"
  log "$mode: refused"
done

# A bad URL is a usage error.
set +e; "$UD" follow "$NAME" --dir "$B" --redis "http://x" 2>"$WORK/url.err"; rc=$?; set -e
[[ $rc -eq 2 ]] && grep -q "must start with redis://" "$WORK/url.err" || fail "bad URL: $rc"
set +e; "$UD" follow "$NAME" --dir "$B" --redis "rediss://x" 2>"$WORK/url.err"; rc=$?; set -e
[[ $rc -eq 2 ]] && grep -q "TLS" "$WORK/url.err" || fail "rediss URL: $rc"
echo PASS
