/* daxtop fs_dax tracepoint programs: count() (one event for its row,
 * also used by the unmap hook), then the classic tracepoints and their
 * BTF tracepoint (tp_btf) fallback.
 *
 * Included once by daxtop.bpf.c, after its maps and the parts before it:
 * a BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_TOP_TRACEPOINTS_BPF_H
#define DAXTRACE_TOP_TRACEPOINTS_BPF_H

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

#endif
