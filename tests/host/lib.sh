# Shared helpers for host tests: PASS/FAIL accounting with a final
# "N passed, N failed" line.
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }

# check NAME CMD...: passes when CMD succeeds.
check() {
	name=$1; shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# expect_rc NAME RC CMD...: CMD must exit with RC.
expect_rc() {
	name=$1 want=$2; shift 2
	"$@" >/dev/null 2>"$TMP/stderr"
	got=$?
	if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "exit $got, wanted $want: $(head -c 300 "$TMP/stderr")"; fi
}

# wait_for FILE PATTERN SECONDS
wait_for() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

summary() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}
