#!/bin/sh
# leak_overflow: with --max-folios 4, pinning 16 pages overflows the tracked
# map: the overflow is counted and shown, daxleak keeps running and exits 0.
. /daxtest/daxtest.sh

OUT=/tmp/leak_over.json
ERR=/tmp/leak_over.err
F=$MNT/leak_over.dat

need_tools daxtrace daxload jq || exit 1
daxtrace leak -o json -i 1 --min-age 1 --max-folios 4 --max-stacks 8 >"$OUT" 2>"$ERR" &
LEAK=$!
if ! wait_for_line "$ERR" 'ready' 60; then
	fail leak_ready "daxleak did not start: $(tail -n 3 "$ERR" | tr '\n' '|')"
	exit 1
fi
daxload pin --pages 16 --hold 4 "$F" >/tmp/pin.out 2>&1
check_true pin_ok grep -q 'event=released' /tmp/pin.out
sleep 2
kill -0 $LEAK 2>/dev/null
check_eq leak_alive 0 $?
kill -INT $LEAK
wait $LEAK
check_eq leak_exit 0 $?
sum=$(grep '"type":"summary"' "$OUT" | tail -n 1)
info "summary counters: $(echo "$sum" | jq -c '.counters')"
check_ge overflow_counted 12 "$(echo "$sum" | jq '.counters.tracked_map_full')"
check_le max_held 4 "$(grep -E '"type":"(report|summary)"' "$OUT" | jq -s '[.[].held_pages] | max')"
# Churn: pages released while daxleak walks its map. A key deleted under
# bpf_map_get_next_key restarts the walk at the first bucket; the reader
# counted pages twice (CI: held_pages 5 with --max-folios 4). Every report
# holds at most 4 pages, each (inode, offset) once.
daxtrace leak -o json -i 0.1 --min-age 0 --max-folios 4 >/tmp/leak_churn.json 2>/tmp/leak_churn.err &
L=$!
if wait_for_line /tmp/leak_churn.err ready 60; then
	i=0
	while [ $i -lt 12 ]; do
		daxload pin --pages 8 --hold 0.3 "$F.c$i" >/dev/null 2>&1 &
		daxload pin --pages 8 --hold 0.45 "$F.d$i" >/dev/null 2>&1
		wait $!
		i=$((i + 1))
	done
	sleep 0.5
	kill -INT $L
	wait $L
	check_eq churn_exit 0 $?
	reps=/tmp/leak_churn.reports
	grep -E '"type":"(report|summary)"' /tmp/leak_churn.json >$reps
	info "churn: $(wc -l <$reps) reports, held per report: $(jq -c '.held_pages' $reps | sort | uniq -c | tr '\n' ' ')"
	check_ge churn_reports 20 "$(wc -l <$reps)"
	check_ge churn_overflow 1 "$(tail -n 1 $reps | jq '.counters.tracked_map_full')"
	check_le churn_max_held 4 "$(jq -s '[.[].held_pages] | max' $reps)"
	check_eq churn_pages_once 0 "$(jq -s '[.[] | [.groups[].held[] | [.ino, .offset]] | length - (unique | length)] | add' $reps)"
	check_eq churn_held_is_listed 0 "$(jq -s '[.[] | select(.held_pages != ([.groups[].held[]] | length))] | length' $reps)"
	rm -f "$F".c* "$F".d*
else
	fail churn_ready "daxleak did not start: $(tail -n 3 /tmp/leak_churn.err | tr '\n' '|')"
	kill $L 2>/dev/null
fi
# text mode prints the overflow line
daxtrace leak -i 1 -d 6 --min-age 1 --max-folios 2 >/tmp/leak_over.txt 2>/tmp/leak_over.txterr &
T=$!
wait_for_line /tmp/leak_over.txterr ready 60 || fail text_ready "$(cat /tmp/leak_over.txterr)"
daxload pin --pages 8 --hold 2 "$F.2" >/dev/null 2>&1
wait $T
while read -r l; do info "text: $l"; done </tmp/leak_over.txt
# folded output while a pin is held
daxtrace leak --folded -i 3 -c 1 --min-age 1 >/tmp/leak_fold.txt 2>/tmp/leak_fold.err &
T=$!
wait_for_line /tmp/leak_fold.err ready 60
daxload pin --pages 4 --hold 4 "$F.3" >/dev/null 2>&1 &
P=$!
wait $T
check_eq folded_exit 0 $?
wait $P
while read -r l; do info "folded: $l"; done </tmp/leak_fold.txt
check_true folded_line grep -qE '^daxload;.*vmsplice.* 4$' /tmp/leak_fold.txt
check_eq text_exit 0 $?
check_true text_overflow_line grep -q 'OVERFLOW: tracked-map-full [1-9]' /tmp/leak_over.txt
# skipped runs: a count, or n/a only where the kernel cannot count them
sk=$(grep -o 'kernel-skipped-runs [^ ]*' /tmp/leak_over.txt | head -n 1 | cut -d' ' -f2)
jsk=$(echo "$sum" | jq '.counters.kernel_skipped')
if [ "$sk" = n/a ]; then
	kernel_limit "skipped runs not counted"
	check_true skipped_na_is_a_stated_limit test -n "$LIMIT"
	check_eq skipped_json_null null "$jsk"
	LIMIT=
else
	check_true skipped_counted is_int "$sk"
	check_true skipped_json_counted is_int "$jsk"
fi
exit 0
