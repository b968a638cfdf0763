/* daxtop unmaps: unmap_page_range(tlb, vma, addr, end, details) on a
 * DAX file's mapping counts an unmap for its row and learns the file's
 * name. fentry and kprobe variants.
 *
 * Included once by daxtop.bpf.c, after its maps and the parts before it:
 * a BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_TOP_UNMAPS_BPF_H
#define DAXTRACE_TOP_UNMAPS_BPF_H

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

#endif
