/* daxleak reports: group the held pages by culprit (pid, stacks), their
 * large folios, and the holder of a waiter's busy folio. Pure: no map or
 * file reads (tests/unit/test_leak_group.c). */
#include <stdlib.h>
#include <string.h>
#include "daxleak_report.h"

static int cmp_entry(const void *a, const void *b)
{
	const struct leak_entry *x = a, *y = b;

	if ((x->v.flags ^ y->v.flags) & DL_SEEN_AT_START)
		return x->v.flags & DL_SEEN_AT_START ? 1 : -1;
	if (x->v.pid != y->v.pid)
		return x->v.pid < y->v.pid ? -1 : 1;
	if (x->v.kstack != y->v.kstack)
		return x->v.kstack < y->v.kstack ? -1 : 1;
	if (x->v.ustack != y->v.ustack)
		return x->v.ustack < y->v.ustack ? -1 : 1;
	if (x->v.dev != y->v.dev)
		return x->v.dev < y->v.dev ? -1 : 1;
	if (x->v.ino != y->v.ino)
		return x->v.ino < y->v.ino ? -1 : 1;
	return x->v.index < y->v.index ? -1 : x->v.index > y->v.index;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->oldest > y->oldest ? -1 : x->oldest < y->oldest;
}

/* Seen-at-start pages need no acquisition hook (their culprit is unknown
 * anyway), only a way to see them released. */
static bool entry_reported(const struct leak_ctx *c, const struct leak_entry *e)
{
	bool start = e->v.flags & DL_SEEN_AT_START;

	return (c->caps.leaks || (start && c->caps.release_seen)) && e->age_s >= c->a.min_age_s;
}

/* Groups of reported entries (sorted by pid/stack first). */
struct group *leak_groups_make(struct leak_ctx *c, size_t *ng)
{
	struct group *g = NULL;
	size_t n = 0;

	qsort(c->ents, c->nents, sizeof(*c->ents), cmp_entry);
	for (size_t i = 0; i < c->nents; i++) {
		struct leak_entry *e = &c->ents[i];
		struct group *cur = n ? &g[n - 1] : NULL;
		bool new_folio = true;

		if (!entry_reported(c, e))
			continue;
		if (!cur || cur->pid != e->v.pid || cur->kstack != e->v.kstack ||
		    cur->ustack != e->v.ustack ||
		    cur->seen_at_start != !!(e->v.flags & DL_SEEN_AT_START)) {
			void *p = realloc(g, (n + 1) * sizeof(*g));

			if (!p)
				break;
			g = p;
			cur = &g[n++];
			*cur = (struct group){ .kstack = e->v.kstack, .ustack = e->v.ustack,
					       .pid = e->v.pid,
					       .seen_at_start = e->v.flags & DL_SEEN_AT_START };
		}
		cur->idx = realloc(cur->idx, (cur->n + 1) * sizeof(*cur->idx));
		if (!cur->idx)
			break;
		for (size_t k = 0; k < cur->n; k++)
			if (c->ents[cur->idx[k]].v.folio == e->v.folio)
				new_folio = false;
		cur->idx[cur->n++] = i;
		cur->folios += new_folio;
		/* one count per folio: subpages of a large folio share it */
		if (new_folio)
			cur->extra += e->extra;
		if (e->age_s > cur->oldest)
			cur->oldest = e->age_s;
	}
	if (g)
		qsort(g, n, sizeof(*g), cmp_group);
	*ng = n;
	return g;
}

void leak_groups_free(struct group *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(g[i].idx);
	free(g);
}

/* The group's large folios, in *out (free it); returns how many. */
size_t leak_group_big_folios(const struct leak_ctx *c, const struct group *g,
			       struct big_folio **out_p)
{
	struct big_folio *out = calloc(g->n + 1, sizeof(*out));
	size_t n = 0;

	*out_p = out;
	if (!out)
		return 0;

	for (size_t k = 0; k < g->n; k++) {
		const struct leak_entry *e = &c->ents[g->idx[k]];
		size_t f = 0;

		if (!e->v.order)
			continue;
		while (f < n && out[f].e->v.folio != e->v.folio)
			f++;
		if (f == n)
			out[n++] = (struct big_folio){ e, 0 };
		out[f].pages++;
	}
	return n;
}

uint64_t leak_folio_pfn(const struct leak_entry *e)
{
	return e->v.pfn == ~0ULL ? ~0ULL : e->v.pfn - e->v.subpage;
}

/* Who holds the busy folio a waiter waits on. */
const struct leak_entry *leak_holder_of(const struct leak_ctx *c, const struct waiter_rec *w,
					  size_t *nheld)
{
	const struct leak_entry *first = NULL;

	*nheld = 0;
	if (!w->w.busy_folio)
		return NULL;
	for (size_t i = 0; i < c->nents; i++) {
		const struct leak_entry *e = &c->ents[i];

		if (e->page == w->w.busy_page || e->v.folio == w->w.busy_folio) {
			(*nheld)++;
			if (!first || e->v.first_ns < first->v.first_ns)
				first = e;
		}
	}
	return first;
}

/* Seen-at-start groups, or their pages. */
size_t leak_seen_at_start(const struct group *g, size_t ng, bool pages)
{
	size_t n = 0;

	for (size_t i = 0; i < ng; i++)
		n += g[i].seen_at_start ? (pages ? g[i].n : 1) : 0;
	return n;
}

