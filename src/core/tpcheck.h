/* Whether BTF tracepoint programs run with preemption disabled here
 * (src/core/tpcheck.c), asked by the environment probe (src/core/probe_env.c). */
#ifndef DAXTRACE_TPCHECK_H
#define DAXTRACE_TPCHECK_H

/* 1 if BTF tracepoint programs run with preemption disabled on this kernel
 * (then exact and cheaper than classic ones), 0 if they may be preempted,
 * -1 if the check could not run. kallsyms_data is probe_kallsyms_data()'s
 * answer: 0 (no per-CPU symbols in kallsyms) means the check program
 * cannot load. Asked once; *why, if not NULL, gets a one-line explanation. */
int probe_tp_btf_atomic(int kallsyms_data, const char **why);

#endif
