/* daxtrace export: the daxtop metric source. Runs daxtop's session in the
 * exporter's process; each collection folds finished rows into monotonic
 * series (export_model.c) and the writers turn them into counters per
 * device, and optionally per file or process. See docs/daxtrace-export.8. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "daxtop_session.h"
#include "export.h"
#include "mounts.h"
#include "paths.h"
#include "prom.h"
#include "util.h"

#define DEV_LIMIT	64	/* devices with their own series; more fold into "other" */
#define SERIES_IDLE_S	300.0	/* split series without rows or change this long are dropped */
#define HIST_FIRST_SLOT	10	/* first latency bucket: le = 1023 ns */

struct top_source {
	struct daxtop_ctx c;
	struct hook hooks[DAXTOP_NHOOKS];
	enum export_split split;
	struct series_set devs, split_set;
	uint64_t folded_exited, folded_idle;
	uint32_t map_entries, map_cap;
};

/* --- collection --- */

static bool pid_gone(uint32_t pid)
{
	return pid && kill(pid, 0) && errno == ESRCH;
}

static struct skey split_key(const struct top_source *t, const struct daxtop_key *k)
{
	if (t->split == SPLIT_FILE)
		return (struct skey){ k->dev, k->ino };
	return (struct skey){ k->pid, 0 };
}

static void split_label(const struct top_source *t, struct series *se, const struct view_row *v)
{
	const char *p;

	if (se->other || se->label[0])
		return;
	se->dev = v->key.dev;
	se->ino = v->key.ino;
	se->pid = v->key.pid;
	if (t->split == SPLIT_PID) {
		snprintf(se->label, sizeof(se->label), "%s", v->r.comm);
		return;
	}
	p = path_lookup(v->key.pid, v->key.dev, v->key.ino);
	if (p)
		snprintf(se->label, sizeof(se->label), "%s", p);
}

static struct series *dev_series(struct top_source *t, uint32_t dev)
{
	struct series *se = series_get(&t->devs, (struct skey){ dev, 0 }, NULL);

	se->dev = dev;
	return se;
}

/* A row of an exited process, or an idle one under map pressure, leaves
 * the map: its final values go to the retired sums. The rest is live. */
static void collect_row(struct top_source *t, const struct view_row *v, bool pressure,
			uint64_t prev_clock_ns)
{
	struct skey sk = split_key(t, &v->key);
	bool gone = pid_gone(v->key.pid);
	/* idle: no event since the previous collection */
	bool idle = pressure && v->r.last_ns < prev_clock_ns;
	struct series *se = NULL;
	struct daxtop_row fin;

	if (t->split) {
		se = series_get(&t->split_set, sk, NULL);
		split_label(t, se, v);
	}
	/* A row with counts in a CPU's row cache stays until they reach it:
	 * taken now, it would be made again and folded twice. */
	if ((gone || idle) && !v->cached && !daxtop_row_fold(&t->c, &v->key, &fin)) {
		if (se)
			acc_add_row(&series_get(&t->split_set, sk, NULL)->retired, &fin);
		acc_add_row(&dev_series(t, v->key.dev)->retired, &fin);
		gone ? t->folded_exited++ : t->folded_idle++;
		return;
	}
	t->map_entries++;
	if (se) {
		se = series_get(&t->split_set, sk, NULL);
		series_mark_live(&t->split_set, se, sk, &v->r);
	}
	series_mark_live(&t->devs, dev_series(t, v->key.dev), (struct skey){ v->key.dev, 0 }, &v->r);
}

static int top_collect(void *state)
{
	struct top_source *t = state;
	const struct snapshot *s = &t->c.cur;
	struct dax_mount m[16];
	int n;

	if (daxtop_advance(&t->c))
		return -1;
	t->map_cap = daxtop_row_capacity(&t->c);
	t->map_entries = 0;
	series_begin(&t->devs);
	if (t->split)
		series_begin(&t->split_set);
	for (int i = 0; i < s->n; i++)
		collect_row(t, &s->rows[i], s->n >= (int)t->map_cap / 2, s->prev_clock_ns);
	/* DAX-mounted devices get their series from the start, at zero. */
	n = mounts_read(m, 16, true);
	for (int i = 0; i < n; i++)
		if (daxtop_dev_wanted(&t->c, m[i].dev))
			dev_series(t, m[i].dev);
	series_end(&t->devs, mono_ns() / 1e9, 0);
	if (t->split)
		series_end(&t->split_set, mono_ns() / 1e9, SERIES_IDLE_S);
	return 0;
}

/* --- rendering --- */

/* Sum of retired and live sums of one series. */
static void series_acc(const struct series *se, struct acc *out)
{
	*out = se->retired;
	acc_merge(out, &se->live);
}

/* Which series a set holds: per device, or split per file or process. */
enum series_kind { SK_DEV, SK_FILE, SK_PID };

struct label_buf {
	char a[32], b[32];
};

/* Labels of a series (buf holds the strings); the rest, summed into
 * "other", is dev="other", file="other" or pid="other". */
static void series_labels(enum series_kind k, const struct series *se, struct prom_labels *l,
			  struct label_buf *buf)
{
	static const char *const other_label[] = { [SK_DEV] = "dev", [SK_FILE] = "file",
						   [SK_PID] = "pid" };

	memset(l, 0, sizeof(*l));
	if (se->other) {
		labels_add(l, other_label[k], "other");
		return;
	}
	if (k == SK_PID) {
		snprintf(buf->a, sizeof(buf->a), "%u", se->pid);
		labels_add(l, "pid", buf->a);
		labels_add(l, "comm", se->label);
		return;
	}
	kdev_str(se->dev, buf->a, sizeof(buf->a));
	labels_add(l, "dev", buf->a);
	if (k == SK_FILE) {
		snprintf(buf->b, sizeof(buf->b), "%llu", (unsigned long long)se->ino);
		labels_add(l, "ino", buf->b);
		labels_add(l, "file", se->label);
	}
}

/* A family's samples for one series: one per counter exported into it
 * (daxtop_counters), with its type label when it has one. */
static void counter_samples(struct prom *p, const char *name, enum daxtop_family fam,
			    const struct acc *a, const struct prom_labels *l)
{
	for (int i = 0; i < DT_NR_COUNTERS; i++) {
		const struct daxtop_counter_def *d = &daxtop_counters[i];
		struct prom_labels x = *l;
		uint64_t v = a->cnt[i];

		if (d->prom != fam)
			continue;
		if (d->prom_type)
			labels_add(&x, "type", d->prom_type);
		if (d->prom_bytes)
			v *= (uint64_t)sysconf(_SC_PAGESIZE);
		prom_u64(p, name, &x, v);
	}
}

/* A family is absent rather than a lying 0 when a counter of it has no hook. */
static bool family_missing(const struct top_source *t, enum daxtop_family fam)
{
	for (int i = 0; i < DT_NR_COUNTERS; i++)
		if (daxtop_counters[i].prom == fam && t->c.avail.missing[i])
			return true;
	return false;
}

/* What write_series writes: a counter family (enum daxtop_family), or: */
enum series_value { SV_BL_SECONDS = FAM_NR, SV_LATENCY };

/* One family's samples for every series of a set, and its "other" series
 * once something was summed into it. */
static void write_series(struct prom *p, const struct series_set *set, enum series_kind k,
			 const char *name, int what)
{
	struct label_buf buf;
	struct prom_labels l;
	struct acc a;

	for (int i = 0; i <= set->n; i++) {
		const struct series *se = i < set->n ? &set->v[i] : &set->other;

		if (i == set->n && !set->folded_total)
			break;
		series_acc(se, &a);
		series_labels(k, se, &l, &buf);
		if (what < FAM_NR)
			counter_samples(p, name, what, &a, &l);
		else if (what == SV_BL_SECONDS)
			prom_double(p, name, &l, a.bl_wait_ns / 1e9);
		else
			prom_hist(p, name, &l, &a.lat, HIST_FIRST_SLOT, 1e9, a.lat_ns / 1e9);
	}
}

static void write_devices(struct top_source *t, struct prom *p)
{
	for (int f = 0; f < FAM_NR; f++) {
		if (family_missing(t, f))
			continue;
		prom_family(p, daxtop_families[f].name, "counter", daxtop_families[f].help);
		write_series(p, &t->devs, SK_DEV, daxtop_families[f].name, f);
	}
	if (!t->c.avail.missing[DT_BL_WAITS]) {
		prom_family(p, "daxtrace_break_layouts_wait_seconds_total", "counter",
			    "Time spent in break_layouts waits that ended.");
		write_series(p, &t->devs, SK_DEV, "daxtrace_break_layouts_wait_seconds_total",
			     SV_BL_SECONDS);
	}
	prom_family(p, "daxtrace_fault_latency_seconds", "histogram",
		    "DAX fault latency (PTE and PMD faults, from fault start to done). Above "
		    "~2000 faults/s per CPU only a random sample of faults is timed (at least "
		    "1 in 64; --lat-all times all): _count is the faults timed, compare "
		    "daxtrace_faults_total for the total.");
	write_series(p, &t->devs, SK_DEV, "daxtrace_fault_latency_seconds", SV_LATENCY);
}

static void write_globals(struct top_source *t, struct prom *p)
{
	const struct snapshot *s = &t->c.cur;
	struct hist64 h = {};
	struct acc a;
	uint64_t bl_ns = 0;

	prom_family(p, "daxtrace_pmd_fallbacks_total", "counter",
		    "PMD faults that fell back to PTEs, by likely reason.");
	for (int i = 0; i < FB_NR; i++) {
		struct prom_labels l = {};

		labels_add(&l, "reason", daxtop_fallback_name(i));
		prom_u64(p, "daxtrace_pmd_fallbacks_total", &l, s->fallback[i]);
	}
	if (!t->c.avail.missing[DT_BL_WAITS]) {
		for (int i = 0; i < t->devs.n; i++) {
			series_acc(&t->devs.v[i], &a);
			bl_ns += a.bl_wait_ns;
		}
		series_acc(&t->devs.other, &a);
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
	prom_one_u64(p, "daxtrace_fault_latency_missed_total", "counter",
		    "Timed faults whose end their CPU did not see (the fault slept while "
		    "another began there, or moved CPU): counted, without a latency.",
		    s->drops[DROP_LAT_NO_START]);
	prom_one_u64(p, "daxtrace_row_map_entries", "gauge",
		    "Rows (process, file) in the kernel-side row map after the last collection.",
		    t->map_entries);
	prom_one_u64(p, "daxtrace_row_map_capacity", "gauge", "Size of the kernel-side row map (--max-rows).",
		    t->map_cap);
	prom_family(p, "daxtrace_rows_folded_total", "counter",
		    "Rows moved from the kernel map into user-space totals: their process exited, "
		    "or they were idle while the map was half full.");
	{
		struct prom_labels x = {}, i = {};

		labels_add(&x, "why", "exited");
		prom_u64(p, "daxtrace_rows_folded_total", &x, t->folded_exited);
		labels_add(&i, "why", "idle");
		prom_u64(p, "daxtrace_rows_folded_total", &i, t->folded_idle);
	}
}

static void write_split(struct top_source *t, struct prom *p)
{
	bool file = t->split == SPLIT_FILE;
	const char *fam = file ? "daxtrace_file_faults_total" : "daxtrace_process_faults_total";
	const char *blfam = file ? "daxtrace_file_break_layouts_wait_seconds_total" :
				   "daxtrace_process_break_layouts_wait_seconds_total";
	enum series_kind kind = file ? SK_FILE : SK_PID;

	prom_family(p, fam, "counter", file ?
		    "DAX faults per file and type (only with --per-file; at most "
		    "--max-series files, the rest in file=\"other\")." :
		    "DAX faults per process and type (only with --per-pid; at most "
		    "--max-series processes, the rest in pid=\"other\").");
	write_series(p, &t->split_set, kind, fam, FAM_FAULTS);
	if (!t->c.avail.missing[DT_BL_WAITS]) {
		prom_family(p, blfam, "counter", "Time in break_layouts waits that ended, per "
			    "file or process (split series, see the faults family).");
		write_series(p, &t->split_set, kind, blfam, SV_BL_SECONDS);
	}
	prom_family(p, "daxtrace_series", "gauge", "Per-file or per-process series exported now.");
	{
		struct prom_labels l = {};

		labels_add(&l, "kind", file ? "file" : "pid");
		prom_u64(p, "daxtrace_series", &l, t->split_set.n);
	}
	prom_one_u64(p, "daxtrace_series_limit", "gauge", "--max-series.",
		    t->split_set.limit);
	prom_one_u64(p, "daxtrace_series_folded_total", "counter",
		    "Files or processes summed into the \"other\" series because the limit was reached.",
		    t->split_set.folded_total);
	prom_one_u64(p, "daxtrace_series_retired_total", "counter",
		    "Series dropped after 300 s without rows in the kernel map and without change.",
		    t->split_set.retired_total);
}

static void top_write(void *state, struct prom *p)
{
	struct top_source *t = state;

	write_devices(t, p);
	write_globals(t, p);
	if (t->split)
		write_split(t, p);
}

static int top_drops(void *state, struct export_drop *out, int max)
{
	const struct daxtop_ctx *c = &((struct top_source *)state)->c;
	const struct snapshot *s = &c->cur;
	const struct export_drop d[] = {
		{ daxtop_drop_name(DROP_ROW_FULL), s->drops[DROP_ROW_FULL] },
		{ daxtop_drop_name(DROP_WAIT_FULL), s->drops[DROP_WAIT_FULL] },
		/* runs the kernel skipped (a program already running on that CPU) */
		{ "kernel_skipped", s->missed_runs },
	};
	/* kernel_skipped (last) unknown on this kernel: no series rather than 0 */
	size_t nd = sizeof(d) / sizeof(d[0]) - !c->skips_counted;
	int n = 0;

	for (size_t i = 0; i < nd && n < max; i++)
		out[n++] = d[i];
	return n;
}

static int top_hooks(void *state, const struct hook **out)
{
	struct top_source *t = state;

	*out = t->c.hooks;
	return t->c.nhooks;
}

static int top_start(void **state, const struct export_opts *o)
{
	struct top_source *t = calloc(1, sizeof(*t));

	if (!t) {
		warn_msg("daxtop metrics: out of memory");
		return -1;
	}
	*state = t;
	t->split = o->split;
	series_init(&t->devs, DEV_LIMIT);
	series_init(&t->split_set, o->max_series);
	if (daxtop_start(&t->c, t->hooks, &o->top))
		return -1;
	t->c.interval_s = o->interval_s;
	probe_warn_unavailable(t->hooks, DAXTOP_NHOOKS);
	return 0;
}

static void top_stop(void *state)
{
	struct top_source *t = state;

	daxtop_stop(&t->c);
	series_free(&t->devs);
	series_free(&t->split_set);
	free(t);
}

const struct export_source export_source_top = {
	.name = "top",
	.start = top_start,
	.collect = top_collect,
	.write = top_write,
	.stop = top_stop,
	.drops = top_drops,
	.hooks = top_hooks,
};
