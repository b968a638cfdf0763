#include <stdlib.h>
#include <string.h>
#include "daxtop_view.h"
#include "hist_user.h"
#include "paths.h"
#include "util.h"

/* Sort names of the columns that are not counters (those are in daxtop_counters). */
static const char *const other_col_names[COL_NR] = {
	[COL_PID] = "pid", [COL_COMM] = "comm", [COL_BLWMS] = "blwms", [COL_LATP50] = "latp50",
	[COL_LATP99] = "latp99", [COL_FILE] = "file", [COL_FAULTS] = "faults",
};

const char *col_name(int col)
{
	if (col >= COL_CNT && col < COL_OF(DT_NR_COUNTERS))
		return daxtop_counters[col - COL_CNT].sort;
	return col >= 0 && col < COL_NR ? other_col_names[col] : "?";
}

int col_by_name(const char *name)
{
	for (int i = 0; i < COL_NR; i++)
		if (!strcasecmp(name, col_name(i)))
			return i;
	return -1;
}

enum col col_step(enum col c, int dir)
{
	/* a ring of COL_NR keys: faults (0), then pid .. file (1 .. COL_NR - 1) */
	int i = c == COL_FAULTS ? 0 : c + 1, n = COL_NR;

	i = ((i + dir) % n + n) % n;
	return i == 0 ? COL_FAULTS : (enum col)(i - 1);
}

int daxtop_key_cmp(const void *a, const void *b)
{
	const struct daxtop_key *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* A row of s by key: the sorted part by bisection, rows added after it
 * one by one. */
static struct view_row *find_row(struct snapshot *s, int sorted, const struct daxtop_key *k)
{
	struct view_row *v = bsearch(k, s->rows, sorted, sizeof(*s->rows), daxtop_key_cmp);

	for (int i = sorted; !v && i < s->n; i++)
		if (!daxtop_key_cmp(&s->rows[i].key, k))
			v = &s->rows[i];
	return v;
}

void slots_merge(struct snapshot *s, int room, const struct fault_slot *slots, int ncpu,
		 struct slot_seen *seen)
{
	int sorted = s->n;

	for (int i = 0; i < ncpu; i++) {
		const struct fault_slot *f = &slots[i];
		struct view_row *v;
		uint64_t sum = 0;

		s->events += f->events + f->faults;
		s->faults += f->faults;
		for (int k = 0; k < DAXTOP_PEND_NR; k++)
			sum += f->pend[k];
		if (!f->ckey.pid || !sum)
			continue;
		v = find_row(s, sorted, &f->ckey);
		if (!v && s->n < room) {
			v = &s->rows[s->n++];
			memset(v, 0, sizeof(*v));
			v->key = f->ckey;
			v->nfiles = 1;
			memcpy(v->r.comm, f->comm, sizeof(v->r.comm));
		}
		if (!v)
			continue;
		for (int k = 0; k < DAXTOP_PEND_NR; k++)
			v->r.cnt[k] += f->pend[k];
		v->cached = true;
		if (seen) {
			if (memcmp(&seen[i].key, &f->ckey, sizeof(f->ckey)) || seen[i].sum != sum)
				v->r.last_ns = s->t_ns;
			seen[i].key = f->ckey;
			seen[i].sum = sum;
		}
	}
	if (s->n > sorted)
		qsort(s->rows, s->n, sizeof(*s->rows), daxtop_key_cmp);
}

void snapshot_free(struct snapshot *s)
{
	free(s->rows);
	memset(s, 0, sizeof(*s));
}

static void row_sub(struct daxtop_row *d, const struct daxtop_row *b)
{
	for (int i = 0; i < DT_NR_COUNTERS; i++)
		d->cnt[i] -= b->cnt[i];
	d->bl_wait_ns -= b->bl_wait_ns;
	d->lat_ns -= b->lat_ns;
	hist_diff(&d->lat, &d->lat, &b->lat);
	/* max since start cannot be split per interval: keep it as is. */
}

static void row_add(struct daxtop_row *d, const struct daxtop_row *s)
{
	for (int i = 0; i < DT_NR_COUNTERS; i++)
		d->cnt[i] += s->cnt[i];
	d->bl_wait_ns += s->bl_wait_ns;
	if (s->bl_wait_max_ns > d->bl_wait_max_ns)
		d->bl_wait_max_ns = s->bl_wait_max_ns;
	d->lat_ns += s->lat_ns;
	hist_merge(&d->lat, &s->lat);
	if (s->last_ns > d->last_ns) {
		d->last_ns = s->last_ns;
		memcpy(d->comm, s->comm, sizeof(d->comm));
	}
}

static bool row_empty(const struct daxtop_row *r)
{
	for (int i = 0; i < DT_NR_COUNTERS; i++)
		if (r->cnt[i])
			return false;
	return true;
}

uint64_t row_value(const struct view_row *v, int col)
{
	const struct daxtop_row *r = &v->r;

	if (col >= COL_CNT && col < COL_OF(DT_NR_COUNTERS))
		return r->cnt[col - COL_CNT];
	switch (col) {
	case COL_PID: return v->key.pid;
	case COL_BLWMS: return r->bl_wait_ns;
	case COL_LATP50: return hist_percentile(&r->lat, 50);
	case COL_LATP99: return hist_percentile(&r->lat, 99);
	case COL_FAULTS: return r->cnt[DT_PTE] + r->cnt[DT_PMD] + r->cnt[DT_PMD_FALLBACK];
	default: return 0;
	}
}

static enum col g_sort;
static bool g_asc;

static int cmp_view(const void *a, const void *b)
{
	const struct view_row *x = a, *y = b;
	int r;

	if (g_sort == COL_COMM) {
		r = strcmp(x->r.comm, y->r.comm);
	} else if (g_sort == COL_FILE) {
		char fa[256], fb[256];

		path_label(x->key.pid, x->key.dev, x->key.ino, fa, sizeof(fa));
		path_label(y->key.pid, y->key.dev, y->key.ino, fb, sizeof(fb));
		r = strcmp(fa, fb);
	} else {
		uint64_t va = row_value(x, g_sort), vb = row_value(y, g_sort);

		r = va < vb ? -1 : va > vb;
	}
	if (!r)	/* stable order for equal values */
		r = -daxtop_key_cmp(&x->key, &y->key);
	return g_asc ? r : -r;
}

static void group_key(enum group_by g, struct daxtop_key *k)
{
	if (g == GROUP_PID)
		k->dev = 0, k->ino = 0;
	else if (g == GROUP_FILE)
		k->pid = 0;
}

static bool passes_filters(const struct view_opts *vo, const struct view_row *v)
{
	if (vo->comm && strcmp(v->r.comm, vo->comm))
		return false;
	if (vo->path_prefix) {
		const char *p = path_lookup(v->key.pid, v->key.dev, v->key.ino);

		if (!p || strncmp(p, vo->path_prefix, strlen(vo->path_prefix)))
			return false;
	}
	return true;
}

int view_build(const struct view_opts *vo, const struct snapshot *cur,
	       const struct snapshot *base, struct view_row **out)
{
	struct view_row *v = calloc(cur->n + 1, sizeof(*v));
	int n = 0;

	if (!v)
		return -1;
	for (int i = 0; i < cur->n; i++) {
		struct view_row d = cur->rows[i];
		const struct view_row *b = NULL;

		if (!passes_filters(vo, &d))
			continue;
		if (base)
			b = bsearch(&d.key, base->rows, base->n, sizeof(*base->rows), daxtop_key_cmp);
		if (b)
			row_sub(&d.r, &b->r);
		if (row_empty(&d.r))
			continue;
		group_key(vo->group, &d.key);
		if (vo->group != GROUP_PIDFILE) {
			int j;

			for (j = 0; j < n; j++)
				if (!daxtop_key_cmp(&v[j].key, &d.key))
					break;
			if (j < n) {
				row_add(&v[j].r, &d.r);
				v[j].nfiles++;
				continue;
			}
		}
		v[n++] = d;
	}
	g_sort = vo->sort;
	g_asc = vo->ascending;
	qsort(v, n, sizeof(*v), cmp_view);
	if (vo->top > 0 && n > vo->top)
		n = vo->top;
	*out = v;
	return n;
}

void snapshot_hist_diff(struct hist *out, const struct snapshot *cur,
			const struct snapshot *base, int id)
{
	if (base)
		hist_diff(out, &cur->hists[id], &base->hists[id]);
	else
		*out = cur->hists[id];
}

uint64_t total_drops(const struct snapshot *s, const struct snapshot *base)
{
	uint64_t t = 0;

	for (int i = 0; i < DROP_NR; i++)
		if (i != DROP_LAT_NO_START)
			t += s->drops[i] - (base ? base->drops[i] : 0);
	return t + s->missed_runs - (base ? base->missed_runs : 0);
}

void lat_timed(const struct snapshot *cur, const struct snapshot *base,
	       uint64_t *timed, uint64_t *faults)
{
	struct hist h;

	*timed = 0;
	for (int id = H_PTE_LAT; id <= H_PMD_LAT; id++) {
		snapshot_hist_diff(&h, cur, base, id);
		*timed += hist_total(&h);
	}
	*faults = cur->faults - (base ? base->faults : 0);
}
