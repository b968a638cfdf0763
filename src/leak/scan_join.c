/* daxleak --now: the joins, pure logic on records the iterators wrote
 * (no map or file reads but a holder's comm): waiters from task records,
 * waiter -> waited folio (targets) -> holders (pipes, mappings), the held
 * pages, the -p filter. Unit-tested in tests/unit/test_scan_join.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scan_int.h"
#include "util.h"

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

void scan_lost(struct daxnow_report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nlost >= N(r->lost))
		return;
	va_start(ap, fmt);
	vsnprintf(r->lost[r->nlost++], sizeof(r->lost[0]), fmt, ap);
	va_end(ap);
}

static int hash_bucket(uint64_t var)
{
	return (int)((var * 0x61C8864680B583EBULL) >> 56);	/* hash_ptr(var, 8) */
}

/* The wait frame and the operation, from the task's kernel stack and its
 * syscall (blwait.c: the same names as daxleak and export). */
static void name_wait(const struct daxnow_report *r, struct daxnow_waiter *w)
{
	const struct dn_task_rec *t = &w->rec;
	int n = t->nframes < DN_STACK_DEPTH ? t->nframes : DN_STACK_DEPTH;
	struct blw_syscall sc;
	enum blw_op op;

	w->wait_frame[0] = '\0';
	for (int i = 0; i < n && !w->wait_frame[0]; i++) {
		uint64_t off;
		const struct ksym *s = r->ks ? ksyms_find(r->ks, t->stack[i], &off) : NULL;

		if (s && blw_is_wait_frame(blw_frames_here(), s->name))
			snprintf(w->wait_frame, sizeof(w->wait_frame), "%s", s->name);
	}
	op = blw_op_from_ips(r->ks, (const uint64_t *)t->stack, n > 0 ? n : 0, &w->final);
	blw_read_syscall(t->pid, t->tid, &sc);
	w->op = blw_op_decide(op, w->final, &sc);
}

/* References beyond the idle count and (6.15+) the mappings' own. */
static int64_t extra_of(const struct daxnow_report *r, const struct dn_page *pg)
{
	return (int64_t)pg->refcount - r->era.idle -
	       (r->era.era == ERA_ZERO_BASED ? pg->mapcount : 0);
}

/* A waiter whose wait entry led to an FS DAX page. */
bool waits_on_page(const struct dn_task_rec *t)
{
	return (t->cls & DN_CLS_WAIT) && t->via != DN_VIA_NONE && t->pg.valid && t->pg.fsdax;
}

void scan_add_waiter(struct daxnow_report *r, const struct dn_task_rec *t)
{
	struct daxnow_waiter *w, *nw = realloc(r->w, (r->nw + 1) * sizeof(*nw));
	uint32_t st = t->state & 0x3;

	if (!nw)
		return;
	r->w = nw;
	w = &r->w[r->nw++];
	memset(w, 0, sizeof(*w));
	w->rec = *t;
	w->target = -1;
	w->state = st & 2 ? 'D' : st & 1 ? 'S' : '?';
	/* TASK_KILLABLE sleeps are D but end on a fatal signal; only plain S is interruptible */
	w->interruptible = st == 1;
	name_wait(r, w);
	w->asleep_s = -1;
	if (t->now_clock_task && t->exec_start && t->exec_start <= t->now_clock_task) {
		w->asleep_s = (t->now_clock_task - t->exec_start) / 1e9;
		w->asleep_src = "se.exec_start";
	} else if (t->now_clock && t->last_arrival && t->last_arrival <= t->now_clock) {
		w->asleep_s = (t->now_clock - t->last_arrival) / 1e9;
		w->asleep_src = "sched_info.last_arrival";
	}
	w->hash_bucket = t->var ? hash_bucket(t->var) : -1;
	w->page_found = waits_on_page(t);
	if (w->page_found)
		w->extra = extra_of(r, &t->pg);
}

void scan_add_gupio(struct daxnow_report *r, const struct dn_task_rec *t)
{
	struct daxnow_holder *h, *n = realloc(r->gupio, (r->ngupio + 1) * sizeof(*n));

	if (!n)
		return;
	r->gupio = n;
	h = &r->gupio[r->ngupio++];
	memset(h, 0, sizeof(*h));
	h->how = DNH_GUPIO;
	h->pid = t->pid;
	h->tid = t->tid;
	memcpy(h->comm, t->comm, sizeof(h->comm));
}

static struct daxnow_holder *holder_add(struct daxnow_waiter *w)
{
	struct daxnow_holder *n = realloc(w->holders, (w->nholders + 1) * sizeof(*n));

	if (!n)
		return NULL;
	w->holders = n;
	memset(&n[w->nholders], 0, sizeof(*n));
	return &n[w->nholders++];
}

void join_pipe(struct daxnow_report *r, const struct dn_pipe_rec *p)
{
	for (size_t i = 0; i < r->nw; i++) {
		struct daxnow_waiter *w = &r->w[i];
		struct daxnow_holder *h = NULL;
		bool exact, file;

		if (w->target < 0 || w->target >= 64)
			continue;
		exact = p->exact_mask >> w->target & 1;
		file = p->file_mask >> w->target & 1;
		if (!exact && !file)
			continue;
		/* one holder per (process, pipe): its fds are listed together */
		for (size_t k = 0; k < w->nholders; k++)
			if (w->holders[k].pid == p->pid && w->holders[k].pipe == p->pipe)
				h = &w->holders[k];
		if (!h) {
			h = holder_add(w);
			if (!h)
				continue;
			h->how = exact ? DNH_PIPE : DNH_PIPE_FILE;
			h->pid = p->pid;
			h->tid = p->tid;
			h->pipe = p->pipe;
			h->exact = p->exact;
			h->same_file = p->same_file;
			h->nbufs = p->nbufs;
			memcpy(h->comm, p->comm, sizeof(h->comm));
		}
		if (h->nfds < N(h->fds))
			h->fds[h->nfds++] = p->fd;
	}
}

void join_vma(struct daxnow_report *r, const struct dn_vma_rec *v)
{
	for (size_t i = 0; i < r->nw; i++) {
		struct daxnow_waiter *w = &r->w[i];
		struct daxnow_holder *h;
		bool dup = false;

		if (w->target != (int)v->target)
			continue;
		for (size_t k = 0; k < w->nholders; k++)
			dup |= w->holders[k].how == DNH_MAP && w->holders[k].pid == v->pid &&
			       w->holders[k].vm_start == v->vm_start;
		if (dup || !(h = holder_add(w)))
			continue;
		h->how = DNH_MAP;
		h->pid = v->pid;
		h->tid = v->tid;
		h->vm_start = v->vm_start;
		h->vm_end = v->vm_end;
		h->addr = v->addr;
		memcpy(h->comm, v->comm, sizeof(h->comm));
	}
}

static bool keep_waiter(const struct daxnow_report *r, const struct daxnow_waiter *w)
{
	if (!r->filter_pid || w->rec.pid == r->filter_pid)
		return true;
	for (size_t k = 0; k < w->nholders; k++)
		if (w->holders[k].pid == r->filter_pid)
			return true;
	return false;
}

void apply_filter(struct daxnow_report *r)
{
	size_t n = 0;

	if (!r->filter_pid)
		return;
	for (size_t i = 0; i < r->nheld; i++) {
		const struct daxnow_held *h = &r->held[i];

		if (h->pid == r->filter_pid ||
		    (h->waiter >= 0 && r->w[h->waiter].rec.pid == r->filter_pid)) {
			r->held[n] = *h;
			r->held[n++].waiter = -1;	/* w[] is filtered next */
		}
	}
	r->nheld = n;
	n = 0;
	for (size_t i = 0; i < r->nw; i++) {
		if (keep_waiter(r, &r->w[i]))
			r->w[n++] = r->w[i];
		else
			free(r->w[i].holders);
	}
	r->nw = n;
}

bool daxnow_map_holds(const struct daxnow_report *r, const struct daxnow_waiter *w)
{
	return r->era.era == ERA_ZERO_BASED && w->rec.pg.mapcount > 0;
}

static struct daxnow_held *held_find(struct daxnow_report *r, uint64_t page)
{
	for (size_t i = 0; i < r->nheld; i++)
		if (r->held[i].pg.page == page)
			return &r->held[i];
	return NULL;
}

static struct daxnow_held *held_add(struct daxnow_report *r, const struct dn_page *pg)
{
	struct daxnow_held *h = held_find(r, pg->page), *n;

	if (h)
		return h;
	n = realloc(r->held, (r->nheld + 1) * sizeof(*n));
	if (!n)
		return NULL;
	r->held = n;
	h = &n[r->nheld++];
	memset(h, 0, sizeof(*h));
	h->pg = *pg;
	h->extra = extra_of(r, pg);
	h->how = DNH_GUPIO;
	h->fd = -1;
	h->waiter = -1;
	return h;
}

/* The comm of a pipe holder: the waiter join has it, else /proc. */
static void holder_comm(const struct daxnow_report *r, uint32_t pid, char *comm)
{
	char path[64];

	for (size_t i = 0; i < r->nw; i++)
		for (size_t k = 0; k < r->w[i].nholders; k++)
			if (r->w[i].holders[k].pid == pid) {
				memcpy(comm, r->w[i].holders[k].comm, DN_COMM_LEN);
				return;
			}
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	if (read_line(path, comm, DN_COMM_LEN))
		snprintf(comm, DN_COMM_LEN, "?");
}

/* Pages held from outside, first each waited page with extra references:
 * its pipe holder, else a mapping that still holds it (6.15+). */
void scan_held_from_waiters(struct daxnow_report *r)
{
	for (size_t i = 0; i < r->nw; i++) {
		struct daxnow_waiter *w = &r->w[i];
		struct daxnow_held *h;

		if (!w->page_found || w->extra <= 0 || !(h = held_add(r, &w->rec.pg)))
			continue;
		if (h->waiter < 0)	/* the first waiter on the page names it */
			h->waiter = i;
		for (size_t k = 0; k < w->nholders && h->how == DNH_GUPIO; k++) {
			const struct daxnow_holder *o = &w->holders[k];

			if (o->how != DNH_PIPE && !(o->how == DNH_MAP && daxnow_map_holds(r, w)))
				continue;
			h->how = o->how;
			h->pid = o->pid;
			h->fd = o->nfds ? o->fds[0] : -1;
			memcpy(h->comm, o->comm, sizeof(h->comm));
		}
	}
}

/* Then a page of a waited file that a pipe holds (the pipe_pages map). */
void scan_held_from_pipe_page(struct daxnow_report *r, const struct dn_pipe_page *v)
{
	struct daxnow_held *h;

	if (!v->pg.valid || !v->pg.fsdax || extra_of(r, &v->pg) <= 0 || !(h = held_add(r, &v->pg)))
		return;
	if (h->how != DNH_GUPIO && h->how != DNH_MAP)
		return;	/* already joined to its pipe */
	h->how = DNH_PIPE;
	h->pid = v->pid;
	h->fd = v->fd;
	holder_comm(r, v->pid, h->comm);
}

/* The distinct waited folios (the holder iterators' targets) in tg, each
 * waiter's index into them; returns how many. */
uint32_t scan_targets(struct daxnow_report *r, struct dn_target *tg)
{
	uint32_t nt = 0;

	for (size_t i = 0; i < r->nw; i++) {
		struct daxnow_waiter *w = &r->w[i];
		uint32_t t;

		if (!w->page_found)
			continue;
		for (t = 0; t < nt; t++)
			if (tg[t].lo == w->rec.pg.head)
				break;
		if (t == nt) {
			if (nt == DN_MAX_TARGETS)
				continue;
			/* the whole folio: vmsplice holds subpages of a large one */
			tg[t] = (struct dn_target){
				.lo = w->rec.pg.head,
				.hi = w->rec.pg.head + (sizeof(void *) * 8 << w->rec.pg.order),
				.mapping = w->rec.pg.shared ? 0 : w->rec.pg.mapping,
				.index = w->rec.pg.index };
			nt++;
		}
		w->target = t;
	}
	return nt;
}
