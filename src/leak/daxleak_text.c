/* daxleak reports as text and folded stacks. */
#include <time.h>
#include "blwait.h"
#include "daxleak_report.h"
#include "paths.h"
#include "daxleak.skel.h"
#include "hist_user.h"
#include "util.h"

void leak_caps_explain(FILE *out, const struct leak_ctx *c)
{
	const struct leak_caps *k = &c->caps;

	fprintf(out, "%s: refcount era: %s (%s)\n", prog_name, era_name(c->era.era), c->era.evidence);
	if (!k->acquire)
		fprintf(out, "%s: UNAVAILABLE: acquisitions (no get_user_pages/pin_user_pages hook "
			"attached): cannot see extra references or name culprits; no leak will be "
			"reported\n", prog_name);
	else if (!k->vmsplice)
		fprintf(out, "%s: UNAVAILABLE: get_user_pages_fast: vmsplice/iov_iter references "
			"are not seen\n", prog_name);
	if (k->acquire && !k->leaks)
		fprintf(out, "%s: UNAVAILABLE: releases (no put hook for this era and no scan): "
			"leaks are not reported, acquisitions are counted only\n", prog_name);
	if (!k->scan)
		fprintf(out, "%s: scan iterator unavailable (%s)%s\n", prog_name,
			k->scan_why[0] ? k->scan_why : "not attached",
			c->era.era == ERA_ZERO_BASED ?
			": non-final releases on 6.15+ are invisible, a partly released folio "
			"stays listed until its final free" : "");
	if (!k->busy)
		fprintf(out, "%s: UNAVAILABLE: dax_layout_busy_page_range: waiters found only "
			"through /proc wchan, without their busy page or holder\n", prog_name);
	if (c->era.era == ERA_ZERO_BASED && !k->free_hook && k->acquire)
		fprintf(out, "%s: free_zone_device_folio unavailable: releases seen by the scan "
			"only\n", prog_name);
}

static void print_stack_lines(FILE *out, const struct leak_ctx *c, const struct group *g)
{
	uint64_t ips[DL_STACK_DEPTH];
	char fr[256];

	if (g->kstack < 0)
		fprintf(out, "    kernel: [stack lost: %d]\n", g->kstack);
	else {
		leak_kstack_ips(c, g->kstack, ips);
		for (int i = 0; i < DL_STACK_DEPTH && ips[i]; i++) {
			leak_kframe(c, ips[i], fr, sizeof(fr));
			fprintf(out, "    %s %s\n", i ? "       " : "kernel:", fr);
		}
	}
	if (g->ustack < 0)
		fprintf(out, "    user:   [stack lost: %d]\n", g->ustack);
	else {
		leak_stack_ips(c, g->ustack, ips);
		for (int i = 0; i < DL_STACK_DEPTH && ips[i]; i++) {
			usym_format(g->pid, ips[i], fr, sizeof(fr));
			fprintf(out, "    %s %s\n", i ? "       " : "user:  ", fr);
		}
	}
}

/* One line per large folio: the kernel counts its references on the
 * head, so per page only "taken through this page" is known. */
static void print_big_folios(FILE *out, const struct leak_ctx *c, const struct group *g)
{
	struct big_folio *bf;
	size_t n = leak_group_big_folios(c, g, &bf);
	char pfn[24];

	for (size_t i = 0; i < n; i++) {
		const struct leak_entry *e = bf[i].e;

		leak_fmt_pfn(leak_folio_pfn(e), pfn, sizeof(pfn));
		fprintf(out, "    FOLIO pfn %s offset 0x%llx order %u (%u pages): %lld extra ref%s "
			"on the folio (refcount %d, mapcount %d), taken through %zu of its pages\n",
			pfn, (unsigned long long)(e->v.index - e->v.subpage) * 4096ULL, e->v.order,
			1u << e->v.order, (long long)e->extra, e->extra == 1 ? "" : "s",
			e->v.cur_ref, e->v.cur_map, bf[i].pages);
	}
	free(bf);
}

static void print_counters_line(FILE *out, const struct leak_ctx *c)
{
	const uint64_t *k = c->counters;
	char skipped[24];

	count_or_na(skipped, sizeof(skipped), c->skips_counted, c->kernel_skipped);
	if (k[DLC_TRACK_OVERFLOW] || k[DLC_STACK_LOST] || k[DLC_BATCH_TRUNC] ||
	    k[DLC_ANOMALY_LOST] || k[DLC_WAITER_OVERFLOW] || k[DLC_READ_ERR] || c->kernel_skipped)
		fprintf(out, "OVERFLOW: tracked-map-full %llu (--max-folios %llu), stacks-lost %llu "
			"(--max-stacks %llu), gup-batch-truncated %llu, anomalies-lost %llu, "
			"waiters-lost %llu, read-errors %llu, kernel-skipped-runs %s\n",
			(unsigned long long)k[DLC_TRACK_OVERFLOW], (unsigned long long)c->a.max_folios,
			(unsigned long long)k[DLC_STACK_LOST], (unsigned long long)c->a.max_stacks,
			(unsigned long long)k[DLC_BATCH_TRUNC], (unsigned long long)k[DLC_ANOMALY_LOST],
			(unsigned long long)k[DLC_WAITER_OVERFLOW], (unsigned long long)k[DLC_READ_ERR],
			skipped);
}

static const char *held_how(const struct daxnow_held *h)
{
	if (!h || !h->pid)
		return "no process found (driver, DMA, or a socket/kernel buffer)";
	return h->how == DNH_MAP ? "its mapping (6.15+: a mapped page is referenced)" : "a pipe";
}

/* References older than daxleak: who holds them now, no culprit. */
static void print_start_group(FILE *out, const struct leak_ctx *c, const struct group *g,
			      const struct leak_entry *e0)
{
	const struct daxnow_held *h = leak_start_held(c, e0->page);
	char fd[24] = "";

	if (h && h->pid && h->how != DNH_MAP && h->fd >= 0)
		snprintf(fd, sizeof(fd), " (fd %d)", h->fd);
	if (e0->v.pid)
		fprintf(out, "SEEN AT START held by pid %u comm %.16s through %s%s", e0->v.pid,
			e0->v.comm, held_how(h), fd);
	else
		fprintf(out, "SEEN AT START held by %s", held_how(NULL));
	fprintf(out, ": %zu page%s in %zu folio%s, %lld extra ref%s, oldest >=%.1fs\n"
		"    taken before daxleak started: culprit and stacks unknown, ages are lower "
		"bounds\n", g->n, g->n == 1 ? "" : "s", g->folios, g->folios == 1 ? "" : "s",
		(long long)g->extra, g->extra == 1 ? "" : "s", g->oldest);
}

void leak_print_start_scan(FILE *out, const struct leak_ctx *c)
{
	const struct daxnow_report *r = &c->start;

	if (!c->a.scan_at_start)
		return;
	if (!c->start_ran) {
		fprintf(out, "%s: scan at start failed: waits and references older than daxleak "
			"are not listed\n", prog_name);
		return;
	}
	fprintf(out, "%s: seen at start: %zu task%s waiting in DAX break_layouts, %zu page%s "
		"held from outside (%s, %.0f ms); listed as \"seen at start\" until they end\n",
		prog_name, c->start_waiters, c->start_waiters == 1 ? "" : "s", c->start_pages,
		c->start_pages == 1 ? "" : "s",
		r->method == DAXNOW_BPF ? "BPF iterators" : "/proc fallback", r->scan_ms);
	if (c->start_pages && !c->caps.release_seen)
		fprintf(out, "%s: UNAVAILABLE: no release can be seen (no scan iterator, no put "
			"hook): pages seen at start are not listed\n", prog_name);
	for (int i = 0; r->nw && i < r->nlost; i++)
		fprintf(out, "%s: not seen at start: %s\n", prog_name, r->lost[i]);
}

/* Who holds a waiter's page: asked of the kernel now (daxleak_holder.c),
 * else the culprit that took the reference. */
static void holder_text(const struct leak_ctx *c, const struct waiter_rec *w, char *buf,
			size_t len)
{
	size_t nheld;
	const struct leak_entry *h = leak_holder_of(c, w, &nheld);

	if (w->now.verdict == HOLDER_NONE)
		snprintf(buf, len, "%s%s%u", HOLDER_NONE_TEXT, h ? "; taken by pid " : "",
			 h ? h->v.pid : 0);
	else if (w->now.verdict == HOLDER_PROCESS)
		snprintf(buf, len, "pid %u comm %.16s (%s%s%d, now)", w->now.pid, w->now.comm,
			 w->now.how, w->now.fd >= 0 ? " fd " : "", w->now.fd);
	else if (h && (h->v.flags & DL_SEEN_AT_START) && !h->v.pid)
		snprintf(buf, len, "no process (seen at start: driver, DMA or a kernel buffer)");
	else if (h)
		snprintf(buf, len, "pid %u comm %.16s (%zu page%s%s)", h->v.pid, h->v.comm, nheld,
			 nheld == 1 ? "" : "s", h->v.flags & DL_SEEN_AT_START ? ", seen at start" : "");
	else
		snprintf(buf, len, "%s", w->from_proc ? "? (no busy-page hook)" :
			 c->caps.acquire ? "? (reference taken before start or through an "
			 "unhooked path)" : "? (no acquisition hook)");
}

static void print_waiter_line(FILE *out, const struct leak_ctx *c, const struct waiter_rec *w)
{
	char holder[160], busy[64], waited[32], dev[24];

	holder_text(c, w, holder, sizeof(holder));
	leak_fmt_busy(&w->w, busy, sizeof(busy));
	if (w->from_proc || ((w->w.flags & DL_SEEN_AT_START) && !w->w.start_ns))
		snprintf(waited, sizeof(waited), "?");
	else
		snprintf(waited, sizeof(waited), "%s%.1fs",
			 w->w.flags & DL_SEEN_AT_START ? ">=" : "", w->waited_s);
	leak_fmt_dev(w->w.dev, dev, sizeof(dev));
	fprintf(out, "  %c %-7u %-7u %-16.16s %-9s %c%-4s %-9s %-7s %-9llu %-26s %s\n",
		w->w.flags & DL_SEEN_AT_START ? '*' : ' ', w->w.pid, w->w.tid, w->w.comm,
		blw_op_name(w->op), w->state ? w->state : '?', w->interruptible ? "" : "(U)",
		waited, w->w.ino ? dev : "?", (unsigned long long)w->w.ino, busy, holder);
}

static void print_group(FILE *out, const struct leak_ctx *c, const struct group *g)
{
	char dev[24], pfn[24];
	int idle = leak_idle(c);
	const struct leak_entry *e0 = &c->ents[g->idx[0]];
	size_t rows = c->a.verbose || !c->a.max_rows ? g->n : (size_t)c->a.max_rows;

	if (g->seen_at_start) {
		print_start_group(out, c, g, e0);
	} else {
		fprintf(out, "CULPRIT pid %u tid %u comm %.16s (via %s): %zu page%s in %zu "
			"folio%s, %lld extra ref%s, oldest %.1fs\n",
			e0->v.pid, e0->v.tid, e0->v.comm, leak_gup_name(c, e0->v.gup), g->n,
			g->n == 1 ? "" : "s", g->folios, g->folios == 1 ? "" : "s",
			(long long)g->extra, g->extra == 1 ? "" : "s", g->oldest);
		print_stack_lines(out, c, g);
	}
	print_big_folios(out, c, g);
	fprintf(out, "    %-7s %-9s %-12s %-12s %-5s %-6s %-4s %-4s %-7s %s\n", "DEV", "INODE",
		"OFFSET", "PFN", "ORDER", "REF", "IDLE", "MAP", "AGE", "PATH");
	for (size_t k = 0; k < g->n && k < rows; k++) {
		const struct leak_entry *e = &c->ents[g->idx[k]];
		const char *p = leak_path_of(e->v.pid, e->v.dev, e->v.ino, c);
		char age[16], pt[4200];

		leak_fmt_dev(e->v.dev, dev, sizeof(dev));
		leak_fmt_pfn(e->v.pfn, pfn, sizeof(pfn));
		/* seen at start: taken before daxleak, so at least this old */
		snprintf(age, sizeof(age), "%s%.1f", e->v.flags & DL_SEEN_AT_START ? ">=" : "",
			 e->age_s);
		if (p)
			path_text(p, pt, sizeof(pt));	/* a hostile name stays on its line */
		fprintf(out, "    %-7s %-9llu 0x%-10llx %-12s %-5u %-6d %-4d %-4d %-7s %s\n",
			e->v.shared ? "-" : dev, (unsigned long long)e->v.ino,
			(unsigned long long)e->v.index * 4096ULL, pfn, e->v.order, e->v.cur_ref, idle,
			e->v.cur_map, age,
			e->v.shared ? "(shared extent: several files)" : p ? pt : "?");
	}
	if (g->n > rows)
		fprintf(out, "    ... %zu more (--rows 0 or -v lists all)\n", g->n - rows);
}

static void print_anomaly_lines(FILE *out, const struct leak_ctx *c)
{
	char dev[24], pfn[24];

	if (!c->nanoms)
		return;
	fprintf(out, "ANOMALIES\n");
	for (size_t i = 0; i < c->nanoms; i++) {
		const struct dl_anomaly *a = &c->anoms[i].a;
		char culprit[64] = "unknown";

		leak_fmt_dev(a->dev, dev, sizeof(dev));
		leak_fmt_pfn(a->pfn, pfn, sizeof(pfn));
		if (a->culprit_pid)
			snprintf(culprit, sizeof(culprit), "pid %u comm %.16s", a->culprit_pid,
				 a->culprit_comm);
		fprintf(out, "    %-19s pid %u comm %.16s dev %s ino %llu offset 0x%llx pfn %s "
			"refcount %d mapcount %d refs %d culprit %s: %s\n", anomaly_name(a->type),
			a->pid, a->comm, dev, (unsigned long long)a->ino,
			(unsigned long long)a->index * 4096ULL, pfn, a->refcount, a->mapcount,
			a->refs, culprit, anomaly_help[a->type < DLA_NR ? a->type : 0]);
	}
}

/* The summary's totals since start: counters, anomalies, hold times. */
static void print_totals(FILE *out, const struct leak_ctx *c)
{
	struct hist h = c->user_hist;
	const uint64_t *k = c->counters;

	hist_merge(&h, &c->skel->bss->hold_hist.h);
	fprintf(out, "totals: gup calls %llu, pages %llu, dax pages %llu, releases seen %llu "
		"(matched %llu), final frees %llu, released by scan %llu, busy-page waits %llu, "
		"fs_dax faults %llu, max held %llu\n",
		(unsigned long long)k[DLC_GUP_CALLS], (unsigned long long)k[DLC_PAGES_SEEN],
		(unsigned long long)k[DLC_DAX_PAGES], (unsigned long long)k[DLC_RELEASES],
		(unsigned long long)k[DLC_RELEASE_MATCHED], (unsigned long long)k[DLC_FREES],
		(unsigned long long)c->scan_released, (unsigned long long)k[DLC_BUSY_FOUND],
		(unsigned long long)k[DLC_FAULTS], (unsigned long long)c->max_outstanding);
	fprintf(out, "anomalies total:");
	for (int t = 0; t < DLA_NR; t++)
		fprintf(out, " %s %llu", anomaly_name(t),
			(unsigned long long)(c->anomaly_total[t]));
	fprintf(out, "\n");
	if (hist_total(&h)) {
		fprintf(out, "reference hold times (released references; scan-found releases "
			"are rounded up to the interval):\n");
		hist_print(out, &h, "msecs", 1000000);
	}
}

void leak_print_text(FILE *out, const struct leak_ctx *c, bool final)
{
	const struct group *g = c->groups;
	size_t ng = c->ngroups, held = c->held, nstart = 0;
	char ts[32];
	time_t t = time(NULL);
	int idle = leak_idle(c);

	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
	nstart = leak_seen_at_start(g, ng, false);
	fprintf(out, "%s %s: %zu page%s held > %.1fs (%zu seen at start) by %zu culprit stack%s, "
		"%zu waiter%s, %zu anomal%s (tracked %zu, era %s idle=%d)\n",
		final ? "SUMMARY" : ts, prog_name, held, held == 1 ? "" : "s", c->a.min_age_s,
		leak_seen_at_start(g, ng, true), ng - nstart, ng - nstart == 1 ? "" : "s",
		c->nwaiters, c->nwaiters == 1 ? "" : "s", c->nanoms,
		c->nanoms == 1 ? "y" : "ies", c->nents,
		era_short_name(c->era.era), idle);
	if (!c->caps.leaks)
		fprintf(out, "  (leak detection unavailable on this kernel: see the messages at start)\n");
	for (size_t i = 0; i < ng && (int)i < c->a.top; i++)
		print_group(out, c, &g[i]);
	if (ng > (size_t)c->a.top)
		fprintf(out, "  ... %zu more culprit stacks (-T)\n", ng - c->a.top);
	if (c->nwaiters) {
		fprintf(out, "WAITERS (* = seen at start: waiting before daxleak started)\n"
			"    %-7s %-7s %-16s %-9s %-5s %-9s %-7s %-9s %-26s %s\n", "PID",
			"TID", "COMM", "OP", "STATE", "WAITED", "DEV", "INODE", "BUSY-PAGE", "HOLDER");
		for (size_t i = 0; i < c->nwaiters; i++)
			print_waiter_line(out, c, &c->waiters[i]);
	}
	print_anomaly_lines(out, c);
	print_counters_line(out, c);
	if (final)
		print_totals(out, c);
}

/* ---- folded --------------------------------------------------------- */

void leak_print_folded(FILE *out, const struct leak_ctx *c)
{
	const struct group *g = c->groups;
	size_t ng = c->ngroups;
	uint64_t ips[DL_STACK_DEPTH];
	char fr[256];

	for (size_t i = 0; i < ng; i++) {
		const struct leak_entry *e0 = &c->ents[g[i].idx[0]];
		int n;

		fprintf(out, "%.16s", e0->v.comm);
		if (g[i].seen_at_start) {
			/* held since before start: no stack to fold */
			fprintf(out, ";[seen at start: culprit unknown] %zu\n", g[i].n);
			continue;
		}
		/* outermost frame first */
		if (g[i].ustack >= 0) {
			leak_stack_ips(c, g[i].ustack, ips);
			for (n = 0; n < DL_STACK_DEPTH && ips[n]; n++)
				;
			while (n--) {
				usym_format(g[i].pid, ips[n], fr, sizeof(fr));
				fr[strcspn(fr, " ")] = 0;
				fprintf(out, ";%s", fr);
			}
		} else {
			fprintf(out, ";[user stack lost]");
		}
		if (g[i].kstack >= 0) {
			leak_kstack_ips(c, g[i].kstack, ips);
			for (n = 0; n < DL_STACK_DEPTH && ips[n]; n++)
				;
			while (n--) {
				leak_kframe(c, ips[n], fr, sizeof(fr));
				fr[strcspn(fr, "+ ")] = 0;
				fprintf(out, ";%s_[k]", fr);
			}
		} else {
			fprintf(out, ";[kernel stack lost]");
		}
		fprintf(out, " %zu\n", g[i].n);
	}
}

