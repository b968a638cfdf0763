/* daxleak --now: the scan. Load bpf/leak/scan.bpf.c, run its task iterator
 * (waiters, their wait entry, the page), tell it the waited pages, run the
 * task_file and task_vma iterators (holders), join (scan_join.c). Without
 * iterators, a /proc fallback (scan_proc.c) lists the waiters only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "scan_int.h"
#include "core_btf.h"
#include "probe.h"
#include "bpf_caps.h"
#include "daxnow.skel.h"
#include "util.h"

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

/* Every page of a waited file that a pipe holds, from the pipe_pages map. */
static void read_pipe_pages(struct daxnow_report *r, int fd)
{
	uint64_t key, next, *prev = NULL;
	struct dn_pipe_page v;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &v))
			scan_held_from_pipe_page(r, &v);
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
	const struct bpf_caps *caps = bpf_caps_get();
	struct daxnow_bpf *s = CORE_BTF_OPEN(daxnow_bpf);
	/* DAXTRACE_SCAN_NOLOOP=1: the twins on any kernel (host tests) */
	bool loop = caps->loop && !getenv("DAXTRACE_SCAN_NOLOOP");
	int err;

	*out = NULL;
	if (!s)
		return errno;
	s->rodata->zero_based = r->era.era == ERA_ZERO_BASED;
	/* A kernel without bpf_loop loads the bounded-loop twins
	 * (bpf/leak/scan_noloop.bpf.h); one without iter/task_vma no mapping
	 * search: either would refuse the whole object over one program. */
	bpf_program__set_autoload(s->progs.scan_tasks, loop && part == PART_TASKS_RQ);
	bpf_program__set_autoload(s->progs.scan_tasks_cur, loop && part == PART_TASKS_CUR);
	bpf_program__set_autoload(s->progs.scan_pipes, loop && part == PART_HOLDERS);
	bpf_program__set_autoload(s->progs.scan_tasks_noloop, !loop && part == PART_TASKS_RQ);
	bpf_program__set_autoload(s->progs.scan_tasks_cur_noloop, !loop && part == PART_TASKS_CUR);
	bpf_program__set_autoload(s->progs.scan_pipes_noloop, !loop && part == PART_HOLDERS);
	bpf_program__set_autoload(s->progs.scan_vmas, caps->iter_task_vma && part == PART_HOLDERS);
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

/* Whichever of a program and its bounded-loop twin was loaded. */
static struct bpf_program *loaded_prog(struct bpf_program *loop, struct bpf_program *noloop)
{
	return bpf_program__autoload(loop) ? loop : noloop;
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
		scan_lost(r, what, strerror(-err));
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
	struct bpf_program *pipes = loaded_prog(h->progs.scan_pipes, h->progs.scan_pipes_noloop);

	memcpy(h->bss->targets, tg, nt * sizeof(*tg));
	h->bss->ntargets = nt;
	join_records(r, pipes, "pipe holders: task_file iterator failed (%s)",
		     DN_REC_PIPE, sizeof(struct dn_pipe_rec), join_pipe_rec);
	if (bpf_program__autoload(h->progs.scan_vmas))
		join_records(r, h->progs.scan_vmas, "mapping holders: task_vma iterator failed (%s)",
			     DN_REC_VMA, sizeof(struct dn_vma_rec), join_vma_rec);
	else
		scan_lost(r, "%s", "mappings of the waited pages' files: not listed (no task_vma "
			  "iterator in this kernel; before 6.15 a mapping holds no reference, so "
			  "no holder is missed)");
}

/* The scan's counters: s the task scan, h the holder scan (or NULL). */
static void read_counters(struct daxnow_report *r, struct daxnow_bpf *s, struct daxnow_bpf *h)
{
	r->tasks_seen = s->bss->tasks_seen;
	r->tasks_asleep = s->bss->tasks_asleep;
	r->recs_lost = s->bss->recs_lost;
	r->stack_errs = s->bss->stack_errs;
	r->bucket_truncated = s->bss->bucket_truncated;
	if (r->bucket_truncated)
		scan_lost(r, "%llu wait-queue buckets past their first %d entries (their waiters "
			  "were looked for on their stacks instead)",
			  (unsigned long long)r->bucket_truncated, DN_BUCKET_DEPTH);
	if (h) {
		r->pipe_pages_lost = h->bss->pipe_pages_lost;
		r->pipe_bufs_cut = h->bss->pipe_bufs_cut;
		r->pipes_seen = h->bss->pipes_seen;
		r->vmas_seen = h->bss->vmas_seen;
		r->recs_lost += h->bss->recs_lost;
		r->stack_errs += h->bss->stack_errs;
		if (r->pipe_bufs_cut)
			scan_lost(r, "%llu pipe buffers past a pipe's first %u (buffer, waited "
				  "page) pairs (the bounded search of kernels without bpf_loop)",
				  (unsigned long long)r->pipe_bufs_cut, DN_NOLOOP_PIPE_STEPS);
	}
	if (r->stack_errs)
		scan_lost(r, "%llu sleeping tasks whose kernel stack could not be read (not "
			  "classified: a waiter among them is not listed)",
			  (unsigned long long)r->stack_errs);
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
	r->have_rq_clock = bpf_program__autoload(s->progs.scan_tasks) ||
			   bpf_program__autoload(s->progs.scan_tasks_noloop);
	r->bounded_loops = bpf_program__autoload(s->progs.scan_tasks_noloop) ||
			   bpf_program__autoload(s->progs.scan_tasks_cur_noloop);

	/* 1: tasks */
	buf = run_iter(r->have_rq_clock ? loaded_prog(s->progs.scan_tasks, s->progs.scan_tasks_noloop) :
		       loaded_prog(s->progs.scan_tasks_cur, s->progs.scan_tasks_cur_noloop), &len, &err);
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
		scan_lost(r, "pipe and mapping holders: iterators refused by this kernel (%s)",
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
			scan_add_waiter(r, &recs[i]);
		else if (recs[i].cls & DN_CLS_GUPIO)
			scan_add_gupio(r, &recs[i]);
	}
	free(buf);

	/* 2: targets = distinct waited pages */
	nt = scan_targets(r, tg);
	if (nt && h)
		scan_holders(r, h, tg, nt);
	scan_held_from_waiters(r);
	if (nt && h)
		read_pipe_pages(r, bpf_map__fd(h->maps.pipe_pages));
	read_counters(r, s, h);
	daxnow_bpf__destroy(h);
	daxnow_bpf__destroy(s);
	return 0;
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
			scan_lost(r, "%s", "bit_wait_table is not in kallsyms (no CONFIG_KALLSYMS_ALL): "
				      "wait entries found on the waiters' stacks instead");
		if (!r->have_vmemmap)
			scan_lost(r, "%s", "vmemmap_base is not in kallsyms: pfns unknown "
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
