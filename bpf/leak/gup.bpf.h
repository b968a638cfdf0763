/* daxleak acquisition: the exits of the exported get_user_pages and
 * pin_user_pages entry points. A batch (the pages out-array) is checked for
 * an FS DAX page, cheaply for non-DAX batches (System RAM ranges), and every
 * DAX page of it is tracked with its stacks; bpf_loop walks, or bounded loops
 * over global functions on kernels without it; fexit, kprobe/kretprobe and
 * no-bpf_loop program variants of each entry point.
 *
 * Included once by daxleak.bpf.c, after the maps and helpers it uses: a
 * BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_LEAK_GUP_BPF_H
#define DAXTRACE_LEAK_GUP_BPF_H

struct batch_ctx {
	__u64 pages;		/* struct page ** in kernel memory */
	__u64 start;		/* user address of pages[0] */
	__u64 now;
	__s32 kstack, ustack;
	__u32 pid, tid;
	__u32 gup;
	__u32 dax;
	__u32 first_dax;	/* index of the first DAX page, ~0 if none */
	char comm[DL_COMM_LEN];
};

/* System RAM pfn ranges [lo, hi] from /proc/iomem, largest first, set by
 * user space before attach. FS DAX pages are never System RAM: a page found
 * in one needs no read of its own (the GUP exit's common case, O_DIRECT and
 * vmsplice of ordinary memory). A range missing here only costs reads. */
__u64 ram_pfn_lo[DL_RAM_RANGES] = {};
__u64 ram_pfn_hi[DL_RAM_RANGES] = {};
__u32 nr_ram_ranges = 0;
/* The same ranges as struct page addresses, made at the first call (no
 * division per page): 0 not yet, 1 made, 2 unusable (vmemmap_base unknown). */
__u64 ram_page_lo[DL_RAM_RANGES] = {};
__u64 ram_page_hi[DL_RAM_RANGES] = {};
__u32 ram_pages_state = 0;

static __noinline bool ram_pages_make(void)
{
	__u64 base = dax_vmemmap(), sz = dax_page_size();

	ram_pages_state = 2;
	if (!base || !nr_ram_ranges)
		return false;
	for (int i = 0; i < DL_RAM_RANGES; i++) {
		if (i >= nr_ram_ranges)
			break;
		ram_page_lo[i] = base + ram_pfn_lo[i] * sz;
		ram_page_hi[i] = base + ram_pfn_hi[i] * sz;
	}
	ram_pages_state = 1;
	return true;
}

static __always_inline bool page_in_ram(struct page *page)
{
	__u64 p = (__u64)page;

	if (ram_pages_state != 1 && (ram_pages_state || !ram_pages_make()))
		return false;
	for (int i = 0; i < DL_RAM_RANGES; i++) {
		if (i >= nr_ram_ranges)
			break;
		if (p >= ram_page_lo[i] && p <= ram_page_hi[i])
			return true;
	}
	return false;
}

/* Page i of a GUP batch (`pages`: the struct page ** out-array). */
static __always_inline bool slot_page_is_dax(__u64 pages, __u32 i)
{
	struct page *page = NULL;
	struct dev_pagemap *pgmap;

	if (bpf_probe_read_kernel(&page, sizeof(page), (void *)(pages + i * 8ULL)) || !page)
		return false;
	if (page_in_ram(page))
		return false;
	/* the pgmap type first: most pages fail there, before the pfn maths */
	pgmap = dax_page_pgmap_quick(page);
	if (!dax_pgmap_type_is_fsdax(pgmap))
		return false;
	return dax_pgmap_is_fsdax(pgmap, dax_page_pfn(page));
}

/* Find the batch's first DAX page. Stacks are taken only for batches that
 * have one: a stack walk per GUP call of any kind costs time, and their
 * stacks, reported by nobody, fill the stack map until bpf_get_stackid
 * fails on a hash bucket taken by another stack, for the one we need. */
static long find_dax(__u32 i, struct batch_ctx *b)
{
	if (!slot_page_is_dax(b->pages, i))
		return 0;
	b->first_dax = i;
	return 1;
}

static long track_one(__u32 i, struct batch_ctx *b)
{
	struct page *page = NULL, *head;
	struct dl_page_val *v, nv = {};
	__u64 key, pfn;
	int ref;

	if (bpf_probe_read_kernel(&page, sizeof(page), (void *)(b->pages + i * 8ULL)) || !page)
		return 0;
	head = dax_page_head(page);
	pfn = dax_page_pfn(page);
	if (!dax_pgmap_is_fsdax(dax_page_pgmap(head), pfn))
		return 0;
	b->dax++;
	key = (__u64)page;
	dax_page_owner(head, page, &nv.dev, &nv.ino, &nv.index, &nv.shared);
	ref = dax_refcount(head);
	v = bpf_map_lookup_elem(&tracked, &key);
	if (v) {
		if (v->refs > 0 && !v->shared && !nv.shared &&
		    (v->ino != nv.ino || v->dev != nv.dev || v->index != nv.index))
			emit_anomaly(DLA_REUSED, page, head, pfn, ref, -1, v->refs, NULL);
		if (v->refs <= 0) {
			/* a stale episode (release not seen): start over */
			v->first_ns = b->now;
			v->pid = b->pid;
			v->tid = b->tid;
			v->kstack = b->kstack;
			v->ustack = b->ustack;
			v->refs = 0;
			v->nacq = 0;
			v->uaddr = b->start + i * 4096ULL;
			v->gup = b->gup;
			v->flags = 0;	/* a new episode with a known culprit */
			__builtin_memcpy(v->comm, b->comm, sizeof(v->comm));
		}
		__sync_fetch_and_add(&v->refs, 1);
		v->nacq++;
		v->last_ns = b->now;
		v->last_pid = b->pid;
		v->cur_ref = ref;
		return 0;
	}
	nv.folio = (__u64)head;
	nv.first_ns = nv.last_ns = b->now;
	nv.uaddr = b->start + i * 4096ULL;
	nv.pfn = pfn;
	nv.refs = 1;
	nv.pid = b->pid;
	nv.tid = b->tid;
	nv.last_pid = b->pid;
	nv.nacq = 1;
	nv.kstack = b->kstack;
	nv.ustack = b->ustack;
	nv.order = dax_folio_order(head);
	nv.subpage = ((__u64)page - (__u64)head) / dax_page_size();
	nv.gup = b->gup;
	nv.cur_ref = ref;
	nv.cur_map = zero_based ? dax_mapcount(head) : 0;
	nv.scan_ns = b->now;
	__builtin_memcpy(nv.comm, b->comm, sizeof(nv.comm));
	if (ref < 0)
		emit_anomaly(DLA_NEGATIVE, page, head, pfn, ref, nv.cur_map, 1, NULL);
	if (bpf_map_update_elem(&tracked, &key, &nv, BPF_NOEXIST)) {
		/* EEXIST from a racing CPU is rare; anything else is a full map */
		v = bpf_map_lookup_elem(&tracked, &key);
		if (v)
			__sync_fetch_and_add(&v->refs, 1);
		else
			count(DLC_TRACK_OVERFLOW);
	}
	return 0;
}

static __always_inline void gup_enter_in(void *ctx, __u32 id, __u64 start, __u64 pages,
					 bool entry_stack)
{
	__u32 tid = current_tid();
	struct gup_state *s, ns = {};

	s = bpf_map_lookup_elem(&gup_tid, &tid);
	if (s) {
		s->depth++;
		return;
	}
	ns.kstack = entry_stack ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	ns.depth = 1;
	ns.id = id;
	ns.start = start;
	ns.pages = pages;
	bpf_map_update_elem(&gup_tid, &tid, &ns, BPF_ANY);
}

static __always_inline void gup_enter(__u32 id, __u64 start, __u64 pages)
{
	gup_enter_in(NULL, id, start, pages, false);
}

/* Kprobe variants: false when this exit is nested in another GUP call or
 * its entry was not seen (a call in flight at attach, a full gup_tid map:
 * counted); else the outermost call's saved arguments and, if asked, the
 * kernel stack taken at entry. */
static __always_inline bool gup_leave_in(__u64 *start, __u64 *pages, __s32 *kstack)
{
	__u32 tid = current_tid();
	struct gup_state *s = bpf_map_lookup_elem(&gup_tid, &tid);

	if (!s) {
		count(DLC_GUP_UNGUARDED);
		return false;
	}
	if (s->depth > 1) {
		s->depth--;
		count(DLC_GUP_NESTED);
		return false;
	}
	*start = s->start;
	*pages = s->pages;
	if (kstack)
		*kstack = s->kstack;
	bpf_map_delete_elem(&gup_tid, &tid);
	return true;
}

static __always_inline bool gup_leave(__u64 *start, __u64 *pages)
{
	return gup_leave_in(start, pages, NULL);
}

/* Kernels without bpf_loop (before 5.17; they also reject the callback
 * subprograms it takes): the same two passes as bounded loops over global
 * functions, each verified once. Scalar arguments only (before 5.12 a global
 * function takes no pointer); the batch context goes through a per-CPU map,
 * safe as these run only as kprobes (preemption off, no nesting on a CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct batch_ctx);
} batch_cpu SEC(".maps");

static __always_inline struct batch_ctx *cpu_batch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&batch_cpu, &zero);
}

__noinline int batch_find_dax(__u32 i)
{
	struct batch_ctx *b = cpu_batch();

	return b ? find_dax(i, b) : 1;
}

__noinline int batch_track(__u32 i)
{
	struct batch_ctx *b = cpu_batch();

	return b ? track_one(i, b) : 1;
}

/* Negative when bpf_loop refused the batch. */
static __always_inline long batch_loop(struct batch_ctx *b, __u32 n, bool track, bool noloop)
{
	if (!noloop && track)
		return bpf_loop(n, track_one, b, 0);
	if (!noloop)
		return bpf_loop(n, find_dax, b, 0);
	for (__u32 i = 0; i < DL_MAX_BATCH && i < n; i++)
		if (track ? batch_track(i) : batch_find_dax(i))
			break;
	return 0;
}

/* fexit only: kernels without bpf_get_func_arg load no fexit program, and
 * the kprobe callers pass constant indexes that leave no call here. */
static __always_inline __u64 fn_arg(void *ctx, int n)
{
	__u64 v = 0;

	bpf_get_func_arg(ctx, n, &v);
	return v;
}

/* A batch with a DAX page (n == 1: pages[0] is one): stacks, then every
 * page tracked. The user address of pages[0] is read only now (fexit:
 * argument start_idx; kprobe: START_GIVEN, `start` saved at entry). The
 * no-loop twins keep the batch in batch_cpu and take the kernel stack from
 * their entry (entry_kstack). */
#define START_GIVEN -1
static __always_inline void gup_track(void *ctx, __u32 id, int start_idx, __u64 start,
				      __u64 pages, __u32 n, bool noloop, __s32 entry_kstack)
{
	struct batch_ctx b_ = {}, *b = noloop ? cpu_batch() : &b_;

	if (!b)
		return;
	if (start_idx != START_GIVEN)
		start = fn_arg(ctx, start_idx);
	b->pages = pages;
	b->start = start & ~4095ULL;
	b->first_dax = ~0U;
	b->dax = 0;
	if (n > 1 && (batch_loop(b, n, false, noloop) < 0 || b->first_dax == ~0U))
		return;
	b->now = bpf_ktime_get_ns();
	b->pid = current_tgid();
	b->tid = current_tid();
	b->gup = id;
	bpf_get_current_comm(b->comm, sizeof(b->comm));
	b->kstack = noloop ? entry_kstack : bpf_get_stackid(ctx, &stacks, 0);
	b->ustack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	batch_loop(b, n, true, noloop);
	if (b->dax) {
		count_n(DLC_DAX_PAGES, b->dax);
		if (b->kstack < 0)
			count(DLC_STACK_LOST);
		if (b->ustack < 0)
			count(DLC_STACK_LOST);
	}
}

static __always_inline void gup_done_in(void *ctx, __u32 id, int start_idx, __u64 start,
					__u64 pages, long ret, bool noloop, __s32 entry_kstack)
{
	__u32 n;

	if (ret <= 0 || !pages)
		return;
	if (targ_tgid && current_tgid() != targ_tgid)
		return;
	count(DLC_GUP_CALLS);
	count_n(DLC_PAGES_SEEN, ret);
	n = ret;
	if (n > DL_MAX_BATCH) {
		count_n(DLC_BATCH_TRUNC, n - DL_MAX_BATCH);
		n = DL_MAX_BATCH;
	}
	/* one page (a 4 KiB O_DIRECT, a vmsplice of a page): the test alone */
	if (n == 1 && !slot_page_is_dax(pages, 0))
		return;
	gup_track(ctx, id, start_idx, start, pages, n, noloop, entry_kstack);
}

static __always_inline void gup_done(void *ctx, __u32 id, int start_idx, __u64 start,
				     __u64 pages, long ret)
{
	gup_done_in(ctx, id, start_idx, start, pages, ret, false, -1);
}

/* The kernel stack comes from the entry: kernels without bpf_loop (before
 * 5.17) also unwind a kretprobe's stack only up to its trampoline (5.16
 * taught the unwinder about it). The cost: a stack walk per outermost GUP
 * call, DAX or not, on those kernels only. */
static __always_inline void gup_done_noloop(void *ctx, __u32 id, __u64 start, __u64 pages,
					    long ret, __s32 kstack)
{
	gup_done_in(ctx, id, START_GIVEN, start, pages, ret, true, kstack);
}

/* Arguments: where `start` and `pages` sit for each entry point. */
#define IDX_START_PLAIN 0
#define IDX_PAGES_PLAIN 3
#define IDX_START_REMOTE 1
#define IDX_PAGES_REMOTE 4
#define IDX_PAGES_UNLOCKED 2
#define IDX_FLAGS_UNLOCKED 3

static __always_inline __u64 kp_arg(struct pt_regs *ctx, int n)
{
	switch (n) {
	case 0: return PT_REGS_PARM1_CORE(ctx);
	case 1: return PT_REGS_PARM2_CORE(ctx);
	case 2: return PT_REGS_PARM3_CORE(ctx);
	case 3: return PT_REGS_PARM4_CORE(ctx);
	case 4: return PT_REGS_PARM5_CORE(ctx);
	default: return 0;
	}
}

/* A call made by another entry point (see nested_gup_flags): the outer
 * exit reports the whole batch. */
static __always_inline bool gup_is_inner(void *ctx, int flags_idx)
{
	if (flags_idx < 0 || !(fn_arg(ctx, flags_idx) & nested_gup_flags))
		return false;
	count(DLC_GUP_NESTED);
	return true;
}

/* FI: index of gup_flags for entry points another one calls, else -1. */
#define GUP_PROGS(fn, ID, SI, PI, FI)						\
SEC("fexit/" #fn)								\
int fn##_fexit(void *ctx)							\
{										\
	__u64 pages = fn_arg(ctx, PI), ret = 0;					\
	bpf_get_func_ret(ctx, &ret);						\
	if ((long)ret > 0 && pages && !gup_is_inner(ctx, FI))			\
		gup_done(ctx, ID, SI, 0, pages, (long)ret);			\
	return 0;								\
}										\
SEC("kprobe/" #fn)								\
int fn##_kprobe(struct pt_regs *ctx)						\
{										\
	gup_enter(ID, kp_arg(ctx, SI), kp_arg(ctx, PI));			\
	return 0;								\
}										\
SEC("kretprobe/" #fn)								\
int fn##_kretprobe(struct pt_regs *ctx)					\
{										\
	__u64 start = 0, pages = 0;						\
	long ret = PT_REGS_RC_CORE(ctx);					\
	if (gup_leave(&start, &pages))					\
		gup_done(ctx, ID, START_GIVEN, start, pages, ret);		\
	return 0;								\
}										\
SEC("kprobe/" #fn)								\
int fn##_kprobe_noloop(struct pt_regs *ctx)					\
{										\
	gup_enter_in(ctx, ID, kp_arg(ctx, SI), kp_arg(ctx, PI), true);		\
	return 0;								\
}										\
SEC("kretprobe/" #fn)								\
int fn##_kretprobe_noloop(struct pt_regs *ctx)					\
{										\
	__u64 start = 0, pages = 0;						\
	__s32 kstack = -1;							\
	long ret = PT_REGS_RC_CORE(ctx);					\
	if (gup_leave_in(&start, &pages, &kstack))				\
		gup_done_noloop(ctx, ID, start, pages, ret, kstack);		\
	return 0;								\
}

#define NOT_NESTED -1
/* get_user_pages_unlocked(start, nr_pages, pages, gup_flags) */
GUP_PROGS(get_user_pages_fast, DL_GUP_FAST, IDX_START_PLAIN, IDX_PAGES_PLAIN, NOT_NESTED)
GUP_PROGS(pin_user_pages_fast, DL_PIN_FAST, IDX_START_PLAIN, IDX_PAGES_PLAIN, NOT_NESTED)
GUP_PROGS(get_user_pages_fast_only, DL_GUP_FAST_ONLY, IDX_START_PLAIN, IDX_PAGES_PLAIN, NOT_NESTED)
GUP_PROGS(pin_user_pages_fast_only, DL_PIN_FAST_ONLY, IDX_START_PLAIN, IDX_PAGES_PLAIN, NOT_NESTED)
GUP_PROGS(get_user_pages, DL_GUP, IDX_START_PLAIN, IDX_PAGES_PLAIN, NOT_NESTED)
GUP_PROGS(pin_user_pages, DL_PIN, IDX_START_PLAIN, IDX_PAGES_PLAIN, NOT_NESTED)
GUP_PROGS(get_user_pages_remote, DL_GUP_REMOTE, IDX_START_REMOTE, IDX_PAGES_REMOTE, NOT_NESTED)
GUP_PROGS(pin_user_pages_remote, DL_PIN_REMOTE, IDX_START_REMOTE, IDX_PAGES_REMOTE, NOT_NESTED)
GUP_PROGS(get_user_pages_unlocked, DL_GUP_UNLOCKED, IDX_START_PLAIN, IDX_PAGES_UNLOCKED,
	  IDX_FLAGS_UNLOCKED)
GUP_PROGS(pin_user_pages_unlocked, DL_PIN_UNLOCKED, IDX_START_PLAIN, IDX_PAGES_UNLOCKED,
	  NOT_NESTED)

#endif
