/* daxtop: live DAX activity per process and per file. The command line
 * and the batch loop; the session (BPF) is daxtop_session.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "daxtop_print.h"
#include "commands.h"
#include "mounts.h"
#include "paths.h"
#include "preflight.h"

#define NHOOKS DAXTOP_NHOOKS

enum { O_CGROUP = 256, O_PATH, O_HIST };	/* daxtop's own long options */

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
"write faults, MAP_SYNC faults that synced metadata (MKWR), hole loads,\n"
"writeback, unmaps, break_layouts\n"
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

/* One of daxtop's own options (the session's are daxtop_config_opt's). */
static int parse_opt(int o, char **argv, struct top_args *a)
{
	uint64_t v;
	struct stat st;
	int col;

	switch (o) {
	case 'b': a->batch = true; return 0;
	case 'o':
		if (strcmp(optarg, "json") && strcmp(optarg, "text"))
			return usage_error("unknown output format '%s': use text or json", optarg);
		a->json = !strcmp(optarg, "json");
		return 0;
	case 'i':
		if (parse_seconds(optarg, &a->interval_s) || a->interval_s < 0.01)
			return usage_error("bad interval '%s': give 0.01 to 1e7 seconds", optarg);
		return 0;
	case 'd':
		if (parse_seconds(optarg, &a->duration_s) || a->duration_s <= 0)
			return usage_error("bad duration '%s': give seconds > 0, at most 1e7", optarg);
		return 0;
	case 'n':
		if (parse_u64(optarg, &a->count) || !a->count)
			return usage_error("bad count '%s': give a whole number > 0", optarg);
		return 0;
	case 'c': a->vo.comm = optarg; return 0;
	case O_CGROUP:
		/* On cgroup v2 the directory's inode number is the cgroup id. */
		if (stat(optarg, &st) || !S_ISDIR(st.st_mode))
			return usage_error("cgroup '%s' is not a directory (give a cgroup v2 path)", optarg);
		a->cfg.cgroup_id = st.st_ino;
		return 0;
	case O_PATH:
		if (!path_exists(optarg))
			return usage_error("path '%s' does not exist", optarg);
		a->vo.path_prefix = optarg;
		return 0;
	case 'g':
		if (!strcmp(optarg, "pid")) a->vo.group = GROUP_PID;
		else if (!strcmp(optarg, "file")) a->vo.group = GROUP_FILE;
		else if (!strcmp(optarg, "pidfile")) a->vo.group = GROUP_PIDFILE;
		else return usage_error("unknown grouping '%s': use pidfile, pid or file", optarg);
		return 0;
	case 's':
		col = col_by_name(optarg);
		if (col < 0)
			return usage_error("unknown sort column '%s'", optarg);
		a->vo.sort = col;
		return 0;
	case 'a': a->vo.ascending = true; return 0;
	case 'N':
		if (parse_u64(optarg, &v) || !v || v > 1000000)
			return usage_error("bad row count '%s'", optarg);
		a->vo.top = v;
		return 0;
	case O_HIST: a->hist = true; return 0;
	case 'h': usage(stdout); exit(EXIT_OK);
	case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
	default: return usage_error("unknown option '%s'", argv[optind - 1]);
	}
}

static int parse_args(int argc, char **argv, struct top_args *a)
{
	static const struct option opts[] = {
		{ "batch", no_argument, NULL, 'b' }, { "output", required_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' }, { "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "comm", required_argument, NULL, 'c' }, { "cgroup", required_argument, NULL, O_CGROUP },
		{ "path", required_argument, NULL, O_PATH },
		{ "group", required_argument, NULL, 'g' }, { "sort", required_argument, NULL, 's' },
		{ "ascending", no_argument, NULL, 'a' }, { "top", required_argument, NULL, 'N' },
		{ "hist", no_argument, NULL, O_HIST }, DAXTOP_CONFIG_OPTIONS,
		{ "help", no_argument, NULL, 'h' }, {}
	};
	int o, rc;

	a->interval_s = 1;
	daxtop_config_init(&a->cfg);
	a->vo.sort = COL_FAULTS;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":bo:i:d:n:p:c:g:s:aN:h", opts, NULL)) != -1) {
		rc = daxtop_config_opt(o, optarg, &a->cfg);
		if (rc == 1)
			rc = parse_opt(o, argv, a);
		if (rc)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
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
	void (*print)(FILE *, const struct daxtop_ctx *, const struct snapshot *,
		      const struct snapshot *, bool, bool) =
		a->json ? daxtop_print_json : daxtop_print_text;

	print_preamble(c, a->json);
	while (!exiting) {
		double left = a->duration_s ? a->duration_s - (mono_ns() - start) / 1e9 : a->interval_s;

		sleep_interruptible(left < a->interval_s ? left : a->interval_s);
		if (daxtop_advance(c))
			return EXIT_ERR;
		print(stdout, c, &c->cur, daxtop_base(c), false, a->hist);
		if ((a->count && ++n >= a->count) ||
		    (a->duration_s && (mono_ns() - start) / 1e9 >= a->duration_s - 1e-3))
			break;
	}
	/* Totals since attach: the last snapshot against nothing. */
	if (c->cur.rows)
		print(stdout, c, &c->cur, NULL, true, a->hist);
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
	c.resolve_paths = true;
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
