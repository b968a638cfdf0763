/* daxleak: who holds a waiter's busy page now. The culprit daxleak saw
 * only took the reference: it may have exited after its parent inherited
 * the pipe, or sent the pipe into a unix socket and closed it (in flight:
 * no process holds it). While a hooked waiter exists, the --now holder
 * scan (scan.c: task, pipe and mapping iterators) asks the kernel, at most
 * once every CHECK_EVERY_NS, and the answer replaces the culprit as holder. */
#include <stdlib.h>
#include <string.h>
#include "daxleak_int.h"
#include "util.h"

#define CHECK_EVERY_NS	2000000000ULL

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

static bool wants_check(const struct leak_ctx *c)
{
	for (size_t i = 0; i < c->nwaiters; i++)
		if (c->waiters[i].w.busy_page)
			return true;
	return false;
}

static void run_checks(struct leak_ctx *c)
{
	struct daxnow_report r = { .ks = c->ks, .era = c->era };
	struct holder_check *n;

	if (daxnow_scan(&r) || !(n = calloc(r.nw + 1, sizeof(*n)))) {
		daxnow_report_free(&r);
		return;
	}
	for (size_t i = 0; i < r.nw; i++) {
		n[i].tid = r.w[i].rec.tid;
		holder_now_of(&r, &r.w[i], &n[i].now);
	}
	free(c->checks);
	c->checks = n;
	c->nchecks = r.nw;
	daxnow_report_free(&r);
}

void leak_check_holders(struct leak_ctx *c)
{
	uint64_t now = mono_ns();

	if (!wants_check(c)) {
		c->nchecks = 0;
		return;
	}
	if (!c->checked_ns || now - c->checked_ns >= CHECK_EVERY_NS) {
		run_checks(c);
		c->checked_ns = now;
	}
	for (size_t i = 0; i < c->nwaiters; i++) {
		struct waiter_rec *w = &c->waiters[i];

		memset(&w->now, 0, sizeof(w->now));
		for (size_t k = 0; k < c->nchecks; k++)
			if (c->checks[k].tid == w->w.tid)
				w->now = c->checks[k].now;
	}
}

void leak_holder_checks_free(struct leak_ctx *c)
{
	free(c->checks);
	c->checks = NULL;
	c->nchecks = 0;
}
