#!/bin/sh
# leak_pin: daxload vmsplice-holds 16 pages for 10 s while another process
# truncates the file. daxleak must report exactly those 16 pages (inode,
# offsets), refcount above idle, age within 10% of daxload's own hold time,
# culprit = the pinning process with the vmsplice path in its kernel stack,
# and the truncating task as a waiter joined to that holder. Once the pipe
# drains, the report clears and the waiter is gone.
. /daxtest/daxtest.sh

F=$MNT/leak_pin.dat
HOLD=10
OUT=/tmp/leak_pin.json
ERR=/tmp/leak_pin.err

need_tools daxtrace daxload jq || exit 1

daxtrace leak -o json -i 0.5 --min-age 1 >"$OUT" 2>"$ERR" &
LEAK=$!
if ! wait_for_line "$ERR" 'ready' 60; then
	fail leak_ready "daxleak did not start: $(tail -n 3 "$ERR" | tr '\n' '|')"
	kill $LEAK 2>/dev/null
	exit 1
fi
pass leak_ready "$(grep ready "$ERR")"
grep -v ready "$ERR" | while read -r l; do info "daxleak: $l"; done

daxload pin --pages 16 --hold $HOLD "$F" >/tmp/pin.out 2>&1 &
PINJOB=$!
wait_for_line /tmp/pin.out 'op=pin event=ready' 30 || fail pin_ready "$(cat /tmp/pin.out)"
PIN=$(daxload_get /tmp/pin.out pin pid)
INO=$(daxload_get /tmp/pin.out pin ino)
OFF=$(daxload_get /tmp/pin.out pin offset)
info "pin: $(grep 'event=ready' /tmp/pin.out)"

# The truncating task blocks in break_layouts until the pipe is drained.
sleep 1
daxload truncate "$F" >/tmp/trunc.out 2>&1 &
TRJOB=$!
TRPID=$TRJOB
sleep 1
info "truncate pid=$TRPID"

# Let the reference age past --min-age and a few reports pass.
sleep 4
snap=$(grep '"type":"report"' "$OUT" | tail -n 1)
echo "$snap" >/tmp/leak_pin.snap

grp=$(echo "$snap" | jq -c --argjson p "$PIN" '[.groups[] | select(.pid == $p)]')
check_eq culprit_groups 1 "$(echo "$grp" | jq 'length')"
check_eq held_pages 16 "$(echo "$grp" | jq '[.[].held[]] | length')"
check_eq held_pages_total 16 "$(echo "$snap" | jq '.held_pages')"
check_eq held_inode "$INO" "$(echo "$grp" | jq -r '[.[].held[].ino] | unique | map(tostring) | join(",")')"
want=$(awk -v o="$OFF" 'BEGIN { for (i = 0; i < 16; i++) printf "%s%d", i ? "," : "", o + i * 4096 }')
check_eq held_offsets "$want" "$(echo "$grp" | jq -r '[.[].held[].offset] | sort | map(tostring) | join(",")')"
check_eq above_idle 16 "$(echo "$grp" | jq '[.[].held[] | select(.refcount > .idle + .mapcount)] | length')"
check_eq culprit_pid "$PIN" "$(echo "$grp" | jq '.[0].pid')"
kst=$(echo "$grp" | jq -r '.[0].kernel_stack // [] | join(" ")')
info "culprit kernel stack: $kst"
info "culprit user stack: $(echo "$grp" | jq -r '.[0].user_stack // [] | join(" ")')"
case $kst in
*vmsplice*) pass stack_vmsplice "vmsplice in kernel stack" ;;
*) fail stack_vmsplice "no vmsplice frame: $kst" ;;
esac

w=$(echo "$snap" | jq -c --argjson t "${TRPID:-0}" '[.waiters[] | select(.pid == $t)]')
info "waiters: $(echo "$snap" | jq -c '.waiters')"
check_eq waiter_listed 1 "$(echo "$w" | jq 'length')"
check_eq waiter_holder_pid "$PIN" "$(echo "$w" | jq '.[0].holder.pid // 0')"
check_eq waiter_op truncate "$(echo "$w" | jq -r '.[0].op')"
check_eq waiter_inode "$INO" "$(echo "$w" | jq '.[0].ino')"

# Drain: pin releases after HOLD, truncate returns, report clears.
wait "$PINJOB"
wait "$TRJOB"
info "pin: $(grep 'event=released' /tmp/pin.out)"
info "truncate: $(cat /tmp/trunc.out)"
# Age daxleak showed in the mid-hold snapshot vs daxload's own age of the pin
# at the same instant (both CLOCK_MONOTONIC: report mono_ns - daxload t_ns).
T_READY=$(grep "^DAXLOAD op=pin event=ready " /tmp/pin.out | kv t_ns)
age=$(echo "$grp" | jq '.[0].oldest_s')
want_age=$(echo "$snap" | jq -r --argjson t "$T_READY" '(.mono_ns - $t) / 1e9')
check_within_pct age_vs_daxload "$(awk -v a="$want_age" 'BEGIN { printf "%.3f", a }')" \
	"$(awk -v a="$age" 'BEGIN { printf "%.3f", a }')" 10
HELD_MS=$(daxload_get /tmp/pin.out pin held_ms)
info "daxload held_ms=$HELD_MS; oldest age ever shown: $(grep '"type":"report"' "$OUT" | jq -s --argjson p "$PIN" '[.[].groups[] | select(.pid == $p) | .oldest_s] | max // 0')"
sleep 3
last=$(grep '"type":"report"' "$OUT" | tail -n 1)
check_eq cleared_pages 0 "$(echo "$last" | jq '.held_pages')"
check_eq cleared_tracked 0 "$(echo "$last" | jq '.tracked')"
check_eq cleared_waiters 0 "$(echo "$last" | jq '.waiters | length')"
check_eq anomalies 0 "$(grep '"type":"report"' "$OUT" | jq -s '[.[].anomalies[]] | length')"

kill -INT $LEAK
wait $LEAK
check_eq leak_exit 0 $?
sum=$(grep '"type":"summary"' "$OUT" | tail -n 1)
check_eq summary_present 1 "$(echo "$sum" | jq -e '.type == "summary"' >/dev/null && echo 1 || echo 0)"
info "summary counters: $(echo "$sum" | jq -c '.counters')"
exit 0
