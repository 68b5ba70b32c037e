#!/bin/bash
# bench_ab.sh: compares db_bench binaries (builds of two commits, say) in
# interleaved runs, in a random order each round, and prints the median
# ns/op of each benchmark per binary. Single runs on a shared VM move by
# 10-30%; an A/B of interleaved runs is what doc/benchmarks.md reports.
#
#   tools/bench_ab.sh ROUNDS BENCHMARKS BINARY...
#   e.g. (copy each build's bazel-bin/benchmarks/db_bench aside first):
#   tools/bench_ab.sh 6 fillrandom,overwrite /tmp/db_bench.old /tmp/db_bench.new
#
# Runs the UltraDict engine only, with the default 1,000,000 entries; extra
# db_bench flags go in DB_BENCH_FLAGS.
set -euo pipefail

if [[ $# -lt 3 || ! "$1" =~ ^[0-9]+$ ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
rounds=$1
benchmarks=$2
shift 2
for bin in "$@"; do
  [[ -x "$bin" ]] || { echo "bench_ab.sh: $bin is not an executable" >&2; exit 2; }
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((i = 1; i <= rounds; i++)); do
  for bin in $(printf '%s\n' "$@" | shuf); do
    # shellcheck disable=SC2086
    "$bin" --engine=ultradict --benchmarks="$benchmarks" ${DB_BENCH_FLAGS:-} 2>&1 |
      awk -v b="$bin" '/^ultradict/ { print b, $2, $4 }' >> "$out"
  done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    binary, bench, ns = line.split()
    runs[(binary, bench)].append(float(ns))
for (binary, bench), v in sorted(runs.items()):
    print(f"{binary}  {bench:16s} median {statistics.median(v):8.1f} ns/op"
          f"  runs {' '.join(f'{x:.0f}' for x in sorted(v))}")
PY
