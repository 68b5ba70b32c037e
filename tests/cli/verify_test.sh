#!/usr/bin/env bash
# verify_test.sh: `verify` and `dump` find a flipped byte in a log record
# and in a snapshot entry (in place and in copies), name the segment and
# offset, mark it BAD, and exit 3.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/cli/testlib.sh"

D=$ULTRADICT_DIR
expect 0 "$UD" put "$NAME" s1 one
expect 0 "$UD" put "$NAME" s2 two
expect 0 "$UD" compact "$NAME"
expect 0 "$UD" put "$NAME" a 1
expect 0 "$UD" put "$NAME" b 2
LOG=$(segment_path 2 log)
SNAP=$(segment_path 2 snap)
expect 0 "$UD" verify "$NAME"
expect_line "ok $D/ud.$NAME (control)"
expect_line "ok $SNAP (snapshot)"
expect_line "ok $LOG (log)"
cp "$LOG" "$SCRATCH/log.orig"
cp "$SNAP" "$SCRATCH/snap.orig"

# The key byte of the second log record (offset 83 + 9 + 5 + 1 + 1).
flip_byte "$LOG" 99
expect_error 3 "$UD" verify "$NAME"
expect_line "DAMAGED $LOG (log)"
expect_line "  DAMAGE: $LOG: checksum mismatch at offset 83"
expect_line "ok $SNAP (snapshot)"
expect_line "summary: 3 segments checked, 1 problems: DAMAGED"
expect_error 3 "$UD" dump "$NAME"
expect_line "  record offset=64 size=19 type=batch compressed=no checksum=ok ops=1"
expect_line "  record offset=83 checksum=BAD"
expect_line "  DAMAGE: $LOG: checksum mismatch at offset 83"
expect_line "summary: 3 segments, 1 problems: DAMAGED"
expect_error 3 "$UD" dump "$NAME" --json
json_check "d['ok'] is False and d['problems'] == 1" \
  "{'kind': 'record', 'offset': 83, 'checksum': 'BAD'} in d['segments'][2]['records']" \
  "d['segments'][2]['damage'] == [{'kind': 'damage',
     'message': '$LOG: checksum mismatch at offset 83'}]"
# Reading the damaged key through the API also reports damage.
expect_error 3 "$UD" get "$NAME" b
# A copy of the damaged log, alone.
cp "$LOG" "$SCRATCH/log.bad"
expect_error 3 "$UD" verify --segment "$SCRATCH/log.bad"
expect_line "DAMAGED $SCRATCH/log.bad (log)"
cp "$SCRATCH/log.orig" "$LOG"
expect 0 "$UD" verify "$NAME"

# A byte of the first snapshot entry's key (offset 128 + 4 + 1 + 1 + 1).
flip_byte "$SNAP" 135
expect_error 3 "$UD" verify "$NAME"
expect_line "DAMAGED $SNAP (snapshot)"
expect_line "  DAMAGE: $SNAP: entry checksum mismatch at offset 128 (entry 0)"
grep -qF "  DAMAGE: $SNAP: body checksum mismatch" "$SCRATCH/out" ||
  fail "no body checksum damage"
expect_line "ok $LOG (log)"
expect_error 3 "$UD" dump "$NAME"
expect_line "  body_checksum: BAD"
expect_line "  entry index=0 checksum=BAD"
expect_line "  entry index=1 key=s2 value_length=3 compressed=no checksum=ok"
cp "$SNAP" "$SCRATCH/snap.bad"
expect_error 3 "$UD" verify --segment "$SCRATCH/snap.bad"
expect_line "DAMAGED $SCRATCH/snap.bad (snapshot)"
expect_error 3 "$UD" dump --segment "$SCRATCH/snap.bad"
expect_line "  entry index=0 checksum=BAD"
cp "$SCRATCH/snap.orig" "$SNAP"

# A byte of the hash index (the last 8-byte slots): only the body checksum
# can tell, or the lookup of an entry.
size=$(stat -c %s "$SNAP")
flip_byte "$SNAP" $((size - 1))
flip_byte "$SNAP" $((size - 9))
flip_byte "$SNAP" $((size - 17))
expect_error 3 "$UD" verify "$NAME"
expect_line "DAMAGED $SNAP (snapshot)"
cp "$SCRATCH/snap.orig" "$SNAP"

# The head past the log's capacity (control segment, offset 128).
CTL=$D/ud.$NAME
cp "$CTL" "$SCRATCH/ctl.orig"
printf '\xff\xff\xff\x7f' | dd of="$CTL" bs=1 seek=128 conv=notrunc status=none
expect_error 3 "$UD" verify "$NAME"
grep -qF "head offset 2147483647 past the log's capacity" "$SCRATCH/out" ||
  fail "head past capacity not reported"
cp "$SCRATCH/ctl.orig" "$CTL"

# A file of another generation (a crashed compaction's leftover): dump lists
# it; when the control segment is damaged, the directory scan finds every
# file of the dictionary and inspects each on its own.
LEFT=$D/ud.$NAME.9.0123456789abcdef.snap
cp "$SNAP" "$LEFT"
expect 0 "$UD" dump "$NAME"
expect_line "  other_file path=$LEFT"

# The control header checksum.
flip_byte "$CTL" 20
expect_error 3 "$UD" verify "$NAME"
expect_line "DAMAGED $CTL (control)"
expect_line "  DAMAGE: $CTL: control header checksum mismatch at offset 0"
expect_line "ok $LOG (log)"
expect_line "ok $SNAP (snapshot)"
expect_line "ok $LEFT (snapshot)"
cp "$SCRATCH/ctl.orig" "$CTL"
rm "$LEFT"  # Named with another key: DestroyDB leaves it alone.
expect 0 "$UD" verify "$NAME"
echo PASS
