/* daxleak program variants chosen by feature probes (daxleak_compat.h). */
#include <stdio.h>
#include <bpf/libbpf.h>
#include "bpf_caps.h"
#include "daxleak_compat.h"
#include "daxleak.skel.h"

void leak_compat_fill(struct hook *h, struct daxleak_bpf *s)
{
	h[H_PUT_DEVMAP] = (struct hook){ .func = "put_devmap_managed_page",
		.kprobe = { s->progs.put_devmap_kprobe },
		.lost = "exact releases on 5.10-era kernels (the scan still sees them, at interval "
			"granularity), release-underflow anomalies" };
	h[H_PUT_COMPOUND] = (struct hook){ .func = "put_compound_head",
		.kprobe = { s->progs.put_compound_kprobe },
		.lost = "exact unpins on 5.10-era kernels (a pin's 1024 references; the put "
			"hook alone sees 1, the scan sees the rest at interval granularity)" };
}

/* A hook's bpf_loop program and its bounded-loop twin. */
struct twin {
	int hook, slot;
	struct bpf_program *loop, *noloop;
};

#define GUP_TWINS(fn)								\
	{ { s->progs.fn##_kprobe, s->progs.fn##_kprobe_noloop },			\
	  { s->progs.fn##_kretprobe, s->progs.fn##_kretprobe_noloop } }

static int twins(struct daxleak_bpf *s, struct twin *t)
{
	/* in the order of DL_GUP_*: entry (slot 0) and exit (slot 1) */
	struct bpf_program *gup[DL_GUP_NR][2][2] = {
		GUP_TWINS(get_user_pages_fast), GUP_TWINS(pin_user_pages_fast),
		GUP_TWINS(get_user_pages_fast_only), GUP_TWINS(pin_user_pages_fast_only),
		GUP_TWINS(get_user_pages), GUP_TWINS(pin_user_pages),
		GUP_TWINS(get_user_pages_remote), GUP_TWINS(pin_user_pages_remote),
		GUP_TWINS(get_user_pages_unlocked), GUP_TWINS(pin_user_pages_unlocked),
	};
	int n = 0;

	for (int i = 0; i < DL_GUP_NR; i++)
		for (int k = 0; k < 2; k++)
			t[n++] = (struct twin){ H_GUP_EXIT0 + i, k, gup[i][k][0], gup[i][k][1] };
	return n;
}

/* Where the no-loop twin of t goes in its hook. The GUP pair goes in the
 * other way round: the kernel runs the probes on one address newest first,
 * and the entry program (it takes the stack) must run before the kretprobe
 * swaps the return address for its trampoline, where the unwinder of these
 * kernels stops. probe_attach attaches slot 0 first. */
static int twin_slot(const struct twin *t)
{
	return t->hook == H_DISASSOC ? t->slot : 1 - t->slot;
}

static int twins_disassoc(struct daxleak_bpf *s, struct twin *t, int n)
{
	t[n++] = (struct twin){ H_DISASSOC, 0, s->progs.disassoc_kprobe,
				s->progs.disassoc_kprobe_noloop };
	return n;
}

void leak_compat_select(struct hook *h, struct daxleak_bpf *s)
{
	const struct bpf_caps *caps = bpf_caps_get();
	struct twin t[2 * DL_GUP_NR + 1];
	int n = twins_disassoc(s, t, twins(s, t));

	/* The unused twin never loads: a kernel without bpf_loop rejects the
	 * whole object over one program with a callback. */
	for (int i = 0; i < n; i++) {
		bpf_program__set_autoload(caps->loop ? t[i].noloop : t[i].loop, false);
		if (!caps->loop)
			h[t[i].hook].kprobe[twin_slot(&t[i])] = t[i].noloop;
	}
	if (caps->func_arg)
		return;
	/* every daxleak fentry/fexit program reads its arguments with
	 * bpf_get_func_arg/ret: kprobes only here */
	for (int i = 0; i < DL_NHOOKS; i++)
		if (h[i].fentry && !h[i].is_tracepoint) {
			bpf_program__set_autoload(h[i].fentry, false);
			h[i].fentry = NULL;
		}
}

void leak_compat_notes(struct hook *h)
{
	if (bpf_caps_get()->func_arg)
		return;
	for (int i = 0; i < DL_NHOOKS; i++)
		if (h[i].method == PM_KPROBE && !h[i].why[0])
			snprintf(h[i].why, sizeof(h[i].why),
				 "kprobe: no bpf_get_func_arg/ret for fentry in this kernel");
}
