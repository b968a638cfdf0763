#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "ksyms.h"
#include "probe.h"
#include "tpcheck.h"
#include "util.h"

/* The kernel's BTF (5+ MiB, ~8 ms to parse) is parsed once per process and
 * shared: env and era detection, hook selection and every libbpf object
 * load (CO-RE relocations, attach targets, typed ksyms) use one copy.
 * libbpf has no option to take a parsed BTF, so the link wraps its
 * btf__load_vmlinux_btf and btf__free (-Wl,--wrap, see Makefile): libbpf's
 * own calls get the shared copy and its free after each load does nothing;
 * probe_release_btf frees it once the loads are done. Against a shared
 * libbpf (whose internal calls the wrap does not reach) libbpf parses its
 * own copy, as it would without this. */
struct btf *__real_btf__load_vmlinux_btf(void);
void __real_btf__free(struct btf *btf);
static struct btf *vmlinux_btf;
/* Why the kernel's BTF, present, could not be parsed ("" if it could). */
static char btf_problem[128];

/* From 6.15 /sys/kernel/btf/vmlinux can be mapped: parsing it from the
 * mapping skips reading it 4 KiB at a time into a buffer that libbpf then
 * copies (~2.5 of ~6 ms here). Elsewhere libbpf reads it as before. */
static struct btf *load_vmlinux_btf(void)
{
	int fd = open(VMLINUX_BTF, O_RDONLY | O_CLOEXEC);
	struct btf *b = NULL;
	struct stat st;
	int err = fd < 0 ? errno : 0;
	void *p;

	if (fd >= 0 && !fstat(fd, &st) && st.st_size > 0) {
		p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			b = btf__new(p, st.st_size);	/* a copy */
			munmap(p, st.st_size);
			err = libbpf_get_error(b) ? -libbpf_get_error(b) : 0;
			if (err)
				b = NULL;
		}
	}
	if (fd >= 0)
		close(fd);
	if (b)
		return b;
	b = __real_btf__load_vmlinux_btf();
	/* libbpf says ESRCH ("No such process") for a BTF it cannot parse: keep
	 * the parse's own error, or say what ESRCH means here. */
	if (libbpf_get_error(b) && err != ENOENT)
		snprintf(btf_problem, sizeof(btf_problem), "%s%s%s",
			 fd >= 0 ? "not valid BTF" : strerror(err), fd >= 0 && err ? ": " : "",
			 fd >= 0 && err ? strerror(err) : "");
	return b;
}

int probe_btf_check(void)
{
	if (probe_vmlinux_btf())
		return 0;
	warn_msg("the kernel's BTF (%s) is unreadable (%s): corrupt, or newer than this "
		 "libbpf knows; no BPF program can load without it", VMLINUX_BTF,
		 btf_problem[0] ? btf_problem : "libbpf could not parse it");
	return -1;
}

const char *probe_btf_problem(void)
{
	return btf_problem[0] ? btf_problem : NULL;
}

struct btf *__wrap_btf__load_vmlinux_btf(void)
{
	if (!vmlinux_btf) {
		struct btf *b = load_vmlinux_btf();

		if (libbpf_get_error(b))
			return b;	/* not kept: the next caller tries again */
		vmlinux_btf = b;
	}
	return vmlinux_btf;
}

void __wrap_btf__free(struct btf *btf)
{
	if (btf && btf != vmlinux_btf)
		__real_btf__free(btf);
}

struct btf *probe_vmlinux_btf(void)
{
	struct btf *b = btf__load_vmlinux_btf();

	return libbpf_get_error(b) ? NULL : b;
}

void probe_release_btf(void)
{
	__real_btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
}

static bool btf_has(struct btf *btf, const char *name, int kind)
{
	return btf && btf__find_by_name_kind(btf, name, kind) > 0;
}

/* Load `r1 = &runqueues; r0 = 0; exit`: the kernel resolves a per-CPU
 * variable named by BTF id through kallsyms, which lists data and per-CPU
 * symbols only with CONFIG_KALLSYMS_ALL. Answered once. */
int probe_kallsyms_data(void)
{
	static int answer = -2;
	struct btf *btf;
	int id, fd;

	if (answer != -2)
		return answer;
	answer = -1;
	btf = probe_vmlinux_btf();
	startup_mark("kernel BTF");
	id = btf ? btf__find_by_name_kind(btf, "runqueues", BTF_KIND_VAR) : -1;
	if (id > 0) {
		struct bpf_insn insns[] = {
			{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1,
			  .src_reg = BPF_PSEUDO_BTF_ID, .imm = id },
			{ 0 },
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
			{ .code = BPF_JMP | BPF_EXIT },
		};

		fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "daxtrace_ksym", "GPL", insns, 4,
				   NULL);
		if (fd >= 0)
			close(fd);
		answer = fd >= 0 ? 1 : errno == ENOENT ? 0 : -1;
	}
	return answer;
}

/* Load `r0 = 0; exit` as fentry on a vmlinux function: the cheapest proof
 * that this kernel and this process may use fentry at all. */
static int try_fentry(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	struct btf *btf = probe_vmlinux_btf();
	int id, fd;

	if (!btf)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, "vfs_read", BTF_KIND_FUNC);
	if (id <= 0)
		return -ENOENT;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "daxtrace_probe", "GPL", insns, 2, &opts);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void read_lockdown(char *out, size_t len)
{
	char line[128], *a, *b;

	snprintf(out, len, "?");
	if (read_line("/sys/kernel/security/lockdown", line, sizeof(line)))
		return;
	a = strchr(line, '[');
	b = a ? strchr(a, ']') : NULL;
	if (a && b) {
		*b = 0;
		snprintf(out, len, "%s", a + 1);
	}
}

/* Classic tracepoints need tracefs; mount it where it is missing, as perf does. */
static void find_tracefs(char *out, size_t len)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char ev[96];

	out[0] = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
			snprintf(ev, sizeof(ev), "%s/events", dirs[i]);
			if (path_exists(ev)) {
				snprintf(out, len, "%s", ev);
				return;
			}
		}
		if (attempt || !is_root() || mount("nodev", dirs[0], "tracefs", 0, NULL))
			return;
	}
}

/* Classic or BTF tracepoints, when both exist: BTF ones cost less per event
 * (no perf record is built) and are exact where the kernel runs them with
 * preemption off. Checked before our BTF parse so the check's own copy
 * (libbpf's) is freed first and peak memory does not grow. */
static void choose_tp_kind(struct probe_env *env)
{
	const char *force = getenv("DAXTRACE_TP");

	env->tp_btf_exact = 0;
	env->tp_why = "classic tracepoints: exact";
	if (!probe_vmlinux_btf() && probe_btf_problem()) {
		env->tp_why = "classic tracepoints (the kernel's BTF is unreadable)";
	} else if (force && !strcmp(force, "classic")) {
		env->tp_why = "classic tracepoints (DAXTRACE_TP=classic)";
	} else if (force && !strcmp(force, "btf")) {
		env->tp_btf_exact = 1;
		env->tp_why = "BTF tracepoints (DAXTRACE_TP=btf)";
	} else {
		int atomic = probe_tp_btf_atomic(probe_kallsyms_data(), &env->tp_why);

		env->tp_btf_exact = atomic == 1;
		env->bpf_preemptible = atomic == 0;
	}
}

void probe_env_detect(struct probe_env *env)
{
	bool ff = env->forbid_fentry, fk = env->forbid_kprobe, tc = env->tp_choice;
	int err;

	memset(env, 0, sizeof(*env));
	env->forbid_fentry = ff;
	env->forbid_kprobe = fk;
	env->tp_choice = tc;
	env->root = is_root();
	env->btf = path_exists(VMLINUX_BTF);
	env->kprobes = path_exists("/sys/bus/event_source/devices/kprobe/type");
	read_lockdown(env->lockdown, sizeof(env->lockdown));
	/* DAXTRACE_NO_TRACEFS=1 forces the BTF-tracepoint fallback (tests). */
	if (!getenv("DAXTRACE_NO_TRACEFS"))
		find_tracefs(env->tracefs, sizeof(env->tracefs));
	/* Without tracefs there is no choice, but daxtop's row cache still
	 * needs to know whether BTF tracepoints run with preemption off. */
	if (env->tp_choice)
		choose_tp_kind(env);
	err = try_fentry();
	env->fentry = err == 0;
	env->fentry_err = -err;
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

/* Parameter count of a BTF function, -1 if absent. */
static int btf_func_params(struct btf *btf, const char *name)
{
	const struct btf_type *t;
	int id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) : -1;

	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return t && btf_is_func_proto(t) ? btf_vlen(t) : -1;
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
	n = btf_func_params(h->module ? mod : vm, h->target);
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

const char *probe_method_name(enum probe_method m)
{
	switch (m) {
	case PM_TRACEPOINT: return "tracepoint";
	case PM_TP_BTF: return "tp_btf";
	case PM_FENTRY: return "fentry";
	case PM_KPROBE: return "kprobe";
	default: return "unavailable";
	}
}

int probe_count(const struct hook *hooks, int n, enum probe_method m)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		c += hooks[i].method == m;
	return c;
}

/* "func", or "func:role" where one function has several hooks. */
static const char *hook_label(const struct hook *h, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", h->func, h->role ? ":" : "", h->role ? h->role : "");
	return buf;
}

void probe_warn_unavailable(const struct hook *hooks, int n)
{
	char name[160];

	for (int i = 0; i < n; i++)
		if (hooks[i].method == PM_NONE)
			warn_msg("%s: unavailable (%s); lost: %s",
				 hook_label(&hooks[i], name, sizeof(name)), hooks[i].why,
				 hooks[i].lost ? hooks[i].lost : "nothing shown");
}

void probe_print_table(FILE *out, const char *tool, const struct hook *hooks, int n)
{
	fprintf(out, "%s hooks:\n", tool);
	for (int i = 0; i < n; i++) {
		const struct hook *h = &hooks[i];
		char name[160];

		fprintf(out, "  %-34s %-11s %s%s%s\n", hook_label(h, name, sizeof(name)),
			probe_method_name(h->method),
			h->method == PM_NONE ? "" : h->symbol,
			h->why[0] ? (h->method == PM_NONE ? "" : " ") : "",
			h->why[0] ? h->why : "");
		if (h->method == PM_NONE && h->lost)
			fprintf(out, "  %-34s %-11s lost: %s\n", "", "", h->lost);
	}
}

void probe_json(struct json *j, const struct hook *hooks, int n)
{
	json_arr_begin(j);
	for (int i = 0; i < n; i++) {
		const struct hook *h = &hooks[i];

		json_obj_begin(j);
		json_kv_str(j, "hook", h->func);
		if (h->role)
			json_kv_str(j, "role", h->role);
		json_kv_str(j, "method", probe_method_name(h->method));
		json_kv_str(j, "symbol", h->symbol);
		json_kv_str(j, "note", h->why);
		if (h->method == PM_NONE)
			json_kv_str(j, "lost", h->lost ? h->lost : "");
		json_obj_end(j);
	}
	json_arr_end(j);
}

void probe_summary(char *buf, size_t len, const struct hook *hooks, int n)
{
	snprintf(buf, len, "tp %d, tp_btf %d, fentry %d, kprobe %d, n/a %d",
		 probe_count(hooks, n, PM_TRACEPOINT), probe_count(hooks, n, PM_TP_BTF),
		 probe_count(hooks, n, PM_FENTRY),
		 probe_count(hooks, n, PM_KPROBE), probe_count(hooks, n, PM_NONE));
}
