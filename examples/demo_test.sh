#!/bin/bash
# demo_test.sh: the demo runs, the watcher sees every write, nothing leaks.
set -euo pipefail
out=$("$TEST_SRCDIR/$TEST_WORKSPACE/examples/demo")
echo "$out"
for want in "sees apple = 10" "sees elder = 50" "sees banana deleted" \
            "sees done = yes" "nothing left behind"; do
  grep -q "$want" <<<"$out" || { echo "missing: $want"; exit 1; }
done
