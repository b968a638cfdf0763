/* Why a tracing tool asks for a real-time priority.
 *
 * A BPF map syscall (lookup, update, delete, batch) raises the per-CPU
 * bpf_prog_active count for its duration and keeps the task on its CPU only
 * with migrate_disable(). The kernel skips every classic-tracepoint and
 * kprobe BPF program that starts on a CPU while that count is raised
 * (trace_call_bpf(), counted in each program's recursion_misses). On a
 * preemptible kernel (PREEMPT_LAZY/full, Debian's 7.x default) a task that
 * is preempted inside such a syscall leaves the count raised while other
 * tasks run on that CPU: every DAX fault they take meanwhile goes uncounted.
 * daxtop's own snapshots were such syscalls (a few thousand faults lost out
 * of 100k with 512 faulting processes on one CPU).
 *
 * At SCHED_FIFO, no SCHED_OTHER task can preempt us, so none of them can
 * run on the CPU while our syscall holds the count. The tool sleeps between
 * intervals, so the priority costs others nothing but the (short) snapshot.
 * Other BPF users' syscalls are out of our reach: what they cause is still
 * counted as skipped. Harmless on kernels whose syscalls are not preempted. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include "sched_shield.h"
#include "util.h"

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif

int sched_shield_bpf_syscalls(void)
{
	/* once per process: export starts both the top and the leak session */
	static int answer = 1;
	struct sched_param sp = { .sched_priority = 1 };

	if (answer <= 0)
		return answer;
	answer = sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) ? -1 : 0;
	if (answer)
		warn_msg("cannot run at real-time priority (SCHED_FIFO: %s): on a preemptible "
			 "kernel, events other tasks cause while this tool reads its BPF maps can "
			 "be skipped by the kernel; they are counted as skipped", strerror(errno));
	return answer;
}
