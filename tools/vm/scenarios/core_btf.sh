#!/bin/sh
# core_btf: CO-RE against the small BTF daxtrace builds (src/core_btf.h)
# gives the kernel the very same programs as against the kernel's whole BTF:
# for each way the tools attach here, an instance of each kind runs side by
# side and every loaded program's verified instructions (map references
# masked) must hash alike. The daxnow scan programs are covered by the now_*
# scenarios' results.
. /daxtest/daxtest.sh

T=/tmp/core_btf
rm -rf $T; mkdir -p $T

# sigs PID: "name hash" of every program PID holds, sorted.
sigs() { daxtrace bench-floor --stats -p "$1" | awk '{ print $4, $NF }' | sort; }

# same NAME ARGS...: run `daxtrace ARGS` twice, small BTF and whole BTF
# (environment: $XENV).
same() {
	n=$1; shift
	env $XENV daxtrace "$@" >$T/$n.small.out 2>$T/$n.small.err &
	S=$!
	env $XENV DAXTRACE_CORE_BTF=full daxtrace "$@" >$T/$n.full.out 2>$T/$n.full.err &
	F=$!
	if ! wait_for_line $T/$n.small.err ': ready' 120 || ! wait_for_line $T/$n.full.err ': ready' 120; then
		fail ${n}_ready "$(tail -n 2 $T/$n.small.err $T/$n.full.err | tr '\n' '|')"
		kill $S $F 2>/dev/null; wait $S $F 2>/dev/null
		return
	fi
	sigs $S >$T/$n.small
	sigs $F >$T/$n.full
	if ! cmp -s $T/$n.small $T/$n.full; then
		# Read once more: a difference that goes away was in the reading
		# (one CI failure on 7 ext4 under load left no diff to look at),
		# one that stays is in the programs. Both are logged.
		info "$n differs at first read: $(diff $T/$n.small $T/$n.full | tr '\n' '|')"
		info "$n hooks: small=$(grep -m1 '^# hooks' $T/$n.small.out) full=$(grep -m1 '^# hooks' $T/$n.full.out)"
		sigs $S >$T/$n.small
		sigs $F >$T/$n.full
	fi
	kill -INT $S $F; wait $S $F
	info "$n: $(wc -l <$T/$n.small) programs: $(awk '{ print $1 }' $T/$n.small | sort -u | tr '\n' ' ')"
	check_ge ${n}_programs_loaded 2 "$(wc -l <$T/$n.small)"
	check_true ${n}_same_programs cmp -s $T/$n.small $T/$n.full
	cmp -s $T/$n.small $T/$n.full || info "$n differs: $(diff $T/$n.small $T/$n.full | tr '\n' '|')"
}

XENV=
same top top -b -i 1
XENV=DAXTRACE_NO_TRACEFS=1 same top_btf_tp top -b -i 1
same top_kprobe top -b -i 1 --no-fentry
same leak leak --no-scan-at-start
same leak_kprobe leak --no-scan-at-start --no-fentry
exit 0
