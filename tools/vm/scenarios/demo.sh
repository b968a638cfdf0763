#!/bin/sh
# demo: what `make demo` shows live on the console.
#  1. daxtrace top -b -i 1 -d 8 while daxload mixed runs 3 fault-looping processes;
#  2. daxtrace leak while daxload pins 16 pages in a pipe and another process
#     truncates the file (it blocks in break_layouts until the pin goes away).
# It asserts a few things so a broken demo does not look like a working one.
. /daxtest/daxtest.sh

banner() { echo; echo "================ $* ================"; }
need_tools daxtrace daxload || exit 1

banner "daxtrace features"
daxtrace features 2>&1

banner "daxtrace top -b -i 1 -d 8   (daxload mixed --procs 3 on $MNT/mixed)"
mkdir -p $MNT/mixed
# stdout shows live through tee; the ready line on stderr gates the workload.
( daxtrace top -b -i 1 -d 8 2>/tmp/top.err; echo "rc=$?" >/tmp/top.rc ) | tee /tmp/top.out &
TOP=$!
if wait_for_line /tmp/top.err 'ready' 60; then
	pass top_ready "$(grep ready /tmp/top.err)"
	daxload mixed --procs 3 --seconds 5 --quiet $MNT/mixed >/tmp/mixed.out 2>&1
	info "mixed: $(grep 'event=done' /tmp/mixed.out)"
else
	fail top_ready "$(tail -n 3 /tmp/top.err | tr '\n' '|')"
fi
wait $TOP
grep -v ready /tmp/top.err | while read -r l; do info "top stderr: $l"; done
check_eq top_exit rc=0 "$(cat /tmp/top.rc 2>/dev/null)"
check_true top_total_block grep -q '^TOTAL' /tmp/top.out
faults=$(( $(top_sum /tmp/top.out PTE COMM=daxload) + $(top_sum /tmp/top.out PMD COMM=daxload) ))
check_ge top_daxload_faults 1 "$faults"

banner "daxtrace leak   (daxload pin --pages 16 --hold 10, then daxload truncate)"
if ! daxtrace leak --help >/dev/null 2>&1; then
	info "daxtrace leak is not available in this build: skipping the leak part of the demo"
	exit 0
fi
F=$MNT/pinned.dat
( daxtrace leak -i 2 --min-age 1 -d 12 2>/tmp/leak.err; echo "rc=$?" >/tmp/leak.rc ) | tee /tmp/leak.out &
LEAK=$!
if ! wait_for_line /tmp/leak.err 'ready' 60; then
	fail leak_ready "$(tail -n 3 /tmp/leak.err | tr '\n' '|')"
	wait $LEAK
	exit 1
fi
pass leak_ready "$(grep ready /tmp/leak.err)"
daxload pin --pages 16 --hold 10 "$F" >/tmp/pin.out 2>&1 &
PIN=$!
wait_for_line /tmp/pin.out 'op=pin event=ready' 30
echo "$(grep 'event=ready' /tmp/pin.out)"
sleep 1
echo "starting: daxload truncate $F   (blocks until the pipe is drained)"
daxload truncate "$F" >/tmp/trunc.out 2>&1
cat /tmp/trunc.out
wait $PIN
wait $LEAK
grep -v ready /tmp/leak.err | while read -r l; do info "leak stderr: $l"; done
check_eq leak_exit rc=0 "$(cat /tmp/leak.rc 2>/dev/null)"
check_ge truncate_blocked_ms 1000 "$(daxload_get /tmp/trunc.out truncate blocked_ms | cut -d. -f1)"
pinpid=$(daxload_get /tmp/pin.out pin pid)
check_true leak_names_pinner grep -q "$pinpid" /tmp/leak.out
exit 0
