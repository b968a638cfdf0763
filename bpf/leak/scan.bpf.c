// SPDX-License-Identifier: GPL-2.0
/* daxleak --now: the state of a DAX break_layouts hang that started before
 * any probe existed. Three BPF iterators, run one after the other by user
 * space, read the kernel and write records (include/daxnow.h) to their
 * seq file; nothing is attached to a hook and nothing in the kernel is
 * written.
 *
 *  iter/task       tasks asleep with a break_layouts frame on their kernel
 *                  stack (text ranges from kallsyms in .bss); the wait
 *                  entry that links them to the var they wait on, found in
 *                  bit_wait_table's hashed queues or on their own stack;
 *                  the page behind the var.
 *  iter/task_file  pipes whose buffers hold a target page (vmsplice).
 *  iter/task_vma   mappings of a target page's file covering the page.
 * Kernels without bpf_loop load the *_noloop twins (scan_noloop.bpf.h);
 * kernels without iter/task_vma (before 5.12) list no mappings.
 */
#include "dax_page.bpf.h"
#include "scan.h"

#define TASK_INTERRUPTIBLE_ 0x1
#define TASK_UNINTERRUPTIBLE_ 0x2
#define S_IFMT_ 00170000
#define S_IFIFO_ 0010000
#define THREAD_SIZE_ (16 * 1024)	/* x86_64 without KASAN */

const volatile __u8 zero_based = 0;		/* 6.15+: the var is the page */
const volatile __u32 thread_size = THREAD_SIZE_;

/* From kallsyms, set by user space after the load (which then need not wait
 * for the kallsyms read), before the first run. */
__u64 bit_wait_table_addr = 0;	/* CONFIG_KALLSYMS_ALL, 0 = unknown */
__u64 var_wake_func = 0;		/* var_wake_function, 0 = unknown */
__u32 nranges = 0;
struct dn_range ranges[DN_MAX_RANGES] = {};

/* set by user space before the holder scans */
struct dn_target targets[DN_MAX_TARGETS] = {};
__u32 ntargets = 0;

__u64 tasks_seen = 0, tasks_asleep = 0, stack_errs = 0, recs_lost = 0;
__u64 pipes_seen = 0, vmas_seen = 0, bucket_truncated = 0, pipe_pages_lost = 0;

extern struct rq runqueues __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dn_task_rec);
} scratch SEC(".maps");

struct task_struct___old {
	long state;				/* < 5.14 */
} __attribute__((preserve_access_index));

/* ---- pages ------------------------------------------------------------ */

/* Everything about one page; returns pg->fsdax. */
static __always_inline bool read_page(struct page *page, struct dn_page *pg)
{
	struct page *head = dax_page_head(page);
	struct address_space *as;
	struct inode *host;
	struct super_block *sb;
	const char *name;

	pg->page = (__u64)page;
	pg->head = (__u64)head;
	pg->pfn = dax_page_pfn(page);
	pg->fsdax = dax_pgmap_is_fsdax(dax_page_pgmap(head), pg->pfn);
	if (bpf_probe_read_kernel(&pg->refcount, sizeof(pg->refcount), &head->_refcount.counter))
		return false;
	pg->valid = 1;
	pg->order = dax_folio_order(head);
	pg->mapcount = dax_mapcount(head);
	pg->mapping = dax_page_owner(head, page, &pg->dev, &pg->ino, &pg->index, &pg->shared);
	if (!pg->mapping)
		return pg->fsdax;
	as = (void *)pg->mapping;
	host = BPF_CORE_READ(as, host);
	sb = BPF_CORE_READ(host, i_sb);
	BPF_CORE_READ_STR_INTO(&pg->s_id, sb, s_id);
	name = BPF_CORE_READ(sb, s_type, name);
	if (name)
		bpf_probe_read_kernel_str(pg->fstype, sizeof(pg->fstype), name);
	return pg->fsdax;
}

/* The var of a DAX wait: the page (6.15+) or &page->_refcount (before).
 * The era's reading first, the other one if that is not an FS DAX page. */
static __always_inline void resolve_var(__u64 var, struct dn_page *pg)
{
	__u64 off = bpf_core_field_offset(struct page, _refcount);
	__u64 page = zero_based ? var : var - off, other = zero_based ? var - off : var;

	if (!dax_page_is_fsdax((struct page *)page) && dax_page_is_fsdax((struct page *)other))
		page = other;
	read_page((struct page *)page, pg);
}

/* ---- wait entries ---------------------------------------------------- */

struct walk_ctx {
	__u64 task;
	__u64 wbq;		/* found: struct wait_bit_queue_entry * */
	__s32 found_bucket;
};

/* One bucket of bit_wait_table per call. No counter lives in the context:
 * verifiers that check bpf_loop callbacks to convergence (6.8+) would see a
 * new state for every value of it. */
static long walk_bucket(__u32 i, struct walk_ctx *w)
{
	struct wait_queue_entry *wqe;
	__u64 head, node = 0;

	if (i >= DN_BUCKETS)
		return 1;
	head = bit_wait_table_addr + (__u64)i * bpf_core_type_size(struct wait_queue_head) +
	       bpf_core_field_offset(struct wait_queue_head, head);
	if (bpf_probe_read_kernel(&node, sizeof(node), (void *)head))
		return 0;
	for (int d = 0; d < DN_BUCKET_DEPTH; d++) {
		if (!node || node == head)
			return 0;
		wqe = (void *)(node - bpf_core_field_offset(struct wait_queue_entry, entry));
		if ((__u64)BPF_CORE_READ(wqe, private) == w->task) {
			w->wbq = (__u64)wqe -
				 bpf_core_field_offset(struct wait_bit_queue_entry, wq_entry);
			w->found_bucket = i;
			return 1;
		}
		if (bpf_probe_read_kernel(&node, sizeof(node), (void *)node))
			return 0;
	}
	if (node && node != head)
		__sync_fetch_and_add(&bucket_truncated, 1);
	return 0;
}

struct stack_ctx {
	__u64 task;
	__u64 base;		/* task->stack */
	__u64 wbq;
};

/* Is a wait_bit_queue_entry at `wbq` live and ours: private == task,
 * bit_nr == -1 (a var wait), the wake function right when known, and its
 * list node linked (next->prev points back). Stale entries from earlier
 * waits stay in stack memory; the link test rejects them. */
static __always_inline bool live_var_entry(__u64 wbq, __u64 task)
{
	struct wait_bit_queue_entry *e = (void *)wbq;
	struct list_head *node = &e->wq_entry.entry, *next, *back = NULL;

	if ((__u64)BPF_CORE_READ(e, wq_entry.private) != task)
		return false;
	if (BPF_CORE_READ(e, key.bit_nr) != -1)
		return false;
	if (var_wake_func && (__u64)BPF_CORE_READ(e, wq_entry.func) != var_wake_func)
		return false;
	next = BPF_CORE_READ(node, next);
	if (!next || bpf_probe_read_kernel(&back, sizeof(back), &next->prev))
		return false;
	return back == node;
}

static long stack_step(__u32 i, struct stack_ctx *s)
{
	__u64 off = bpf_core_field_offset(struct wait_bit_queue_entry, wq_entry) +
		    bpf_core_field_offset(struct wait_queue_entry, private);
	__u64 word = 0, at = s->base + (__u64)i * 8;

	if (bpf_probe_read_kernel(&word, sizeof(word), (void *)at))
		return 0;
	if (word != s->task || at < s->base + off)
		return 0;
	if (live_var_entry(at - off, s->task)) {
		s->wbq = at - off;
		return 1;
	}
	return 0;
}

/* The var a found wait entry waits on, and the page behind it. */
static __always_inline void read_wait_entry(__u64 wbq, struct dn_task_rec *r)
{
	struct wait_bit_queue_entry *e = (void *)wbq;

	if (!wbq)
		return;
	r->var = (__u64)BPF_CORE_READ(e, key.flags);
	r->bit_nr = BPF_CORE_READ(e, key.bit_nr);
	r->wq_func = (__u64)BPF_CORE_READ(e, wq_entry.func);
	if (r->var)
		resolve_var(r->var, &r->pg);
}

static __always_inline void find_wait(struct task_struct *task, struct dn_task_rec *r)
{
	__u64 wbq = 0;

	r->bucket = -1;
	if (bit_wait_table_addr) {
		struct walk_ctx w = { .task = (__u64)task, .found_bucket = -1 };

		bpf_loop(DN_BUCKETS, walk_bucket, &w, 0);
		if (w.wbq) {
			wbq = w.wbq;
			r->via = DN_VIA_BUCKET;
			r->bucket = w.found_bucket;
		}
	}
	if (!wbq) {
		struct stack_ctx s = { .task = (__u64)task };

		s.base = (__u64)BPF_CORE_READ(task, stack);
		if (s.base) {
			bpf_loop(thread_size / 8, stack_step, &s, 0);
			if (s.wbq) {
				wbq = s.wbq;
				r->via = DN_VIA_STACK;
			}
		}
	}
	read_wait_entry(wbq, r);
}

/* Kernels without bpf_loop (5.10): the same steps from bounded loops over
 * global functions (scan_noloop.bpf.h, after the programs they serve). */
static __always_inline __u32 classify_noloop(struct dn_task_rec *r);
static __always_inline void find_wait_noloop(struct task_struct *task, struct dn_task_rec *r);

/* ---- tasks ----------------------------------------------------------- */

static __always_inline __u32 task_state(struct task_struct *t)
{
	struct task_struct___old *o = (void *)t;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ(o, state);
}

struct cls_ctx {
	struct dn_task_rec *r;
	__u32 cls;
};

/* One frame against every range: a bpf_loop callback, verified once. */
static long cls_step(__u32 i, struct cls_ctx *c)
{
	__u64 ip;
	__u32 n = nranges;

	if (i >= DN_STACK_DEPTH)
		return 1;
	asm volatile("%0 &= 31" : "+r"(i));	/* DN_STACK_DEPTH - 1, in the register used */
	ip = c->r->stack[i];
	if (n > DN_MAX_RANGES)
		n = DN_MAX_RANGES;
	for (__u32 k = 0; k < DN_MAX_RANGES; k++) {
		if (k >= n)
			break;
		if (ip >= ranges[k].start && ip < ranges[k].end)
			c->cls |= ranges[k].cls;
	}
	return 0;
}

static __always_inline __u32 classify(struct dn_task_rec *r)
{
	struct cls_ctx c = { .r = r };
	__u32 n = r->nframes;

	if (n > DN_STACK_DEPTH)
		n = DN_STACK_DEPTH;
	bpf_loop(n, cls_step, &c, 0);
	return c.cls;
}

/* "Now" on the scheduler's clocks, which the task's timestamps use: this
 * CPU's runqueue (needs the runqueues per-CPU symbol's address, i.e.
 * CONFIG_KALLSYMS_ALL), else the reading task's own se.exec_start, which
 * is at most one tick old since it is running this program. */
static __always_inline int scan_task(struct bpf_iter__task *ctx, bool use_rq, bool noloop)
{
	struct task_struct *task = ctx->task;
	struct dn_task_rec *r;
	__u32 zero = 0, state;
	long n;

	if (!task)
		return 0;
	__sync_fetch_and_add(&tasks_seen, 1);
	state = task_state(task);
	if (!(state & (TASK_INTERRUPTIBLE_ | TASK_UNINTERRUPTIBLE_)))
		return 0;
	__sync_fetch_and_add(&tasks_asleep, 1);
	r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	n = bpf_get_task_stack(task, r->stack, sizeof(r->stack), 0);
	if (n < 0) {
		__sync_fetch_and_add(&stack_errs, 1);
		return 0;
	}
	r->nframes = n / 8;
	r->cls = noloop ? classify_noloop(r) : classify(r);
	if (!r->cls)
		return 0;
	r->type = DN_REC_TASK;
	r->pid = BPF_CORE_READ(task, tgid);
	r->tid = BPF_CORE_READ(task, pid);
	r->state = state;
	r->bucket = -1;
	r->bit_nr = 0;
	BPF_CORE_READ_STR_INTO(&r->comm, task, comm);
	r->exec_start = BPF_CORE_READ(task, se.exec_start);
	if (bpf_core_field_exists(task->sched_info.last_arrival))
		r->last_arrival = BPF_CORE_READ(task, sched_info.last_arrival);
	r->start_time = BPF_CORE_READ(task, start_time);
	r->cpu = bpf_get_smp_processor_id();
	if (use_rq && &runqueues) {
		struct rq *rq = bpf_this_cpu_ptr(&runqueues);

		r->now_clock = BPF_CORE_READ(rq, clock);
		r->now_clock_task = BPF_CORE_READ(rq, clock_task);
	} else {
		struct task_struct *cur = (void *)bpf_get_current_task();

		r->now_clock_task = BPF_CORE_READ(cur, se.exec_start);
		if (bpf_core_field_exists(cur->sched_info.last_arrival))
			r->now_clock = BPF_CORE_READ(cur, sched_info.last_arrival);
	}
	if (r->cls & DN_CLS_WAIT) {
		if (noloop)
			find_wait_noloop(task, r);
		else
			find_wait(task, r);
	}
	if (bpf_seq_write(ctx->meta->seq, r, sizeof(*r)))
		__sync_fetch_and_add(&recs_lost, 1);
	return 0;
}

SEC("iter/task")
int scan_tasks(struct bpf_iter__task *ctx)
{
	return scan_task(ctx, true, false);
}

SEC("iter/task")
int scan_tasks_cur(struct bpf_iter__task *ctx)
{
	return scan_task(ctx, false, false);
}

/* ---- pipes ----------------------------------------------------------- */

struct pipe_ctx {
	__u64 bufs;
	__u32 tail, mask, nt;
	__u32 exact, same_file;
	__u64 exact_mask, file_mask;
	__u64 pipe;
	__u32 pid, fd;
};

/* Each page of a target's file found in a pipe buffer, with its state:
 * daxleak lists them as held since before it started. Keyed by page, so
 * a pipe open in several processes gives one entry. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DN_MAX_PIPE_PAGES);
	__type(key, __u64);
	__type(value, struct dn_pipe_page);
} pipe_pages SEC(".maps");

static __always_inline void note_pipe_page(struct pipe_ctx *p, struct page *page, __u32 t)
{
	struct dn_pipe_page nv = { .pipe = p->pipe, .pid = p->pid, .fd = p->fd, .target = t }, *v;
	__u64 key = (__u64)page;

	if (bpf_map_update_elem(&pipe_pages, &key, &nv, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&pipe_pages, &key)) {
		__sync_fetch_and_add(&pipe_pages_lost, 1);
		return;
	}
	v = bpf_map_lookup_elem(&pipe_pages, &key);
	if (v && !v->pg.valid)
		read_page(page, &v->pg);
}

/* One (buffer, target) pair per call: no inner loop, and nothing in the
 * context that a branch depends on, so every verifier converges at once. */
static long pipe_step(__u32 i, struct pipe_ctx *p)
{
	__u32 nt = p->nt ? p->nt : 1, t = i % nt, slot = (p->tail + i / nt) & p->mask;
	struct pipe_buffer *buf = (void *)(p->bufs + slot * bpf_core_type_size(struct pipe_buffer));
	struct page *page = BPF_CORE_READ(buf, page);
	struct dn_target *tg;
	__u64 mapping;

	if (!page)
		return 0;
	asm volatile("%0 &= 31" : "+r"(t));	/* DN_MAX_TARGETS - 1 */
	tg = &targets[t];
	if ((__u64)page >= tg->lo && (__u64)page < tg->hi) {
		p->exact++;
		p->exact_mask |= 1ULL << t;
	}
	mapping = dax_folio_mapping(dax_page_head(page));	/* page->mapping on 5.10 */
	if (tg->mapping && mapping == tg->mapping) {
		p->same_file++;
		p->file_mask |= 1ULL << t;
		note_pipe_page(p, page, t);
	}
	return 0;
}

static __always_inline __u32 pipe_walk_noloop(struct pipe_ctx *p, __u32 n);

static __always_inline int scan_pipe(struct bpf_iter__task_file *ctx, bool noloop)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct pipe_inode_info *pipe;
	struct pipe_ctx p = {};
	struct dn_pipe_rec r = {};
	__u32 head, tail, ring, n;
	umode_t mode;

	if (!task || !file || !ntargets)
		return 0;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT_) != S_IFIFO_)
		return 0;
	pipe = BPF_CORE_READ(file, private_data);
	if (!pipe)
		return 0;
	__sync_fetch_and_add(&pipes_seen, 1);
	head = BPF_CORE_READ(pipe, head);
	tail = BPF_CORE_READ(pipe, tail);
	ring = BPF_CORE_READ(pipe, ring_size);
	if (!ring || (ring & (ring - 1)) || head == tail)
		return 0;
	n = head - tail;
	if (n > ring)
		return 0;
	if (n > DN_MAX_PIPE_BUFS)
		n = DN_MAX_PIPE_BUFS;
	p.bufs = (__u64)BPF_CORE_READ(pipe, bufs);
	p.tail = tail;
	p.mask = ring - 1;
	p.nt = ntargets < DN_MAX_TARGETS ? ntargets : DN_MAX_TARGETS;
	p.pipe = (__u64)pipe;
	p.pid = BPF_CORE_READ(task, tgid);
	p.fd = ctx->fd;
	if (noloop)
		n = pipe_walk_noloop(&p, n);
	else
		bpf_loop(n * p.nt, pipe_step, &p, 0);
	if (!p.exact && !p.same_file)
		return 0;
	r.type = DN_REC_PIPE;
	r.pid = BPF_CORE_READ(task, tgid);
	r.tid = BPF_CORE_READ(task, pid);
	r.fd = ctx->fd;
	r.pipe = (__u64)pipe;
	r.nbufs = head - tail;
	r.scanned = n;
	r.exact = p.exact;
	r.same_file = p.same_file;
	r.exact_mask = p.exact_mask;
	r.file_mask = p.file_mask;
	BPF_CORE_READ_STR_INTO(&r.comm, task, comm);
	if (bpf_seq_write(ctx->meta->seq, &r, sizeof(r)))
		__sync_fetch_and_add(&recs_lost, 1);
	return 0;
}

SEC("iter/task_file")
int scan_pipes(struct bpf_iter__task_file *ctx)
{
	return scan_pipe(ctx, false);
}

/* ---- mappings -------------------------------------------------------- */

SEC("iter/task_vma")
int scan_vmas(struct bpf_iter__task_vma *ctx)
{
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct dn_vma_rec r = {};
	struct address_space *as;
	struct file *file;
	__u64 start, end, pgoff;
	__u32 nt = ntargets;

	if (!task || !vma || !nt)
		return 0;
	__sync_fetch_and_add(&vmas_seen, 1);
	file = BPF_CORE_READ(vma, vm_file);
	if (!file)
		return 0;
	as = BPF_CORE_READ(file, f_mapping);
	start = BPF_CORE_READ(vma, vm_start);
	end = BPF_CORE_READ(vma, vm_end);
	pgoff = BPF_CORE_READ(vma, vm_pgoff);
	if (nt > DN_MAX_TARGETS)
		nt = DN_MAX_TARGETS;
	for (__u32 t = 0; t < DN_MAX_TARGETS; t++) {
		__u64 idx;

		if (t >= nt)
			break;
		if (!targets[t].mapping || (__u64)as != targets[t].mapping)
			continue;
		idx = targets[t].index;
		if (idx < pgoff || idx >= pgoff + ((end - start) >> 12))
			continue;
		r.type = DN_REC_VMA;
		r.pid = BPF_CORE_READ(task, tgid);
		r.tid = BPF_CORE_READ(task, pid);
		r.target = t;
		r.vm_start = start;
		r.vm_end = end;
		r.vm_pgoff = pgoff;
		r.addr = start + ((idx - pgoff) << 12);
		BPF_CORE_READ_STR_INTO(&r.comm, task, comm);
		if (bpf_seq_write(ctx->meta->seq, &r, sizeof(r)))
			__sync_fetch_and_add(&recs_lost, 1);
	}
	return 0;
}

#include "scan_noloop.bpf.h"
