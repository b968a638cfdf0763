/* Hook selection shared by every tool: for each hook, the best method this
 * kernel allows (tracepoint; fentry/fexit, else kprobe/kretprobe, else
 * unavailable with a reason), decided before load, attached after load.
 * One header, five files: the shared kernel BTF (probe_btf.c), the
 * environment (probe_env.c), selection (probe_select.c), attach and detach
 * (probe_attach.c), what was chosen for people and JSON (probe_report.c). */
#ifndef DAXTRACE_PROBE_H
#define DAXTRACE_PROBE_H

#include <stdbool.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "json.h"

/* PM_TRACEPOINT: classic (perf) tracepoint, run with preemption disabled.
 * PM_TP_BTF: BTF raw tracepoint: cheaper, but from 7.x it may run
 * preemptible and the kernel then skips nested runs (counted). */
enum probe_method { PM_NONE, PM_TRACEPOINT, PM_TP_BTF, PM_FENTRY, PM_KPROBE };

#define HOOK_MAX_PROGS 2

struct hook {
	/* filled by the tool */
	const char *func;		/* kernel function (base name) or tracepoint name */
	const char *alt;		/* another name with the same leading arguments, tried
					 * when func is absent (e.g. a rename in a newer kernel) */
	bool is_tracepoint;		/* tracepoint and/or tp set */
	const char *tp_category;	/* tracefs category of a classic tracepoint, e.g. "fs_dax" */
	const char *module;		/* "ext4", "xfs": where fentry's BTF lives; NULL = vmlinux */
	const char *lost;		/* what the user loses if this hook is unavailable */
	const char *role;		/* when one function has several hooks: "entry-guard" */
	bool exact;			/* a skipped run loses data: kprobes rather than
					 * fentry where BPF programs run preemptible */
	struct bpf_program *tracepoint;	/* classic tracepoint: preferred when tracefs has it */
	struct bpf_program *tp;		/* tp_btf */
	struct bpf_program *fentry;	/* fentry or fexit */
	struct bpf_program *kprobe[HOOK_MAX_PROGS]; /* kprobe and/or kretprobe */
	/* filled by probe_select / probe_attach */
	enum probe_method method;
	char symbol[128];		/* resolved kallsyms name, maybe a .isra.N clone or alt */
	const char *target;		/* func or alt: the one that was found */
	const char *fentry_btf;		/* func or alt, found fit for fentry in BTF
					 * before kallsyms (checked once) */
	char why[320];			/* why unavailable, or a note */
	struct bpf_link *links[HOOK_MAX_PROGS];
};

/* What this kernel and process allow; probed once per run. */
struct probe_env {
	bool root;
	bool btf;			/* /sys/kernel/btf/vmlinux */
	bool kprobes;			/* kprobe PMU present */
	bool fentry;			/* a tiny fentry program loads */
	int fentry_err;			/* errno of that load when it failed */
	bool forbid_fentry;		/* retry after a load failure, or user's --no-fentry */
	bool forbid_kprobe;		/* user's --no-kprobe */
	bool tp_choice;			/* set by the tool: it has hooks with both a classic
					 * and a BTF tracepoint program (see tp_btf_exact) */
	/* 1: BTF tracepoints run with preemption off (exact): preferred over
	 * classic ones; 0: classic preferred; from probe_tp_btf_atomic, or
	 * DAXTRACE_TP=classic|btf. Only decided when tp_choice. */
	int tp_btf_exact;
	/* The check above found BPF programs preemptible here (7.x): fentry
	 * runs nested on a CPU are skipped, kprobes' are not. */
	bool bpf_preemptible;
	const char *tp_why;
	char lockdown[32];		/* "none", "integrity", "confidentiality", "?" */
	char tracefs[128];		/* tracefs events directory, "" if none */
};

/* probe_env.c */
void probe_env_detect(struct probe_env *env);
/* 1 if kallsyms lists data and per-CPU symbols (CONFIG_KALLSYMS_ALL), 0 if
 * it lists only functions (a data symbol is then never found there: no
 * need to read it for one), -1 unknown. Asked once, from the kernel's BTF. */
int probe_kallsyms_data(void);

/* probe_btf.c */
/* The kernel's BTF, parsed once and shared with libbpf's object loads (see
 * src/core/probe_btf.c) until probe_attach or probe_release_btf frees it; NULL
 * without BTF. Load every object before attaching. */
struct btf *probe_vmlinux_btf(void);
void probe_release_btf(void);
#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"
/* The kernel's BTF is there but does not parse: one line saying so (not
 * libbpf's "No such process") and -1; else 0. For preflight_check. */
int probe_btf_check(void);
/* Why it does not parse, or NULL (parsed, or not tried yet). */
const char *probe_btf_problem(void);
/* Parameter count of the function `name` in btf, -1 if absent (or no btf). */
int probe_btf_func_params(struct btf *btf, const char *name);
/* Which programs' skipped runs the kernel counts (recursion_misses): those
 * run through a trampoline (fentry, BTF tracepoints) and those run through
 * trace_call_bpf (classic tracepoints, kprobes) got the counter in different
 * kernels. From BTF fields, asked once (probe_env_detect asks first, while
 * the BTF is loaded); known false if there is no BTF. */
struct probe_misses {
	bool known, trampoline, classic;
};
const struct probe_misses *probe_misses_counted(void);

/* probe_select.c */
/* Choose methods and set autoload on every program of every hook.
 * Returns the number of usable hooks. */
int probe_select(struct hook *hooks, int n, const struct probe_env *env);

/* probe_attach.c */
/* Attach chosen programs of a loaded object; a failure marks the hook
 * unavailable with the reason and the others keep going. Frees the shared
 * BTF first: loads come before attaches. */
int probe_attach(struct hook *hooks, int n);
void probe_detach(struct hook *hooks, int n);

/* Runs the kernel skipped because a program was already running on that CPU
 * (bpf_prog_info.recursion_misses), summed over the hooks' attached programs. */
unsigned long long probe_missed_runs(const struct hook *hooks, int n);
/* Whether every attached hook's skipped runs are counted by this kernel
 * (see probe_misses_counted): if not, a skipped count of 0 means "unknown". */
bool probe_missed_runs_counted(const struct hook *hooks, int n);

/* probe_report.c */
const char *probe_method_name(enum probe_method m);
int probe_count(const struct hook *hooks, int n, enum probe_method m);
/* One line per unavailable hook: "hook: unavailable (why); lost: ..." */
void probe_warn_unavailable(const struct hook *hooks, int n);
void probe_print_table(FILE *out, const char *tool, const struct hook *hooks, int n);
void probe_json(struct json *j, const struct hook *hooks, int n);
/* Header summary like "tp 8, fentry 2, kprobe 0, n/a 0". */
void probe_summary(char *buf, size_t len, const struct hook *hooks, int n);

#endif
