/* daxleak: drop daxtrace's own frames from the top of a kernel stack.
 *
 * A stack taken from an fexit program starts inside that program and its
 * trampoline (bpf_prog_..., bpf_trampoline_... in kallsyms module [bpf]);
 * from a kretprobe or an ftrace-based kprobe it may start in the probe and
 * rethook handlers. None of that is the kernel's path to the reference, so
 * the leading run of such frames goes: the first frame left is the
 * function that took the reference (kprobe) or its caller (fexit). */
#include <string.h>
#include "daxleak_int.h"

/* Prefixes of the tracing machinery between the probed code and our
 * program: kprobe/kretprobe/rethook/fprobe/ftrace handlers and the BPF
 * entry and exit glue. */
static const char *const tracer_prefix[] = {
	"bpf_prog_", "bpf_trampoline_", "bpf_dispatcher_", "__bpf_prog_enter", "__bpf_prog_exit",
	"__bpf_trace_", "bpf_trace_run", "trace_call_bpf", "bpf_get_stack", "bpf_perf_",
	"kprobe_", "kretprobe_", "__kretprobe_", "pre_handler_kretprobe", "aggr_pre_handler",
	"opt_pre_handler", "optimized_callback", "optprobe_template_",
	"rethook_", "arch_rethook_", "fprobe_", "__fprobe_", "ftrace_", "arch_ftrace_",
	"exc_int3", "asm_exc_int3", "do_int3", "perf_trace_", "perf_callchain",
};

bool kframe_is_tracer(struct ksyms *ks, uint64_t ip)
{
	uint64_t off;
	const struct ksym *s = ks ? ksyms_find(ks, ip, &off) : NULL;

	/* no symbol near: JIT code or a trampoline kallsyms does not list */
	if (!s || off > 0x100000)
		return true;
	if (s->module && !strcmp(s->module, "bpf"))
		return true;
	for (size_t i = 0; i < sizeof(tracer_prefix) / sizeof(tracer_prefix[0]); i++)
		if (!strncmp(s->name, tracer_prefix[i], strlen(tracer_prefix[i])))
			return true;
	return false;
}

int kstack_trim(struct ksyms *ks, uint64_t *ips, int n)
{
	int skip = 0;

	if (!ks)
		return 0;
	while (skip < n && ips[skip] && kframe_is_tracer(ks, ips[skip]))
		skip++;
	/* all of it looks like ours: keep it, the reader can judge */
	if (skip == n || !ips[skip])
		return 0;
	memmove(ips, ips + skip, (n - skip) * sizeof(*ips));
	memset(ips + n - skip, 0, skip * sizeof(*ips));
	return skip;
}
