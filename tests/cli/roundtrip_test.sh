#!/usr/bin/env bash
# roundtrip_test.sh: put/get/del/ls/list/stat/compact/destroy, each in its own
# invocation of the tool (so every step crosses processes).
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/cli/testlib.sh"

# put creates the dictionary; get prints the raw value without a newline.
expect 0 "$UD" put "$NAME" alpha 1
expect 0 "$UD" get "$NAME" alpha
[[ $(od -An -c "$SCRATCH/out" | tr -d ' ') == 1 ]] || fail "get alpha: not exactly '1'"
expect 0 "$UD" put "$NAME" alpha 2
expect 0 "$UD" get "$NAME" alpha
[[ $OUT == 2 ]] || fail "overwrite not seen"

# Binary-safe values through stdin ("-").
printf 'bin\0ary\n\xff' >"$SCRATCH/value"
"$UD" put "$NAME" "bin key" - <"$SCRATCH/value" || fail "put from stdin"
"$UD" get "$NAME" "bin key" >"$SCRATCH/got" || fail "get bin key"
cmp -s "$SCRATCH/value" "$SCRATCH/got" || fail "binary value changed on the way"

# A missing key: exit 1, one line on stderr, nothing on stdout.
expect_error 1 "$UD" get "$NAME" nosuchkey
[[ -z $OUT ]] || fail "get of a missing key printed something"
[[ $ERR == "ultradict: get: key not found: nosuchkey" ]] || fail "get: $ERR"
expect_error 1 "$UD" get "$NAME" "no such"
[[ $ERR == 'ultradict: get: key not found: no\x20such' ]] || fail "get: $ERR"

# ls: key order, escaping, --prefix, --limit, --values.
expect 0 "$UD" put "$NAME" beta 3
expect 0 "$UD" put "$NAME" betamax 4
expect 0 "$UD" ls "$NAME"
[[ $OUT == $'alpha\nbeta\nbetamax\nbin\\x20key' ]] || fail "ls: unexpected keys"
expect 0 "$UD" ls "$NAME" --prefix bet
[[ $OUT == $'beta\nbetamax' ]] || fail "ls --prefix"
expect 0 "$UD" ls "$NAME" --prefix bet --limit 1
[[ $OUT == beta ]] || fail "ls --limit"
expect 0 "$UD" ls "$NAME" --values --prefix b
expect_line 'beta 3'
# (CHexEscape writes "a" after a hex escape as \x61: no ambiguity.)
expect_line 'bin\x20key bin\x00\x61ry\n\xff'

# del: gone for every later invocation; deleting it again is "not found".
expect 0 "$UD" del "$NAME" beta
expect_error 1 "$UD" get "$NAME" beta
expect_error 1 "$UD" del "$NAME" beta
[[ $ERR == "ultradict: del: key not found: beta" ]] || fail "del: $ERR"

# list: one row for the dictionary, opening it creates nothing.
before=$(ls "$ULTRADICT_DIR" | sort)
expect 0 "$UD" list
after=$(ls "$ULTRADICT_DIR" | sort)
[[ $before == "$after" ]] || fail "list changed the segment directory"
grep -qE "^NAME +GENERATION +ENTRIES +BYTES +PIDS +LIFETIME$" "$SCRATCH/out" ||
  fail "list: no header"
grep -qE "^$NAME +1 +3 +[0-9]+ +- +persistent$" "$SCRATCH/out" ||
  fail "list: no row for $NAME"

# stat, text and JSON.
expect 0 "$UD" stat "$NAME"
expect_line "name: $NAME"
expect_line "entries: 3"
expect_line "puts: 5"
expect_line "deletes: 1"
expect_line "members: 0 (pids )"
expect 0 "$UD" stat "$NAME" --json
[[ $(wc -l <"$SCRATCH/out") == 1 ]] || fail "stat --json: not one line"
# Every key of doc/cli.md, in order, with its type.
json_check "list(d) == ['name', 'directory', 'generation', 'entries',
  'sequence', 'log_bytes_used', 'log_bytes_capacity', 'snapshot_bytes',
  'snapshot_entries', 'log_index_keys', 'log_index_bytes', 'compactions',
  'puts', 'deletes', 'recoveries', 'members', 'member_pids', 'lifetime',
  'compression']" \
  "d['name'] == '$NAME' and d['directory'] == '$ULTRADICT_DIR'" \
  "d['generation'] == 1 and d['entries'] == 3 and d['sequence'] == 6" \
  "d['puts'] == 5 and d['deletes'] == 1 and d['recoveries'] == 0" \
  "d['members'] == 0 and d['member_pids'] == []" \
  "d['log_index_keys'] == 4 and d['log_index_bytes'] > 0" \
  "0 < d['log_bytes_used'] < d['log_bytes_capacity']" \
  "d['lifetime'] == 'persistent' and d['compression'] == 'none'"

# compact: a new generation with the same contents.
expect 0 "$UD" compact "$NAME"
expect 0 "$UD" stat "$NAME"
expect_line "generation: 2"
expect_line "snapshot entries: 3"
expect 0 "$UD" get "$NAME" alpha
[[ $OUT == 2 ]] || fail "value lost by compact"
expect 0 "$UD" verify "$NAME"

# --dir overrides $ULTRADICT_DIR.
other="$SCRATCH/otherdir"
mkdir -p "$other"
expect 0 env -u ULTRADICT_DIR "$UD" put "$NAME" k v --dir "$other"
expect 0 "$UD" get "$NAME" k --dir="$other"
[[ $OUT == v ]] || fail "--dir"
expect 0 "$UD" destroy "$NAME" --dir "$other"
[[ -z $(ls "$other") ]] || fail "destroy --dir left files"

# destroy: gone; a second destroy is "not found" unless --force.
expect 0 "$UD" destroy "$NAME"
[[ -z $(ls "$ULTRADICT_DIR") ]] || fail "destroy left files"
expect_error 1 "$UD" get "$NAME" alpha
expect_error 1 "$UD" destroy "$NAME"
expect 0 "$UD" destroy "$NAME" --force

# destroy that cannot remove a file of the dictionary (here its current log
# replaced by a directory): exit 4 naming the file and why, even with
# --force; the rest is removed.
expect 0 "$UD" put "$NAME" k v
stray=$(segment_path 1 log)
rm "$stray"
mkdir "$stray"
expect_error 4 "$UD" destroy "$NAME"
[[ $ERR == "ultradict: destroy: "*"$stray: Is a directory"* ]] || fail "destroy: $ERR"
[[ $(ls "$ULTRADICT_DIR") == "$(basename "$stray")" ]] || fail "destroy left more files"
expect_error 4 "$UD" destroy "$NAME" --force
rmdir "$stray"
# A directory at the control path is not a regular file: a usage-class
# error (exit 2), and nothing is removed.
mkdir "$ULTRADICT_DIR/ud.$NAME"
expect_error 2 "$UD" destroy "$NAME" --force
[[ $ERR == *"$ULTRADICT_DIR/ud.$NAME: not a regular file"* ]] || fail "destroy: $ERR"
rmdir "$ULTRADICT_DIR/ud.$NAME"
expect_error 1 "$UD" destroy "$NAME"
echo PASS
