/* daxleak's hook table and the rules on top of probe_select's per-hook
 * choice: the GUP exits, the era's put/free hooks, which of them pair up
 * on this kernel, and what the attached hooks let this run see. */
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "daxleak_int.h"
#include "daxleak_compat.h"
#include "daxleak.skel.h"

static const char *const gup_funcs[DL_GUP_NR] = {
	"get_user_pages_fast", "pin_user_pages_fast", "get_user_pages_fast_only",
	"pin_user_pages_fast_only", "get_user_pages", "pin_user_pages",
	"get_user_pages_remote", "pin_user_pages_remote", "get_user_pages_unlocked",
	"pin_user_pages_unlocked",
};

static const char *const gup_lost[DL_GUP_NR] = {
	"references taken by vmsplice/iov_iter_get_pages and other get_user_pages_fast users",
	"pins taken by O_DIRECT (iov_iter_extract_pages) and drivers via pin_user_pages_fast",
	"references taken by get_user_pages_fast_only users",
	"pins taken by pin_user_pages_fast_only users",
	"references taken by get_user_pages (drivers, ptrace-like users)",
	"pins taken by pin_user_pages",
	"references taken in another process's mm (get_user_pages_remote)",
	"pins taken in another process's mm (pin_user_pages_remote)",
	"references taken by get_user_pages_unlocked (6.1 fast-GUP slow path)",
	"pins taken by pin_user_pages_unlocked",
};

static void fill_hooks(struct hook *h, struct daxleak_bpf *s)
{
	struct bpf_program *fexit[DL_GUP_NR] = {
		s->progs.get_user_pages_fast_fexit, s->progs.pin_user_pages_fast_fexit,
		s->progs.get_user_pages_fast_only_fexit, s->progs.pin_user_pages_fast_only_fexit,
		s->progs.get_user_pages_fexit, s->progs.pin_user_pages_fexit,
		s->progs.get_user_pages_remote_fexit, s->progs.pin_user_pages_remote_fexit,
		s->progs.get_user_pages_unlocked_fexit, s->progs.pin_user_pages_unlocked_fexit,
	};
	struct bpf_program *kp[DL_GUP_NR] = {
		s->progs.get_user_pages_fast_kprobe, s->progs.pin_user_pages_fast_kprobe,
		s->progs.get_user_pages_fast_only_kprobe, s->progs.pin_user_pages_fast_only_kprobe,
		s->progs.get_user_pages_kprobe, s->progs.pin_user_pages_kprobe,
		s->progs.get_user_pages_remote_kprobe, s->progs.pin_user_pages_remote_kprobe,
		s->progs.get_user_pages_unlocked_kprobe, s->progs.pin_user_pages_unlocked_kprobe,
	};
	struct bpf_program *krp[DL_GUP_NR] = {
		s->progs.get_user_pages_fast_kretprobe, s->progs.pin_user_pages_fast_kretprobe,
		s->progs.get_user_pages_fast_only_kretprobe,
		s->progs.pin_user_pages_fast_only_kretprobe, s->progs.get_user_pages_kretprobe,
		s->progs.pin_user_pages_kretprobe, s->progs.get_user_pages_remote_kretprobe,
		s->progs.pin_user_pages_remote_kretprobe, s->progs.get_user_pages_unlocked_kretprobe,
		s->progs.pin_user_pages_unlocked_kretprobe,
	};

	memset(h, 0, DL_NHOOKS * sizeof(*h));
	for (int i = 0; i < DL_GUP_NR; i++) {
		h[H_GUP_EXIT0 + i] = (struct hook){ .func = gup_funcs[i], .fentry = fexit[i],
						    .kprobe = { kp[i], krp[i] }, .lost = gup_lost[i] };
	}
	h[H_PUT_PAGE] = (struct hook){ .func = "__put_devmap_managed_page_refs",
		.fentry = s->progs.put_page_refs_fentry, .kprobe = { s->progs.put_page_refs_kprobe },
		.lost = "exact releases on 6.1-era kernels (the scan still sees them, at interval "
			"granularity), release-underflow anomalies",
		.exact = true };
	h[H_PUT_FOLIO] = (struct hook){ .func = "__put_devmap_managed_folio_refs",
		.fentry = s->progs.put_folio_refs_fentry, .kprobe = { s->progs.put_folio_refs_kprobe },
		.lost = "exact releases on 6.12-era kernels (the scan still sees them, at interval "
			"granularity), release-underflow anomalies",
		.exact = true };
	h[H_FREE] = (struct hook){ .func = "free_zone_device_folio",
		.fentry = s->progs.free_folio_fentry, .kprobe = { s->progs.free_folio_kprobe },
		.lost = "exact final release on 6.15+ (the scan still sees it), freed-while-mapped "
			"anomalies",
		.exact = true };
	h[H_BUSY] = (struct hook){ .func = "dax_layout_busy_page_range",
		.fentry = s->progs.busy_fexit,
		.kprobe = { s->progs.busy_kprobe, s->progs.busy_kretprobe },
		.lost = "busy page of each break_layouts waiter and the join to its holder "
			"(waiters still found through /proc wchan, without the page)",
		.exact = true };
	h[H_DISASSOC] = (struct hook){ .func = "dax_disassociate_entry",
		.fentry = s->progs.disassoc_fentry, .kprobe = { s->progs.disassoc_kprobe },
		.lost = "disassociated-while-held anomalies (the kernel's WARN in "
			"dax_disassociate_entry on truncate/evict of a referenced page)",
		.exact = true };
	leak_compat_fill(h, s);
	h[H_TP_PTE] = (struct hook){ .func = "dax_pte_fault_done", .is_tracepoint = true,
		.tp = s->progs.tp_pte_fault_done, .lost = "DAX fault count (liveness only)" };
	h[H_TP_PMD] = (struct hook){ .func = "dax_pmd_fault_done", .is_tracepoint = true,
		.tp = s->progs.tp_pmd_fault_done, .lost = "DAX fault count (liveness only)" };
}

static void hook_off(struct hook *h, const char *why)
{
	h->method = PM_NONE;
	snprintf(h->why, sizeof(h->why), "%s", why);
	if (h->tp)
		bpf_program__set_autoload(h->tp, false);
	if (h->fentry)
		bpf_program__set_autoload(h->fentry, false);
	for (int k = 0; k < HOOK_MAX_PROGS; k++)
		if (h->kprobe[k])
			bpf_program__set_autoload(h->kprobe[k], false);
}

/* x86 BPF trampolines before 6.5 take at most 6 arguments (6.1's
 * get_user_pages_remote has 7): use the kprobe pair for those. */
static void avoid_wide_fentry(struct leak_ctx *c, const struct probe_env *env)
{
	struct btf *btf;

	/* Parsing BTF again costs ~10 ms of start-up: only when it matters. */
	if (!probe_count(c->hooks, DL_NHOOKS, PM_FENTRY))
		return;
	btf = btf__load_vmlinux_btf();
	if (libbpf_get_error(btf))
		return;
	for (int i = 0; i < DL_NHOOKS; i++) {
		struct hook *h = &c->hooks[i];
		int n;

		if (h->method != PM_FENTRY || (n = probe_btf_func_params(btf, h->func)) <= 6)
			continue;
		if (h->kprobe[0] && env->kprobes && !env->forbid_kprobe) {
			h->method = PM_KPROBE;
			bpf_program__set_autoload(h->fentry, false);
			for (int k = 0; k < HOOK_MAX_PROGS; k++)
				if (h->kprobe[k])
					bpf_program__set_autoload(h->kprobe[k], true);
			snprintf(h->why, sizeof(h->why), "%d arguments: too many for fentry here", n);
		} else {
			hook_off(h, "too many arguments for fentry and no kprobe");
		}
	}
	btf__free(btf);
}

/* One-based era: one put function per kernel (5.10 has two, the unpin one
 * on top); the others say which one this kernel uses. */
static void name_absent_puts(struct hook *h)
{
	static const int puts[] = { H_PUT_PAGE, H_PUT_FOLIO, H_PUT_DEVMAP, H_PUT_COMPOUND };
	const char *used = NULL;

	for (size_t i = 0; i < sizeof(puts) / sizeof(*puts) && !used; i++)
		if (h[puts[i]].method != PM_NONE)
			used = h[puts[i]].func;
	for (size_t i = 0; used && i < sizeof(puts) / sizeof(*puts); i++)
		if (h[puts[i]].method == PM_NONE)
			snprintf(h[puts[i]].why, sizeof(h[puts[i]].why),
				 "absent (this kernel uses %s)", used);
}

/* Era and pairing rules on top of probe_select's per-hook choice. */
static void adjust_hooks(struct leak_ctx *c)
{
	struct hook *h = c->hooks;

	/* A compiler clone may have rewritten the arguments: only the plain symbol. */
	if (h[H_DISASSOC].method != PM_NONE && strcmp(h[H_DISASSOC].symbol, h[H_DISASSOC].func))
		hook_off(&h[H_DISASSOC], "only a compiler clone here: its arguments may differ");
	if (c->era.era == ERA_ZERO_BASED) {
		hook_off(&h[H_DISASSOC], "not used: zero-based era checks through dax_folio_put "
			 "(inlined); the scan reports counts below the mapping count");
		hook_off(&h[H_PUT_PAGE], "not used: zero-based era has no out-of-line put");
		hook_off(&h[H_PUT_FOLIO], "not used: zero-based era has no out-of-line put");
		hook_off(&h[H_PUT_DEVMAP], "not used: zero-based era has no out-of-line put");
		hook_off(&h[H_PUT_COMPOUND], "not used: zero-based era has no out-of-line put");
	} else if (c->era.era == ERA_ONE_BASED) {
		hook_off(&h[H_FREE], "not used: FS DAX pages are never freed in the one-based era");
		name_absent_puts(h);
	}
}

void leak_hooks_choose(struct leak_ctx *c, const struct probe_env *env)
{
	fill_hooks(c->hooks, c->skel);
	leak_compat_select(c->hooks, c->skel);
	probe_select(c->hooks, DL_NHOOKS, env);
	leak_compat_notes(c->hooks);
	avoid_wide_fentry(c, env);
	adjust_hooks(c);
}

void leak_caps_derive(struct leak_ctx *c)
{
	struct hook *h = c->hooks;
	struct leak_caps *k = &c->caps;

	for (int i = 0; i < DL_GUP_NR; i++)
		k->acquire |= h[H_GUP_EXIT0 + i].method != PM_NONE;
	k->vmsplice = h[H_GUP_EXIT0 + DL_GUP_FAST].method != PM_NONE;
	k->release_exact = h[H_PUT_PAGE].method != PM_NONE || h[H_PUT_FOLIO].method != PM_NONE ||
			   h[H_PUT_DEVMAP].method != PM_NONE;
	k->free_hook = h[H_FREE].method != PM_NONE;
	k->busy = h[H_BUSY].method != PM_NONE;
	/* Never report a leak we could not have seen released. */
	k->release_seen = k->scan || (k->release_exact && c->era.era == ERA_ONE_BASED);
	k->leaks = k->acquire && k->release_seen;
}
