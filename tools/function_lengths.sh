#!/usr/bin/env bash
# Lists functions longer than a limit (default 80 lines, from the line of
# the name to the closing brace), as counted by universal-ctags'
# end: field. Usage: tools/function_lengths.sh [LIMIT] [DIR...]
# Exit 1 when one is over. Used for the engine's size targets (doc/design.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
limit=${1:-80}
shift || true
dirs=("${@:-db port util include}")
# shellcheck disable=SC2068
ctags -x --_xformat='%{end}	%n	%F	%N' --kinds-c++=f --fields=+ne -R \
  --languages=C++ --langmap=C++:+.h ${dirs[@]} |
  awk -F'\t' -v limit="$limit" '$1 != "" {
      n = $1 - $2 + 1
      if (n > limit) { print n " lines: " $3 ":" $2 " " $4; over = 1 }
    }
    END { exit over }'
