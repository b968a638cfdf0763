/* Whether BTF tracepoint programs run with preemption disabled here: a run
 * of bpf/core/tpcheck.bpf.c on task_rename, fired by renaming ourselves to our
 * own name. Answered once per process. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "ksyms.h"
#include "tpcheck.h"
#include "tpcheck.skel.h"

static int answer = -2;		/* -2: not asked yet */
static char answer_why[128];

/* No typed ksyms (the check's run found no count): the two addresses from
 * kallsyms instead. True if both were found. */
static bool kallsyms_fallback(struct tpcheck_bpf *s)
{
	s->bss->pc_percpu_off = ksym_data_addr(NULL, "__preempt_count");
	s->bss->per_cpu_offset_addr = ksym_data_addr(NULL, "__per_cpu_offset");
	return s->bss->pc_percpu_off && s->bss->per_cpu_offset_addr;
}

/* A kernel built without preemption of kernel code has no preempt_schedule
 * (CONFIG_PREEMPTION; PREEMPT_DYNAMIC kernels have it). */
static bool kernel_preemptible(void)
{
	return ksym_data_addr(NULL, "preempt_schedule") != 0;
}

static int run_check(char *why, size_t len)
{
	struct tpcheck_bpf *s = tpcheck_bpf__open();
	char comm[16] = "";
	int err, rc = -1;
	bool by_kallsyms = false;

	if (!s) {
		snprintf(why, len, "check program: open failed (%s)", strerror(errno));
		return -1;
	}
	s->rodata->targ_tid = (__u32)syscall(SYS_gettid);
	err = tpcheck_bpf__load(s);
	if (!err)
		err = tpcheck_bpf__attach(s);
	if (err) {
		/* e.g. ENOENT: per-CPU symbols not in kallsyms (no CONFIG_KALLSYMS_ALL) */
		snprintf(why, len, "preemption inside BTF tracepoints unknown (check program: %s)",
			 strerror(-err));
		goto out;
	}
	prctl(PR_GET_NAME, comm);
	prctl(PR_SET_NAME, comm);
	if (s->bss->runs && s->data->depth < 0 && (by_kallsyms = kallsyms_fallback(s)))
		prctl(PR_SET_NAME, comm);
	if (!s->bss->runs) {
		snprintf(why, len, "preemption inside BTF tracepoints unknown (check program did not run)");
		goto out;
	}
	if (s->data->depth < 0) {
		snprintf(why, len, "preemption inside BTF tracepoints unknown (no preemption count symbol)");
		goto out;
	}
	rc = s->data->depth > 0;
	if (!rc && by_kallsyms && !kernel_preemptible()) {
		/* no preemption count kept (PREEMPT_NONE/VOLUNTARY, e.g. 5.10):
		 * reads 0, yet nothing preempts kernel code. Asked only on this
		 * path, which read kallsyms already (typed-ksym kernels: 6.x,
		 * 7.x, all keep the count). */
		snprintf(why, len, "preemption off inside BTF tracepoint programs (kernel not "
			 "preemptible: no preempt_schedule)");
		rc = 1;
		goto out;
	}
	snprintf(why, len, "preemption %s inside BTF tracepoint programs",
		 rc ? "disabled" : "enabled");
out:
	tpcheck_bpf__destroy(s);
	return rc;
}

int probe_tp_btf_atomic(int kallsyms_data, const char **why)
{
	if (answer == -2 && kallsyms_data == 0) {
		/* the program could not load: the count's address is unknown */
		answer = -1;
		snprintf(answer_why, sizeof(answer_why), "preemption inside BTF tracepoints unknown "
			 "(no per-CPU symbols in kallsyms: no CONFIG_KALLSYMS_ALL)");
	}
	if (answer == -2) {
		/* libbpf's warnings about a weak symbol are noise here */
		libbpf_print_fn_t old = getenv("DAXTRACE_TPCHECK_DEBUG") ? NULL : libbpf_set_print(NULL);

		answer = run_check(answer_why, sizeof(answer_why));
		if (old) libbpf_set_print(old);
	}
	if (why)
		*why = answer_why;
	return answer;
}
