#!/bin/sh
# export_leak: the daxleak metrics of `daxtrace export --listen`, scraped
# over HTTP with busybox wget. First a hang older than the exporter: its
# scan at start finds the 16 pinned pages and the waiting truncate. Then
# daxload vmsplice-pins 16 pages while another
# process truncates the file: past --leak-min-age the folio and page gauges
# equal daxload's page count, the oldest age matches daxload's own age of
# the pin, and the truncating task is one waiter in the state /proc shows.
# After the pin goes every gauge is back to 0. Then an unlink of a pinned
# file: on 7.x a D-state waiter (dax_break_layout_final), before 6.15 the
# kernel's disassociate WARN, counted as a hazard. Counters never go down,
# nothing is dropped, and --no-leak leaves the leak families out.
. /daxtest/daxtest.sh

T=/tmp/export_leak
mkdir -p $T
F=$MNT/export_leak.dat
PAGES=16

ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
uptime_s() { cut -d' ' -f1 /proc/uptime; }	# CLOCK_BOOTTIME: CLOCK_MONOTONIC here (no suspend)
state_of() { sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f1; }

# ---- a hang that began before the exporter ------------------------------------
daxload pin --pages $PAGES --hold inf $MNT/export_leak0.dat >$T/pin0.out 2>&1 &
PIN0JOB=$!
wait_for_line $T/pin0.out 'op=pin event=ready' 30 || fail pin0_ready "$(cat $T/pin0.out)"
T0_READY=$(daxload_get $T/pin0.out pin t_ns)
T0_TRUNC=$(uptime_s)
daxload truncate $MNT/export_leak0.dat >$T/trunc0.out 2>&1 &
TR0=$!
sleep 2

daxtrace export --listen 127.0.0.1:0 -i 0.25 --leak-min-age 1 >$T/out 2>$T/err &
EXP=$!
wait_for_line $T/err ': ready' 120 || { fail export_ready "$(cat $T/err)"; kill $EXP; exit 1; }
T_RDY=$(uptime_s)
grep -v ': ready' $T/err | while read -r l; do info "stderr: $l"; done
PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' $T/err)

# scrape NAME: GET /metrics into $T/NAME
scrape() { wget -q -O $T/$1 "http://127.0.0.1:$PORT/metrics" || fail scrape_$1 "wget rc=$?"; }
# m FILE NAME [LABELS]: value of the sample (0 when absent); has FILE NAME: present
m() {
	_k=$2
	[ -n "${3:-}" ] && _k="$2{$3}"
	awk -v k="$_k" 'index($0, k " ") == 1 { v = $2 } END { print v + 0 }' $T/$1
}
has() { grep -q "^$2 " $T/$1; }
# timed_scrape NAME PID: scrape between uptimes u0 and u1; st = PID's state then
timed_scrape() {
	u0=$(uptime_s)
	scrape $1
	u1=$(uptime_s)
	st=$(state_of $2)
}
ms() { awk -v v="$1" 'BEGIN { printf "%d", v * 1000 }'; }
counters() { grep -E '^daxtrace_(leak_hazards_total|events_dropped_total)\{' $T/$1 | sort; }
# mss A B: (A - B) seconds in ms
mss() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (a - b) * 1000 }'; }

# Past --leak-min-age, the scan at start's finds are in the gauges: a page's
# age is a lower bound (at least since the exporter started, at most the
# pin's own age); the waiter's from how long it has been asleep.
sleep 1.5
timed_scrape s0a $TR0
info "truncate (older than the exporter) pid $TR0 state $st"
check_eq seen_at_start_folios "$(daxload_get $T/pin0.out pin pages)" "$(m s0a daxtrace_leak_extra_ref_folios)"
age=$(ms "$(m s0a daxtrace_leak_oldest_extra_ref_age_seconds)")
check_ge seen_at_start_age_since_exporter $(mss "$u0" "$T_RDY") $((age + 300))
check_le seen_at_start_age_at_most_the_pins $(awk -v u="$u1" -v t="$T0_READY" 'BEGIN { printf "%d", (u - t / 1e9) * 1000 + 50 }') "$age"
check_eq seen_at_start_waiter_in_state_$st 1 "$(m s0a daxtrace_break_layouts_waiters "state=\"$st\"")"
# asleep time comes from the run queue's task clock (no IRQ time): a lower bound too
wage=$(ms "$(m s0a daxtrace_break_layouts_oldest_waiter_seconds)")
info "waiter older than the exporter: ${wage} ms asleep, truncate launched $(mss "$u1" "$T0_TRUNC") ms ago"
check_ge seen_at_start_waiter_age_since_exporter $(mss "$u0" "$T_RDY") $((wage + 300))
check_le seen_at_start_waiter_age_at_most_the_truncates $(($(mss "$u1" "$T0_TRUNC") + 50)) "$wage"
kill -USR1 $(daxload_get $T/pin0.out pin holder_pid)
wait $PIN0JOB
wait $TR0
check_eq seen_at_start_truncate_ok 0 "$(daxload_get $T/trunc0.out truncate rc)"
sleep 1

scrape s0
check_eq leak_source_up 1 "$(m s0 daxtrace_source_up 'source="leak"')"
check_eq top_source_up 1 "$(m s0 daxtrace_source_up 'source="top"')"
check_eq leak_can_see_pins 1 "$(m s0 daxtrace_leak_capability 'capability="leaks"')"
check_eq min_age_exported 1 "$(m s0 daxtrace_leak_min_age_seconds)"
check_eq idle_folios 0 "$(m s0 daxtrace_leak_extra_ref_folios)"
check_eq idle_waiters_S 0 "$(m s0 daxtrace_break_layouts_waiters 'state="S"')"
check_eq idle_waiters_D 0 "$(m s0 daxtrace_break_layouts_waiters 'state="D"')"
check_true idle_gauges_present has s0 daxtrace_leak_oldest_extra_ref_age_seconds

# ---- pin + truncate --------------------------------------------------------
daxload pin --pages $PAGES --hold 10 "$F" >$T/pin.out 2>&1 &
PINJOB=$!
wait_for_line $T/pin.out 'op=pin event=ready' 30 || fail pin_ready "$(cat $T/pin.out)"
N=$(daxload_get $T/pin.out pin pages)
T_READY=$(daxload_get $T/pin.out pin t_ns)
T_TRUNC=$(uptime_s)
daxload truncate "$F" >$T/trunc.out 2>&1 &
TRPID=$!
# The pin ages past --leak-min-age (1 s) and several collections pass.
sleep 6
timed_scrape s1 $TRPID
info "pin: $(grep 'event=ready' $T/pin.out)"
info "truncate pid $TRPID state $st; scrape between uptime $u0 and $u1"
grep -E '^daxtrace_(leak_extra|leak_oldest|break_layouts_waiters|break_layouts_oldest)' $T/s1 |
	while read -r l; do info "s1: $l"; done
check_eq folios_equal_daxload_pages "$N" "$(m s1 daxtrace_leak_extra_ref_folios)"
check_eq pages_equal_daxload_pages "$N" "$(m s1 daxtrace_leak_extra_ref_pages)"
# daxload's own age of the pin at the scrape (its t_ns is CLOCK_MONOTONIC);
# the gauge is from the last collection, at most one interval (0.25 s) older.
want=$(awk -v u="$u1" -v t="$T_READY" 'BEGIN { printf "%d", (u - t / 1e9) * 1000 }')
check_within_pct oldest_age_vs_daxload "$want" "$(ms "$(m s1 daxtrace_leak_oldest_extra_ref_age_seconds)")" 10
case $st in
S | D)
	other=S
	[ "$st" = S ] && other=D
	check_eq waiter_in_its_state_$st 1 "$(m s1 daxtrace_break_layouts_waiters "state=\"$st\"")"
	check_eq no_waiter_in_state_$other 0 "$(m s1 daxtrace_break_layouts_waiters "state=\"$other\"")"
	;;
*) fail truncate_waits "truncate pid $TRPID is in state '$st', not asleep: $(cat $T/trunc.out)" ;;
esac
want=$(mss "$u1" "$T_TRUNC")
check_within_pct oldest_waiter_vs_truncate_start "$want" "$(ms "$(m s1 daxtrace_break_layouts_oldest_waiter_seconds)")" 10

# ---- release ---------------------------------------------------------------
wait $PINJOB
wait $TRPID
info "pin: $(grep 'event=released' $T/pin.out)"
info "truncate: $(cat $T/trunc.out)"
check_eq truncate_ok 0 "$(daxload_get $T/trunc.out truncate rc)"
sleep 1
scrape s2
check_eq released_folios 0 "$(m s2 daxtrace_leak_extra_ref_folios)"
check_eq released_pages 0 "$(m s2 daxtrace_leak_extra_ref_pages)"
check_eq released_oldest_age 0 "$(m s2 daxtrace_leak_oldest_extra_ref_age_seconds)"
check_eq released_waiters_S 0 "$(m s2 daxtrace_break_layouts_waiters 'state="S"')"
check_eq released_waiters_D 0 "$(m s2 daxtrace_break_layouts_waiters 'state="D"')"
check_eq released_oldest_waiter 0 "$(m s2 daxtrace_break_layouts_oldest_waiter_seconds)"
hz=$(awk '/^daxtrace_leak_hazards_total\{/ { s += $2 } END { print s + 0 }' $T/s2)
check_eq no_hazard_in_a_clean_pin 0 "$hz"

# ---- unlink of a pinned file: D-state waiter (7.x) or a hazard (6.x) -------
[ "$DAXTEST_ERA" = 7 ] || expect_kernel_warn 'at fs/dax\.c:[0-9]+ dax_disassociate_entry'
hz0=$(m s2 daxtrace_leak_hazards_total 'kind="disassociated"')
daxload evict --pages 4 --hold 5 $MNT/export_leak.evict >$T/evict.out 2>&1 &
EVJOB=$!
wait_for_line $T/evict.out 'op=evict event=pinned' 30 || fail evict_pinned "$(cat $T/evict.out)"
EVPID=$(daxload_get $T/evict.out evict pid)
sleep 2.5
scrape s3
st=$(state_of $EVPID)
info "evictor pid $EVPID state '$st'"
if [ "$DAXTEST_ERA" = 7 ]; then
	check_eq evictor_in_D D "$st"
	check_eq waiter_D_is_the_evictor 1 "$(m s3 daxtrace_break_layouts_waiters 'state="D"')"
	check_eq evict_no_S_waiter 0 "$(m s3 daxtrace_break_layouts_waiters 'state="S"')"
else
	# Before 6.15 eviction does not wait: it removes the still-referenced
	# entries, which daxleak counts as hazards.
	check_eq evict_no_waiter 0 "$(m s3 daxtrace_break_layouts_waiters 'state="D"')"
	# one per pinned page whose entry went (the kernel WARNs once per boot)
	check_eq disassociated_hazard_per_pinned_page $((hz0 + $(daxload_get $T/evict.out evict pages))) \
		"$(m s3 daxtrace_leak_hazards_total 'kind="disassociated"')"
	info "kernel: $(dmesg | grep -m1 'WARNING.*dax_disassociate_entry')"
fi
wait $EVJOB
sleep 1
scrape s4
check_eq evict_released_waiters 0 "$(m s4 daxtrace_break_layouts_waiters 'state="D"')"

# ---- counters monotonic, no drops ------------------------------------------
down=0
for a in s0 s1 s2 s3; do
	b=s$((${a#s} + 1))
	counters $a >$T/c.$a
	counters $b >$T/c.$b
	check_eq same_counter_series_$a$b "$(cut -d' ' -f1 $T/c.$a | tr '\n' ' ')" "$(cut -d' ' -f1 $T/c.$b | tr '\n' ' ')"
	# same series, same order: a value lower in the later scrape went down
	down=$((down + $(paste -d' ' $T/c.$a $T/c.$b | awk '$4 + 0 < $2 + 0' | wc -l)))
done
check_eq counters_never_go_down 0 "$down"
# Map and buffer overflows must not happen here; runs the kernel skipped
# (a task preempted inside a program, 7.x) are the kernel's, reported apart.
check_eq no_drops 0 "$(awk '/^daxtrace_events_dropped_total\{/ && !/reason="kernel_skipped"/ { s += $2 } END { print s + 0 }' $T/s4)"
info "kernel-skipped runs: $(awk '/reason="kernel_skipped"/ { print $2 }' $T/s4)"

kill -TERM $EXP
wait $EXP
check_eq export_exit_0 0 $?

# ---- --no-leak --------------------------------------------------------------
daxtrace export --textfile $T/noleak.prom -i 0.2 --no-leak >$T/nl.out 2>$T/nl.err &
NL=$!
if wait_for_line $T/nl.err ': ready' 120; then
	check_eq no_leak_top_up 1 "$(awk '/^daxtrace_source_up\{source="top"\}/ { print $2 }' $T/noleak.prom)"
	check_eq no_leak_families 0 "$(grep -cE '^daxtrace_(leak_|break_layouts_waiters)|source="leak"' $T/noleak.prom)"
else
	fail no_leak_ready "$(cat $T/nl.err)"
fi
kill -TERM $NL
wait $NL
check_eq no_leak_exit_0 0 $?
exit 0
