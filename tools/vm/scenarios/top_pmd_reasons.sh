#!/bin/sh
# top_pmd_reasons: PMD fallbacks past the geometry tests are told apart.
#  extent:    a file whose blocks are not 2 MiB aligned (4 KiB written first,
#             then extended; FIEMAP through `daxload check` says so): its
#             fallbacks are extent (or pte_entry once 4 KiB faults filled a
#             range the kernel tries again), never other;
#  pte_entry: a file faulted through a 4 KiB-offset mapping first, then
#             mapped 2 MiB aligned: every PMD fault finds 4 KiB entries.
# The reasons sum to the kernel's FALLBACK count (tracefs) for the process.
. /daxtest/daxtest.sh

T=/tmp/top_pmd_reasons
rm -rf $T; mkdir -p $T

# reasons FILE: "extent pte_entry other" of the last (total) JSON object
reasons() { tail -n 1 "$1" | jq -r '.pmd_fallback_reasons | "\(.extent) \(.pte_entry) \(.other)"'; }
top_up() { # top_up NAME: daxtop -o json --hist in the background, ready
	daxtrace top -o json --hist -i 1 >$T/$1.json 2>$T/$1.err &
	TOP=$!
	wait_for_line $T/$1.err ': ready' 120 || { fail $1_ready "$(cat $T/$1.err)"; kill $TOP; exit 1; }
}
top_down() { sleep 1.2; kill -INT $TOP; wait $TOP; }
# run_case NAME FILE: write-fault FILE through a 2 MiB-aligned mapping under
# daxtop (--no-alloc: xfs's fallocate would break layouts, which drops the
# 4 KiB entries on 6.15+); sets k (the kernel's fallbacks) and extent, pte, other (daxtop's)
run_case() {
	trace_start fs_dax
	top_up $1
	daxload fault --size 4m --align 2m --write --shared --munmap --no-alloc $2 >$T/$1.out
	top_down
	trace_stop
	k=$(trace_count dax_pmd_fault_done "$(daxload_get $T/$1.out fault pid)" "FALLBACK")
	set -- $1 $(reasons $T/$1.json)
	extent=$2 pte=$3 other=$4
	info "$1: kernel fallbacks=$k extent=$extent pte_entry=$pte other=$other"
}

# --- extent: a file whose blocks start off a 2 MiB boundary -------------
made=0
for try in 1 2 3 4; do
	dd if=/dev/zero of=$MNT/pad$try bs=4k count=$try conv=fsync 2>/dev/null
	dd if=/dev/zero of=$MNT/mis bs=4k count=1 conv=fsync 2>/dev/null
	dd if=/dev/zero of=$MNT/mis bs=4k seek=1 count=1024 conv=notrunc,fsync 2>/dev/null
	a=$(daxload check $MNT/mis | kv blocks_2m_aligned)
	info "try $try: blocks_2m_aligned=$a"
	[ "$a" = 0 ] && { made=1; break; }
	rm -f $MNT/mis
done
check_eq misaligned_file_made 1 "$made"
if [ $made = 1 ]; then
	run_case ext $MNT/mis
	check_ge ext_fell_back 1 "$k"
	check_ge ext_counted_as_extent 1 "$extent"
	check_eq ext_reasons_sum_to_kernel "$k" $((extent + pte + other))
	check_eq ext_no_other 0 "$other"
fi

# --- pte_entry: 4 KiB faults first, then the 2 MiB-aligned mapping -------
daxload fault --size 4m --align 4k --write --shared --munmap $MNT/pte >$T/pte1.out
check_eq pte_first_pass_rc 0 $?
info "pte file: $(daxload check $MNT/pte | kv blocks_2m_aligned) (blocks_2m_aligned)"
run_case pte $MNT/pte
check_ge pte_fell_back 1 "$k"
check_eq pte_all_pte_entry "$k" "$pte"
check_eq pte_no_extent 0 "$extent"
check_eq pte_no_other 0 "$other"
exit 0
