#!/bin/bash
# Host tests of `daxtrace export` on this machine's kernel (tracepoints
# only, no DAX device: the metrics are zero, but probe status, build info
# and every family must be there). HTTP: real scrapes with curl, format
# checked by promtool, a real Prometheus server (loopback, temporary dir,
# bounded run) scraping it and answering a query; malformed, oversized,
# slow and many connections; bad input; the textfile rewritten atomically.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/host/lib.sh
BIN=$PWD/build/daxtrace
TMP=$(mktemp -d)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

for tool in curl promtool prometheus jq; do
	command -v $tool >/dev/null || { fail "needs $tool (tools/install-deps.sh)"; summary; exit 1; }
done

# start_export NAME ARGS...: run in the background, wait for ready; sets EPID
start_export() {
	local name=$1; shift
	rm -f "$TMP/$name.err"
	"$BIN" export "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	EPID=$!
	PIDS="$PIDS $EPID"
	wait_for "$TMP/$name.err" ': ready' 20
}

# A port nothing listens on now (a connect is refused).
free_port() {
	local p
	for _ in $(seq 50); do
		p=$(shuf -i 20000-60999 -n 1)
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return 0; fi
	done
	return 1
}

# raw DATA: send bytes (printf %b escapes) on a new connection, print the status line.
raw() {
	local fd
	exec {fd}<>/dev/tcp/127.0.0.1/$PORT || return 1
	printf '%b' "$1" >&$fd 2>/dev/null
	timeout 3 head -1 <&$fd | tr -d '\r'
	exec {fd}>&-
}

code() { curl -s -o /dev/null -w '%{http_code}\n' --max-time 3 "$@"; }

# --- serving ---
start_export main --listen 127.0.0.1:0 -i 0.5
check "export prints ready on stderr" grep -q '^daxtrace: ready (tp ' "$TMP/main.err"
MAIN=$EPID
PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$TMP/main.err")
check "ready line names the bound port" test -n "$PORT"
curl -s -D "$TMP/hdr" --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$TMP/m1"
check "GET /metrics answers 200" grep -q '^HTTP/1.1 200 OK' "$TMP/hdr"
check "content type is the text exposition format" \
	grep -qi '^Content-Type: text/plain; version=0.0.4' "$TMP/hdr"
check "Connection: close" grep -qi '^Connection: close' "$TMP/hdr"
check "Content-Length matches the body" \
	test "$(sed -n 's/^Content-Length: \([0-9]*\).*/\1/Ip' "$TMP/hdr")" = "$(wc -c <"$TMP/m1")"
promtool check metrics <"$TMP/m1" >"$TMP/lint" 2>&1
check "promtool check metrics: valid, no lint warnings" test $? = 0 -a ! -s "$TMP/lint"
check "build_info carries version, kernel, era" grep -Eq \
	"^daxtrace_build_info\{version=\"[^\"]+\",kernel=\"$(uname -r)\",era=\"(one|zero)-based\"\} 1$" "$TMP/m1"
# The version this binary's exporter reports, for the Prometheus query below.
VERSION=$(sed -n 's/^daxtrace_build_info{version="\([^"]*\)".*/\1/p' "$TMP/m1")
check "all 8 fs_dax tracepoints attached" \
	test "$(grep -c '^daxtrace_probe_attached{tool="top",hook="dax_[a-z_]*",method="tracepoint"} 1$' "$TMP/m1")" = 8
check "every hook has a 0/1 attach status" \
	test "$(grep -Ec '^daxtrace_probe_attached\{.*\} [01]$' "$TMP/m1")" = 11
check "unavailable hooks say so (0, method none/unavailable)" sh -c \
	"! grep -q 'method=\"unavailable\"} 1' '$TMP/m1'"
for fam in daxtrace_faults_total daxtrace_fault_latency_seconds daxtrace_pmd_fallbacks_total \
	   daxtrace_events_dropped_total daxtrace_writeback_bytes_total daxtrace_row_map_capacity; do
	check "family $fam declared" grep -q "^# TYPE $fam " "$TMP/m1"
done
check "PMD fallback reasons at zero" test "$(grep -c '^daxtrace_pmd_fallbacks_total{reason="[a-z_]*"} 0$' "$TMP/m1")" = 7
check "drops by source and reason at zero" grep -q '^daxtrace_events_dropped_total{source="top",reason="row_map_full"} 0$' "$TMP/m1"
check "events at zero (no DAX here)" grep -q '^daxtrace_events_total 0$' "$TMP/m1"

# --- daxleak metrics: its probes load next to daxtop's in the same process ---
check "leak source up" grep -q '^daxtrace_source_up{source="leak"} 1$' "$TMP/m1"
for fam in daxtrace_leak_capability daxtrace_leak_min_age_seconds daxtrace_break_layouts_waiters \
	   daxtrace_break_layouts_oldest_waiter_seconds daxtrace_leak_hazards_total; do
	check "leak family $fam has HELP and TYPE" sh -c \
		"grep -q '^# HELP $fam ' '$TMP/m1' && grep -q '^# TYPE $fam ' '$TMP/m1'"
done
check "waiters: both states present, at 0 (no DAX here)" test "$(grep -Ec \
	'^daxtrace_break_layouts_waiters\{state="[SD]"\} 0$' "$TMP/m1")" = 2
check "oldest waiter 0 when none" grep -q '^daxtrace_break_layouts_oldest_waiter_seconds 0$' "$TMP/m1"
check "6 hazard kinds, counters at 0" test "$(grep -Ec '^daxtrace_leak_hazards_total\{kind="[a-z_]+"\} 0$' "$TMP/m1")" = 6
check "leak drops by reason at 0" test "$(grep -Ec '^daxtrace_events_dropped_total\{source="leak",reason="[a-z_]+"\} 0$' "$TMP/m1")" = 5
check "threshold defaults to daxleak's 5 s" grep -q '^daxtrace_leak_min_age_seconds 5$' "$TMP/m1"
# Extra references are counted only when an acquisition hook attached; the
# exporter says so on stderr (daxleak's own wording), and then the gauges
# are absent rather than a misleading 0.
if grep -q 'UNAVAILABLE: acquisitions' "$TMP/main.err"; then
	check "no acquisition hook: capability acquire 0" grep -q '^daxtrace_leak_capability{capability="acquire"} 0$' "$TMP/m1"
	check "no acquisition hook: extra-ref gauges absent" sh -c "! grep -q '^daxtrace_leak_extra_ref' '$TMP/m1'"
else
	check "acquisition hook: capability acquire 1" grep -q '^daxtrace_leak_capability{capability="acquire"} 1$' "$TMP/m1"
fi
sleep 1.2
curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$TMP/m2"
check "values refresh every interval" sh -c "! cmp -s '$TMP/m1' '$TMP/m2'"
check "scrapes are counted" grep -Eq '^daxtrace_http_requests_total\{code="2xx"\} [1-9]' "$TMP/m2"
check "GET / links to /metrics" sh -c "curl -s --max-time 3 http://127.0.0.1:$PORT/ | grep -q 'href=\"/metrics\"'"
check "GET /metrics?query ignores the query" test "$(code "http://127.0.0.1:$PORT/metrics?x=1")" = 200

# --- what is not answered ---
check "other path: 404" test "$(code "http://127.0.0.1:$PORT/nope")" = 404
check "POST: 405" test "$(code -X POST "http://127.0.0.1:$PORT/metrics")" = 405
check "HEAD: 405" test "$(code -I "http://127.0.0.1:$PORT/metrics")" = 405
check "405 says Allow: GET" sh -c "curl -s -i -X PUT --max-time 3 http://127.0.0.1:$PORT/metrics | grep -qi '^Allow: GET'"
check "garbage: 400" test "$(raw 'garbage\r\n\r\n')" = "HTTP/1.1 400 Bad Request"
check "TLS hello: 400 at once" test "$(raw '\x16\x03\x01\x02\x00\x01')" = "HTTP/1.1 400 Bad Request"
check "HTTP/1.1 without Host: 400" test "$(raw 'GET /metrics HTTP/1.1\r\n\r\n')" = "HTTP/1.1 400 Bad Request"
check "HTTP/2.0 request line: 505" test "$(raw 'GET /metrics HTTP/2.0\r\n\r\n')" = "HTTP/1.1 505 HTTP Version Not Supported"
check "request with a body: 413" \
	test "$(raw 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd')" = "HTTP/1.1 413 Content Too Large"
check "chunked: 501" \
	test "$(raw 'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')" = "HTTP/1.1 501 Not Implemented"
long=$(head -c 9000 /dev/zero | tr '\0' a)
check "9000-byte URL: 414" test "$(code "http://127.0.0.1:$PORT/$long")" = 414
check "9000-byte header: 431" test "$(code -H "X-Pad: $long" "http://127.0.0.1:$PORT/metrics")" = 431
check "HTTP/1.0 raw GET works" test "$(raw 'GET /metrics HTTP/1.0\r\n\r\n')" = "HTTP/1.1 200 OK"

# --- slow client: others are served meanwhile; it is dropped after 5 s ---
exec {slow}<>/dev/tcp/127.0.0.1/$PORT
printf 'GET /met' >&$slow
t0=$SECONDS
check "scrape while a slow client waits" test "$(code "http://127.0.0.1:$PORT/metrics")" = 200
st=$(timeout 9 head -1 <&$slow | tr -d '\r')
dt=$((SECONDS - t0))
exec {slow}>&-
check "slow client gets 408" test "$st" = "HTTP/1.1 408 Request Timeout"
check "slow client dropped within 4..8 s (took ${dt}s)" test $dt -ge 4 -a $dt -le 8

# --- many connections: bounded at 64, idle ones cannot lock out a scrape ---
fds=()
for _ in $(seq 80); do
	exec {fd}<>/dev/tcp/127.0.0.1/$PORT && fds+=($fd)
done
sleep 0.3
check "80 idle connections open" test ${#fds[@]} = 80
check "with 80 idle connections open, a scrape still gets 200" \
	test "$(code "http://127.0.0.1:$PORT/metrics")" = 200
for fd in "${fds[@]}"; do exec {fd}>&-; done
sleep 0.5
check "after they close: 200 again" test "$(code "http://127.0.0.1:$PORT/metrics")" = 200
mkdir -p "$TMP/burst"
bpids=()
t0=$SECONDS
for i in $(seq 200); do
	code "http://127.0.0.1:$PORT/metrics" >"$TMP/burst/$i" &
	bpids+=($!)
done
wait "${bpids[@]}"
check "200 parallel scrapes finish within 10 s" test $((SECONDS - t0)) -le 10
cat "$TMP/burst"/* | sort | uniq -c | sed "s/^/  burst: /"
check "every parallel scrape got 200 or 503" sh -c "! cat '$TMP/burst'/* | grep -vqxE '200|503'"
check "most parallel scrapes got 200" test "$(cat "$TMP/burst"/* | grep -cx 200)" -ge 64
check "exporter survived it all" kill -0 $EPID
curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$TMP/m3"
# Refusals (503: every slot sending an answer) are counted in
# tests/unit/test_http_server.c; idle clients cut off here are timeouts.
check "timeouts are counted, refusals exported" sh -c \
	"grep -Eq '^daxtrace_http_timeouts_total [1-9]' '$TMP/m3' && grep -Eq '^daxtrace_http_rejected_total [0-9]+$' '$TMP/m3'"

# --- docs: the alert rules and the exposition's bucket they name ---
check "promtool check rules docs/daxtrace-alerts.yml" sh -c "promtool check rules docs/daxtrace-alerts.yml >/dev/null 2>&1"
# Every metric an alert names is a family the exporter declares, except
# the ones documented as absent when their hook is (ground truth: the
# exporter's own attach/capability gauges).
for name in $(grep -v '^ *#' docs/daxtrace-alerts.yml | grep -o 'daxtrace_[a-z_]*' | sed -E 's/_(bucket|count|sum)$//' | sort -u); do
	if grep -q "^# TYPE $name " "$TMP/m1"; then
		pass "alert metric $name is exported"
	elif [ "${name#daxtrace_leak_extra_ref}" != "$name" -o "$name" = daxtrace_leak_oldest_extra_ref_age_seconds ] &&
		grep -q '^daxtrace_leak_capability{capability="leaks"} 0$' "$TMP/m1"; then
		pass "alert metric $name absent: no leak capability here"
	elif [ "$name" = daxtrace_break_layouts_wait_duration_seconds ] &&
		grep -q '^daxtrace_probe_attached{tool="top",hook="dax_layout_busy_page_range",method="[a-z]*"} 0$' "$TMP/m1"; then
		pass "alert metric $name absent: busy-page hook unavailable here"
	else
		fail "alert metric $name is not exported"
	fi
done

# The alert logic on series shaped like the exporter's (names checked above).
cat >"$TMP/alerts.test.yml" <<EOF
rule_files: [$PWD/docs/daxtrace-alerts.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'daxtrace_break_layouts_oldest_waiter_seconds{instance="h"}'
        values: '0 15 30 45 60'
      - series: 'daxtrace_break_layouts_waiters{instance="h",state="D"}'
        values: '0 1 1 1 1 1 1 1'
      - series: 'daxtrace_break_layouts_waiters{instance="h",state="S"}'
        values: '1 1 1 1 1 1 1 1'
      - series: 'daxtrace_leak_hazards_total{instance="h",kind="disassociated"}'
        values: '0 0 1 1 1'
      - series: 'daxtrace_leak_hazards_total{instance="h",kind="underflow"}'
        values: '0 0 0 0 0'
      - series: 'daxtrace_events_dropped_total{instance="h",source="leak",reason="tracked_map_full"}'
        values: '0 0 5 5 5'
      - series: 'daxtrace_source_up{instance="h",source="leak"}'
        values: '0x30'
      - series: 'daxtrace_source_up{instance="h",source="top"}'
        values: '1x30'
    alert_rule_test:
      - eval_time: 30s
        alertname: DaxBreakLayoutsStuck
      - eval_time: 45s
        alertname: DaxBreakLayoutsStuck
        exp_alerts:
          - exp_labels: {severity: critical, instance: h}
            exp_annotations:
              summary: "break_layouts stuck for 45s on h"
              description: "A task waits for DAX page references to drop. Run \`daxleak\` on the host to see who holds them."
      - eval_time: 90s
        alertname: DaxWaiterUninterruptible
        exp_alerts:
          - exp_labels: {severity: critical, instance: h}
            exp_annotations:
              summary: "1 task(s) in D state waiting for DAX pages on h"
              description: "Tasks sleep uninterruptibly in a DAX layout wait. Run \`daxleak\` to find the holder."
      - eval_time: 60s
        alertname: DaxRefcountHazard
        exp_alerts:
          - exp_labels: {severity: warning, instance: h, kind: disassociated}
            exp_annotations:
              summary: "DAX refcount hazard disassociated on h"
              description: "daxleak saw 1 disassociated hazard(s) in 15 minutes; see \`daxleak -v\`."
      - eval_time: 60s
        alertname: DaxtraceDroppingEvents
        exp_alerts:
          - exp_labels: {severity: warning, instance: h, source: leak, reason: tracked_map_full}
            exp_annotations:
              summary: "daxtrace drops events (leak/tracked_map_full) on h"
              description: "source=top: raise --max-rows, or use --pid/--dev to narrow what is traced. source=leak: more pinned pages than daxleak tracks (tracked_map_full, gup_batch_truncated) or hazards faster than they are read (hazard_ring_full): the leak gauges and hazard counts are low; run \`daxleak --max-folios N\` on the host."
      - eval_time: 6m
        alertname: DaxtraceSourceDown
        exp_alerts:
          - exp_labels: {severity: warning, instance: h, source: leak}
            exp_annotations:
              summary: "daxtrace source leak down on h"
              description: "The exporter's log (journalctl -u daxtrace-export) says why; \`daxtrace features\` shows which hooks load."
EOF
check "promtool test rules: the alerts fire on stuck, D-state, hazard, drop and source-down series" \
	sh -c "promtool test rules '$TMP/alerts.test.yml' >'$TMP/alerts.test.out' 2>&1 || { cat '$TMP/alerts.test.out'; false; }"

# --- a real Prometheus scrapes it ---
PPORT=$(free_port)
mkdir -p "$TMP/prom"
cat >"$TMP/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/docs/daxtrace-alerts.yml
scrape_configs:
  - job_name: daxtrace
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
timeout 90 prometheus --config.file="$TMP/prom/prometheus.yml" --storage.tsdb.path="$TMP/prom/data" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$TMP/prom/log" 2>&1 &
PROM=$!
PIDS="$PIDS $PROM"
q() { curl -s --max-time 3 -G "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1"; }
got=""
for _ in $(seq 60); do
	got=$(q daxtrace_build_info | jq -r '.data.result[0] | "\(.value[1]) \(.metric.version) \(.metric.job)"' 2>/dev/null)
	[ "$got" = "1 $VERSION daxtrace" ] && break
	sleep 0.5
done
check "Prometheus query daxtrace_build_info = 1 (version $VERSION)" test "$got" = "1 $VERSION daxtrace"
check "Prometheus sees the target up" test "$(q 'up{job="daxtrace"}' | jq -r '.data.result[0].value[1]')" = 1
check "Prometheus: 8 tracepoint hooks attached" \
	test "$(q 'sum(daxtrace_probe_attached{method="tracepoint"})' | jq -r '.data.result[0].value[1]')" = 8
check "Prometheus: 7 PMD fallback reasons ingested, at 0" \
	test "$(q 'count(daxtrace_pmd_fallbacks_total == 0)' | jq -r '.data.result[0].value[1]')" = 7
rules=$(curl -s --max-time 3 "http://127.0.0.1:$PPORT/api/v1/rules" |
	jq -r '[.data.groups[].rules[] | select(.health == "ok")] | length')
check "Prometheus loaded the alert rules, all healthy ($rules)" test "$rules" = 9
check "no daxtrace alert fires on an idle host" test "$(curl -s --max-time 3 \
	"http://127.0.0.1:$PPORT/api/v1/alerts" | jq -r '[.data.alerts[] | select(.state == "firing" and
	.labels.alertname != "DaxtraceProbeUnavailable")] | length')" = 0
kill $PROM 2>/dev/null
wait $PROM 2>/dev/null

# --- bad input ---
expect_rc "port in use: exit 1" 1 "$BIN" export --listen 127.0.0.1:$PORT
check "port in use: one line naming the address" sh -c \
	"test \$(wc -l <'$TMP/stderr') = 1 && grep -q '127.0.0.1:$PORT.*in use' '$TMP/stderr'"
expect_rc "bad listen address: exit 2" 2 "$BIN" export --listen 999.1.1.1:80
check "bad listen address: one line" test "$(wc -l <"$TMP/stderr")" = 1
expect_rc "listen without port: exit 2" 2 "$BIN" export --listen 127.0.0.1
expect_rc "port out of range: exit 2" 2 "$BIN" export --listen 127.0.0.1:70000
expect_rc "host name: exit 2 (numeric only)" 2 "$BIN" export --listen example.com:80
expect_rc "address not on this machine: exit 1" 1 "$BIN" export --listen 192.0.2.1:9476
expect_rc "unwritable textfile: exit 1" 1 "$BIN" export --textfile /proc/daxtrace.prom
check "unwritable textfile: one line naming it" sh -c \
	"test \$(wc -l <'$TMP/stderr') = 1 && grep -q '/proc/daxtrace.prom' '$TMP/stderr'"
expect_rc "textfile in a missing directory: exit 1" 1 "$BIN" export --textfile /nonexistent/d.prom
expect_rc "textfile is a directory: exit 1" 1 "$BIN" export --textfile "$TMP"
expect_rc "unknown flag: exit 2" 2 "$BIN" export --bogus
expect_rc "--per-file with --per-pid: exit 2" 2 "$BIN" export --per-file --per-pid
expect_rc "--max-series 0: exit 2" 2 "$BIN" export --max-series 0
expect_rc "bad interval: exit 2" 2 "$BIN" export -i 0
check "bad input says it in one line" test "$("$BIN" export --max-series x 2>&1 | wc -l)" = 1

# --- --no-leak and --leak-min-age ---
start_export noleak --listen 127.0.0.1:0 -i 0.5 --no-leak
NPORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$TMP/noleak.err")
curl -s --max-time 5 "http://127.0.0.1:$NPORT/metrics" >"$TMP/noleak.m"
check "--no-leak: source_up leak absent (not failed), top 1" sh -c "! grep -q 'source_up{source=\"leak\"}' '$TMP/noleak.m' &&
	grep -q '^daxtrace_source_up{source=\"top\"} 1$' '$TMP/noleak.m'"
check "--no-leak: no leak families, no leak drops" sh -c \
	"! grep -Eq '^daxtrace_(leak_|break_layouts_waiters|break_layouts_oldest)|source=\"leak\",reason' '$TMP/noleak.m'"
check "--no-leak: valid exposition" sh -c "promtool check metrics <'$TMP/noleak.m' >/dev/null 2>&1"
kill -TERM $EPID
wait $EPID
check "--no-leak: SIGTERM exits 0" test $? = 0
start_export minage --textfile "$TMP/minage.prom" -i 0.2 --leak-min-age 2500ms
check "--leak-min-age 2500ms: threshold exported" grep -q '^daxtrace_leak_min_age_seconds 2.5$' "$TMP/minage.prom"
kill -TERM $EPID
wait $EPID
expect_rc "--leak-min-age -1: exit 2" 2 "$BIN" export --leak-min-age -1
expect_rc "--leak-min-age x: exit 2" 2 "$BIN" export --leak-min-age x
check "bad --leak-min-age names the flag" grep -q 'leak-min-age' "$TMP/stderr"
EPID=$MAIN

# --- SIGTERM: exit 0 ---
kill -TERM $EPID
wait $EPID
check "SIGTERM: exit 0" test $? = 0

# --- textfile: always a whole, valid file; mode 0644; removed on exit ---
start_export tf --textfile "$TMP/daxtrace.prom" -i 0.1 --per-pid --max-series 5
check "textfile mode: ready names the file" grep -q "textfile $TMP/daxtrace.prom" "$TMP/tf.err"
check "textfile mode: no HTTP listener" sh -c "! grep -q 'listening' '$TMP/tf.err'"
bad=0
for i in $(seq 40); do
	cp "$TMP/daxtrace.prom" "$TMP/read.prom" 2>/dev/null || { bad=$((bad + 1)); continue; }
	promtool check metrics <"$TMP/read.prom" >/dev/null 2>&1 || bad=$((bad + 1))
	tail -1 "$TMP/read.prom" | grep -q '^daxtrace_textfile_errors_total 0$' || bad=$((bad + 1))
	sleep 0.03
done
check "textfile: 40 reads during rewrites, all whole and valid ($bad bad)" test $bad = 0
check "textfile: mode 0644 for node_exporter" test "$(stat -c %a "$TMP/daxtrace.prom")" = 644
check "textfile: no temporary files left visible as *.prom" \
	test "$(find "$TMP" -maxdepth 1 -name '*.prom' | wc -l)" = 2
check "--per-pid: series count and limit exported" sh -c \
	"grep -q '^daxtrace_series{kind=\"pid\"} 0$' '$TMP/daxtrace.prom' && grep -q '^daxtrace_series_limit 5$' '$TMP/daxtrace.prom'"
kill -INT $EPID
wait $EPID
check "textfile: SIGINT exits 0" test $? = 0
check "textfile: removed on exit (no stale metrics)" test ! -e "$TMP/daxtrace.prom"
check "textfile: no temporary left behind" test -z "$(find "$TMP" -maxdepth 1 -name '.daxtrace.prom.*')"

# --- textfile in a directory someone else may write: nothing but our own file is touched ---
# Before, the temporary name was .NAME.PID.tmp, opened without O_EXCL and
# chmod'ed: a link planted there made root truncate and chmod its target.
mkdir "$TMP/tfd"
echo precious >"$TMP/victim"
chmod 600 "$TMP/victim"
mkfifo "$TMP/go"
# The PID is known before the exporter runs: sh writes its own, then execs it.
sh -c 'echo $$ >"$1/tf.pid"; read x <"$1/go"; exec "$2" export --textfile "$1/tfd/d.prom" -i 0.2 --no-leak' \
	sh "$TMP" "$BIN" >/dev/null 2>"$TMP/atk.err" &
APID=$!
PIDS="$PIDS $APID"
wait_for "$TMP/tf.pid" . 5
ln -s "$TMP/victim" "$TMP/tfd/.d.prom.$(cat "$TMP/tf.pid").tmp"
echo go >"$TMP/go"
wait_for "$TMP/atk.err" ': ready' 20
sleep 0.5	# a few rewrites
check "textfile: a link planted at a temporary name is not followed (target kept, mode 600)" \
	sh -c "test \"\$(cat '$TMP/victim')\" = precious && test \$(stat -c %a '$TMP/victim') = 600"
check "textfile: written all the same, valid" sh -c "promtool check metrics <'$TMP/tfd/d.prom' >/dev/null 2>&1"
kill -TERM $APID
wait $APID
ln -s "$TMP/victim" "$TMP/tfd/link.prom"
expect_rc "textfile that is a symlink: refused, exit 1" 1 timeout 20 "$BIN" export --textfile "$TMP/tfd/link.prom"
check "textfile that is a symlink: one line saying so, link kept" sh -c \
	"test \$(wc -l <'$TMP/stderr') = 1 && grep -q 'symbolic link' '$TMP/stderr' && test -L '$TMP/tfd/link.prom'"
mkfifo "$TMP/tfd/fifo.prom"
expect_rc "textfile that is a FIFO: refused, exit 1" 1 timeout 20 "$BIN" export --textfile "$TMP/tfd/fifo.prom"
check "textfile that is a FIFO: one line saying so, FIFO kept" sh -c \
	"test \$(wc -l <'$TMP/stderr') = 1 && grep -q 'not a regular file' '$TMP/stderr' && test -p '$TMP/tfd/fifo.prom'"
mknod "$TMP/tfd/null.prom" c 1 3
expect_rc "textfile that is a device node: refused, exit 1" 1 timeout 20 "$BIN" export --textfile "$TMP/tfd/null.prom"
check "textfile that is a device node: node kept" test -c "$TMP/tfd/null.prom"
# Put in our file's place while we run: not ours, so not removed at exit.
start_export swap --textfile "$TMP/tfd/swap.prom" -i 3600 --no-leak
rm "$TMP/tfd/swap.prom"
mkfifo "$TMP/tfd/swap.prom"
kill -TERM $EPID
wait $EPID
check "textfile replaced by a FIFO while running: the FIFO is not removed at exit" test -p "$TMP/tfd/swap.prom"

# gone PROG: no BPF program of that name stays loaded (within 3 s)
gone() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		bpftool prog show 2>/dev/null | grep -q "name $1" || return 0
		sleep 0.3
	done
	return 1
}
check "no daxtop programs left loaded" gone pte_fault_done
check "no daxleak programs left loaded" gone scan_tracked
summary
