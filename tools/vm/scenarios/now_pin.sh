#!/bin/sh
# now_pin: a hang that started before daxtrace. daxload vmsplice-pins 16
# pages, another process truncates the file and blocks in break_layouts;
# only then `daxleak --now` runs once. It must name the truncating task as a
# waiter (state S, op truncate, inode), the exact page it waits for (file
# offset one of the pinned ones, pfn one of daxload's), and the pinning
# process as holder through its pipe; after the pin goes, "nothing stuck".
#
# Sourced by now_handoff.sh, now_punch.sh, now_evict.sh with NOW_MODE set:
#   pin      truncate vs a pin held by the pinning process
#   handoff  the pinning process exited, its child holds the pipe
#   punch    fallocate(PUNCH_HOLE) instead of truncate
#   evict    unlink while pinned: 7.x waits in dax_break_layout_final (D)
. /daxtest/daxtest.sh

NOW_MODE=${NOW_MODE:-pin}
F=$MNT/$DAXTEST_SCENARIO.dat
OUT=/tmp/$DAXTEST_SCENARIO.json
PAGES=16

need_tools daxtrace daxload jq || exit 1
if daxleak --now --help 2>&1 | grep -q 'One look at the kernel'; then :; else
	fail now_wired "daxleak --now is not wired to daxnow_run (src/leak/daxleak.c cmd_leak)"
	exit 1
fi

# run_now FILE: one `daxleak --now -o json`, its exit code checked.
run_now() {
	daxleak --now -o json >"$1" 2>/tmp/$DAXTEST_SCENARIO.err
	_rc=$?
	check_eq "${2:-now}_exit" 0 $_rc
	[ -s /tmp/$DAXTEST_SCENARIO.err ] && info "stderr: $(head -c 400 /tmp/$DAXTEST_SCENARIO.err | tr '\n' '|')"
	info "scan: $(jq -c '{method, stuck, scan_ms, tasks, bit_wait_table, vmemmap_base, not_seen}' "$1")"
}

# ---- the hang, set up before any daxtrace process exists ---------------------
case $NOW_MODE in
evict)
	# Before 6.15 eviction does not wait and the kernel WARNs about the
	# still-referenced entry (the bug leak_evict provokes too).
	[ "$DAXTEST_ERA" = 7 ] || expect_kernel_warn 'dax_disassociate_entry'
	# The hold is a safety net only (release is USR1 below): long enough that
	# slow scans on a loaded host cannot outlive it.
	daxload evict --pages $PAGES --hold 300 "$F" >/tmp/now.pin 2>&1 &
	JOB=$!
	wait_for_line /tmp/now.pin 'op=evict event=pinned' 30 || fail pinned "$(cat /tmp/now.pin)"
	WPID=$(daxload_get /tmp/now.pin evict pid)
	HOLDER=$(daxload_get /tmp/now.pin evict holder_pid)
	INO=$(daxload_get /tmp/now.pin evict ino)
	OFF=0 PFNS=""
	;;
*)
	HO=""
	[ "$NOW_MODE" = handoff ] && HO=--handoff
	daxload pin --pages $PAGES --hold inf --pfn $HO "$F" >/tmp/now.pin 2>&1 &
	PINJOB=$!
	wait_for_line /tmp/now.pin 'op=pin event=ready' 30 || fail pin_ready "$(cat /tmp/now.pin)"
	PIN=$(daxload_get /tmp/now.pin pin pid)
	HOLDER=$(daxload_get /tmp/now.pin pin holder_pid)
	INO=$(daxload_get /tmp/now.pin pin ino)
	OFF=$(daxload_get /tmp/now.pin pin offset)
	PFNS=$(daxload_get /tmp/now.pin pin pfns)
	if [ "$NOW_MODE" = handoff ]; then
		# the pinning process exits after ready (reaped here, not a zombie)
		wait "$PINJOB"
		PINJOB=""
		check_eq pinner_gone 1 "$(kill -0 "$PIN" 2>/dev/null && echo 0 || echo 1)"
	fi
	if [ "$NOW_MODE" = punch ]; then
		daxload punch --offset "$OFF" --len $((PAGES * 4096)) "$F" >/tmp/now.op 2>&1 &
	else
		daxload truncate "$F" >/tmp/now.op 2>&1 &
	fi
	JOB=$!
	WPID=$JOB
	;;
esac
info "$(grep -m1 'event=' /tmp/now.pin)"
info "waiter pid=$WPID holder pid=$HOLDER ino=$INO"
sleep 3

# ---- one look ----------------------------------------------------------------
# The BPF iterators on every kernel: without bpf_loop (5.10) their
# bounded-loop twins, which must give the same answers.
run_now "$OUT" now
check_eq now_method bpf-iter "$(jq -r '.method' "$OUT")"
kernel_limit "no bpf_loop" && loops=bounded || loops=bpf_loop
check_eq now_loops $loops "$(jq -r '.loops' "$OUT")"
info "waiters: $(jq -c '[.waiters[] | del(.stack)]' "$OUT" | cut -c1-1500)"
w=$(jq -c --argjson p "$WPID" '[.waiters[] | select(.pid == $p)]' "$OUT")
info "waiter stack: $(echo "$w" | jq -r '.[0].stack // [] | join(" < ")' | cut -c1-600)"

if [ "$NOW_MODE" = evict ] && [ "$DAXTEST_ERA" != 7 ]; then
	# Before 6.15 eviction does not wait for the pin.
	check_eq evict_no_waiter 0 "$(echo "$w" | jq 'length')"
	check_eq evict_not_stuck false "$(jq '.stuck' "$OUT")"
	kill -USR1 "$HOLDER" 2>/dev/null
	wait $JOB
	exit 0
fi

check_eq stuck true "$(jq '.stuck' "$OUT")"
check_eq waiter_listed 1 "$(echo "$w" | jq 'length')"
case $NOW_MODE in
evict)
	check_eq waiter_state D "$(echo "$w" | jq -r '.[0].state')"
	check_eq waiter_interruptible false "$(echo "$w" | jq '.[0].interruptible')"
	check_eq waiter_op evict "$(echo "$w" | jq -r '.[0].op')" ;;
punch)
	check_eq waiter_state S "$(echo "$w" | jq -r '.[0].state')"
	check_eq waiter_op punch "$(echo "$w" | jq -r '.[0].op')" ;;
*)
	check_eq waiter_state S "$(echo "$w" | jq -r '.[0].state')"
	check_eq waiter_op truncate "$(echo "$w" | jq -r '.[0].op')" ;;
esac
check_eq waiter_fs "$DAXTEST_FS" "$(echo "$w" | jq -r '.[0].page.fs')"
check_eq waiter_inode "$INO" "$(echo "$w" | jq '.[0].page.ino')"
check_ge waiter_asleep_s 2 "$(echo "$w" | jq '.[0].asleep_s // 0 | floor')"
check_le waiter_asleep_s_max 60 "$(echo "$w" | jq '.[0].asleep_s // 999 | floor')"

# The page: one of the pinned file offsets (and pfns when daxload could read them).
poff=$(echo "$w" | jq '.[0].page.offset // -1')
in_set=0
i=0
while [ $i -lt $PAGES ]; do
	[ "$poff" = $((OFF + i * 4096)) ] && in_set=1
	i=$((i + 1))
done
check_eq page_offset_pinned 1 "$in_set"
info "page: $(echo "$w" | jq -c '.[0].page')"
ppfn=$(echo "$w" | jq -r '.[0].page.pfn // empty')
if [ -n "$PFNS" ] && [ -n "$ppfn" ]; then
	hex=$(printf '0x%x' "$ppfn")
	case ",$PFNS," in
	*",$hex,"*) pass page_pfn_pinned "pfn=$hex" ;;
	*) fail page_pfn_pinned "pfn=$hex not in $PFNS" ;;
	esac
	# pfn and offset agree: daxload lists pfns in page order from OFF
	idx=$(( (poff - OFF) / 4096 + 1 ))
	check_eq page_pfn_matches_offset "$(echo "$PFNS" | cut -d, -f$idx)" "$hex"
else
	info "SKIP page_pfn_pinned: pfn not known (daxload pfns='$PFNS', --now pfn='$ppfn')"
fi
check_ge page_extra_refs 1 "$(echo "$w" | jq '.[0].page.extra // 0')"
check_eq page_idle "$([ "$DAXTEST_ERA" = 7 ] && echo 0 || echo 1)" "$(echo "$w" | jq '.[0].page.idle')"

# The same wait entry found on the waiter's kernel stack instead of in
# bit_wait_table (what kernels without KALLSYMS_ALL do; on 5.10 the chunked
# bounded-loop stack walk).
DAXTRACE_SCAN_NO_BWT=1 daxleak --now -o json >/tmp/now.stack.json 2>/dev/null
ws=$(jq -c --argjson p "$WPID" '[.waiters[] | select(.pid == $p)][0]' /tmp/now.stack.json)
check_eq stack_search_via "task stack" "$(echo "$ws" | jq -r '.wait_entry_via')"
check_eq stack_search_same_page "$(echo "$w" | jq -r '.[0].page.page')" "$(echo "$ws" | jq -r '.page.page // "none"')"
check_eq stack_search_same_var "$(echo "$w" | jq -r '.[0].var')" "$(echo "$ws" | jq -r '.var // "none"')"

# The holder: the process that has the pipe now.
h=$(echo "$w" | jq -c --argjson p "$HOLDER" '[.[0].holders[] | select(.pid == $p and .how == "pipe")]')
info "holders: $(echo "$w" | jq -c '.[0].holders')"
check_eq holder_pipe 1 "$(echo "$h" | jq 'length')"
check_eq holder_pipe_pages $PAGES "$(echo "$h" | jq '.[0].same_file_pages // 0')"
if [ "$NOW_MODE" = handoff ]; then
	check_eq holder_not_pinner 0 "$(echo "$w" | jq --arg p "$PIN" '[.[0].holders[] | select((.pid | tostring) == $p)] | length')"
fi

# Text output says the same thing in words.
daxleak --now >/tmp/now.txt 2>&1
grep -q "^WAITER pid $WPID " /tmp/now.txt && pass text_waiter "WAITER line" ||
	fail text_waiter "$(head -c 600 /tmp/now.txt | tr '\n' '|')"
grep -q "pid $HOLDER .*pipe (fd" /tmp/now.txt && pass text_holder "holder line" ||
	fail text_holder "$(grep -A3 'held by' /tmp/now.txt | tr '\n' '|')"
# Without iter/task_vma (5.10) no mapping is listed: said once, in both forms
# (features states the limit; before 6.15 a mapping holds no reference).
if kernel_limit "no task_vma iterator"; then
	info "kernel limit: $LIMIT"
	check_eq no_vma_not_seen 1 "$(jq '[.not_seen[] | select(contains("no task_vma iterator"))] | length' "$OUT")"
	check_eq no_vma_text 1 "$(grep -c '^not seen: mappings of the waited pages. files: not listed (no task_vma iterator' /tmp/now.txt)"
	check_eq no_vma_no_mapping 0 "$(echo "$w" | jq '[.[0].holders[] | select(.how == "mapping")] | length')"
else
	check_eq vma_searched 0 "$(jq '[.not_seen[] | select(contains("task_vma"))] | length' "$OUT")"
fi

# ---- release: the waiter returns and --now says nothing is stuck --------------
case $NOW_MODE in
evict) kill -USR1 "$HOLDER" 2>/dev/null ;;
handoff) kill -USR1 "$HOLDER" 2>/dev/null ;;
*) kill -USR1 "$PIN" 2>/dev/null ;;
esac
wait $JOB
[ -n "${PINJOB:-}" ] && wait "$PINJOB" 2>/dev/null
wait_pid_gone "$HOLDER" 10
info "op: $(cat /tmp/now.op 2>/dev/null | tail -n 1)"
run_now /tmp/now.after.json after
check_eq after_stuck false "$(jq '.stuck' /tmp/now.after.json)"
exit 0
