/* daxtrace export: the daxleak metric source. Runs daxleak's probes in the
 * exporter's process and turns each collection into gauges (extra
 * references older than --leak-min-age, break_layouts waiters by state)
 * and counters (era hazards, losses). See docs/daxtrace-export.8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "daxleak_int.h"
#include "export.h"
#include "prom.h"
#include "util.h"

struct leak_source {
	struct leak_ctx c;
	double min_age_s;
	struct waiter_seen *seen;
	size_t nseen;
	struct leak_summary sum;
};

/* --- the gauges (pure: unit-tested on a hand-made ctx) --- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* daxleak's rule: a page counts when both its taking and its release can
 * be seen; one seen at start (taken before we attached) needs only the
 * release side. */
static bool counted(const struct leak_ctx *c, const struct leak_entry *e)
{
	return c->caps.leaks || ((e->v.flags & DL_SEEN_AT_START) && c->caps.release_seen);
}

/* Pages and distinct folios with extra references at least min_age old:
 * on 6.15+ the subpages GUP returned share their large folio. */
static int sum_extra_refs(const struct leak_ctx *c, double min_age_s, struct leak_summary *out)
{
	uint64_t *folios;

	if (!c->nents)
		return 0;
	folios = malloc(c->nents * sizeof(*folios));
	if (!folios)
		return -1;
	for (size_t i = 0; i < c->nents; i++) {
		const struct leak_entry *e = &c->ents[i];

		if (e->extra <= 0 || e->age_s < min_age_s || !counted(c, e))
			continue;
		folios[out->pages++] = e->v.folio ? e->v.folio : e->page;
		if (e->age_s > out->oldest_s)
			out->oldest_s = e->age_s;
	}
	qsort(folios, out->pages, sizeof(*folios), cmp_u64);
	for (uint64_t i = 0; i < out->pages; i++)
		out->folios += !i || folios[i] != folios[i - 1];
	free(folios);
	return 0;
}

static uint64_t first_seen(const struct waiter_seen *seen, size_t n, uint32_t tid, uint64_t now_ns)
{
	for (size_t i = 0; i < n; i++)
		if (seen[i].tid == tid)
			return seen[i].first_ns;
	return now_ns;
}

/* Asleep waiters by state; a wait's length is the hook's start when it saw
 * one, else at least the time since this exporter first saw the task. */
static int sum_waiters(const struct leak_ctx *c, uint64_t now_ns, struct waiter_seen **seen,
		       size_t *nseen, struct leak_summary *out)
{
	struct waiter_seen *next = calloc(c->nwaiters + 1, sizeof(*next));
	size_t n = 0;

	if (!next)
		return -1;
	for (size_t i = 0; i < c->nwaiters; i++) {
		const struct waiter_rec *w = &c->waiters[i];
		uint64_t first;
		double waited;

		if (w->state != 'S' && w->state != 'D')
			continue;	/* just woken: no longer waiting */
		w->state == 'D' ? out->waiters_d++ : out->waiters_s++;
		first = first_seen(*seen, *nseen, w->w.tid, now_ns);
		next[n++] = (struct waiter_seen){ w->w.tid, first };
		waited = (now_ns - first) / 1e9;
		if (w->waited_s > waited)
			waited = w->waited_s;
		if (waited > out->oldest_waiter_s)
			out->oldest_waiter_s = waited;
	}
	free(*seen);
	*seen = next;
	*nseen = n;
	return 0;
}

int leak_summarize(const struct leak_ctx *c, double min_age_s, uint64_t now_ns,
		   struct waiter_seen **seen, size_t *nseen, struct leak_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (sum_extra_refs(c, min_age_s, out))
		return -1;
	return sum_waiters(c, now_ns, seen, nseen, out);
}

/* --- the source --- */

static int leak_src_start(void **state, const struct export_opts *o)
{
	struct leak_source *s = calloc(1, sizeof(*s));
	struct leak_args a = {
		.interval_s = o->interval_s, .min_age_s = o->leak_min_age_s,
		.max_folios = DL_DEF_MAX_FOLIOS, .max_stacks = DL_DEF_MAX_STACKS,
		.top = 10, .max_rows = 32, .no_fentry = o->top.no_fentry, .no_kprobe = o->top.no_kprobe,
		/* an exporter (re)started during an incident sees what is stuck already */
		.scan_at_start = true,
	};

	if (!s) {
		warn_msg("leak metrics: out of memory");
		return -1;
	}
	s->min_age_s = o->leak_min_age_s;
	if (daxleak_start(&s->c, &a)) {
		daxleak_stop(&s->c);
		free(s);
		return -1;
	}
	/* Say once what the leak gauges cannot see on this kernel, and what
	 * was stuck before we started. */
	leak_caps_explain(stderr, &s->c);
	leak_print_start_scan(stderr, &s->c);
	*state = s;
	return 0;
}

static int leak_src_collect(void *state)
{
	struct leak_source *s = state;

	if (leak_collect(&s->c))
		return -1;
	return leak_summarize(&s->c, s->min_age_s, s->c.collect_ns ? s->c.collect_ns : mono_ns(),
			      &s->seen, &s->nseen, &s->sum);
}

/* Hazard label values: daxleak's anomaly names, shortened. */
static const char *const hazard_kind[DLA_NR] = {
	[DLA_UNDERFLOW] = "underflow", [DLA_NEGATIVE] = "negative",
	[DLA_BELOW_IDLE] = "below_idle", [DLA_FREED_MAPPED] = "freed_mapped",
	[DLA_REUSED] = "reused", [DLA_DISASSOC_BUSY] = "disassociated",
};

static void one_label(struct prom *p, const char *name, const char *label, const char *value,
		      uint64_t v)
{
	struct prom_labels l = {};

	labels_add(&l, label, value);
	prom_u64(p, name, &l, v);
}

static void write_caps(struct leak_source *s, struct prom *p)
{
	const struct leak_caps *k = &s->c.caps;
	const struct { const char *name; bool on; } caps[] = {
		{ "acquire", k->acquire }, { "vmsplice", k->vmsplice },
		{ "release_exact", k->release_exact }, { "free_hook", k->free_hook },
		{ "scan", k->scan }, { "busy_page", k->busy }, { "leaks", k->leaks },
	};

	prom_family(p, "daxtrace_leak_capability", "gauge",
		    "What the daxleak probes can see on this kernel (1) or not (0): acquire (a "
		    "get_user_pages hook), vmsplice, release_exact, free_hook, scan (refcount "
		    "iterator), busy_page (waiter's page and holder), leaks (extra references "
		    "are counted: the daxtrace_leak_extra_ref_* gauges exist).");
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		one_label(p, "daxtrace_leak_capability", "capability", caps[i].name, caps[i].on);
}

static void write_extra_refs(struct leak_source *s, struct prom *p)
{
	prom_one_double(p, "daxtrace_leak_min_age_seconds", "gauge",
		    "--leak-min-age: extra references younger than this are not counted.",
		    s->min_age_s);
	/* Absent rather than a lying 0 when no acquisition could be seen. */
	if (!s->c.caps.leaks)
		return;
	prom_one_u64(p, "daxtrace_leak_extra_ref_folios", "gauge",
		    "DAX folios with extra references (get_user_pages, vmsplice, O_DIRECT) held "
		    "longer than daxtrace_leak_min_age_seconds.",
		    s->sum.folios);
	prom_one_u64(p, "daxtrace_leak_extra_ref_pages", "gauge",
		    "Pages taken by get_user_pages in those folios (more than the folios for "
		    "large folios, 6.15+).",
		    s->sum.pages);
	prom_one_double(p, "daxtrace_leak_oldest_extra_ref_age_seconds", "gauge",
		    "Age of the oldest of those extra references; 0 when none.",
		    s->sum.oldest_s);
}

static void write_waiters(struct leak_source *s, struct prom *p)
{
	prom_family(p, "daxtrace_break_layouts_waiters", "gauge",
		    "Tasks asleep in a DAX break_layouts wait (truncate, punch hole, reflink, "
		    "eviction) now, by state: S interruptible, D uninterruptible.");
	one_label(p, "daxtrace_break_layouts_waiters", "state", "S", s->sum.waiters_s);
	one_label(p, "daxtrace_break_layouts_waiters", "state", "D", s->sum.waiters_d);
	prom_one_double(p, "daxtrace_break_layouts_oldest_waiter_seconds", "gauge",
		    "How long the longest current break_layouts waiter has waited; 0 when none. "
		    "A wait older than the exporter counts from when the scan at start found "
		    "the task asleep; one seen without the busy-page hook, from when the "
		    "exporter first saw it.",
		    s->sum.oldest_waiter_s);
}

/* One series per current waiter, named by blwait.c's vocabulary (the
 * names daxleak and daxleak --now print for the same task). */
#define MAX_WAITER_SERIES 64
static void write_each_waiter(struct leak_source *s, struct prom *p)
{
	uint64_t now = s->c.collect_ns ? s->c.collect_ns : mono_ns();
	size_t shown = 0;

	prom_family(p, "daxtrace_break_layouts_waiter_seconds", "gauge",
		    "Each task asleep in a DAX break_layouts wait now (at most 64), how long it "
		    "has waited, with its operation: truncate, punch, collapse, zero, insert, "
		    "unshare, write-zeroes, allocate, fallocate (mode unknown), remap, evict, "
		    "unknown (see daxleak(8), OPERATIONS).");
	for (size_t i = 0; i < s->c.nwaiters && shown < MAX_WAITER_SERIES; i++) {
		const struct waiter_rec *w = &s->c.waiters[i];
		struct prom_labels l = {};
		char pid[16], tid[16], st[2] = { w->state, 0 };
		double waited = (now - first_seen(s->seen, s->nseen, w->w.tid, now)) / 1e9;

		if (w->state != 'S' && w->state != 'D')
			continue;
		snprintf(pid, sizeof(pid), "%u", w->w.pid);
		snprintf(tid, sizeof(tid), "%u", w->w.tid);
		labels_add(&l, "pid", pid);
		labels_add(&l, "tid", tid);
		labels_add(&l, "comm", w->w.comm);
		labels_add(&l, "op", blw_op_name(w->op));
		labels_add(&l, "state", st);
		prom_double(p, "daxtrace_break_layouts_waiter_seconds", &l,
			    w->waited_s > waited ? w->waited_s : waited);
		shown++;
	}
}

static void write_hazards(struct leak_source *s, struct prom *p)
{
	prom_family(p, "daxtrace_leak_hazards_total", "counter",
		    "DAX refcount hazards seen (kernel or driver bugs), by kind: underflow (a put "
		    "below the era's idle count), negative (refcount < 0), below_idle, "
		    "freed_mapped (6.15+: freed while mapped), reused (a held page taken for "
		    "another file offset), disassociated (up to 6.14: truncated while referenced).");
	for (int t = 0; t < DLA_NR; t++)
		one_label(p, "daxtrace_leak_hazards_total", "kind", hazard_kind[t],
			  s->c.anomaly_total[t]);
}

static void leak_src_write(void *state, struct prom *p)
{
	struct leak_source *s = state;

	write_caps(s, p);
	write_extra_refs(s, p);
	write_waiters(s, p);
	write_each_waiter(s, p);
	write_hazards(s, p);
}

static int leak_src_drops(void *state, struct export_drop *out, int max)
{
	const struct leak_source *s = state;
	const struct export_drop d[] = {
		{ "tracked_map_full", s->c.counters[DLC_TRACK_OVERFLOW] },
		{ "gup_batch_truncated", s->c.counters[DLC_BATCH_TRUNC] },
		{ "hazard_ring_full", s->c.counters[DLC_ANOMALY_LOST] },
		{ "waiter_map_full", s->c.counters[DLC_WAITER_OVERFLOW] },
		/* runs the kernel skipped (a program already running on that CPU) */
		{ "kernel_skipped", s->c.kernel_skipped },
	};
	/* kernel_skipped (last) unknown on this kernel: no series rather than 0 */
	size_t nd = sizeof(d) / sizeof(d[0]) - !s->c.skips_counted;
	int n = 0;

	for (size_t i = 0; i < nd && n < max; i++)
		out[n++] = d[i];
	return n;
}

static void leak_src_stop(void *state)
{
	struct leak_source *s = state;

	daxleak_stop(&s->c);
	free(s->seen);
	free(s);
}

const struct export_source export_source_leak = {
	.name = "leak",
	.start = leak_src_start,
	.collect = leak_src_collect,
	.write = leak_src_write,
	.stop = leak_src_stop,
	.drops = leak_src_drops,
};
