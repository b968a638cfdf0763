#!/bin/sh
# now_idle: nothing stuck. `daxleak --now` says so in one line, exits 0,
# quickly, in text and JSON; also right after a pin that blocked nobody.
. /daxtest/daxtest.sh

need_tools daxtrace daxload jq || exit 1
if daxleak --now --help 2>&1 | grep -q 'One look at the kernel'; then :; else
	fail now_wired "daxleak --now is not wired to daxnow_run (src/leak/daxleak.c cmd_leak)"
	exit 1
fi
t0=$(cut -d' ' -f1 /proc/uptime)
daxleak --now >/tmp/now_idle.txt 2>&1
check_eq text_exit 0 $?
t1=$(cut -d' ' -f1 /proc/uptime)
info "text: $(head -c 400 /tmp/now_idle.txt | tr '\n' '|') (wall $(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}') s under TCG)"
check_eq text_nothing_stuck 1 "$(grep -c '^nothing stuck' /tmp/now_idle.txt)"
daxleak --now -o json >/tmp/now_idle.json
check_eq json_exit 0 $?
check_eq json_stuck false "$(jq '.stuck' /tmp/now_idle.json)"
check_eq json_waiters 0 "$(jq '.waiters | length' /tmp/now_idle.json)"
# the BPF iterators on every kernel (bounded-loop twins without bpf_loop)
check_eq json_method bpf-iter "$(jq -r '.method' /tmp/now_idle.json)"
info "json: $(jq -c 'del(.waiters)' /tmp/now_idle.json)"

# A pin alone (nobody waiting) is not a hang.
daxload pin --pages 4 --hold inf "$MNT/now_idle.dat" >/tmp/now_idle.pin 2>&1 &
J=$!
wait_for_line /tmp/now_idle.pin 'event=ready' 30
daxleak --now -o json >/tmp/now_idle2.json
check_eq pin_only_exit 0 $?
check_eq pin_only_stuck false "$(jq '.stuck' /tmp/now_idle2.json)"
kill -USR1 "$(daxload_get /tmp/now_idle.pin pin pid)"
wait $J
# bad usage is exit 2
daxleak --now --interval 1 >/dev/null 2>&1
check_eq bad_option_exit 2 $?
exit 0
