/* Hook selection shared by every tool: for each hook, the best method this
 * kernel allows (tracepoint; fentry/fexit, else kprobe/kretprobe, else
 * unavailable with a reason), decided before load, attached after load. */
#ifndef DAXTRACE_PROBE_H
#define DAXTRACE_PROBE_H

#include <stdbool.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "json.h"

enum probe_method { PM_NONE, PM_TRACEPOINT, PM_FENTRY, PM_KPROBE };

#define HOOK_MAX_PROGS 2

struct hook {
	/* filled by the tool */
	const char *func;		/* kernel function (base name) or tracepoint name */
	const char *alt;		/* another name with the same leading arguments, tried
					 * when func is absent (e.g. a rename in a newer kernel) */
	bool is_tracepoint;		/* tp_btf program in tp[0] */
	const char *module;		/* "ext4", "xfs": where fentry's BTF lives; NULL = vmlinux */
	const char *lost;		/* what the user loses if this hook is unavailable */
	struct bpf_program *tp;		/* tp_btf */
	struct bpf_program *fentry;	/* fentry or fexit */
	struct bpf_program *kprobe[HOOK_MAX_PROGS]; /* kprobe and/or kretprobe */
	/* filled by probe_select / probe_attach */
	enum probe_method method;
	char symbol[128];		/* resolved kallsyms name, maybe a .isra.N clone or alt */
	const char *target;		/* func or alt: the one that was found */
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
	char lockdown[32];		/* "none", "integrity", "confidentiality", "?" */
};

void probe_env_detect(struct probe_env *env);
/* The kernel's BTF, parsed once and shared until probe_select or
 * probe_release_btf frees it; NULL without BTF. */
struct btf *probe_vmlinux_btf(void);
void probe_release_btf(void);
/* Choose methods and set autoload on every program of every hook.
 * Returns the number of usable hooks. */
int probe_select(struct hook *hooks, int n, const struct probe_env *env);
/* Attach chosen programs of a loaded object; a failure marks the hook
 * unavailable with the reason and the others keep going. */
int probe_attach(struct hook *hooks, int n);
void probe_detach(struct hook *hooks, int n);

const char *probe_method_name(enum probe_method m);
int probe_count(const struct hook *hooks, int n, enum probe_method m);
/* One line per unavailable hook: "hook: unavailable (why); lost: ..." */
void probe_warn_unavailable(const struct hook *hooks, int n);
void probe_print_table(FILE *out, const char *tool, const struct hook *hooks, int n);
void probe_json(struct json *j, const struct hook *hooks, int n);
/* Header summary like "tp 8, fentry 2, kprobe 0, n/a 0". */
void probe_summary(char *buf, size_t len, const struct hook *hooks, int n);

#endif
