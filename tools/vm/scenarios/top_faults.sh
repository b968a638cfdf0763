#!/bin/sh
# top_faults: daxtop's per-(process, file) counts equal the kernel's own
# fs_dax tracepoint counts and daxload's ground truth, for a 2 MiB-aligned
# mapping (PMD faults possible) and a 4 KiB-offset one (PTE only); writeback
# moves on msync, unmaps on munmap; JSON carries the batch numbers; with
# --lat-all histogram totals equal the fault counts, by default (sampled at
# high fault rates) the faults timed are a share of the faults counted.
. /daxtest/daxtest.sh

T=/tmp/top_faults
rm -rf $T; mkdir -p $T	# a stale ready line would race the new tool
trace_start fs_dax
daxtrace top -b -i 1 >$T/top.txt 2>$T/top.err &
TOP=$!
daxtrace top -o json --hist --lat-all -i 1 >$T/top.json 2>$T/topj.err &
TOPJ=$!
wait_for_line $T/top.err ': ready' 120 || { fail top_ready "$(cat $T/top.err)"; kill $TOP; exit 1; }
wait_for_line $T/topj.err ': ready' 120 || { fail topj_ready "$(cat $T/topj.err)"; kill $TOP $TOPJ; exit 1; }

daxload fault --size 4m --align 2m --write --shared --msync --munmap $MNT/aligned >$T/a.out
daxload fault --size 4m --align 4k --write --shared --munmap $MNT/unaligned >$T/b.out
daxload fault --size 2m --align 2m --read --shared --munmap $MNT/sparse >$T/c.out 2>&1 || true
sleep 1.2
kill -INT $TOP $TOPJ
wait $TOP; rc=$?
wait $TOPJ
trace_stop
check_eq top_exit_0 0 "$rc"
cat $T/top.err | while read -r l; do info "stderr: $l"; done
top_table $T/top.txt | while read -r l; do info "total: $l"; done
# Every guest kernel allows fentry: the function hooks must attach there.
check_true unmap_hook_attached grep -Eq 'unmap_page_range=(fentry|kprobe)' $T/top.txt
check_true busy_hook_attached grep -Eq 'dax_layout_busy_page_range=(fentry|kprobe)' $T/top.txt

# check_file NAME OUTFILE: compare one daxload run's row with tracefs.
check_file() {
	n=$1 out=$2
	pid=$(daxload_get $out fault pid)
	ino=$(daxload_get $out fault ino)
	pages=$(daxload_get $out fault touched)
	hex=$(printf '%x' "$ino")
	pat="ino 0x$hex "
	k_pte=$(trace_count dax_pte_fault_done "$pid" "$pat")
	k_pmd_all=$(trace_count dax_pmd_fault_done "$pid" "$pat")
	k_pmdfb=$(trace_count dax_pmd_fault_done "$pid" "${pat}.*FALLBACK")
	k_pmd=$((k_pmd_all - k_pmdfb))
	k_wb=$(awk -v pid="$pid" -v pat="$pat" '/dax_writeback_one:/ && index($0, "-" pid " ") && $0 ~ pat {
		for (i = 1; i <= NF; i++) if ($i == "pglen") s += $(i + 1) + 0 } END { print s + 0 }' "$DAXTEST_TRACE_FILE")
	t_pte=$(top_sum $T/top.txt PTE PID=$pid INO=$ino)
	t_pmd=$(top_sum $T/top.txt PMD PID=$pid INO=$ino)
	t_pmdfb=$(top_sum $T/top.txt PMDFB PID=$pid INO=$ino)
	t_write=$(top_sum $T/top.txt WRITE PID=$pid INO=$ino)
	t_wb=$(top_sum $T/top.txt WB PID=$pid INO=$ino)
	t_unmap=$(top_sum $T/top.txt UNMAP PID=$pid INO=$ino)
	info "$n pid=$pid ino=$ino pages=$pages kernel: pte=$k_pte pmd=$k_pmd fb=$k_pmdfb wb=$k_wb top: pte=$t_pte pmd=$t_pmd fb=$t_pmdfb write=$t_write wb=$t_wb unmap=$t_unmap"
	check_eq ${n}_pte_equals_tracefs "$k_pte" "$t_pte"
	check_eq ${n}_pmd_equals_tracefs "$k_pmd" "$t_pmd"
	check_eq ${n}_pmd_fallback_equals_tracefs "$k_pmdfb" "$t_pmdfb"
	check_ge ${n}_unmap_moves_on_munmap 1 "$t_unmap"
	# JSON total row carries the same numbers as the batch TOTAL block.
	j=$(tail -n 1 $T/top.json | jq -r --argjson p "$pid" --argjson i "$ino" \
		'[.rows[] | select(.pid == $p and .ino == $i)] | map([.pte, .pmd, .pmd_fallback, .write] | join(" ")) | .[0] // "none"')
	check_eq ${n}_json_matches_batch "$t_pte $t_pmd $t_pmdfb $t_write" "$j"
	# The path is known even though the process exited before it was printed.
	f=$(tail -n 1 $T/top.json | jq -r --argjson p "$pid" --argjson i "$ino" \
		'[.rows[] | select(.pid == $p and .ino == $i) | .file] | .[0] // "none"')
	check_eq ${n}_file_path "$(daxload_get $out fault file)" "$f"
}

check_file aligned $T/a.out
pages=$(daxload_get $T/a.out fault touched)
# Ground truth: every page written once, so the faults cover exactly the pages.
check_eq aligned_faults_cover_pages "$pages" $((t_pte + 512 * t_pmd))
check_eq aligned_all_faults_are_writes $((t_pte + t_pmd)) "$t_write"
check_ge aligned_writeback_on_msync 1 "$t_wb"
check_eq aligned_writeback_equals_tracefs "$k_wb" "$t_wb"

check_file unaligned $T/b.out
pages=$(daxload_get $T/b.out fault touched)
check_eq unaligned_no_pmd_mappings 0 "$t_pmd"
check_eq unaligned_pte_covers_pages "$pages" "$t_pte"
check_eq unaligned_no_writeback_without_msync 0 "$t_wb"

# Read faults on a fresh, allocated file: no writes counted.
if grep -q 'event=done' $T/c.out; then
	pid=$(daxload_get $T/c.out fault pid); ino=$(daxload_get $T/c.out fault ino)
	check_eq read_faults_not_writes 0 "$(top_sum $T/top.txt WRITE PID=$pid INO=$ino)"
fi

# --lat-all: histogram totals equal fault counts (all rows, whole run).
last=$(tail -n 1 $T/top.json)
check_eq json_last_is_total total "$(echo "$last" | jq -r .type)"
check_eq json_lat_sampling_all all "$(echo "$last" | jq -r .lat_sampling)"
check_eq json_lat_timed_equals_faults "$(echo "$last" | jq .faults)" "$(echo "$last" | jq .lat_timed)"
check_eq hist_pte_total_equals_pte "$(echo "$last" | jq '[.rows[].pte] | add // 0')" \
	"$(echo "$last" | jq .hist.pte_latency.total)"
check_eq hist_pmd_total_equals_pmd "$(echo "$last" | jq '[.rows[] | .pmd + .pmd_fallback] | add // 0')" \
	"$(echo "$last" | jq .hist.pmd_latency.total)"
check_eq no_events_lost 0 "$(echo "$last" | jq .lost)"

# Default (sampled): the TOTAL header's lat_timed=TIMED/FAULTS; FAULTS is the
# rows' PTE + PMD + PMDFB; a burst of ~3000 faults is timed at least 1 in 64
# per CPU once the rate is high (loose bound: 1 in 128), never more than all.
hdr=$(grep '^TOTAL ' $T/top.txt | tail -n 1)
lt=$(echo "$hdr" | kv lat_timed | sed 's/(.*//')
timed=${lt%/*} faults=${lt#*/}
info "default view: lat_timed=$lt"
check_eq sampled_faults_equal_rows "$(( $(top_sum $T/top.txt PTE) + $(top_sum $T/top.txt PMD) + $(top_sum $T/top.txt PMDFB) ))" "$faults"
check_ge sampled_timed_at_least_1_in_128 $((faults / 128)) "$timed"
check_ge sampled_timed_at_most_all "$timed" "$faults"
exit 0
