#!/bin/sh
# top_overflow: with a tiny row table, rows that do not fit are counted as
# lost in the header and JSON; nothing crashes and no row is invented.
. /daxtest/daxtest.sh

T=/tmp/top_overflow
rm -rf $T; mkdir -p $T	# a stale ready line would race the new tool
daxtrace top -o json -i 1 --max-rows 16 >$T/top.json 2>$T/top.err &
TOP=$!
wait_for_line $T/top.err ': ready' 120 || { fail top_ready "$(cat $T/top.err)"; kill $TOP; exit 1; }
i=0
while [ $i -lt 24 ]; do
	daxload fault --pages 8 --align 4k --write --shared --munmap $MNT/ovf.$i >>$T/load.out || break
	i=$((i + 1))
done
sleep 1.2
kill -INT $TOP
wait $TOP
rc=$?
check_eq top_survives_full_map 0 "$rc"
last=$(tail -n 1 $T/top.json)
rows=$(echo "$last" | jq '.rows | length')
lost=$(echo "$last" | jq .lost)
full=$(echo "$last" | jq .drops.row_map_full)
counted=$(echo "$last" | jq '[.rows[].pte] | add // 0')
info "24 processes x 8 pages: rows=$rows lost=$lost row_map_full=$full counted_pte=$counted"
check_le rows_within_max 16 "$rows"
check_ge overflow_counted 1 "$full"
check_eq lost_is_row_overflow "$full" "$lost"
# Every fault is either in a row or counted as lost (24 x 8 PTE faults);
# lost also counts the unmaps of processes without a row (one or two each).
check_ge no_fault_unaccounted $((24 * 8)) $((counted + full))
check_le lost_not_inflated $((24 * 8 + 2 * 24)) $((counted + full))
exit 0
