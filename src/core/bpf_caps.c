/* Feature probes for BPF helpers and iterators (see bpf_caps.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "bpf_caps.h"
#include "probe.h"

/* Helper ids (uapi enum bpf_func_id): stable across kernels. */
#define HELPER_LOOP 181
#define HELPER_GET_FUNC_ARG 183

/* Whether the kernel knows helper id at all. A kprobe program calling it is
 * loaded: a kernel that never heard of the id says "invalid func"; one that
 * knows it but refuses it for kprobes says "unknown func <name>", and one
 * that allows it complains about the arguments or loads. */
static bool helper_known(int id, int *probe_errno)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_4, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = id },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
		    .log_level = 1);
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "daxtrace_helper", "GPL", insns,
			       sizeof(insns) / sizeof(*insns), &opts);

	if (fd >= 0) {
		close(fd);
		return true;
	}
	if (!log[0] && (errno == EPERM || errno == EACCES))
		*probe_errno = errno;	/* refused before the verifier ran */
	return !strstr(log, "invalid func");
}

/* An iterator target exists when the kernel's BTF has its bpf_iter_<name>
 * function: what libbpf looks up to load an iter/<name> program. */
static bool iter_target_exists(const char *fn)
{
	struct btf *btf = probe_vmlinux_btf();

	return btf && btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC) > 0;
}

const struct bpf_caps *bpf_caps_get(void)
{
	static struct bpf_caps c;

	if (c.probed)
		return &c;
	c.probed = true;
	c.loop = helper_known(HELPER_LOOP, &c.probe_errno);
	c.func_arg = helper_known(HELPER_GET_FUNC_ARG, &c.probe_errno);
	c.iter_task_vma = iter_target_exists("bpf_iter_task_vma");
	return &c;
}

int bpf_caps_limits(const struct bpf_caps *c, const char **out, int max)
{
	int n = 0;

	if (!c->loop && n < max)
		out[n++] = "no bpf_loop: daxleak counts GUP batches with bounded loops (kprobes); "
			   "daxleak --now searches with bounded loops too: each pipe up to 4096 "
			   "(buffer, waited page) pairs, the buffers past that counted and said";
	if (!c->func_arg && n < max)
		out[n++] = "no bpf_get_func_arg/ret: daxleak hooks functions with kprobes, "
			   "not fentry/fexit; GUP kernel stacks are taken at entry, and a "
			   "kretprobe attached later on the same function (a second daxleak) "
			   "cuts them at kretprobe_trampoline";
	if (!c->iter_task_vma && n < max)
		out[n++] = "no task_vma iterator: daxleak --now lists no mappings of a waited "
			   "page's file (before 6.15 a mapping holds no reference, so no holder "
			   "is missed)";
	return n;
}
