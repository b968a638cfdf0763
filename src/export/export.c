/* daxtrace export: keep daxtop's probes attached and publish Prometheus
 * metrics over HTTP (GET /metrics) and/or as a node_exporter textfile.
 * See docs/daxtrace-export.8 for the metric list and the design. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "commands.h"
#include "daxtop_view.h"
#include "export.h"
#include "http.h"
#include "mounts.h"
#include "paths.h"
#include "preflight.h"
#include "prom.h"
#include "textfile.h"
#include "util.h"
#include "daxtop.skel.h"	/* after daxtop.h: the skeleton uses its types */

#define DEFAULT_LISTEN	"127.0.0.1:9476"
#define DEV_LIMIT	64	/* devices with their own series; more fold into "other" */
#define SERIES_IDLE_S	300.0	/* split series without rows or change this long are dropped */
#define HIST_FIRST_SLOT	10	/* first latency bucket: le = 1023 ns */

static const char *const fb_names[FB_NR] = { "misaligned", "cow", "vma_bounds", "eof", "extent",
						    "pte_entry", "other" };

struct exporter {
	struct export_opts o;
	struct daxtop_ctx c;
	struct hook hooks[DAXTOP_NHOOKS];
	bool started;
	struct series_set devs, split;
	uint64_t folded_exited, folded_idle;
	bool lad_unsupported;		/* lookup-and-delete not on this kernel */
	uint64_t bl_sum_ns;		/* break_layouts wait ns of folded rows, all devices */
	uint32_t map_entries, map_cap;
	double start_wall, last_wall, collect_s;
	uint64_t collections, textfile_errors;
	struct http_server http;
	bool http_on;
	const struct export_source *leak;
	void *leak_state;
	bool leak_up;
	struct textfile tf;
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: daxtrace export [OPTIONS]\n"
"Keep daxtop's probes attached and publish Prometheus metrics: over HTTP\n"
"(GET /metrics) and/or by atomically rewriting a node_exporter textfile.\n\n"
"  -l, --listen ADDR:PORT serve HTTP here (default " DEFAULT_LISTEN " unless only\n"
"                         --textfile is given); :PORT = every address\n"
"  -t, --textfile PATH    rewrite PATH (a .prom file) every interval\n"
"  -i, --interval SECS    collection interval (default 5)\n"
"      --per-file         also export per-file series (capped, see --max-series)\n"
"      --per-pid          also export per-process series (capped)\n"
"      --max-series N     per-file/per-pid series limit (default 100); the rest\n"
"                         are summed into file=\"other\" / pid=\"other\"\n"
"  -p, --pid PID          only this process\n"
"      --dev DEV          only this device (MAJ:MIN, /dev/pmemN or a DAX mount point)\n"
"      --max-rows N       size of the in-kernel row table (default 4096)\n"
"      --no-fentry        do not use fentry/fexit (use kprobes)\n"
"      --no-kprobe        do not use kprobes\n"
"      --lat-all          time every fault (default: a sample at high fault rates)\n"
"      --leak-min-age SECS count extra page references held this long (default 5)\n"
"      --no-leak          no daxleak metrics (extra references, waiters, hazards)\n"
"  -h, --help             this help\n");
}

static int parse_args(int argc, char **argv, struct export_opts *o)
{
	char why[160];
	enum { O_PERFILE = 256, O_PERPID, O_MAXSERIES, O_DEV, O_MAXROWS, O_NOFENTRY, O_NOKPROBE,
	       O_NOLEAK, O_LEAKMINAGE, O_LATALL };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "textfile", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' }, { "per-file", no_argument, NULL, O_PERFILE },
		{ "per-pid", no_argument, NULL, O_PERPID }, { "max-series", required_argument, NULL, O_MAXSERIES },
		{ "pid", required_argument, NULL, 'p' }, { "dev", required_argument, NULL, O_DEV },
		{ "max-rows", required_argument, NULL, O_MAXROWS },
		{ "no-fentry", no_argument, NULL, O_NOFENTRY }, { "no-kprobe", no_argument, NULL, O_NOKPROBE },
		{ "no-leak", no_argument, NULL, O_NOLEAK },
		{ "leak-min-age", required_argument, NULL, O_LEAKMINAGE },
		{ "lat-all", no_argument, NULL, O_LATALL },
		{ "help", no_argument, NULL, 'h' }, {}
	};
	uint64_t v;
	int c;

	o->interval_s = 5;
	o->max_series = 100;
	o->max_rows = 4096;
	o->dev = -1;
	o->leak_min_age_s = 5;	/* daxleak's --min-age default */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":l:t:i:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o->listen = optarg; break;
		case 't':
			if (!*optarg)
				return usage_error("empty --textfile path%s", "");
			o->textfile = optarg;
			break;
		case 'i':
			if (parse_seconds(optarg, &o->interval_s) || o->interval_s < 0.1 ||
			    o->interval_s > 3600)
				return usage_error("bad interval '%s': give 0.1 to 3600 seconds", optarg);
			break;
		case O_PERFILE:
		case O_PERPID: {
			enum export_split want = c == O_PERFILE ? SPLIT_FILE : SPLIT_PID;

			if (o->split && o->split != want)
				return usage_error("--per-file and --per-pid exclude each other%s", "");
			o->split = want;
			break;
		}
		case O_MAXSERIES:
			if (parse_u64(optarg, &v) || !v || v > 100000)
				return usage_error("bad --max-series '%s': give 1..100000", optarg);
			o->max_series = v;
			break;
		case 'p':
			if (parse_live_pid(optarg, &o->pid, why, sizeof(why)))
				return usage_error("%s", why);
			break;
		case O_DEV:
			if (parse_dax_dev(optarg, &o->dev, why, sizeof(why)))
				return usage_error("%s", why);
			break;
		case O_MAXROWS:
			if (parse_u64(optarg, &v) || v < 16 || v > 1 << 20)
				return usage_error("bad --max-rows '%s': give 16..1048576", optarg);
			o->max_rows = v;
			break;
		case O_NOFENTRY: o->no_fentry = true; break;
		case O_NOKPROBE: o->no_kprobe = true; break;
		case O_NOLEAK: o->no_leak = true; break;
		case O_LATALL: o->lat_all = true; break;
		case O_LEAKMINAGE:
			if (parse_seconds(optarg, &o->leak_min_age_s) || o->leak_min_age_s < 0 ||
			    o->leak_min_age_s > 86400)
				return usage_error("bad --leak-min-age '%s': give 0 to 86400 seconds", optarg);
			break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->listen && !o->textfile)
		o->listen = DEFAULT_LISTEN;
	return 0;
}

/* --- textfile (src/textfile.c: safe in a directory others own) --- */

static int textfile_prepare(struct exporter *e)
{
	char err[512];

	if (textfile_open(&e->tf, e->o.textfile, err, sizeof(err))) {
		warn_msg("%s", err);
		return -1;
	}
	return 0;
}

static int textfile_write(struct exporter *e, const char *data, size_t len)
{
	char err[512];

	if (!textfile_replace(&e->tf, data, len, err, sizeof(err)))
		return 0;
	if (!e->textfile_errors++)	/* say it once; the counter tells the rest */
		warn_msg("%s", err);
	return -1;
}

/* --- collection --- */

static bool pid_gone(uint32_t pid)
{
	return pid && kill(pid, 0) && errno == ESRCH;
}

/* Read a row's final values and remove it from the map in one step when
 * the kernel can (5.14+), else lookup then delete (an event landing in
 * between is lost; counted nowhere, but the row's owner is gone or idle). */
static int row_take(struct exporter *e, int fd, const struct daxtop_key *k, struct daxtop_row *r)
{
	if (!e->lad_unsupported) {
		if (!bpf_map_lookup_and_delete_elem(fd, k, r))
			return 0;
		if (errno == ENOENT)
			return -1;
		e->lad_unsupported = true;
	}
	if (bpf_map_lookup_elem(fd, k, r))
		return -1;
	return bpf_map_delete_elem(fd, k);
}

static struct skey split_key(const struct exporter *e, const struct daxtop_key *k)
{
	if (e->o.split == SPLIT_FILE)
		return (struct skey){ k->dev, k->ino };
	return (struct skey){ k->pid, 0 };
}

static void split_label(struct exporter *e, struct series *se, const struct view_row *v)
{
	const char *p;

	if (se->other || se->label[0])
		return;
	se->dev = v->key.dev;
	se->ino = v->key.ino;
	se->pid = v->key.pid;
	if (e->o.split == SPLIT_PID) {
		snprintf(se->label, sizeof(se->label), "%s", v->r.comm);
		return;
	}
	p = path_lookup(v->key.pid, v->key.dev, v->key.ino);
	if (p)
		snprintf(se->label, sizeof(se->label), "%s", p);
}

static int collect(struct exporter *e)
{
	struct daxtop_ctx *c = &e->c;
	struct snapshot s;
	int fd = bpf_map__fd(c->skel->maps.rows);
	uint64_t t0 = mono_ns();
	bool pressure;
	int live = 0;

	if (snapshot_take(c, &s))
		return -1;
	e->map_cap = bpf_map__max_entries(c->skel->maps.rows);
	pressure = s.n >= (int)e->map_cap / 2;
	series_begin(&e->devs);
	if (e->o.split)
		series_begin(&e->split);
	for (int i = 0; i < s.n; i++) {
		struct view_row *v = &s.rows[i];
		struct skey dk = { v->key.dev, 0 };
		bool gone = pid_gone(v->key.pid);
		/* idle: no event since the previous collection */
		bool idle = pressure && v->r.last_ns < s.prev_clock_ns;
		struct series *se;
		struct daxtop_row fin;

		if (e->o.split) {
			se = series_get(&e->split, split_key(e, &v->key), NULL);
			split_label(e, se, v);
		}
		/* A row with counts in a CPU's row cache stays until they reach
		 * it: taken now, it would be made again and folded twice. */
		if ((gone || idle) && !v->cached && !row_take(e, fd, &v->key, &fin)) {
			/* folded: final values into the retired sums */
			if (e->o.split) {
				se = series_get(&e->split, split_key(e, &v->key), NULL);
				acc_add_row(&se->retired, &fin);
			}
			se = series_get(&e->devs, dk, NULL);
			se->dev = v->key.dev;
			acc_add_row(&se->retired, &fin);
			gone ? e->folded_exited++ : e->folded_idle++;
			continue;
		}
		live++;
		if (e->o.split) {
			se = series_get(&e->split, split_key(e, &v->key), NULL);
			series_mark_live(&e->split, se, split_key(e, &v->key), &v->r);
		}
		se = series_get(&e->devs, dk, NULL);
		se->dev = v->key.dev;
		series_mark_live(&e->devs, se, dk, &v->r);
	}
	e->map_entries = live;
	/* DAX-mounted devices get their series from the start, at zero. */
	{
		struct dax_mount m[16];
		int n = mounts_read(m, 16, true);

		for (int i = 0; i < n; i++) {
			struct series *se;

			if (c->skel->rodata->targ_dev && m[i].dev != c->skel->rodata->targ_dev)
				continue;
			se = series_get(&e->devs, (struct skey){ m[i].dev, 0 }, NULL);
			se->dev = m[i].dev;
		}
	}
	series_end(&e->devs, mono_ns() / 1e9, 0);
	if (e->o.split)
		series_end(&e->split, mono_ns() / 1e9, SERIES_IDLE_S);
	c->cur = s;	/* kept for the histograms and global counters */
	snapshot_free(&c->prev);
	c->prev = c->cur;
	memset(&c->cur, 0, sizeof(c->cur));
	if (e->leak_state && e->leak->collect)
		e->leak_up = !e->leak->collect(e->leak_state);
	e->collections++;
	e->last_wall = wall_seconds();
	e->collect_s = (mono_ns() - t0) / 1e9;
	return 0;
}

/* --- rendering --- */

static void dev_name(uint32_t dev, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", kdev_major(dev), kdev_minor(dev));
}

static void write_info(struct exporter *e, struct prom *p)
{
	struct prom_labels l = {};
	const struct daxtop_ctx *c = &e->c;
	struct dax_mount m[16];
	int n;

	prom_family(p, "daxtrace_build_info", "gauge",
		    "daxtrace version, running kernel and DAX refcount era; always 1.");
	labels_add(&l, "version", daxtrace_version);
	labels_add(&l, "kernel", c->kernel);
	labels_add(&l, "era", c->era.era == ERA_ZERO_BASED ? "zero-based" :
		   c->era.era == ERA_ONE_BASED ? "one-based" : "unknown");
	prom_u64(p, "daxtrace_build_info", &l, 1);

	prom_one_double(p, "daxtrace_start_time_seconds", "gauge",
		    "Unix time when the probes were attached (counters count from here).",
		    e->start_wall);
	prom_one_double(p, "daxtrace_last_update_timestamp_seconds", "gauge",
		    "Unix time of the collection these values come from.",
		    e->last_wall);
	prom_one_double(p, "daxtrace_collect_duration_seconds", "gauge",
		    "How long the last collection took.",
		    e->collect_s);

	prom_family(p, "daxtrace_probe_attached", "gauge",
		    "1 when the hook is attached (method: tracepoint, fentry, kprobe), 0 when "
		    "unavailable on this kernel (method none).");
	for (int i = 0; i < c->nhooks; i++) {
		struct prom_labels h = {};

		labels_add(&h, "tool", "top");
		labels_add(&h, "hook", c->hooks[i].func);
		labels_add(&h, "method", probe_method_name(c->hooks[i].method));
		prom_u64(p, "daxtrace_probe_attached", &h, c->hooks[i].method != PM_NONE);
	}

	prom_family(p, "daxtrace_source_up", "gauge",
		    "1 when a metric source works, 0 when it failed: top (daxtop probes), leak "
		    "(daxleak; absent with --no-leak).");
	{
		struct prom_labels t = {}, k = {};

		labels_add(&t, "source", "top");
		prom_u64(p, "daxtrace_source_up", &t, 1);
		/* --no-leak: absent, so 0 always means a source that failed */
		labels_add(&k, "source", "leak");
		if (!e->o.no_leak)
			prom_u64(p, "daxtrace_source_up", &k, e->leak_up);
	}

	prom_family(p, "daxtrace_device_info", "gauge",
		    "DAX-mounted filesystems: device, mount point, type and dax mode; always 1.");
	n = mounts_read(m, 16, true);
	for (int i = 0; i < n; i++) {
		struct prom_labels d = {};
		char dev[24];

		dev_name(m[i].dev, dev, sizeof(dev));
		labels_add(&d, "dev", dev);
		labels_add(&d, "mountpoint", m[i].target);
		labels_add(&d, "source", m[i].source);
		labels_add(&d, "fstype", m[i].fstype);
		labels_add(&d, "dax", m[i].dax);
		prom_u64(p, "daxtrace_device_info", &d, 1);
	}
}

/* Sum of retired and live sums of one series. */
static void series_acc(const struct series *se, struct acc *out)
{
	*out = se->retired;
	acc_merge(out, &se->live);
}

static const struct {
	int cnt;
	const char *type;
} fault_types[] = {
	{ DT_PTE, "pte" }, { DT_PMD, "pmd" }, { DT_PMD_FALLBACK, "pmd_fallback" },
	{ DT_MKWRITE, "mkwrite" }, { DT_HOLE, "hole" },
};

/* Labels of a device series; buf holds the strings. */
static void dev_labels(const struct series *se, struct prom_labels *l, char *buf, size_t len)
{
	memset(l, 0, sizeof(*l));
	if (se->other)
		snprintf(buf, len, "other");
	else
		dev_name(se->dev, buf, len);
	labels_add(l, "dev", buf);
}

static void for_devs(struct exporter *e, void (*fn)(struct exporter *, struct prom *,
		     const struct series *, const struct acc *, struct prom_labels *),
		     struct prom *p)
{
	char dev[24];
	struct prom_labels l;
	struct acc a;

	for (int i = 0; i < e->devs.n; i++) {
		series_acc(&e->devs.v[i], &a);
		dev_labels(&e->devs.v[i], &l, dev, sizeof(dev));
		fn(e, p, &e->devs.v[i], &a, &l);
	}
	if (e->devs.folded_total) {
		series_acc(&e->devs.other, &a);
		dev_labels(&e->devs.other, &l, dev, sizeof(dev));
		fn(e, p, &e->devs.other, &a, &l);
	}
}

static void w_faults(struct exporter *e, struct prom *p, const struct series *se,
		     const struct acc *a, struct prom_labels *l)
{
	for (size_t t = 0; t < sizeof(fault_types) / sizeof(fault_types[0]); t++) {
		struct prom_labels x = *l;

		labels_add(&x, "type", fault_types[t].type);
		prom_u64(p, "daxtrace_faults_total", &x, a->cnt[fault_types[t].cnt]);
	}
}

static void w_writes(struct exporter *e, struct prom *p, const struct series *se,
		     const struct acc *a, struct prom_labels *l)
{
	prom_u64(p, "daxtrace_write_faults_total", l, a->cnt[DT_WRITE]);
}

static void w_wb(struct exporter *e, struct prom *p, const struct series *se,
		 const struct acc *a, struct prom_labels *l)
{
	prom_u64(p, "daxtrace_writeback_bytes_total", l,
		 a->cnt[DT_WB_PAGES] * (uint64_t)sysconf(_SC_PAGESIZE));
}

static void w_unmap(struct exporter *e, struct prom *p, const struct series *se,
		    const struct acc *a, struct prom_labels *l)
{
	prom_u64(p, "daxtrace_unmaps_total", l, a->cnt[DT_UNMAP]);
}

static void w_bl(struct exporter *e, struct prom *p, const struct series *se,
		 const struct acc *a, struct prom_labels *l)
{
	prom_u64(p, "daxtrace_break_layouts_waits_total", l, a->cnt[DT_BL_WAITS]);
}

static void w_bls(struct exporter *e, struct prom *p, const struct series *se,
		  const struct acc *a, struct prom_labels *l)
{
	prom_double(p, "daxtrace_break_layouts_wait_seconds_total", l, a->bl_wait_ns / 1e9);
}

static void w_lat(struct exporter *e, struct prom *p, const struct series *se,
		  const struct acc *a, struct prom_labels *l)
{
	prom_hist(p, "daxtrace_fault_latency_seconds", l, &a->lat, HIST_FIRST_SLOT, 1e9,
		  a->lat_ns / 1e9);
}

static void write_devices(struct exporter *e, struct prom *p)
{
	prom_family(p, "daxtrace_faults_total", "counter",
		    "DAX faults by device and type: pte (4 KiB mapped), pmd (2 MiB mapped), "
		    "pmd_fallback (PMD fault fell back to PTEs), mkwrite (MAP_SYNC write fault "
		    "that synced file metadata before mapping the page, also counted as pte or pmd), hole (read of a sparse range mapped to the zero page).");
	for_devs(e, w_faults, p);
	prom_family(p, "daxtrace_write_faults_total", "counter",
		    "Completed PTE and PMD faults with FAULT_FLAG_WRITE.");
	for_devs(e, w_writes, p);
	prom_family(p, "daxtrace_writeback_bytes_total", "counter",
		    "Bytes of DAX mappings written back (cache flushed) by dax_writeback_one.");
	for_devs(e, w_wb, p);
	/* Absent rather than a lying 0 when the hook is unavailable. */
	if (e->c.avail.unmap) {
		prom_family(p, "daxtrace_unmaps_total", "counter",
			    "Zaps of DAX file mapping ranges (munmap, truncate, exit).");
		for_devs(e, w_unmap, p);
	}
	if (e->c.avail.blwait) {
		prom_family(p, "daxtrace_break_layouts_waits_total", "counter",
			    "break_layouts waits (truncate/punch hole waiting for pinned DAX pages) "
			    "that ended.");
		for_devs(e, w_bl, p);
		prom_family(p, "daxtrace_break_layouts_wait_seconds_total", "counter",
			    "Time spent in break_layouts waits that ended.");
		for_devs(e, w_bls, p);
	}
	prom_family(p, "daxtrace_fault_latency_seconds", "histogram",
		    "DAX fault latency (PTE and PMD faults, from fault start to done). Above "
		    "~2000 faults/s per CPU only a random sample of faults is timed (at least "
		    "1 in 64; --lat-all times all): _count is the faults timed, compare "
		    "daxtrace_faults_total for the total.");
	for_devs(e, w_lat, p);
}

static void write_drop(struct prom *p, const char *source, const char *reason, uint64_t n)
{
	struct prom_labels l = {};

	labels_add(&l, "source", source);
	labels_add(&l, "reason", reason);
	prom_u64(p, "daxtrace_events_dropped_total", &l, n);
}

static void write_globals(struct exporter *e, struct prom *p)
{
	const struct snapshot *s = &e->c.prev;
	static const char *const drop_reason[DROP_NR] = { "row_map_full", NULL, "wait_map_full" };
	struct hist64 h = {};
	struct acc a;
	uint64_t bl_ns = 0;

	prom_family(p, "daxtrace_pmd_fallbacks_total", "counter",
		    "PMD faults that fell back to PTEs, by likely reason.");
	for (int i = 0; i < FB_NR; i++) {
		struct prom_labels l = {};

		labels_add(&l, "reason", fb_names[i]);
		prom_u64(p, "daxtrace_pmd_fallbacks_total", &l, s->fallback[i]);
	}
	if (e->c.avail.blwait) {
		for (int i = 0; i < e->devs.n; i++) {
			series_acc(&e->devs.v[i], &a);
			bl_ns += a.bl_wait_ns;
		}
		series_acc(&e->devs.other, &a);
		bl_ns += a.bl_wait_ns;
		hist64_add(&h, &s->hists[H_BL_WAIT]);
		prom_family(p, "daxtrace_break_layouts_wait_duration_seconds", "histogram",
			    "Duration of break_layouts waits that ended, all devices. _sum misses "
			    "waits counted in daxtrace_events_dropped_total{source=\"top\",reason=\"row_map_full\"}.");
		prom_hist(p, "daxtrace_break_layouts_wait_duration_seconds", NULL, &h,
			  HIST_FIRST_SLOT, 1e9, bl_ns / 1e9);
	}
	prom_one_u64(p, "daxtrace_events_total", "counter",
		    "DAX events seen by the probes (faults, mkwrite, holes, writeback, unmaps).",
		    s->events);
	prom_family(p, "daxtrace_events_dropped_total", "counter",
		    "Events not counted, or counted without detail, because a kernel-side map or "
		    "buffer was full or the kernel skipped a program run, by source (top, leak) "
		    "and reason.");
	for (int i = 0; i < DROP_NR; i++)
		if (drop_reason[i])
			write_drop(p, "top", drop_reason[i], s->drops[i]);
	/* Runs the kernel skipped (a program already running on that CPU). */
	write_drop(p, "top", "kernel_skipped", s->missed_runs);
	if (e->leak_state && e->leak->drops) {
		struct export_drop d[16];
		int n = e->leak->drops(e->leak_state, d, 16);

		for (int i = 0; i < n; i++)
			write_drop(p, e->leak->name, d[i].reason, d[i].n);
	}
	prom_one_u64(p, "daxtrace_fault_latency_missed_total", "counter",
		    "Timed faults whose end their CPU did not see (the fault slept while "
		    "another began there, or moved CPU): counted, without a latency.",
		    s->drops[DROP_LAT_NO_START]);
	prom_one_u64(p, "daxtrace_row_map_entries", "gauge",
		    "Rows (process, file) in the kernel-side row map after the last collection.",
		    e->map_entries);
	prom_one_u64(p, "daxtrace_row_map_capacity", "gauge", "Size of the kernel-side row map (--max-rows).",
		    e->map_cap);
	prom_family(p, "daxtrace_rows_folded_total", "counter",
		    "Rows moved from the kernel map into user-space totals: their process exited, "
		    "or they were idle while the map was half full.");
	{
		struct prom_labels x = {}, i = {};

		labels_add(&x, "why", "exited");
		prom_u64(p, "daxtrace_rows_folded_total", &x, e->folded_exited);
		labels_add(&i, "why", "idle");
		prom_u64(p, "daxtrace_rows_folded_total", &i, e->folded_idle);
	}
}

static void write_split(struct exporter *e, struct prom *p)
{
	bool file = e->o.split == SPLIT_FILE;
	const char *fam = file ? "daxtrace_file_faults_total" : "daxtrace_process_faults_total";
	const char *blfam = file ? "daxtrace_file_break_layouts_wait_seconds_total" :
				   "daxtrace_process_break_layouts_wait_seconds_total";
	const char *kind = file ? "file" : "pid";

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && !e->c.avail.blwait)
			break;
		if (pass == 0)
			prom_family(p, fam, "counter", file ?
				    "DAX faults per file and type (only with --per-file; at most "
				    "--max-series files, the rest in file=\"other\")." :
				    "DAX faults per process and type (only with --per-pid; at most "
				    "--max-series processes, the rest in pid=\"other\").");
		else
			prom_family(p, blfam, "counter", "Time in break_layouts waits that ended, per "
				    "file or process (split series, see the faults family).");
		for (int i = 0; i <= e->split.n; i++) {
			const struct series *se = i < e->split.n ? &e->split.v[i] : &e->split.other;
			struct prom_labels l = {};
			char a[32], b[32];
			struct acc acc;

			if (i == e->split.n && !e->split.folded_total)
				break;
			series_acc(se, &acc);
			if (se->other) {
				labels_add(&l, kind, "other");
			} else if (file) {
				dev_name(se->dev, a, sizeof(a));
				snprintf(b, sizeof(b), "%llu", (unsigned long long)se->ino);
				labels_add(&l, "dev", a);
				labels_add(&l, "ino", b);
				labels_add(&l, "file", se->label);
			} else {
				snprintf(a, sizeof(a), "%u", se->pid);
				labels_add(&l, "pid", a);
				labels_add(&l, "comm", se->label);
			}
			if (pass == 1) {
				prom_double(p, blfam, &l, acc.bl_wait_ns / 1e9);
				continue;
			}
			for (size_t t = 0; t < sizeof(fault_types) / sizeof(fault_types[0]); t++) {
				struct prom_labels x = l;

				labels_add(&x, "type", fault_types[t].type);
				prom_u64(p, fam, &x, acc.cnt[fault_types[t].cnt]);
			}
		}
	}
	prom_family(p, "daxtrace_series", "gauge", "Per-file or per-process series exported now.");
	{
		struct prom_labels l = {};

		labels_add(&l, "kind", kind);
		prom_u64(p, "daxtrace_series", &l, e->split.n);
	}
	prom_one_u64(p, "daxtrace_series_limit", "gauge", "--max-series.",
		    e->split.limit);
	prom_one_u64(p, "daxtrace_series_folded_total", "counter",
		    "Files or processes summed into the \"other\" series because the limit was reached.",
		    e->split.folded_total);
	prom_one_u64(p, "daxtrace_series_retired_total", "counter",
		    "Series dropped after 300 s without rows in the kernel map and without change.",
		    e->split.retired_total);
}

static void write_self(struct exporter *e, struct prom *p)
{
	static const char *const cls[5] = { NULL, "2xx", NULL, "4xx", "5xx" };

	if (e->o.textfile) {
		prom_one_u64(p, "daxtrace_textfile_errors_total", "counter",
			    "Failed rewrites of the --textfile.",
			    e->textfile_errors);
	}
	if (!e->http_on)
		return;
	prom_family(p, "daxtrace_http_requests_total", "counter",
		    "HTTP requests answered, by status class.");
	for (int i = 0; i < 5; i++) {
		struct prom_labels l = {};

		if (!cls[i])
			continue;
		labels_add(&l, "code", cls[i]);
		prom_u64(p, "daxtrace_http_requests_total", &l, e->http.stats.requests[i]);
	}
	prom_one_u64(p, "daxtrace_http_timeouts_total", "counter",
		    "HTTP connections closed because the client was too slow: nothing sent in "
		    "2 s, no whole exchange in 5 s, or the oldest such when all 64 slots were taken.",
		    e->http.stats.requests[5]);
	prom_one_u64(p, "daxtrace_http_rejected_total", "counter",
		    "HTTP connections refused with 503 because all 64 slots were sending answers.",
		    e->http.stats.rejected);
}

/* The whole exposition into a malloc'ed buffer. */
static int render(struct exporter *e, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	struct prom p;

	if (!f)
		return -1;
	prom_init(&p, f);
	write_info(e, &p);
	write_devices(e, &p);
	write_globals(e, &p);
	if (e->o.split)
		write_split(e, &p);
	if (e->leak_state && e->leak->write)
		e->leak->write(e->leak_state, &p);
	write_self(e, &p);
	if (fclose(f))
		return -1;
	return 0;
}

static int publish(struct exporter *e)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = 0;

	if (render(e, &buf, &len)) {
		warn_msg("cannot render metrics: %s", strerror(errno));
		return -1;
	}
	if (e->http_on && http_set_metrics(&e->http, buf, len))
		rc = -1;
	if (e->o.textfile)
		textfile_write(e, buf, len);
	free(buf);
	return rc;
}

static void leak_start(struct exporter *e)
{
	/* Weak: a build without src/export_leak.c has no leak source
	 * (daxtrace_source_up{source="leak"} 0). */
	if (e->o.no_leak || !&export_source_leak)
		return;
	e->leak = &export_source_leak;
	if (e->leak->start(&e->leak_state, &e->o)) {
		warn_msg("leak metrics unavailable (see above); daxtop metrics continue");
		e->leak_state = NULL;
		return;
	}
	e->leak_up = true;
}

int cmd_export(int argc, char **argv)
{
	struct exporter *e = calloc(1, sizeof(*e));
	struct daxtop_config cfg = {};
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	char err[256], where[512];
	uint64_t next;
	int rc;

	if (!e)
		return EXIT_ERR;
	rc = parse_args(argc, argv, &e->o);
	if (rc)
		goto out;
	if (e->o.listen && http_parse_listen(e->o.listen, &ss, &sslen, err, sizeof(err))) {
		rc = usage_error("%s", err);
		goto out;
	}
	rc = EXIT_ERR;
	if (preflight_check())
		goto out;
	/* Cheap runtime failures before loading anything. */
	if (e->o.listen) {
		if (http_listen(&e->http, &ss, sslen, err, sizeof(err))) {
			warn_msg("%s", err);
			goto out;
		}
		e->http_on = true;
	}
	if (e->o.textfile && textfile_prepare(e))
		goto out;
	install_exit_signals();
	signal(SIGPIPE, SIG_IGN);
	cfg.pid = e->o.pid;
	cfg.dev = e->o.dev;
	cfg.max_rows = e->o.max_rows;
	cfg.no_fentry = e->o.no_fentry;
	cfg.no_kprobe = e->o.no_kprobe;
	cfg.lat_all = e->o.lat_all;
	if (daxtop_start(&e->c, e->hooks, &cfg))
		goto stop;
	e->started = true;
	e->c.interval_s = e->o.interval_s;
	e->start_wall = wall_seconds();
	series_init(&e->devs, DEV_LIMIT);
	series_init(&e->split, e->o.max_series);
	probe_warn_unavailable(e->hooks, DAXTOP_NHOOKS);
	leak_start(e);
	if (collect(e) || publish(e))
		goto stop;
	where[0] = 0;
	if (e->http_on)
		snprintf(where, sizeof(where), "listening on http://%s/metrics", e->http.bound);
	if (e->o.textfile)
		snprintf(where + strlen(where), sizeof(where) - strlen(where), "%stextfile %s",
			 e->http_on ? ", " : "", e->o.textfile);
	fprintf(stderr, "%s: ready (%s; %s; every %gs)\n", prog_name, e->c.hooksum, where,
		e->o.interval_s);
	next = mono_ns() + (uint64_t)(e->o.interval_s * 1e9);
	rc = EXIT_OK;
	while (!exiting) {
		uint64_t now = mono_ns();

		if (now >= next) {
			if (collect(e) || publish(e)) {
				rc = EXIT_ERR;
				break;
			}
			next += (uint64_t)(e->o.interval_s * 1e9);
			if (next <= now)
				next = now + (uint64_t)(e->o.interval_s * 1e9);
			continue;
		}
		if (e->http_on)
			http_poll(&e->http, (int)((next - now) / 1000000) + 1);
		else
			sleep_interruptible((next - now) / 1e9);
	}
	/* A stopped exporter leaves no stale textfile behind. */
	if (e->o.textfile)
		textfile_close(&e->tf, rc == EXIT_OK);
stop:
	if (e->leak_state && e->leak->stop)
		e->leak->stop(e->leak_state);
	daxtop_stop(&e->c);
	series_free(&e->devs);
	series_free(&e->split);
out:
	if (e->http_on)
		http_close(&e->http);
	if (e->o.textfile)
		textfile_close(&e->tf, false);	/* closed already, or never written */
	free(e);
	return rc;
}
