# daxtest.sh: guest test library, sourced by scenario scripts (busybox ash).
#
# Every check prints one structured console line the host collects:
#   @@DAXTEST RESULT <scenario> <check> PASS|FAIL <detail>
#   @@DAXTEST INFO <scenario> <text>
# A scenario with no RESULT line counts as failed on the host: assert something.

DAXTEST_SCENARIO=${DAXTEST_SCENARIO:-${0##*/}}
DAXTEST_SCENARIO=${DAXTEST_SCENARIO%.sh}
MNT=${MNT:-/mnt/dax}
TRACEFS=${TRACEFS:-/sys/kernel/tracing}
DAXTEST_FAILS=0
# The trace is snapshotted here by trace_stop, so counting does not re-read the ring.
DAXTEST_TRACE_FILE=${DAXTEST_TRACE_FILE:-/tmp/trace.$DAXTEST_SCENARIO.txt}

# Check names are one token on the result line.
_name() { printf '%s' "$1" | tr -c 'A-Za-z0-9_.:/=+-' '_'; }

result() { # result NAME PASS|FAIL DETAIL...
	_n=$(_name "$1") _s=$2
	shift 2
	[ "$_s" = FAIL ] && DAXTEST_FAILS=$((DAXTEST_FAILS + 1))
	echo "@@DAXTEST RESULT $DAXTEST_SCENARIO $_n $_s $*"
}
pass() { _n=$1; shift; result "$_n" PASS "$@"; }
fail() { _n=$1; shift; result "$_n" FAIL "$@"; }
info() { echo "@@DAXTEST INFO $DAXTEST_SCENARIO $*"; }
skip() { _n=$1; shift; info "SKIP $(_name "$_n"): $*"; }

is_int() { case $1 in '' | *[!0-9-]* | ?*-*) return 1 ;; esac; [ "$1" != - ]; }

check_eq() { # check_eq NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then pass "$1" "expected=$2 actual=$3"
	else fail "$1" "expected=$2 actual=$3"; fi
}
check_ge() { # check_ge NAME MIN ACTUAL
	if is_int "$2" && is_int "$3" && [ "$3" -ge "$2" ]; then pass "$1" "min=$2 actual=$3"
	else fail "$1" "min=$2 actual=$3"; fi
}
check_le() { # check_le NAME MAX ACTUAL
	if is_int "$2" && is_int "$3" && [ "$3" -le "$2" ]; then pass "$1" "max=$2 actual=$3"
	else fail "$1" "max=$2 actual=$3"; fi
}
check_within_pct() { # check_within_pct NAME EXPECTED ACTUAL PCT  (|a-e| <= pct% of |e|)
	if awk -v e="$2" -v a="$3" -v p="$4" 'BEGIN {
		if (e "" !~ /^-?[0-9.]+$/ || a "" !~ /^-?[0-9.]+$/) exit 1
		d = a - e; if (d < 0) d = -d; m = e < 0 ? -e : e
		exit !(d * 100 <= p * m) }'
	then pass "$1" "expected=$2 actual=$3 tol=$4%"
	else fail "$1" "expected=$2 actual=$3 tol=$4%"; fi
}
check_true() { # check_true NAME CMD...   (PASS when CMD exits 0)
	_n=$1; shift
	_out=$("$@" 2>&1); _rc=$?
	if [ $_rc = 0 ]; then pass "$_n" "cmd='$*'"
	else fail "$_n" "cmd='$*' rc=$_rc out=$(echo "$_out" | tail -n 2 | tr '\n' '|')"; fi
	return $_rc
}
# kernel_limit PATTERN: true when `daxtrace features -o json` states a kernel
# limit containing PATTERN; LIMIT then holds its text (else LIMIT is empty).
kernel_limit() {
	LIMIT=$(daxtrace features -o json 2>/dev/null |
		jq -r --arg p "$1" '[.limits[]? | select(contains($p))][0] // empty')
	[ -n "$LIMIT" ]
}
# unless_limited CHECK NAME ARGS...: run the check, or, when kernel_limit set
# LIMIT, a visible skip of NAME that quotes the limit daxtrace features states.
unless_limited() {
	if [ -n "${LIMIT:-}" ]; then skip "$2" "kernel limit (daxtrace features): $LIMIT"; else "$@"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }
# need_tools CMD...: all of them in the guest, else the "tools" check fails
# and the scenario should stop (need_tools a b || exit 1).
need_tools() {
	for _t in "$@"; do
		have "$_t" && continue
		fail tools "$* are needed in the guest (missing: $_t)"
		return 1
	done
}
# expect_kernel_warn ERE: a kernel WARNING/BUG line matching ERE is provoked on purpose
# by this scenario; init then does not fail it as kernel_clean (assert it yourself).
expect_kernel_warn() { echo "$1" >>/tmp/daxtest.expect_warn; }

# ---- tracefs -------------------------------------------------------------------
trace_start() { # trace_start [EVENT-DIR...]   default: fs_dax
	echo 0 >"$TRACEFS/tracing_on"
	echo 0 >"$TRACEFS/events/enable"
	echo >"$TRACEFS/trace"
	echo "${DAXTEST_TRACE_KB:-16384}" >"$TRACEFS/buffer_size_kb"
	[ $# -gt 0 ] || set -- fs_dax
	for _e in "$@"; do echo 1 >"$TRACEFS/events/$_e/enable" || info "cannot enable events/$_e"; done
	rm -f "$DAXTEST_TRACE_FILE"
	echo 1 >"$TRACEFS/tracing_on"
}
trace_stop() { # stop, snapshot the ring to $DAXTEST_TRACE_FILE, disable events
	echo 0 >"$TRACEFS/tracing_on"
	cat "$TRACEFS/trace" >"$DAXTEST_TRACE_FILE"
	echo 0 >"$TRACEFS/events/enable"
	_lost=$(grep -c 'LOST' "$DAXTEST_TRACE_FILE")
	[ "$_lost" = 0 ] || info "trace: ring buffer overflowed ($_lost LOST markers)"
}
# trace_count EVENT [PID] [PATTERN]: lines of EVENT (exact name) by PID ('' = any)
# whose text matches the awk regex PATTERN.  Line format: comm-PID [cpu] flags ts: event: ...
trace_count() {
	_f=$DAXTEST_TRACE_FILE
	[ -f "$_f" ] || _f=$TRACEFS/trace
	awk -v ev="$1" -v pid="${2:-}" -v pat="${3:-}" '
		/^#/ { next }
		{
			if (!match($0, /-[0-9]+ +\[[0-9]+\]/)) next
			p = substr($0, RSTART + 1, RLENGTH - 1); sub(/ .*/, "", p)
			rest = substr($0, RSTART + RLENGTH)
			if (!match(rest, /: [a-z0-9_]+: /)) next
			e = substr(rest, RSTART + 2, RLENGTH - 4)
			if (e != ev || (pid != "" && p != pid)) next
			if (pat != "" && $0 !~ pat) next
			n++
		}
		END { print n + 0 }' "$_f"
}

# ---- waiting --------------------------------------------------------------------
# wait_for_line FILE PATTERN TIMEOUT_S  (grep -E pattern; rc 0 if seen)
# Gives up early once FILE exists and no process has it open for 3 checks in a row,
# a second apart: its writer is gone (e.g. a tool that failed to load its programs),
# so the line can no longer come.
wait_for_line() {
	_t=$(( $3 * 10 )) _gone=0
	case $1 in /*) _abs=$1 ;; *) _abs=$PWD/$1 ;; esac
	while [ $_t -gt 0 ]; do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		if [ $((_t % 10)) = 0 ] && [ -e "$1" ]; then
			if ls -l /proc/[0-9]*/fd 2>/dev/null | grep -qF -- "-> $_abs"; then _gone=0
			else _gone=$((_gone + 1)); fi
			if [ $_gone -ge 3 ]; then
				grep -Eq "$2" "$1" 2>/dev/null && return 0
				info "wait_for_line: $1 is closed by every process without /$2/"
				return 1
			fi
		fi
		usleep 100000
		_t=$((_t - 1))
	done
	return 1
}
# leak_start OUT ERR [ARGS...]: daxtrace leak -o json ARGS in the background,
# stdout to OUT, stderr to ERR; sets LEAK (its pid). Fails leak_ready and
# returns 1 if it is not ready within 60 s.
leak_start() {
	_out=$1 _err=$2
	shift 2
	daxtrace leak -o json "$@" >"$_out" 2>"$_err" &
	LEAK=$!
	wait_for_line "$_err" 'ready' 60 && return 0
	fail leak_ready "daxleak did not start: $(tail -n 3 "$_err" | tr '\n' '|')"
	kill $LEAK 2>/dev/null
	return 1
}
wait_pid_gone() { # wait_pid_gone PID TIMEOUT_S
	_t=$(( $2 * 10 ))
	while [ $_t -gt 0 ] && kill -0 "$1" 2>/dev/null; do usleep 100000; _t=$((_t - 1)); done
	! kill -0 "$1" 2>/dev/null
}

# ---- parsing tool output -------------------------------------------------------
# col_of "HEADER LINE" NAME: 1-based column index of NAME, empty when absent.
col_of() { echo "$1" | awk -v n="$2" '{ for (i = 1; i <= NF; i++) if ($i == n) { print i; exit } }'; }

# top_table FILE: the rows of the final batch table after the last TOTAL line
# (header line included), as daxtrace top -b prints them at exit.
top_table() {
	awk '/^TOTAL/ { n = 0; delete rows; grab = 1; next }
	     grab && NF { rows[++n] = $0 }
	     END { for (i = 1; i <= n; i++) print rows[i] }' "$1"
}
# top_sum FILE COLUMN [KEYCOL=VALUE...]: sum of COLUMN over final-table rows matching
# every KEYCOL=VALUE (e.g. top_sum out.txt PTE PID=123).  Prints 0 when nothing matched.
top_sum() {
	_f=$1 _c=$2; shift 2
	top_table "$_f" | awk -v col="$_c" -v filt="$*" '
		NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i
			  nf = split(filt, f, " "); next }
		{ ok = 1
		  for (j = 1; j <= nf; j++) { split(f[j], kv, "="); if ($(h[kv[1]]) != kv[2]) ok = 0 }
		  if (ok && (col in h)) s += $(h[col]) }
		END { print s + 0 }'
}
# kv KEY < lines: value of KEY=... from the last line that has it (DAXLOAD lines).
kv() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) v = substr($i, length(k) + 2) } END { print v }'; }
# daxload_get FILE OP KEY: KEY from the last "DAXLOAD op=OP" line in FILE.
# Retried: a command substitution in busybox ash has come back empty once
# (CI, 6.1 xfs) while the line was in the file; an empty key is logged.
daxload_get() {
	_n=0
	while [ $_n -lt 5 ]; do
		_v=$(grep "^DAXLOAD op=$2 " "$1" | kv "$3")
		[ -n "$_v" ] && { echo "$_v"; return 0; }
		_n=$((_n + 1))
		usleep 100000
	done
	info "daxload_get: no $3= in op=$2 lines of $1: $(grep "op=$2" "$1" | tail -n 2 | tr '\n' '|')" >&2
	return 1
}
