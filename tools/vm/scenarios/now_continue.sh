#!/bin/sh
# now_continue: plain daxleak started on a hang that began before it. daxload
# vmsplice-pins 16 pages and a truncate of the file blocks; only then
# `daxleak -o json` starts. Its first report must list the truncating task
# as a waiter "seen at start" (op truncate, inode, holder = the pinner), and
# the 16 pinned pages (exact offsets, pfns) seen at start, held by the
# pinner through its pipe. A second pin taken after start is a normal item
# (culprit known, not seen at start). Releasing the first pin must clear its
# pages and the waiter from later reports; releasing the second clears all.
. /daxtest/daxtest.sh

F=$MNT/now_continue.dat
F2=$MNT/now_continue2.dat
PAGES=16
PAGES2=4
OUT=/tmp/now_continue.json
ERR=/tmp/now_continue.err

need_tools daxtrace daxload jq || exit 1

# last_report: the latest report line of the running daxleak.
last_report() { grep '"type":"report"' "$OUT" | tail -n 1; }
# wait_report JQ-FILTER TIMEOUT_S: until the latest report satisfies FILTER.
wait_report() {
	_t=$(( $2 * 10 ))
	while [ $_t -gt 0 ]; do
		# jq -e passes on empty input: a report must exist first
		[ -n "$(last_report)" ] && last_report | jq -e "$1" >/dev/null 2>&1 && return 0
		usleep 100000
		_t=$((_t - 1))
	done
	return 1
}
# offsets OFF N: the N page offsets from OFF, comma separated.
offsets() { awk -v o="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", i ? "," : "", o + i * 4096 }'; }
stop_all() {
	kill -USR1 "$PIN" "${PIN2:-}" 2>/dev/null
	kill -INT "${LEAK:-}" 2>/dev/null
	wait
}

# ---- the hang, before any daxtrace process exists ----------------------------
daxload pin --pages $PAGES --hold inf --pfn "$F" >/tmp/nc.pin 2>&1 &
PINJOB=$!
wait_for_line /tmp/nc.pin 'op=pin event=ready' 30 || fail pin_ready "$(cat /tmp/nc.pin)"
PIN=$(daxload_get /tmp/nc.pin pin pid)
INO=$(daxload_get /tmp/nc.pin pin ino)
OFF=$(daxload_get /tmp/nc.pin pin offset)
PFNS=$(daxload_get /tmp/nc.pin pin pfns)
daxload truncate "$F" >/tmp/nc.trunc 2>&1 &
TRJOB=$!
TRPID=$TRJOB
info "pin pid=$PIN ino=$INO offset=$OFF; truncate pid=$TRPID"
sleep 2

# ---- daxleak starts on it ------------------------------------------------------
daxleak -o json -i 1 --min-age 0 >"$OUT" 2>"$ERR" &
LEAK=$!
if ! wait_for_line "$ERR" 'ready' 90; then
	fail leak_ready "daxleak did not start: $(tail -n 3 "$ERR" | tr '\n' '|')"
	stop_all
	exit 1
fi
grep -v ready "$ERR" | while read -r l; do info "daxleak: $l"; done
start=$(grep '"type":"start"' "$OUT" | head -n 1)
info "scan at start: $(echo "$start" | jq -c '.scan_at_start')"
check_eq start_scan_ran true "$(echo "$start" | jq '.scan_at_start.ran')"
check_eq start_scan_waiters 1 "$(echo "$start" | jq '.scan_at_start.waiters')"
check_eq start_scan_pages $PAGES "$(echo "$start" | jq '.scan_at_start.pages')"
grep -q "seen at start: 1 task waiting in DAX break_layouts, $PAGES pages held" "$ERR" &&
	pass start_scan_line "stderr says what was seen at start" ||
	fail start_scan_line "$(grep 'seen at start' "$ERR")"

wait_report '.' 30 || fail first_report "no report: $(tail -c 300 "$ERR")"
snap=$(grep '"type":"report"' "$OUT" | head -n 1)
echo "$snap" >/tmp/nc.first

# The waiter: seen at start, truncate, the inode, joined to the pinner.
w=$(echo "$snap" | jq -c --argjson t "$TRPID" '[.waiters[] | select(.tid == $t)]')
info "waiters: $(echo "$snap" | jq -c '[.waiters[] | del(.kernel_stack)]')"
check_eq waiter_listed 1 "$(echo "$w" | jq 'length')"
check_eq waiter_seen_at_start true "$(echo "$w" | jq '.[0].seen_at_start')"
check_eq waiter_waited_at_least true "$(echo "$w" | jq '.[0].waited_at_least')"
check_eq waiter_op truncate "$(echo "$w" | jq -r '.[0].op')"
check_eq waiter_inode "$INO" "$(echo "$w" | jq '.[0].ino')"
check_eq waiter_state S "$(echo "$w" | jq -r '.[0].state')"
check_ge waiter_waited_s 2 "$(echo "$w" | jq '.[0].waited_s // 0 | floor')"
check_eq waiter_holder_pid "$PIN" "$(echo "$w" | jq '.[0].holder.pid // 0')"
check_eq waiter_holder_seen_at_start true "$(echo "$w" | jq '.[0].holder.seen_at_start')"
case $(echo "$w" | jq -r '.[0].kernel_stack // [] | join(" ")') in
*break_layout* | *wait_dax_page*) pass waiter_stack "scan stack has the wait frame" ;;
*) fail waiter_stack "$(echo "$w" | jq -c '.[0].kernel_stack')" ;;
esac

# The pinned pages: one seen-at-start group, held by the pinner's pipe.
g=$(echo "$snap" | jq -c '[.groups[] | select(.seen_at_start)]')
info "seen-at-start groups: $(echo "$g" | jq -c '[.[] | del(.held)]')"
check_eq start_groups 1 "$(echo "$g" | jq 'length')"
check_eq start_holder_pid "$PIN" "$(echo "$g" | jq '.[0].holder.pid // 0')"
check_eq start_holder_how pipe "$(echo "$g" | jq -r '.[0].holder.how // "none"')"
check_eq start_culprit_known false "$(echo "$g" | jq '.[0].culprit_known')"
check_eq start_pages $PAGES "$(echo "$g" | jq '[.[].held[]] | length')"
check_eq start_pages_total $PAGES "$(echo "$snap" | jq '.seen_at_start_pages')"
check_eq start_inode "$INO" "$(echo "$g" | jq -r '[.[].held[].ino] | unique | map(tostring) | join(",")')"
check_eq start_offsets "$(offsets "$OFF" $PAGES)" "$(echo "$g" | jq -r '[.[].held[].offset] | sort | map(tostring) | join(",")')"
check_eq start_marked $PAGES "$(echo "$g" | jq '[.[].held[] | select(.seen_at_start and .age_at_least)] | length')"
check_eq start_above_idle $PAGES "$(echo "$g" | jq '[.[].held[] | select(.refcount > .idle + .mapcount)] | length')"
if [ -n "$PFNS" ] && [ "$(echo "$g" | jq '[.[].held[] | select(.pfn == null)] | length')" = 0 ]; then
	got=$(echo "$g" | jq -r '[.[].held[] | {offset, pfn}] | sort_by(.offset) | map(.pfn) | .[]' |
		while read -r p; do printf '0x%x,' "$p"; done)
	check_eq start_pfns "$PFNS" "${got%,}"
else
	info "SKIP start_pfns: pfns not known (daxload pfns='$PFNS')"
fi

# The same in text.
daxleak -i 0.5 -c 1 --min-age 0 >/tmp/nc.txt 2>/tmp/nc.txt.err
check_eq text_exit 0 $?
info "text: $(grep -v '^    [0-9]' /tmp/nc.txt | head -n 12 | tr '\n' '|')"
grep -q " $PAGES pages held > 0.0s ($PAGES seen at start) by 0 culprit stacks, 1 waiter," /tmp/nc.txt &&
	pass text_header "header counts the pages seen at start apart" ||
	fail text_header "$(head -n 1 /tmp/nc.txt)"
grep -q "^SEEN AT START held by pid $PIN comm daxload through a pipe" /tmp/nc.txt &&
	pass text_start_group "SEEN AT START line" ||
	fail text_start_group "$(head -c 600 /tmp/nc.txt | tr '\n' '|')"
grep -Eq "^  \* $TRPID +$TRPID .* truncate " /tmp/nc.txt && pass text_waiter "* waiter row" ||
	fail text_waiter "$(grep -A3 WAITERS /tmp/nc.txt | tr '\n' '|')"

daxleak --folded -i 0.5 -c 1 --min-age 0 >/tmp/nc.folded 2>/dev/null
check_eq folded_start_line "daxload;[seen at start: culprit unknown] $PAGES" "$(grep 'seen at start' /tmp/nc.folded | head -n 1)"

# ---- a reference taken after start is a normal item ----------------------------
daxload pin --pages $PAGES2 --hold inf "$F2" >/tmp/nc.pin2 2>&1 &
PIN2JOB=$!
wait_for_line /tmp/nc.pin2 'op=pin event=ready' 30 || fail pin2_ready "$(cat /tmp/nc.pin2)"
PIN2=$(daxload_get /tmp/nc.pin2 pin pid)
INO2=$(daxload_get /tmp/nc.pin2 pin ino)
OFF2=$(daxload_get /tmp/nc.pin2 pin offset)
wait_report "[.groups[] | select(.pid == $PIN2)] | length > 0" 20 ||
	fail pin2_reported "no group of pid $PIN2: $(last_report | jq -c '[.groups[] | del(.held)]')"
snap=$(last_report)
g2=$(echo "$snap" | jq -c --argjson p "$PIN2" '[.groups[] | select(.pid == $p)]')
check_eq new_groups 1 "$(echo "$g2" | jq 'length')"
check_eq new_seen_at_start false "$(echo "$g2" | jq '.[0].seen_at_start')"
check_eq new_culprit_known true "$(echo "$g2" | jq '.[0].culprit_known')"
check_eq new_via get_user_pages_fast "$(echo "$g2" | jq -r '.[0].via')"
check_eq new_pages $PAGES2 "$(echo "$g2" | jq '[.[].held[] | select(.seen_at_start | not)] | length')"
check_eq new_inode "$INO2" "$(echo "$g2" | jq -r '[.[].held[].ino] | unique | map(tostring) | join(",")')"
check_eq new_offsets "$(offsets "$OFF2" $PAGES2)" "$(echo "$g2" | jq -r '[.[].held[].offset] | sort | map(tostring) | join(",")')"
check_eq still_start_pages $PAGES "$(echo "$snap" | jq '.seen_at_start_pages')"

# ---- release the first pin: its pages and the waiter go ------------------------
kill -USR1 "$PIN"
wait "$PINJOB"
wait "$TRJOB"
info "pin: $(grep 'event=released' /tmp/nc.pin); truncate: $(tail -n 1 /tmp/nc.trunc)"
wait_report ".seen_at_start_pages == 0 and ([.waiters[] | select(.tid == $TRPID)] | length) == 0" 20 ||
	info "reports did not clear in 20 s"
snap=$(last_report)
check_eq released_start_pages 0 "$(echo "$snap" | jq '.seen_at_start_pages')"
check_eq released_start_groups 0 "$(echo "$snap" | jq '[.groups[] | select(.seen_at_start)] | length')"
check_eq released_waiter 0 "$(echo "$snap" | jq --argjson t "$TRPID" '[.waiters[] | select(.tid == $t)] | length')"
check_eq released_inode_gone 0 "$(echo "$snap" | jq --argjson i "$INO" '[.groups[].held[] | select(.ino == $i)] | length')"
check_eq kept_new_pages $PAGES2 "$(echo "$snap" | jq --argjson p "$PIN2" '[.groups[] | select(.pid == $p) | .held[]] | length')"

# ---- release the second: nothing left --------------------------------------------
kill -USR1 "$PIN2"
wait "$PIN2JOB"
wait_report '.held_pages == 0 and .tracked == 0' 20 || info "reports did not clear in 20 s"
snap=$(last_report)
check_eq cleared_pages 0 "$(echo "$snap" | jq '.held_pages')"
check_eq cleared_tracked 0 "$(echo "$snap" | jq '.tracked')"
check_eq cleared_waiters 0 "$(echo "$snap" | jq '.waiters | length')"
check_eq anomalies 0 "$(grep '"type":"report"' "$OUT" | jq -s '[.[].anomalies[]] | length')"

kill -INT "$LEAK"
wait "$LEAK"
check_eq leak_exit 0 $?
exit 0
