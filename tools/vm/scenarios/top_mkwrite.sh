#!/bin/sh
# top_mkwrite: MKWR (fs_dax:dax_insert_pfn_mkwrite) counts MAP_SYNC write
# faults that made the filesystem sync its metadata before mapping the page,
# and nothing else: plain MAP_SHARED write faults on a fresh (fallocated,
# unwritten) file count 0 there, MAP_SYNC ones on another such file count
# what the kernel's tracepoint counted, at least one.
. /daxtest/daxtest.sh

T=/tmp/top_mkwrite
rm -rf $T; mkdir -p $T
trace_start fs_dax
daxtrace top -b -i 1 >$T/top.txt 2>$T/top.err &
TOP=$!
wait_for_line $T/top.err ': ready' 120 || { fail top_ready "$(cat $T/top.err)"; kill $TOP; exit 1; }
daxload fault --pages 16 --align 4k --write --shared --munmap $MNT/plain >$T/plain.out
check_eq plain_rc 0 $?
daxload fault --pages 16 --align 4k --write --sync --munmap $MNT/sync >$T/sync.out 2>&1
src=$?
check_eq sync_rc 0 $src
[ $src = 0 ] || info "MAP_SYNC refused: $(cat $T/sync.out)"
sleep 1.2
kill -INT $TOP
wait $TOP
trace_stop
top_table $T/top.txt | while read -r l; do info "total: $l"; done

for n in plain sync; do
	pid=$(daxload_get $T/$n.out fault pid)
	ino=$(daxload_get $T/$n.out fault ino)
	pat="ino 0x$(printf '%x' "$ino") "
	k=$(trace_count dax_insert_pfn_mkwrite "$pid" "$pat")
	t=$(top_sum $T/top.txt MKWR PID=$pid INO=$ino)
	f=$(( $(top_sum $T/top.txt PTE PID=$pid INO=$ino) + $(top_sum $T/top.txt PMD PID=$pid INO=$ino) ))
	info "$n pid=$pid ino=$ino kernel_mkwrite=$k top_mkwr=$t top_faults=$f"
	check_eq ${n}_mkwr_equals_tracefs "$k" "$t"
	check_le ${n}_mkwr_within_faults "$f" "$t"
	eval ${n}_t=$t
done
check_eq plain_shared_writes_not_mkwr 0 "$plain_t"
check_ge sync_writes_count_in_mkwr 1 "$sync_t"
exit 0
