#!/bin/sh
# leak_procwalk: daxleak walks /proc (every task of the machine) for layout
# waiters that no hook reported only when one can exist: break_layouts ran
# (the busy-page hook's call count moved), a waiter is known, or the last walk
# found one. Idle reports with hundreds of tasks: no walk (counters.proc_walks
# stays 0 while counters.busy_calls, the ground truth from the hook, stays 0).
# Then a truncate waits on 16 vmsplice-pinned pages: the waiter is listed with
# its holder, walks happen; once it is gone, walks stop again.
. /daxtest/daxtest.sh

F=$MNT/leak_procwalk.dat
OUT=/tmp/leak_procwalk.json
ERR=/tmp/leak_procwalk.err
NSLEEP=300

need_tools daxtrace daxload jq || exit 1
last_report() { grep '"type":"report"' "$OUT" | tail -n 1; }
walks() { last_report | jq '.counters.proc_walks'; }

# Many tasks: the walk's cost grows with them (idle must not pay it).
i=0 SLEEPERS=""
while [ $i -lt $NSLEEP ]; do sleep 120 & SLEEPERS="$SLEEPERS $!"; i=$((i + 1)); done
info "tasks: $(ls -d /proc/[0-9]* | wc -l)"

leak_start "$OUT" "$ERR" -i 0.5 --min-age 1 || { kill $SLEEPERS; exit 1; }
sleep 3
idle=$(last_report)
info "idle counters: $(echo "$idle" | jq -c '.counters')"
check_ge idle_reports 4 "$(grep -c '"type":"report"' "$OUT")"
if [ "$(echo "$idle" | jq '.counters.busy_calls')" = 0 ]; then
	check_eq idle_no_proc_walk 0 "$(echo "$idle" | jq '.counters.proc_walks')"
else
	fail idle_quiet "break_layouts ran while idle: $(echo "$idle" | jq -c '.counters')"
fi

daxload pin --pages 16 --hold 6 "$F" >/tmp/pw_pin.out 2>&1 &
PINJOB=$!
wait_for_line /tmp/pw_pin.out 'op=pin event=ready' 30 || fail pin_ready "$(cat /tmp/pw_pin.out)"
PIN=$(daxload_get /tmp/pw_pin.out pin pid)
daxload truncate "$F" >/tmp/pw_trunc.out 2>&1 &
TRPID=$!
sleep 3
snap=$(last_report)
w=$(echo "$snap" | jq -c --argjson t "$TRPID" '[.waiters[] | select(.pid == $t)]')
check_eq waiter_listed 1 "$(echo "$w" | jq 'length')"
check_eq waiter_holder_pid "$PIN" "$(echo "$w" | jq '.[0].holder.pid // 0')"
check_ge busy_calls_seen 1 "$(echo "$snap" | jq '.counters.busy_calls')"
check_ge walks_while_waiting 1 "$(echo "$snap" | jq '.counters.proc_walks')"

wait $PINJOB
wait $TRPID
sleep 2	# the waiter is gone; one more walk may see that
w1=$(walks)
sleep 3
w2=$(walks)
info "walks after the wait: $w1 then $w2 (3 s later)"
check_eq cleared_waiters 0 "$(last_report | jq '.waiters | length')"
check_eq idle_again_no_walk "$w1" "$w2"

kill -INT $LEAK
wait $LEAK
check_eq leak_exit 0 $?
kill $SLEEPERS 2>/dev/null
exit 0
