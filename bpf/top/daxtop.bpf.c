// SPDX-License-Identifier: GPL-2.0
/* daxtop: count DAX faults, fallbacks, holes, writeback, unmaps and
 * break_layouts waits per (process, file), aggregated in maps so the
 * default view sends nothing per event to user space. */
#include "dax_common.bpf.h"
#include "hist.bpf.h"
#include "daxtop.h"

const volatile __u32 targ_tgid = 0;
const volatile __u64 targ_cgroup = 0;
const volatile __u32 targ_dev = 0;
const volatile bool lat_all = false;	/* --lat-all: time every fault */
/* Fault programs run with preemption off: a CPU may gather a row's counts in
 * its fault slot (include/daxtop.h). */
const volatile bool row_cache = false;

/* CLOCK_MONOTONIC as user space last published it (each snapshot): rows
 * take their last-activity time from here instead of reading the clock. */
__u64 clock_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);	/* resized by --max-rows */
	__type(key, struct daxtop_key);
	__type(value, struct daxtop_row);
} rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_slot);
} fault_start SEC(".maps");

/* DAX files seen faulting, by (dev, ino) with pid 0, and their names once
 * known: the unmap hook only counts these, user space prints paths. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);	/* set to --max-rows */
	__type(key, struct daxtop_key);
	__type(value, struct daxtop_file);
} files SEC(".maps");

/* A thread between its first busy page and the end of break_layouts. */
struct wait_state {
	__u64 start_ns;
	struct daxtop_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct wait_state);
} bl_wait SEC(".maps");

/* Saved argument of dax_layout_busy_page_range for the kretprobe path. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} busy_arg SEC(".maps");

struct hist hists[H_NR] = {};
__u64 fallback_reasons[FB_NR] = {};
__u64 drops[DROP_NR] = {};

/* What a fault event says, whichever kind of program saw it. */
struct fault_args {
	__u32 dev;
	__u32 flags;		/* enum fault_flag */
	__u64 ino;
	__u64 address, pgoff, max_pgoff;
	__u64 vm_start, vm_end, vm_flags;
	struct vm_fault *vmf;	/* BTF tracepoints only: names a new file */
};

static __always_inline bool wanted(__u32 dev)
{
	if (targ_tgid && current_tgid() != targ_tgid)
		return false;
	if (targ_cgroup && bpf_get_current_cgroup_id() != targ_cgroup)
		return false;
	if (targ_dev && dev != targ_dev)
		return false;
	return true;
}

/* Fill a file's names from its dentry once: basename first, up to the
 * filesystem root. Writes straight into the map value. */
static __noinline void learn_names(struct daxtop_file *f, struct dentry *d)
{
	if (!f || f->depth || f->reached_root)
		return;
	for (int i = 0; i < DAXTOP_PATH_DEPTH && d; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);

		if (parent == d)
			break;
		bpf_probe_read_kernel_str(f->name[i], DAXTOP_NAME_LEN, BPF_CORE_READ(d, d_name.name));
		if (BPF_CORE_READ(d, d_name.len) >= DAXTOP_NAME_LEN)
			f->cut |= 1u << i;	/* user space marks it, never prints it as whole */
		f->depth = i + 1;
		d = parent;
	}
	if (d && BPF_CORE_READ(d, d_parent) == d)
		f->reached_root = 1;
}

/* A new row's file gets an entry in `files` (for unmaps and names) once,
 * here, rather than a lookup on every fault. A global function: the
 * verifier checks it once per program, not at every call site. dentry:
 * the file's, read by the caller (0 if unknown). */
__noinline int file_seen(__u32 dev, __u64 ino, __u64 dentry)
{
	/* from .rodata, not the stack: this can sit four calls deep */
	static const struct daxtop_file blank = {};
	struct daxtop_key fk = { .dev = dev, .ino = ino };
	struct daxtop_file *f;

	if (bpf_map_update_elem(&files, &fk, &blank, BPF_NOEXIST))
		return 0;	/* known already (or the map failed: no name then) */
	f = bpf_map_lookup_elem(&files, &fk);
	if (!f)
		return 0;
	f->dev = dev;
	f->ino = ino;
	if (dentry)
		learn_names(f, (struct dentry *)dentry);
	return 0;
}

/* The row of k, made if new. comm: its process name if not the current
 * task's (a row cache flush on behalf of another process); n: events lost
 * if the map is full. */
static struct daxtop_row *row_make(const struct daxtop_key *k, struct vm_fault *vmf,
				   const char *comm, __u64 n)
{
	static const struct daxtop_row zero = {};
	struct daxtop_row *r;

	r = bpf_map_lookup_elem(&rows, k);
	if (r)
		return r;
	/* EEXIST from a racing CPU is fine: look up again either way. */
	bpf_map_update_elem(&rows, k, &zero, BPF_NOEXIST);
	r = bpf_map_lookup_elem(&rows, k);
	if (!r) {
		__sync_fetch_and_add(&drops[DROP_ROW_FULL], n);
		return NULL;
	}
	if (comm)
		__builtin_memcpy(r->comm, comm, sizeof(r->comm));
	else
		bpf_get_current_comm(r->comm, sizeof(r->comm));
	r->first_ns = bpf_ktime_get_ns();	/* once per row */
	file_seen(k->dev, k->ino,
		  vmf ? (__u64)BPF_CORE_READ(vmf, vma, vm_file, f_path.dentry) : 0);
	return r;
}

static __always_inline struct daxtop_row *row_get(const struct daxtop_key *k,
						  struct vm_fault *vmf)
{
	return row_make(k, vmf, NULL, 1);
}

static __always_inline struct daxtop_row *row_for(__u32 tgid, __u32 dev, __u64 ino,
						  struct vm_fault *vmf)
{
	struct daxtop_key k = { .pid = tgid, .dev = dev, .ino = ino };
	struct daxtop_row *r = row_get(&k, vmf);

	if (r)
		r->last_ns = clock_ns;
	return r;
}

static __always_inline struct fault_slot *cpu_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fault_start, &zero);
}

/* Whether to time this fault: every fault while this CPU's fault rate is
 * low, a random 1 in 2^shift when it is high. Random, not every Nth: fault
 * loops have power-of-two periods that a fixed stride would alias with. */
static __always_inline bool lat_sample(struct fault_slot *slot)
{
	__u32 x = slot->rnd;

	if (lat_all || !slot->shift)
		return true;
	if (!x)
		x = bpf_get_prandom_u32() | 1;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	slot->rnd = x;
	return !(x & ((1u << (slot->shift & 31)) - 1));
}

/* Keep timed faults about DAXTOP_LAT_GAP_NS apart on each CPU: halve the
 * share when they come faster, double it when slower, all of them again
 * after a quiet spell. */
static __always_inline void lat_adapt(struct fault_slot *slot, __u64 now)
{
	__u64 gap = now - slot->last_timed_ns;

	slot->last_timed_ns = now;
	if (lat_all)
		return;
	if (gap < DAXTOP_LAT_GAP_NS / 2) {
		if (slot->shift < DAXTOP_LAT_MAX_SHIFT)
			slot->shift++;
	} else if (gap > DAXTOP_LAT_GAP_NS * 64) {
		slot->shift = 0;
	} else if (gap > DAXTOP_LAT_GAP_NS * 2 && slot->shift) {
		slot->shift--;
	}
}

static __always_inline void fault_begin(__u32 dev, __u64 ino)
{
	struct fault_slot *slot;
	__u64 now;

	if (!wanted(dev))
		return;
	slot = cpu_slot();
	if (!slot)
		return;
	if (slot->start_ns) {
		/* the timed fault before did not end on this CPU */
		__sync_fetch_and_add(&drops[DROP_LAT_NO_START], 1);
		slot->start_ns = 0;
	}
	if (!lat_sample(slot))
		return;
	now = bpf_ktime_get_ns();
	lat_adapt(slot, now);
	slot->tid = current_tid();
	slot->start_ns = now;
}

/* Latency in ns of this thread's fault if it was timed on this CPU, else 0. */
static __always_inline __u64 fault_latency(struct fault_slot *slot)
{
	__u64 start = slot->start_ns, now;

	if (!start || slot->tid != current_tid())
		return 0;
	slot->start_ns = 0;
	now = bpf_ktime_get_ns();
	return now > start ? now - start : 1;
}

/* Move this CPU's gathered counts to their row: zero the slot first, so
 * that user space (rows first, slots after) never sees them in both.
 * Global: verified once per program. It finds the slot itself (the same
 * per-CPU entry its caller holds): kernels before 5.12 reject a global
 * function that takes a pointer. */
__noinline int cache_flush(void)
{
	__u64 p[DAXTOP_PEND_NR], faults = 0;
	struct fault_slot *slot = cpu_slot();
	struct daxtop_row *r;
	struct daxtop_key k;

	if (!slot)
		return 0;
	k = slot->ckey;
	for (int i = 0; i < DAXTOP_PEND_NR; i++) {
		p[i] = slot->pend[i];
		slot->pend[i] = 0;
		if (i != DT_WRITE)
			faults += p[i];
	}
	if (!faults)
		return 0;
	r = row_make(&k, NULL, slot->comm, faults);
	if (!r)
		return 0;
	for (int i = 0; i < DAXTOP_PEND_NR; i++)
		if (p[i])
			__sync_fetch_and_add(&r->cnt[i], p[i]);
	r->last_ns = clock_ns;
	return 0;
}

/* Gather this CPU's faults for the row of (current process, dev, ino) from
 * now on, after handing over what it gathered for another row. */
static __always_inline void cache_adopt(struct fault_slot *slot, __u32 tgid, __u32 dev,
					__u64 ino, const char *comm)
{
	cache_flush();
	slot->ckey.pid = tgid;
	slot->ckey.dev = dev;
	slot->ckey.ino = ino;
	__builtin_memcpy(slot->comm, comm, sizeof(slot->comm));
}

/* Whether the slot gathers counts for the row of (tgid, dev, ino). */
static __always_inline bool slot_holds(const struct fault_slot *slot, __u32 tgid, __u32 dev,
				       __u64 ino)
{
	return slot->ckey.pid == tgid && slot->ckey.ino == ino && slot->ckey.dev == dev;
}

static __always_inline void fault_end(const struct fault_args *a, int counter, int hist_id)
{
	struct fault_slot *slot;
	struct daxtop_row *r;
	__u32 tgid;
	__u64 lat = 0;
	bool held;	/* this CPU's row cache is this row's */

	if (!wanted(a->dev))
		return;
	slot = cpu_slot();
	if (slot) {	/* never missing; without it, the count still goes in */
		slot->faults++;
		lat = fault_latency(slot);
	}
	tgid = current_tgid();
	held = row_cache && slot && slot_holds(slot, tgid, a->dev, a->ino);
	if (held && !lat) {
		slot->pend[counter]++;
		if (counter != DT_PMD_FALLBACK && (a->flags & FAULT_FLAG_WRITE))
			slot->pend[DT_WRITE]++;
		return;
	}
	r = row_for(tgid, a->dev, a->ino, a->vmf);
	if (row_cache && slot && r && !held)
		cache_adopt(slot, tgid, a->dev, a->ino, r->comm);
	if (lat)
		hist_add(&hists[hist_id], lat);
	if (!r)
		return;
	__sync_fetch_and_add(&r->cnt[counter], 1);
	if (counter != DT_PMD_FALLBACK && (a->flags & FAULT_FLAG_WRITE))
		__sync_fetch_and_add(&r->cnt[DT_WRITE], 1);
	if (lat) {
		__sync_fetch_and_add(&r->lat_ns, lat);
		hist_add(&r->lat, lat);
	}
}

/* XArray internals (include/linux/xarray.h, same since 4.20): a node
 * pointer is tagged 2 (and above 4096), a sibling slot of a multi-index
 * entry is an internal value below 256; a DAX entry is a value entry
 * (v << 1 | 1) whose v has DAX_PMD (1 << 1) for a 2 MiB one (fs/dax.c). */
#define XA_SLOTS 64
#define XA_SHIFT 6
#define xa_is_node_(e) (((e) & 3) == 2 && (e) > 4096)
#define xa_is_value_(e) ((e) & 1)
#define dax_is_pmd_(e) (((e) >> 1) & 2)

/* Whether the 2 MiB range of the mapping starting at index (512-aligned)
 * holds a 4 KiB DAX entry now: what makes grab_mapping_entry() refuse the
 * PMD. Walks down to the node whose slots cover 64 indices each. Global:
 * verified once. */
__noinline int range_has_pte_entry(__u64 mapping, __u64 index)
{
	struct address_space *m = (struct address_space *)mapping;
	__u64 e = (__u64)BPF_CORE_READ(m, i_pages.xa_head);

	for (int depth = 0; depth < 12 && e; depth++) {
		struct xa_node *node;
		__u8 shift;

		if (!xa_is_node_(e))	/* a lone entry: index 0 only */
			return index == 0 && xa_is_value_(e) && !dax_is_pmd_(e);
		node = (struct xa_node *)(e - 2);
		shift = BPF_CORE_READ(node, shift);
		if (shift > 60 || (!depth && (index >> shift) >= XA_SLOTS))
			return 0;	/* beyond what the tree holds */
		if (shift < XA_SHIFT)	/* the tree holds indices 0-63 only */
			return index == 0 && BPF_CORE_READ(node, count);
		if (shift > XA_SHIFT) {
			bpf_core_read(&e, sizeof(e), &node->slots[(index >> shift) & (XA_SLOTS - 1)]);
			continue;
		}
		for (int k = 0; k < 8; k++) {	/* 8 slots of 64 indices: 2 MiB */
			__u64 s = 0;

			bpf_core_read(&s, sizeof(s), &node->slots[((index >> XA_SHIFT) + k) & (XA_SLOTS - 1)]);
			if (xa_is_node_(s))
				return 1;	/* a node of 4 KiB entries */
			if (xa_is_value_(s) && !dax_is_pmd_(s))
				return 1;
		}
		return 0;
	}
	return 0;
}

/* Past the geometry tests the kernel takes the range's entry in the file's
 * mapping (refused if a 4 KiB entry is there), then asks the filesystem for
 * one extent covering the 2 MiB with a 2 MiB-aligned pfn. The mapping comes
 * from the dax_iomap_pmd_fault hook, for this thread on this CPU. */
static __always_inline int fallback_past_geometry(const struct fault_args *a)
{
	struct fault_slot *slot = cpu_slot();
	__u64 mapping;

	if (!slot || slot->pmd_tid != current_tid() || !slot->pmd_mapping)
		return FB_OTHER;
	mapping = slot->pmd_mapping;
	slot->pmd_tid = 0;
	return range_has_pte_entry(mapping, a->pgoff & ~((__u64)(DAX_PMD_SIZE >> DAX_PAGE_SHIFT) - 1))
		? FB_PTE_ENTRY : FB_EXTENT;
}

/* Mirror the kernel's own PMD fallback tests to name the likely reason. */
static __always_inline int fallback_reason(const struct fault_args *a)
{
	__u64 colour = (DAX_PMD_SIZE >> DAX_PAGE_SHIFT) - 1;
	__u64 pmd_addr = a->address & ~(DAX_PMD_SIZE - 1);

	if ((a->pgoff & colour) != ((a->address >> DAX_PAGE_SHIFT) & colour))
		return FB_MISALIGNED;
	if ((a->flags & FAULT_FLAG_WRITE) && !(a->vm_flags & VM_SHARED))
		return FB_COW;
	if (pmd_addr < a->vm_start || pmd_addr + DAX_PMD_SIZE > a->vm_end)
		return FB_VMA_BOUNDS;
	if ((a->pgoff | colour) >= a->max_pgoff)
		return FB_EOF;
	return fallback_past_geometry(a);
}

static __always_inline void pmd_done(const struct fault_args *a, int result)
{
	int counter = DT_PMD;

	/* one fault_end call site: each one is a copy for the verifier */
	if (result & VM_FAULT_FALLBACK) {
		counter = DT_PMD_FALLBACK;
		if (wanted(a->dev))
			__sync_fetch_and_add(&fallback_reasons[fallback_reason(a)], 1);
	}
	fault_end(a, counter, H_PMD_LAT);
}

static __always_inline void count(__u32 dev, __u64 ino, int counter, __u64 n,
				  struct vm_fault *vmf)
{
	struct fault_slot *slot;
	struct daxtop_row *r;

	if (!wanted(dev))
		return;
	slot = cpu_slot();
	if (slot)	/* atomic: the unmap hook can run preemptible (7.x) */
		__sync_fetch_and_add(&slot->events, 1);
	r = row_for(current_tgid(), dev, ino, vmf);
	if (r)
		__sync_fetch_and_add(&r->cnt[counter], n);
}

/* --- classic tracepoints: the kernel runs them with preemption disabled,
 * so no run is skipped; their records carry everything but the file name. */

#define TP(ev, type) SEC("tracepoint/fs_dax/" #ev) int tp_##ev(struct type *ctx)

TP(dax_pte_fault, trace_event_raw_dax_pte_fault_class)
{
	fault_begin(ctx->dev, ctx->ino);
	return 0;
}

TP(dax_pte_fault_done, trace_event_raw_dax_pte_fault_class)
{
	struct fault_args a = { .dev = ctx->dev, .ino = ctx->ino, .flags = ctx->flags };

	fault_end(&a, DT_PTE, H_PTE_LAT);
	return 0;
}

TP(dax_pmd_fault, trace_event_raw_dax_pmd_fault_class)
{
	fault_begin(ctx->dev, ctx->ino);
	return 0;
}

TP(dax_pmd_fault_done, trace_event_raw_dax_pmd_fault_class)
{
	struct fault_args a = {
		.dev = ctx->dev, .ino = ctx->ino, .flags = ctx->flags, .address = ctx->address,
		.pgoff = ctx->pgoff, .max_pgoff = ctx->max_pgoff, .vm_start = ctx->vm_start,
		.vm_end = ctx->vm_end, .vm_flags = ctx->vm_flags,
	};

	pmd_done(&a, ctx->result);
	return 0;
}

TP(dax_insert_pfn_mkwrite, trace_event_raw_dax_pte_fault_class)
{
	count(ctx->dev, ctx->ino, DT_MKWRITE, 1, NULL);
	return 0;
}

TP(dax_load_hole, trace_event_raw_dax_pte_fault_class)
{
	count(ctx->dev, ctx->ino, DT_HOLE, 1, NULL);
	return 0;
}

TP(dax_pmd_load_hole, trace_event_raw_dax_pmd_load_hole_class)
{
	count(ctx->dev, ctx->ino, DT_HOLE, 1, NULL);
	return 0;
}

TP(dax_writeback_one, trace_event_raw_dax_writeback_one)
{
	count(ctx->dev, ctx->ino, DT_WB_PAGES, ctx->pglen, NULL);
	return 0;
}

/* --- BTF tracepoints: the fallback when tracefs is out of reach. Since 7.x
 * they may run preemptible, and the kernel skips a run that would nest on
 * a CPU (counted by user space from recursion_misses). They also see the
 * file, so they learn its name on the spot. */

/* vm_fault.flags before 5.16 (a plain unsigned int, no enum fault_flag):
 * libbpf does not relocate an enum access onto an int field. */
struct vm_fault___int_flags {
	unsigned int flags;
} __attribute__((preserve_access_index));

static __always_inline __u32 vmf_flags(struct vm_fault *vmf)
{
	struct vm_fault___int_flags *old = (void *)vmf;

	if (bpf_core_field_exists(vmf->flags))
		return vmf->flags;
	if (bpf_core_field_exists(old->flags))
		return old->flags;
	return 0;
}

/* What a PTE fault's end needs: file, flags, and vmf to name a new file. */
static __always_inline void vmf_file_args(struct fault_args *a, struct inode *inode,
					  struct vm_fault *vmf)
{
	a->dev = btf_inode_dev(inode);
	a->ino = btf_inode_ino(inode);
	a->flags = vmf_flags(vmf);
	a->vmf = vmf;
}

/* A PMD fault's end also needs the geometry for the fallback reason. */
static __always_inline void vmf_args(struct fault_args *a, struct inode *inode,
				     struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;

	vmf_file_args(a, inode, vmf);
	a->address = vmf->address;
	a->pgoff = vmf->pgoff;
	a->vm_start = vma->vm_start;
	a->vm_end = vma->vm_end;
	a->vm_flags = bpf_core_field_exists(vma->vm_flags) ? vma->vm_flags : 0;
}

SEC("tp_btf/dax_pte_fault")
int BPF_PROG(btf_pte_fault, struct inode *inode, struct vm_fault *vmf, int result)
{
	fault_begin(btf_inode_dev(inode), btf_inode_ino(inode));
	return 0;
}

SEC("tp_btf/dax_pte_fault_done")
int BPF_PROG(btf_pte_fault_done, struct inode *inode, struct vm_fault *vmf, int result)
{
	struct fault_args a = {};

	vmf_file_args(&a, inode, vmf);
	fault_end(&a, DT_PTE, H_PTE_LAT);
	return 0;
}

SEC("tp_btf/dax_pmd_fault")
int BPF_PROG(btf_pmd_fault, struct inode *inode, struct vm_fault *vmf,
	     unsigned long max_pgoff, int result)
{
	fault_begin(btf_inode_dev(inode), btf_inode_ino(inode));
	return 0;
}

SEC("tp_btf/dax_pmd_fault_done")
int BPF_PROG(btf_pmd_fault_done, struct inode *inode, struct vm_fault *vmf,
	     unsigned long max_pgoff, int result)
{
	struct fault_args a = { .max_pgoff = max_pgoff };

	/* the geometry only matters for a fallback's reason */
	if (result & VM_FAULT_FALLBACK)
		vmf_args(&a, inode, vmf);
	else
		vmf_file_args(&a, inode, vmf);
	pmd_done(&a, result);
	return 0;
}

SEC("tp_btf/dax_insert_pfn_mkwrite")
int BPF_PROG(btf_mkwrite, struct inode *inode, struct vm_fault *vmf, int result)
{
	count(btf_inode_dev(inode), btf_inode_ino(inode), DT_MKWRITE, 1, vmf);
	return 0;
}

SEC("tp_btf/dax_load_hole")
int BPF_PROG(btf_load_hole, struct inode *inode, struct vm_fault *vmf, int result)
{
	count(btf_inode_dev(inode), btf_inode_ino(inode), DT_HOLE, 1, vmf);
	return 0;
}

SEC("tp_btf/dax_pmd_load_hole")
int BPF_PROG(btf_pmd_load_hole, struct inode *inode, struct vm_fault *vmf, void *zero, void *entry)
{
	count(btf_inode_dev(inode), btf_inode_ino(inode), DT_HOLE, 1, vmf);
	return 0;
}

SEC("tp_btf/dax_writeback_one")
int BPF_PROG(btf_writeback_one, struct inode *inode, unsigned long pgoff, unsigned long pglen)
{
	count(btf_inode_dev(inode), btf_inode_ino(inode), DT_WB_PAGES, pglen, NULL);
	return 0;
}

/* --- unmaps: unmap_page_range(tlb, vma, addr, end, details) --- */

/* A zap of a DAX file's mapping: count it, and learn the file's name if the
 * fault programs could not (classic tracepoints do not see the file). */
static __always_inline void on_unmap_file(struct file *file, __u32 dev, __u64 ino)
{
	struct daxtop_key fk = { .dev = dev, .ino = ino };
	struct daxtop_file *f = bpf_map_lookup_elem(&files, &fk);

	if (!f)
		return;
	learn_names(f, BPF_CORE_READ(file, f_path.dentry));
	count(dev, ino, DT_UNMAP, 1, NULL);
}

/* S_DAX in inode->i_flags (include/linux/fs.h; 1 << 13 since 4.x, with
 * CONFIG_FS_DAX): most unmaps in the system are of other files, and this
 * test spares them the file table lookup. */
#define S_DAX_ (1 << 13)

/* kprobe: every pointer is read through a probe-read helper. */
static __always_inline void on_unmap(struct vm_area_struct *vma)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);
	struct inode *inode;

	if (!file)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	if (!(BPF_CORE_READ(inode, i_flags) & S_DAX_))
		return;
	on_unmap_file(file, inode_dev(inode), inode_ino(inode));
}

/* fentry sees typed pointers: plain loads, far cheaper on a hook that runs
 * for every unmap in the system, DAX or not. */
SEC("fentry/unmap_page_range")
int BPF_PROG(unmap_fentry, struct mmu_gather *tlb, struct vm_area_struct *vma)
{
	struct file *file = vma->vm_file;
	struct inode *inode;

	if (!file)
		return 0;
	inode = file->f_inode;
	if (!(inode->i_flags & S_DAX_))
		return 0;
	on_unmap_file(file, btf_inode_dev(inode), btf_inode_ino(inode));
	return 0;
}

SEC("kprobe/unmap_page_range")
int BPF_KPROBE(unmap_kprobe, struct mmu_gather *tlb, struct vm_area_struct *vma)
{
	on_unmap(vma);
	return 0;
}

/* --- the PMD fault's mapping, for the fallback reason (above) --- */

static __always_inline void pmd_fault_seen(__u64 mapping)
{
	struct fault_slot *slot = cpu_slot();

	if (!slot)
		return;
	slot->pmd_mapping = mapping;
	slot->pmd_tid = current_tid();
}

SEC("fentry/dax_iomap_pmd_fault")
int BPF_PROG(pmd_fault_fentry, struct vm_fault *vmf)
{
	pmd_fault_seen((__u64)vmf->vma->vm_file->f_mapping);
	return 0;
}

SEC("kprobe/dax_iomap_pmd_fault")
int BPF_KPROBE(pmd_fault_kprobe, struct vm_fault *vmf)
{
	pmd_fault_seen((__u64)BPF_CORE_READ(vmf, vma, vm_file, f_mapping));
	return 0;
}

/* --- break_layouts waits: a wait starts when dax_layout_busy_page_range
 * first returns a busy page and ends when it returns NULL again. This
 * holds in every era: all break_layouts loops call it until it is idle. */

static __always_inline void on_busy_result(struct address_space *mapping, void *page)
{
	struct inode *inode = BPF_CORE_READ(mapping, host);
	__u32 tid = current_tid();
	struct wait_state *ws;
	struct daxtop_row *r;
	__u64 now, d;

	if (!inode || !wanted(inode_dev(inode)))
		return;
	ws = bpf_map_lookup_elem(&bl_wait, &tid);
	if (page) {
		struct wait_state fresh = {};

		if (ws)
			return;	/* still waiting */
		fresh.start_ns = bpf_ktime_get_ns();
		fresh.key.pid = current_tgid();
		fresh.key.dev = inode_dev(inode);
		fresh.key.ino = inode_ino(inode);
		if (bpf_map_update_elem(&bl_wait, &tid, &fresh, BPF_NOEXIST))
			__sync_fetch_and_add(&drops[DROP_WAIT_FULL], 1);
		return;
	}
	if (!ws)
		return;
	now = bpf_ktime_get_ns();
	d = now - ws->start_ns;
	hist_add(&hists[H_BL_WAIT], d);
	r = row_get(&ws->key, NULL);
	if (r) {
		__sync_fetch_and_add(&r->cnt[DT_BL_WAITS], 1);
		__sync_fetch_and_add(&r->bl_wait_ns, d);
		if (d > r->bl_wait_max_ns)
			r->bl_wait_max_ns = d;
		r->last_ns = now;
	}
	bpf_map_delete_elem(&bl_wait, &tid);
}

SEC("fexit/dax_layout_busy_page_range")
int BPF_PROG(busy_fexit, struct address_space *mapping, loff_t start, loff_t end, void *ret)
{
	on_busy_result(mapping, ret);
	return 0;
}

SEC("kprobe/dax_layout_busy_page_range")
int BPF_KPROBE(busy_kprobe, struct address_space *mapping)
{
	__u32 tid = current_tid();
	__u64 m = (__u64)mapping;

	bpf_map_update_elem(&busy_arg, &tid, &m, BPF_ANY);
	return 0;
}

SEC("kretprobe/dax_layout_busy_page_range")
int BPF_KRETPROBE(busy_kretprobe, void *ret)
{
	__u32 tid = current_tid();
	__u64 *m = bpf_map_lookup_elem(&busy_arg, &tid);

	if (!m)
		return 0;
	on_busy_result((struct address_space *)*m, ret);
	bpf_map_delete_elem(&busy_arg, &tid);
	return 0;
}
