#!/bin/sh
# daxload self-test on a host without DAX: every command runs with
# --allow-non-dax on tmpfs (/dev/shm) and a disk filesystem (TMPDIR or
# /tmp); the refusal of non-DAX files is checked too. Pins are verified
# from outside the holder (daxload pipe-bytes on /proc/PID/fd/N).
# Usage: selftest.sh [path/to/daxload]     Prints "N passed, N failed".

here=$(cd "$(dirname "$0")" && pwd)
B=${1:-${DAXLOAD:-$here/../../build/daxload}}
[ -x "$B" ] || { echo "selftest: $B not built (run make)" >&2; exit 1; }

pass=0 fail=0
shmbase=/dev/shm
[ -d "$shmbase" ] && [ -w "$shmbase" ] || shmbase=${TMPDIR:-/tmp}
SHM=$(mktemp -d "$shmbase/daxload-st.XXXXXX") || exit 1
DISK=$(mktemp -d "${TMPDIR:-/tmp}/daxload-st.XXXXXX") || exit 1
OUT=$DISK/out ERR=$DISK/err
bgpids=""
cleanup() {
	for p in $bgpids; do kill "$p" 2>/dev/null; done
	rm -rf "$SHM" "$DISK"
}
trap cleanup EXIT INT TERM

ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -s "$ERR" ] && sed 's/^/     stderr: /' "$ERR" | head -3; }
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# t NAME: verdict from the previous command's status (for "a && b" tests)
t() { if [ $? -eq 0 ]; then ok "$1"; else bad "$1"; fi; }

# run CMD...: stdout to $OUT, stderr to $ERR, exit code in $rc
run() { "$@" >"$OUT" 2>"$ERR"; rc=$?; }
# field KEY [FILTER]: value of KEY= in the first line matching FILTER
field() { grep -e "${2:-DAXLOAD}" "$OUT" | head -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# wait_for FILE: up to ~5 s for a file to appear
wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done; [ -e "$1" ]; }
# alive PID: running and not a zombie (an orphan may wait for a reaper)
alive() { [ -e /proc/$1 ] && ! grep -q '^[0-9]* (.*) Z' /proc/$1/stat 2>/dev/null; }
gone() { i=0; while alive "$1" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done; ! alive "$1"; }

# --- usage and help ---------------------------------------------------------
for c in check fault pin truncate punch evict mixed loop pipe-bytes; do
	run "$B" $c --help
	check "$c --help exits 0" [ $rc -eq 0 -a -s "$OUT" ]
done
run "$B" fault --no-such-option x;	check "unknown option -> 2" [ $rc -eq 2 ]
run "$B" fault;				check "missing FILE -> 2" [ $rc -eq 2 ]
run "$B" fault --pages;			check "missing value -> 2" [ $rc -eq 2 ]
run "$B" fault --size 1000 x;		check "unaligned --size -> 2" [ $rc -eq 2 ]
run "$B" frobnicate;			check "unknown command -> 2" [ $rc -eq 2 ]
run "$B" pin --pages 4 "$SHM/x";	check "pin without --hold -> 2" [ $rc -eq 2 ]

# --- check and non-DAX refusal ----------------------------------------------
: >"$DISK/plain"
run "$B" check "$DISK/plain"
check "check non-DAX exits 1" [ $rc -eq 1 ]
check "check prints dax=0 and fs" [ "$(field dax op=check)" = 0 -a -n "$(field fs op=check)" ]
check "check prints dev=MAJ:MIN" sh -c "grep -q ' dev=[0-9]*:[0-9]* ino=[0-9]* ' '$OUT'"
for c in fault pin truncate punch loop evict; do
	case $c in
	pin) args="--pages 4 --hold 0" ;;
	punch) args="--offset 0 --len 4096" ;;
	*) args="" ;;
	esac
	f=$SHM/refuse.$c
	[ $c = truncate -o $c = punch ] && : >"$f"
	run "$B" $c $args "$f"
	[ $rc -eq 1 -a ! -s "$OUT" ] && grep -q "not a DAX file" "$ERR"
	t "$c refuses non-DAX (exit 1, message, no stdout)"
done
check "refused fault leaves no new file" [ ! -e "$SHM/refuse.fault" ]
run "$B" mixed --procs 2 --seconds 0 "$SHM"
[ $rc -eq 1 ] && grep -q "not a DAX" "$ERR"; t "mixed refuses non-DAX (exit 1)"

# --- fault --------------------------------------------------------------------
for dir in "$SHM" "$DISK"; do
	f=$dir/fault
	run "$B" fault --allow-non-dax --pages 1024 --msync --munmap "$f"
	check "fault $dir exit 0" [ $rc -eq 0 ]
	check "fault $dir start+done lines" [ "$(grep -c 'op=fault event=' "$OUT")" -eq 2 ]
	check "fault $dir pages=1024 dax=0 msync=1 munmap=1" \
		[ "$(field pages event=done)" = 1024 -a "$(field dax event=done)" = 0 \
		  -a "$(field msync event=done)" = 1 -a "$(field munmap event=done)" = 1 ]
	check "fault $dir 2m: va aligned, 2 PMD-eligible chunks" \
		[ "$(field va_2m_aligned event=done)" = 1 -a "$(field pmd_eligible event=done)" = 2 ]
	check "fault $dir pid= is the process" [ -n "$(field pid event=done)" ]
	check "fault $dir file size 4 MiB" [ "$(stat -c %s "$f")" -eq 4194304 ]
done
run "$B" fault --allow-non-dax --pages 1024 --align 4k --read --private "$SHM/fault"
check "fault --align 4k: not aligned, no PMD" \
	[ $rc -eq 0 -a "$(field va_2m_aligned event=done)" = 0 -a "$(field pmd_eligible event=done)" = 0 ]
check "fault --read --private reported" \
	[ "$(field access event=done)" = read -a "$(field map event=done)" = private ]
run "$B" fault --allow-non-dax --pages 1024 --offset 4096 "$SHM/fault"
check "fault --offset 4096: 1 PMD-eligible chunk" [ "$(field pmd_eligible event=done)" = 1 -a "$(field offset event=done)" = 4096 ]
run "$B" fault --allow-non-dax --pages 8 --repeat 3 --munmap --pfn "$SHM/fault"
check "fault --repeat 3: 3 done lines" [ "$(grep -c 'event=done' "$OUT")" -eq 3 ]
check "fault --pfn: 8 pfn lines per iteration" [ "$(grep -c 'op=pfn .*index=' "$OUT")" -eq 24 ]
run "$B" fault --allow-non-dax --pages 4 --hold 0.1 "$SHM/fault"
check "fault --hold: touched and hold_end lines" \
	[ "$(grep -c 'event=touched' "$OUT")" -eq 1 -a "$(field reason event=hold_end)" = timeout ]
(umask 077; "$B" fault --allow-non-dax --pages 1 "$SHM/mode" >/dev/null 2>&1)
check "created files are 0644 despite umask" [ "$(stat -c %a "$SHM/mode")" = 644 ]
run "$B" fault --allow-non-dax --pages 1 "$SHM/with space%"
check "path escaped: %20 and %25" grep -q 'file=[^ ]*/with%20space%25 ' "$OUT"
# Only where 1 TiB surely does not fit (never allocate that much for real).
if [ $(( $(stat -f -c %b "$SHM") * $(stat -f -c %S "$SHM") )) -lt $((1 << 39)) ]; then
	run "$B" fault --allow-non-dax --size 1t "$SHM/huge"
	[ $rc -eq 1 -a ! -e "$SHM/huge" ] && grep -q ENOSPC "$ERR"
	t "ENOSPC: exit 1, clear message, file removed"
else
	echo "skip ENOSPC test: $SHM is larger than 512 GiB"
fi

# --- pin ----------------------------------------------------------------------
pages=64 bytes=$((64 * 4096))
"$B" pin --allow-non-dax --pages $pages --hold inf --ready-file "$SHM/ready" "$SHM/pin" \
	>"$DISK/pin.out" 2>"$DISK/pin.err" &
pp=$!; bgpids="$bgpids $pp"
if wait_for "$SHM/ready"; then
	cp "$DISK/pin.out" "$OUT"
	rfd=$(field pipe_rfd event=ready)
	check "pin ready: pipe_bytes=$bytes" [ "$(field pipe_bytes event=ready)" = $bytes ]
	check "pin ready: holder is itself, ready-file has its pid" \
		[ "$(field holder_pid event=ready)" = $pp -a "$(cat "$SHM/ready")" = $pp ]
	run "$B" pipe-bytes /proc/$pp/fd/$rfd
	check "pin: pipe seen from outside holds $bytes bytes" [ "$(field bytes)" = $bytes ]
	kill -USR1 $pp
	wait $pp; rc=$?
	cp "$DISK/pin.out" "$OUT"
	check "pin SIGUSR1: released, drained $bytes, exit 0" \
		[ $rc -eq 0 -a "$(field reason event=released)" = sigusr1 \
		  -a "$(field drained_bytes event=released)" = $bytes ]
else
	bad "pin did not become ready"; kill $pp 2>/dev/null
fi

# --pmd: the 2 MiB chunk around the pinned pages is mapped and allocated,
# only the N pages at --offset go into the pipe
run "$B" pin --allow-non-dax --pmd --pages 4 --offset 8192 --hold 0 "$SHM/pinpmd"
check "pin --pmd: map_offset=0 map_len=2097152 pmd_eligible=1, offset=8192, 4 pages in the pipe" \
	[ $rc -eq 0 -a "$(field map_offset event=ready)" = 0 -a "$(field map_len event=ready)" = 2097152 \
	  -a "$(field pmd_eligible event=ready)" = 1 -a "$(field offset event=ready)" = 8192 \
	  -a "$(field pipe_bytes event=ready)" = 16384 -a "$(stat -c %s "$SHM/pinpmd")" -ge 2097152 ]
run "$B" pin --allow-non-dax --pages 4 --hold 0 "$SHM/pinnopmd"
check "pin without --pmd: no map_offset=" [ $rc -eq 0 -a -z "$(field map_offset event=ready)" ]

rm -f "$SHM/ready"
run "$B" pin --allow-non-dax --pages $pages --hold inf --handoff --munmap --ready-file "$SHM/ready" "$DISK/pin"
holder=$(field holder_pid event=ready)
check "pin --handoff: parent exits 0, holder is another pid" \
	[ $rc -eq 0 -a -n "$holder" -a "$holder" != "$(field pid event=ready)" ]
if [ -n "$holder" ] && kill -0 "$holder" 2>/dev/null; then
	bgpids="$bgpids $holder"
	check "pin --handoff: ready-file names holder" [ "$(cat "$SHM/ready")" = "$holder" ]
	rfd=$(field pipe_rfd event=ready)
	run "$B" pipe-bytes /proc/$holder/fd/$rfd
	check "pin --handoff: holder's pipe has $bytes bytes" [ "$(field bytes)" = $bytes ]
	check "pin --handoff --munmap: holder has no file mapping" \
		sh -c "! grep -q '$DISK/pin' /proc/$holder/maps"
	kill -USR1 "$holder"
	check "pin --handoff: holder exits on SIGUSR1" gone "$holder"
else
	bad "pin --handoff holder not running"
fi

run "$B" pin --allow-non-dax --pages 8 --hold 5 --handoff "$DISK/pin2"
holder=$(field holder_pid event=ready)
if [ -n "$holder" ] && alive "$holder"; then
	bgpids="$bgpids $holder"
	check "pin --handoff: holder keeps the mapping" grep -q "$DISK/pin2" /proc/$holder/maps
	kill -USR1 "$holder"; gone "$holder"
else
	bad "pin --handoff (mapping kept) holder not running"
fi

run "$B" pin --allow-non-dax --pages 8 --hold 0.05 --no-drain --munmap "$SHM/pin"
check "pin --no-drain: drained_bytes=0, timeout" \
	[ $rc -eq 0 -a "$(field drained_bytes event=released)" = 0 -a "$(field reason event=released)" = timeout ]

# Negative control: on a non-DAX fs a truncate does not wait for pinned pages,
# and the pin survives the truncate (the pipe still holds every byte).
rm -f "$SHM/ready"
"$B" pin --allow-non-dax --pages 16 --hold 5 --ready-file "$SHM/ready" "$DISK/nc" \
	>"$DISK/nc.out" 2>"$DISK/nc.err" &
pp=$!; bgpids="$bgpids $pp"
if wait_for "$SHM/ready"; then
	run "$B" truncate --allow-non-dax "$DISK/nc"
	ms=$(field blocked_ms op=truncate)
	check "negative control: truncate of pinned non-DAX file does not block ($ms ms)" \
		[ $rc -eq 0 -a "${ms%%.*}" -lt 1000 ]
	cp "$DISK/nc.out" "$OUT"; rfd=$(field pipe_rfd event=ready)
	run "$B" pipe-bytes /proc/$pp/fd/$rfd
	check "negative control: pin still holds 65536 bytes after truncate" [ "$(field bytes)" = 65536 ]
	kill -USR1 $pp; wait $pp
else
	bad "negative control pin did not become ready"
fi

# --- truncate / punch ---------------------------------------------------------
"$B" fault --allow-non-dax --pages 16 "$SHM/tr" >/dev/null 2>&1
run "$B" truncate --allow-non-dax --size 8192 "$SHM/tr"
check "truncate: rc=0 size=8192 blocked_ms" \
	[ $rc -eq 0 -a "$(field rc op=truncate)" = 0 -a "$(field size op=truncate)" = 8192 \
	  -a -n "$(field blocked_ms op=truncate)" -a "$(stat -c %s "$SHM/tr")" -eq 8192 ]
run "$B" truncate --allow-non-dax "$SHM/does-not-exist"
[ $rc -eq 1 ] && grep -q ENOENT "$ERR"; t "truncate of missing file: exit 1, ENOENT"
run "$B" punch --allow-non-dax --offset 0 --len 4096 "$SHM/tr"
check "punch: rc=0 blocked_ms" [ $rc -eq 0 -a "$(field rc op=punch)" = 0 -a -n "$(field blocked_ms op=punch)" ]
run "$B" punch --allow-non-dax --offset 0 "$SHM/tr"
check "punch without --len -> 2" [ $rc -eq 2 ]

# --- evict --------------------------------------------------------------------
run "$B" evict --allow-non-dax --pages 8 --hold 0.1 "$DISK/ev"
check "evict on $DISK: exit 0, file gone" [ $rc -eq 0 -a ! -e "$DISK/ev" ]
run "$B" evict --allow-non-dax --pages 8 --hold 0.1 "$SHM/ev"
check "evict: exit 0, file gone" [ $rc -eq 0 -a ! -e "$SHM/ev" ]
check "evict: pinned $((8 * 4096)) bytes in holder" [ "$(field pipe_bytes event=pinned)" = 32768 ]
check "evict: done has blocked_ms and rc=0" [ -n "$(field blocked_ms event=done)" -a "$(field rc event=done)" = 0 ]
check "evict: released by holder pid" \
	[ "$(field pid event=released)" = "$(field holder_pid event=done)" -a "$(field drained_bytes event=released)" = 32768 ]
: >"$SHM/ev"
run "$B" evict --allow-non-dax --pages 8 --hold 0 "$SHM/ev"
[ $rc -eq 1 -a -e "$SHM/ev" ] && grep -q EEXIST "$ERR"; t "evict refuses an existing file without --force"

# --- mixed / loop -------------------------------------------------------------
run "$B" mixed --allow-non-dax --procs 3 --pages 16 --seconds 0.2 "$SHM"
sum=$(grep 'event=child' "$OUT" | tr ' ' '\n' | sed -n 's/^pages=//p' | awk '{s += $1} END {print s + 0}')
npids=$(grep 'op=mixed' "$OUT" | tr ' ' '\n' | sed -n 's/^pid=//p' | sort -u | wc -l)
check "mixed: exit 0, 3 child lines" [ $rc -eq 0 -a "$(grep -c 'event=child' "$OUT")" -eq 3 ]
check "mixed: total_pages = sum of children ($sum)" [ "$(field total_pages event=done)" = "$sum" -a "$sum" -gt 0 ]
check "mixed: 4 distinct pids (3 children + parent)" [ "$npids" -eq 4 ]
check "mixed: both layouts used" sh -c "grep -q 'layout=pte' '$OUT' && grep -q 'layout=pmd' '$OUT'"
run "$B" loop --allow-non-dax --seconds 0.2 --pages 64 "$DISK/loop"
check "loop: iterations and pages" \
	[ $rc -eq 0 -a "$(field iterations op=loop)" -gt 0 \
	  -a "$(field pages op=loop)" -eq $(( $(field iterations op=loop) * 64 )) ]

# --- every line carries pid= -----------------------------------------------------
check "all DAXLOAD lines carry pid=" sh -c "! grep -h '^DAXLOAD' '$DISK'/*out* | grep -v ' pid=[0-9]'"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
