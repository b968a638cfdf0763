#!/bin/sh
# harness self-test: a scenario that ends leaving a pin holder and the truncate it
# blocks behind.  init must kill both, or its clean-up of $MNT (and every later
# scenario) hangs behind that truncate.
. /daxtest/daxtest.sh
daxload pin --pages 4 --hold inf $MNT/left.dat >/tmp/left.pin 2>&1 &
wait_for_line /tmp/left.pin 'op=pin event=ready' 30
check_eq pin_ready 0 $?
daxload truncate $MNT/left.dat >/dev/null 2>&1 &
sleep 1
# Still running (a finished child would be a zombie, Z, until reaped).
st=$(sed 's/.*) //' /proc/$!/stat | cut -d' ' -f1)
case $st in D | S) pass truncate_blocked "state=$st" ;; *) fail truncate_blocked "state=$st" ;; esac
exit 0
