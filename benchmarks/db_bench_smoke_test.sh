#!/usr/bin/env bash
# db_bench_smoke_test: every benchmark of every engine runs on a small
# dictionary, prints its line, and leaves nothing behind. No timings are
# asserted (this runs in fastbuild, on shared machines).
set -euo pipefail

bench=$1
prefix="smoke$$"
dir=${ULTRADICT_DIR:-/dev/shm}
out=${TEST_TMPDIR:-/tmp}/db_bench_smoke.$$.out
benchmarks=fillseq,fillrandom,overwrite,readrandom,readmissing,readhot,readseq,deleterandom,fillbatch,readwhilewriting,attachwrites,compact,attach,mpwrite,mpread,propagation

status=0
"$bench" --num=10000 --engine=all --procs=2 --rounds=200 --histogram \
  --db_prefix="$prefix" --benchmarks="$benchmarks" >"$out" 2>&1 || status=$?
cat "$out"
if [[ $status -ne 0 ]]; then
  echo "FAIL: db_bench exited with $status" >&2
  exit 1
fi

fail=0
for engine in ultradict hashmap lmdb; do
  for b in ${benchmarks//,/ }; do
    if ! grep -Eq "^${engine} +${b} +: +([0-9.]+ ns/op; +[0-9.]+ MB/s; +[0-9.]+ ops/s|n/a)" "$out"; then
      echo "FAIL: no line for ${engine} ${b}" >&2
      fail=1
    fi
  done
done
for b in readrandom fillrandom overwrite; do
  grep -Eq "^${b} .* [0-9.]+ +[0-9.]+\*? +[0-9.]+$" <(sed -n '/^Ratios/,$p' "$out") ||
    { echo "FAIL: no ratio row for ${b}" >&2; fail=1; }
done
# Multi-process benchmarks are not applicable to the in-process hash map.
grep -Eq "^hashmap +mpwrite +: +n/a" "$out" || { echo "FAIL: hashmap mpwrite not n/a" >&2; fail=1; }

# --writer_rate paces mpread's writer (1 ms between puts at 1000 puts/s):
# whatever the machine, it cannot report more than that rate.
"$bench" --num=1000 --engine=ultradict --benchmarks=fillrandom,mpread \
  --writer_rate=1000 --db_prefix="$prefix" >"$out.rate" 2>&1 ||
  { cat "$out.rate"; echo "FAIL: mpread --writer_rate" >&2; fail=1; }
rate=$(sed -nE 's/.*writer did [0-9]+ puts, ([0-9]+) puts\/s.*/\1/p' "$out.rate")
if [[ -z $rate || $rate -gt 1100 ]]; then
  cat "$out.rate"; echo "FAIL: mpread --writer_rate=1000 wrote at '$rate' puts/s" >&2; fail=1
fi
grep -q "page faults)" "$out.rate" || { echo "FAIL: mpread does not count page faults" >&2; fail=1; }
rm -f "$out.rate"

# --json gives one parseable document.
"$bench" --num=1000 --engine=hashmap --benchmarks=fillrandom,readrandom --json \
  --db_prefix="$prefix" 2>/dev/null >"$out.json"
python3 - "$out.json" <<'PY' || { echo "FAIL: --json" >&2; fail=1; }
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    d = json.load(f)
assert list(d) == ["date", "cpu", "cores", "key_size", "value_size", "entries",
                   "reads", "procs", "writer_rate", "threads", "compression", "optimized",
                   "assertions", "results"], list(d)
assert d["entries"] == 1000 and d["key_size"] == 16, d
assert [(r["engine"], r["benchmark"]) for r in d["results"]] == [
    ("hashmap", "fillrandom"), ("hashmap", "readrandom")], d["results"]
for r in d["results"]:
    assert r["skipped"] is False and r["ops"] == 1000, r
    assert r["ns_per_op"] > 0 and r["ops_per_s"] > 0 and r["mb_per_s"] > 0, r
    assert isinstance(r["note"], str) and "p50_ns" not in r, r
PY

# Nothing left behind: no segments, no LMDB directories.
left=$(ls -d "$dir"/ud."$prefix"* "$dir"/"$prefix"* 2>/dev/null || true)
if [[ -n $left ]]; then
  echo "FAIL: left behind in $dir: $left" >&2
  fail=1
fi
rm -f "$out" "$out.json"
[[ $fail -eq 0 ]] && echo PASS
exit $fail
