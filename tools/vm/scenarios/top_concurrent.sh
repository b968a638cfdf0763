#!/bin/sh
# top_concurrent: two daxload processes faulting two files at the same time
# land on their own rows (pid and inode), each equal to the kernel's count.
. /daxtest/daxtest.sh

T=/tmp/top_concurrent
rm -rf $T; mkdir -p $T	# a stale ready line would race the new tool
trace_start fs_dax
daxtrace top -b -i 1 >$T/top.txt 2>$T/top.err &
TOP=$!
wait_for_line $T/top.err ': ready' 120 || { fail top_ready "$(cat $T/top.err)"; kill $TOP; exit 1; }

daxload fault --size 2m --align 4k --write --shared --repeat 2 --munmap $MNT/one >$T/1.out &
P1=$!
daxload fault --size 4m --align 4k --read --shared --repeat 1 --munmap $MNT/two >$T/2.out &
P2=$!
wait $P1 $P2
sleep 1.2
kill -INT $TOP
wait $TOP
trace_stop

info "$(grep '^TOTAL' $T/top.txt)"
for n in 1 2; do
	pid=$(daxload_get $T/$n.out fault pid)
	ino=$(daxload_get $T/$n.out fault ino)
	pat="ino 0x$(printf '%x' "$ino") "
	k=$(trace_count dax_pte_fault_done "$pid" "$pat")
	t=$(top_sum $T/top.txt PTE PID=$pid INO=$ino)
	info "proc $n pid=$pid ino=$ino kernel_pte=$k top_pte=$t"
	check_eq proc${n}_pte_equals_tracefs "$k" "$t"
	check_ge proc${n}_row_has_faults 1 "$t"
	# Nothing of this process is attributed to the other file.
	other=$(daxload_get $T/$((3 - n)).out fault ino)
	check_eq proc${n}_nothing_on_other_file 0 "$(top_sum $T/top.txt PTE PID=$pid INO=$other)"
done
# Ground truth: process 2 reads 1024 pages once: one PTE fault each, no writes.
check_eq proc2_pte_covers_pages "$(daxload_get $T/2.out fault touched)" "$(top_sum $T/top.txt PTE PID=$(daxload_get $T/2.out fault pid))"
check_eq proc2_no_write_faults 0 "$(top_sum $T/top.txt WRITE PID=$(daxload_get $T/2.out fault pid))"
exit 0
