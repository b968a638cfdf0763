#!/bin/sh
# smoke: the test bed itself works: kernel, DAX mount, fs_dax tracepoints, and a
# mapped write through a DAX file shows up as fs_dax fault events.
. /daxtest/daxtest.sh

kver=$(uname -r)
info "kernel $kver era=$DAXTEST_ERA fs=$DAXTEST_FS pmem=$DAXTEST_PMEM"
check_eq kernel_matches_initramfs "$(cat /etc/daxtest-kver)" "$kver"

mline=$(grep " $MNT " /proc/mounts)
info "mount: $mline"
check_true dax_in_mount_options sh -c "grep ' $MNT ' /proc/mounts | grep -qE '[ ,]dax(=always)?[ ,]'"
check_eq pmem0_queue_dax 1 "$(cat /sys/block/pmem0/queue/dax)"

# 14 events on 6.x, 12 on 7.x (dax_insert_mapping and dax_pmd_insert_mapping went away).
nev=$(ls -d "$TRACEFS"/events/fs_dax/*/ 2>/dev/null | wc -l)
info "fs_dax events: $(ls "$TRACEFS"/events/fs_dax/ 2>/dev/null | grep -v -e enable -e filter | tr '\n' ' ')"
check_ge fs_dax_event_count 12 "$nev"

# Plain write path: a file written with dd reads back identically.
dd if=/dev/urandom of=/tmp/pattern bs=4096 count=16 2>/dev/null
dd if=/tmp/pattern of=$MNT/smoke.dat bs=4096 2>/dev/null
sync
check_eq write_readback "$(md5sum </tmp/pattern | cut -d' ' -f1)" "$(md5sum <$MNT/smoke.dat | cut -d' ' -f1)"

if have daxload; then
	check_true statx_dax daxload check $MNT/smoke.dat
	# 16 pages written through a shared mapping: each page must fault (PTE or PMD).
	trace_start fs_dax
	daxload fault --pages 16 --write --shared $MNT/fault.dat >/tmp/fault.out 2>&1
	rc=$?
	trace_stop
	cat /tmp/fault.out | while read -r l; do info "$l"; done
	check_eq daxload_fault_rc 0 "$rc"
	pid=$(daxload_get /tmp/fault.out fault pid)
	pte=$(trace_count dax_pte_fault "$pid")
	pmd=$(trace_count dax_pmd_fault "$pid")
	info "fs_dax events for pid=$pid: dax_pte_fault=$pte dax_pmd_fault=$pmd all=$(grep -vc '^#' "$DAXTEST_TRACE_FILE")"
	check_ge fault_events_seen 1 $((pte + pmd))
else
	skip fault_events_seen "build/daxload absent: no mapped-write check"
fi
exit 0
