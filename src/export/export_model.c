/* daxtrace export: bounded series with "other" folding (see export.h).
 * Pure user-space bookkeeping, no BPF: unit-tested on its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"

void acc_add_row(struct acc *a, const struct daxtop_row *r)
{
	for (int i = 0; i < DT_NR_COUNTERS; i++)
		a->cnt[i] += r->cnt[i];
	a->bl_wait_ns += r->bl_wait_ns;
	a->lat_ns += r->lat_ns;
	hist64_add(&a->lat, &r->lat);
}

void acc_merge(struct acc *a, const struct acc *b)
{
	for (int i = 0; i < DT_NR_COUNTERS; i++)
		a->cnt[i] += b->cnt[i];
	a->bl_wait_ns += b->bl_wait_ns;
	a->lat_ns += b->lat_ns;
	hist64_merge(&a->lat, &b->lat);
}

uint64_t acc_total(const struct acc *a)
{
	uint64_t t = a->bl_wait_ns;

	for (int i = 0; i < DT_NR_COUNTERS; i++)
		t += a->cnt[i];
	return t;
}

static int skey_cmp(struct skey x, struct skey y)
{
	if (x.a != y.a)
		return x.a < y.a ? -1 : 1;
	return x.b < y.b ? -1 : x.b > y.b;
}

void series_init(struct series_set *s, int limit)
{
	memset(s, 0, sizeof(*s));
	s->limit = limit;
	s->other.other = true;
	snprintf(s->other.label, sizeof(s->other.label), "other");
}

void series_free(struct series_set *s)
{
	free(s->v);
	free(s->folded);
	memset(s, 0, sizeof(*s));
}

/* Index of key in a sorted array, or -(insertion point) - 1. */
#define BSEARCH(arr, n, k, field) ({					\
	int lo = 0, hi = (n) - 1, res = -1;				\
	while (lo <= hi) {						\
		int mid = (lo + hi) / 2;				\
		int c = skey_cmp((arr)[mid].field, (k));		\
		if (!c) { res = mid; break; }				\
		if (c < 0) lo = mid + 1; else hi = mid - 1;		\
	}								\
	res >= 0 ? res : -lo - 1;					\
})

static int folded_find(struct series_set *s, struct skey key)
{
	return BSEARCH(s->folded, s->nfolded, key, key);
}

static void fold_key(struct series_set *s, struct skey key, int at)
{
	if (s->nfolded == s->capfolded) {
		int nc = s->capfolded ? s->capfolded * 2 : 64;
		void *p = realloc(s->folded, nc * sizeof(*s->folded));

		if (!p)
			return;	/* still folded into "other", just not remembered */
		s->folded = p;
		s->capfolded = nc;
	}
	memmove(&s->folded[at + 1], &s->folded[at], (s->nfolded - at) * sizeof(*s->folded));
	s->folded[at].key = key;
	s->folded[at].live_rows = 0;
	s->nfolded++;
	s->folded_total++;
}

struct series *series_get(struct series_set *s, struct skey key, bool *created)
{
	int i = BSEARCH(s->v, s->n, key, key), f;
	struct series *se;

	if (created)
		*created = false;
	if (i >= 0)
		return &s->v[i];
	f = folded_find(s, key);
	if (f >= 0)
		return &s->other;
	if (s->n >= s->limit) {
		fold_key(s, key, -f - 1);
		return &s->other;
	}
	if (s->n == s->cap) {
		int nc = s->cap ? s->cap * 2 : 16;
		void *p;

		if (nc > s->limit)
			nc = s->limit;
		p = realloc(s->v, nc * sizeof(*s->v));
		if (!p) {
			fold_key(s, key, -f - 1);
			return &s->other;
		}
		s->v = p;
		s->cap = nc;
	}
	i = -i - 1;
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
	se = &s->v[i];
	memset(se, 0, sizeof(*se));
	se->key = key;
	s->n++;
	if (created)
		*created = true;
	return se;
}

void series_mark_live(struct series_set *s, struct series *se, struct skey key,
		      const struct daxtop_row *r)
{
	acc_add_row(&se->live, r);
	se->live_rows++;
	if (se->other) {
		int f = folded_find(s, key);

		if (f >= 0)
			s->folded[f].live_rows++;
	}
}

void series_begin(struct series_set *s)
{
	for (int i = 0; i < s->n; i++) {
		memset(&s->v[i].live, 0, sizeof(s->v[i].live));
		s->v[i].live_rows = 0;
	}
	memset(&s->other.live, 0, sizeof(s->other.live));
	s->other.live_rows = 0;
	for (int i = 0; i < s->nfolded; i++)
		s->folded[i].live_rows = 0;
}

static bool changed(struct series *se, double now_s)
{
	uint64_t t = acc_total(&se->retired) + acc_total(&se->live);

	if (t != se->last_total || !se->last_change_s) {
		se->last_total = t;
		se->last_change_s = now_s;
		return true;
	}
	return false;
}

void series_end(struct series_set *s, double now_s, double idle_s)
{
	int w = 0;

	changed(&s->other, now_s);
	for (int i = 0; i < s->n; i++) {
		struct series *se = &s->v[i];

		changed(se, now_s);
		if (idle_s > 0 && !se->live_rows && now_s - se->last_change_s >= idle_s) {
			s->retired_total++;
			continue;
		}
		if (w != i)
			s->v[w] = *se;
		w++;
	}
	s->n = w;
	w = 0;
	for (int i = 0; i < s->nfolded; i++)
		if (s->folded[i].live_rows)
			s->folded[w++] = s->folded[i];
	s->nfolded = w;
}
