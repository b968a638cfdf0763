/* DAX break_layouts waits: the one owner of what daxtrace knows about a
 * task asleep waiting for a DAX page to become idle (truncate, fallocate,
 * remap, eviction). daxleak, `daxleak --now` and `daxtrace export` all
 * name a stuck task's operation through this module, so the same task
 * gets the same name everywhere.
 *
 *   - the wait frames (per kernel era, decided at run time from kallsyms),
 *   - the operation vocabulary (enum blw_op, blw_op_name),
 *   - reading a task's /proc syscall and state, with the syscall numbers
 *     of the build's architecture in one table (blwait.c).
 *
 * The deciding functions are pure (names and numbers in, an op out) and
 * unit-tested in tests/unit/test_blwait.c. */
#ifndef DAXTRACE_BLWAIT_H
#define DAXTRACE_BLWAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The operation a break_layouts waiter is performing. Names (blw_op_name)
 * are documented in docs/daxleak.8, section OPERATIONS. */
enum blw_op {
	BLW_UNKNOWN,
	BLW_TRUNCATE,		/* truncate/ftruncate/open(O_TRUNC)/setattr size */
	BLW_PUNCH,		/* fallocate FALLOC_FL_PUNCH_HOLE */
	BLW_COLLAPSE,		/* fallocate FALLOC_FL_COLLAPSE_RANGE */
	BLW_ZERO,		/* fallocate FALLOC_FL_ZERO_RANGE */
	BLW_INSERT,		/* fallocate FALLOC_FL_INSERT_RANGE */
	BLW_UNSHARE,		/* fallocate FALLOC_FL_UNSHARE_RANGE */
	BLW_WRITE_ZEROES,	/* fallocate FALLOC_FL_WRITE_ZEROES (6.17+) */
	BLW_ALLOCATE,		/* fallocate mode 0 / KEEP_SIZE (xfs breaks layouts first) */
	BLW_FALLOCATE,		/* fallocate whose mode could not be read */
	BLW_REMAP,		/* reflink/clone/dedupe/copy_file_range (remap_file_range) */
	BLW_EVICT,		/* the inode's last reference went (close, unlink, umount, exit) */
	BLW_NR
};

const char *blw_op_name(enum blw_op op);
/* The fallocate mode bits' operation (FALLOC_FL_*). */
enum blw_op blw_op_from_falloc_mode(unsigned long long mode);

/* ---- wait frames ----------------------------------------------------- */

/* Which break_layouts wait functions this kernel has: on 5.10 xfs,
 * xfs_break_dax_layouts and xfs_wait_dax_page are inlined into
 * xfs_break_layouts, which then is the only frame of a DAX wait (and
 * also of lease breaks: accepted only on such kernels). */
struct blw_frames {
	bool xfs_inlined;	/* no xfs_break_dax_layouts, xfs_break_layouts present */
};

/* The base names to look for in kallsyms (the scan's text ranges), in
 * *names; returns how many. xfs_break_layouts comes last: use it only if
 * blw_frames_decide says so. */
int blw_wait_funcs(const char *const **names);
#define BLW_XFS_OUTER "xfs_break_layouts"
#define BLW_XFS_INNER "xfs_break_dax_layouts"
/* From whether kallsyms lists the inner and outer xfs functions. */
void blw_frames_decide(struct blw_frames *f, bool have_inner, bool have_outer);
/* The frames of this kernel: from a kallsyms pass the caller made
 * (publish), else once per process from /proc/kallsyms (here). */
void blw_frames_publish(bool have_inner, bool have_outer);
const struct blw_frames *blw_frames_here(void);
/* Is the (kallsyms, clone-suffixed) symbol a wait frame on this kernel? */
bool blw_is_wait_frame(const struct blw_frames *f, const char *sym);
/* Does text (a wchan, or /proc/PID/stack) mention a wait frame? Copies the
 * first found into frame (if not NULL). */
bool blw_text_has_wait(const struct blw_frames *f, const char *text, char *frame, size_t len);

/* ---- what the stack, the syscall and the state say ------------------- */

/* What a kernel stack (symbol names, innermost first, NULL entries
 * skipped) says: its op (BLW_UNKNOWN if none) and whether it is the
 * final, uninterruptible wait of an eviction. */
enum blw_op blw_op_from_frames(const char *const *names, int n, bool *final);
/* Same from kernel addresses (innermost first, 0 ends), named by ks. */
struct ksyms;
enum blw_op blw_op_from_ips(struct ksyms *ks, const uint64_t *ips, int n, bool *final);
/* Same from /proc/PID/stack text (one "[<0>] func+0x../0x.." per line). */
enum blw_op blw_op_from_stack_text(const char *text, bool *final);

/* A task's /proc/PID/task/TID/syscall. */
struct blw_syscall {
	bool valid;		/* in a syscall and the line was read */
	long nr;
	unsigned long long arg[6];
};

/* Parse a syscall line ("nr a0 a1 ..." hex args); pure. */
int blw_parse_syscall(const char *line, struct blw_syscall *sc);
int blw_read_syscall(uint32_t pid, uint32_t tid, struct blw_syscall *sc);
/* The op a syscall implies (native numbers of the build's architecture),
 * and the fd argument naming the file, -1 if none. */
enum blw_op blw_op_from_syscall(const struct blw_syscall *sc, int *fd);

/* The one decision: the stack's op, refined by the syscall. An eviction
 * on the stack wins; a fallocate is named by its mode argument (xfs and
 * ext4 break layouts before the mode-specific functions show); else the
 * stack's op, else the syscall's. */
enum blw_op blw_op_decide(enum blw_op from_stack, bool final, const struct blw_syscall *sc);

/* /proc/PID/task/TID/stat's state letter, 0 if the task is gone. */
char blw_task_state(uint32_t pid, uint32_t tid);

#endif
