/* daxleak --now: the scan. Load bpf/daxnow.bpf.c, run its task iterator
 * (waiters, their wait entry, the page), tell it the waited pages, run the
 * task_file and task_vma iterators (holders), join. Without iterators, a
 * /proc fallback lists the waiters only. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "scan_int.h"
#include "core_btf.h"
#include "probe.h"
#include "daxnow.skel.h"
#include "util.h"

/* Frames that mean "asleep in a DAX break_layouts wait". xfs_break_layouts
 * is left out on purpose: it also sleeps in lease breaks (not DAX); its DAX
 * wait always shows one of these below it. */
static const char *const wait_funcs[] = {
	"ext4_break_layouts", "xfs_break_dax_layouts", "fuse_dax_break_layouts",
	"ext4_wait_dax_page", "xfs_wait_dax_page", "fuse_wait_dax_page",
	"dax_break_layout", "dax_break_layout_final", "wait_page_idle",
	"wait_page_idle_uninterruptible",
};
/* Frames of a task with direct I/O in flight: it may hold pinned pages. */
static const char *const gupio_funcs[] = {
	"__iomap_dio_rw", "iomap_dio_rw", "__blockdev_direct_IO", "__blkdev_direct_IO",
	"__blkdev_direct_IO_simple", "__blkdev_direct_IO_async", "fuse_direct_io",
};

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Where the kernel inlined xfs_break_dax_layouts and xfs_wait_dax_page into
 * xfs_break_layouts (5.10), the DAX wait shows only xfs_break_layouts: taken
 * as a wait frame then, decided from kallsyms (xfs loaded, no
 * xfs_break_dax_layouts), unless the stack shows a lease break. */
#define XFS_BL "xfs_break_layouts"
static bool xfs_wait_inlined;

/* A /proc stack or wchan text naming a DAX wait frame: its name, or NULL. */
static const char *text_wait_frame(const char *text)
{
	for (int k = 0; k < N(wait_funcs); k++)
		if (strstr(text, wait_funcs[k]))
			return wait_funcs[k];
	if (xfs_wait_inlined && strstr(text, XFS_BL) && !strstr(text, "break_lease"))
		return XFS_BL;
	return NULL;
}

static void lost(struct daxnow_report *r, const char *fmt, const char *arg)
{
	if (r->nlost < N(r->lost))
		snprintf(r->lost[r->nlost++], sizeof(r->lost[0]), fmt, arg);
}

/* One pass over /proc/kallsyms for what the scan needs before it knows
 * whether anything is stuck: the text ranges of the wait and direct-I/O
 * functions (end = next higher text address, modules included), and the
 * data symbols bit_wait_table and vmemmap_base (only with KALLSYMS_ALL).
 * The full symbol table (src/ksyms.c) is loaded only to print a waiter. */
struct ksyms_scan {
	struct dn_range rg[DN_MAX_RANGES];
	int nr;
	uint64_t bit_wait_table, vmemmap_base, var_wake;
	uint64_t xfs_bl;		/* xfs_break_layouts */
	bool xfs_bdl;			/* xfs_break_dax_layouts seen */
	bool xfs_inlined;		/* xfs_bl is the wait frame (see XFS_BL) */
};

struct kscan_state {
	struct ksyms_scan *k;
	uint64_t *addrs;	/* every text address: a range ends at the next one */
	size_t n, cap;
	char first[256];	/* first characters of the names looked for */
};

static int kallsyms_scan_line(char *line, void *arg)
{
	struct kscan_state *st = arg;
	struct ksyms_scan *k = st->k;
	char type, *name, *mod;
	uint64_t addr;
	bool wanted;

	if (ksym_parse_line(line, &addr, &type, &name, &mod) || !addr)
		return 0;
	wanted = st->first[(unsigned char)name[0]];
	/* by name whatever the type: 7.x lists bit_wait_table as 't' */
	if (wanted && !strcmp(name, "bit_wait_table"))
		k->bit_wait_table = addr;
	else if (wanted && !strcmp(name, "vmemmap_base"))
		k->vmemmap_base = addr;
	if (!ksym_is_text(type))
		return 0;
	if (st->n == st->cap) {
		uint64_t *a = realloc(st->addrs, st->cap * 2 * sizeof(*a));

		if (!a)
			return -ENOMEM;
		st->addrs = a;
		st->cap *= 2;
	}
	st->addrs[st->n++] = addr;
	if (!wanted)
		return 0;
	if (!strcmp(name, "var_wake_function"))
		k->var_wake = addr;
	if (ksym_name_matches(name, XFS_BL))
		k->xfs_bl = addr;
	k->xfs_bdl |= ksym_name_matches(name, "xfs_break_dax_layouts");
	for (int i = 0; i < N(wait_funcs) + N(gupio_funcs) && k->nr < DN_MAX_RANGES; i++) {
		const char *base = i < N(wait_funcs) ? wait_funcs[i] : gupio_funcs[i - N(wait_funcs)];

		if (name[0] != base[0] || !ksym_name_matches(name, base))
			continue;
		k->rg[k->nr++] = (struct dn_range){ addr, 0,
			i < N(wait_funcs) ? DN_CLS_WAIT : DN_CLS_GUPIO, 0 };
		break;
	}
	return 0;
}

/* One pass per process: daxleak asks for vmemmap_base before loading its
 * programs and the scan at start needs the rest right after. The pass is
 * mostly the kernel formatting /proc/kallsyms (~30 ms), so it runs in a
 * thread of its own while the BTF is parsed and programs are loaded
 * (daxnow_kallsyms_start); the first use waits for it. */
static struct ksyms_scan kscan_cache;
static int kscan_cached;	/* 0 not yet, 1 done, -1 failed */
static pthread_t kscan_thread;
static bool kscan_running;

static int kallsyms_scan_uncached(struct ksyms_scan *k);

static void *kscan_main(void *arg)
{
	sigset_t all;

	sigfillset(&all);	/* signals are the main thread's */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	kscan_cached = kallsyms_scan_uncached(&kscan_cache) ? -1 : 1;
	return NULL;
}

void daxnow_kallsyms_start(void)
{
	if (!kscan_running && !kscan_cached)	/* the thread writes kscan_cached */
		kscan_running = !pthread_create(&kscan_thread, NULL, kscan_main, NULL);
}

static void kallsyms_wait(void)
{
	if (kscan_running) {
		pthread_join(kscan_thread, NULL);
		kscan_running = false;
	}
}

static int kallsyms_scan(struct ksyms_scan *k)
{
	kallsyms_wait();
	if (!kscan_cached)
		kscan_cached = kallsyms_scan_uncached(&kscan_cache) ? -1 : 1;
	*k = kscan_cache;
	return kscan_cached < 0 ? -1 : 0;
}

uint64_t daxnow_vmemmap_base_addr(void)
{
	struct ksyms_scan k;

	return kallsyms_scan(&k) ? 0 : k.vmemmap_base;
}

static int kallsyms_scan_uncached(struct ksyms_scan *k)
{
	static const char *const more[] = { "bit_wait_table", "vmemmap_base", "var_wake_function" };
	struct kscan_state st = { .k = k, .cap = 1 << 17 };

	memset(k, 0, sizeof(*k));
	for (int i = 0; i < N(wait_funcs) + N(gupio_funcs); i++)
		st.first[(unsigned char)(i < N(wait_funcs) ? wait_funcs[i] :
					 gupio_funcs[i - N(wait_funcs)])[0]] = 1;
	for (int i = 0; i < N(more); i++)
		st.first[(unsigned char)more[i][0]] = 1;
	st.addrs = malloc(st.cap * sizeof(*st.addrs));
	if (!st.addrs || kallsyms_foreach(NULL, kallsyms_scan_line, &st)) {
		free(st.addrs);
		return -1;
	}
	if (k->xfs_bl && !k->xfs_bdl && k->nr < DN_MAX_RANGES) {
		k->rg[k->nr++] = (struct dn_range){ k->xfs_bl, 0, DN_CLS_WAIT, 0 };
		k->xfs_inlined = true;
	}
	/* each range ends at the next higher text address (modules are not
	 * sorted): one pass over them all, no sort */
	for (int i = 0; i < k->nr; i++)
		k->rg[i].end = UINT64_MAX;
	for (size_t a = 0; a < st.n; a++)
		for (int i = 0; i < k->nr; i++)
			if (st.addrs[a] > k->rg[i].start && st.addrs[a] < k->rg[i].end)
				k->rg[i].end = st.addrs[a];
	for (int i = 0; i < k->nr; i++)
		if (k->rg[i].end == UINT64_MAX)
			k->rg[i].end = k->rg[i].start + 4096;
	free(st.addrs);
	return 0;
}

/* Read a whole iterator's output. */
static char *run_iter(struct bpf_program *prog, size_t *len, int *err)
{
	struct bpf_link *link = bpf_program__attach_iter(prog, NULL);
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL;
	int fd;

	*len = 0;
	*err = 0;
	if (libbpf_get_error(link)) {
		*err = (int)libbpf_get_error(link);
		return NULL;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		*err = -errno;
		bpf_link__destroy(link);
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		ssize_t k;

		if (n == cap) {
			char *b = realloc(buf, cap * 2);

			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			*err = -errno;
			break;
		}
		if (k == 0)
			break;
		n += k;
	}
	close(fd);
	bpf_link__destroy(link);
	*len = n;
	return buf;
}

static const char *op_from_stack(const struct daxnow_report *r, const struct dn_task_rec *t)
{
	bool punch = false, fall = false, trunc = false, remap = false, evict = false;

	for (int i = 0; i < t->nframes && i < DN_STACK_DEPTH; i++) {
		uint64_t off;
		const struct ksym *s = ksyms_find(r->ks, t->stack[i], &off);
		const char *n = s ? s->name : "";

		if (strstr(n, "evict") || ksym_name_matches(n, "dax_break_layout_final"))
			evict = true;
		else if (strstr(n, "remap_file_range") || strstr(n, "clone_file_range") ||
			 strstr(n, "dedupe") || strstr(n, "reflink"))
			remap = true;
		else if (strstr(n, "punch_hole"))
			punch = true;
		else if (strstr(n, "fallocate"))
			fall = true;
		else if (strstr(n, "setattr") || strstr(n, "truncate") ||
			 ksym_name_matches(n, "notify_change"))
			trunc = true;
	}
	if (evict)
		return "evict";
	if (remap)
		return "remap";
	if (punch)
		return "punch";
	if (fall)
		return "fallocate";
	if (trunc)
		return "truncate";
	return "unknown";
}

/* xfs (and ext4 for some modes) break layouts before they know the mode:
 * the fallocate syscall's own argument tells punch from the rest. */
static const char *refine_fallocate(uint32_t pid, uint32_t tid)
{
	char path[96], line[256];
	unsigned long long nr, fd, mode;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/syscall", pid, tid);
	if (read_line(path, line, sizeof(line)) ||
	    sscanf(line, "%llu %llx %llx", &nr, &fd, &mode) != 3 || nr != 285 /* x86_64 */)
		return "fallocate";
	if (mode & 0x02)
		return "punch";
	if (mode & 0x08)
		return "collapse";
	if (mode & 0x20)
		return "insert";
	if (mode & 0x10)
		return "zero-range";
	return "fallocate";
}

static int hash_bucket(uint64_t var)
{
	return (int)((var * 0x61C8864680B583EBULL) >> 56);	/* hash_ptr(var, 8) */
}

static void wait_frame(const struct daxnow_report *r, const struct dn_task_rec *t, char *buf,
		       size_t len)
{
	buf[0] = '\0';
	for (int i = 0; i < t->nframes && i < DN_STACK_DEPTH; i++) {
		uint64_t off;
		const struct ksym *s = ksyms_find(r->ks, t->stack[i], &off);

		if (!s)
			continue;
		for (int k = 0; k < N(wait_funcs); k++)
			if (ksym_name_matches(s->name, wait_funcs[k])) {
				snprintf(buf, len, "%s", s->name);
				return;
			}
		if (xfs_wait_inlined && ksym_name_matches(s->name, XFS_BL)) {
			snprintf(buf, len, "%s", s->name);
			return;
		}
	}
}

/* References beyond the idle count and (6.15+) the mappings' own. */
static int64_t extra_of(const struct daxnow_report *r, const struct dn_page *pg)
{
	return (int64_t)pg->refcount - r->era.idle -
	       (r->era.era == ERA_ZERO_BASED ? pg->mapcount : 0);
}

/* A waiter whose wait entry led to an FS DAX page. */
static bool waits_on_page(const struct dn_task_rec *t)
{
	return (t->cls & DN_CLS_WAIT) && t->via != DN_VIA_NONE && t->pg.valid && t->pg.fsdax;
}

static void add_waiter(struct daxnow_report *r, const struct dn_task_rec *t)
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
	w->op = op_from_stack(r, t);
	if (!strcmp(w->op, "fallocate"))
		w->op = refine_fallocate(t->pid, t->tid);
	wait_frame(r, t, w->wait_frame, sizeof(w->wait_frame));
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

static void add_gupio(struct daxnow_report *r, const struct dn_task_rec *t)
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

static void join_pipe(struct daxnow_report *r, const struct dn_pipe_rec *p)
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

static void join_vma(struct daxnow_report *r, const struct dn_vma_rec *v)
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

static void apply_filter(struct daxnow_report *r)
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

/* Pages held from outside: each waited page with extra references (its
 * pipe holder, else a mapping that still holds it from 6.15), then every
 * page of a waited file that a pipe holds (read from the pipe_pages map). */
static void collect_held(struct daxnow_report *r, int pipe_pages_fd)
{
	uint64_t key, next, *prev = NULL;

	for (size_t i = 0; i < r->nw; i++) {
		struct daxnow_waiter *w = &r->w[i];
		struct daxnow_held *h;

		if (!w->page_found || w->extra <= 0 || !(h = held_add(r, &w->rec.pg)))
			continue;
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
	while (pipe_pages_fd >= 0 && !bpf_map_get_next_key(pipe_pages_fd, prev, &next)) {
		struct dn_pipe_page v;
		struct daxnow_held *h;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(pipe_pages_fd, &key, &v) || !v.pg.valid || !v.pg.fsdax ||
		    extra_of(r, &v.pg) <= 0 || !(h = held_add(r, &v.pg)))
			continue;
		if (h->how != DNH_GUPIO && h->how != DNH_MAP)
			continue;	/* already joined to its pipe */
		h->how = DNH_PIPE;
		h->pid = v.pid;
		h->fd = v.fd;
		holder_comm(r, v.pid, h->comm);
	}
}

/* Which iterators an instance of the scan's object loads. Only the task
 * iterator loads up front: the holder iterators are needed only when a
 * waiter's page was found, and loading them costs as much again. */
enum scan_part {
	PART_TASKS_RQ,		/* the runqueue clock: needs its per-CPU symbol's
				 * address (KALLSYMS_ALL, like bit_wait_table) */
	PART_TASKS_CUR,		/* the reader's own clock (one tick) */
	PART_HOLDERS,		/* pipes and mappings holding the waited pages */
};

/* The scan's BPF object with `part` loaded: 0, a positive errno if it
 * cannot be opened, a negative one if the kernel refuses it. What kallsyms
 * tells comes after the load (fill_scan), so the load need not wait for it. */
static int load_scan(struct daxnow_report *r, enum scan_part part, struct daxnow_bpf **out)
{
	struct daxnow_bpf *s = CORE_BTF_OPEN(daxnow_bpf);
	int err;

	*out = NULL;
	if (!s)
		return errno;
	s->rodata->zero_based = r->era.era == ERA_ZERO_BASED;
	bpf_program__set_autoload(s->progs.scan_tasks, part == PART_TASKS_RQ);
	bpf_program__set_autoload(s->progs.scan_tasks_cur, part == PART_TASKS_CUR);
	bpf_program__set_autoload(s->progs.scan_pipes, part == PART_HOLDERS);
	bpf_program__set_autoload(s->progs.scan_vmas, part == PART_HOLDERS);
	startup_mark("scan open");
	err = daxnow_bpf__load(s);
	startup_mark("scan load");
	if (err) {
		daxnow_bpf__destroy(s);
		return err < 0 ? err : -err;
	}
	*out = s;
	return 0;
}

/* The kallsyms pass's addresses, into a loaded scan object before it runs. */
static void fill_scan(struct daxnow_bpf *s, const struct ksyms_scan *ks)
{
	s->bss->bit_wait_table_addr = ks->bit_wait_table;
	s->bss->vmemmap_base_addr = ks->vmemmap_base;
	s->bss->var_wake_func = ks->var_wake;
	s->bss->nranges = ks->nr;
	memcpy(s->bss->ranges, ks->rg, ks->nr * sizeof(ks->rg[0]));
}

/* The task scan's BPF object, loaded while the kallsyms thread reads, then
 * filled from it: 0, or -1 with why_fallback. */
static int prepare_bpf(struct daxnow_report *r)
{
	struct ksyms_scan ks;
	struct daxnow_bpf *s = NULL;
	int err;

	/* The runqueue clock needs per-CPU symbols (asked of BTF, not kallsyms). */
	err = probe_kallsyms_data() != 0 ? load_scan(r, PART_TASKS_RQ, &s) : -1;
	if (err < 0)
		err = load_scan(r, PART_TASKS_CUR, &s);
	if (err > 0)
		snprintf(r->why_fallback, sizeof(r->why_fallback),
			 "cannot open the BPF object: %s", strerror(err));
	else if (err < 0)
		snprintf(r->why_fallback, sizeof(r->why_fallback),
			 "BPF iterators refused by this kernel (%s)", strerror(-err));
	if (err)
		return -1;
	if (kallsyms_scan(&ks)) {
		snprintf(r->why_fallback, sizeof(r->why_fallback), "cannot read /proc/kallsyms");
		daxnow_bpf__destroy(s);
		return -1;
	}
	startup_mark("kallsyms");
	r->have_bit_wait_table = ks.bit_wait_table;
	r->have_vmemmap = ks.vmemmap_base;
	r->have_var_wake = ks.var_wake;
	if (!ks.nr) {
		snprintf(r->why_fallback, sizeof(r->why_fallback),
			 "no break_layouts function in kallsyms (ext4/xfs not loaded or kallsyms hidden)");
		daxnow_bpf__destroy(s);
		return -1;
	}
	xfs_wait_inlined = ks.xfs_inlined;
	fill_scan(s, &ks);
	r->skel = s;
	return 0;
}

int daxnow_prepare(struct daxnow_report *r)
{
	uint64_t t0 = mono_ns();

	if (!r->prepared) {
		daxnow_kallsyms_start();	/* while the era is read from BTF */
		/* daxleak's scan at start knows the era already */
		if (r->era.era == ERA_UNKNOWN)
			era_detect(&r->era);
		r->prepared = prepare_bpf(r) ? -1 : 1;
		r->prep_ms = (mono_ns() - t0) / 1e6;
	}
	return r->prepared > 0 ? 0 : -1;
}

/* Run a holder iterator and join each of its records of `type` (all of
 * `size` bytes, the type first). */
static void join_records(struct daxnow_report *r, struct bpf_program *prog, const char *what,
			 uint32_t type, size_t size,
			 void (*join)(struct daxnow_report *, const void *))
{
	union { struct dn_pipe_rec p; struct dn_vma_rec v; } rec;
	size_t len;
	int err;
	char *buf = run_iter(prog, &len, &err);

	if (!buf)
		lost(r, what, strerror(-err));
	for (size_t off = 0; buf && size <= sizeof(rec) && off + size <= len; off += size) {
		memcpy(&rec, buf + off, size);
		if (rec.p.type == type)
			join(r, &rec);
	}
	free(buf);
}

static void join_pipe_rec(struct daxnow_report *r, const void *p) { join_pipe(r, p); }
static void join_vma_rec(struct daxnow_report *r, const void *v) { join_vma(r, v); }

/* The holder iterators over the waited pages: which pipes and mappings
 * hold them. */
static void scan_holders(struct daxnow_report *r, struct daxnow_bpf *h, const struct dn_target *tg,
			 uint32_t nt)
{
	memcpy(h->bss->targets, tg, nt * sizeof(*tg));
	h->bss->ntargets = nt;
	join_records(r, h->progs.scan_pipes, "pipe holders: task_file iterator failed (%s)",
		     DN_REC_PIPE, sizeof(struct dn_pipe_rec), join_pipe_rec);
	join_records(r, h->progs.scan_vmas, "mapping holders: task_vma iterator failed (%s)",
		     DN_REC_VMA, sizeof(struct dn_vma_rec), join_vma_rec);
}

static int scan_bpf(struct daxnow_report *r)
{
	struct dn_task_rec *recs = NULL;
	struct dn_target tg[DN_MAX_TARGETS];
	size_t nrecs = 0;
	struct daxnow_bpf *s, *h = NULL;
	struct ksyms_scan ks;
	bool paged = false;
	uint32_t nt = 0;
	size_t len;
	char *buf;
	int err = 0;

	if (daxnow_prepare(r))
		return -1;
	s = r->skel;
	r->skel = NULL;	/* ours now: destroyed below */
	r->have_rq_clock = bpf_program__autoload(s->progs.scan_tasks);

	/* 1: tasks */
	buf = run_iter(r->have_rq_clock ? s->progs.scan_tasks : s->progs.scan_tasks_cur, &len,
		       &err);
	if (!buf) {
		snprintf(r->why_fallback, sizeof(r->why_fallback), "task iterator failed (%s)",
			 strerror(err ? -err : ENOMEM));
		daxnow_bpf__destroy(s);
		return -1;
	}
	/* records are fixed size: the buffer is the array */
	recs = (struct dn_task_rec *)buf;
	nrecs = len / sizeof(*recs);
	for (size_t i = 0; i < nrecs; i++)
		paged |= recs[i].type == DN_REC_TASK && waits_on_page(&recs[i]);
	/* The holder iterators load only when a waited page was found, and
	 * before the symbol table below: not both at once with the BTF. */
	if (paged && !kallsyms_scan(&ks) && (err = load_scan(r, PART_HOLDERS, &h)))
		lost(r, "pipe and mapping holders: iterators refused by this kernel (%s)",
		     strerror(err < 0 ? -err : err));
	if (h)
		fill_scan(h, &ks);
	probe_release_btf();	/* every load is done */
	for (size_t i = 0; i < nrecs; i++)
		if (recs[i].type == DN_REC_TASK && (recs[i].cls & DN_CLS_WAIT) && !r->ks) {
			r->ks = ksyms_load(NULL);	/* stacks and op need names */
			r->ks_owned = true;
		}
	for (size_t i = 0; i < nrecs; i++) {
		if (recs[i].type != DN_REC_TASK)
			continue;
		if (recs[i].cls & DN_CLS_WAIT)
			add_waiter(r, &recs[i]);
		else if (recs[i].cls & DN_CLS_GUPIO)
			add_gupio(r, &recs[i]);
	}
	free(buf);

	/* 2: targets = distinct waited pages */
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
	if (nt && h)
		scan_holders(r, h, tg, nt);
	collect_held(r, nt && h ? bpf_map__fd(h->maps.pipe_pages) : -1);
	r->tasks_seen = s->bss->tasks_seen;
	r->tasks_asleep = s->bss->tasks_asleep;
	r->recs_lost = s->bss->recs_lost;
	r->stack_errs = s->bss->stack_errs;
	r->bucket_truncated = s->bss->bucket_truncated;
	if (h) {
		r->pipe_pages_lost = h->bss->pipe_pages_lost;
		r->pipes_seen = h->bss->pipes_seen;
		r->vmas_seen = h->bss->vmas_seen;
		r->recs_lost += h->bss->recs_lost;
		r->stack_errs += h->bss->stack_errs;
		daxnow_bpf__destroy(h);
	}
	daxnow_bpf__destroy(s);
	return 0;
}

/* ---- fallback: /proc ------------------------------------------------- */

static bool proc_match(const char *text)
{
	return text_wait_frame(text) != NULL;
}

static void scan_proc_task(struct daxnow_report *r, uint32_t pid, uint32_t tid)
{
	char path[96], stat[512], wchan[64] = "", stack[4096] = "";
	struct daxnow_waiter *w;
	struct dn_task_rec t = { .type = DN_REC_TASK, .pid = pid, .tid = tid, .cls = DN_CLS_WAIT };
	char *p, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/stat", pid, tid);
	if (read_line(path, stat, sizeof(stat)) || !(p = strrchr(stat, ')')) || strlen(p) < 3)
		return;
	r->tasks_seen++;
	st = p[2];
	if (st != 'S' && st != 'D')
		return;
	r->tasks_asleep++;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/wchan", pid, tid);
	read_line(path, wchan, sizeof(wchan));
	snprintf(path, sizeof(path), "/proc/%u/task/%u/stack", pid, tid);
	if ((f = fopen(path, "r"))) {
		n = fread(stack, 1, sizeof(stack) - 1, f);
		stack[n] = '\0';
		fclose(f);
	}
	if (!proc_match(wchan) && !proc_match(stack))
		return;
	t.state = st == 'D' ? 2 : 1;
	{
		char *o = strchr(stat, '('), *c = strrchr(stat, ')');

		if (o && c > o)
			snprintf(t.comm, sizeof(t.comm), "%.*s", (int)(c - o - 1), o + 1);
	}
	n = r->nw;
	add_waiter(r, &t);
	if (r->nw == n)
		return;
	w = &r->w[r->nw - 1];
	snprintf(w->proc_wchan, sizeof(w->proc_wchan), "%.63s", wchan);
	/* op and frame from /proc's symbolized stack */
	if (strstr(stack, "evict") || strstr(stack, "dax_break_layout_final"))
		w->op = "evict";
	else if (strstr(stack, "remap_file_range"))
		w->op = "remap";
	else if (strstr(stack, "punch_hole"))
		w->op = "punch";
	else if (strstr(stack, "fallocate"))
		w->op = refine_fallocate(pid, tid);
	else if (strstr(stack, "setattr") || strstr(stack, "truncate"))
		w->op = "truncate";
	{
		const char *f = text_wait_frame(stack);

		if (f || (f = text_wait_frame(wchan)))
			snprintf(w->wait_frame, sizeof(w->wait_frame), "%s", f);
	}
}

static void scan_proc(struct daxnow_report *r)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	{
		struct ksyms_scan ks;

		if (!kallsyms_scan(&ks))
			xfs_wait_inlined = ks.xfs_inlined;
	}
	while ((e = readdir(d))) {
		char path[300];
		DIR *td;
		struct dirent *te;
		uint64_t pid;

		if (parse_u64(e->d_name, &pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", e->d_name);
		if (!(td = opendir(path)))
			continue;
		while ((te = readdir(td))) {
			uint64_t tid;

			if (!parse_u64(te->d_name, &tid))
				scan_proc_task(r, pid, tid);
		}
		closedir(td);
	}
	closedir(d);
	lost(r, "%s", "the page each task waits for, its refcount and every holder (needs BPF iterators)");
	lost(r, "%s", "how long each task has been asleep");
}

int daxnow_scan(struct daxnow_report *r)
{
	struct utsname u;
	uint64_t t0 = mono_ns();
	bool prepared_before = r->prepared;	/* else its time falls within ours */
	int err;

	r->nw = r->ngupio = r->nheld = 0;
	r->nlost = 0;
	r->method = DAXNOW_NONE;
	if (!uname(&u))
		snprintf(r->kernel, sizeof(r->kernel), "%s", u.release);
	err = scan_bpf(r);
	probe_release_btf();	/* also when it fell back before its loads were done */
	if (err == 0) {
		r->method = DAXNOW_BPF;
		if (!r->have_bit_wait_table)
			lost(r, "%s", "bit_wait_table is not in kallsyms (no CONFIG_KALLSYMS_ALL): "
				      "wait entries found on the waiters' stacks instead");
		if (!r->have_vmemmap)
			lost(r, "%s", "vmemmap_base is not in kallsyms: pfns unknown "
				      "(file offsets still exact)");
	} else {
		free(r->w);
		r->w = NULL;
		r->nw = 0;
		r->method = DAXNOW_PROC;
		scan_proc(r);
	}
	apply_filter(r);
	r->scan_ms = (prepared_before ? r->prep_ms : 0) + (mono_ns() - t0) / 1e6;
	return 0;
}

void daxnow_report_free(struct daxnow_report *r)
{
	daxnow_bpf__destroy(r->skel);	/* prepared, never run */
	r->skel = NULL;
	kallsyms_wait();	/* a start that failed before the scan: nothing left running */
	for (size_t i = 0; i < r->nw; i++)
		free(r->w[i].holders);
	free(r->w);
	free(r->gupio);
	free(r->held);
	if (r->ks_owned)
		ksyms_free(r->ks);
	r->w = NULL;
	r->gupio = NULL;
	r->held = NULL;
	r->ks = NULL;
	r->nw = r->ngupio = r->nheld = 0;
}
