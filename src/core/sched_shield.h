/* Keep this process's BPF map syscalls from being preempted by the tasks
 * it traces (src/core/sched_shield.c). */
#ifndef DAXTRACE_SCHED_SHIELD_H
#define DAXTRACE_SCHED_SHIELD_H

/* Run this process at the lowest real-time priority (SCHED_FIFO 1, not
 * inherited across fork). 0 on success; else -1 with one line on stderr
 * saying what may be lost. */
int sched_shield_bpf_syscalls(void);

#endif
