#!/bin/sh
# bench_vm: the in-VM half of `make bench` (tools/bench/run boots it).
# Measures, in one boot, with nothing timed against a target here:
#  - slowdown: daxload fault loops (4k/2m x read/write x 1/2 processes) with
#    nothing attached vs the bare floor counter (classic and BTF tracepoints),
#    daxtop -b, daxtop -b --hist and daxleak; rounds interleave the modes (rotated order), every tool session is
#    a fresh start (its exec-to-ready time and VmHWM are recorded too);
#  - per-event BPF cost: kernel.bpf_stats_enabled=1, run_time_ns/run_cnt of
#    every program of the tool and of the floor attached at the same time;
#  - events lost at the highest fault rate: two 4k loops per tool, the tool's
#    own lost/overflow counters;
#  - ablation: daxtop's fault-path pieces (LRU/hash/task-storage start map,
#    ktime, file and row lookups) as separate programs, bpf_stats per piece;
#  - gup: daxleak's cost on ordinary (non-DAX) O_DIRECT I/O: fio 4 KiB random
#    reads on null_blk (psync and io_uring, queue depth 1), nothing attached vs
#    an empty fexit on the GUP fast entry points (gupfloor: the least any such
#    hook costs) vs daxleak, rounds interleaved (needs the bench image:
#    DAXTEST_BENCH_TOOLS=1).
# Every number is one "@@DAXTEST INFO bench_vm BENCH kind=... k=v ..." line;
# tools/bench/run turns them into JSON. Only correctness is asserted (the
# tools start, counts are not lost in daxtop's default view).
# Knobs on the kernel cmdline (tools/vm/run --append): daxbench.rounds=N
# daxbench.secs=S (per loop) daxbench.modes=a,b daxbench.workloads=a,b
# daxbench.phases=loop,stats,maxrate,ablate,gup daxbench.engines=psync,io_uring
. /daxtest/daxtest.sh

T=/tmp/bench
rm -rf $T; mkdir -p $T
ROUNDS=3 SECS=2 STATSECS=2 MAXSECS=3 STATROUNDS=3
MODES="none floor floorbtf top tophist leak"
WLS="4k-r-1 4k-w-1 2m-r-1 2m-w-1 4k-r-2 4k-w-2 2m-r-2 2m-w-2"
PHASES="loop stats maxrate ablate gup"
ENGINES="psync io_uring"
for a in $(cat /proc/cmdline); do
	case $a in
	daxbench.rounds=*) ROUNDS=${a#*=}; STATROUNDS=$ROUNDS ;;
	daxbench.secs=*) SECS=${a#*=}; STATSECS=$SECS ;;
	daxbench.modes=*) MODES=$(echo "${a#*=}" | tr , ' ') ;;
	daxbench.workloads=*) WLS=$(echo "${a#*=}" | tr , ' ') ;;
	daxbench.phases=*) PHASES=$(echo "${a#*=}" | tr , ' ') ;;
	daxbench.engines=*) ENGINES=$(echo "${a#*=}" | tr , ' ') ;;
	esac
done
bench() { echo "@@DAXTEST INFO $DAXTEST_SCENARIO BENCH $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
ms_since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%d", (b - a) * 1000 + 0.5 }'; }
has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

need_tools daxtrace daxload || exit 1
bench kind=env kernel="$(uname -r)" era="$DAXTEST_ERA" fs="$DAXTEST_FS" pmem="$DAXTEST_PMEM" \
	cpus="$(grep -c ^processor /proc/cpuinfo)" mem_kb="$(awk '/MemTotal/ { print $2 }' /proc/meminfo)" \
	version="$(daxtrace version | cut -d' ' -f2)" rounds=$ROUNDS secs=$SECS \
	cpu="$(awk -F': ' '/model name/ { gsub(/ /, "_", $2); print $2; exit }' /proc/cpuinfo)"

# ---- tools ----------------------------------------------------------------------
# tool_start MODE: start the tool of MODE in the background, wait for its ready
# line.  Sets TPID (empty for none) and READY_MS.  Returns 1 if it never got ready.
tool_start() {
	TPID="" READY_MS=""
	: >$T/tool.err
	: >$T/tool.out
	t0=$(up)
	case $1 in
	none) return 0 ;;
	floor) daxtrace bench-floor --classic >$T/tool.out 2>$T/tool.err & ;;
	floorbtf) daxtrace bench-floor --btf >$T/tool.out 2>$T/tool.err & ;;
	floorall) daxtrace bench-floor >$T/tool.out 2>$T/tool.err & ;;
	floorall_ablate) daxtrace bench-floor --ablate >$T/tool.out 2>$T/tool.err & ;;
	top) daxtrace top -b -i 1 >$T/tool.out 2>$T/tool.err & ;;
	tophist) daxtrace top -b -i 1 --hist >$T/tool.out 2>$T/tool.err & ;;
	leak) daxtrace leak >$T/tool.out 2>$T/tool.err & ;;
	gupfloor) daxtrace bench-floor --gup >$T/tool.out 2>$T/tool.err & ;;
	*) fail mode_$1 "unknown mode"; return 1 ;;
	esac
	TPID=$!
	n=12000	# 120 s in 10 ms steps: TCG is slow to parse BTF
	while [ $n -gt 0 ] && ! grep -q ': ready' $T/tool.err; do
		kill -0 $TPID 2>/dev/null || break
		usleep 10000
		n=$((n - 1))
	done
	if ! grep -q ': ready' $T/tool.err; then
		fail ${1}_ready "$(tail -n 3 $T/tool.err | tr '\n' '|')"
		kill $TPID 2>/dev/null
		TPID=""
		return 1
	fi
	READY_MS=$(ms_since "$t0")
	return 0
}

# tool_stop MODE: SIGINT, wait; sets HWM_KB, LOST, EVENTS, LOSTDETAIL.
tool_stop() {
	HWM_KB=0 LOST=0 EVENTS="" LOSTDETAIL=""
	[ -n "$TPID" ] || return 0
	HWM_KB=$(awk '/^VmHWM:/ { print $2 }' /proc/$TPID/status 2>/dev/null)
	kill -INT $TPID
	wait $TPID
	rc=$?
	[ $rc = 0 ] || fail ${1}_exit "rc=$rc $(tail -n 3 $T/tool.err | tr '\n' '|')"
	case $1 in
	top | tophist)
		tl=$(grep '^TOTAL' $T/tool.out | tail -n 1)
		LOST=$(echo "$tl" | kv lost)
		EVENTS=$(echo "$tl" | kv events)
		LOSTDETAIL="skipped=$(echo "$tl" | tr -d '()' | kv skipped) lat_missed=$(echo "$tl" | kv lat_missed)"
		;;
	leak)
		ov=$(grep '^OVERFLOW:' $T/tool.out | tail -n 1)
		if [ -n "$ov" ]; then
			LOST=$(echo "$ov" | tr -d ',()' | awk '{ for (i = 2; i < NF; i++) if ($(i + 1) ~ /^[0-9]+$/ && $i !~ /^--/) s += $(i + 1) } END { print s + 0 }')
			LOSTDETAIL=$(echo "$ov" | tr ' ' '_')
		fi
		EVENTS=$(grep '^totals:' $T/tool.out | tail -n 1 | sed -n 's/.*fs_dax faults \([0-9]*\).*/\1/p')
		;;
	floor*)
		# Events, counted once (classic counters, else the BTF ones).
		EVENTS=$(grep '^FLOOR' $T/tool.out | tail -n 1 | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "=")
			if ($i ~ /^btf:/) b += kv[2]; else c += kv[2] } } END { print (c ? c : b) + 0 }')
		;;
	esac
	TPID=""
}

# ---- workload -------------------------------------------------------------------
# run_wl WL SECS: WL = ALIGN-ACCESS-NPROC (4k-r-1 ...).  Sets PPS (sum over the
# processes), ITERS, PAGES, EL_US (longest).
run_wl() {
	al=${1%%-*} rest=${1#*-}
	acc=${rest%%-*} np=${rest#*-}
	ro=""
	[ "$acc" = r ] && ro=--read
	i=1 pids=""
	while [ $i -le "$np" ]; do
		# Own files per alignment: once a file has PTE entries in its DAX
		# mapping, PMD faults on it fall back for good.
		daxload loop --seconds "$2" --align "$al" $ro $MNT/bench-$al-$i >$T/wl$i.out 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	wait $pids
	PPS=0 ITERS=0 PAGES=0 EL_US=0
	i=1
	while [ $i -le "$np" ]; do
		l=$(grep '^DAXLOAD op=loop' $T/wl$i.out)
		[ -n "$l" ] || { fail wl_$1 "$(tail -n 2 $T/wl$i.out | tr '\n' '|')"; return 1; }
		PPS=$((PPS + $(echo "$l" | kv pages_per_sec)))
		ITERS=$((ITERS + $(echo "$l" | kv iterations)))
		PAGES=$((PAGES + $(echo "$l" | kv pages)))
		e=$(echo "$l" | kv elapsed_us)
		[ "$e" -gt "$EL_US" ] && EL_US=$e
		i=$((i + 1))
	done
	return 0
}

# Files and page tables warm, PMD-capable extents allocated once.
run_wl 2m-w-2 1 && run_wl 4k-w-2 1 && pass warmup "pps=$PPS"
for f in $MNT/bench-*; do info "file $f: $(daxload check $f 2>&1)"; done

# ---- phase 1: slowdown, modes interleaved per round --------------------------------
if has_phase loop; then
	nmodes=$(echo $MODES | wc -w)
	r=1
	while [ $r -le "$ROUNDS" ]; do
		# Rotate the mode order each round: no mode always runs first or last.
		order=$(echo $MODES | awk -v r=$r '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
		for m in $order; do
			tool_start $m || continue
			[ -n "$READY_MS" ] && bench kind=startup where=vm mode=$m round=$r ready_ms=$READY_MS
			for w in $WLS; do
				run_wl $w $SECS || continue
				bench kind=loop round=$r mode=$m wl=$w pps=$PPS iters=$ITERS pages=$PAGES el_us=$EL_US
			done
			tool_stop $m
			[ $m = none ] || bench kind=session round=$r mode=$m hwm_kb=$HWM_KB events=$EVENTS lost=$LOST $LOSTDETAIL
		done
		r=$((r + 1))
	done
	pass loop_phase_done "rounds=$ROUNDS modes=$nmodes"
fi

# ---- phase 2: per-event BPF cost (bpf_stats), tool and floor side by side -----------
if has_phase stats; then
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	# Several rounds, modes rotated: one session's ratio moves by +-25 %
	# under TCG (host noise); the report takes the median round.
	sr=1
	smodes=$(echo $MODES | tr ' ' '\n' | grep -v -e none -e floor | tr '\n' ' ')
	while [ $sr -le "$STATROUNDS" ]; do
	order=$(echo $smodes | awk -v r=$sr '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
	for m in $order; do
		tool_start floorall || continue
		FPID=$TPID
		tool_start $m || { TPID=$FPID; tool_stop floorall; continue; }
		for w in 4k-w-1 4k-r-1 2m-w-1 2m-r-1; do
			run_wl $w $STATSECS && bench kind=statsload mode=$m round=$sr wl=$w pps=$PPS pages=$PAGES
		done
		daxtrace bench-floor --stats -p $FPID -p $TPID >$T/stats.txt
		awk -v m=$m -v r=$sr -v f=$FPID -v s="$DAXTEST_SCENARIO" '/^BPFSTAT/ {
			sub(/^BPFSTAT /, ""); who = ($1 == "pid=" f) ? "floor" : "tool"
			print "@@DAXTEST INFO " s " BENCH kind=bpfstat mode=" m " round=" r " who=" who " " $0 }' $T/stats.txt
		tool_stop $m
		bench kind=statsession mode=$m round=$sr events=$EVENTS lost=$LOST
		TPID=$FPID
		tool_stop floorall
		bench kind=statsession mode=floor-with-$m round=$sr events=$EVENTS
	done
	sr=$((sr + 1))
	done
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	pass stats_phase_done "bpf_stats collected"
fi

# ---- phase 3: lost events at the highest fault rate ---------------------------------
if has_phase maxrate; then
	for m in $(echo $MODES | tr ' ' '\n' | grep -v -e none -e floor); do
		tool_start $m || continue
		t0=$(up)
		for w in 4k-r-2 4k-w-2; do
			run_wl $w $MAXSECS && bench kind=maxload mode=$m wl=$w pps=$PPS pages=$PAGES
		done
		busy_ms=$(ms_since "$t0")
		sleep 1.2	# one more interval: the last events are in the tool's totals
		tool_stop $m
		bench kind=maxrate mode=$m events=$EVENTS busy_ms=$busy_ms lost=$LOST $LOSTDETAIL
		if [ $m = top ]; then
			check_eq top_default_view_lost_zero 0 "$LOST"
		fi
	done
fi

# ---- phase 4: ablation of daxtop's fault path (bench-floor --ablate) ---------------
if has_phase ablate; then
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	if tool_start floorall_ablate; then
		for w in 4k-w-1 4k-r-1; do run_wl $w $STATSECS; done
		daxtrace bench-floor --stats -p $TPID | sed "s/^BPFSTAT /@@DAXTEST INFO $DAXTEST_SCENARIO BENCH kind=ablate /"
		tool_stop floorall_ablate
		pass ablate_phase_done "$(grep ready $T/tool.err)"
	fi
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
fi
# ---- phase 5: daxleak on ordinary O_DIRECT reads (fio on null_blk) ----------------
# null_blk without backing memory: each read is a pin_user_pages_fast of the
# user buffer (iov_iter_extract_pages) and little else, so the GUP hooks'
# share of the time is as large as it gets on a real disk.
nullblk_up() {
	[ -e /dev/nullb0 ] && return 0
	[ -f /modules/bench/order ] || return 1
	for m in $(cat /modules/bench/order); do
		case $m in
		null_blk.ko*) insmod /modules/bench/$m nr_devices=1 queue_mode=2 irqmode=0 bs=4096 gb=1 ;;
		*) insmod /modules/bench/$m ;;
		esac 2>&1 | grep -v 'File exists'
	done
	n=50
	while [ ! -e /dev/nullb0 ] && [ $n -gt 0 ]; do usleep 100000; n=$((n - 1)); done
	[ -e /dev/nullb0 ]
}
# run_fio ENGINE SECS: sets IOPS, IOS (reads completed).
run_fio() {
	IOPS="" IOS=""
	fio --name=gup --filename=/dev/nullb0 --direct=1 --rw=randread --bs=4k \
		--ioengine="$1" --iodepth=1 --numjobs=1 --time_based --runtime="$2" \
		--output-format=json --output=$T/fio.json >$T/fio.err 2>&1 ||
		{ fail fio_$1 "$(tail -n 3 $T/fio.err | tr '\n' '|')"; return 1; }
	IOPS=$(jq '.jobs[0].read.iops | floor' $T/fio.json)
	IOS=$(jq '.jobs[0].read.total_ios' $T/fio.json)
	[ -n "$IOPS" ] && [ "$IOPS" != null ]
}
if has_phase gup; then
	if ! have fio || ! nullblk_up; then
		fail gup_tools "fio or null_blk missing: boot the bench image (DAXTEST_BENCH_TOOLS=1 tools/vm/run ...)"
	else
		bench kind=gupenv fio="$(fio --version)" engines="$(echo $ENGINES | tr ' ' ,)"
		for e in $ENGINES; do run_fio $e 1 >/dev/null; done	# warm-up
		r=1
		while [ $r -le "$ROUNDS" ]; do
			# rotate which mode runs first
			order=$(echo none gupfloor leak | awk -v r=$r '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
			for m in $order; do
				tool_start $m || continue
				sios=0
				for e in $ENGINES; do
					run_fio $e $SECS || continue
					bench kind=gupload round=$r mode=$m engine=$e iops=$IOPS ios=$IOS
					sios=$((sios + IOS))
				done
				tool_stop $m
				[ $m = leak ] || continue
				# the exit hook ran for every read (ground truth: fio's count)
				gc=$(sed -n 's/^totals: gup calls \([0-9]*\),.*/\1/p' $T/tool.out | tail -n 1)
				bench kind=gupsession round=$r gup_calls=${gc:-0} reads=$sios
				check_ge gup_hook_saw_reads_r$r "$sios" "${gc:-0}"
			done
			r=$((r + 1))
		done
		# The exit program's own time per call (bpf_stats; a session of
		# its own: the stats' clock reads would weigh on the rounds above)
		# and daxleak's CPU time in user space while fio runs.
		# gupfloor's empty program beside it: the same clock reads, so the
		# difference is daxleak's own work per call.
		echo 1 >/proc/sys/kernel/bpf_stats_enabled
		tool_start gupfloor && FPID=$TPID
		if tool_start leak; then
			c0=$(awk '{ print $14 + $15 }' /proc/$TPID/stat)
			for e in $ENGINES; do run_fio $e $SECS; done
			c1=$(awk '{ print $14 + $15 }' /proc/$TPID/stat)
			bench kind=guptoolcpu ticks=$((c1 - c0)) hz=100 secs=$(($(echo $ENGINES | wc -w) * SECS))
			daxtrace bench-floor --stats -p $TPID ${FPID:+-p $FPID} | grep -e user_pages -e gf_ |
				sed "s/^BPFSTAT /@@DAXTEST INFO $DAXTEST_SCENARIO BENCH kind=gupbpfstat /"
			tool_stop leak
		fi
		[ -z "${FPID:-}" ] || { TPID=$FPID; tool_stop gupfloor; }
		echo 0 >/proc/sys/kernel/bpf_stats_enabled
	fi
fi
exit 0
