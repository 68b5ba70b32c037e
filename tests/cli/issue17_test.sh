#!/usr/bin/env bash
# issue17_test.sh: a symbolic link, a FIFO or a directory at a dictionary's
# path exits 2 at once with a message naming the path and what it is; a
# FIFO at a segment of the current generation never hangs a command (exit
# 3: the dictionary is damaged); `destroy LINK --force` leaves the
# dictionary the link points to alone.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/cli/testlib.sh"

D=$ULTRADICT_DIR
LINK="${NAME}_link"
FIFO="${NAME}_fifo"
DIR="${NAME}_dir"
expect 0 "$UD" put "$NAME" k v

# ud.LINK -> ud.NAME (planted by another user where links are followed).
ln -s "ud.$NAME" "$D/ud.$LINK"
expect_error 2 timeout 20 "$UD" get "$LINK" k
[[ $ERR == *"$D/ud.$LINK"*"symbolic link"* ]] || fail "symlink: unclear message: $ERR"
expect_error 2 timeout 20 "$UD" destroy "$LINK" --force
[[ $ERR == *"symbolic link"* ]] || fail "destroy symlink: unclear message: $ERR"
expect 0 "$UD" get "$NAME" k
[[ $OUT == v ]] || fail "the link's target lost its data: $OUT"
rm "$D/ud.$LINK"

# A FIFO and a directory at ud.NAME: not regular files.
mkfifo "$D/ud.$FIFO"
mkdir "$D/ud.$DIR"
for n in "$FIFO" "$DIR"; do
  for cmd in "get $n k" "put $n k v" "ls $n" "stat $n" "compact $n"; do
    # shellcheck disable=SC2086
    expect_error 2 timeout 20 "$UD" $cmd
    [[ $ERR == *"$D/ud.$n: not a regular file"* ]] || fail "$cmd: unclear message: $ERR"
  done
done
rm "$D/ud.$FIFO"
rmdir "$D/ud.$DIR"

# A FIFO in place of the current snapshot: every command returns at once.
SNAP=$(segment_path 1 snap)
[[ -f $SNAP ]] || fail "no snapshot of generation 1: $(ls "$D")"
rm "$SNAP"
mkfifo "$SNAP"
for cmd in "get $NAME k" "put $NAME k2 v2" "ls $NAME" "stat $NAME" \
    "compact $NAME" "verify $NAME" "dump $NAME"; do
  # shellcheck disable=SC2086
  expect_error 3 timeout 20 "$UD" $cmd
done
expect 3 timeout 20 "$UD" list
[[ $OUT == *"$NAME"*"not a regular file"* ]] || fail "list: $OUT"
expect 0 timeout 20 "$UD" destroy "$NAME"
[[ -z $(ls "$D") ]] || fail "destroy left files: $(ls "$D")"
echo PASS
