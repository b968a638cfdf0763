#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "daxtop_view.h"
#include "hist_user.h"
#include "paths.h"
#include "util.h"
#include "daxtop.skel.h"	/* after daxtop.h: the skeleton uses its types */

static const char *const col_names[COL_NR] = {
	"pid", "comm", "pte", "pmd", "pmdfb", "write", "mkwr", "hole", "wb", "unmap",
	"blwait", "blwms", "latp50", "latp99", "file", "faults",
};

int col_by_name(const char *name)
{
	for (int i = 0; i < COL_NR; i++)
		if (!strcasecmp(name, col_names[i]))
			return i;
	return -1;
}

const char *col_name(int col)
{
	return col >= 0 && col < COL_NR ? col_names[col] : "?";
}

static int cmp_key(const void *a, const void *b)
{
	const struct daxtop_key *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* "/name" at buf + used, written as /proc/PID/maps writes names (a newline
 * as \012, so a path stays one line in text output), "..." after a name
 * BPF got only the start of. Returns the new used. */
static size_t put_name(char *buf, size_t used, size_t len, const char *name, bool cut)
{
	used += snprintf(buf + used, len - used, "/");
	for (int i = 0; i < DAXTOP_NAME_LEN && name[i] && used < len; i++)
		used += snprintf(buf + used, len - used, name[i] == '\n' ? "\\012" : "%c", name[i]);
	if (cut && used < len)
		used += snprintf(buf + used, len - used, "...");
	return used;
}

/* Path from the names BPF saw at the first fault: mount point + names. */
static void file_path(const struct daxtop_file *f, char *buf, size_t len)
{
	size_t used;

	mount_point_of(f->dev, buf, len);
	used = strlen(buf);
	if (!f->reached_root)
		used += snprintf(buf + used, used < len ? len - used : 0, "/...");
	for (int i = (int)f->depth - 1; i >= 0 && used < len; i--)
		used = put_name(buf, used, len, f->name[i], f->cut & (1u << i));
}

/* Learn paths of rows the cache does not know, from the BPF files map.
 * Bounded: an LRU eviction under our feet can restart the key walk. */
static void learn_paths(struct daxtop_ctx *c, const struct snapshot *s)
{
	int fd = bpf_map__fd(c->skel->maps.files);
	int budget = 2 * bpf_map__max_entries(c->skel->maps.files);
	struct daxtop_key key, *prev = NULL, next;
	struct daxtop_file f;
	bool need = false;
	char path[512];

	for (int i = 0; i < s->n && !need; i++)
		need = !path_known(s->rows[i].key.dev, s->rows[i].key.ino);
	if (!need)
		return;
	while (budget-- > 0 && !bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &f) && f.depth && !path_known(f.dev, f.ino)) {
			file_path(&f, path, sizeof(path));
			path_learn(f.dev, f.ino, path);
		}
		key = next;
		prev = &key;
	}
}

/* A row of s by key: the sorted part by bisection, rows added after it
 * one by one. */
static struct view_row *find_row(struct snapshot *s, int sorted, const struct daxtop_key *k)
{
	struct view_row *v = bsearch(k, s->rows, sorted, sizeof(*s->rows), cmp_key);

	for (int i = sorted; !v && i < s->n; i++)
		if (!cmp_key(&s->rows[i].key, k))
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
		qsort(s->rows, s->n, sizeof(*s->rows), cmp_key);
}

/* Read every CPU's fault slot, after the rows (see include/daxtop.h). */
static void cpu_slots(struct daxtop_ctx *c, struct snapshot *s, int room)
{
	int ncpu = libbpf_num_possible_cpus(), zero = 0;
	struct fault_slot *slots;

	if (ncpu <= 0 || !(slots = calloc(ncpu, sizeof(*slots))))
		return;
	if (!c->seen)
		c->seen = calloc(ncpu, sizeof(*c->seen));
	if (!bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.fault_start), &zero, slots))
		slots_merge(s, room, slots, ncpu, c->seen);
	free(slots);
}

void clock_publish(struct daxtop_ctx *c, uint64_t now)
{
	c->skel->bss->clock_ns = now;
}

int snapshot_take(struct daxtop_ctx *c, struct snapshot *s)
{
	int fd = bpf_map__fd(c->skel->maps.rows);
	int cap = bpf_map__max_entries(c->skel->maps.rows);
	struct daxtop_key key, next, *prev = NULL;
	int room = cap + libbpf_num_possible_cpus();	/* + rows only a row cache has */

	memset(s, 0, sizeof(*s));
	s->rows = calloc(room, sizeof(*s->rows));
	if (!s->rows)
		return -1;
	/* Publish first: a row active from here on has last_ns >= t_ns. */
	s->t_ns = mono_ns();
	s->prev_clock_ns = c->skel->bss->clock_ns;
	clock_publish(c, s->t_ns);
	while (s->n < cap && !bpf_map_get_next_key(fd, prev, &next)) {
		struct view_row *v = &s->rows[s->n];

		if (!bpf_map_lookup_elem(fd, &next, &v->r)) {
			v->key = next;
			v->nfiles = 1;
			s->n++;
		}
		key = next;
		prev = &key;
	}
	qsort(s->rows, s->n, sizeof(*s->rows), cmp_key);
	cpu_slots(c, s, room);	/* after the rows, never before */
	learn_paths(c, s);
	/* .bss is memory-mapped: read the globals directly. */
	memcpy(s->hists, (const void *)c->skel->bss->hists, sizeof(s->hists));
	memcpy(s->fallback, (const void *)c->skel->bss->fallback_reasons, sizeof(s->fallback));
	memcpy(s->drops, (const void *)c->skel->bss->drops, sizeof(s->drops));
	s->missed_runs = probe_missed_runs(c->hooks, c->nhooks);
	return 0;
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

	switch (col) {
	case COL_PID: return v->key.pid;
	case COL_PTE: return r->cnt[DT_PTE];
	case COL_PMD: return r->cnt[DT_PMD];
	case COL_PMDFB: return r->cnt[DT_PMD_FALLBACK];
	case COL_WRITE: return r->cnt[DT_WRITE];
	case COL_MKWR: return r->cnt[DT_MKWRITE];
	case COL_HOLE: return r->cnt[DT_HOLE];
	case COL_WB: return r->cnt[DT_WB_PAGES];
	case COL_UNMAP: return r->cnt[DT_UNMAP];
	case COL_BLWAIT: return r->cnt[DT_BL_WAITS];
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
		r = -cmp_key(&x->key, &y->key);
	return g_asc ? r : -r;
}

static void group_key(enum group_by g, struct daxtop_key *k)
{
	if (g == GROUP_PID)
		k->dev = 0, k->ino = 0;
	else if (g == GROUP_FILE)
		k->pid = 0;
}

static bool passes_filters(const struct daxtop_ctx *c, const struct view_row *v)
{
	if (c->vo.comm && strcmp(v->r.comm, c->vo.comm))
		return false;
	if (c->vo.path_prefix) {
		const char *p = path_lookup(v->key.pid, v->key.dev, v->key.ino);

		if (!p || strncmp(p, c->vo.path_prefix, strlen(c->vo.path_prefix)))
			return false;
	}
	return true;
}

int view_build(const struct daxtop_ctx *c, const struct snapshot *cur,
	       const struct snapshot *base, struct view_row **out)
{
	struct view_row *v = calloc(cur->n + 1, sizeof(*v));
	int n = 0;

	if (!v)
		return -1;
	for (int i = 0; i < cur->n; i++) {
		struct view_row d = cur->rows[i];
		const struct view_row *b = NULL;

		/* Resolve paths while the process may still be alive. */
		path_lookup(d.key.pid, d.key.dev, d.key.ino);
		if (!passes_filters(c, &d))
			continue;
		if (base)
			b = bsearch(&d.key, base->rows, base->n, sizeof(*base->rows), cmp_key);
		if (b)
			row_sub(&d.r, &b->r);
		if (row_empty(&d.r))
			continue;
		group_key(c->vo.group, &d.key);
		if (c->vo.group != GROUP_PIDFILE) {
			int j;

			for (j = 0; j < n; j++)
				if (!cmp_key(&v[j].key, &d.key))
					break;
			if (j < n) {
				row_add(&v[j].r, &d.r);
				v[j].nfiles++;
				continue;
			}
		}
		v[n++] = d;
	}
	g_sort = c->vo.sort;
	g_asc = c->vo.ascending;
	qsort(v, n, sizeof(*v), cmp_view);
	if (c->vo.top > 0 && n > c->vo.top)
		n = c->vo.top;
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
