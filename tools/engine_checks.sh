#!/usr/bin/env bash
# engine_checks.sh: the engine's structure targets (doc/design.md, "Where
# the code is"), checked in CI:
#   1. no function in db/, port/, util/, include/ over 80 lines
#      (tools/function_lengths.sh, universal-ctags);
#   2. no file in db/ over 450 lines;
#   3. clang-14's thread-safety analysis is live: a correct use of
#      port/mutex.h compiles with -Wthread-safety -Werror, and a field read
#      without its lock, a lock-requiring call without it, and a lock taken
#      twice do not.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fail=0

echo "== functions over 80 lines (db port util include)"
if tools/function_lengths.sh 80 db port util include; then
  echo "none"
else
  fail=1
fi

echo "== files in db/ over 450 lines"
big=$(wc -l db/*.cc db/*.h | awk '$2 != "total" && $1 > 450')
if [[ -n $big ]]; then echo "$big"; fail=1; else echo "none"; fi

echo "== thread-safety analysis (clang-14 -Wthread-safety -Werror)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
compile() {
  clang-14 -std=c++17 -fsyntax-only -Wthread-safety -Wthread-safety-beta \
    -Werror -I. -x c++ "$1" 2>"$tmp/err"
}
cat > "$tmp/ok.cc" <<'CC'
#include "port/mutex.h"
struct S {
  ultradict::port::SharedMutex mu;
  int x ABSL_GUARDED_BY(mu) = 0;
  int Read() ABSL_SHARED_LOCKS_REQUIRED(mu) { return x; }
  int Get() { ultradict::port::ReaderMutexLock l(&mu); return Read(); }
  void Set(int v) { ultradict::port::WriterMutexLock l(&mu); x = v; }
};
int main() { S s; s.Set(1); return s.Get() - 1; }
CC
if compile "$tmp/ok.cc"; then
  echo "correct use: compiles"
else
  echo "correct use does not compile:"; cat "$tmp/err"; fail=1
fi
bad() {  # bad <what> <body of S::F>
  BODY=$2 python3 - "$tmp/ok.cc" "$tmp/bad.cc" <<'PY'
import os, sys
src = open(sys.argv[1]).read()
src = src.replace("  void Set", "  void F();\n  void Set", 1)
src = src.replace("int main", "void S::F() { " + os.environ["BODY"] + " }\nint main", 1)
open(sys.argv[2], "w").write(src)
PY
  if compile "$tmp/bad.cc"; then
    echo "NOT refused: $1"; fail=1
  else
    echo "refused: $1 ($(grep -o 'warning: .*\|error: .*' "$tmp/err" | head -1))"
  fi
}
bad "a guarded field read without its lock" "int y = x; (void)y;"
bad "a call that needs the lock, without it" "(void)Read();"
bad "a lock taken twice" "ultradict::port::WriterMutexLock a(&mu); ultradict::port::WriterMutexLock b(&mu);"
exit $fail
