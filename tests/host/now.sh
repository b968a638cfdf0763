#!/bin/bash
# Host tests of `daxleak --now`, and of the same scan plain daxleak runs at
# start, on this machine's kernel (no DAX device, so nothing can be stuck):
# it must load its iterators here, say "nothing stuck" / "seen at start: 0"
# plainly, exit 0, and do it well under a second. The hang cases run in the
# VM (tools/vm/scenarios/now_*.sh).
#   DAXTRACE_BIN=PATH  binary to test (default build/daxtrace)
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/host/lib.sh
jqe() { jq -e "$@" >/dev/null; }
# jqrec TYPE FILTER FILE: FILTER on the first record of TYPE in a JSON-lines file.
jqrec() { jq -se "[.[] | select(.type == \"$1\")][0] | $2" "$3" >/dev/null; }
BIN=${DAXTRACE_BIN:-$PWD/build/daxtrace}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if ! "$BIN" leak --now --help 2>&1 | grep -q 'One look at the kernel'; then
	fail "daxleak --now is wired to daxnow_run" "cmd_leak does not route --now yet"
	summary
	exit
fi

# --- nothing stuck, text ---
t0=$(date +%s%N)
"$BIN" leak --now >"$TMP/out" 2>"$TMP/err"
rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "text: exit 0" test $rc = 0
check "text: says nothing stuck in its first line" sh -c "head -n 1 '$TMP/out' | grep -q '^nothing stuck: no task is waiting in DAX break_layouts'"
check "text: one line only" test "$(wc -l <"$TMP/out")" = 1
check "text: no stderr" test ! -s "$TMP/err"
if [ "$ms" -lt 1000 ]; then pass "fast: ${ms} ms (< 1000)"; else fail "fast" "${ms} ms"; fi
check "uses the BPF iterators here (not the /proc fallback)" grep -q 'scanned by BPF iterators' "$TMP/out"

# --- JSON ---
"$BIN" leak --now -o json >"$TMP/json" 2>"$TMP/err"
check "json: exit 0" test $? = 0
check "json: one object" test "$(jq -s 'length' "$TMP/json" 2>/dev/null)" = 1
check "json: stuck false, no waiters" jqe '.stuck == false and (.waiters | length) == 0' "$TMP/json"
check "json: method bpf-iter" jqe '.method == "bpf-iter"' "$TMP/json"
check "json: tasks scanned" jqe '.tasks > 0 and .tasks_asleep > 0' "$TMP/json"
check "json: era and idle agree" jqe '(.era | startswith("zero")) == (.idle == 0)' "$TMP/json"
# this kernel has no CONFIG_KALLSYMS_ALL: the fallback is said, not hidden
if ! grep -qw bit_wait_table /proc/kallsyms; then
	check "json: missing bit_wait_table is reported" jqe '.bit_wait_table == false and (.not_seen | map(test("bit_wait_table")) | any)' "$TMP/json"
fi
check "json: the bpf_loop programs here (this kernel has bpf_loop)" jqe '.loops == "bpf_loop"' "$TMP/json"

# --- the bounded-loop twins, which kernels without bpf_loop (5.10) load,
# forced here: the host's verifier must take them and they must see the
# same machine ---
DAXTRACE_SCAN_NOLOOP=1 "$BIN" leak --now -o json >"$TMP/nl" 2>"$TMP/nl.err"
check "bounded loops: exit 0, no stderr" sh -c "test $? = 0 && test ! -s '$TMP/nl.err'"
check "bounded loops: the twins ran" jqe '.method == "bpf-iter" and .loops == "bounded"' "$TMP/nl"
check "bounded loops: nothing stuck, tasks scanned" jqe '.stuck == false and .tasks > 0 and .tasks_asleep > 0' "$TMP/nl"
n1=$(jq .tasks "$TMP/json"); n2=$(jq .tasks "$TMP/nl")
check "bounded loops: as many tasks as the bpf_loop scan (+-20: $n1 vs $n2)" test $((n2 - n1)) -le 20 -a $((n1 - n2)) -le 20
DAXTRACE_SCAN_NOLOOP=1 "$BIN" leak --now >"$TMP/nl.txt" 2>&1
check "bounded loops: the text says so" grep -q '^nothing stuck: .*scanned by BPF iterators (bounded loops)' "$TMP/nl.txt"
DAXTRACE_SCAN_NOLOOP=1 "$BIN" leak -o json -i 0.2 -c 1 --min-age 0 >"$TMP/nllive" 2>"$TMP/nllive.err"
check "bounded loops: daxleak's scan at start ran" jqrec start '.scan_at_start | .ran and .method == "bpf-iter" and .waiters == 0' "$TMP/nllive"
check "daxleak link: --now works as argv[0] daxleak" sh -c "build/daxleak --now | grep -q '^nothing stuck'"

# --- filters and usage ---
expect_rc "-p PID: exit 0" 0 "$BIN" leak --now -p 1
check "-p PID: still nothing stuck" sh -c "'$BIN' leak --now -p 1 | grep -q '^nothing stuck'"
expect_rc "--now --help: exit 0" 0 "$BIN" leak --now --help
expect_rc "bad format: exit 2" 2 "$BIN" leak --now -o xml
expect_rc "bad pid: exit 2" 2 "$BIN" leak --now -p abc
expect_rc "option of the live mode: exit 2" 2 "$BIN" leak --now --interval 1
expect_rc "stray argument: exit 2" 2 "$BIN" leak --now extra

# --- plain daxleak runs the same scan at start (nothing is stuck here) ---
"$BIN" leak -o json -i 0.2 -c 1 --min-age 0 >"$TMP/live" 2>"$TMP/live.err"
check "live: exit 0" test $? = 0
check "live: start record says the scan at start ran with the iterators" jqrec start '.scan_at_start | .enabled and .ran and .method == "bpf-iter"' "$TMP/live"
check "live: nothing seen at start" jqrec start '.scan_at_start | .waiters == 0 and .pages == 0' "$TMP/live"
check "live: report has no seen-at-start item" jqrec report '.seen_at_start_pages == 0 and ([.groups[] | select(.seen_at_start)] | length) == 0 and ([.waiters[] | select(.seen_at_start)] | length) == 0' "$TMP/live"
check "live: stderr says what was seen at start" grep -q 'seen at start: 0 tasks waiting in DAX break_layouts, 0 pages held from outside (BPF iterators' "$TMP/live.err"
"$BIN" leak -o json -i 0.2 -c 1 --no-scan-at-start >"$TMP/noscan" 2>"$TMP/noscan.err"
check "--no-scan-at-start: exit 0" test $? = 0
check "--no-scan-at-start: start record says it did not run" jqrec start '.scan_at_start | (.enabled | not) and (.ran | not)' "$TMP/noscan"
check "--no-scan-at-start: no seen-at-start line" sh -c "! grep -q 'seen at start' '$TMP/noscan.err'"
"$BIN" leak -i 0.2 -c 1 >"$TMP/livetxt" 2>/dev/null
check "live text: exit 0, no SEEN AT START block" sh -c "test $? = 0 && ! grep -q 'SEEN AT START' '$TMP/livetxt'"
expect_rc "--now with a live-mode option: exit 2" 2 "$BIN" leak --now --no-scan-at-start

# --- not root ---
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" leak --now >/dev/null 2>"$TMP/nr"
	rc=$?
	check "not root: exit 1" test $rc = 1
	check "not root: says root is needed" grep -q 'root' "$TMP/nr"
fi

summary
