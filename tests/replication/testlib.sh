# testlib.sh: helpers of the replication tests (sourced). Each test gets a
# Redis of its own (Debian's redis-server, appendonly on, on a free loopback
# port, data in a temporary directory) and two "machines": two segment
# directories under /dev/shm. Everything is stopped and removed on exit,
# also on failure.

set -euo pipefail

UD=$TEST_SRCDIR/${TEST_WORKSPACE:-ultradict}/tools/ultradict
TOOL=$TEST_SRCDIR/${TEST_WORKSPACE:-ultradict}/tests/replication/repl_tool
[[ -x $UD && -x $TOOL ]] || { echo "FAIL: binaries not found" >&2; exit 1; }
command -v redis-server >/dev/null ||
  { echo "FAIL: redis-server is not installed (tools/dev.sh setup)" >&2; exit 1; }

WORK=$(mktemp -d /dev/shm/repltest.XXXXXX)
A=$WORK/a  # The primary's machine.
B=$WORK/b  # The followers' machine.
C=$WORK/c  # A third machine (a follower started late).
mkdir -p "$A" "$B" "$C" "$WORK/redis"
REDIS_PORT=""
REDIS_PID=""
PIDS=()

fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "--- $*" >&2; }

cleanup() {
  local rc=$?
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -9 "$p" 2>/dev/null || true; done
  [[ -n $REDIS_PID ]] && kill -9 "$REDIS_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    for f in "$WORK"/*.log "$WORK"/redis/redis.log; do
      [[ -f $f ]] || continue
      echo "==== tail of $f" >&2; tail -n 30 "$f" >&2
    done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_redis: (re)starts redis-server on REDIS_PORT (chosen once).
start_redis() {
  [[ -n $REDIS_PORT ]] || REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" \
    --appendonly yes --appendfsync everysec --save "" --daemonize no \
    --logfile "$WORK/redis/redis.log" >/dev/null 2>&1 &
  REDIS_PID=$!
  local i
  for i in $(seq 1 100); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "redis-server did not start on port $REDIS_PORT"
}
kill_redis() { kill -9 "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=""; }
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
url() { echo "redis://127.0.0.1:$REDIS_PORT"; }

# bg NAME COMMAND...: starts a long-lived process, its output in
# $WORK/NAME.log; its pid in $LAST_PID.
bg() {
  local name=$1; shift
  "$@" >>"$WORK/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# Empty while the dictionary does not exist yet (a follower starting): not
# an error, which under `set -e` would end the test without a word.
digest() { { "$UD" stat --digest --dir "$1" "$2" 2>/dev/null || true; } | sed -n 's/^digest: //p'; }

# wait_same DIR_A DIR_B NAME [SECONDS]: waits until both hold the same data.
wait_same() {
  local a=$1 b=$2 name=$3 secs=${4:-60} i da db
  for i in $(seq 1 $((secs * 10))); do
    da=$(digest "$a" "$name"); db=$(digest "$b" "$name")
    [[ -n $da && $da == "$db" ]] && return 0
    sleep 0.1
  done
  fail "digests differ after ${secs}s: $a: $da, $b: $db"
}
