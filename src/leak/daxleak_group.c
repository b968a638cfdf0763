/* daxleak reports: group the held pages by culprit (pid, stacks), their
 * large folios, and the holder of a waiter's busy folio. Pure: no map or
 * file reads (tests/unit/test_leak_group.c). */
#include <errno.h>
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

static bool starts_group(const struct group *cur, const struct leak_entry *e)
{
	return !cur || cur->pid != e->v.pid || cur->kstack != e->v.kstack ||
	       cur->ustack != e->v.ustack ||
	       cur->seen_at_start != !!(e->v.flags & DL_SEEN_AT_START);
}

/* Room for one more element in *p (cap doubles). 0, or -1 out of memory. */
static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *m;

	if (n < *cap)
		return 0;
	m = reallocarray(*p, *cap ? *cap * 2 : 8, size);
	if (!m)
		return -1;
	*p = m;
	*cap = *cap ? *cap * 2 : 8;
	return 0;
}

struct folio_ref {
	uint64_t folio;
	size_t k;		/* position in the group: the first one counts */
	int64_t extra;
};

static int cmp_folio_ref(const void *a, const void *b)
{
	const struct folio_ref *x = a, *y = b;

	if (x->folio != y->folio)
		return x->folio < y->folio ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

/* Folios and extra references of a group: one count per folio (subpages
 * of a large folio share it), taken from its first page in the group.
 * Sorting keeps this O(n log n) for groups of a million pages. */
static int count_folios(const struct leak_ctx *c, struct group *g)
{
	struct folio_ref *f = calloc(g->n ? g->n : 1, sizeof(*f));

	if (!f)
		return -1;
	for (size_t k = 0; k < g->n; k++) {
		const struct leak_entry *e = &c->ents[g->idx[k]];

		f[k] = (struct folio_ref){ e->v.folio, k, e->extra };
	}
	qsort(f, g->n, sizeof(*f), cmp_folio_ref);
	g->folios = 0;
	g->extra = 0;
	for (size_t k = 0; k < g->n; k++)
		if (!k || f[k].folio != f[k - 1].folio) {
			g->folios++;
			g->extra += f[k].extra;
		}
	free(f);
	return 0;
}

/* Groups of reported entries (sorted by pid/stack first). NULL with *ng 0
 * when there are none (errno 0) or memory ran out (errno ENOMEM). */
struct group *leak_groups_make(struct leak_ctx *c, size_t *ng)
{
	struct group *g = NULL, *cur = NULL;
	size_t n = 0, cap = 0;

	*ng = 0;
	errno = 0;
	qsort(c->ents, c->nents, sizeof(*c->ents), cmp_entry);
	for (size_t i = 0; i < c->nents; i++) {
		struct leak_entry *e = &c->ents[i];

		if (!entry_reported(c, e))
			continue;
		if (starts_group(cur, e)) {
			if (grow((void **)&g, &cap, n, sizeof(*g)))
				goto oom;
			cur = &g[n++];
			*cur = (struct group){ .kstack = e->v.kstack, .ustack = e->v.ustack,
					       .pid = e->v.pid,
					       .seen_at_start = e->v.flags & DL_SEEN_AT_START };
		}
		if (grow((void **)&cur->idx, &cur->cap, cur->n, sizeof(*cur->idx)))
			goto oom;
		cur->idx[cur->n++] = i;
		if (e->age_s > cur->oldest)
			cur->oldest = e->age_s;
	}
	for (size_t k = 0; k < n; k++)
		if (count_folios(c, &g[k]))
			goto oom;
	if (g)
		qsort(g, n, sizeof(*g), cmp_group);
	*ng = n;
	return g;
oom:
	leak_groups_free(g, n);
	errno = ENOMEM;
	return NULL;
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

