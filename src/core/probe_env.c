/* What this kernel and process allow, probed once per run: root, BTF,
 * kprobes, fentry, lockdown, tracefs, data symbols in kallsyms, and
 * (when a tool asks) whether BTF tracepoints run with preemption off. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "probe.h"
#include "tpcheck.h"
#include "util.h"

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
	(void)probe_misses_counted();	/* while the kernel's BTF is loaded */
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
