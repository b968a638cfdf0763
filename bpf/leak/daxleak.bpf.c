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
 * user space (src/core/probe_select.c) enables one per hook before load. */
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

/* The three jobs above, one part each (one compilation unit: see each). */
#include "gup.bpf.h"		/* acquisition */
#include "release.bpf.h"		/* release */
#include "waiters.bpf.h"		/* waiters */

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
