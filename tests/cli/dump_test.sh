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
expect_line "  version: 7"  # control (the snapshot is 2, the log 6)
expect_line "  version: 2"
expect_line "  version: 6"
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

# JSON: the same facts, parsed (keys and types as in doc/cli.md).
expect 0 "$UD" dump "$NAME" --json
[[ $(wc -l <"$SCRATCH/out") == 1 ]] || fail "dump --json: not one line"
json_check "list(d) == ['segments', 'problems', 'ok']" \
  "d['problems'] == 0 and d['ok'] is True" \
  "[s['type'] for s in d['segments']] == ['control', 'snapshot', 'log']" \
  "[s['path'] for s in d['segments']] == ['$D/ud.$NAME', '$SNAP', '$LOG']"
# The control segment.
json_check "d['segments'][0]['size'] == 36864" \
  "d['segments'][0]['magic'] == 'UDCTRL\\\\x00\\\\x01'" \
  "d['segments'][0]['name'] == '$NAME'" \
  "d['segments'][0]['header'] == 'ok' and d['segments'][0]['state'] == 'ready'" \
  "d['segments'][0]['head'] == '0x20000003c'" \
  "d['segments'][0]['head_generation'] == 2" \
  "d['segments'][0]['head_offset'] == 60" \
  "d['segments'][0]['sequence'] == 7 and d['segments'][0]['entries'] == 3" \
  "d['segments'][0]['member_slots_used'] == 0" \
  "'members' not in d['segments'][0] and 'damage' not in d['segments'][0]"
# The snapshot and its entries.
json_check "d['segments'][1]['entry_count'] == 2" \
  "d['segments'][1]['body_checksum'] == 'ok'" \
  "d['segments'][1]['entries'] == [
     {'kind': 'entry', 'index': 0, 'key': 's1', 'value_length': 3,
      'compressed': False, 'checksum': 'ok'},
     {'kind': 'entry', 'index': 1, 'key': 's2', 'value_length': 3,
      'compressed': False, 'checksum': 'ok'}]"
# The log, its records and their operations (keys escaped as in the text).
json_check "d['segments'][2]['head_offset'] == 60" \
  "d['segments'][2]['records_checked'] == 3 and d['segments'][2]['ops'] == 3" \
  "d['segments'][2]['records'][0] == {'kind': 'record', 'offset': 64,
     'size': 19, 'type': 'batch', 'compressed': False, 'checksum': 'ok',
     'operations': [{'kind': 'put', 'key': 'a', 'value_length': 1}],
     'ops': 1}" \
  "d['segments'][2]['records'][1]['operations'] ==
     [{'kind': 'put', 'key': 'b\\\\x20b', 'value_length': 3}]" \
  "d['segments'][2]['records'][2]['operations'] ==
     [{'kind': 'del', 'key': 's1'}]"

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
# A head unknown is null in JSON (a number when known).
expect 0 "$UD" dump --segment "$SCRATCH/log.copy" --json
json_check "d['segments'][0]['head_offset'] is None" \
  "d['segments'][0]['records_checked'] == 3"
expect 0 "$UD" verify --segment "$SCRATCH/log.copy"
expect_line "summary: 1 segments checked, 0 problems: ok"
echo PASS
