/* Hook selection, before load: for each hook the best method this kernel
 * allows (tracepoint; fentry/fexit, else kprobe/kretprobe, else
 * unavailable with the reason), and autoload set to match. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "ksyms.h"
#include "probe.h"
#include "util.h"

static bool btf_has(struct btf *btf, const char *name, int kind)
{
	return btf && btf__find_by_name_kind(btf, name, kind) > 0;
}

static void set_autoload(struct hook *h)
{
	if (h->tracepoint)
		bpf_program__set_autoload(h->tracepoint, h->method == PM_TRACEPOINT);
	if (h->tp)
		bpf_program__set_autoload(h->tp, h->method == PM_TP_BTF);
	if (h->fentry)
		bpf_program__set_autoload(h->fentry, h->method == PM_FENTRY);
	for (int i = 0; i < HOOK_MAX_PROGS; i++)
		if (h->kprobe[i])
			bpf_program__set_autoload(h->kprobe[i], h->method == PM_KPROBE);
}

/* fentry needs the exact function in BTF (clones have none), in vmlinux or
 * its module, with at most 6 arguments (x86 trampolines before 6.5). */
static bool fentry_target_ok(const struct hook *h, char *why, size_t len)
{
	struct btf *vm = probe_vmlinux_btf(), *mod = NULL;
	int n;

	if (strcmp(h->symbol, h->target)) {
		snprintf(why, len, "no BTF for clone %s", h->symbol);
		return false;
	}
	if (h->module) {
		mod = btf__load_module_btf(h->module, vm);
		if (libbpf_get_error(mod))
			mod = NULL;
	}
	n = probe_btf_func_params(h->module ? mod : vm, h->target);
	btf__free(mod);
	if (n < 0)
		snprintf(why, len, "no BTF for %s", h->target);
	else if (n > 6)
		snprintf(why, len, "%d arguments: too many for fentry on older kernels", n);
	return n >= 0 && n <= 6;
}

/* An `exact` hook where BPF programs run preemptible: kprobes, not fentry
 * (the kernel skips an fentry run that would nest on a CPU). */
static bool prefers_kprobe(const struct hook *h, const struct probe_env *env)
{
	return h->exact && env->bpf_preemptible && h->kprobe[0] && env->kprobes &&
	       !env->forbid_kprobe;
}

/* Whether fentry would take h on a function BTF names (func, else alt):
 * then nothing needs kallsyms, as the kernel attaches fentry by BTF id. A
 * clone-only function shows at load, and the tool then retries without
 * fentry (with kallsyms). Leaves h->target and h->symbol at that name. */
static bool fentry_by_btf(struct hook *h, const struct probe_env *env)
{
	char why[160];

	h->fentry_btf = NULL;
	if (h->is_tracepoint || !h->fentry || !env->fentry || env->forbid_fentry)
		return false;
	if (prefers_kprobe(h, env))
		return false;	/* choose_function takes kprobes: they need kallsyms */
	for (int k = 0; k < 2; k++) {
		const char *name = k ? h->alt : h->func;

		if (!name)
			continue;
		h->target = name;
		snprintf(h->symbol, sizeof(h->symbol), "%s", name);
		if (fentry_target_ok(h, why, sizeof(why))) {
			h->fentry_btf = name;
			return true;
		}
		if (strncmp(why, "no BTF", 6))
			return false;	/* in BTF, but not for fentry: kprobes then */
	}
	return false;
}

/* fentry_target_ok, unless fentry_by_btf found this very name fit already. */
static bool fentry_fit(const struct hook *h, char *why, size_t len)
{
	if (h->fentry_btf == h->target && !strcmp(h->symbol, h->target))
		return true;
	return fentry_target_ok(h, why, len);
}

static void choose_function(struct hook *h, const struct probe_env *env)
{
	char fentry_why[160] = "", kprobe_why[64] = "";

	if (!h->symbol[0]) {
		snprintf(h->why, sizeof(h->why), "not in kallsyms%s%s: inlined or absent in this "
			 "kernel%s%s%s", h->alt ? ", nor " : "", h->alt ? h->alt : "",
			 h->module ? " (or module " : "", h->module ? h->module : "",
			 h->module ? " not loaded)" : "");
		return;
	}
	if (!h->fentry)
		snprintf(fentry_why, sizeof(fentry_why), "no fentry program");
	else if (prefers_kprobe(h, env))
		snprintf(fentry_why, sizeof(fentry_why), "fentry runs preemptible here and "
			 "would skip nested runs");
	else if (env->forbid_fentry)
		snprintf(fentry_why, sizeof(fentry_why), "fentry disabled");
	else if (!env->fentry)
		snprintf(fentry_why, sizeof(fentry_why), "fentry refused by kernel (%s)",
			 strerror(env->fentry_err));
	else if (!fentry_fit(h, fentry_why, sizeof(fentry_why)))
		;
	else {
		h->method = PM_FENTRY;
		/* The program's section names func; point it at what exists. */
		if (h->target != h->func)
			bpf_program__set_attach_target(h->fentry, 0, h->target);
		return;
	}
	if (!h->kprobe[0])
		snprintf(kprobe_why, sizeof(kprobe_why), "no kprobe program");
	else if (env->forbid_kprobe)
		snprintf(kprobe_why, sizeof(kprobe_why), "kprobes disabled");
	else if (!env->kprobes)
		snprintf(kprobe_why, sizeof(kprobe_why), "kernel has no kprobes");
	else {
		h->method = PM_KPROBE;
		if (strcmp(h->symbol, h->target))
			snprintf(h->why, sizeof(h->why), "compiler clone %s", h->symbol);
		else if (h->exact && h->fentry && env->bpf_preemptible)
			snprintf(h->why, sizeof(h->why), "%s", fentry_why);
		return;
	}
	snprintf(h->why, sizeof(h->why), "%s; %s", fentry_why, kprobe_why);
}

static void choose_tracepoint(struct hook *h, const struct probe_env *env, struct btf *btf)
{
	char path[256], tp[160];

	snprintf(h->symbol, sizeof(h->symbol), "%s", h->func);
	snprintf(path, sizeof(path), "%s/%s/%s/id", env->tracefs,
		 h->tp_category ? h->tp_category : "", h->func);
	snprintf(tp, sizeof(tp), "btf_trace_%s", h->func);
	bool classic = h->tracepoint && env->tracefs[0] && path_exists(path);
	bool btf_tp = h->tp && btf_has(btf, tp, BTF_KIND_TYPEDEF);

	if (classic && !(btf_tp && env->tp_btf_exact)) {
		h->method = PM_TRACEPOINT;
		return;
	}
	if (btf_tp) {
		h->method = PM_TP_BTF;
		if (classic)
			snprintf(h->why, sizeof(h->why), "%s", env->tp_why);
		else if (h->tracepoint)
			snprintf(h->why, sizeof(h->why), "no tracefs: BTF tracepoint instead");
		return;
	}
	snprintf(h->why, sizeof(h->why), "tracepoint not in this kernel");
}

int probe_select(struct hook *hooks, int n, const struct probe_env *env)
{
	/* Each hook's name, then its alternative, in one kallsyms pass. */
	const char **names = calloc(2 * n, sizeof(*names));
	char (*found)[128] = calloc(2 * n, sizeof(*found));
	struct btf *btf = probe_vmlinux_btf();
	int usable = 0, unsettled = 0;	/* function hooks BTF does not settle */

	if (!names || !found) {
		free(names);
		free(found);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		names[i] = hooks[i].func;
		names[n + i] = hooks[i].alt ? hooks[i].alt : hooks[i].func;
	}
	/* kallsyms (a read of ~30 ms) only for function hooks that BTF does
	 * not settle; without fentry or kprobes none can attach: each hook
	 * then says why. */
	for (int i = 0; i < n; i++)
		unsettled += !hooks[i].is_tracepoint && !fentry_by_btf(&hooks[i], env);
	if (unsettled && ((env->fentry && !env->forbid_fentry) || (env->kprobes && !env->forbid_kprobe)))
		ksym_resolve_names(NULL, names, 2 * n, found);
	else
		for (int i = 0; i < n; i++) {
			const struct hook *h = &hooks[i];
			bool alt = !h->is_tracepoint && h->alt && h->target == h->alt;

			snprintf(found[alt ? n + i : i], sizeof(found[i]), "%s", alt ? h->alt : h->func);
		}
	for (int i = 0; i < n; i++) {
		struct hook *h = &hooks[i];

		h->method = PM_NONE;
		h->why[0] = 0;
		h->target = h->func;
		if (!found[i][0] && h->alt && found[n + i][0]) {
			h->target = h->alt;
			snprintf(h->symbol, sizeof(h->symbol), "%s", found[n + i]);
		} else {
			snprintf(h->symbol, sizeof(h->symbol), "%s", found[i]);
		}
		if (h->is_tracepoint) {
			choose_tracepoint(h, env, btf);
		} else {
			choose_function(h, env);
		}
		set_autoload(h);
		usable += h->method != PM_NONE;
	}
	free(names);
	free(found);
	return usable;
}
