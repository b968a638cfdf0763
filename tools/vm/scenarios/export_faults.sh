#!/bin/sh
# export_faults: `daxtrace export --textfile` during daxload runs. The
# exposition is well formed, and its counters equal the kernel's own fs_dax
# tracepoint counts (per device and, with --per-pid, per process) even
# though every daxload process exits and its rows are folded out of the
# kernel map; with --lat-all the latency histogram counts every fault; a break_layouts
# wait behind a pin shows in the wait counters and histogram.
. /daxtest/daxtest.sh

T=/tmp/export_faults
mkdir -p $T
PROM=$T/daxtrace.prom
trace_start fs_dax
daxtrace export --textfile $PROM -i 0.5 --per-pid --lat-all >$T/out 2>$T/err &
EXP=$!
wait_for_line $T/err ': ready' 120 || { fail export_ready "$(cat $T/err)"; kill $EXP; exit 1; }
check_true textfile_written test -s $PROM

daxload fault --size 4m --align 2m --write --shared --msync --munmap $MNT/aligned >$T/a.out
daxload fault --size 4m --align 4k --write --shared --munmap $MNT/unaligned >$T/b.out
daxload fault --size 2m --align 2m --read --shared --munmap $MNT/sparse >$T/c.out 2>&1 || true
blwait=1
grep -q 'dax_layout_busy_page_range: unavailable' $T/err && blwait=0
if [ $blwait = 1 ]; then
	daxload pin --pages 16 --hold 2 $MNT/pinned >$T/pin.out &
	PIN=$!
	wait_for_line $T/pin.out 'event=ready' 60 || fail pin_ready "$(cat $T/pin.out)"
	daxload truncate $MNT/pinned >$T/trunc.out
	wait $PIN
else
	skip blwait "break_layouts hook unavailable on this kernel"
fi
# Three intervals: every daxload process has exited and been folded.
sleep 1.6
cp $PROM $T/final.prom
kill -TERM $EXP
wait $EXP
rc=$?
trace_stop
check_eq export_exit_0 0 "$rc"
check_true textfile_removed_on_exit test ! -e $PROM
F=$T/final.prom

# --- format: HELP/TYPE once per family, before its samples; sample syntax ---
bad=$(awk '
	/^# HELP / { next }
	/^# TYPE / { if (seen[$3]++) { print "dup TYPE " $3; next } fam = $3; next }
	/^#/ { print "comment: " $0; next }
	{
		if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? ([-+]?[0-9.eE+-]+|NaN|[+-]Inf)$/) { print "syntax: " $0; next }
		n = $0; sub(/[{ ].*/, "", n)
		if (n != fam && n != fam "_bucket" && n != fam "_sum" && n != fam "_count") print "outside family: " $0
	}' $F | head -3)
check_eq exposition_well_formed "" "$bad"

# --- per-device counters = kernel tracepoint counts ---
dev=$(sed -n 's/^daxtrace_device_info{dev="\([0-9:]*\)",mountpoint="\/mnt\/dax".*/\1/p' $F)
check_true device_info_names_mnt_dax test -n "$dev"
m() { # m NAME [LABELS]: value of the sample NAME{LABELS} (0 when absent)
	_k=$1
	[ -n "${2:-}" ] && _k="$1{$2}"
	awk -v k="$_k" 'index($0, k " ") == 1 { v = $2 } END { print v + 0 }' $F
}
k_pte=$(trace_count dax_pte_fault_done)
k_pmd_all=$(trace_count dax_pmd_fault_done)
k_fb=$(trace_count dax_pmd_fault_done "" "FALLBACK")
k_mkw=$(trace_count dax_insert_pfn_mkwrite)
k_hole=$(( $(trace_count dax_load_hole) + $(trace_count dax_pmd_load_hole) ))
k_wb=$(awk '/dax_writeback_one:/ { for (i = 1; i <= NF; i++) if ($i == "pglen") s += $(i + 1) + 0 }
	END { print s + 0 }' "$DAXTEST_TRACE_FILE")
info "kernel: pte=$k_pte pmd=$((k_pmd_all - k_fb)) fb=$k_fb mkwrite=$k_mkw hole=$k_hole wb_pages=$k_wb dev=$dev"
check_ge workload_faulted 1 "$k_pte"
check_eq pte_equals_tracefs "$k_pte" "$(m daxtrace_faults_total "dev=\"$dev\",type=\"pte\"")"
check_eq pmd_equals_tracefs $((k_pmd_all - k_fb)) "$(m daxtrace_faults_total "dev=\"$dev\",type=\"pmd\"")"
check_eq pmd_fallback_equals_tracefs "$k_fb" "$(m daxtrace_faults_total "dev=\"$dev\",type=\"pmd_fallback\"")"
check_eq mkwrite_equals_tracefs "$k_mkw" "$(m daxtrace_faults_total "dev=\"$dev\",type=\"mkwrite\"")"
check_eq hole_equals_tracefs "$k_hole" "$(m daxtrace_faults_total "dev=\"$dev\",type=\"hole\"")"
check_eq writeback_bytes_equal_tracefs $((k_wb * 4096)) "$(m daxtrace_writeback_bytes_total "dev=\"$dev\"")"
fbsum=$(awk '/^daxtrace_pmd_fallbacks_total\{/ { s += $2 } END { print s + 0 }' $F)
check_eq fallback_reasons_sum_to_fallbacks "$k_fb" "$fbsum"
# Map and buffer overflows must not happen here; runs the kernel skipped
# (a task preempted inside a program, 7.x: unmap/busy trampolines) are the
# kernel's, reported apart.
check_eq no_drops 0 "$(awk '/^daxtrace_events_dropped_total\{/ && !/reason="kernel_skipped"/ { s += $2 } END { print s + 0 }' $F)"
info "kernel-skipped runs: $(awk '/reason="kernel_skipped"/ { print $2 }' $F)"

# --- rows of exited processes were folded, the totals above survived it ---
check_ge rows_folded_after_exit 3 "$(m daxtrace_rows_folded_total 'why="exited"')"

# --- latency histogram: one observation per completed fault, cumulative ---
cnt=$(m daxtrace_fault_latency_seconds_count "dev=\"$dev\"")
missed=$(m daxtrace_fault_latency_missed_total)
check_eq latency_count_equals_faults $((k_pte + k_pmd_all - missed)) "$cnt"
check_eq latency_inf_bucket_equals_count "$cnt" "$(m daxtrace_fault_latency_seconds_bucket "dev=\"$dev\",le=\"+Inf\"")"
mono=$(awk -v d="dev=\"$dev\"" 'index($0, "daxtrace_fault_latency_seconds_bucket{" d ",") == 1 {
	if ($2 + 0 < prev) bad = 1; prev = $2 + 0 } END { print bad + 0 }' $F)
check_eq latency_buckets_cumulative 0 "$mono"

# --- per-pid series: daxload's own process, by its pid ---
pp() { # pp PID TYPE: per-process series value
	awk -v p="pid=\"$1\"" -v t="type=\"$2\"" 'index($0, "daxtrace_process_faults_total{" p ",") == 1 &&
		index($0, t) { v = $2 } END { print v + 0 }' $F
}
for f in a b; do
	pid=$(daxload_get $T/$f.out fault pid)
	kp=$(trace_count dax_pte_fault_done "$pid")
	kf=$(trace_count dax_pmd_fault_done "$pid" "FALLBACK")
	km=$(( $(trace_count dax_pmd_fault_done "$pid") - kf ))
	check_eq per_pid_${f}_pte_equals_tracefs "$kp" "$(pp $pid pte)"
	check_eq per_pid_${f}_pmd_equals_tracefs "$km" "$(pp $pid pmd)"
	check_eq per_pid_${f}_pmd_fallback_equals_tracefs "$kf" "$(pp $pid pmd_fallback)"
done
check_ge per_pid_b_has_pte_faults 1 "$(pp $(daxload_get $T/b.out fault pid) pte)"
check_eq no_series_folded 0 "$(m daxtrace_series_folded_total)"

# --- break_layouts: the truncate behind the pin ---
if [ $blwait = 1 ]; then
	check_eq one_break_layouts_wait 1 "$(m daxtrace_break_layouts_waits_total "dev=\"$dev\"")"
	check_eq wait_histogram_one_sample 1 "$(m daxtrace_break_layouts_wait_duration_seconds_count)"
	blocked=$(daxload_get $T/trunc.out truncate blocked_ms)
	secs=$(awk '/^daxtrace_break_layouts_wait_seconds_total\{/ { s += $2 } END { printf "%d", s * 1000 }' $F)
	check_within_pct wait_seconds_match_daxload "${blocked%.*}" "$secs" 10
fi
exit 0
