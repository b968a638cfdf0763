#!/bin/sh
# leak_pmd: 16 pages vmsplice-pinned inside a 2 MiB-aligned mapping of a 2 MiB
# file (daxload pin --pmd), at file offset 128 KiB, while a truncate waits.
# The kernel's own dax_pmd_fault_done count says whether a PMD mapped them
# (ext4: must; xfs usually falls back). daxleak must list exactly the 16
# pinned pages with daxload's offsets and pfns, the folio order (9 for a PMD
# folio from 6.15, else 0), the folios, and extra refs = 16 (what the kernel
# holds: per page up to 6.14, on the folio head from 6.15); the culprit's
# first kernel frame must be a kernel function, not daxleak's own BPF
# program, trampoline or kprobe handler; the waiter's busy page must show the
# pfn, inode and file offset of the page the kernel waits on (the first
# pinned page, or from 6.15 the head of the PMD folio holding it).
. /daxtest/daxtest.sh

F=$MNT/leak_pmd.dat
PAGES=16
POFF=$((32 * 4096))
HOLD=12
OUT=/tmp/leak_pmd.json
ERR=/tmp/leak_pmd.err

need_tools daxtrace daxload jq || exit 1

# hexlist < decimal numbers, one a line: 0x..,0x..,
hexlist() { while read -r p; do printf '0x%x,' "$p"; done; }

daxtrace leak -o json -i 0.5 --min-age 1 >"$OUT" 2>"$ERR" &
LEAK=$!
# the same in text through kprobes/kretprobes, to check the waiter row and
# that handler frames are dropped there too
daxtrace leak --no-fentry -i 1 --min-age 1 >/tmp/leak_pmd.txt 2>/tmp/leak_pmd.txt.err &
LEAKT=$!
if ! wait_for_line "$ERR" 'ready' 90 || ! wait_for_line /tmp/leak_pmd.txt.err 'ready' 90; then
	fail leak_ready "daxleak did not start: $(tail -n 3 "$ERR" /tmp/leak_pmd.txt.err | tr '\n' '|')"
	kill $LEAK $LEAKT 2>/dev/null
	exit 1
fi
pass leak_ready "$(grep ready "$ERR")"
ERA=$(grep '"type":"start"' "$OUT" | head -n 1 | jq -r '.era')
info "era: $ERA"

trace_start fs_dax
daxload pin --pmd --pfn --pages $PAGES --offset $POFF --hold $HOLD "$F" >/tmp/pmd.pin 2>&1 &
PINJOB=$!
wait_for_line /tmp/pmd.pin 'op=pin event=ready' 30 || fail pin_ready "$(cat /tmp/pmd.pin)"
trace_stop
info "pin: $(grep 'event=ready' /tmp/pmd.pin)"
PIN=$(daxload_get /tmp/pmd.pin pin pid)
INO=$(daxload_get /tmp/pmd.pin pin ino)
OFF=$(daxload_get /tmp/pmd.pin pin offset)
PFNS=$(daxload_get /tmp/pmd.pin pin pfns)
MOFF=$(daxload_get /tmp/pmd.pin pin map_offset)
MPFN=$(daxload_get /tmp/pmd.pin pin map_pfn)
check_eq pin_offset $POFF "$OFF"
check_eq pin_pmd_eligible 1 "$(daxload_get /tmp/pmd.pin pin pmd_eligible)"

# What the kernel did: a PMD fault that installed a PMD (NOPAGE) or fell back.
PMD_OK=$(trace_count dax_pmd_fault_done "$PIN" 'NOPAGE')
PMD_FB=$(trace_count dax_pmd_fault_done "$PIN" 'FALLBACK')
PTE=$(trace_count dax_pte_fault_done "$PIN")
info "kernel: dax_pmd_fault_done NOPAGE=$PMD_OK FALLBACK=$PMD_FB, dax_pte_fault_done=$PTE"
if [ "$DAXTEST_FS" = ext4 ]; then
	check_ge pmd_mapped 1 "$PMD_OK"
fi
# The folio daxleak should see: from 6.15 a PMD maps one order-9 folio.
if [ "$PMD_OK" -ge 1 ] && [ "$ERA" = zero-based ]; then
	WANT_ORDER=9 WANT_FOLIOS=1
else
	WANT_ORDER=0 WANT_FOLIOS=$PAGES
fi

sleep 1
daxload truncate "$F" >/tmp/pmd.trunc 2>&1 &
TRJOB=$!
sleep 4
snap=$(grep '"type":"report"' "$OUT" | tail -n 1)
echo "$snap" >/tmp/leak_pmd.snap

grp=$(echo "$snap" | jq -c --argjson p "$PIN" '[.groups[] | select(.pid == $p)]')
info "held: $(echo "$grp" | jq -c '[.[].held[] | {offset, pfn, order, refcount, mapcount, extra}]')"
check_eq culprit_groups 1 "$(echo "$grp" | jq 'length')"
check_eq held_pages $PAGES "$(echo "$grp" | jq '[.[].held[]] | length')"
check_eq held_inode "$INO" "$(echo "$grp" | jq -r '[.[].held[].ino] | unique | map(tostring) | join(",")')"
want=$(awk -v o="$OFF" -v n=$PAGES 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", i ? "," : "", o + i * 4096 }')
check_eq held_offsets "$want" "$(echo "$grp" | jq -r '[.[].held[].offset] | sort | map(tostring) | join(",")')"
if [ -n "$PFNS" ]; then
	got=$(echo "$grp" | jq -r '[.[].held[] | {offset, pfn}] | sort_by(.offset) | map(.pfn // 0) | .[]' | hexlist)
	check_eq held_pfns "$PFNS" "${got%,}"
else
	fail held_pfns "daxload printed no pfns (pagemap hidden?)"
fi
check_eq held_order "$WANT_ORDER" "$(echo "$grp" | jq -r '[.[].held[].order] | unique | map(tostring) | join(",")')"
check_eq held_folios "$WANT_FOLIOS" "$(echo "$grp" | jq '.[0].folios')"
check_eq extra_refs $PAGES "$(echo "$grp" | jq '.[0].extra_refs')"
# extra: the references of the folio holding the page (16 on the PMD folio,
# else 1 per page); refs: the ones taken through that page
check_eq folio_extra_refs $((PAGES / WANT_FOLIOS)) "$(echo "$grp" | jq -r '[.[].held[].extra] | unique | map(tostring) | join(",")')"
check_eq page_refs 1 "$(echo "$grp" | jq -r '[.[].held[].refs] | unique | map(tostring) | join(",")')"
lf=$(echo "$grp" | jq -c '.[0].large_folios')
info "large folios: $lf"
if [ "$WANT_ORDER" = 9 ]; then
	got="$(echo "$lf" | jq -r '[length, (.[0] | .order, .extra_refs, .pages_held)] | map(tostring) | join(" ")')"
	got="$got $(printf '0x%x' "$(echo "$lf" | jq '.[0].pfn // 0')") $(echo "$lf" | jq '.[0].offset')"
	check_eq large_folio "1 9 $PAGES $PAGES $MPFN $MOFF" "$got"
else
	check_eq large_folio 0 "$(echo "$lf" | jq 'length')"
fi

# First kernel frame: where the reference was taken, not our own tracing.
kst=$(echo "$grp" | jq -r '.[0].kernel_stack // [] | .[]')
info "culprit kernel stack: $(echo "$kst" | tr '\n' ' ')"
f1=$(echo "$kst" | head -n 1)
# frame1_check NAME FRAME: the frame is a kernel function, not ours
frame1_check() {
	case $2 in
	bpf_* | *bpf_prog* | *bpf_trampoline* | *kprobe* | *ftrace* | *rethook* | 0x* | '')
		fail "$1" "frame 1 is tracing machinery: $2" ;;
	*) pass "$1" "frame 1: $2" ;;
	esac
}
frame1_check stack_frame1 "$f1"
LIMIT=""
kernel_limit "cuts them at kretprobe_trampoline" && info "kernel limit: $LIMIT"
case $(echo "$kst" | tr '\n' ' ') in
*vmsplice*) pass stack_vmsplice "vmsplice in kernel stack" ;;
*kretprobe_trampoline*) unless_limited fail stack_vmsplice "no vmsplice frame" ;;
*) fail stack_vmsplice "no vmsplice frame" ;;
esac
if [ -n "$LIMIT" ]; then
	# Two instances on one function: one of them gets its stack cut at the
	# other's kretprobe trampoline (which one depends on the order the
	# kernel runs them): the text instance shows either the whole stack or
	# exactly that stated cut, never nothing.
	check_true stack_text_whole_or_stated_cut grep -q -e '__do_sys_vmsplice' -e 'kretprobe_trampoline' /tmp/leak_pmd.txt
fi

# The waiter's busy page, against daxload's pfns and offsets.
if [ "$WANT_ORDER" = 9 ]; then
	WOFF=$MOFF WPFN=$MPFN
else
	WOFF=$OFF WPFN=${PFNS%%,*}
fi
w=$(echo "$snap" | jq -c --argjson t "$TRJOB" '[.waiters[] | select(.pid == $t)]')
info "waiter: $(echo "$w" | jq -c '[.[] | del(.kernel_stack)]')"
check_eq waiter_listed 1 "$(echo "$w" | jq 'length')"
check_eq waiter_holder_pid "$PIN" "$(echo "$w" | jq '.[0].holder.pid // 0')"
check_eq waiter_busy_ino "$INO" "$(echo "$w" | jq '.[0].busy_ino')"
check_eq waiter_busy_offset "$WOFF" "$(echo "$w" | jq '.[0].busy_offset')"
check_eq waiter_busy_pfn "$WPFN" "$(printf '0x%x' "$(echo "$w" | jq '.[0].busy_pfn // 0')")"
check_eq waiter_busy_order "$WANT_ORDER" "$(echo "$w" | jq '.[0].busy_order')"

# The text report says the same: busy page by pfn and offset, no address.
kill -INT $LEAK $LEAKT
wait $LEAK $LEAKT
# the last waiter row of the pinned file printed while the pin held
wline=$(awk -v ino="$INO" '/^WAITERS/ { w = 1; next } /^[^ ]/ { w = 0 }
	w && /^  / && index($0, " " ino " ") { l = $0 } END { print l }' /tmp/leak_pmd.txt)
info "text waiter: $wline"
case $wline in
*"pfn $WPFN"*"off 0x$(printf '%x' "$WOFF")"*) pass text_busy_page "busy page by pfn and offset" ;;
*) fail text_busy_page "$wline" ;;
esac
info "text: $(grep -A12 '^CULPRIT' /tmp/leak_pmd.txt | tail -n 13 | tr '\n' '|')"
info "kprobe hooks: $(grep -o 'kprobe [0-9]*' /tmp/leak_pmd.txt.err | head -n 1)"
frame1_check stack_frame1_kprobe "$(grep '^    kernel: ' /tmp/leak_pmd.txt | tail -n 1 | awk '{ print $2 }')"
if [ "$WANT_ORDER" = 9 ]; then
	grep -q "FOLIO pfn $MPFN offset 0x$(printf '%x' "$MOFF") order 9 (512 pages): $PAGES extra refs on the folio" /tmp/leak_pmd.txt &&
		pass text_folio "the folio, its order and extra refs stated" ||
		fail text_folio "$(grep FOLIO /tmp/leak_pmd.txt | tail -n 1)"
fi

wait "$PINJOB"
wait "$TRJOB"
info "truncate: $(cat /tmp/pmd.trunc)"
exit 0
