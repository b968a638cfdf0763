/* daxtop PMD fault mapping: dax_iomap_pmd_fault saves the faulting
 * file's mapping in the CPU's fault slot, which the fallback reason
 * (fallback.bpf.h) reads. fentry and kprobe variants.
 *
 * Included once by daxtop.bpf.c, after its maps and the parts before it:
 * a BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_TOP_FALLBACK_MAPPING_BPF_H
#define DAXTRACE_TOP_FALLBACK_MAPPING_BPF_H

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

#endif
