#!/bin/bash
# dict_example_test.sh: the Dict example counts exactly and cleans up.
set -euo pipefail
out=$("$TEST_SRCDIR/$TEST_WORKSPACE/examples/dict_example")
echo "$out"
grep -q "hits = 2000 (expected 2000)" <<<"$out" || { echo "wrong count"; exit 1; }
grep -q -- "-> child" <<<"$out" || { echo "nested dictionary not shared"; exit 1; }
if ls /dev/shm | grep -q '^ud\.dict_example_'; then
  echo "segments left behind:"; ls /dev/shm | grep '^ud\.dict_example_'; exit 1
fi
