#!/usr/bin/env bash
# dump_test.sh: `dump` of a known dictionary, field by field, by name and
# on copies of its segments (--segment), as text and as JSON.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-ultradict}/tests/cli/testlib.sh"

# Generation 0: only the control segment.
expect 0 "$UD" put "$NAME" seed 0
expect 0 "$UD" del "$NAME" seed

# Known contents: a snapshot of two entries, then three log records.
expect 0 "$UD" put "$NAME" s1 one
expect 0 "$UD" put "$NAME" s2 two
expect 0 "$UD" compact "$NAME"
expect 0 "$UD" put "$NAME" a 1        # record: 9 + 5 + 1 + 1+1 + 1+1 = 19 bytes
expect 0 "$UD" put "$NAME" "b b" xyz  # 9 + 5 + 1 + 1+3 + 1+3 = 23 bytes
expect 0 "$UD" del "$NAME" s1         # 9 + 5 + 1 + 1+2 = 18 bytes

D=$ULTRADICT_DIR
LOG=$(segment_path 2 log)
SNAP=$(segment_path 2 snap)
expect 0 "$UD" dump "$NAME"
expect_line "segment $D/ud.$NAME"
expect_line "  type: control"
expect_line "  size: 36864"
expect_line '  magic: UDCTRL\x00\x01'
expect_line "  version: 1"
expect_line "  compression: none"
expect_line "  lifetime: persistent"
expect_line "  name: $NAME"
expect_line "  header: ok"
expect_line "  state: ready"
expect_line "  head_generation: 2"
expect_line "  head_offset: 60"
expect_line "  head: 0x20000003c"
expect_line "  sequence: 7"
expect_line "  entries: 3"
expect_line "  compactions: 1"
expect_line "  puts: 5"
expect_line "  deletes: 2"
expect_line "  recoveries: 0"
expect_line "  member_slots_used: 0"

expect_line "segment $SNAP"
expect_line "  type: snapshot"
expect_line '  magic: UDSNAP\x00\x01'
expect_line "  generation: 2"
expect_line "  entry_count: 2"
expect_line "  body_checksum: ok"
expect_line "  entry index=0 key=s1 value_length=3 compressed=no checksum=ok"
expect_line "  entry index=1 key=s2 value_length=3 compressed=no checksum=ok"

expect_line "segment $LOG"
expect_line "  type: log"
expect_line '  magic: UDLOG\x00\x00\x01'
expect_line "  generation: 2"
expect_line "  head_offset: 60"
expect_line "  records_checked: 3"
expect_line "  record offset=64 size=19 type=batch compressed=no checksum=ok ops=1"
expect_line "    put key=a value_length=1"
expect_line "  record offset=83 size=23 type=batch compressed=no checksum=ok ops=1"
expect_line '    put key=b\x20b value_length=3'
expect_line "  record offset=106 size=18 type=batch compressed=no checksum=ok ops=1"
expect_line "    del key=s1"
expect_line "summary: 3 segments, 0 problems: ok"
grep -q DAMAGE "$SCRATCH/out" && fail "clean dictionary reported damage"
[[ -z $ERR ]] || fail "dump wrote on stderr"

# JSON: the same facts.
expect 0 "$UD" dump "$NAME" --json
[[ $OUT == '{"segments":[{"path":"'"$D/ud.$NAME"'","type":"control","size":36864,'* ]] ||
  fail "json: control first"
for want in '"head_offset":60' '"entry_count":2' '"ok":true}' '"problems":0' \
    '{"kind":"record","offset":64,"size":19,"type":"batch","compressed":false,"checksum":"ok","operations":[{"kind":"put","key":"a","value_length":1}],"ops":1}' \
    '{"kind":"del","key":"s1"}' \
    '{"kind":"entry","index":1,"key":"s2","value_length":3,"compressed":false,"checksum":"ok"}'; do
  [[ $OUT == *"$want"* ]] || fail "json lacks $want"
done

# Copies of each segment, by --segment: the kind is told by the magic.
cp "$D/ud.$NAME" "$SCRATCH/control.copy"
cp "$SNAP" "$SCRATCH/snap.copy"
cp "$LOG" "$SCRATCH/log.copy"
expect 0 "$UD" dump --segment "$SCRATCH/control.copy"
expect_line "  type: control"
expect_line "  head_offset: 60"
expect 0 "$UD" dump --segment "$SCRATCH/snap.copy"
expect_line "  entry index=1 key=s2 value_length=3 compressed=no checksum=ok"
expect 0 "$UD" dump --segment "$SCRATCH/log.copy"
expect_line "  head_offset: unknown (single segment)"
expect_line "  records_checked: 3"
expect_line "    del key=s1"
expect 0 "$UD" verify --segment "$SCRATCH/log.copy"
expect_line "summary: 1 segments checked, 0 problems: ok"
echo PASS
