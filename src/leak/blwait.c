/* DAX break_layouts waits: frames, operation names, syscall and state
 * (see blwait.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "blwait.h"
#include "ksyms.h"
#include "util.h"

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static const char *const op_names[BLW_NR] = {
	[BLW_UNKNOWN] = "unknown", [BLW_TRUNCATE] = "truncate", [BLW_PUNCH] = "punch",
	[BLW_COLLAPSE] = "collapse", [BLW_ZERO] = "zero", [BLW_INSERT] = "insert",
	[BLW_UNSHARE] = "unshare", [BLW_WRITE_ZEROES] = "write-zeroes",
	[BLW_ALLOCATE] = "allocate", [BLW_FALLOCATE] = "fallocate", [BLW_REMAP] = "remap",
	[BLW_EVICT] = "evict",
};

const char *blw_op_name(enum blw_op op)
{
	return op >= 0 && op < BLW_NR ? op_names[op] : op_names[BLW_UNKNOWN];
}

/* FALLOC_FL_* (include/uapi/linux/falloc.h), spelled out: older headers
 * lack the newer bits. The first match wins, most specific first. */
enum blw_op blw_op_from_falloc_mode(unsigned long long mode)
{
	static const struct { unsigned long long bit; enum blw_op op; } modes[] = {
		{ 0x02, BLW_PUNCH }, { 0x08, BLW_COLLAPSE }, { 0x10, BLW_ZERO },
		{ 0x20, BLW_INSERT }, { 0x40, BLW_UNSHARE }, { 0x80, BLW_WRITE_ZEROES },
	};

	for (int i = 0; i < N(modes); i++)
		if (mode & modes[i].bit)
			return modes[i].op;
	return BLW_ALLOCATE;
}

/* ---- wait frames ----------------------------------------------------- */

/* Frames that mean "asleep in a DAX break_layouts wait", every era:
 * ext4/xfs/fuse up to 6.12 wait in their own *_wait_dax_page under
 * *_break_(dax_)layouts; 6.13+ moved the wait to fs/dax.c's
 * dax_break_layout / wait_page_idle. The last entry, xfs_break_layouts,
 * also sleeps in lease breaks (not DAX): only where the DAX wait is
 * inlined into it (5.10), see blw_frames_decide. */
static const char *const wait_funcs[] = {
	"ext4_break_layouts", "xfs_break_dax_layouts", "fuse_dax_break_layouts",
	"ext4_wait_dax_page", "xfs_wait_dax_page", "fuse_wait_dax_page",
	"dax_break_layout", "dax_break_layout_final", "wait_page_idle",
	"wait_page_idle_uninterruptible", BLW_XFS_OUTER,
};

int blw_wait_funcs(const char *const **names)
{
	*names = wait_funcs;
	return N(wait_funcs);
}

void blw_frames_decide(struct blw_frames *f, bool have_inner, bool have_outer)
{
	f->xfs_inlined = !have_inner && have_outer;
}

static struct blw_frames frames_here;
static bool frames_known;

void blw_frames_publish(bool have_inner, bool have_outer)
{
	blw_frames_decide(&frames_here, have_inner, have_outer);
	frames_known = true;
}

const struct blw_frames *blw_frames_here(void)
{
	const char *const bases[] = { BLW_XFS_INNER, BLW_XFS_OUTER };
	char found[2][128];

	if (!frames_known) {
		if (ksym_resolve_names(NULL, bases, 2, found) >= 0)
			blw_frames_decide(&frames_here, found[0][0], found[1][0]);
		frames_known = true;
	}
	return &frames_here;
}

bool blw_is_wait_frame(const struct blw_frames *f, const char *sym)
{
	for (int i = 0; i < N(wait_funcs); i++) {
		if (!strcmp(wait_funcs[i], BLW_XFS_OUTER) && !f->xfs_inlined)
			continue;
		if (ksym_name_matches(sym, wait_funcs[i]))
			return true;
	}
	return false;
}

/* A whole word of text (delimited by anything but [A-Za-z0-9_]) that is a
 * wait frame, clone suffixes included. */
bool blw_text_has_wait(const struct blw_frames *f, const char *text, char *frame, size_t len)
{
	const char *p = text;

	while (*p) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
		char word[128];

		if (n && n < sizeof(word)) {
			memcpy(word, p, n);
			word[n] = '\0';
			/* xfs_break_layouts (inlined DAX wait) also breaks
			 * leases: a lease break on the stack is no DAX wait */
			if (blw_is_wait_frame(f, word) &&
			    !(ksym_name_matches(word, BLW_XFS_OUTER) && strstr(text, "break_lease"))) {
				if (frame)
					snprintf(frame, len, "%s", word);
				return true;
			}
		}
		p += n ? n : 1;
	}
	return false;
}

/* ---- the op from a stack --------------------------------------------- */

/* Substrings of frame names and the op they mean, most telling first: an
 * eviction truncates too, a punch runs under fallocate, a fallocate or a
 * remap under setattr-like helpers. */
static const struct { const char *sub; enum blw_op op; } frame_ops[] = {
	{ "dax_break_layout_final", BLW_EVICT }, { "evict", BLW_EVICT },
	{ "remap_file_range", BLW_REMAP }, { "clone_file_range", BLW_REMAP },
	{ "dedupe", BLW_REMAP }, { "reflink", BLW_REMAP },
	{ "punch_hole", BLW_PUNCH }, { "collapse_range", BLW_COLLAPSE },
	{ "collapse_file_space", BLW_COLLAPSE }, { "insert_range", BLW_INSERT },
	{ "insert_file_space", BLW_INSERT }, { "zero_range", BLW_ZERO },
	{ "zero_file_space", BLW_ZERO }, { "fallocate", BLW_FALLOCATE },
	{ "setattr", BLW_TRUNCATE }, { "truncate", BLW_TRUNCATE },
	{ "notify_change", BLW_TRUNCATE },
};

enum blw_op blw_op_from_frames(const char *const *names, int n, bool *final)
{
	*final = false;
	/* 6.13+: dax_break_layout_final sleeps in wait_page_idle_uninterruptible */
	for (int i = 0; i < n; i++)
		if (names[i] && (strstr(names[i], "dax_break_layout_final") ||
				 strstr(names[i], "wait_page_idle_uninterruptible")))
			*final = true;
	if (*final)
		return BLW_EVICT;
	for (int o = 0; o < N(frame_ops); o++)
		for (int i = 0; i < n; i++)
			if (names[i] && strstr(names[i], frame_ops[o].sub))
				return frame_ops[o].op;
	return BLW_UNKNOWN;
}

enum blw_op blw_op_from_ips(struct ksyms *ks, const uint64_t *ips, int n, bool *final)
{
	const char *names[64];
	int k;

	*final = false;
	if (!ks)
		return BLW_UNKNOWN;
	for (k = 0; k < n && k < N(names) && ips[k]; k++) {
		uint64_t off;
		const struct ksym *s = ksyms_find(ks, ips[k], &off);

		names[k] = s ? s->name : NULL;
	}
	return blw_op_from_frames(names, k, final);
}

enum blw_op blw_op_from_stack_text(const char *text, bool *final)
{
	const char *one[1] = { text };

	return blw_op_from_frames(one, 1, final);
}

/* ---- the syscall ----------------------------------------------------- */

int blw_parse_syscall(const char *line, struct blw_syscall *sc)
{
	char *end;

	memset(sc, 0, sizeof(*sc));
	sc->nr = strtol(line, &end, 10);
	/* "running", or "-1 SP PC" outside a syscall */
	if (end == line || sc->nr < 0)
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *p = end;

		sc->arg[i] = strtoull(p, &end, 16);
		if (end == p)
			break;
	}
	sc->valid = true;
	return 0;
}

int blw_read_syscall(uint32_t pid, uint32_t tid, struct blw_syscall *sc)
{
	char fn[96], buf[256];

	memset(sc, 0, sizeof(*sc));
	snprintf(fn, sizeof(fn), "/proc/%u/task/%u/syscall", pid, tid);
	if (read_line(fn, buf, sizeof(buf)))
		return -1;
	return blw_parse_syscall(buf, sc);
}

/* ioctl requests that remap: FICLONE, FICLONERANGE, FIDEDUPERANGE. */
static bool ioctl_remaps(unsigned long long req)
{
	return req == 0x40049409ULL || req == 0x4020940dULL || req == 0xc0189436ULL;
}

#define O_TRUNC_BIT 01000	/* O_TRUNC on every architecture daxtrace builds for */

/* The build architecture's syscall numbers (sys/syscall.h), the one
 * place they are named; fd_arg: which argument is the file's fd (-1
 * none), how: 0 plain, 1 fallocate mode in arg 1, 2 ioctl request in
 * arg 1, 3 open flags in arg (1 open, 2 openat). */
enum { HOW_PLAIN, HOW_FALLOC, HOW_IOCTL, HOW_OPEN1, HOW_OPEN2 };
static const struct { long nr; enum blw_op op; int fd_arg, how; } sys_ops[] = {
#ifdef SYS_truncate
	{ SYS_truncate, BLW_TRUNCATE, -1, HOW_PLAIN },
#endif
	{ SYS_ftruncate, BLW_TRUNCATE, 0, HOW_PLAIN },
	{ SYS_fallocate, BLW_FALLOCATE, 0, HOW_FALLOC },
	{ SYS_ioctl, BLW_REMAP, 0, HOW_IOCTL },
	{ SYS_copy_file_range, BLW_REMAP, 2, HOW_PLAIN },
#ifdef SYS_open
	{ SYS_open, BLW_TRUNCATE, -1, HOW_OPEN1 },
#endif
	{ SYS_openat, BLW_TRUNCATE, -1, HOW_OPEN2 },
	{ SYS_close, BLW_EVICT, -1, HOW_PLAIN },
#ifdef SYS_unlink
	{ SYS_unlink, BLW_EVICT, -1, HOW_PLAIN },
#endif
	{ SYS_unlinkat, BLW_EVICT, -1, HOW_PLAIN },
#ifdef SYS_rename
	{ SYS_rename, BLW_EVICT, -1, HOW_PLAIN },
#endif
	{ SYS_renameat2, BLW_EVICT, -1, HOW_PLAIN },
	{ SYS_umount2, BLW_EVICT, -1, HOW_PLAIN },
	{ SYS_exit, BLW_EVICT, -1, HOW_PLAIN },
	{ SYS_exit_group, BLW_EVICT, -1, HOW_PLAIN },
};

enum blw_op blw_op_from_syscall(const struct blw_syscall *sc, int *fd)
{
	*fd = -1;
	if (!sc || !sc->valid)
		return BLW_UNKNOWN;
	for (int i = 0; i < N(sys_ops); i++) {
		if (sys_ops[i].nr != sc->nr)
			continue;
		if (sys_ops[i].fd_arg >= 0)
			*fd = (int)sc->arg[sys_ops[i].fd_arg];
		switch (sys_ops[i].how) {
		case HOW_FALLOC:
			return blw_op_from_falloc_mode(sc->arg[1]);
		case HOW_IOCTL:
			return ioctl_remaps(sc->arg[1]) ? BLW_REMAP : BLW_UNKNOWN;
		case HOW_OPEN1:
			return sc->arg[1] & O_TRUNC_BIT ? BLW_TRUNCATE : BLW_UNKNOWN;
		case HOW_OPEN2:
			return sc->arg[2] & O_TRUNC_BIT ? BLW_TRUNCATE : BLW_UNKNOWN;
		}
		return sys_ops[i].op;
	}
	return BLW_UNKNOWN;
}

static bool is_fallocate_family(enum blw_op op)
{
	return op >= BLW_PUNCH && op <= BLW_FALLOCATE;
}

enum blw_op blw_op_decide(enum blw_op from_stack, bool final, const struct blw_syscall *sc)
{
	int fd;
	enum blw_op from_sys = blw_op_from_syscall(sc, &fd);

	if (final || from_stack == BLW_EVICT)
		return BLW_EVICT;
	/* the mode argument names a fallocate better than any frame */
	if (is_fallocate_family(from_sys) && (from_stack == BLW_UNKNOWN ||
					      is_fallocate_family(from_stack)))
		return from_sys;
	if (from_stack != BLW_UNKNOWN)
		return from_stack;
	return from_sys;
}

char blw_task_state(uint32_t pid, uint32_t tid)
{
	char fn[96], buf[512], *p;

	snprintf(fn, sizeof(fn), "/proc/%u/task/%u/stat", pid, tid);
	if (read_line(fn, buf, sizeof(buf)))
		return 0;	/* gone */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] ? p[2] : '?';
}
