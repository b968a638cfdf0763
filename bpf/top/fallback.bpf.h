/* daxtop PMD fallback reason: mirror the kernel's own tests (geometry,
 * then the file's XArray entry for the 2 MiB range) to name why a PMD fault
 * fell back, and pmd_done which counts it.
 *
 * Included once by daxtop.bpf.c, after its maps and the parts before it:
 * a BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_TOP_FALLBACK_BPF_H
#define DAXTRACE_TOP_FALLBACK_BPF_H

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

#endif
