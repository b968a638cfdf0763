# tools/bench/aggregate.jq: raw bench records (jq -s) -> results.json.
# Records: kind=hoststartup|size|hostenv (host) and, tagged with vmera,
# kind=env|loop|startup|session|bpfstat|statsession|maxload|maxrate|gupload|gupenv|gupsession (VM).
def median: sort | if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r1: if . == null then null else (. * 10 | round) / 10 end;
def r2: if . == null then null else (. * 100 | round) / 100 end;
def stats(f): map(f) | map(select(. != null)) |
	{ n: length, median: (median | r2), min: (min | r2), max: (max | r2) };
def mib: if . == null then null else (. / 1024 | r2) end;

# Slowdown of MODE vs nothing attached, per workload: for each round the loss
# of throughput (1 - pps_mode / pps_none, in %), then median/min/max over rounds.
def slowdown($loops):
	($loops | map(.wl) | unique) as $wls
	| ($loops | map(.mode) | unique | map(select(. != "none"))) as $modes
	| [ $wls[] as $w | $modes[] as $m
		| [ $loops[] | select(.wl == $w and .mode == "none") ] as $base
		| [ $loops[] | select(.wl == $w and .mode == $m) ] as $tool
		| [ $tool[] as $t | ($base[] | select(.round == $t.round)) as $b
			| 100 * (1 - $t.pps / $b.pps) ] as $per_round
		| { wl: $w, mode: $m,
		    none_pps: ($base | map(.pps) | median),
		    mode_pps: ($tool | map(.pps) | median),
		    slowdown_pct: ($per_round | median | r1),
		    slowdown_pct_min: ($per_round | min | r1),
		    slowdown_pct_max: ($per_round | max | r1),
		    rounds: ($per_round | length) } ];

# Baseline noise: spread of the nothing-attached throughput across rounds.
def noise($loops):
	[ $loops | map(select(.mode == "none")) | group_by(.wl)[]
		| (map(.pps)) as $p
		| { wl: .[0].wl, pps_median: ($p | median), spread_pct: (100 * (($p | max) - ($p | min)) / ($p | median) | r1), rounds: ($p | length) } ];

def fsdax_prog: (.name | test("^(tp_|btf_)"));
# One stats session (a mode in one round): tool vs floor programs.
def bpfcost_session:
	.[0].mode as $m
	| map(select(.who == "tool")) as $tool
	| map(select(.who == "floor")) as $floor
	| ($tool | map(select(fsdax_prog and .run_cnt > 0))) as $tf
	| ($tf | map(.type) | unique) as $types
	| ($tf | all(.name | test("fault_do"))) as $done_only
	| ($floor | map(select((.type as $ty | $types | index($ty)) != null
		and (if .type == 26 then (.name | test("^flb_")) and ((.name | test("_done$")) or ($done_only | not)) else true end)))) as $ff
	| ($tf | map(.run_time_ns) | add // 0) as $tt
	| ($ff | map(.run_time_ns) | add // 0) as $ft
	| ($ff | map(.run_cnt) | add // 0) as $fc
	| { mode: $m,
	    fs_dax_events: $fc,
	    tool_fs_dax_runs: ($tf | map(.run_cnt) | add // 0),
	    tool_ns_per_event: (if $fc > 0 then $tt / $fc | r1 else null end),
	    floor_ns_per_event: (if $fc > 0 then $ft / $fc | r1 else null end),
	    ratio_to_floor: (if $ft > 0 then $tt / $ft | r2 else null end),
	    programs: ($tool | map(select(.run_cnt > 0)) | sort_by(.id)
		| map({ id, name, type, run_cnt, ns_per_run: (.run_time_ns / .run_cnt | r1), recursion_misses })),
	    floor_programs: ($floor | map(select(.run_cnt > 0)) | sort_by(.id)
		| map({ id, name, type, run_cnt, ns_per_run: (.run_time_ns / .run_cnt | r1) })) };

# Per mode, the session with the median ratio, and the spread over rounds.
def bpfcost($recs):
	[ $recs | map(select(.kind == "bpfstat")) | group_by(.mode)[]
		| [ group_by(.round)[] | bpfcost_session ] | sort_by(.ratio_to_floor)
		| . as $s
		| $s[(length - 1) / 2 | floor]
		  + { rounds: ($s | length), ratio_min: $s[0].ratio_to_floor, ratio_max: $s[-1].ratio_to_floor } ];

# daxleak on ordinary O_DIRECT reads: per fio engine and mode (gupfloor: an
# empty fexit on the same GUP entry points; leak: daxleak), per round the loss
# of IOPS vs nothing attached (1 - iops_mode / iops_none, in %).
def gupcost($loads):
	[ $loads | group_by(.engine)[] | . as $g
		| [ $g[] | select(.mode == "none") ] as $base
		| ($g | map(.mode) | unique | map(select(. != "none")))[] as $m
		| [ $g[] | select(.mode == $m) ] as $tool
		| [ $tool[] as $t | ($base[] | select(.round == $t.round)) as $b
			| 100 * (1 - $t.iops / $b.iops) ] as $per_round
		| { engine: $g[0].engine, mode: $m,
		    none_iops: ($base | map(.iops) | median),
		    mode_iops: ($tool | map(.iops) | median),
		    slowdown_pct: ($per_round | median | r1),
		    slowdown_pct_min: ($per_round | min | r1),
		    slowdown_pct_max: ($per_round | max | r1),
		    rounds: ($per_round | length) } ];

def era_block:
	. as $r
	| ($r | map(select(.kind == "loop"))) as $loops
	| { era: $r[0].vmera,
	    env: ($r | map(select(.kind == "env")) | .[0]),
	    slowdown: slowdown($loops),
	    baseline_noise: noise($loops),
	    startup_vm: [ $r | map(select(.kind == "startup")) | group_by(.mode)[]
		| { mode: .[0].mode } + stats(.ready_ms) ],
	    sessions: [ $r | map(select(.kind == "session")) | group_by(.mode)[]
		| { mode: .[0].mode, hwm_kb_max: (map(.hwm_kb) | max), lost_total: (map(.lost // 0) | add),
		    events_total: (map(.events // 0) | add) } ],
	    bpf_cost: bpfcost($r),
	    gup_odirect: gupcost($r | map(select(.kind == "gupload"))),
	    gup_env: ($r | map(select(.kind == "gupenv")) | .[0]),
	    gup_bpf: [ $r | map(select(.kind == "gupbpfstat" and .run_cnt > 0))[]
		| { name, run_cnt, ns_per_run: (.run_time_ns / .run_cnt | r1) } ],
	    ablation: [ $r | map(select(.kind == "ablate" and .run_cnt > 0)) | sort_by(.id)[]
		| { name, run_cnt, ns_per_run: (.run_time_ns / .run_cnt | r1) } ],
	    maxrate: [ $r | map(select(.kind == "maxrate"))[]
		| { mode, events, busy_ms, lost, skipped, lat_missed,
		    events_per_s: (if .busy_ms > 0 then .events * 1000 / .busy_ms | round else null end) } ] };

. as $all
| ($all | map(select(.kind == "hostenv")) | last) as $henv
| ($all | map(select(.kind == "hoststartup")) | group_by(.tool)
	| map({ key: .[0].tool, value: ({ tool: .[0].tool, ready_ms: stats(.ready_ms), maxrss_kb: stats(.maxrss_kb) }) })
	| from_entries) as $hs
| ($all | map(select(.kind == "size")) | map({ key: .what, value: .bytes }) | from_entries) as $sizes
| ($all | map(select(.vmera != null)) | group_by(.vmera) | map(era_block)) as $eras
| def worst($e; $m): [ $e.slowdown[] | select(.mode == $m) | .slowdown_pct ] | max;
  def target($name; $value; $unit; $limit; $where):
	{ target: $name, value: $value, unit: $unit, limit: $limit, where: $where,
	  met: (if $value == null then null else $value <= $limit end) };
  { generated: ($henv.date // null),
    host: $henv,
    host_startup: $hs,
    sizes: $sizes,
    eras: $eras,
    targets: (
	[ $eras[] as $e |
	  target("daxtop default view: workload slowdown (worst workload, median of rounds)"; worst($e; "top"); "%"; 3; "vm " + $e.era),
	  target("daxtop default view: per-event BPF cost / floor"; ($e.bpf_cost[] | select(.mode == "top") | .ratio_to_floor); "x"; 3; "vm " + $e.era),
	  target("daxleak: workload slowdown (worst workload, median of rounds)"; worst($e; "leak"); "%"; 10; "vm " + $e.era),
	  target("daxleak: O_DIRECT reads on null_blk, IOPS lost (worst fio engine)"; ([ $e.gup_odirect[] | select(.mode == "leak") | .slowdown_pct ] | max); "%"; 5; "vm " + $e.era),
	  target("daxtop default view: events lost at the highest fault rate"; ($e.maxrate[] | select(.mode == "top") | .lost); "events"; 0; "vm " + $e.era),
	  target("daxtop peak RSS"; ($e.sessions[] | select(.mode == "top") | .hwm_kb_max | mib); "MiB"; 16; "vm " + $e.era),
	  target("daxleak peak RSS"; ($e.sessions[] | select(.mode == "leak") | .hwm_kb_max | mib); "MiB"; 16; "vm " + $e.era) ]
	+ [ ("daxtop", "daxleak") as $t |
	  target($t + " start-up to ready (median)"; $hs[$t].ready_ms.median; "ms"; 100; "host"),
	  target($t + " start-up / bpftrace start-up"; (if $hs.bpftrace then ($hs[$t].ready_ms.median / $hs.bpftrace.ready_ms.median | r2) else null end); "x"; 0.2; "host"),
	  target($t + " start-up / bpftrace start-up, cold page cache"; (if $hs["bpftrace-cold"] and $hs[$t + "-cold"] then ($hs[$t + "-cold"].ready_ms.median / $hs["bpftrace-cold"].ready_ms.median | r2) else null end); "x"; 0.2; "host"),
	  target($t + " peak RSS (median)"; ($hs[$t].maxrss_kb.median | mib); "MiB"; 16; "host") ]
	+ [ target("static binary, stripped"; ($sizes.daxtrace_static_stripped / 1048576 | r2); "MiB"; 3; "build") ]) }
