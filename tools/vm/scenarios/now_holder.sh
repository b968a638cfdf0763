#!/bin/sh
# now_holder: the holder named for a stuck truncate is the process that
# has the pages now, or none. daxleak runs from before each hang.
#  to-parent  a child of daxload pins 16 pages, passes the pipe to its
#             parent (SCM_RIGHTS) and exits: --now and daxleak must name
#             the parent (daxload's holder_pid), never the exited pinner.
#  in-flight  daxload pins, sends the pipe's fds into a unix socket pair it
#             never reads and closes them: no process holds the pipe, so
#             --now and daxleak must say "no process holds it" and name no
#             process as holder (the pinner still maps the file: not a
#             reference once break_layouts unmapped it).
. /daxtest/daxtest.sh

T=/tmp/now_holder
mkdir -p $T
F=$MNT/now_holder.dat
PAGES=16
need_tools daxtrace daxload jq || exit 1

daxtrace leak -o json -i 0.5 --min-age 1 >$T/leak.json 2>$T/leak.err &
LEAK=$!
if ! wait_for_line $T/leak.err 'ready' 90; then
	fail leak_ready "$(tail -n 3 $T/leak.err | tr '\n' '|')"
	kill $LEAK
	exit 1
fi

# waiter FILE PID: that waiter's JSON object ("null" if not listed)
waiter() { jq -c --argjson p "$2" '[.waiters[] | select(.pid == $p)][0]' "$1"; }

# ---- to-parent -----------------------------------------------------------------
daxload pin --pages $PAGES --hold inf --to-parent "$F" >$T/pin.out 2>&1 &
PINJOB=$!
wait_for_line $T/pin.out 'op=pin event=handed' 30 || fail handed "$(cat $T/pin.out)"
PINNER=$(daxload_get $T/pin.out pin pinner_pid)
HOLDER=$(daxload_get $T/pin.out pin holder_pid)
check_eq pinner_gone 1 "$(kill -0 "$PINNER" 2>/dev/null && echo 0 || echo 1)"
daxload truncate "$F" >$T/op.out 2>&1 &
WPID=$!
info "to-parent: pinner $PINNER (exited), holder $HOLDER, waiter $WPID"
sleep 4
daxleak --now -o json >$T/now.json 2>$T/now.err
grep '"type":"report"' $T/leak.json | tail -n 1 >$T/leak.last
w=$(waiter $T/now.json $WPID)
info "--now holders: $(echo "$w" | jq -c '.holders')"
check_eq parent_now_holder "$HOLDER" \
	"$(echo "$w" | jq '[.holders[] | select(.how == "pipe")][0].pid // 0')"
check_eq parent_now_not_pinner 0 \
	"$(echo "$w" | jq --argjson p "$PINNER" '[.holders[] | select(.pid == $p)] | length')"
l=$(waiter $T/leak.last $WPID)
info "daxleak holder: $(echo "$l" | jq -c '.holder')"
check_eq parent_daxleak_holder "$HOLDER" "$(echo "$l" | jq '.holder.pid // 0')"
check_eq parent_daxleak_culprit "$PINNER" "$(echo "$l" | jq '.holder.culprit_pid // 0')"
kill -USR1 "$HOLDER"
wait $PINJOB
wait $WPID
rm -f "$F"

# ---- in-flight -----------------------------------------------------------------
daxload pin --pages $PAGES --hold inf --in-flight "$F" >$T/pin2.out 2>&1 &
PINJOB=$!
wait_for_line $T/pin2.out 'op=pin event=ready' 30 || fail ready "$(cat $T/pin2.out)"
PIN=$(daxload_get $T/pin2.out pin pid)
check_eq inflight_holder_pid 0 "$(daxload_get $T/pin2.out pin holder_pid)"
daxload truncate "$F" >$T/op2.out 2>&1 &
WPID=$!
info "in-flight: pinner $PIN (alive, maps the file, no pipe fd), waiter $WPID"
sleep 4
daxleak --now -o json >$T/now2.json 2>$T/now2.err
daxleak --now >$T/now2.txt 2>&1
grep '"type":"report"' $T/leak.json | tail -n 1 >$T/leak2.last
w=$(waiter $T/now2.json $WPID)
info "--now waiter: $(echo "$w" | jq -c '{holders, holder_note, page: .page.extra}')"
check_eq inflight_listed true "$(echo "$w" | jq '. != null')"
check_eq inflight_now_no_pipe 0 "$(echo "$w" | jq '[.holders[] | select(.how == "pipe")] | length')"
check_eq inflight_now_no_holding_map 0 \
	"$(echo "$w" | jq '[.holders[] | select(.how == "mapping" and .holds_reference)] | length')"
check_eq inflight_now_note true "$(echo "$w" | jq '.holder_note | test("no process holds it")')"
check_eq inflight_now_held_pid 0 "$(jq '[.held[]?.holder_pid] | max // 0' $T/now2.json)"
check_true inflight_now_text grep -q "holder   none: no process holds it" $T/now2.txt
l=$(waiter $T/leak2.last $WPID)
info "daxleak waiter: $(echo "$l" | jq -c '{holder, holder_note}')"
check_eq inflight_daxleak_holder null "$(echo "$l" | jq -c '.holder')"
check_eq inflight_daxleak_note true "$(echo "$l" | jq '.holder_note // "" | test("no process holds it")')"
kill -USR1 "$PIN"
wait $PINJOB
wait $WPID
info "$(tail -n 1 $T/pin2.out)"

kill -INT $LEAK
wait $LEAK
exit 0
