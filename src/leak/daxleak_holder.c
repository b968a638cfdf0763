/* daxleak: who holds a waiter's busy page now. The culprit daxleak saw
 * only took the reference: it may have exited after its parent inherited
 * the pipe, or sent the pipe into a unix socket and closed it (in flight:
 * no process holds it). The --now holder scan (scan.c: task, pipe and
 * mapping iterators) asks the kernel when a hooked waiter appears and
 * every RECHECK_NS while waiters last; its answer replaces the culprit. */
#include <stdlib.h>
#include <string.h>
#include "daxleak_int.h"
#include "util.h"

#define RECHECK_NS	30000000000ULL

struct holder_check {
	uint32_t tid;
	struct holder_now now;
};

void holder_now_of(const struct daxnow_report *r, const struct daxnow_waiter *w,
		   struct holder_now *out)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (r->method != DAXNOW_BPF || !w->page_found)
		return;		/* unchecked: the scan could not tell */
	out->verdict = HOLDER_NONE;
	for (size_t k = 0; k < w->nholders; k++) {
		const struct daxnow_holder *h = &w->holders[k];
		bool map = h->how == DNH_MAP && daxnow_map_holds(r, w);

		if (h->how != DNH_PIPE && !map)
			continue;
		out->verdict = HOLDER_PROCESS;
		out->pid = h->pid;
		out->tid = h->tid;
		memcpy(out->comm, h->comm, sizeof(out->comm));
		out->how = map ? "mapping" : "pipe";
		out->fd = !map && h->nfds ? h->fds[0] : -1;
		return;
	}
	if (w->extra <= 0)
		out->verdict = HOLDER_UNCHECKED;	/* idle now: the waiter should wake */
}

static const struct holder_now *cached(const struct leak_ctx *c, uint32_t tid)
{
	for (size_t k = 0; k < c->nchecks; k++)
		if (c->checks[k].tid == tid)
			return &c->checks[k].now;
	return NULL;
}

static void cache_add(struct leak_ctx *c, uint32_t tid, const struct holder_now *now)
{
	struct holder_check *n = realloc(c->checks, (c->nchecks + 1) * sizeof(*n));

	if (!n)
		return;
	c->checks = n;
	c->checks[c->nchecks++] = (struct holder_check){ tid, *now };
}

/* The kernel is asked when a hooked waiter appears that no answer covers
 * yet (one seen at start is covered by the scan at start), and again every
 * RECHECK_NS while waiters last: the scan costs tens of ms (seconds under
 * emulation), so not every report. */
static bool needs_scan(struct leak_ctx *c, uint64_t now)
{
	bool any = false, uncovered = false;

	for (size_t i = 0; i < c->nwaiters; i++) {
		const struct waiter_rec *w = &c->waiters[i];
		struct holder_now h;

		if (!w->w.busy_page)
			continue;
		any = true;
		if (cached(c, w->w.tid))
			continue;
		if (w->start && c->start_ran) {
			holder_now_of(&c->start, w->start, &h);
			cache_add(c, w->w.tid, &h);
			continue;
		}
		uncovered = true;
	}
	if (!any)
		c->nchecks = 0;
	return uncovered || (any && now - c->checked_ns >= RECHECK_NS);
}

/* One scan: the answers for every waiter it found replace the cache. */
static void run_checks(struct leak_ctx *c)
{
	struct daxnow_report r = { .ks = c->ks, .era = c->era };
	struct holder_check *n;

	if (!daxnow_scan(&r) && (n = calloc(r.nw + 1, sizeof(*n)))) {
		for (size_t i = 0; i < r.nw; i++) {
			n[i].tid = r.w[i].rec.tid;
			holder_now_of(&r, &r.w[i], &n[i].now);
		}
		free(c->checks);
		c->checks = n;
		c->nchecks = r.nw;
	}
	daxnow_report_free(&r);
	/* a waiter the scan could not see stays unchecked until the next
	 * recheck: no scan per report */
	for (size_t i = 0; i < c->nwaiters; i++) {
		struct holder_now none = { .fd = -1 };

		if (c->waiters[i].w.busy_page && !cached(c, c->waiters[i].w.tid))
			cache_add(c, c->waiters[i].w.tid, &none);
	}
}

void leak_check_holders(struct leak_ctx *c)
{
	uint64_t now = mono_ns();

	if (!c->checked_ns)
		c->checked_ns = now;	/* the scan at start just ran */
	if (needs_scan(c, now)) {
		run_checks(c);
		c->checked_ns = now;
	}
	for (size_t i = 0; i < c->nwaiters; i++) {
		struct waiter_rec *w = &c->waiters[i];
		const struct holder_now *h = cached(c, w->w.tid);

		memset(&w->now, 0, sizeof(w->now));
		if (h)
			w->now = *h;
	}
}

void leak_holder_checks_free(struct leak_ctx *c)
{
	free(c->checks);
	c->checks = NULL;
	c->nchecks = 0;
}
