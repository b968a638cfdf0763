/* daxleak --now: records shared by bpf/leak/scan.bpf.c and src/leak/scan*.c.
 * A one-shot look at the kernel's current state, no event needed:
 * BPF iterators write these records into their seq file and user space
 * reads them back. See docs/design-daxleak.md, section "daxleak --now". */
#ifndef DAXTRACE_DAXNOW_H
#define DAXTRACE_DAXNOW_H

#define DN_COMM_LEN		16
#define DN_STACK_DEPTH		32
#define DN_MAX_RANGES		32	/* kernel text ranges the task scan matches */
#define DN_MAX_TARGETS		32	/* waited-for pages whose holders are searched */
#define DN_BUCKETS		256	/* bit_wait_table: 1 << WAIT_TABLE_BITS (8) */
#define DN_BUCKET_DEPTH		64	/* wait entries followed per bucket */
#define DN_MAX_PIPE_BUFS	4096	/* occupied pipe slots examined per pipe */
#define DN_MAX_PIPE_PAGES	4096	/* pages of target files found in pipes */
#define DN_NOLOOP_PIPE_STEPS	4096	/* (buffer, target) pairs per pipe without bpf_loop */

/* What a kernel text range says about a task asleep in it. */
enum dn_class {
	DN_CLS_WAIT = 1,	/* break_layouts wait: the task waits for a DAX page */
	DN_CLS_GUPIO = 2,	/* direct I/O in flight: may hold pinned user pages */
};

enum dn_rec_type {
	DN_REC_TASK = 1,	/* struct dn_task_rec */
	DN_REC_PIPE,		/* struct dn_pipe_rec */
	DN_REC_VMA,		/* struct dn_vma_rec */
};

/* How the task's wait entry was found. */
enum dn_via {
	DN_VIA_NONE,
	DN_VIA_BUCKET,		/* walking bit_wait_table's hashed queues */
	DN_VIA_STACK,		/* on the task's kernel stack, checked as linked */
};

struct dn_range {
	__u64 start, end;	/* [start, end) */
	__u32 cls;		/* enum dn_class */
	__u32 pad;
};

/* A DAX page as read from the kernel. */
struct dn_page {
	__u64 page;		/* struct page * waited for */
	__u64 head;		/* its folio head */
	__u64 mapping;		/* head->mapping (address_space *), 0/odd = none/shared */
	__u64 pfn;		/* ~0 when vmemmap_base is unknown */
	__u64 ino;
	__u64 index;		/* file page index of `page` */
	__u32 dev;
	__s32 refcount;		/* head->_refcount */
	__s32 mapcount;		/* mappings (meaningful from 6.15) */
	__u8 order;
	__u8 fsdax;		/* pgmap says MEMORY_DEVICE_FS_DAX and the pfn is in range */
	__u8 shared;		/* reflink-shared: no single owner inode */
	__u8 valid;		/* the reads succeeded */
	char fstype[16];	/* sb->s_type->name */
	char s_id[32];		/* sb->s_id, e.g. "pmem0" */
};

struct dn_task_rec {
	__u32 type;		/* DN_REC_TASK */
	__u32 pid, tid;
	__u32 state;		/* task->__state */
	__u32 cls;		/* enum dn_class bits of the matched frames */
	__u32 via;		/* enum dn_via */
	__s32 bucket;		/* bit_wait_table index, -1 unknown */
	__s32 bit_nr;		/* wait_bit_key.bit_nr (-1 for var waits) */
	__s32 nframes;		/* kernel frames in stack[], <0 error */
	__u32 cpu;
	__u64 var;		/* wait_bit_key.flags: the var waited on */
	__u64 wq_func;		/* wait entry's wake function */
	__u64 exec_start;	/* task->se.exec_start (rq clock_task when it left the CPU) */
	__u64 last_arrival;	/* task->sched_info.last_arrival (rq clock) */
	__u64 now_clock;	/* this CPU's rq->clock at the scan */
	__u64 now_clock_task;	/* this CPU's rq->clock_task at the scan */
	__u64 start_time;	/* task->start_time (ns, boot based) */
	char comm[DN_COMM_LEN];
	__u64 stack[DN_STACK_DEPTH];
	struct dn_page pg;
};

/* One pipe fd of one task whose buffers hold a target page or pages of a
 * target's file. */
struct dn_pipe_rec {
	__u32 type;		/* DN_REC_PIPE */
	__u32 pid, tid;
	__u32 fd;
	__u64 pipe;		/* pipe_inode_info *: one pipe may be open in several tasks */
	__u32 nbufs;		/* occupied slots (head - tail) */
	__u32 exact;		/* buffers holding a target page itself */
	__u32 same_file;	/* buffers holding any page of a target's file */
	__u64 exact_mask;	/* bit t: target t is held exactly (t < 64) */
	__u64 file_mask;	/* bit t: a page of target t's file is held */
	__u32 scanned;		/* slots examined (capped at DN_MAX_PIPE_BUFS) */
	__u32 pad;
	char comm[DN_COMM_LEN];
};

/* A mapping of a target page's file covering the target's offset. */
struct dn_vma_rec {
	__u32 type;		/* DN_REC_VMA */
	__u32 pid, tid;
	__u32 target;
	__u64 vm_start, vm_end, vm_pgoff;
	__u64 addr;		/* user address of the target page in this vma */
	char comm[DN_COMM_LEN];
};

/* Value of the pipe_pages map (key: the struct page * in the buffer): a
 * page of a target's file that a pipe holds (vmsplice). */
struct dn_pipe_page {
	__u64 pipe;		/* pipe_inode_info * of the first pipe seen holding it */
	__u32 pid;		/* a process with that pipe open */
	__u32 fd;
	__u32 target;
	__u32 pad;
	struct dn_page pg;
};

/* Written by user space between the task scan and the holder scans. */
struct dn_target {
	__u64 lo, hi;		/* page pointers [lo, hi): the waited folio */
	__u64 mapping;		/* its address_space, 0 = unknown */
	__u64 index;		/* file page index of the waited page */
};

#endif
