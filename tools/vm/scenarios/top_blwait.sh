#!/bin/sh
# top_blwait: a truncate blocked by a vmsplice pin shows as one break_layouts
# wait on the truncating process's row, lasting what daxload measured (10%).
. /daxtest/daxtest.sh

T=/tmp/top_blwait
rm -rf $T; mkdir -p $T	# a stale ready line would race the new tool
daxtrace top -b -i 1 --hist >$T/top.txt 2>$T/top.err &
TOP=$!
wait_for_line $T/top.err ': ready' 120 || { fail top_ready "$(cat $T/top.err)"; kill $TOP; exit 1; }
if grep -q 'dax_layout_busy_page_range: unavailable' $T/top.err; then
	skip blwait "break_layouts hook unavailable on this kernel"
fi

daxload pin --pages 16 --hold 3 $MNT/pinned >$T/pin.out &
PIN=$!
wait_for_line $T/pin.out 'event=ready' 60 || fail pin_ready "$(cat $T/pin.out)"
daxload truncate $MNT/pinned >$T/trunc.out
wait $PIN
sleep 1.2
kill -INT $TOP
wait $TOP

blocked=$(daxload_get $T/trunc.out truncate blocked_ms)
tpid=$(daxload_get $T/trunc.out truncate pid)
ino=$(daxload_get $T/trunc.out truncate ino)
waits=$(top_sum $T/top.txt BLWAIT PID=$tpid INO=$ino)
wms=$(top_sum $T/top.txt BLWMS PID=$tpid INO=$ino)
info "truncate pid=$tpid ino=$ino blocked_ms=$blocked daxtop: waits=$waits wait_ms=$wms"
check_ge truncate_really_blocked 2000 "${blocked%.*}"
check_eq one_blwait_on_truncating_row 1 "$waits"
check_within_pct blwait_ms_matches_daxload "$blocked" "$wms" 10
# The pinning process itself never waits.
check_eq pinner_has_no_wait 0 "$(top_sum $T/top.txt BLWAIT PID=$(daxload_get $T/pin.out pin pid))"
check_true wait_histogram_has_one_sample grep -q '^break_layouts wait (total 1)' $T/top.txt
exit 0
