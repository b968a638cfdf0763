/* daxtop: live DAX activity per process and per file.
 * open -> configure -> choose hooks -> load -> attach -> poll. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include "daxtop_print.h"
#include "commands.h"
#include "mounts.h"
#include "paths.h"
#include "core_btf.h"
#include "preflight.h"
#include "sched_shield.h"
#include "daxtop.skel.h"	/* after daxtop.h: the skeleton uses its types */

struct top_args {
	bool batch, hist, json;
	double interval_s, duration_s;
	uint64_t count;
	struct daxtop_config cfg;
	struct view_opts vo;
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: daxtop [OPTIONS]            (also: daxtrace top)\n"
"Live DAX activity per process and file: PTE/PMD faults, PMD fallbacks,\n"
"write faults, MAP_SYNC faults that synced metadata (MKWR), hole loads, writeback, unmaps, break_layouts\n"
"waits and fault latency.\n\n"
"  -b, --batch            plain text per interval (default when not a terminal)\n"
"  -o, --output FMT       text (default) or json (one object per interval)\n"
"  -i, --interval SECS    update interval (default 1)\n"
"  -d, --duration SECS    stop after SECS, printing a TOTAL block\n"
"  -n, --count N          stop after N intervals\n"
"  -p, --pid PID          only this process\n"
"  -c, --comm NAME        only processes with this comm\n"
"      --cgroup PATH      only tasks in this cgroup v2 directory\n"
"      --dev DEV          only this device (MAJ:MIN, /dev/pmemN or a DAX mount point)\n"
"      --path PREFIX      only files whose path starts with PREFIX\n"
"  -g, --group MODE       pidfile (default), pid or file\n"
"  -s, --sort COL         faults (default), pid, comm, pte, pmd, pmdfb, write, mkwr,\n"
"                         hole, wb, unmap, blwait, blwms, latp50, latp99, file\n"
"  -a, --ascending        sort ascending\n"
"  -N, --top N            show at most N rows\n"
"      --hist             log2 histograms of fault latency and break_layouts waits\n"
"      --lat-all          time every fault (default: above ~2000 faults/s per CPU\n"
"                         a random sample is timed, at least 1 in 64)\n"
"      --max-rows N       size of the in-kernel row table (default 4096)\n"
"      --no-fentry        do not use fentry/fexit (use kprobes)\n"
"      --no-kprobe        do not use kprobes\n"
"  -h, --help             this help\n"
"Keys in the interactive screen: q quit, space pause, < > sort column,\n"
"r reverse, g grouping, h histograms.\n");
}

static int parse_args(int argc, char **argv, struct top_args *a)
{
	char why[160];
	enum { O_CGROUP = 256, O_DEV, O_PATH, O_HIST, O_MAXROWS, O_NOFENTRY, O_NOKPROBE, O_LATALL };
	static const struct option opts[] = {
		{ "batch", no_argument, NULL, 'b' }, { "output", required_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' }, { "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' }, { "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' }, { "cgroup", required_argument, NULL, O_CGROUP },
		{ "dev", required_argument, NULL, O_DEV }, { "path", required_argument, NULL, O_PATH },
		{ "group", required_argument, NULL, 'g' }, { "sort", required_argument, NULL, 's' },
		{ "ascending", no_argument, NULL, 'a' }, { "top", required_argument, NULL, 'N' },
		{ "hist", no_argument, NULL, O_HIST }, { "max-rows", required_argument, NULL, O_MAXROWS },
		{ "lat-all", no_argument, NULL, O_LATALL },
		{ "no-fentry", no_argument, NULL, O_NOFENTRY }, { "no-kprobe", no_argument, NULL, O_NOKPROBE },
		{ "help", no_argument, NULL, 'h' }, {}
	};
	uint64_t v;
	struct stat st;
	int o, col;

	a->interval_s = 1;
	a->cfg.max_rows = 4096;
	a->cfg.dev = -1;
	a->vo.sort = COL_FAULTS;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":bo:i:d:n:p:c:g:s:aN:h", opts, NULL)) != -1) {
		switch (o) {
		case 'b': a->batch = true; break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return usage_error("unknown output format '%s': use text or json", optarg);
			a->json = !strcmp(optarg, "json");
			break;
		case 'i':
			if (parse_seconds(optarg, &a->interval_s) || a->interval_s < 0.01)
				return usage_error("bad interval '%s': give 0.01 to 1e7 seconds", optarg);
			break;
		case 'd':
			if (parse_seconds(optarg, &a->duration_s) || a->duration_s <= 0)
				return usage_error("bad duration '%s': give seconds > 0, at most 1e7", optarg);
			break;
		case 'n':
			if (parse_u64(optarg, &a->count) || !a->count)
				return usage_error("bad count '%s': give a whole number > 0", optarg);
			break;
		case 'p':
			if (parse_live_pid(optarg, &a->cfg.pid, why, sizeof(why)))
				return usage_error("%s", why);
			break;
		case 'c': a->vo.comm = optarg; break;
		case O_CGROUP:
			/* On cgroup v2 the directory's inode number is the cgroup id. */
			if (stat(optarg, &st) || !S_ISDIR(st.st_mode))
				return usage_error("cgroup '%s' is not a directory (give a cgroup v2 path)", optarg);
			a->cfg.cgroup_id = st.st_ino;
			break;
		case O_DEV:
			if (parse_dax_dev(optarg, &a->cfg.dev, why, sizeof(why)))
				return usage_error("%s", why);
			break;
		case O_PATH:
			if (!path_exists(optarg))
				return usage_error("path '%s' does not exist", optarg);
			a->vo.path_prefix = optarg;
			break;
		case 'g':
			if (!strcmp(optarg, "pid")) a->vo.group = GROUP_PID;
			else if (!strcmp(optarg, "file")) a->vo.group = GROUP_FILE;
			else if (!strcmp(optarg, "pidfile")) a->vo.group = GROUP_PIDFILE;
			else return usage_error("unknown grouping '%s': use pidfile, pid or file", optarg);
			break;
		case 's':
			col = col_by_name(optarg);
			if (col < 0)
				return usage_error("unknown sort column '%s'", optarg);
			a->vo.sort = col;
			break;
		case 'a': a->vo.ascending = true; break;
		case 'N':
			if (parse_u64(optarg, &v) || !v || v > 1000000)
				return usage_error("bad row count '%s'", optarg);
			a->vo.top = v;
			break;
		case O_HIST: a->hist = true; break;
		case O_LATALL: a->cfg.lat_all = true; break;
		case O_MAXROWS:
			if (parse_u64(optarg, &v) || v < 16 || v > 1 << 20)
				return usage_error("bad --max-rows '%s': give 16..1048576", optarg);
			a->cfg.max_rows = v;
			break;
		case O_NOFENTRY: a->cfg.no_fentry = true; break;
		case O_NOKPROBE: a->cfg.no_kprobe = true; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

#define NHOOKS DAXTOP_NHOOKS

static void fill_hooks(struct hook *h, struct daxtop_bpf *s)
{
	struct bpf_program *tps[][2] = {
		{ s->progs.tp_dax_pte_fault, s->progs.btf_pte_fault },
		{ s->progs.tp_dax_pte_fault_done, s->progs.btf_pte_fault_done },
		{ s->progs.tp_dax_pmd_fault, s->progs.btf_pmd_fault },
		{ s->progs.tp_dax_pmd_fault_done, s->progs.btf_pmd_fault_done },
		{ s->progs.tp_dax_insert_pfn_mkwrite, s->progs.btf_mkwrite },
		{ s->progs.tp_dax_load_hole, s->progs.btf_load_hole },
		{ s->progs.tp_dax_pmd_load_hole, s->progs.btf_pmd_load_hole },
		{ s->progs.tp_dax_writeback_one, s->progs.btf_writeback_one },
	};
	static const char *const tp_names[] = {
		"dax_pte_fault", "dax_pte_fault_done", "dax_pmd_fault", "dax_pmd_fault_done",
		"dax_insert_pfn_mkwrite", "dax_load_hole", "dax_pmd_load_hole", "dax_writeback_one",
	};
	static const char *const tp_lost[] = {
		"PTE fault latency", "PTE faults", "PMD fault latency", "PMD faults and fallbacks",
		"MKWR column", "HOLE column (PTE)", "HOLE column (PMD)", "WB column",
	};

	memset(h, 0, NHOOKS * sizeof(*h));
	for (int i = 0; i < 8; i++)
		h[i] = (struct hook){ .func = tp_names[i], .is_tracepoint = true,
				      .tp_category = "fs_dax", .tracepoint = tps[i][0],
				      .tp = tps[i][1], .lost = tp_lost[i] };
	/* 7.x folded unmap_page_range into __zap_vma_range(tlb, vma, ...). */
	h[8] = (struct hook){ .func = "unmap_page_range", .alt = "__zap_vma_range",
			      .fentry = s->progs.unmap_fentry,
			      .kprobe = { s->progs.unmap_kprobe }, .lost = "UNMAP column",
			      .exact = true };
	h[9] = (struct hook){ .func = "dax_layout_busy_page_range", .fentry = s->progs.busy_fexit,
			      .kprobe = { s->progs.busy_kprobe, s->progs.busy_kretprobe },
			      .lost = "BLWAIT/BLWMS columns and the wait histogram", .exact = true };
	/* exact: a skipped run only blurs a fallback's reason, but a kprobe
	 * never nests where fentry would be skipped (7.x) */
	h[10] = (struct hook){ .func = "dax_iomap_pmd_fault", .fentry = s->progs.pmd_fault_fentry,
			       .kprobe = { s->progs.pmd_fault_kprobe },
			       .lost = "PMD fallback reasons extent and pte_entry (counted as other)",
			       .exact = true };
}

/* The per-CPU row cache (include/daxtop.h) is safe only where no fault
 * program can be preempted by another on its CPU: classic tracepoints, or
 * BTF ones where the kernel runs them with preemption off. */
static bool fault_hooks_atomic(const struct hook *h, const struct probe_env *env)
{
	for (int i = 0; i < 4; i++)	/* PTE and PMD fault, and their ends */
		if (h[i].method == PM_TP_BTF && env->tp_btf_exact != 1)
			return false;
	return true;
}

/* Open, size, choose hooks and load; retries once without fentry when a
 * kernel accepts the probe program but rejects a real one. */
static int open_and_load(struct daxtop_ctx *c, struct hook *hooks,
			 const struct daxtop_config *a, struct probe_env *env)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int err;

		c->skel = CORE_BTF_OPEN(daxtop_bpf);
		if (!c->skel) {
			warn_msg("cannot open the BPF object: %s", strerror(errno));
			return -1;
		}
		c->skel->rodata->targ_tgid = a->pid;
		c->skel->rodata->targ_cgroup = a->cgroup_id;
		c->skel->rodata->targ_dev = a->dev < 0 ? 0 : a->dev;
		c->skel->rodata->lat_all = a->lat_all;
		bpf_map__set_max_entries(c->skel->maps.rows, a->max_rows);
		/* A file gets its entry with its first row: no more files than
		 * rows are needed (an LRU map is allocated up front). */
		bpf_map__set_max_entries(c->skel->maps.files, a->max_rows > 1024 ? a->max_rows : 1024);
		fill_hooks(hooks, c->skel);
		startup_mark("open");
		if (probe_select(hooks, NHOOKS, env) <= 0) {
			warn_msg("no DAX hook is available on this kernel (fs_dax tracepoints missing: "
				 "is CONFIG_FS_DAX set?)");
			return -1;
		}
		c->row_cache = fault_hooks_atomic(hooks, env);
		c->skel->rodata->row_cache = c->row_cache;
		startup_mark("hook choice");
		err = daxtop_bpf__load(c->skel);
		startup_mark("load");
		if (!err)
			return 0;
		daxtop_bpf__destroy(c->skel);
		c->skel = NULL;
		if (probe_count(hooks, NHOOKS, PM_FENTRY) && !env->forbid_fentry) {
			env->forbid_fentry = true;
			continue;
		}
		warn_msg("loading BPF programs failed: %s; run with LIBBPF_LOG=debug for the "
			 "verifier log", strerror(-err));
		return -1;
	}
	return -1;
}

static void ctx_describe(struct daxtop_ctx *c)
{
	struct utsname u;
	struct dax_mount m[8];
	int n = mounts_read(m, 8, true), used = 0;

	uname(&u);
	snprintf(c->host, sizeof(c->host), "%s", u.nodename);
	snprintf(c->kernel, sizeof(c->kernel), "%s", u.release);
	c->mounts[0] = 0;
	for (int i = 0; i < n; i++)
		used += snprintf(c->mounts + used, used < (int)sizeof(c->mounts) ? sizeof(c->mounts) - used : 0,
				 "%s%s on %s %s dax=%s", i ? "; " : "", m[i].source, m[i].target,
				 m[i].fstype, m[i].dax);
	if (!n)
		snprintf(c->mounts, sizeof(c->mounts), "none found");
	pmem_devices(c->pmem, sizeof(c->pmem));
	probe_summary(c->hooksum, sizeof(c->hooksum), c->hooks, c->nhooks);
	c->avail.unmap = c->hooks[8].method != PM_NONE;
	c->avail.blwait = c->hooks[9].method != PM_NONE;
}

int daxtop_start(struct daxtop_ctx *c, struct hook *hooks, const struct daxtop_config *a)
{
	struct probe_env env = { .forbid_fentry = a->no_fentry, .forbid_kprobe = a->no_kprobe,
				 .tp_choice = true };

	memset(c, 0, sizeof(*c));
	c->hooks = hooks;
	c->nhooks = NHOOKS;
	/* before any map syscall: see src/core/sched_shield.c */
	sched_shield_bpf_syscalls();
	probe_env_detect(&env);
	startup_mark("kernel checks");
	era_detect(&c->era);
	if (open_and_load(c, hooks, a, &env))
		return -1;
	if (probe_attach(hooks, NHOOKS) <= 0) {
		warn_msg("no hook could be attached");
		return -1;
	}
	startup_mark("attach");
	c->attach_ns = mono_ns();
	c->lat_all = a->lat_all;
	clock_publish(c, c->attach_ns);
	ctx_describe(c);
	return 0;
}

void daxtop_stop(struct daxtop_ctx *c)
{
	probe_detach(c->hooks, c->nhooks);
	daxtop_bpf__destroy(c->skel);
	snapshot_free(&c->prev);
	snapshot_free(&c->cur);
	free(c->seen);
	c->seen = NULL;
	paths_clear();
}

/* Once at start: what was found and how each hook attached. */
static void print_preamble(const struct daxtop_ctx *c, bool json)
{
	struct json j;

	if (!json) {
		printf("# daxtop %s on %s, kernel %s, era %s\n", daxtrace_version, c->host,
		       c->kernel, era_name(c->era.era));
		printf("# dax mounts: %s; pmem: %s\n", c->mounts, c->pmem);
		printf("# hooks:");
		for (int i = 0; i < c->nhooks; i++)
			printf(" %s=%s", c->hooks[i].func, probe_method_name(c->hooks[i].method));
		printf("; faults gathered %s\n", c->row_cache ? "per CPU" : "in the row map");
		return;
	}
	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_str(&j, "type", "start");
	json_kv_str(&j, "version", daxtrace_version);
	json_kv_str(&j, "host", c->host);
	json_kv_str(&j, "kernel", c->kernel);
	json_kv_str(&j, "era", era_name(c->era.era));
	json_kv_i64(&j, "idle_refcount", c->era.idle);
	json_kv_str(&j, "dax_mounts", c->mounts);
	json_kv_str(&j, "pmem", c->pmem);
	json_key(&j, "hooks");
	probe_json(&j, c->hooks, c->nhooks);
	json_kv_bool(&j, "row_cache", c->row_cache);
	json_obj_end(&j);
	json_line_end(&j);
}

static int run_batch(struct daxtop_ctx *c, const struct top_args *a)
{
	uint64_t start = mono_ns(), n = 0;
	bool have_prev = false;
	void (*print)(FILE *, const struct daxtop_ctx *, const struct snapshot *,
		      const struct snapshot *, bool, bool) =
		a->json ? daxtop_print_json : daxtop_print_text;

	print_preamble(c, a->json);
	while (!exiting) {
		double left = a->duration_s ? a->duration_s - (mono_ns() - start) / 1e9 : a->interval_s;

		sleep_interruptible(left < a->interval_s ? left : a->interval_s);
		if (snapshot_take(c, &c->cur))
			return EXIT_ERR;
		print(stdout, c, &c->cur, have_prev ? &c->prev : NULL, false, a->hist);
		snapshot_free(&c->prev);
		c->prev = c->cur;
		memset(&c->cur, 0, sizeof(c->cur));
		have_prev = true;
		if ((a->count && ++n >= a->count) ||
		    (a->duration_s && (mono_ns() - start) / 1e9 >= a->duration_s - 1e-3))
			break;
	}
	/* Totals since attach: the last snapshot against nothing. */
	if (have_prev)
		print(stdout, c, &c->prev, NULL, true, a->hist);
	return EXIT_OK;
}

int cmd_top(int argc, char **argv)
{
	struct top_args a = {};
	struct daxtop_ctx c;
	struct hook hooks[NHOOKS];
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (preflight_check())
		return EXIT_ERR;
	install_exit_signals();
	if (daxtop_start(&c, hooks, &a.cfg)) {
		daxtop_stop(&c);
		return EXIT_ERR;
	}
	c.vo = a.vo;
	c.interval_s = a.interval_s;
	probe_warn_unavailable(hooks, NHOOKS);
	fprintf(stderr, "%s: ready (%s)\n", prog_name, c.hooksum);
	if (!a.batch && !a.json && isatty(STDOUT_FILENO) && !isatty(STDIN_FILENO))
		warn_msg("standard input is not a terminal, no keys can be read: batch output (as -b)");
	if (!a.batch && !a.json && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO))
		rc = daxtop_tui(&c, a.duration_s);
	else
		rc = run_batch(&c, &a);
	daxtop_stop(&c);
	return rc;
}

int daxtop_features(struct json *j, FILE *out)
{
	struct daxtop_config cfg = { .max_rows = 64, .dev = -1 };
	struct daxtop_ctx c;
	struct hook hooks[NHOOKS];
	int rc = daxtop_start(&c, hooks, &cfg);

	if (j) {
		json_key(j, "daxtop");
		if (rc)
			json_null(j);
		else
			probe_json(j, hooks, NHOOKS);
	} else if (rc) {
		fprintf(out, "daxtop hooks: none loaded (see the error above)\n");
	} else {
		probe_print_table(out, "daxtop", hooks, NHOOKS);
	}
	daxtop_stop(&c);
	return rc;
}
