/* daxleak: collect one report from the BPF maps and /proc, then print it
 * as text, JSON (shared writer) or folded stacks. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include "daxleak_int.h"
#include "daxleak.skel.h"
#include "hist_user.h"
#include "mounts.h"
#include "paths.h"
#include "util.h"

static const char *const anomaly_names[DLA_NR] = {
	"release-underflow", "negative-refcount", "below-idle", "freed-while-mapped",
	"reused-while-held", "disassociated-while-held",
};

const char *anomaly_name(int t)
{
	return t >= 0 && t < DLA_NR ? anomaly_names[t] : "?";
}

/* The GUP entry point that took a reference: daxleak's hook table names
 * them in DL_GUP_* order (its exit hooks), so the report needs no table. */
static const char *gup_name(const struct leak_ctx *c, int g)
{
	const char *f = g >= 0 && g < DL_GUP_NR ? c->hooks[H_GUP_EXIT0 + g].func : NULL;

	return f ? f : "?";
}

static const char *const anomaly_help[DLA_NR] = {
	"a put would take the count below the era's idle value (kernel would WARN)",
	"refcount read below zero",
	"refcount below idle (one-based) or below the mapping count (zero-based)",
	"final free of a folio that still has mappings",
	"a held page was taken again for another file offset",
	"file entry removed (truncate/evict) while the page is referenced: the kernel WARNs",
};

static int idle_of(const struct leak_ctx *c)
{
	return c->era.era == ERA_ZERO_BASED ? 0 : 1;
}

static double now_age(const struct leak_ctx *c, uint64_t ns)
{
	uint64_t now = mono_ns();

	return ns && now > ns ? (now - ns) / 1e9 : 0;
}

/* ---- collection ----------------------------------------------------- */

static void run_scan(struct leak_ctx *c)
{
	char buf[256];
	int fd;

	if (!c->caps.scan)
		return;
	fd = bpf_iter_create(bpf_link__fd(c->iter_link));
	if (fd < 0) {
		c->scan_errors++;
		return;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	c->scan_runs++;
}

static void add_scan_anomaly(struct leak_ctx *c, uint64_t page, const struct dl_page_val *v, int type)
{
	struct dl_anomaly a = {
		.ts = v->scan_ns, .page = page, .folio = v->folio, .pfn = v->pfn, .ino = v->ino,
		.index = v->index, .type = type, .dev = v->dev, .pid = v->pid, .tid = v->tid,
		.refcount = v->cur_ref, .mapcount = v->cur_map, .refs = v->refs, .kstack = v->kstack,
	};
	struct anomaly_rec *r;

	if (c->nanoms == c->cap_anoms) {
		size_t n = c->cap_anoms ? c->cap_anoms * 2 : 16;
		void *p = realloc(c->anoms, n * sizeof(*c->anoms));

		if (!p)
			return;
		c->anoms = p;
		c->cap_anoms = n;
	}
	memcpy(a.comm, v->comm, sizeof(a.comm));
	r = &c->anoms[c->nanoms++];
	r->a = a;
	r->from_scan = true;
	c->anomaly_total[type]++;
}

static int push_entry(struct leak_ctx *c, const struct leak_entry *e)
{
	if (c->nents == c->cap_ents) {
		size_t n = c->cap_ents ? c->cap_ents * 2 : 256;
		void *p = realloc(c->ents, n * sizeof(*c->ents));

		if (!p)
			return -1;
		c->ents = p;
		c->cap_ents = n;
	}
	c->ents[c->nents++] = *e;
	return 0;
}

static int read_tracked(struct leak_ctx *c, uint64_t scan_start)
{
	uint64_t key, next, *prev = NULL;
	int idle = idle_of(c);

	c->nents = 0;
	c->collect_ns = mono_ns();
	while (!bpf_map_get_next_key(c->tracked_fd, prev, &next)) {
		struct leak_entry e = { .page = next };

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(c->tracked_fd, &key, &e.v))
			continue;
		if (c->caps.scan && e.v.scan_ns >= scan_start) {
			int floor = idle + (c->era.era == ERA_ZERO_BASED ? e.v.cur_map : 0);

			if (e.v.cur_ref < 0)
				add_scan_anomaly(c, key, &e.v, DLA_NEGATIVE);
			else if (e.v.cur_ref < floor)
				add_scan_anomaly(c, key, &e.v, DLA_BELOW_IDLE);
			e.extra = (int64_t)e.v.cur_ref - floor;
			if (e.extra <= 0) {
				/* released between scans: the hold time is known to
				 * within one interval */
				struct hist h = {};
				uint64_t d = e.v.scan_ns - e.v.first_ns;
				int s = 0;

				while (s < HIST_SLOTS - 1 && (d >> s))
					s++;
				h.slots[s] = 1;
				hist_merge(&c->user_hist, &h);
				c->scan_released++;
				bpf_map_delete_elem(c->tracked_fd, &key);
				continue;
			}
		} else {
			e.extra = e.v.refs;
			if (e.extra <= 0)
				continue;
		}
		e.age_s = e.v.first_ns && c->collect_ns > e.v.first_ns ?
			  (c->collect_ns - e.v.first_ns) / 1e9 : 0;
		if (push_entry(c, &e))
			return -1;
	}
	return 0;
}

/* /proc/PID/task/TID: state letter and wchan. */
static char task_state(uint32_t pid, uint32_t tid, char *wchan, size_t wlen)
{
	char fn[96], buf[512], *p;
	FILE *f;
	char st = '?';

	wchan[0] = 0;
	snprintf(fn, sizeof(fn), "/proc/%u/task/%u/stat", pid, tid);
	f = fopen(fn, "r");
	if (!f)
		return 0;	/* gone */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		st = p[2];
	fclose(f);
	snprintf(fn, sizeof(fn), "/proc/%u/task/%u/wchan", pid, tid);
	if (read_line(fn, wchan, wlen))
		wchan[0] = 0;
	return st;
}

static bool wchan_is_dax_wait(const char *w)
{
	static const char *const pats[] = {
		"wait_dax_page", "break_layouts", "break_dax_layouts", "dax_break_layout",
		"wait_page_idle", "dax_layout_busy_page",
	};

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if (strstr(w, pats[i]))
			return true;
	return false;
}

/* x86_64 syscall the waiter is in: a fallback operation name and the fd. */
static const char *syscall_op(uint32_t pid, uint32_t tid, int *fd)
{
	char fn[96], buf[256];
	long nr = -1;
	unsigned long long a0 = 0, a1 = 0;

	*fd = -1;
	snprintf(fn, sizeof(fn), "/proc/%u/task/%u/syscall", pid, tid);
	if (read_line(fn, buf, sizeof(buf)) || sscanf(buf, "%ld %llx %llx", &nr, &a0, &a1) < 1)
		return NULL;
	switch (nr) {
	case 76: return "truncate";
	case 77: *fd = a0; return "truncate";
	case 285: *fd = a0; return "fallocate";
	case 16: *fd = a0; return a1 == 0x40049409ULL || a1 == 0x4020940dULL ? "reflink" : "ioctl";
	case 326: return "copy_file_range";
	case 3: return "evict";			/* close */
	case 87: case 263: return "evict";	/* unlink, unlinkat */
	case 166: return "evict";		/* umount2 */
	case 60: case 231: return "evict";	/* exit */
	}
	return NULL;
}

static void stack_ips(struct leak_ctx *c, int id, uint64_t *ips)
{
	memset(ips, 0, DL_STACK_DEPTH * sizeof(*ips));
	if (id >= 0)
		bpf_map_lookup_elem(c->stacks_fd, &id, ips);
}

/* A kernel stack without our own frames on top (daxleak_kstack.c). */
static void kstack_ips(struct leak_ctx *c, int id, uint64_t *ips)
{
	stack_ips(c, id, ips);
	kstack_trim(c->ks, ips, DL_STACK_DEPTH);
}

static const char *op_from_stack(struct leak_ctx *c, int kstack, bool *final)
{
	static const struct { const char *sym, *op; } ops[] = {
		{ "dax_break_layout_final", "evict" }, { "evict", "evict" },
		{ "punch_hole", "punch" }, { "xfs_free_file_space", "punch" },
		{ "collapse_range", "collapse" }, { "insert_range", "insert" },
		{ "zero_range", "zero-range" },
		{ "reflink", "reflink" }, { "remap_file_range", "reflink" },
		{ "clone_file_range", "reflink" },
		{ "fallocate", "fallocate" },
		{ "setattr", "truncate" }, { "truncate", "truncate" },
	};
	uint64_t ips[DL_STACK_DEPTH], off;

	*final = false;
	if (kstack < 0 || !c->ks)
		return NULL;
	kstack_ips(c, kstack, ips);
	for (int i = 0; i < DL_STACK_DEPTH && ips[i]; i++) {
		const struct ksym *s = ksyms_find(c->ks, ips[i], &off);

		if (s && strstr(s->name, "dax_break_layout_final"))
			*final = true;
	}
	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
		for (int i = 0; i < DL_STACK_DEPTH && ips[i]; i++) {
			const struct ksym *s = ksyms_find(c->ks, ips[i], &off);

			if (s && strstr(s->name, ops[o].sym))
				return ops[o].op;
		}
	return NULL;
}

static int push_waiter(struct leak_ctx *c, const struct waiter_rec *w)
{
	if (c->nwaiters == c->cap_waiters) {
		size_t n = c->cap_waiters ? c->cap_waiters * 2 : 16;
		void *p = realloc(c->waiters, n * sizeof(*c->waiters));

		if (!p)
			return -1;
		c->waiters = p;
		c->cap_waiters = n;
	}
	c->waiters[c->nwaiters++] = *w;
	return 0;
}

static void waiter_finish(struct leak_ctx *c, struct waiter_rec *r)
{
	bool final = false;
	int fd;
	const char *sop = syscall_op(r->w.pid, r->w.tid, &fd);

	r->op = r->from_proc ? NULL : op_from_stack(c, r->w.kstack, &final);
	if (!r->op && r->start && strcmp(r->start->op, "unknown")) {
		/* the scan read the stack: its op, in daxleak's words */
		r->op = strcmp(r->start->op, "remap") ? r->start->op : "reflink";
		final = !r->start->interruptible && !strcmp(r->op, "evict");
	}
	if (!r->op && strstr(r->wchan, "final"))
		final = true, r->op = "evict";
	if (!r->op)
		r->op = sop ? sop : "unknown";
	if (final)
		r->op = "evict";
	r->interruptible = !final && r->state != 'D';
	if (!r->w.ino && fd >= 0) {
		char fn[96];
		struct stat st;

		snprintf(fn, sizeof(fn), "/proc/%u/fd/%d", r->w.pid, fd);
		if (!stat(fn, &st)) {
			r->w.ino = st.st_ino;
			r->w.dev = kdev_make(major(st.st_dev), minor(st.st_dev));
		}
	}
}

/* What the scan at start saw of the task (op, stack), NULL if nothing. */
static const struct daxnow_waiter *start_waiter(const struct leak_ctx *c, uint32_t tid)
{
	for (size_t i = 0; i < c->start.nw; i++)
		if (c->start.w[i].rec.tid == tid)
			return &c->start.w[i];
	return NULL;
}

const struct daxnow_held *leak_start_held(const struct leak_ctx *c, uint64_t page)
{
	for (size_t i = 0; i < c->start.nheld; i++)
		if (c->start.held[i].pg.page == page)
			return &c->start.held[i];
	return NULL;
}

/* The /proc walk finds tasks asleep in a DAX layout wait that no hook
 * reported. Its cost grows with the machine's task count, not with DAX
 * activity: walk only when such a task can exist. Without the busy-page
 * hook, always; with it, when break_layouts ran since the last walk, while
 * a waiter is known or the last walk found one, and at the first report
 * when the scan at start did not run (waits older than daxleak). */
static bool proc_walk_needed(struct leak_ctx *c)
{
	uint64_t busy = c->counters[DLC_BUSY_CALLS];
	bool need = !c->caps.busy || busy != c->walk_busy_calls || c->nwaiters ||
		    c->walk_found || (!c->start_ran && !c->reports);

	c->walk_busy_calls = busy;
	return need;
}

static int walk_proc_waiters(struct leak_ctx *c);

static int read_waiters(struct leak_ctx *c)
{
	uint32_t key, next, *prev = NULL;
	size_t known;

	c->nwaiters = 0;
	while (!bpf_map_get_next_key(c->waiters_fd, prev, &next)) {
		struct waiter_rec r = {};

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(c->waiters_fd, &key, &r.w))
			continue;
		r.state = task_state(r.w.pid, r.w.tid, r.wchan, sizeof(r.wchan));
		/* Gone, or no longer sleeping in a DAX wait for a while: the
		 * wait ended without a last busy-page call (signal). */
		if (!r.state || (r.state != 'S' && r.state != 'D' && now_age(c, r.w.last_ns) > 1.0) ||
		    ((r.state == 'S' || r.state == 'D') && r.wchan[0] && !wchan_is_dax_wait(r.wchan) &&
		     now_age(c, r.w.last_ns) > 1.0)) {
			bpf_map_delete_elem(c->waiters_fd, &key);
			continue;
		}
		r.waited_s = now_age(c, r.w.start_ns);
		if (r.w.flags & DL_SEEN_AT_START)
			r.start = start_waiter(c, r.w.tid);
		waiter_finish(c, &r);
		if (push_waiter(c, &r))
			return -1;
	}
	if (!proc_walk_needed(c))
		return 0;
	known = c->nwaiters;
	if (walk_proc_waiters(c))
		return -1;
	c->walk_found = c->nwaiters > known;
	return 0;
}

/* Tasks asleep in a DAX layout wait that no hook reported. */
static int walk_proc_waiters(struct leak_ctx *c)
{
	DIR *pd;
	struct dirent *de;

	c->proc_walks++;
	pd = opendir("/proc");
	if (!pd)
		return 0;
	while ((de = readdir(pd))) {
		char tdir[64];
		DIR *td;
		struct dirent *te;
		uint32_t pid = strtoul(de->d_name, NULL, 10);

		if (!pid)
			continue;
		snprintf(tdir, sizeof(tdir), "/proc/%u/task", pid);
		td = opendir(tdir);
		if (!td)
			continue;
		while ((te = readdir(td))) {
			struct waiter_rec r = {};
			uint32_t tid = strtoul(te->d_name, NULL, 10);
			bool known = false;
			char fn[96];

			if (!tid)
				continue;
			r.state = task_state(pid, tid, r.wchan, sizeof(r.wchan));
			if (!r.state || !wchan_is_dax_wait(r.wchan))
				continue;
			for (size_t i = 0; i < c->nwaiters; i++)
				known |= c->waiters[i].w.tid == tid;
			if (known)
				continue;
			r.from_proc = true;
			r.w.pid = pid;
			r.w.tid = tid;
			r.w.kstack = -1;
			snprintf(fn, sizeof(fn), "/proc/%u/task/%u/comm", pid, tid);
			read_line(fn, r.w.comm, sizeof(r.w.comm));
			waiter_finish(c, &r);
			if (push_waiter(c, &r)) {
				closedir(td);
				closedir(pd);
				return -1;
			}
		}
		closedir(td);
	}
	closedir(pd);
	return 0;
}

/* Drop stack ids no live entry uses once the table is 3/4 full; an id
 * taken by a racing acquisition shows as "[stack lost]", and is counted. */
static void stacks_gc(struct leak_ctx *c)
{
	uint32_t key, next, *prev = NULL, n = 0, *ids;
	uint32_t max = bpf_map__max_entries(c->skel->maps.stacks);

	while (!bpf_map_get_next_key(c->stacks_fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	if (n < max / 4 * 3)
		return;
	ids = calloc(n + 1, sizeof(*ids));
	if (!ids)
		return;
	prev = NULL;
	n = 0;
	while (!bpf_map_get_next_key(c->stacks_fd, prev, &next)) {
		ids[n++] = next;
		key = next;
		prev = &key;
	}
	for (uint32_t i = 0; i < n; i++) {
		bool used = false;

		for (size_t e = 0; e < c->nents && !used; e++)
			used = c->ents[e].v.kstack == (int)ids[i] || c->ents[e].v.ustack == (int)ids[i];
		for (size_t w = 0; w < c->nwaiters && !used; w++)
			used = c->waiters[w].w.kstack == (int)ids[i];
		if (!used && !bpf_map_delete_elem(c->stacks_fd, &ids[i]))
			c->stacks_gc++;
	}
	free(ids);
}

int leak_collect(struct leak_ctx *c)
{
	uint64_t scan_start = mono_ns();

	c->nanoms = 0;
	usym_forget_pids();
	run_scan(c);
	ring_buffer__consume(c->rb);
	memcpy(c->counters, c->skel->bss->counters, sizeof(c->counters));
	if (read_tracked(c, scan_start) || read_waiters(c)) {
		warn_msg("out of memory while collecting");
		return -1;
	}
	stacks_gc(c);
	c->reports++;
	return 0;
}

/* ---- grouping ------------------------------------------------------- */

struct group {
	int32_t kstack, ustack;
	uint32_t pid;
	bool seen_at_start;	/* references older than daxleak: culprit unknown */
	size_t *idx, n;
	size_t folios;
	int64_t extra;
	double oldest;
};

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
static struct group *make_groups(struct leak_ctx *c, size_t *ng)
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

static void free_groups(struct group *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(g[i].idx);
	free(g);
}

/* A large folio of a group (order > 0): one count for all its pages, so
 * it is shown once with its order and extra references, and how many of
 * its pages were taken. */
struct big_folio {
	const struct leak_entry *e;	/* its first held page */
	size_t pages;
};

/* The group's large folios, in *out (free it); returns how many. */
static size_t group_big_folios(const struct leak_ctx *c, const struct group *g,
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

static uint64_t folio_pfn_of(const struct leak_entry *e)
{
	return e->v.pfn == ~0ULL ? ~0ULL : e->v.pfn - e->v.subpage;
}

/* Who holds the busy folio a waiter waits on. */
static const struct leak_entry *holder_of(const struct leak_ctx *c, const struct waiter_rec *w,
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

/* ---- symbolization -------------------------------------------------- */

static void kframe(struct leak_ctx *c, uint64_t ip, char *buf, size_t len)
{
	uint64_t off;
	const struct ksym *s = c->ks ? ksyms_find(c->ks, ip, &off) : NULL;

	/* far from any symbol: a BPF trampoline or program, not that symbol */
	if (!s || off > 0x100000)
		snprintf(buf, len, "0x%llx", (unsigned long long)ip);
	else if (s->module)
		snprintf(buf, len, "%s+0x%llx [%s]", s->name, (unsigned long long)off, s->module);
	else
		snprintf(buf, len, "%s+0x%llx", s->name, (unsigned long long)off);
}

static const char *path_of(uint32_t pid, uint32_t dev, uint64_t ino, const struct leak_ctx *c)
{
	const char *p;

	if (!ino)
		return NULL;
	p = path_lookup(pid, dev, ino);
	for (size_t i = 0; !p && i < c->nwaiters; i++)
		if (c->waiters[i].w.ino == ino && c->waiters[i].w.dev == dev)
			p = path_lookup(c->waiters[i].w.pid, dev, ino);
	return p;
}

static void fmt_dev(uint32_t dev, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", kdev_major(dev), kdev_minor(dev));
}

static void fmt_pfn(uint64_t pfn, char *buf, size_t len)
{
	if (pfn == ~0ULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)pfn);
}

/* The page a waiter waits on, as the kernel names it: pfn, file offset
 * and the order of the folio holding it (not its struct page address). */
static void fmt_busy(const struct dl_waiter *w, char *buf, size_t len)
{
	char pfn[24];

	if (!w->busy_page) {
		snprintf(buf, len, "?");
		return;
	}
	if (!w->busy_known) {
		snprintf(buf, len, "page 0x%llx", (unsigned long long)w->busy_page);
		return;
	}
	fmt_pfn(w->busy_pfn, pfn, sizeof(pfn));
	if (w->busy_shared)
		snprintf(buf, len, "pfn %s (shared extent)", pfn);
	else
		snprintf(buf, len, "pfn %s off 0x%llx order %u", pfn,
			 (unsigned long long)w->busy_index * 4096ULL, w->busy_order);
}

/* ---- text ----------------------------------------------------------- */

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

static void print_stack_lines(FILE *out, struct leak_ctx *c, const struct group *g)
{
	uint64_t ips[DL_STACK_DEPTH];
	char fr[256];

	if (g->kstack < 0)
		fprintf(out, "    kernel: [stack lost: %d]\n", g->kstack);
	else {
		kstack_ips(c, g->kstack, ips);
		for (int i = 0; i < DL_STACK_DEPTH && ips[i]; i++) {
			kframe(c, ips[i], fr, sizeof(fr));
			fprintf(out, "    %s %s\n", i ? "       " : "kernel:", fr);
		}
	}
	if (g->ustack < 0)
		fprintf(out, "    user:   [stack lost: %d]\n", g->ustack);
	else {
		stack_ips(c, g->ustack, ips);
		for (int i = 0; i < DL_STACK_DEPTH && ips[i]; i++) {
			usym_format(g->pid, ips[i], fr, sizeof(fr));
			fprintf(out, "    %s %s\n", i ? "       " : "user:  ", fr);
		}
	}
}

/* One line per large folio: the kernel counts its references on the
 * head, so per page only "taken through this page" is known. */
static void print_big_folios(FILE *out, struct leak_ctx *c, const struct group *g)
{
	struct big_folio *bf;
	size_t n = group_big_folios(c, g, &bf);
	char pfn[24];

	for (size_t i = 0; i < n; i++) {
		const struct leak_entry *e = bf[i].e;

		fmt_pfn(folio_pfn_of(e), pfn, sizeof(pfn));
		fprintf(out, "    FOLIO pfn %s offset 0x%llx order %u (%u pages): %lld extra ref%s "
			"on the folio (refcount %d, mapcount %d), taken through %zu of its pages\n",
			pfn, (unsigned long long)(e->v.index - e->v.subpage) * 4096ULL, e->v.order,
			1u << e->v.order, (long long)e->extra, e->extra == 1 ? "" : "s",
			e->v.cur_ref, e->v.cur_map, bf[i].pages);
	}
	free(bf);
}

static void print_counters_line(FILE *out, struct leak_ctx *c)
{
	uint64_t *k = c->counters;

	if (k[DLC_TRACK_OVERFLOW] || k[DLC_STACK_LOST] || k[DLC_BATCH_TRUNC] ||
	    k[DLC_ANOMALY_LOST] || k[DLC_WAITER_OVERFLOW] || k[DLC_READ_ERR])
		fprintf(out, "OVERFLOW: tracked-map-full %llu (--max-folios %llu), stacks-lost %llu "
			"(--max-stacks %llu), gup-batch-truncated %llu, anomalies-lost %llu, "
			"waiters-lost %llu, read-errors %llu\n",
			(unsigned long long)k[DLC_TRACK_OVERFLOW], (unsigned long long)c->a.max_folios,
			(unsigned long long)k[DLC_STACK_LOST], (unsigned long long)c->a.max_stacks,
			(unsigned long long)k[DLC_BATCH_TRUNC], (unsigned long long)k[DLC_ANOMALY_LOST],
			(unsigned long long)k[DLC_WAITER_OVERFLOW], (unsigned long long)k[DLC_READ_ERR]);
}

static const char *held_how(const struct daxnow_held *h)
{
	if (!h || !h->pid)
		return "no process found (driver, DMA, or a socket/kernel buffer)";
	return h->how == DNH_MAP ? "its mapping (6.15+: a mapped page is referenced)" : "a pipe";
}

/* References older than daxleak: who holds them now, no culprit. */
static void print_start_group(FILE *out, struct leak_ctx *c, const struct group *g,
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

/* Seen-at-start groups, or their pages. */
static size_t seen_at_start_of(const struct group *g, size_t ng, bool pages)
{
	size_t n = 0;

	for (size_t i = 0; i < ng; i++)
		n += g[i].seen_at_start ? (pages ? g[i].n : 1) : 0;
	return n;
}

void leak_print_text(FILE *out, struct leak_ctx *c, bool final)
{
	size_t ng, held = 0, nstart = 0;
	struct group *g = make_groups(c, &ng);
	char ts[32], dev[24], pfn[24];
	time_t t = time(NULL);
	int idle = idle_of(c);

	for (size_t i = 0; i < ng; i++)
		held += g[i].n;
	if (held > c->max_outstanding)
		c->max_outstanding = held;
	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
	nstart = seen_at_start_of(g, ng, false);
	fprintf(out, "%s %s: %zu page%s held > %.1fs (%zu seen at start) by %zu culprit stack%s, "
		"%zu waiter%s, %zu anomal%s (tracked %zu, era %s idle=%d)\n",
		final ? "SUMMARY" : ts, prog_name, held, held == 1 ? "" : "s", c->a.min_age_s,
		seen_at_start_of(g, ng, true), ng - nstart, ng - nstart == 1 ? "" : "s",
		c->nwaiters, c->nwaiters == 1 ? "" : "s", c->nanoms,
		c->nanoms == 1 ? "y" : "ies", c->nents,
		c->era.era == ERA_ZERO_BASED ? "zero-based" : "one-based", idle);
	if (!c->caps.leaks)
		fprintf(out, "  (leak detection unavailable on this kernel: see the messages at start)\n");
	for (size_t i = 0; i < ng && (int)i < c->a.top; i++) {
		const struct leak_entry *e0 = &c->ents[g[i].idx[0]];
		size_t rows = c->a.verbose || !c->a.max_rows ? g[i].n : (size_t)c->a.max_rows;

		if (g[i].seen_at_start) {
			print_start_group(out, c, &g[i], e0);
		} else {
			fprintf(out, "CULPRIT pid %u tid %u comm %.16s (via %s): %zu page%s in %zu "
				"folio%s, %lld extra ref%s, oldest %.1fs\n",
				e0->v.pid, e0->v.tid, e0->v.comm, gup_name(c, e0->v.gup), g[i].n,
				g[i].n == 1 ? "" : "s", g[i].folios, g[i].folios == 1 ? "" : "s",
				(long long)g[i].extra, g[i].extra == 1 ? "" : "s", g[i].oldest);
			print_stack_lines(out, c, &g[i]);
		}
		print_big_folios(out, c, &g[i]);
		fprintf(out, "    %-7s %-9s %-12s %-12s %-5s %-6s %-4s %-4s %-7s %s\n", "DEV", "INODE",
			"OFFSET", "PFN", "ORDER", "REF", "IDLE", "MAP", "AGE", "PATH");
		for (size_t k = 0; k < g[i].n && k < rows; k++) {
			const struct leak_entry *e = &c->ents[g[i].idx[k]];
			const char *p = path_of(e->v.pid, e->v.dev, e->v.ino, c);
			char age[16];

			fmt_dev(e->v.dev, dev, sizeof(dev));
			fmt_pfn(e->v.pfn, pfn, sizeof(pfn));
			/* seen at start: taken before daxleak, so at least this old */
			snprintf(age, sizeof(age), "%s%.1f", e->v.flags & DL_SEEN_AT_START ? ">=" : "",
				 e->age_s);
			fprintf(out, "    %-7s %-9llu 0x%-10llx %-12s %-5u %-6d %-4d %-4d %-7s %s\n",
				e->v.shared ? "-" : dev, (unsigned long long)e->v.ino,
				(unsigned long long)e->v.index * 4096ULL, pfn, e->v.order, e->v.cur_ref, idle,
				e->v.cur_map, age,
				e->v.shared ? "(shared extent: several files)" : p ? p : "?");
		}
		if (g[i].n > rows)
			fprintf(out, "    ... %zu more (--rows 0 or -v lists all)\n", g[i].n - rows);
	}
	if (ng > (size_t)c->a.top)
		fprintf(out, "  ... %zu more culprit stacks (-T)\n", ng - c->a.top);
	if (c->nwaiters) {
		fprintf(out, "WAITERS (* = seen at start: waiting before daxleak started)\n"
			"    %-7s %-7s %-16s %-9s %-5s %-9s %-7s %-9s %-26s %s\n", "PID",
			"TID", "COMM", "OP", "STATE", "WAITED", "DEV", "INODE", "BUSY-PAGE", "HOLDER");
		for (size_t i = 0; i < c->nwaiters; i++) {
			struct waiter_rec *w = &c->waiters[i];
			size_t nheld;
			const struct leak_entry *h = holder_of(c, w, &nheld);
			char holder[112], busy[64], waited[32];

			if (h && (h->v.flags & DL_SEEN_AT_START) && !h->v.pid)
				snprintf(holder, sizeof(holder), "no process (seen at start: driver, DMA "
					 "or a kernel buffer)");
			else if (h)
				snprintf(holder, sizeof(holder), "pid %u comm %.16s (%zu page%s%s)",
					 h->v.pid, h->v.comm, nheld, nheld == 1 ? "" : "s",
					 h->v.flags & DL_SEEN_AT_START ? ", seen at start" : "");
			else
				snprintf(holder, sizeof(holder), "%s",
					 w->from_proc ? "? (no busy-page hook)" :
					 c->caps.acquire ? "? (reference taken before start or "
					 "through an unhooked path)" : "? (no acquisition hook)");
			fmt_busy(&w->w, busy, sizeof(busy));
			if (w->from_proc || ((w->w.flags & DL_SEEN_AT_START) && !w->w.start_ns))
				snprintf(waited, sizeof(waited), "?");
			else
				snprintf(waited, sizeof(waited), "%s%.1fs",
					 w->w.flags & DL_SEEN_AT_START ? ">=" : "", w->waited_s);
			fmt_dev(w->w.dev, dev, sizeof(dev));
			fprintf(out, "  %c %-7u %-7u %-16.16s %-9s %c%-4s %-9s %-7s %-9llu %-26s %s\n",
				w->w.flags & DL_SEEN_AT_START ? '*' : ' ', w->w.pid, w->w.tid, w->w.comm, w->op, w->state ? w->state : '?',
				w->interruptible ? "" : "(U)", waited, w->w.ino ? dev : "?",
				(unsigned long long)w->w.ino, busy, holder);
		}
	}
	if (c->nanoms) {
		fprintf(out, "ANOMALIES\n");
		for (size_t i = 0; i < c->nanoms; i++) {
			struct dl_anomaly *a = &c->anoms[i].a;

			fmt_dev(a->dev, dev, sizeof(dev));
			fmt_pfn(a->pfn, pfn, sizeof(pfn));
			char culprit[64] = "unknown";

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
	print_counters_line(out, c);
	if (final) {
		struct hist h = c->user_hist;
		uint64_t *k = c->counters;

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
	free_groups(g, ng);
}

/* ---- folded --------------------------------------------------------- */

void leak_print_folded(FILE *out, struct leak_ctx *c)
{
	size_t ng;
	struct group *g = make_groups(c, &ng);
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
			stack_ips(c, g[i].ustack, ips);
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
			kstack_ips(c, g[i].kstack, ips);
			for (n = 0; n < DL_STACK_DEPTH && ips[n]; n++)
				;
			while (n--) {
				kframe(c, ips[n], fr, sizeof(fr));
				fr[strcspn(fr, "+ ")] = 0;
				fprintf(out, ";%s_[k]", fr);
			}
		} else {
			fprintf(out, ";[kernel stack lost]");
		}
		fprintf(out, " %zu\n", g[i].n);
	}
	free_groups(g, ng);
}

/* ---- JSON ----------------------------------------------------------- */

static void json_stack(struct json *j, struct leak_ctx *c, int id, bool user, uint32_t pid)
{
	uint64_t ips[DL_STACK_DEPTH];
	char fr[256];

	if (id < 0) {
		json_null(j);
		return;
	}
	if (user)
		stack_ips(c, id, ips);
	else
		kstack_ips(c, id, ips);
	json_arr_begin(j);
	for (int i = 0; i < DL_STACK_DEPTH && ips[i]; i++) {
		if (user)
			usym_format(pid, ips[i], fr, sizeof(fr));
		else
			kframe(c, ips[i], fr, sizeof(fr));
		json_str(j, fr);
	}
	json_arr_end(j);
}

/* A kernel stack the scan at start read (no stack id). */
static void json_ips(struct json *j, struct leak_ctx *c, const __u64 *ips, int n)
{
	char fr[256];

	json_arr_begin(j);
	for (int i = 0; i < n && i < DN_STACK_DEPTH && ips[i]; i++) {
		kframe(c, ips[i], fr, sizeof(fr));
		json_str(j, fr);
	}
	json_arr_end(j);
}

static void json_big_folios(struct json *j, struct leak_ctx *c, const struct group *g)
{
	struct big_folio *bf;
	size_t n = group_big_folios(c, g, &bf);

	json_key(j, "large_folios");
	json_arr_begin(j);
	for (size_t i = 0; i < n; i++) {
		const struct leak_entry *e = bf[i].e;

		json_obj_begin(j);
		json_kv_u64_or_null(j, "pfn", e->v.pfn != ~0ULL, folio_pfn_of(e));
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

	fmt_dev(w->busy_dev, dev, sizeof(dev));
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

void leak_print_start(FILE *out, struct leak_ctx *c)
{
	struct json j;

	json_init(&j, out);
	json_obj_begin(&j);
	json_kv_str(&j, "type", "start");
	json_kv_str(&j, "tool", "daxleak");
	json_kv_str(&j, "era", c->era.era == ERA_ZERO_BASED ? "zero-based" :
		    c->era.era == ERA_ONE_BASED ? "one-based" : "unknown");
	json_kv_i64(&j, "idle", idle_of(c));
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

void leak_print_json(FILE *out, struct leak_ctx *c, bool final)
{
	size_t ng, held = 0;
	struct group *g = make_groups(c, &ng);
	struct json j;
	int idle = idle_of(c);
	static const char *const cnames[DLC_NR] = {
		"gup_calls", "gup_nested", "gup_unguarded", "pages_seen", "dax_pages",
		"gup_batch_truncated", "tracked_map_full", "stacks_lost", "releases",
		"releases_matched", "releases_done", "frees", "frees_matched", "anomalies",
		"anomalies_lost", "busy_calls", "busy_found", "waiters_lost", "fs_dax_faults",
		"read_errors",
	};

	for (size_t i = 0; i < ng; i++)
		held += g[i].n;
	if (held > c->max_outstanding)
		c->max_outstanding = held;
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
	json_kv_u64(&j, "seen_at_start_pages", seen_at_start_of(g, ng, true));
	json_key(&j, "groups");
	json_arr_begin(&j);
	for (size_t i = 0; i < ng; i++) {
		const struct leak_entry *e0 = &c->ents[g[i].idx[0]];

		json_obj_begin(&j);
		json_kv_u64(&j, "pid", e0->v.pid);
		json_kv_u64(&j, "tid", e0->v.tid);
		json_kv_str(&j, "comm", e0->v.comm);
		json_kv_str(&j, "via", g[i].seen_at_start ? "before start" : gup_name(c, e0->v.gup));
		/* seen at start: pid/comm are the holder found then, not a culprit */
		json_kv_bool(&j, "seen_at_start", g[i].seen_at_start);
		json_kv_bool(&j, "culprit_known", !g[i].seen_at_start);
		if (g[i].seen_at_start)
			json_start_holder(&j, leak_start_held(c, e0->page));
		json_kv_u64(&j, "pages", g[i].n);
		json_kv_u64(&j, "folios", g[i].folios);
		json_kv_i64(&j, "extra_refs", g[i].extra);
		json_kv_double(&j, "oldest_s", g[i].oldest);
		json_key(&j, "kernel_stack");
		json_stack(&j, c, g[i].kstack, false, 0);
		json_key(&j, "user_stack");
		json_stack(&j, c, g[i].ustack, true, g[i].pid);
		json_big_folios(&j, c, &g[i]);
		json_key(&j, "held");
		json_arr_begin(&j);
		for (size_t k = 0; k < g[i].n; k++) {
			const struct leak_entry *e = &c->ents[g[i].idx[k]];
			const char *p = path_of(e->v.pid, e->v.dev, e->v.ino, c);
			char dev[24];

			fmt_dev(e->v.dev, dev, sizeof(dev));
			json_obj_begin(&j);
			json_kv_str(&j, "dev", dev);
			json_kv_u64(&j, "ino", e->v.ino);
			if (p)
				json_kv_str(&j, "path", p);
			else {
				json_key(&j, "path");
				json_null(&j);
			}
			json_kv_bool(&j, "shared", e->v.shared);
			json_kv_u64(&j, "offset", e->v.index * 4096ULL);
			json_kv_u64_or_null(&j, "pfn", e->v.pfn != ~0ULL, e->v.pfn);
			json_kv_u64(&j, "order", e->v.order);
			json_kv_i64(&j, "refcount", e->v.cur_ref);
			json_kv_i64(&j, "mapcount", e->v.cur_map);
			json_kv_i64(&j, "idle", idle);
			json_kv_i64(&j, "extra", e->extra);
			json_kv_i64(&j, "refs", e->v.refs);
			json_kv_u64_or_null(&j, "folio_pfn", e->v.pfn != ~0ULL, folio_pfn_of(e));
			json_kv_u64(&j, "folio_offset", (e->v.index - e->v.subpage) * 4096ULL);
			json_kv_u64(&j, "folio_pages", 1ULL << e->v.order);
			json_kv_double(&j, "age_s", e->age_s);
			json_kv_bool(&j, "seen_at_start", e->v.flags & DL_SEEN_AT_START);
			json_kv_bool(&j, "age_at_least", e->v.flags & DL_SEEN_AT_START);
			json_kv_u64(&j, "uaddr", e->v.uaddr);
			json_kv_u64(&j, "acquisitions", e->v.nacq);
			json_kv_u64(&j, "last_pid", e->v.last_pid);
			json_kv_u64(&j, "page", e->page);
			json_kv_u64(&j, "folio", e->v.folio);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "waiters");
	json_arr_begin(&j);
	for (size_t i = 0; i < c->nwaiters; i++) {
		struct waiter_rec *w = &c->waiters[i];
		size_t nheld;
		const struct leak_entry *h = holder_of(c, w, &nheld);
		char st[2] = { w->state ? w->state : '?', 0 }, dev[24];

		fmt_dev(w->w.dev, dev, sizeof(dev));
		json_obj_begin(&j);
		json_kv_u64(&j, "pid", w->w.pid);
		json_kv_u64(&j, "tid", w->w.tid);
		json_kv_str(&j, "comm", w->w.comm);
		json_kv_str(&j, "op", w->op);
		json_kv_str(&j, "state", st);
		json_kv_bool(&j, "interruptible", w->interruptible);
		json_kv_str(&j, "wchan", w->wchan);
		json_kv_bool(&j, "from_proc_only", w->from_proc);
		json_kv_bool(&j, "seen_at_start", w->w.flags & DL_SEEN_AT_START);
		json_kv_bool(&j, "waited_at_least", w->w.flags & DL_SEEN_AT_START);
		json_kv_double_or_null(&j, "waited_s", !w->from_proc &&
				       !((w->w.flags & DL_SEEN_AT_START) && !w->w.start_ns), w->waited_s);
		json_kv_str(&j, "dev", dev);
		json_kv_u64(&j, "ino", w->w.ino);
		json_kv_u64(&j, "busy_page", w->w.busy_page);
		json_kv_u64(&j, "busy_folio", w->w.busy_folio);
		json_busy(&j, &w->w);
		json_kv_i64(&j, "busy_refcount", w->w.cur_ref);
		json_kv_u64(&j, "busy_returns", w->w.nbusy);
		json_key(&j, "holder");
		if (h) {
			json_obj_begin(&j);
			json_kv_u64(&j, "pid", h->v.pid);
			json_kv_u64(&j, "tid", h->v.tid);
			json_kv_str(&j, "comm", h->v.comm);
			json_kv_u64(&j, "pages", nheld);
			json_kv_bool(&j, "seen_at_start", h->v.flags & DL_SEEN_AT_START);
			json_obj_end(&j);
		} else {
			json_null(&j);
		}
		json_key(&j, "kernel_stack");
		if (w->w.kstack < 0 && w->start)
			json_ips(&j, c, w->start->rec.stack, w->start->rec.nframes);
		else
			json_stack(&j, c, w->w.kstack, false, 0);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "anomalies");
	json_arr_begin(&j);
	for (size_t i = 0; i < c->nanoms; i++) {
		struct dl_anomaly *a = &c->anoms[i].a;
		char dev[24];

		fmt_dev(a->dev, dev, sizeof(dev));
		json_obj_begin(&j);
		json_kv_str(&j, "type", anomaly_name(a->type));
		json_kv_bool(&j, "from_scan", c->anoms[i].from_scan);
		json_kv_u64(&j, "pid", a->pid);
		json_kv_str(&j, "comm", a->comm);
		json_kv_str(&j, "dev", dev);
		json_kv_u64(&j, "ino", a->ino);
		json_kv_u64(&j, "offset", a->index * 4096ULL);
		json_kv_u64(&j, "page", a->page);
		json_kv_i64(&j, "refcount", a->refcount);
		json_kv_i64(&j, "mapcount", a->mapcount);
		json_kv_i64(&j, "refs", a->refs);
		json_kv_u64(&j, "culprit_pid", a->culprit_pid);
		json_kv_str(&j, "culprit_comm", a->culprit_comm);
		json_key(&j, "kernel_stack");
		json_stack(&j, c, a->kstack, false, 0);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "counters");
	json_obj_begin(&j);
	for (int i = 0; i < DLC_NR; i++)
		json_kv_u64(&j, cnames[i], c->counters[i]);
	json_kv_u64(&j, "released_by_scan", c->scan_released);
	json_kv_u64(&j, "scan_runs", c->scan_runs);
	json_kv_u64(&j, "proc_walks", c->proc_walks);
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
	free_groups(g, ng);
}
