/* Attach and detach the chosen programs of a loaded object, and the runs
 * the kernel skipped on them. */
#include <string.h>
#include <bpf/bpf.h>
#include "probe.h"

static bool is_retprobe(struct bpf_program *p)
{
	return !strncmp(bpf_program__section_name(p), "kretprobe", 9);
}

int probe_attach(struct hook *hooks, int n)
{
	int attached = 0;

	probe_release_btf();	/* loaded: nothing needs the kernel's BTF any more */
	for (int i = 0; i < n; i++) {
		struct hook *h = &hooks[i];
		struct bpf_program *progs[HOOK_MAX_PROGS] = {};
		int err = 0;

		if (h->method == PM_TRACEPOINT)
			progs[0] = h->tracepoint;
		else if (h->method == PM_TP_BTF)
			progs[0] = h->tp;
		else if (h->method == PM_FENTRY)
			progs[0] = h->fentry;
		else if (h->method == PM_KPROBE)
			memcpy(progs, h->kprobe, sizeof(progs));
		for (int k = 0; k < HOOK_MAX_PROGS && progs[k]; k++) {
			if (h->method == PM_KPROBE)
				h->links[k] = bpf_program__attach_kprobe(progs[k], is_retprobe(progs[k]),
									 h->symbol);
			else
				h->links[k] = bpf_program__attach(progs[k]);
			err = libbpf_get_error(h->links[k]);
			if (err) {
				h->links[k] = NULL;
				break;
			}
		}
		if (h->method == PM_NONE)
			continue;
		if (err) {
			for (int k = 0; k < HOOK_MAX_PROGS; k++) {
				bpf_link__destroy(h->links[k]);
				h->links[k] = NULL;
			}
			snprintf(h->why, sizeof(h->why), "%s attach failed: %s",
				 probe_method_name(h->method), strerror(-err));
			h->method = PM_NONE;
			continue;
		}
		attached++;
	}
	return attached;
}

void probe_detach(struct hook *hooks, int n)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < HOOK_MAX_PROGS; k++) {
			bpf_link__destroy(hooks[i].links[k]);
			hooks[i].links[k] = NULL;
		}
}

static unsigned long long prog_misses(struct bpf_program *p)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = p ? bpf_program__fd(p) : -1;

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.recursion_misses;
}

unsigned long long probe_missed_runs(const struct hook *hooks, int n)
{
	unsigned long long t = 0;

	for (int i = 0; i < n; i++) {
		const struct hook *h = &hooks[i];

		if (h->method == PM_TRACEPOINT)
			t += prog_misses(h->tracepoint);
		else if (h->method == PM_TP_BTF)
			t += prog_misses(h->tp);
		else if (h->method == PM_FENTRY)
			t += prog_misses(h->fentry);
		else if (h->method == PM_KPROBE)
			for (int k = 0; k < HOOK_MAX_PROGS; k++)
				t += prog_misses(h->kprobe[k]);
	}
	return t;
}

bool probe_missed_runs_counted(const struct hook *hooks, int n)
{
	const struct probe_misses *m = probe_misses_counted();

	for (int i = 0; i < n; i++) {
		enum probe_method k = hooks[i].method;

		if ((k == PM_TP_BTF || k == PM_FENTRY) && !m->trampoline)
			return false;
		if ((k == PM_TRACEPOINT || k == PM_KPROBE) && !m->classic)
			return false;
	}
	return true;
}
