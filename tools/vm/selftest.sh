#!/bin/bash
# Self-test of the VM harness: does it count what it should?
#   tools/vm/selftest.sh [--no-vm]
# 0. the host-only tests of the kernel fetcher (selftest-*.sh: apt sources parser);
# 1. summarize on hand-made console logs (no VM);
# 2. one boot with deliberately broken scenarios (selftest/scenarios): each must be
#    reported with the right status, and the run must fail; what a scenario leaves
#    running is killed before the next;
# 3. one boot that panics before any test: retried once, then failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/selftest/lib.sh" selftest
expect() { # expect NAME FILE ERE
	if grep -Eq "$3" "$2"; then ok "$1"; else ko "$1 (no line matching /$3/ in output)"; fi
}

# ---- 0. fetcher pieces (host only) -------------------------------------------------
for t in "$HERE"/selftest-*.sh; do
	"$t" >"$TMP/part.out" 2>&1
	rc=$?
	grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$TMP/part.out"
	if [[ $(tail -n 1 "$TMP/part.out") =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		NP=$((NP + BASH_REMATCH[1])) NF=$((NF + BASH_REMATCH[2]))
		[ $rc = 0 ] || [ "${BASH_REMATCH[2]}" != 0 ] || ko "$(basename "$t") exit $rc"
	else
		ko "$(basename "$t") gave no summary (exit $rc)"
	fi
done

# ---- 1. summarize -----------------------------------------------------------------
cat >"$TMP/a.log" <<'LOG'
@@DAXTEST BEGIN setup
@@DAXTEST RESULT setup a PASS x
@@DAXTEST END setup rc=0
@@DAXTEST BEGIN s1
@@DAXTEST END s1 rc=0
@@DAXTEST BEGIN s2
@@DAXTEST RESULT s2 b PASS
@@DAXTEST END s2 rc=3
@@DAXTEST BEGIN s3
[    1.0] glued@@DAXTEST RESULT s3 c FAIL bad thing
@@DAXTEST END s3 rc=0
@@DAXTEST BEGIN s4
@@DAXTEST RESULT s4 d PASS
[    3.0] Oops: 0000 [#1] SMP
LOG
"$HERE/summarize" "$TMP/a.log" setup,s1,s2,s3,s4,s5 ok >"$TMP/a.out"
rc=$?
[ $rc = 1 ] && ok "summarize exit 1 on failures" || ko "summarize exit $rc"
expect "no RESULT -> asserted nothing" "$TMP/a.out" '^s1 .*asserted nothing'
expect "rc!=0 without FAIL -> failed" "$TMP/a.out" '^s2 .*exit rc=3'
expect "glued RESULT line parsed" "$TMP/a.out" '^FAIL s3/c bad thing'
expect "missing END" "$TMP/a.out" '^s4 .*no END'
expect "never started" "$TMP/a.out" '^s5 .*never started'
expect "Oops counted" "$TMP/a.out" '^FAIL kernel: .*Oops'
expect "totals" "$TMP/a.out" '^3 passed, 6 failed$'
printf '@@DAXTEST BEGIN setup\n@@DAXTEST RESULT setup a PASS\n@@DAXTEST END setup rc=0\n@@DAXTEST DONE\n' >"$TMP/b.log"
"$HERE/summarize" "$TMP/b.log" setup ok >"$TMP/b.out" && ok "all pass -> exit 0" || ko "all pass -> nonzero"
expect "all pass totals" "$TMP/b.out" '^1 passed, 0 failed$'
: >"$TMP/c.log"
"$HERE/summarize" "$TMP/c.log" setup ok >"$TMP/c.out" && ko "empty log -> exit 0" || ok "empty log -> nonzero"

if [ "${1:-}" != --no-vm ]; then
	# ---- 2. broken scenarios in a real guest ---------------------------------------
	"$HERE/run" 6.12 ext4 st_leftover,st_pass,st_noassert,st_rc,st_fail,st_hang,st_warn,st_warn_expected --quiet --timeout 180 \
		--extra-scenarios "$HERE/selftest/scenarios" --append daxtest.timeout=5 >"$TMP/vm.out" 2>&1
	rc=$?
	[ $rc = 1 ] && ok "vm: run exits 1" || ko "vm: run exit $rc"
	expect "vm: setup ok" "$TMP/vm.out" '^setup .* ok$'
	expect "vm: st_leftover ok" "$TMP/vm.out" '^st_leftover +2 +0 +[0-9.]+s +ok$'
	expect "vm: what st_leftover left running was killed" "$(sed -n 's/^== log: //p' "$TMP/vm.out")" \
		'INFO st_leftover killed what the scenario left running:.* [0-9]+\(daxload\)'
	expect "vm: st_pass ok (the clean-up after st_leftover did not hang)" "$TMP/vm.out" '^st_pass +2 +0 +[0-9.]+s +ok$'
	expect "vm: st_noassert" "$TMP/vm.out" '^st_noassert .*asserted nothing'
	expect "vm: st_rc" "$TMP/vm.out" '^st_rc .*exit rc=3'
	expect "vm: st_fail" "$TMP/vm.out" '^FAIL st_fail/pct '
	expect "vm: st_hang killed by guest timeout" "$TMP/vm.out" '^FAIL st_hang/timeout '
	expect "vm: unexpected kernel WARNING fails" "$TMP/vm.out" '^FAIL st_warn/kernel_clean '
	expect "vm: declared kernel WARNING passes" "$TMP/vm.out" '^st_warn_expected .* ok$'
	expect "vm: totals" "$TMP/vm.out" '^[0-9]+ passed, 5 failed$'
	# ---- 3. panic before tests: one retry ------------------------------------------
	"$HERE/run" 6.12 ext4 smoke --quiet --timeout 120 --append rdinit=/nonexistent >"$TMP/p.out" 2>&1
	rc=$?
	[ $rc = 1 ] && ok "panic: run exits 1" || ko "panic: run exit $rc"
	expect "panic: retried once" "$TMP/p.out" 'attempts 2'
	expect "panic: reported" "$TMP/p.out" '^FAIL kernel: .*Kernel panic'
	[ $NF = 0 ] || { echo "--- vm output"; cat "$TMP/vm.out" "$TMP/p.out"; }
fi
st_summary
