#!/bin/sh
# leak_nofp: no false positives. Thousands of faults (2 MiB and 4 KiB
# layouts, several processes), munmap, truncate, punch hole, plus short
# vmsplice pins that are drained at once: daxleak must report zero leaks,
# zero anomalies and end with nothing tracked.
. /daxtest/daxtest.sh

OUT=/tmp/leak_nofp.json
ERR=/tmp/leak_nofp.err
D=$MNT/nofp

need_tools daxtrace daxload jq || exit 1
mkdir -p "$D"

daxtrace leak -o json -i 1 --min-age 1 >"$OUT" 2>"$ERR" &
LEAK=$!
if ! wait_for_line "$ERR" 'ready' 60; then
	fail leak_ready "daxleak did not start: $(tail -n 3 "$ERR" | tr '\n' '|')"
	exit 1
fi
pass leak_ready "$(grep ready "$ERR")"

# Several processes faulting their own files, PMD and PTE layouts alternating.
daxload mixed --procs 4 --pages 1024 --seconds 4 --quiet "$D" >/tmp/mixed.out 2>&1 &
MIX=$!
# One big file: faults in both layouts, munmap, truncate, punch.
daxload fault --pages 2048 --align 2m --munmap --repeat 2 "$D/a.dat" >/tmp/fa.out 2>&1
daxload fault --pages 1024 --align 4k --offset 4096 --munmap "$D/a.dat" >/tmp/fb.out 2>&1
daxload punch --offset 1048576 --len 2097152 "$D/a.dat" >/tmp/punch.out 2>&1
daxload truncate --size 4096 "$D/a.dat" >/tmp/trunc.out 2>&1
# Short-lived pins: taken and released within a second (below --min-age).
i=0
while [ $i -lt 5 ]; do
	daxload pin --pages 16 --hold 0.1 "$D/p$i.dat" >>/tmp/pins.out 2>&1
	daxload truncate "$D/p$i.dat" >>/tmp/pins.out 2>&1
	i=$((i + 1))
done
wait $MIX
info "mixed: $(grep 'event=done' /tmp/mixed.out)"
info "punch: $(cat /tmp/punch.out)"
info "truncate: $(cat /tmp/trunc.out)"
check_eq pins_done 5 "$(grep -c 'op=pin event=released' /tmp/pins.out)"
sleep 3

kill -INT $LEAK
wait $LEAK
check_eq leak_exit 0 $?
reports=$(grep -c '"type":"report"' "$OUT")
check_ge reports 5 "$reports"
check_eq leaks_reported_capable true "$(head -n 1 "$OUT" | jq '.leaks_reported')"
check_eq max_held_pages 0 "$(grep -E '"type":"(report|summary)"' "$OUT" | jq -s '[.[].held_pages] | max')"
check_eq anomalies 0 "$(grep -E '"type":"(report|summary)"' "$OUT" | jq -s '[.[].anomalies[]] | length')"
sum=$(grep '"type":"summary"' "$OUT" | tail -n 1)
check_eq anomalies_total 0 "$(echo "$sum" | jq '[.anomalies_total[]] | add')"
check_eq tracked_at_end 0 "$(echo "$sum" | jq '.tracked')"
check_eq waiters_at_end 0 "$(echo "$sum" | jq '.waiters | length')"
info "summary counters: $(echo "$sum" | jq -c '.counters')"
# The short pins were seen (and released), so the zero above is not blindness.
check_ge dax_pages_seen 80 "$(echo "$sum" | jq '.counters.dax_pages')"
check_eq overflow 0 "$(echo "$sum" | jq '.counters.tracked_map_full + .counters.stacks_lost')"
exit 0
