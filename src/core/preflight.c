#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <bpf/libbpf.h>
#include "preflight.h"
#include "probe.h"
#include "util.h"

static bool libbpf_debug;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf warns about every optional program it could not use;
	 * our own one-line messages say that better, so show only debug on request. */
	if (!libbpf_debug)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void libbpf_setup_logging(void)
{
	const char *e = getenv("LIBBPF_LOG");

	libbpf_debug = e && !strcmp(e, "debug");
	libbpf_set_print(libbpf_print);
}

int preflight_check(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	libbpf_setup_logging();
	if (!is_root()) {
		warn_msg("needs root (CAP_BPF and CAP_PERFMON) to load BPF programs; run it with sudo");
		return -1;
	}
	if (!path_exists("/sys/kernel/btf/vmlinux")) {
		warn_msg("this kernel has no BTF (/sys/kernel/btf/vmlinux missing): it needs "
			 "CONFIG_DEBUG_INFO_BTF=y; no DAX tracing is possible here");
		return -1;
	}
	if (probe_btf_check())
		return -1;
	/* Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK. */
	setrlimit(RLIMIT_MEMLOCK, &rl);
	return 0;
}
