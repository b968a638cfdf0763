/* daxleak: collect one report from the BPF maps and /proc: tracked
 * pages, waiters (named by blwait.c), scan-found anomalies, stack GC. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include "blwait.h"
#include "daxleak_report.h"
#include "daxleak.skel.h"
#include "hist_user.h"
#include "map_keys.h"
#include "mounts.h"
#include "util.h"

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

/* Released between scans: the hold time is known to within one interval. */
static void scan_released(struct leak_ctx *c, const struct dl_page_val *v)
{
	struct hist h = {};
	uint64_t d = v->scan_ns - v->first_ns;
	int s = 0;

	while (s < HIST_SLOTS - 1 && (d >> s))
		s++;
	h.slots[s] = 1;
	hist_merge(&c->user_hist, &h);
	c->scan_released++;
}

static int read_tracked(struct leak_ctx *c, uint64_t scan_start)
{
	int idle = leak_idle(c);
	struct map_keys keys;

	c->nents = 0;
	c->collect_ns = mono_ns();
	/* keys first: a release deletes entries under the walk */
	if (map_keys_read(c->tracked_fd, sizeof(uint64_t), bpf_map__max_entries(c->skel->maps.tracked),
			  &keys))
		return -1;
	for (size_t i = 0; i < keys.n; i++) {
		uint64_t key;
		struct leak_entry e;

		memcpy(&key, map_key(&keys, i), sizeof(key));
		e = (struct leak_entry){ .page = key };
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
				scan_released(c, &e.v);
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
		if (push_entry(c, &e)) {
			map_keys_free(&keys);
			return -1;
		}
	}
	map_keys_free(&keys);
	return 0;
}

/* /proc/PID/task/TID: state letter and wchan. */
static char task_state(uint32_t pid, uint32_t tid, char *wchan, size_t wlen)
{
	char fn[96], st = blw_task_state(pid, tid);

	wchan[0] = 0;
	if (!st)
		return 0;	/* gone */
	snprintf(fn, sizeof(fn), "/proc/%u/task/%u/wchan", pid, tid);
	/* "0": the kernel could not tell (5.10's x86 get_wchan walks frame
	 * pointers, which ORC kernels lack): unknown, not "elsewhere" */
	if (read_line(fn, wchan, wlen) || !strcmp(wchan, "0"))
		wchan[0] = 0;
	return st;
}

static bool wchan_is_dax_wait(const char *w)
{
	return w[0] && blw_text_has_wait(blw_frames_here(), w, NULL, 0);
}

static enum blw_op op_from_kstack(struct leak_ctx *c, int kstack, bool *final)
{
	uint64_t ips[DL_STACK_DEPTH];

	*final = false;
	if (kstack < 0 || !c->ks)
		return BLW_UNKNOWN;
	leak_kstack_ips(c, kstack, ips);
	return blw_op_from_ips(c->ks, ips, DL_STACK_DEPTH, final);
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

/* The waiter's operation (blwait.c decides, as for --now and export)
 * and, if no hook named it, its file from the syscall's fd. */
static void waiter_finish(struct leak_ctx *c, struct waiter_rec *r)
{
	struct blw_syscall sc;
	const char *wchan[1] = { r->wchan };
	bool final = false, wfinal = false;
	enum blw_op op = BLW_UNKNOWN;
	int fd;

	blw_read_syscall(r->w.pid, r->w.tid, &sc);
	if (!r->from_proc)
		op = op_from_kstack(c, r->w.kstack, &final);
	if (op == BLW_UNKNOWN && r->start) {
		/* the scan at start read the stack */
		op = r->start->op;
		final = r->start->final;
	}
	if (op == BLW_UNKNOWN)
		op = blw_op_from_frames(wchan, 1, &wfinal);
	r->op = blw_op_decide(op, final || wfinal, &sc);
	r->interruptible = r->op != BLW_EVICT && r->state != 'D';
	blw_op_from_syscall(&sc, &fd);
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

/* Gone, or no longer sleeping in a DAX wait for a while: the wait ended
 * without a last busy-page call (signal). */
static bool waiter_ended(const struct leak_ctx *c, const struct waiter_rec *r)
{
	bool asleep = r->state == 'S' || r->state == 'D';
	bool stale = leak_now_age(c, r->w.last_ns) > 1.0;

	return !r->state || (!asleep && stale) ||
	       (asleep && r->wchan[0] && !wchan_is_dax_wait(r->wchan) && stale);
}

static int read_waiters(struct leak_ctx *c)
{
	struct map_keys keys;
	size_t known;
	int err = 0;

	c->nwaiters = 0;
	/* keys first: an ended wait is deleted under the walk */
	if (map_keys_read(c->waiters_fd, sizeof(uint32_t), bpf_map__max_entries(c->skel->maps.waiters),
			  &keys))
		return -1;
	for (size_t i = 0; i < keys.n && !err; i++) {
		struct waiter_rec r = {};
		uint32_t key;

		memcpy(&key, map_key(&keys, i), sizeof(key));
		if (bpf_map_lookup_elem(c->waiters_fd, &key, &r.w))
			continue;
		r.state = task_state(r.w.pid, r.w.tid, r.wchan, sizeof(r.wchan));
		if (waiter_ended(c, &r)) {
			bpf_map_delete_elem(c->waiters_fd, &key);
			continue;
		}
		r.waited_s = leak_now_age(c, r.w.start_ns);
		if (r.w.flags & DL_SEEN_AT_START)
			r.start = start_waiter(c, r.w.tid);
		waiter_finish(c, &r);
		err = push_waiter(c, &r);
	}
	map_keys_free(&keys);
	if (err)
		return -1;
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
	uint32_t max = bpf_map__max_entries(c->skel->maps.stacks);
	struct map_keys ids;

	if (map_keys_read(c->stacks_fd, sizeof(uint32_t), max, &ids))
		return;
	for (size_t i = 0; ids.n >= max / 4 * 3 && i < ids.n; i++) {
		int id;
		bool used = false;

		memcpy(&id, map_key(&ids, i), sizeof(id));
		for (size_t e = 0; e < c->nents && !used; e++)
			used = c->ents[e].v.kstack == id || c->ents[e].v.ustack == id;
		for (size_t w = 0; w < c->nwaiters && !used; w++)
			used = c->waiters[w].w.kstack == id;
		if (!used && !bpf_map_delete_elem(c->stacks_fd, &id))
			c->stacks_gc++;
	}
	map_keys_free(&ids);
}

int leak_collect(struct leak_ctx *c)
{
	uint64_t scan_start = mono_ns();

	c->nanoms = 0;
	usym_forget_pids();
	run_scan(c);
	ring_buffer__consume(c->rb);
	memcpy(c->counters, c->skel->bss->counters, sizeof(c->counters));
	/* the fault tracepoints (last) only tell liveness: not a lost event */
	c->kernel_skipped = probe_missed_runs(c->hooks, H_TP_PTE);
	if (read_tracked(c, scan_start) || read_waiters(c)) {
		warn_msg("out of memory while collecting");
		return -1;
	}
	leak_check_holders(c);
	stacks_gc(c);
	c->reports++;
	return 0;
}

/* Grouping sorts c->ents and costs (a pass per group over its pages):
 * only for a report that is printed, not for export's collections. */
void leak_report_build(struct leak_ctx *c)
{
	leak_report_free(c);
	c->groups = leak_groups_make(c, &c->ngroups);
	if (!c->groups && errno == ENOMEM)
		warn_msg("out of memory while grouping held pages: this report lists none");
	c->held = 0;
	for (size_t i = 0; i < c->ngroups; i++)
		c->held += c->groups[i].n;
	if (c->held > c->max_outstanding)
		c->max_outstanding = c->held;
}

void leak_report_free(struct leak_ctx *c)
{
	leak_groups_free(c->groups, c->ngroups);
	c->groups = NULL;
	c->ngroups = 0;
}

