// SPDX-License-Identifier: GPL-2.0
/* daxleak: who holds extra references on FS DAX pages, and who waits for
 * them in break_layouts.
 *
 *  acquisition  exits of the exported GUP entry points (pages out-array);
 *               fexit alone (no entry program); a page of a non-DAX batch
 *               (O_DIRECT, vmsplice of ordinary memory) costs one read and a
 *               comparison with the System RAM ranges
 *  release      one-based era (<= 6.14): __put_devmap_managed_{page,folio}_refs
 *               zero-based era (6.15+): free_zone_device_folio (final put
 *               only) + the scan iterator reading the live refcount
 *  waiters      dax_layout_busy_page_range return value (the busy page)
 *
 * Each function hook has an fentry/fexit and a kprobe/kretprobe variant;
 * user space (src/probe.c) enables one per hook before load. */
#include "dax_page.bpf.h"
#include "hist.bpf.h"
#include "daxleak.h"

#define EINVAL_ 22
#define E2BIG_ 7
#define ENOMEM_ 12

const volatile __u32 targ_tgid = 0;
const volatile __s32 idle_ref = 1;		/* 1 up to 6.14, 0 from 6.15 */
const volatile __u8 zero_based = 0;		/* mappings hold references (6.15+) */
/* FOLL_GET | FOLL_PIN of this kernel: an entry point calls another (up to
 * 6.2: fast GUP's slow path and pin_user_pages_unlocked call
 * get_user_pages_unlocked) with one of them set; no outside caller does. */
const volatile __u32 nested_gup_flags = 0x4 | 0x40000;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DL_DEF_MAX_FOLIOS);		/* --max-folios */
	__type(key, __u64);
	__type(value, struct dl_page_val);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, DL_DEF_MAX_STACKS);		/* --max-stacks */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, DL_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DL_MAX_WAITERS);
	__type(key, __u32);
	__type(value, struct dl_waiter);
} waiters SEC(".maps");

/* Per-thread GUP nesting for the kprobe variant (its entry program saves
 * the arguments anyway): 6.1's get_user_pages_fast falls back to the
 * exported get_user_pages_unlocked, so only the outermost exit counts.
 * The fexit variant tells a nested call by its flags instead (no entry
 * program on the hot path). */
struct gup_state {
	__u64 start;
	__u64 pages;
	__u32 depth;
	__u32 id;
	__s32 kstack;		/* taken at entry (no-loop kprobes), else unused */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct gup_state);
} gup_tid SEC(".maps");

/* dax_layout_busy_page_range argument for the kretprobe variant. */
struct busy_arg {
	__u64 mapping, start, end;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct busy_arg);
} busy_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} anomalies SEC(".maps");

__u64 counters[DLC_NR] = {};
__u64 anomaly_counts[DLA_NR] = {};
/* ns, exact releases seen in BPF. Padded to 64 slots so the index can be
 * masked in the same register it is used from: 6.1's verifier loses the
 * bound of the clamped copy that hist_add's code relies on. */
struct {
	struct hist h;
	__u32 pad[64 - HIST_SLOTS];
} hold_hist = {};

static __always_inline void hold_add(__u64 v)
{
	__u64 s = log2_slot(v);

	if (s > HIST_SLOTS - 1)
		s = HIST_SLOTS - 1;
	asm volatile("%0 &= 63" : "+r"(s));
	__sync_fetch_and_add(&hold_hist.h.slots[s], 1);
}

static __always_inline void count(int c)
{
	if (c >= 0 && c < DLC_NR)
		__sync_fetch_and_add(&counters[c], 1);
}

static __always_inline void count_n(int c, __u64 n)
{
	if (c >= 0 && c < DLC_NR)
		__sync_fetch_and_add(&counters[c], n);
}

static __always_inline void emit_anomaly(int type, struct page *page, struct page *head,
					 __u64 pfn, int ref, int map, int refs, void *ctx)
{
	struct dl_anomaly *a;
	__u8 shared;

	if (type >= 0 && type < DLA_NR)
		__sync_fetch_and_add(&anomaly_counts[type], 1);
	count(DLC_ANOMALIES);
	a = bpf_ringbuf_reserve(&anomalies, sizeof(*a), 0);
	if (!a) {
		count(DLC_ANOMALY_LOST);
		return;
	}
	a->ts = bpf_ktime_get_ns();
	a->type = type;
	a->page = (__u64)page;
	a->folio = (__u64)head;
	a->pfn = pfn;
	a->refcount = ref;
	a->mapcount = map;
	a->refs = refs;
	a->pid = current_tgid();
	a->tid = current_tid();
	bpf_get_current_comm(a->comm, sizeof(a->comm));
	dax_page_owner(head, page, &a->dev, &a->ino, &a->index, &shared);
	a->kstack = ctx ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	{
		__u64 key = (__u64)page;
		struct dl_page_val *v = bpf_map_lookup_elem(&tracked, &key);

		if (v) {
			a->culprit_pid = v->pid;
			__builtin_memcpy(a->culprit_comm, v->comm, sizeof(a->culprit_comm));
		}
	}
	bpf_ringbuf_submit(a, 0);
}

/* ---- acquisition ---------------------------------------------------- */

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

/* ---- release -------------------------------------------------------- */

static __always_inline void forget(__u64 key, struct dl_page_val *v, __u64 now, int done_counter)
{
	hold_add(now - v->first_ns);
	count(done_counter);
	bpf_map_delete_elem(&tracked, &key);
}

/* One-based era: every put of an FS DAX page passes here with the number
 * of references dropped; the count is read before the subtraction. */
static __always_inline void put_refs(void *ctx, struct page *page, int refs)
{
	struct page *head = dax_page_head(page);
	struct dl_page_val *v;
	__u64 key = (__u64)page, pfn;
	int before, after;

	pfn = dax_page_pfn(page);
	if (!dax_pgmap_is_fsdax(dax_page_pgmap(head), pfn))
		return;
	count(DLC_RELEASES);
	before = dax_refcount(head);
	after = before - refs;
	/* constant types only: the verifier bounds the counter index */
	if (after < 0)
		emit_anomaly(DLA_NEGATIVE, page, head, pfn, before, -1, refs, ctx);
	else if (after < idle_ref)
		emit_anomaly(DLA_UNDERFLOW, page, head, pfn, before, -1, refs, ctx);
	v = bpf_map_lookup_elem(&tracked, &key);
	if (!v)
		return;
	count(DLC_RELEASE_MATCHED);
	__sync_fetch_and_add(&v->refs, -refs);
	v->cur_ref = after;
	if (v->refs <= 0 || after <= idle_ref)
		forget(key, v, bpf_ktime_get_ns(), DLC_RELEASE_DONE);
}

/* fentry/fexit programs read their arguments with bpf_get_func_arg: a
 * scalar, so the pfn and subpage arithmetic is allowed (typed BTF pointers
 * refuse pointer subtraction). */
SEC("fentry/__put_devmap_managed_page_refs")
int put_page_refs_fentry(void *ctx)
{
	put_refs(ctx, (struct page *)fn_arg(ctx, 0), (int)fn_arg(ctx, 1));
	return 0;
}

SEC("kprobe/__put_devmap_managed_page_refs")
int BPF_KPROBE(put_page_refs_kprobe, struct page *page, int refs)
{
	put_refs(ctx, page, refs);
	return 0;
}

/* 6.12: same thing on the folio (its first member is the page). */
SEC("fentry/__put_devmap_managed_folio_refs")
int put_folio_refs_fentry(void *ctx)
{
	put_refs(ctx, (struct page *)fn_arg(ctx, 0), (int)fn_arg(ctx, 1));
	return 0;
}

SEC("kprobe/__put_devmap_managed_folio_refs")
int BPF_KPROBE(put_folio_refs_kprobe, struct folio *folio, int refs)
{
	put_refs(ctx, (struct page *)folio, refs);
	return 0;
}

/* 5.10-era puts: put_devmap_managed_page(page) drops one reference (every
 * put_page of an FS DAX page, release_pages too); put_compound_head(page,
 * refs, flags), the unpin path, subtracts refs - 1 inline (refs times
 * GUP_PIN_COUNTING_BIAS for a pin: DAX pages are never compound here, so
 * no separate pin count) before its put_page reaches the hook above. */
#define FOLL_PIN_ 0x40000
#define GUP_PIN_COUNTING_BIAS_ 1024

SEC("kprobe/put_devmap_managed_page")
int BPF_KPROBE(put_devmap_kprobe, struct page *page)
{
	put_refs(ctx, page, 1);
	return 0;
}

SEC("kprobe/put_compound_head")
int BPF_KPROBE(put_compound_kprobe, struct page *page, int refs, unsigned int flags)
{
	if (flags & FOLL_PIN_)
		refs *= GUP_PIN_COUNTING_BIAS_;
	if (refs > 1)
		put_refs(ctx, page, refs - 1);
	return 0;
}

/* Zero-based era: the count reached zero. Non-final puts are inline
 * atomics; the scan iterator sees those. */
static __always_inline void folio_freed(void *ctx, struct page *head)
{
	struct dl_page_val *v;
	__u64 key = (__u64)head, pfn = dax_page_pfn(head);
	int map;

	if (!dax_pgmap_is_fsdax(dax_page_pgmap(head), pfn))
		return;
	count(DLC_FREES);
	map = dax_mapcount(head);
	if (map > 0)
		emit_anomaly(DLA_FREED_MAPPED, head, head, pfn, 0, map, 0, ctx);
	v = bpf_map_lookup_elem(&tracked, &key);
	if (!v)
		return;
	count(DLC_FREE_MATCHED);
	forget(key, v, bpf_ktime_get_ns(), DLC_RELEASE_DONE);
}

SEC("fentry/free_zone_device_folio")
int free_folio_fentry(void *ctx)
{
	folio_freed(ctx, (struct page *)fn_arg(ctx, 0));
	return 0;
}

SEC("kprobe/free_zone_device_folio")
int BPF_KPROBE(free_folio_kprobe, struct folio *folio)
{
	folio_freed(ctx, (struct page *)folio);
	return 0;
}

/* One-based era: dax_disassociate_entry(entry, mapping, trunc) with trunc
 * set expects every page of the entry idle (refcount 1); the kernel WARNs
 * otherwise. Entry: xarray value (v << 1) | 1, pfn = v >> 4, flags PMD=2,
 * ZERO=4, EMPTY=8 (same in 6.1, 6.12, 7.x). */
struct disassoc_ctx {
	__u64 base, sz, pfn;
	__s64 busy;		/* index of the first busy page, -1 none */
	int ref;
};

static long disassoc_one(__u32 i, struct disassoc_ctx *d)
{
	struct page *p = (struct page *)(d->base + (d->pfn + i) * d->sz);
	int ref = 0;

	if (bpf_probe_read_kernel(&ref, sizeof(ref), &p->_refcount.counter))
		return 1;
	if (ref > 1) {
		d->busy = i;
		d->ref = ref;
		return 1;
	}
	return 0;
}

/* Without bpf_loop: the refcount of page pfn at base (sz bytes a page),
 * -1 if unreadable. Global and scalar-only, as batch_track. */
__noinline int disassoc_ref(__u64 base, __u64 sz, __u64 pfn)
{
	struct page *p = (struct page *)(base + pfn * sz);
	int ref = 0;

	if (bpf_probe_read_kernel(&ref, sizeof(ref), &p->_refcount.counter))
		return -1;
	return ref;
}

static __always_inline void disassoc_scan(struct disassoc_ctx *d, __u32 n, bool noloop)
{
	if (!noloop) {
		bpf_loop(n, disassoc_one, d, 0);
		return;
	}
	for (__u32 i = 0; i < 512 && i < n; i++) {
		int ref = disassoc_ref(d->base, d->sz, d->pfn + i);

		if (ref < 0)
			break;
		if (ref > 1) {
			d->busy = i;
			d->ref = ref;
			break;
		}
	}
}

static __always_inline void disassoc_in(void *ctx, __u64 entry, __u64 trunc, bool noloop)
{
	struct disassoc_ctx d = { .busy = -1 };
	struct page *p;
	__u64 v;

	if (!(trunc & 0xff) || !(entry & 1) || !vmemmap_base_addr)
		return;
	v = entry >> 1;
	if (v & (4 | 8))
		return;
	if (bpf_probe_read_kernel(&d.base, sizeof(d.base), (void *)vmemmap_base_addr) || !d.base)
		return;
	d.sz = dax_page_size();
	d.pfn = v >> 4;
	disassoc_scan(&d, v & 2 ? 512 : 1, noloop);
	if (d.busy < 0)
		return;
	p = (struct page *)(d.base + (d.pfn + d.busy) * d.sz);
	emit_anomaly(DLA_DISASSOC_BUSY, p, p, d.pfn + d.busy, d.ref, -1, 0, ctx);
}

static __always_inline void disassoc(void *ctx, __u64 entry, __u64 trunc)
{
	disassoc_in(ctx, entry, trunc, false);
}

SEC("fentry/dax_disassociate_entry")
int disassoc_fentry(void *ctx)
{
	disassoc(ctx, fn_arg(ctx, 0), fn_arg(ctx, 2));
	return 0;
}

SEC("kprobe/dax_disassociate_entry")
int BPF_KPROBE(disassoc_kprobe, void *entry, void *mapping, unsigned long trunc)
{
	disassoc(ctx, (__u64)entry, trunc);
	return 0;
}

SEC("kprobe/dax_disassociate_entry")
int BPF_KPROBE(disassoc_kprobe_noloop, void *entry, void *mapping, unsigned long trunc)
{
	disassoc_in(ctx, (__u64)entry, trunc, true);
	return 0;
}

/* ---- waiters -------------------------------------------------------- */

/* The busy page by pfn, owner inode and file offset, and its folio order. */
static __always_inline void busy_page_info(struct dl_waiter *w, struct page *head,
					   struct page *page)
{
	w->busy_pfn = dax_page_pfn(page);
	dax_page_owner(head, page, &w->busy_dev, &w->busy_ino, &w->busy_index, &w->busy_shared);
	w->busy_order = dax_folio_order(head);
	w->busy_known = 1;
}

static __always_inline void busy_done(void *ctx, struct address_space *mapping, __u64 start,
				      __u64 end, struct page *page)
{
	__u32 tid = current_tid();
	struct dl_waiter *w, nw = {};
	struct page *head;
	struct inode *host;
	__u64 now;

	count(DLC_BUSY_CALLS);
	if (!page) {
		/* layout broken (or nothing was busy): this task waits no more */
		bpf_map_delete_elem(&waiters, &tid);
		return;
	}
	count(DLC_BUSY_FOUND);
	now = bpf_ktime_get_ns();
	head = dax_page_head(page);
	w = bpf_map_lookup_elem(&waiters, &tid);
	if (w) {
		w->last_ns = now;
		w->nbusy++;
		w->busy_page = (__u64)page;
		w->busy_folio = (__u64)head;
		w->cur_ref = dax_refcount(head);
		w->cur_map = zero_based ? dax_mapcount(head) : 0;
		busy_page_info(w, head, page);
		return;
	}
	nw.start_ns = nw.last_ns = now;
	nw.busy_page = (__u64)page;
	nw.busy_folio = (__u64)head;
	nw.range_start = start;
	nw.range_end = end;
	host = BPF_CORE_READ(mapping, host);
	if (host) {
		nw.dev = inode_dev(host);
		nw.ino = inode_ino(host);
	}
	nw.pid = current_tgid();
	nw.tid = tid;
	nw.nbusy = 1;
	nw.kstack = bpf_get_stackid(ctx, &stacks, 0);
	nw.cur_ref = dax_refcount(head);
	nw.cur_map = zero_based ? dax_mapcount(head) : 0;
	busy_page_info(&nw, head, page);
	bpf_get_current_comm(nw.comm, sizeof(nw.comm));
	if (bpf_map_update_elem(&waiters, &tid, &nw, BPF_ANY))
		count(DLC_WAITER_OVERFLOW);
}

SEC("fexit/dax_layout_busy_page_range")
int busy_fexit(void *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	busy_done(ctx, (struct address_space *)fn_arg(ctx, 0), fn_arg(ctx, 1), fn_arg(ctx, 2),
		  (struct page *)ret);
	return 0;
}

SEC("kprobe/dax_layout_busy_page_range")
int BPF_KPROBE(busy_kprobe, struct address_space *mapping, loff_t start, loff_t end)
{
	__u32 tid = current_tid();
	struct busy_arg a = { (__u64)mapping, start, end };

	bpf_map_update_elem(&busy_args, &tid, &a, BPF_ANY);
	return 0;
}

SEC("kretprobe/dax_layout_busy_page_range")
int BPF_KRETPROBE(busy_kretprobe, struct page *ret)
{
	__u32 tid = current_tid();
	struct busy_arg *a = bpf_map_lookup_elem(&busy_args, &tid);

	if (!a)
		return 0;
	busy_done(ctx, (void *)a->mapping, a->start, a->end, ret);
	bpf_map_delete_elem(&busy_args, &tid);
	return 0;
}

/* ---- tracepoints (liveness on kernels where nothing else attaches) ---- */

SEC("tp_btf/dax_pte_fault_done")
int BPF_PROG(tp_pte_fault_done, struct inode *inode, struct vm_fault *vmf, int result)
{
	count(DLC_FAULTS);
	return 0;
}

SEC("tp_btf/dax_pmd_fault_done")
int BPF_PROG(tp_pmd_fault_done, struct inode *inode, struct vm_fault *vmf, unsigned long max_pgoff,
	     int result)
{
	count(DLC_FAULTS);
	return 0;
}

/* ---- scan: the live count of every tracked page --------------------- */

/* Run by user space each interval over the tracked map. Writes the current
 * refcount and mapcount into the value; user space decides what is still
 * held (count above idle + mappings) and drops what is not. */
SEC("iter/bpf_map_elem")
int scan_tracked(struct bpf_iter__bpf_map_elem *ctx)
{
	struct dl_page_val *v = ctx->value;
	__u64 *key = ctx->key;
	struct page *head;
	int ref = 0;

	if (!key || !v)
		return 0;
	head = (struct page *)v->folio;
	if (bpf_probe_read_kernel(&ref, sizeof(ref), &head->_refcount.counter)) {
		count(DLC_READ_ERR);
		return 0;
	}
	v->cur_ref = ref;
	v->cur_map = zero_based ? dax_mapcount(head) : 0;
	/* entries seeded from the scan at start carry no subpage yet */
	v->subpage = (*key - v->folio) / dax_page_size();
	v->scan_ns = bpf_ktime_get_ns();
	return 0;
}
