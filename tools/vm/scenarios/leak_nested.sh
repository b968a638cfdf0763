#!/bin/sh
# leak_nested: a GUP call nested in another is counted once. daxload pin
# --cold vmsplices 16 DAX pages it never touched: get_user_pages_fast finds
# no page table entry and takes its slow path, which up to Linux 6.2 calls
# the exported get_user_pages_unlocked (hooked too). daxleak has no entry
# program on the fast path (fexit): it tells the inner call by its
# FOLL_GET/FOLL_PIN flag. Ground truth: daxload's 16 pages, one reference
# each (the pipe's), so every row has refs 1 and acquisitions 1; on 5.10
# and 6.1 the inner call is seen and skipped (gup_nested >= 1), on 6.12
# and 7 the slow path does not nest (gup_nested 0).
. /daxtest/daxtest.sh

F=$MNT/leak_nested.dat
OUT=/tmp/leak_nested.json
ERR=/tmp/leak_nested.err

need_tools daxtrace daxload jq || exit 1
leak_start "$OUT" "$ERR" -i 0.5 --min-age 1 || exit 1
daxload pin --cold --pages 16 --hold 10 "$F" >/tmp/nested_pin.out 2>&1 &
PINJOB=$!
wait_for_line /tmp/nested_pin.out 'op=pin event=ready' 30 || fail pin_ready "$(cat /tmp/nested_pin.out)"
PIN=$(daxload_get /tmp/nested_pin.out pin pid)
T_READY=$(daxload_get /tmp/nested_pin.out pin t_ns)
# A report made 1.5 s after the pin (past --min-age): the first reports of
# a boot can be slow (first stack symbolization under TCG).
n=80
while [ $n -gt 0 ]; do
	snap=$(grep '"type":"report"' "$OUT" | tail -n 1)
	[ "$(echo "$snap" | jq --argjson t "$T_READY" '.mono_ns > $t + 1500000000')" = true ] && break
	usleep 100000
	n=$((n - 1))
done
rows=$(echo "$snap" | jq -c --argjson p "$PIN" '[.groups[] | select(.pid == $p) | .held[]]')
info "counters: $(echo "$snap" | jq -c '.counters')"
info "held $(echo "$snap" | jq -c '[.held_pages, .tracked]') groups: $(echo "$snap" | jq -c '[.groups[] | {pid, comm, n: (.held | length), row: .held[0]}]' | cut -c1-900)"
check_eq held_pages 16 "$(echo "$rows" | jq 'length')"
check_eq refs_once 16 "$(echo "$rows" | jq '[.[] | select(.refs == 1)] | length')"
check_eq acquired_once 16 "$(echo "$rows" | jq '[.[] | select(.acquisitions == 1)] | length')"
nested=$(echo "$snap" | jq '.counters.gup_nested')
case $DAXTEST_ERA in
5.10 | 6.1) check_ge inner_call_skipped 1 "$nested" ;;
*) check_eq no_nesting_here 0 "$nested" ;;
esac
kill -USR1 $PINJOB	# release now (--hold is the safety net)
wait $PINJOB
sleep 1.5
check_eq cleared_pages 0 "$(grep '"type":"report"' "$OUT" | tail -n 1 | jq '.held_pages')"
kill -INT $LEAK
wait $LEAK
check_eq leak_exit 0 $?
exit 0
