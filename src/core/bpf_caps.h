/* BPF features that arrived after 5.10 and change which programs load:
 * each found by loading a tiny program, never from the kernel version. */
#ifndef DAXTRACE_BPF_CAPS_H
#define DAXTRACE_BPF_CAPS_H

#include <stdbool.h>

struct bpf_caps {
	bool probed;
	bool loop;		/* bpf_loop helper (and callback subprograms), 5.17 */
	bool func_arg;		/* bpf_get_func_arg/ret for fentry/fexit, 5.17 */
	bool iter_task_vma;	/* iter/task_vma, 5.12 */
	int probe_errno;	/* helpers could not be probed (no rights: EPERM):
				 * loop and func_arg are guesses, say "unknown" */
};

/* Probed once per process (a few tiny loads, about a millisecond). */
const struct bpf_caps *bpf_caps_get(void);

/* What this kernel's missing BPF features cost: up to max lines (static
 * strings) into out, each saying what daxtrace does instead; the count. */
int bpf_caps_limits(const struct bpf_caps *c, const char **out, int max);

#endif
