// SPDX-License-Identifier: GPL-2.0
/* tpcheck: does this kernel run BTF tracepoint programs with preemption
 * disabled? If so they are exact (no run is ever skipped for nesting) and
 * cheaper than classic tracepoints; if not (7.x may run them preemptible),
 * a task preempted inside a program makes the kernel skip another task's
 * run on that CPU. Answered by reading the preemption count inside a run on
 * a tracepoint user space can fire at will: task_rename, hit by
 * prctl(PR_SET_NAME). Ordinary tracepoints share one calling convention, so
 * the answer holds for fs_dax's. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* x86 keeps the count in a per-CPU int, except 6.2-6.14 where it sits in
 * struct pcpu_hot. Whichever this kernel has resolves; the other is 0. */
extern const int __preempt_count __ksym __weak;
struct pcpu_hot___tpcheck {
	int preempt_count;
} __attribute__((preserve_access_index));
extern const struct pcpu_hot___tpcheck pcpu_hot __ksym __weak;

#define PREEMPT_DEPTH_MASK 0xff

/* Kernels without typed ksyms (no VAR in BTF, e.g. 5.10) resolve neither:
 * user space then fills in from kallsyms the per-CPU offset of
 * __preempt_count and the address of __per_cpu_offset[], and fires again. */
__u64 pc_percpu_off = 0;
__u64 per_cpu_offset_addr = 0;

static __always_inline int preempt_count_kallsyms(__u32 *pc)
{
	__u64 base = 0;
	__u32 cpu = bpf_get_smp_processor_id();

	if (!pc_percpu_off || !per_cpu_offset_addr || cpu >= 8192)
		return -1;
	if (bpf_probe_read_kernel(&base, sizeof(base), (void *)(per_cpu_offset_addr + cpu * 8ULL)))
		return -1;
	return bpf_probe_read_kernel(pc, sizeof(*pc), (void *)(base + pc_percpu_off)) ? -1 : 0;
}

const volatile __u32 targ_tid = 0;
int runs = 0;		/* runs seen from targ_tid */
int depth = -1;		/* preemption-disable depth inside the last run, -1 unknown */

SEC("tp_btf/task_rename")
int BPF_PROG(tpcheck, struct task_struct *task, const char *comm)
{
	__u32 pc;

	if ((__u32)bpf_get_current_pid_tgid() != targ_tid)
		return 0;
	runs++;
	if (&__preempt_count)
		pc = *(const __u32 *)bpf_this_cpu_ptr(&__preempt_count);
	else if (&pcpu_hot)
		pc = BPF_CORE_READ((const struct pcpu_hot___tpcheck *)bpf_this_cpu_ptr(&pcpu_hot),
				   preempt_count);
	else if (preempt_count_kallsyms(&pc))
		return 0;
	/* Bit 31 is x86's inverted need-resched flag: only the low byte counts. */
	depth = pc & PREEMPT_DEPTH_MASK;
	return 0;
}
