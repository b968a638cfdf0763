#!/bin/bash
# `make check`: unit tests, host tests and the VM matrix, each on the real
# binaries; ends with one "N passed, N failed" line over all of them.
set -u
cd "$(dirname "$0")/.." || exit 1
LOG=build/check
mkdir -p "$LOG"
total_pass=0
total_fail=0
stage_fail=0

# add_counts FILE: sum "N passed, N failed" (ours, the VM's and daxload's)
# and cmocka's "[  PASSED  ] N test(s)" / "[  FAILED  ] N test(s)" lines.
add_counts() {
	local p f
	p=$(awk '/^\[  PASSED  \] [0-9]+ test/ {s += $4} /^[0-9]+ passed, [0-9]+ failed/ {s += $1} END {print s + 0}' "$1")
	f=$(awk '/^\[  FAILED  \] [0-9]+ test/ {s += $4} /^[0-9]+ passed, [0-9]+ failed/ {s += $3} END {print s + 0}' "$1")
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

run_stage() {
	local name=$1; shift
	echo "=== $name ==="
	"$@" 2>&1 | tee "$LOG/$name.log"
	local rc=${PIPESTATUS[0]}
	add_counts "$LOG/$name.log"
	if [ "$rc" != 0 ]; then
		echo "=== $name FAILED (exit $rc) ==="
		stage_fail=1
	fi
}

run_stage unit make --no-print-directory unit-test
run_stage daxload ./tools/daxload/selftest.sh
run_stage host ./tests/host/run.sh
run_stage export ./tests/host/export.sh
run_stage now ./tests/host/now.sh
run_stage fields make --no-print-directory fields-test
run_stage layout ./tests/layout/deps.sh
run_stage testbed ./tests/host/testbed.sh
if [ "${DAXTRACE_SKIP_VM:-0}" = 1 ]; then
	run_stage harness ./tools/vm/selftest.sh --no-vm
	echo "=== vm: skipped (DAXTRACE_SKIP_VM=1) ==="
else
	# The harness must report broken scenarios and panics before its
	# verdicts on ours are worth anything.
	run_stage harness ./tools/vm/selftest.sh
	run_stage vm ./tools/vm/matrix
fi

# A stage that failed without counting a failure still fails the run.
[ "$stage_fail" = 1 ] && [ "$total_fail" = 0 ] && total_fail=1
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ] && [ "$stage_fail" = 0 ]
