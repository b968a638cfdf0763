/* BPF-side helpers shared by daxtrace programs. */
#ifndef DAXTRACE_DAX_COMMON_BPF_H
#define DAXTRACE_DAX_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#ifndef VM_SHARED
#define VM_SHARED 0x00000008UL
#endif
#define DAX_PMD_SIZE (2UL << 20)
#define DAX_PAGE_SHIFT 12

char LICENSE[] SEC("license") = "GPL";

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline __u32 inode_dev(const struct inode *inode)
{
	return BPF_CORE_READ(inode, i_sb, s_dev);
}

/* i_ino is unsigned long up to 6.18 and u64 in 7.x: both 8 bytes here. */
static __always_inline __u64 inode_ino(const struct inode *inode)
{
	return BPF_CORE_READ(inode, i_ino);
}

/* The same in BTF-typed programs (tp_btf, fentry/fexit), where the verifier
 * lets typed pointers be walked with plain loads (guarded by the JIT, a NULL
 * walk reads 0): no probe-read helper call per field. Never in kprobes. */
#define btf_inode_dev(inode) ((__u32)(inode)->i_sb->s_dev)
#define btf_inode_ino(inode) ((__u64)(inode)->i_ino)

/* vm_flags became a const member of a union in 6.3; read whichever exists. */
static __always_inline __u64 vma_flags(const struct vm_area_struct *vma)
{
	if (bpf_core_field_exists(vma->vm_flags))
		return BPF_CORE_READ(vma, vm_flags);
	return 0;
}

#endif
