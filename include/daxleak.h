/* daxleak: layouts shared by bpf/leak/daxleak.bpf.c and src/leak/daxleak*.c.
 * See docs/design-daxleak.md for what each hook contributes per era. */
#ifndef DAXTRACE_DAXLEAK_H
#define DAXTRACE_DAXLEAK_H

#define DL_COMM_LEN		16
#define DL_STACK_DEPTH		32	/* frames kept per stack (kernel and user) */
#define DL_MAX_BATCH		1024	/* pages examined per GUP call; more are counted */
#define DL_DEF_MAX_FOLIOS	16384
#define DL_DEF_MAX_STACKS	4096
#define DL_MAX_WAITERS		1024
#define DL_RAM_RANGES		8	/* System RAM pfn ranges the GUP exit skips */

/* GUP entry points with a `struct page **pages` out-array. */
enum dl_gup {
	DL_GUP_FAST,		/* get_user_pages_fast(start, nr, flags, pages): vmsplice */
	DL_PIN_FAST,		/* pin_user_pages_fast(...): O_DIRECT via iov_iter_extract_pages */
	DL_GUP_FAST_ONLY,
	DL_PIN_FAST_ONLY,
	DL_GUP,			/* get_user_pages(start, nr, flags, pages[, vmas]) */
	DL_PIN,
	DL_GUP_REMOTE,		/* get_user_pages_remote(mm, start, nr, flags, pages, ...) */
	DL_PIN_REMOTE,
	DL_GUP_UNLOCKED,	/* get_user_pages_unlocked(start, nr, pages, flags) */
	DL_PIN_UNLOCKED,
	DL_GUP_NR,
};

/* Global counters (one array in .bss): nothing is dropped silently. */
enum dl_counter {
	DLC_GUP_CALLS,		/* outermost GUP exits processed */
	DLC_GUP_NESTED,		/* inner GUP exits skipped (outer one reports) */
	DLC_GUP_UNGUARDED,	/* exits seen without their entry (entry hook missing) */
	DLC_PAGES_SEEN,		/* pages returned by GUP */
	DLC_DAX_PAGES,		/* ... of which FS DAX: tracked or updated */
	DLC_BATCH_TRUNC,	/* pages beyond DL_MAX_BATCH in one call, not examined */
	DLC_TRACK_OVERFLOW,	/* tracked map full: acquisition not tracked */
	DLC_STACK_LOST,		/* stack map full or collision: stack shown as unknown */
	DLC_RELEASES,		/* FS DAX puts seen (one-based era release hook) */
	DLC_RELEASE_MATCHED,	/* ... that hit a tracked page */
	DLC_RELEASE_DONE,	/* tracked pages whose extra refs were all dropped */
	DLC_FREES,		/* FS DAX final frees (zero-based era) */
	DLC_FREE_MATCHED,
	DLC_ANOMALIES,
	DLC_ANOMALY_LOST,	/* ring buffer full */
	DLC_BUSY_CALLS,		/* dax_layout_busy_page_range returns */
	DLC_BUSY_FOUND,		/* ... that returned a busy page */
	DLC_WAITER_OVERFLOW,
	DLC_FAULTS,		/* fs_dax fault tracepoints (liveness only) */
	DLC_READ_ERR,		/* a page/folio read failed (device gone?) */
	DLC_NR,
};

/* Entry put into the tracked or waiters map by user space from the scan at
 * start-up (src/leak/scan.c): the reference or the wait predates our hooks, so
 * its culprit is unknown and its age is a lower bound. The hooks and the
 * refcount scan update and retire such entries like their own. */
#define DL_SEEN_AT_START	1

/* Key of the tracked map: the struct page * that GUP returned (a subpage
 * of a large folio on 6.15+). */
struct dl_page_val {
	__u64 folio;		/* head page address (== page for order 0) */
	__u64 first_ns;		/* first acquisition of this outstanding episode */
	__u64 last_ns;		/* latest acquisition */
	__u64 uaddr;		/* user address of the first acquisition */
	__u64 pfn;		/* ~0 when vmemmap_base is unknown */
	__u64 ino;
	__u64 index;		/* file page index (page offset in file) */
	__u32 dev;
	__s32 refs;		/* acquisitions minus releases seen (exact only up to 6.14) */
	__u32 pid, tid;		/* culprit: first acquirer */
	__u32 last_pid;
	__u32 nacq;
	__s32 kstack, ustack;	/* stack ids, <0 when lost */
	__u8 order;		/* folio order */
	__u8 gup;		/* enum dl_gup of the first acquisition */
	__u8 shared;		/* reflink-shared DAX page: no single owner inode */
	__u8 flags;		/* DL_SEEN_AT_START */
	__u32 subpage;		/* page's number inside its folio (pfn - folio pfn) */
	char comm[DL_COMM_LEN];
	/* written by the scan iterator */
	__s32 cur_ref;
	__s32 cur_map;
	__u64 scan_ns;
};

/* Key: tid of a task inside break_layouts (or dax_break_layout_final). */
struct dl_waiter {
	__u64 start_ns;		/* first busy page returned to this task */
	__u64 last_ns;		/* latest busy return */
	__u64 busy_page;	/* page returned by dax_layout_busy_page_range */
	__u64 busy_folio;
	__u64 ino;
	__u64 range_start, range_end;
	__u32 dev;
	__u32 pid, tid;
	__u32 nbusy;
	__s32 kstack;
	__s32 cur_ref, cur_map;
	__u32 flags;		/* DL_SEEN_AT_START */
	char comm[DL_COMM_LEN];
	/* the busy page as the kernel sees it (not its struct page address) */
	__u64 busy_pfn;		/* ~0 when vmemmap_base is unknown */
	__u64 busy_ino;		/* owner of the page (page->mapping->host) */
	__u64 busy_index;	/* file page index of the busy page */
	__u32 busy_dev;
	__u8 busy_order;	/* order of the folio holding it */
	__u8 busy_shared;	/* reflink-shared extent: no single owner */
	__u8 busy_known;	/* the fields above were read */
	__u8 pad;
};

enum dl_anomaly_type {
	DLA_UNDERFLOW,		/* a put would take the count below the era's idle value */
	DLA_NEGATIVE,		/* refcount read below zero */
	DLA_BELOW_IDLE,		/* refcount read below idle (or below mapcount on 6.15+) */
	DLA_FREED_MAPPED,	/* 6.15+: final free of a folio that is still mapped */
	DLA_REUSED,		/* tracked page taken again for another file offset while held */
	DLA_DISASSOC_BUSY,	/* <= 6.14: entry removed on truncate/evict while the page is
				 * still referenced (the kernel's WARN in dax_disassociate_entry) */
	DLA_NR,
};

struct dl_anomaly {
	__u64 ts;
	__u64 page, folio, pfn;
	__u64 ino, index;
	__u32 type;
	__u32 dev;
	__u32 pid, tid;
	__s32 refcount, mapcount, refs;
	__s32 kstack;
	__u32 culprit_pid;	/* who took the reference, when tracked (0 = unknown) */
	__u32 pad;
	char comm[DL_COMM_LEN];
	char culprit_comm[DL_COMM_LEN];
};

#endif
