#!/bin/sh
# leak_evict: on 6.15+ (era 7) unlinking a file whose pages are pinned leaves
# the evicting task in uninterruptible sleep (dax_break_layout_final) until the
# pin goes. daxleak must list it as an uninterruptible waiter (op evict) with
# the culprit named. On 6.1/6.12 eviction does not wait: checked not to hang.
. /daxtest/daxtest.sh

OUT=/tmp/leak_evict.json
ERR=/tmp/leak_evict.err
F=$MNT/leak_evict.dat

need_tools daxtrace daxload jq || exit 1
daxtrace leak -o json -i 1 --min-age 1 >"$OUT" 2>"$ERR" &
LEAK=$!
if ! wait_for_line "$ERR" 'ready' 60; then
	fail leak_ready "daxleak did not start: $(tail -n 3 "$ERR" | tr '\n' '|')"
	exit 1
fi
# Before 6.15 evicting a pinned file trips the kernel's WARN_ON_ONCE in
# dax_disassociate_entry: provoked on purpose, and checked below that
# daxleak flags it. On 7.x no warning is expected.
[ "$DAXTEST_ERA" = 7 ] || expect_kernel_warn 'at fs/dax\.c:[0-9]+ dax_disassociate_entry'
daxload evict --pages 16 --hold 8 "$F" >/tmp/evict.out 2>&1 &
EV=$!
wait_for_line /tmp/evict.out 'op=evict event=pinned' 30 || fail evict_pinned "$(cat /tmp/evict.out)"
EVPID=$(daxload_get /tmp/evict.out evict pid)
HOLDER=$(daxload_get /tmp/evict.out evict holder_pid)
info "evictor pid=$EVPID pipe holder pid=$HOLDER"
sleep 4
snap=$(grep '"type":"report"' "$OUT" | tail -n 1)
info "waiters: $(echo "$snap" | jq -c '.waiters')"
if [ "$DAXTEST_ERA" = 7 ]; then
	w=$(echo "$snap" | jq -c --argjson t "$EVPID" '[.waiters[] | select(.pid == $t)]')
	check_eq evict_waiter 1 "$(echo "$w" | jq 'length')"
	check_eq evict_op evict "$(echo "$w" | jq -r '.[0].op')"
	check_eq evict_uninterruptible false "$(echo "$w" | jq '.[0].interruptible')"
	check_eq evict_state D "$(echo "$w" | jq -r '.[0].state')"
	# The reference was taken by the evictor's vmsplice before it forked
	# the pipe holder and closed its own ends: the culprit is the
	# evictor's pid, the holder now the child that has the pipe.
	check_eq evict_culprit "$EVPID" "$(echo "$w" | jq '.[0].holder.culprit_pid // 0')"
	check_eq evict_holder_now "$HOLDER" "$(echo "$w" | jq '.[0].holder.pid // 0')"
	check_eq evict_held 16 "$(echo "$snap" | jq '.held_pages')"
else
	check_eq evict_no_waiter 0 "$(echo "$snap" | jq '.waiters | length')"
fi
wait $EV
if [ "$DAXTEST_ERA" != 7 ]; then
	# Before 6.15 eviction does not wait: it removes the entries of pages
	# that are still referenced, and the kernel WARNs in
	# dax_disassociate_entry (the bed's kernel_clean check reports that
	# WARN: it is the bug this scenario provokes). daxleak must have flagged
	# it with the culprit.
	sleep 2
	a=$(grep '"type":"report"' "$OUT" | jq -s -c '[.[].anomalies[] | select(.type == "disassociated-while-held")]')
	info "anomalies: $(echo "$a" | cut -c1-600)"
	check_ge disassoc_anomaly 1 "$(echo "$a" | jq 'length')"
	check_eq disassoc_culprit "$EVPID" "$(echo "$a" | jq '.[0].culprit_pid')"
	info "kernel: $(dmesg | grep -m1 'WARNING.*dax_disassociate_entry')"
fi
info "evict: $(grep 'event=done' /tmp/evict.out)"
sleep 3
last=$(grep '"type":"report"' "$OUT" | tail -n 1)
check_eq cleared_pages 0 "$(echo "$last" | jq '.held_pages')"
check_eq cleared_waiters 0 "$(echo "$last" | jq '.waiters | length')"
kill -INT $LEAK
wait $LEAK
check_eq leak_exit 0 $?
exit 0
