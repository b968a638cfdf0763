/* daxleak reports as JSON lines (the shared writer). */
#include "blwait.h"
#include "daxleak_report.h"
#include "daxleak.skel.h"
#include "hist_user.h"
#include "util.h"

static void json_stack(struct json *j, const struct leak_ctx *c, int id, bool user, uint32_t pid)
{
	uint64_t ips[DL_STACK_DEPTH];
	char fr[256];

	if (id < 0) {
		json_null(j);
		return;
	}
	if (user)
		leak_stack_ips(c, id, ips);
	else
		leak_kstack_ips(c, id, ips);
	json_arr_begin(j);
	for (int i = 0; i < DL_STACK_DEPTH && ips[i]; i++) {
		if (user)
			usym_format(pid, ips[i], fr, sizeof(fr));
		else
			leak_kframe(c, ips[i], fr, sizeof(fr));
		json_str(j, fr);
	}
	json_arr_end(j);
}

/* A kernel stack the scan at start read (no stack id). */
static void json_ips(struct json *j, const struct leak_ctx *c, const __u64 *ips, int n)
{
	char fr[256];

	json_arr_begin(j);
	for (int i = 0; i < n && i < DN_STACK_DEPTH && ips[i]; i++) {
		leak_kframe(c, ips[i], fr, sizeof(fr));
		json_str(j, fr);
	}
	json_arr_end(j);
}

static void json_big_folios(struct json *j, const struct leak_ctx *c, const struct group *g)
{
	struct big_folio *bf;
	size_t n = leak_group_big_folios(c, g, &bf);

	json_key(j, "large_folios");
	json_arr_begin(j);
	for (size_t i = 0; i < n; i++) {
		const struct leak_entry *e = bf[i].e;

		json_obj_begin(j);
		json_kv_u64_or_null(j, "pfn", e->v.pfn != ~0ULL, leak_folio_pfn(e));
		json_kv_u64(j, "offset", (e->v.index - e->v.subpage) * 4096ULL);
		json_kv_u64(j, "order", e->v.order);
		json_kv_i64(j, "extra_refs", e->extra);
		json_kv_i64(j, "refcount", e->v.cur_ref);
		json_kv_i64(j, "mapcount", e->v.cur_map);
		json_kv_u64(j, "pages_held", bf[i].pages);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(bf);
}

/* The busy page by pfn, owner and offset; null where not known. */
static void json_busy(struct json *j, const struct dl_waiter *w)
{
	bool known = w->busy_page && w->busy_known;
	char dev[24];

	leak_fmt_dev(w->busy_dev, dev, sizeof(dev));
	json_kv_u64_or_null(j, "busy_pfn", known && w->busy_pfn != ~0ULL, w->busy_pfn);
	json_kv_u64_or_null(j, "busy_ino", known && !w->busy_shared, w->busy_ino);
	if (known && !w->busy_shared)
		json_kv_str(j, "busy_dev", dev);
	else {
		json_key(j, "busy_dev");
		json_null(j);
	}
	json_kv_u64_or_null(j, "busy_offset", known && !w->busy_shared, w->busy_index * 4096ULL);
	json_kv_u64_or_null(j, "busy_order", known, w->busy_order);
	json_kv_bool(j, "busy_shared", known && w->busy_shared);
}

static void json_start_holder(struct json *j, const struct daxnow_held *h)
{
	json_key(j, "holder");
	if (!h || !h->pid) {
		json_null(j);
		return;
	}
	json_obj_begin(j);
	json_kv_u64(j, "pid", h->pid);
	json_kv_str(j, "comm", h->comm);
	json_kv_str(j, "how", h->how == DNH_MAP ? "mapping" : "pipe");
	json_kv_i64(j, "fd", h->fd);
	json_obj_end(j);
}

static void json_start_scan(struct json *j, const struct leak_ctx *c)
{
	const struct daxnow_report *r = &c->start;

	json_key(j, "scan_at_start");
	json_obj_begin(j);
	json_kv_bool(j, "enabled", c->a.scan_at_start);
	json_kv_bool(j, "ran", c->start_ran);
	json_kv_str(j, "method", !c->start_ran ? "" : r->method == DAXNOW_BPF ? "bpf-iter" : "proc");
	json_kv_double(j, "scan_ms", r->scan_ms);
	json_kv_u64(j, "waiters", c->start_waiters);
	json_kv_u64(j, "pages", c->start_pages);
	json_kv_bool(j, "pages_listed", c->caps.release_seen);
	json_kv_str(j, "note", "items older than daxleak: culprit unknown, ages are lower bounds");
	json_key(j, "not_seen");
	json_arr_begin(j);
	for (int i = 0; c->start_ran && i < r->nlost; i++)
		json_str(j, r->lost[i]);
	json_arr_end(j);
	json_obj_end(j);
}

/* The waiter's holder: who has its page now when the kernel was asked
 * (daxleak_holder.c), else the culprit that took the reference. */
static void json_waiter_holder(struct json *j, const struct waiter_rec *w,
			       const struct leak_entry *h, size_t nheld)
{
	bool asked = w->now.verdict == HOLDER_PROCESS;

	json_key(j, "holder");
	if (w->now.verdict == HOLDER_NONE || (!h && !asked)) {
		json_null(j);
	} else {
		json_obj_begin(j);
		json_kv_u64(j, "pid", asked ? w->now.pid : h->v.pid);
		json_kv_u64(j, "tid", asked ? w->now.tid : h->v.tid);
		json_kv_str(j, "comm", asked ? w->now.comm : h->v.comm);
		json_kv_u64(j, "pages", nheld);
		json_kv_bool(j, "seen_at_start", h && (h->v.flags & DL_SEEN_AT_START));
		json_kv_bool(j, "checked_now", asked);
		json_kv_str(j, "how", asked ? w->now.how : "culprit");
		json_kv_u64(j, "culprit_pid", h ? h->v.pid : 0);
		json_obj_end(j);
	}
	json_kv_str(j, "holder_note", w->now.verdict == HOLDER_NONE ? HOLDER_NONE_TEXT : "");
}

static void json_waiter(struct json *j, const struct leak_ctx *c, const struct waiter_rec *w)
{
	size_t nheld;
	const struct leak_entry *h = leak_holder_of(c, w, &nheld);
	char st[2] = { w->state ? w->state : '?', 0 }, dev[24];

	leak_fmt_dev(w->w.dev, dev, sizeof(dev));
	json_obj_begin(j);
	json_kv_u64(j, "pid", w->w.pid);
	json_kv_u64(j, "tid", w->w.tid);
	json_kv_str(j, "comm", w->w.comm);
	json_kv_str(j, "op", blw_op_name(w->op));
	json_kv_str(j, "state", st);
	json_kv_bool(j, "interruptible", w->interruptible);
	json_kv_str(j, "wchan", w->wchan);
	json_kv_bool(j, "from_proc_only", w->from_proc);
	json_kv_bool(j, "seen_at_start", w->w.flags & DL_SEEN_AT_START);
	json_kv_bool(j, "waited_at_least", w->w.flags & DL_SEEN_AT_START);
	json_kv_double_or_null(j, "waited_s", !w->from_proc &&
			       !((w->w.flags & DL_SEEN_AT_START) && !w->w.start_ns), w->waited_s);
	json_kv_str(j, "dev", dev);
	json_kv_u64(j, "ino", w->w.ino);
	json_kv_u64(j, "busy_page", w->w.busy_page);
	json_kv_u64(j, "busy_folio", w->w.busy_folio);
	json_busy(j, &w->w);
	json_kv_i64(j, "busy_refcount", w->w.cur_ref);
	json_kv_u64(j, "busy_returns", w->w.nbusy);
	json_waiter_holder(j, w, h, nheld);
	json_key(j, "kernel_stack");
	if (w->w.kstack < 0 && w->start)
		json_ips(j, c, w->start->rec.stack, w->start->rec.nframes);
	else
		json_stack(j, c, w->w.kstack, false, 0);
	json_obj_end(j);
}

void leak_print_start(FILE *out, const struct leak_ctx *c)
{
	struct json j;

	json_init(&j, out);
	json_obj_begin(&j);
	json_kv_str(&j, "type", "start");
	json_kv_str(&j, "tool", "daxleak");
	json_kv_str(&j, "era", era_short_name(c->era.era));
	json_kv_i64(&j, "idle", leak_idle(c));
	json_kv_str(&j, "era_evidence", c->era.evidence);
	json_kv_bool(&j, "acquisitions", c->caps.acquire);
	json_kv_bool(&j, "exact_releases", c->caps.release_exact);
	json_kv_bool(&j, "scan", c->caps.scan);
	json_kv_str(&j, "scan_note", c->caps.scan_why);
	json_kv_bool(&j, "leaks_reported", c->caps.leaks);
	json_kv_bool(&j, "waiter_busy_page", c->caps.busy);
	json_kv_double(&j, "min_age_s", c->a.min_age_s);
	json_kv_double(&j, "interval_s", c->a.interval_s);
	json_kv_u64(&j, "max_folios", c->a.max_folios);
	json_kv_u64(&j, "max_stacks", c->a.max_stacks);
	json_start_scan(&j, c);
	json_key(&j, "hooks");
	probe_json(&j, c->hooks, DL_NHOOKS);
	json_obj_end(&j);
	json_line_end(&j);
}

static void json_held_page(struct json *j, const struct leak_ctx *c, const struct leak_entry *e)
{
	const char *p = leak_path_of(e->v.pid, e->v.dev, e->v.ino, c);
	char dev[24];

	leak_fmt_dev(e->v.dev, dev, sizeof(dev));
	json_obj_begin(j);
	json_kv_str(j, "dev", dev);
	json_kv_u64(j, "ino", e->v.ino);
	if (p)
		json_kv_str(j, "path", p);
	else {
		json_key(j, "path");
		json_null(j);
	}
	json_kv_bool(j, "shared", e->v.shared);
	json_kv_u64(j, "offset", e->v.index * 4096ULL);
	json_kv_u64_or_null(j, "pfn", e->v.pfn != ~0ULL, e->v.pfn);
	json_kv_u64(j, "order", e->v.order);
	json_kv_i64(j, "refcount", e->v.cur_ref);
	json_kv_i64(j, "mapcount", e->v.cur_map);
	json_kv_i64(j, "idle", leak_idle(c));
	json_kv_i64(j, "extra", e->extra);
	json_kv_i64(j, "refs", e->v.refs);
	json_kv_u64_or_null(j, "folio_pfn", e->v.pfn != ~0ULL, leak_folio_pfn(e));
	json_kv_u64(j, "folio_offset", (e->v.index - e->v.subpage) * 4096ULL);
	json_kv_u64(j, "folio_pages", 1ULL << e->v.order);
	json_kv_double(j, "age_s", e->age_s);
	json_kv_bool(j, "seen_at_start", e->v.flags & DL_SEEN_AT_START);
	json_kv_bool(j, "age_at_least", e->v.flags & DL_SEEN_AT_START);
	json_kv_u64(j, "uaddr", e->v.uaddr);
	json_kv_u64(j, "acquisitions", e->v.nacq);
	json_kv_u64(j, "last_pid", e->v.last_pid);
	json_kv_u64(j, "page", e->page);
	json_kv_u64(j, "folio", e->v.folio);
	json_obj_end(j);
}

static void json_group(struct json *j, const struct leak_ctx *c, const struct group *g)
{
	const struct leak_entry *e0 = &c->ents[g->idx[0]];

	json_obj_begin(j);
	json_kv_u64(j, "pid", e0->v.pid);
	json_kv_u64(j, "tid", e0->v.tid);
	json_kv_str(j, "comm", e0->v.comm);
	json_kv_str(j, "via", g->seen_at_start ? "before start" : leak_gup_name(c, e0->v.gup));
	/* seen at start: pid/comm are the holder found then, not a culprit */
	json_kv_bool(j, "seen_at_start", g->seen_at_start);
	json_kv_bool(j, "culprit_known", !g->seen_at_start);
	if (g->seen_at_start)
		json_start_holder(j, leak_start_held(c, e0->page));
	json_kv_u64(j, "pages", g->n);
	json_kv_u64(j, "folios", g->folios);
	json_kv_i64(j, "extra_refs", g->extra);
	json_kv_double(j, "oldest_s", g->oldest);
	json_key(j, "kernel_stack");
	json_stack(j, c, g->kstack, false, 0);
	json_key(j, "user_stack");
	json_stack(j, c, g->ustack, true, g->pid);
	json_big_folios(j, c, g);
	json_key(j, "held");
	json_arr_begin(j);
	for (size_t k = 0; k < g->n; k++)
		json_held_page(j, c, &c->ents[g->idx[k]]);
	json_arr_end(j);
	json_obj_end(j);
}

static void json_anomaly(struct json *j, const struct leak_ctx *c, const struct anomaly_rec *r)
{
	const struct dl_anomaly *a = &r->a;
	char dev[24];

	leak_fmt_dev(a->dev, dev, sizeof(dev));
	json_obj_begin(j);
	json_kv_str(j, "type", anomaly_name(a->type));
	json_kv_bool(j, "from_scan", r->from_scan);
	json_kv_u64(j, "pid", a->pid);
	json_kv_str(j, "comm", a->comm);
	json_kv_str(j, "dev", dev);
	json_kv_u64(j, "ino", a->ino);
	json_kv_u64(j, "offset", a->index * 4096ULL);
	json_kv_u64(j, "page", a->page);
	json_kv_i64(j, "refcount", a->refcount);
	json_kv_i64(j, "mapcount", a->mapcount);
	json_kv_i64(j, "refs", a->refs);
	json_kv_u64(j, "culprit_pid", a->culprit_pid);
	json_kv_str(j, "culprit_comm", a->culprit_comm);
	json_key(j, "kernel_stack");
	json_stack(j, c, a->kstack, false, 0);
	json_obj_end(j);
}

void leak_print_json(FILE *out, const struct leak_ctx *c, bool final)
{
	const struct group *g = c->groups;
	size_t ng = c->ngroups, held = c->held;
	struct json j;
	int idle = leak_idle(c);
	static const char *const cnames[DLC_NR] = {
		"gup_calls", "gup_nested", "gup_unguarded", "pages_seen", "dax_pages",
		"gup_batch_truncated", "tracked_map_full", "stacks_lost", "releases",
		"releases_matched", "releases_done", "frees", "frees_matched", "anomalies",
		"anomalies_lost", "busy_calls", "busy_found", "waiters_lost", "fs_dax_faults",
		"read_errors",
	};

	json_init(&j, out);
	json_obj_begin(&j);
	json_kv_str(&j, "type", final ? "summary" : "report");
	json_kv_double(&j, "time", wall_seconds());
	json_kv_double(&j, "uptime_s", (mono_ns() - c->start_ns) / 1e9);
	json_kv_u64(&j, "mono_ns", c->collect_ns);	/* CLOCK_MONOTONIC of the ages */
	json_kv_bool(&j, "leaks_reported", c->caps.leaks);
	json_kv_i64(&j, "idle", idle);
	json_kv_u64(&j, "held_pages", held);
	json_kv_u64(&j, "tracked", c->nents);
	json_kv_u64(&j, "seen_at_start_pages", leak_seen_at_start(g, ng, true));
	json_key(&j, "groups");
	json_arr_begin(&j);
	for (size_t i = 0; i < ng; i++)
		json_group(&j, c, &g[i]);
	json_arr_end(&j);
	json_key(&j, "waiters");
	json_arr_begin(&j);
	for (size_t i = 0; i < c->nwaiters; i++)
		json_waiter(&j, c, &c->waiters[i]);
	json_arr_end(&j);
	json_key(&j, "anomalies");
	json_arr_begin(&j);
	for (size_t i = 0; i < c->nanoms; i++)
		json_anomaly(&j, c, &c->anoms[i]);
	json_arr_end(&j);
	json_key(&j, "counters");
	json_obj_begin(&j);
	for (int i = 0; i < DLC_NR; i++)
		json_kv_u64(&j, cnames[i], c->counters[i]);
	json_kv_u64(&j, "released_by_scan", c->scan_released);
	json_kv_u64(&j, "scan_runs", c->scan_runs);
	json_kv_u64(&j, "proc_walks", c->proc_walks);
	/* null: this kernel does not count the runs it skips */
	json_kv_u64_or_null(&j, "kernel_skipped", c->skips_counted, c->kernel_skipped);
	json_kv_u64(&j, "scan_errors", c->scan_errors);
	json_kv_u64(&j, "stacks_collected", c->stacks_gc);
	json_obj_end(&j);
	if (final) {
		struct hist h = c->user_hist;

		hist_merge(&h, &c->skel->bss->hold_hist.h);
		json_key(&j, "anomalies_total");
		json_obj_begin(&j);
		for (int t = 0; t < DLA_NR; t++)
			json_kv_u64(&j, anomaly_name(t), c->anomaly_total[t]);
		json_obj_end(&j);
		json_kv_u64(&j, "max_held_pages", c->max_outstanding);
		json_key(&j, "hold_hist");
		hist_json(&j, &h, "msecs", 1000000);
	}
	json_obj_end(&j);
	json_line_end(&j);
}

