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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);	/* resized by --max-rows */
	__type(key, struct daxtop_key);
	__type(value, struct daxtop_row);
} rows SEC(".maps");

/* Fault start time per thread; LRU so stale entries never fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} fault_start SEC(".maps");

/* Inodes seen faulting through DAX, by inode pointer, with their names: the
 * unmap hook only counts these, and user space prints paths from them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct daxtop_file);
} files SEC(".maps");

/* Scratch space: struct daxtop_file is too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct daxtop_file);
} file_scratch SEC(".maps");

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
__u64 events_seen = 0;

static __always_inline bool wanted(const struct inode *inode)
{
	if (targ_tgid && current_tgid() != targ_tgid)
		return false;
	if (targ_cgroup && bpf_get_current_cgroup_id() != targ_cgroup)
		return false;
	if (targ_dev && inode && inode_dev(inode) != targ_dev)
		return false;
	return true;
}

static __always_inline void make_key(struct daxtop_key *k, const struct inode *inode)
{
	k->pid = current_tgid();
	k->dev = inode_dev(inode);
	k->ino = inode_ino(inode);
}

static struct daxtop_row *row_get(const struct daxtop_key *k)
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
		__sync_fetch_and_add(&drops[DROP_ROW_FULL], 1);
		return NULL;
	}
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	r->first_ns = bpf_ktime_get_ns();
	return r;
}

static __always_inline struct daxtop_row *row_for(const struct inode *inode)
{
	struct daxtop_key k = {};
	struct daxtop_row *r;

	make_key(&k, inode);
	r = row_get(&k);
	if (r)
		r->last_ns = bpf_ktime_get_ns();
	return r;
}

/* First fault on an inode: remember it with its dentry names. */
static __noinline void learn_file(const struct inode *inode, struct vm_fault *vmf)
{
	struct dentry *d = BPF_CORE_READ(vmf, vma, vm_file, f_path.dentry);
	__u64 ip = (__u64)inode;
	__u32 zero = 0;
	struct daxtop_file *f = bpf_map_lookup_elem(&file_scratch, &zero);

	if (!f)
		return;
	f->dev = inode_dev(inode);
	f->ino = inode_ino(inode);
	f->depth = 0;
	f->reached_root = 0;
	for (int i = 0; i < DAXTOP_PATH_DEPTH && d; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);

		if (parent == d) {	/* the filesystem's root: its name is "/" */
			f->reached_root = 1;
			break;
		}
		bpf_probe_read_kernel_str(f->name[i], DAXTOP_NAME_LEN, BPF_CORE_READ(d, d_name.name));
		f->depth = i + 1;
		d = parent;
	}
	if (d && BPF_CORE_READ(d, d_parent) == d)
		f->reached_root = 1;
	bpf_map_update_elem(&files, &ip, f, BPF_NOEXIST);
}

static __always_inline void fault_begin(const struct inode *inode, struct vm_fault *vmf)
{
	__u32 tid = current_tid();
	__u64 now = bpf_ktime_get_ns();
	__u64 ip = (__u64)inode;

	if (!wanted(inode))
		return;
	bpf_map_update_elem(&fault_start, &tid, &now, BPF_ANY);
	if (!bpf_map_lookup_elem(&files, &ip))
		learn_file(inode, vmf);
}

/* Latency in ns of the fault this thread started, 0 if its start was missed. */
static __always_inline __u64 fault_latency(void)
{
	__u32 tid = current_tid();
	__u64 *start = bpf_map_lookup_elem(&fault_start, &tid);
	__u64 d;

	if (!start) {
		__sync_fetch_and_add(&drops[DROP_LAT_NO_START], 1);
		return 0;
	}
	d = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&fault_start, &tid);
	return d;
}

static __always_inline void fault_end(const struct inode *inode, struct vm_fault *vmf,
				      int counter, int hist_id)
{
	struct daxtop_row *r;
	__u64 lat;

	if (!wanted(inode))
		return;
	__sync_fetch_and_add(&events_seen, 1);
	lat = fault_latency();
	r = row_for(inode);
	if (lat)
		hist_add(&hists[hist_id], lat);
	if (!r)
		return;
	__sync_fetch_and_add(&r->cnt[counter], 1);
	if (counter != DT_PMD_FALLBACK && (BPF_CORE_READ(vmf, flags) & FAULT_FLAG_WRITE))
		__sync_fetch_and_add(&r->cnt[DT_WRITE], 1);
	if (lat) {
		__sync_fetch_and_add(&r->lat_ns, lat);
		hist_add(&r->lat, lat);
	}
}

/* Mirror the kernel's own PMD fallback tests to name the likely reason. */
static __always_inline int fallback_reason(struct vm_fault *vmf, __u64 max_pgoff)
{
	struct vm_area_struct *vma = BPF_CORE_READ(vmf, vma);
	__u64 addr = BPF_CORE_READ(vmf, address);
	__u64 pgoff = BPF_CORE_READ(vmf, pgoff);
	__u64 colour = (DAX_PMD_SIZE >> DAX_PAGE_SHIFT) - 1;
	__u64 pmd_addr = addr & ~(DAX_PMD_SIZE - 1);
	bool write = BPF_CORE_READ(vmf, flags) & FAULT_FLAG_WRITE;

	if ((pgoff & colour) != ((addr >> DAX_PAGE_SHIFT) & colour))
		return FB_MISALIGNED;
	if (write && !(vma_flags(vma) & VM_SHARED))
		return FB_COW;
	if (pmd_addr < BPF_CORE_READ(vma, vm_start) ||
	    pmd_addr + DAX_PMD_SIZE > BPF_CORE_READ(vma, vm_end))
		return FB_VMA_BOUNDS;
	if ((pgoff | colour) >= max_pgoff)
		return FB_EOF;
	return FB_OTHER;
}

SEC("tp_btf/dax_pte_fault")
int BPF_PROG(pte_fault, struct inode *inode, struct vm_fault *vmf, int result)
{
	fault_begin(inode, vmf);
	return 0;
}

SEC("tp_btf/dax_pte_fault_done")
int BPF_PROG(pte_fault_done, struct inode *inode, struct vm_fault *vmf, int result)
{
	fault_end(inode, vmf, DT_PTE, H_PTE_LAT);
	return 0;
}

SEC("tp_btf/dax_pmd_fault")
int BPF_PROG(pmd_fault, struct inode *inode, struct vm_fault *vmf,
	     unsigned long max_pgoff, int result)
{
	fault_begin(inode, vmf);
	return 0;
}

SEC("tp_btf/dax_pmd_fault_done")
int BPF_PROG(pmd_fault_done, struct inode *inode, struct vm_fault *vmf,
	     unsigned long max_pgoff, int result)
{
	if (result & VM_FAULT_FALLBACK) {
		if (wanted(inode))
			__sync_fetch_and_add(&fallback_reasons[fallback_reason(vmf, max_pgoff)], 1);
		fault_end(inode, vmf, DT_PMD_FALLBACK, H_PMD_LAT);
	} else {
		fault_end(inode, vmf, DT_PMD, H_PMD_LAT);
	}
	return 0;
}

static __always_inline void count(const struct inode *inode, int counter, __u64 n)
{
	struct daxtop_row *r;

	if (!wanted(inode))
		return;
	__sync_fetch_and_add(&events_seen, 1);
	r = row_for(inode);
	if (r)
		__sync_fetch_and_add(&r->cnt[counter], n);
}

SEC("tp_btf/dax_insert_pfn_mkwrite")
int BPF_PROG(mkwrite, struct inode *inode, struct vm_fault *vmf, int result)
{
	count(inode, DT_MKWRITE, 1);
	return 0;
}

SEC("tp_btf/dax_load_hole")
int BPF_PROG(load_hole, struct inode *inode, struct vm_fault *vmf, int result)
{
	count(inode, DT_HOLE, 1);
	return 0;
}

SEC("tp_btf/dax_pmd_load_hole")
int BPF_PROG(pmd_load_hole, struct inode *inode, struct vm_fault *vmf, void *zero, void *entry)
{
	count(inode, DT_HOLE, 1);
	return 0;
}

SEC("tp_btf/dax_writeback_one")
int BPF_PROG(writeback_one, struct inode *inode, unsigned long pgoff, unsigned long pglen)
{
	count(inode, DT_WB_PAGES, pglen);
	return 0;
}

/* --- unmaps: unmap_page_range(tlb, vma, addr, end, details) --- */

static __always_inline void on_unmap(struct vm_area_struct *vma)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);
	struct inode *inode;
	__u64 ip;

	if (!file)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	ip = (__u64)inode;
	if (!bpf_map_lookup_elem(&files, &ip))
		return;
	count(inode, DT_UNMAP, 1);
}

SEC("fentry/unmap_page_range")
int BPF_PROG(unmap_fentry, struct mmu_gather *tlb, struct vm_area_struct *vma)
{
	on_unmap(vma);
	return 0;
}

SEC("kprobe/unmap_page_range")
int BPF_KPROBE(unmap_kprobe, struct mmu_gather *tlb, struct vm_area_struct *vma)
{
	on_unmap(vma);
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

	if (!inode || !wanted(inode))
		return;
	ws = bpf_map_lookup_elem(&bl_wait, &tid);
	if (page) {
		struct wait_state fresh = {};

		if (ws)
			return;	/* still waiting */
		fresh.start_ns = bpf_ktime_get_ns();
		make_key(&fresh.key, inode);
		if (bpf_map_update_elem(&bl_wait, &tid, &fresh, BPF_NOEXIST))
			__sync_fetch_and_add(&drops[DROP_WAIT_FULL], 1);
		return;
	}
	if (!ws)
		return;
	now = bpf_ktime_get_ns();
	d = now - ws->start_ns;
	hist_add(&hists[H_BL_WAIT], d);
	r = row_get(&ws->key);
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
