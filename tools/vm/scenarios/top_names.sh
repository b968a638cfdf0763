#!/bin/sh
# top_names: DAX files with hostile names (spaces, a newline, invalid UTF-8,
# a 255-byte component) keep daxtop's outputs parseable and their counts
# right: the batch table has one line per row, every JSON object parses
# (jq) with the right counts and names per (pid, inode), and `daxtrace
# export --per-file` stays a well-formed exposition in valid UTF-8 whose
# per-file counts add up to the kernel's. Twice: while the process still
# maps the file (path from /proc/PID/maps) and after it exited (path from
# the dentry names BPF saw, the 255-byte name cut and marked "..."). A
# newline is written as \012 in text (as /proc/PID/maps does), exact in JSON.
. /daxtest/daxtest.sh

T=/tmp/top_names
rm -rf $T; mkdir -p $T
D=$MNT/names
mkdir -p "$D/held" "$D/gone"
long=$(printf '%0255d' 0 | tr 0 L)
name_of() { # name_of DIR N: the Nth hostile path in DIR
	case $2 in
	1) printf '%s' "$1/sp ace  name" ;;
	2) printf '%s' "$1/new"; printf '\nline' ;;
	3) printf '%s' "$1/bad"; printf '\377\376utf' ;;
	4) printf '%s' "$1/$long" ;;
	esac
}
# The JSON file name each should get (jq, $d the directory, $long).
want1='$d + "/sp ace  name"'
want2='$d + "/new\nline"'
want3='$d + "/bad\ufffd\ufffdutf"'
want4='$d + "/" + $long, $d + "/" + $long[0:47] + "..."'
trace_start fs_dax
daxtrace top -b -i 1 >$T/top.txt 2>$T/top.err &
TOP=$!
daxtrace top -o json -i 1 >$T/top.json 2>$T/topj.err &
TOPJ=$!
daxtrace export --textfile $T/m.prom -i 0.5 --per-file >$T/exp.out 2>$T/exp.err &
EXP=$!
for f in top topj exp; do
	wait_for_line $T/$f.err ': ready' 120 || { fail ${f}_ready "$(cat $T/$f.err)"; kill $TOP $TOPJ $EXP; exit 1; }
done
# run_names DIR HOLD: fault each name in DIR, keeping the mapping HOLD s
run_names() {
	for n in 1 2 3 4; do
		daxload fault --pages 4 --align 4k --write --shared --hold $2 "$(name_of $1 $n)" \
			>$T/${1##*/}$n.out 2>&1 || fail "${1##*/}${n}_daxload" "$(cat $T/${1##*/}$n.out)"
	done
}
run_names $D/held 1.5	# the snapshot finds the process: /proc/PID/maps
run_names $D/gone 0	# gone before a snapshot: BPF's dentry names
sleep 1.6
cp $T/m.prom $T/final.prom
kill -INT $TOP $TOPJ
kill -TERM $EXP
wait $TOP $TOPJ $EXP
trace_stop
F=$T/final.prom

# --- batch text: one line per row, numbers per (pid, inode) ---
rows=$(top_table $T/top.txt | awk 'NR > 1' | wc -l)
top_table $T/top.txt | while read -r l; do info "total: $l"; done
check_eq text_one_line_per_row 8 "$rows"
# --- JSON: every line one object ---
lines=$(wc -l <$T/top.json)
objs=$(jq -c . <$T/top.json | wc -l)
check_eq json_every_line_parses "$lines" "$objs"
check_true json_parses jq -e . $T/top.json
# --- exposition: sample syntax, UTF-8 (jq -R round trip keeps valid UTF-8 byte-exact) ---
bad=$(awk '/^#/ { next } $0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? ([-+]?[0-9.eE+-]+|NaN|[+-]Inf)$/ { print }' $F | head -2)
check_eq exposition_lines_well_formed "" "$bad"
check_true exposition_valid_utf8 sh -c "jq -Rr . <$F | cmp -s - $F"
if have promtool; then
	check_true promtool_accepts sh -c "promtool check metrics <$F"
else
	info "promtool not in the guest: syntax and UTF-8 checked with awk and jq (the unit tests run promtool on the host)"
fi
files=$(grep -c '^daxtrace_file_faults_total{' $F)
info "per-file series: $files"

for dir in held gone; do
	for n in 1 2 3 4; do
		out=$T/$dir$n.out
		pid=$(daxload_get $out fault pid)
		ino=$(daxload_get $out fault ino)
		k=$(trace_count dax_pte_fault_done "$pid" "ino 0x$(printf '%x' "$ino") ")
		t=$(top_sum $T/top.txt PTE PID=$pid INO=$ino)
		row=".rows[] | select(.pid == $pid and .ino == $ino)"
		j=$(tail -n 1 $T/top.json | jq -r "[$row | .pte] | add // 0")
		eval "w=\$want$n"
		named=$(tail -n 1 $T/top.json | jq -r --arg d "$D/$dir" --arg long "$long" \
			"[$row | .file] as \$f | [$w] | any(. == \$f[0])")
		info "$dir $n pid=$pid ino=$ino kernel=$k text=$t json=$j file=$(tail -n 1 $T/top.json | jq -c "[$row | .file][0]")"
		check_ge ${dir}${n}_faulted 1 "$k"
		check_eq ${dir}${n}_text_equals_tracefs "$k" "$t"
		check_eq ${dir}${n}_json_equals_tracefs "$k" "$j"
		check_eq ${dir}${n}_json_file_name true "$named"
	done
done
k=$(trace_count dax_pte_fault_done)
check_eq export_per_file_pte_sum_equals_tracefs "$k" \
	"$(awk '/^daxtrace_file_faults_total\{/ && /type="pte"/ { s += $NF } END { print s + 0 }' $F)"
grep '^daxtrace_file' $F | head -8 | while read -r l; do info "prom: $l"; done
exit 0
