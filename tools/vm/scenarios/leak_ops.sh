#!/bin/sh
# leak_ops: one stuck task, one operation name, three tools. daxleak and
# `daxtrace export` run from before the hang; daxload vmsplice-pins 16
# pages of a file with a hostile name (a space, a newline, an invalid UTF-8
# byte) and another process blocks in break_layouts on it, first with a
# punch hole (fallocate PUNCH_HOLE|KEEP_SIZE), then with a truncate. For
# each hang, daxleak's report, `daxleak --now` and the exporter's
# daxtrace_break_layouts_waiter_seconds series must name that task (the pid
# daxload's op runs as) with the same operation, the one the test started
# ("punch", "truncate"). Every JSON line parses (jq) and daxleak names the
# hostile file (its valid bytes, the newline escaped).
. /daxtest/daxtest.sh

T=/tmp/leak_ops
mkdir -p $T "$MNT/ops dir"
# a space, a newline and the invalid UTF-8 byte 0xff in one name
F=$(printf '%s/ops dir/hang a\nb\377c.dat' "$MNT")
PAGES=16

need_tools daxtrace daxload jq wget || exit 1
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

daxtrace leak -o json -i 0.5 --min-age 1 >$T/leak.json 2>$T/leak.err &
LEAK=$!
daxtrace export --listen 127.0.0.1:0 -i 0.5 >$T/exp.out 2>$T/exp.err &
EXP=$!
if ! wait_for_line $T/leak.err 'ready' 90 || ! wait_for_line $T/exp.err ': ready' 90; then
	fail tools_ready "$(tail -n 3 $T/leak.err $T/exp.err | tr '\n' '|')"
	kill $LEAK $EXP 2>/dev/null
	exit 1
fi
PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' $T/exp.err)

# export_op PID FILE: the op label of PID's waiter series ("" if none)
export_op() {
	grep "^daxtrace_break_layouts_waiter_seconds{" "$2" | grep "pid=\"$1\"" |
		sed -n 's/.*op="\([^"]*\)".*/\1/p' | head -n 1
}

# one_hang MODE OP: pin, start MODE, compare the three tools' op for it
one_hang() {
	daxload pin --pages $PAGES --hold inf "$F" >$T/pin.out 2>&1 &
	PINJOB=$!
	wait_for_line $T/pin.out 'op=pin event=ready' 30 || fail $1_pin_ready "$(cat $T/pin.out)"
	PIN=$(daxload_get $T/pin.out pin pid)
	INO=$(daxload_get $T/pin.out pin ino)
	OFF=$(daxload_get $T/pin.out pin offset)
	if [ $1 = punch ]; then
		daxload punch --offset "$OFF" --len $((PAGES * 4096)) "$F" >$T/op.out 2>&1 &
	else
		daxload truncate "$F" >$T/op.out 2>&1 &
	fi
	WPID=$!
	info "$1: pin pid $PIN ino $INO, waiter pid $WPID"
	sleep 4
	daxleak --now -o json >$T/now.json 2>$T/now.err
	check_eq $1_now_exit 0 $?
	wget -q -O $T/metrics "http://127.0.0.1:$PORT/metrics" || fail $1_scrape "wget rc=$?"
	sleep 1
	grep '"type":"report"' $T/leak.json | tail -n 1 >$T/leak.last

	now_op=$(jq -r --argjson p $WPID '[.waiters[] | select(.pid == $p)][0].op // ""' $T/now.json)
	leak_op=$(jq -r --argjson p $WPID '[.waiters[] | select(.pid == $p)][0].op // ""' $T/leak.last)
	exp_op=$(export_op $WPID $T/metrics)
	info "$1: --now op '$now_op', daxleak op '$leak_op', export op '$exp_op'"
	check_eq $1_now_op "$2" "$now_op"
	check_eq $1_daxleak_op "$2" "$leak_op"
	check_eq $1_export_op "$2" "$exp_op"
	holder=$(jq --argjson p $WPID '[.waiters[] | select(.pid == $p)][0].holder.pid // 0' $T/leak.last)
	check_eq $1_daxleak_waiter_holder "$PIN" "$holder"
	if [ "$holder" != "$PIN" ]; then	# what daxleak knew, for the log
		info "$1: daxleak counters $(jq -c .counters $T/leak.last)"
		info "$1: daxleak held $(jq -c '[.held_pages, .tracked, [.groups[] | {pid, n: (.held | length)}]]' $T/leak.last)"
		info "$1: daxleak waiter $(jq -c --argjson p $WPID '[.waiters[] | select(.pid == $p)][0]' $T/leak.last | cut -c1-600)"
		info "$1: pin $(cat $T/pin.out | tr '\n' ' ' | cut -c1-400)"
	fi

	# the hostile name: parseable everywhere, and daxleak names the file
	# (jq -e passes on empty input: each file must have lines)
	check_true $1_leak_json_parses sh -c "test -s $T/leak.json && jq -e . $T/leak.json >/dev/null"
	check_true $1_now_json_parses sh -c "test -s $T/now.json && jq -e . $T/now.json >/dev/null"
	path=$(jq -r --argjson p $PIN '[.groups[] | select(.pid == $p) | .held[].path] | .[0] // ""' $T/leak.last)
	info "$1: held path as jq prints it: $(printf '%s' "$path" | od -c | head -n 2 | tr '\n' ' ')"
	case $path in
	"$MNT/ops dir/hang a
b"*"c.dat") pass $1_path_named "space, newline kept; invalid byte escaped or replaced" ;;
	*) fail $1_path_named "got '$path'" ;;
	esac

	kill -USR1 $PIN
	wait $PINJOB
	wait $WPID
	info "$1: $(tail -n 1 $T/op.out)"
}

one_hang punch punch
rm -f "$F"
one_hang truncate truncate

kill -INT $LEAK $EXP
wait $LEAK
wait $EXP
check_true prom_parse_ok grep -q '^daxtrace_break_layouts_waiters' $T/metrics
exit 0
