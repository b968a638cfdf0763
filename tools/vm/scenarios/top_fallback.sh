#!/bin/sh
# top_fallback: the attach fallbacks work on a real kernel: with fentry
# forbidden the function hooks attach as kprobes and still count; with
# kprobes forbidden too, only tracepoints remain, the function columns say
# n/a, and the fault counts are unchanged. Where both tracepoint kinds exist
# the tool picks BTF ones only if its preemption check says they run with
# preemption off; forced classic ones count the same. daxtop's per-CPU row
# cache is on only where fault programs cannot be preempted.
. /daxtest/daxtest.sh

T=/tmp/top_fallback
rm -rf $T; mkdir -p $T	# a stale ready line would race the new tool
daxtrace top -b -i 1 --no-fentry >$T/kp.txt 2>$T/kp.err &
KP=$!
daxtrace top -b -i 1 --no-fentry --no-kprobe >$T/tp.txt 2>$T/tp.err &
TP=$!
DAXTRACE_NO_TRACEFS=1 daxtrace top -b -i 1 >$T/btf.txt 2>$T/btf.err &
BTF=$!
DAXTRACE_TP=classic daxtrace top -b -i 1 >$T/cl.txt 2>$T/cl.err &
CL=$!
daxtrace top -b -i 1 >$T/def.txt 2>$T/def.err &
DEF=$!
wait_for_line $T/kp.err ': ready' 120 || { fail kprobe_ready "$(cat $T/kp.err)"; kill $KP $TP; exit 1; }
wait_for_line $T/tp.err ': ready' 120 || { fail tp_ready "$(cat $T/tp.err)"; kill $KP $TP $BTF; exit 1; }
wait_for_line $T/btf.err ': ready' 120 || { fail btf_ready "$(cat $T/btf.err)"; kill $KP $TP $BTF $CL; exit 1; }
wait_for_line $T/cl.err ': ready' 120 || { fail classic_ready "$(cat $T/cl.err)"; kill $KP $TP $BTF $CL $DEF; exit 1; }
wait_for_line $T/def.err ': ready' 120 || { fail default_ready "$(cat $T/def.err)"; kill $KP $TP $BTF $CL $DEF; exit 1; }

daxload pin --pages 4 --hold 1 $MNT/fb >$T/pin.out &
PIN=$!
wait_for_line $T/pin.out 'event=ready' 60
daxload truncate $MNT/fb >$T/trunc.out
wait $PIN
daxload fault --pages 64 --align 4k --write --shared --munmap $MNT/fb2 >$T/f.out
sleep 1.2
kill -INT $KP $TP $BTF $CL $DEF
wait $KP $TP $BTF $CL $DEF

check_true kprobe_hooks_attached grep -q 'unmap_page_range=kprobe dax_layout_busy_page_range=kprobe' $T/kp.txt
tpid=$(daxload_get $T/trunc.out truncate pid)
fpid=$(daxload_get $T/f.out fault pid)
check_eq kprobe_blwait_counted 1 "$(top_sum $T/kp.txt BLWAIT PID=$tpid)"
check_ge kprobe_unmap_counted 1 "$(top_sum $T/kp.txt UNMAP PID=$fpid)"
check_eq kprobe_pte_counted 64 "$(top_sum $T/kp.txt PTE PID=$fpid)"

check_true tp_only_says_unavailable grep -q 'unmap_page_range: unavailable' $T/tp.err
na=$(top_table $T/tp.txt | awk -v p="$fpid" '$1 == p' | grep -c ' n/a ')
check_eq tp_only_columns_na 1 "$na"
check_eq tp_only_same_faults 64 "$(top_sum $T/tp.txt PTE PID=$fpid)"

# Without tracefs the BTF tracepoints stand in: same counts for one process
# (nothing can nest), and the kernel's skipped runs are part of "lost".
check_true btf_tracepoints_used grep -q 'dax_pte_fault_done=tp_btf' $T/btf.txt
check_eq btf_same_faults 64 "$(top_sum $T/btf.txt PTE PID=$fpid)"
# A kernel that does not count skipped runs says so (features) and daxtop
# shows skipped=n/a, never a 0 it cannot know: BTF tracepoints run through
# a trampoline, classic ones and kprobes through trace_call_bpf.
if kernel_limit "skipped runs not counted:"; then
	info "kernel limit: $LIMIT"
	check_true btf_header_skipped_unknown grep -q 'lost=0 (skipped=n/a)' $T/btf.txt
else
	check_true btf_header_shows_skipped grep -q 'lost=0 (skipped=0)' $T/btf.txt
fi
LIMIT=
if kernel_limit "skipped runs not counted"; then
	check_true kprobe_header_skipped_unknown grep -q '(skipped=n/a)' $T/kp.txt
	check_true classic_header_skipped_unknown grep -q '(skipped=n/a)' $T/cl.txt
else
	check_true kprobe_header_skipped_counted grep -q '(skipped=[0-9][0-9]*)' $T/kp.txt
	check_true classic_header_skipped_counted grep -q '(skipped=[0-9][0-9]*)' $T/cl.txt
fi
LIMIT=

# Classic or BTF by the kernel's behaviour, not its version: the check must
# give an answer on these kernels (KALLSYMS_ALL), and the default instance
# (kp) must follow it.
daxtrace features -o json >$T/feat.json 2>/dev/null
why=$(jq -r '.tp_why' $T/feat.json)
exact=$(jq -r '.tp_btf_exact' $T/feat.json)
info "tracepoint choice: exact=$exact ($why)"
case $why in
*unknown*) fail tp_check_answered "$why" ;;
*) pass tp_check_answered "$why" ;;
esac
want=tracepoint; [ "$exact" = true ] && want=tp_btf
check_true default_follows_check grep -q "dax_pte_fault_done=$want" $T/kp.txt
check_true classic_forced grep -q 'dax_pte_fault_done=tracepoint' $T/cl.txt
check_eq classic_same_faults 64 "$(top_sum $T/cl.txt PTE PID=$fpid)"
check_true classic_header_shows_lost grep -q 'lost=0' $T/cl.txt
# Where BPF programs run preemptible (the check says so), an fentry run
# nested on a CPU is skipped: the unmap and busy-page hooks, where a skipped
# run loses a count, take kprobes there; fentry elsewhere.
fn=fentry
case $why in *enabled*) fn=kprobe ;; esac
check_true default_function_hooks_$fn grep -q "unmap_page_range=$fn dax_layout_busy_page_range=$fn" $T/def.txt
check_ge default_unmap_counted 1 "$(top_sum $T/def.txt UNMAP PID=$fpid)"
check_eq default_blwait_counted 1 "$(top_sum $T/def.txt BLWAIT PID=$tpid)"
check_true default_total_none_lost sh -c "grep '^TOTAL' $T/def.txt | grep -q ' lost=0 '"
# The per-CPU row cache only where no fault program can be preempted:
# classic tracepoints always, BTF ones where the check says exact.
check_true classic_row_cache grep -q 'faults gathered per CPU' $T/cl.txt
gather="in the row map"; [ "$exact" = true ] && gather="per CPU"
check_true btf_row_cache_follows_check grep -q "faults gathered $gather" $T/btf.txt
exit 0
