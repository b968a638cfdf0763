/* daxtrace features: what this kernel lets daxtrace see, and how. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include "bpf_caps.h"
#include "commands.h"
#include "era.h"
#include "json.h"
#include "mounts.h"
#include "preflight.h"
#include "probe.h"
#include "util.h"

static const char *const module_btf[] = { "ext4", "xfs", "fuse" };

/* A loaded filesystem module without BTF of its own (no
 * CONFIG_DEBUG_INFO_BTF_MODULES, e.g. 5.10). */
static bool module_lacks_btf(const char *mod)
{
	char m[64], b[64];

	snprintf(m, sizeof(m), "/sys/module/%s/initstate", mod);	/* loadable only */
	snprintf(b, sizeof(b), "/sys/kernel/btf/%s", mod);
	return path_exists(m) && path_exists("/sys/kernel/btf/vmlinux") && !path_exists(b);
}

#define MAX_LIMITS 8
#define NO_MODULE_BTF "no module BTF: fentry cannot reach ext4/xfs/fuse functions " \
	"(kprobes instead); their BTF types are unknown to CO-RE"

static int kernel_limits(const char **out)
{
	const struct probe_misses *m = probe_misses_counted();
	int n = bpf_caps_limits(bpf_caps_get(), out, MAX_LIMITS - 2);

	if (!m->classic)
		out[n++] = m->trampoline ?
			"skipped runs not counted for classic tracepoints and kprobes: runs the "
			"kernel skips (a program of ours already running on that CPU) cannot be "
			"counted there; daxtop shows skipped=n/a, JSON null, export no series" :
			"skipped runs not counted: runs the kernel skips (a program of ours "
			"already running on that CPU) cannot be counted; daxtop shows "
			"skipped=n/a, JSON null, export no series";
	for (size_t i = 0; i < sizeof(module_btf) / sizeof(*module_btf); i++)
		if (module_lacks_btf(module_btf[i])) {
			out[n++] = NO_MODULE_BTF;
			break;
		}
	return n;
}

static void print_bpf_caps(void)
{
	const struct bpf_caps *c = bpf_caps_get();
	const char *lim[MAX_LIMITS];
	int n = kernel_limits(lim);

	const char *unknown = c->probe_errno ? "unknown" : NULL;

	printf("bpf:          bpf_loop=%s get_func_arg=%s task_vma_iter=%s\n",
	       unknown ? unknown : c->loop ? "yes" : "no",
	       unknown ? unknown : c->func_arg ? "yes" : "no", c->iter_task_vma ? "yes" : "no");
	if (unknown)
		printf("bpf:          helpers not probed: loading a test program failed (%s); "
		       "run as root for the real answer\n", strerror(c->probe_errno));
	for (int i = 0; i < n; i++)
		printf("limit:        %s\n", lim[i]);
}

static void json_bpf_caps(struct json *j)
{
	const struct bpf_caps *c = bpf_caps_get();
	const char *lim[MAX_LIMITS];
	int n = kernel_limits(lim);

	/* not probed (no rights): null, not a guess */
	json_kv_bool_or_null(j, "bpf_loop", !c->probe_errno, c->loop);
	json_kv_bool_or_null(j, "bpf_get_func_arg", !c->probe_errno, c->func_arg);
	json_kv_bool(j, "iter_task_vma", c->iter_task_vma);
	json_key(j, "limits");
	json_arr_begin(j);
	for (int i = 0; i < n; i++)
		json_str(j, lim[i]);
	json_arr_end(j);
}

static void print_text(const struct probe_env *env, const struct era_info *era)
{
	struct utsname u;
	struct dax_mount m[16];
	char pmem[256];
	int n = mounts_read(m, 16, true);

	uname(&u);
	pmem_devices(pmem, sizeof(pmem));
	printf("kernel:       %s %s\n", u.release, u.machine);
	printf("root:         %s\n", env->root ? "yes" : "no (BPF needs root)");
	if (!env->btf)
		printf("btf:          missing (no CO-RE: nothing can load)\n");
	else if (probe_btf_problem())
		printf("btf:          %s unreadable (%s): nothing can load\n", VMLINUX_BTF,
		       probe_btf_problem());
	else
		printf("btf:          %s\n", VMLINUX_BTF);
	printf("module btf:  ");
	for (size_t i = 0; i < sizeof(module_btf) / sizeof(*module_btf); i++) {
		char p[64];

		snprintf(p, sizeof(p), "/sys/kernel/btf/%s", module_btf[i]);
		printf(" %s=%s", module_btf[i], path_exists(p) ? "yes" : "no");
	}
	printf("\n");
	printf("lockdown:     %s\n", env->lockdown);
	printf("fentry:       %s\n", env->fentry ? "yes" : probe_btf_problem() ?
	       "unknown (the kernel's BTF is unreadable)" : strerror(env->fentry_err));
	printf("kprobes:      %s\n", env->kprobes ? "yes" : "no (kernel built without kprobes)");
	printf("tracepoints:  %s%s\n", env->tracefs[0] ? "classic and BTF; " : "BTF only (no tracefs)",
	       env->tracefs[0] ? (env->tp_btf_exact ? "BTF preferred: " : "classic preferred: ") : "");
	if (env->tracefs[0])
		printf("              %s\n", env->tp_why);
	print_bpf_caps();
	printf("refcount era: %s [%s]\n", era_name(era->era), era->evidence);
	printf("pmem:         %s\n", pmem);
	printf("dax mounts:   %s\n", n ? "" : "none");
	for (int i = 0; i < n; i++)
		printf("  %s on %s type %s dax=%s (dev %u:%u)\n", m[i].source, m[i].target,
		       m[i].fstype, m[i].dax, kdev_major(m[i].dev), kdev_minor(m[i].dev));
}

static void print_json(struct json *j, const struct probe_env *env, const struct era_info *era)
{
	struct utsname u;
	struct dax_mount m[16];
	int n = mounts_read(m, 16, true);

	uname(&u);
	json_kv_str(j, "kernel", u.release);
	json_kv_bool(j, "root", env->root);
	json_kv_bool(j, "btf", env->btf);
	json_kv_str(j, "btf_error", probe_btf_problem());	/* null when it parses */
	json_kv_str(j, "lockdown", env->lockdown);
	json_kv_bool(j, "fentry", env->fentry);
	json_kv_bool(j, "kprobes", env->kprobes);
	json_kv_bool(j, "tracefs", env->tracefs[0] != 0);
	json_kv_bool(j, "tp_btf_exact", env->tp_btf_exact == 1);
	json_kv_str(j, "tp_why", env->tracefs[0] ? env->tp_why : "no tracefs");
	json_bpf_caps(j);
	json_kv_str(j, "era", era_short_name(era->era));
	json_kv_i64(j, "idle_refcount", era->idle);
	json_kv_str(j, "era_evidence", era->evidence);
	json_key(j, "dax_mounts");
	json_arr_begin(j);
	for (int i = 0; i < n; i++) {
		json_obj_begin(j);
		json_kv_str(j, "source", m[i].source);
		json_kv_str(j, "target", m[i].target);
		json_kv_str(j, "fstype", m[i].fstype);
		json_kv_str(j, "dax", m[i].dax);
		json_obj_end(j);
	}
	json_arr_end(j);
}

int cmd_features(int argc, char **argv)
{
	struct probe_env env = { .tp_choice = true };
	struct era_info era;
	struct json j;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc && !strcmp(argv[i + 1], "json")) {
			json = true;
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("Usage: daxtrace features [-o json]\n");
			return EXIT_OK;
		} else {
			fprintf(stderr, "daxtrace: features: unknown argument '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	libbpf_setup_logging();
	probe_env_detect(&env);
	era_detect(&era);	/* the BTF it parses serves the loads below too */
	if (json) {
		/* What can be known without loading, always; hooks only where
		 * they can load, else null, the reason on stderr and exit 1, as
		 * for the text. */
		bool can_load = !preflight_check();

		json_init(&j, stdout);
		json_obj_begin(&j);
		print_json(&j, &env, &era);
		json_key(&j, "hooks");
		if (can_load) {
			json_obj_begin(&j);
			daxtop_features(&j, NULL);
			daxleak_features(&j, NULL);
			json_obj_end(&j);
		} else {
			json_null(&j);
		}
		json_obj_end(&j);
		json_line_end(&j);
		return can_load ? EXIT_OK : EXIT_ERR;
	}
	print_text(&env, &era);
	if (preflight_check())
		return EXIT_ERR;
	daxtop_features(NULL, stdout);
	daxleak_features(NULL, stdout);
	return EXIT_OK;
}
