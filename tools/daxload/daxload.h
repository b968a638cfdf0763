/* daxload: drives FS DAX on purpose and prints the ground truth of what it
 * did, one "DAXLOAD op=... key=value" line per event on stdout. Shared
 * declarations for every file of the tool. */
#ifndef DAXLOAD_H
#define DAXLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "parse_num.h"	/* shared with daxtrace: src/core/parse_num.c */

#define PAGE_4K   4096UL
#define SIZE_2M   (2UL << 20)

/* Exit codes promised by the man page. */
enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

/* ---- out.c: output lines and error messages ---- */

/* One output line is built in memory and written with a single write(2)
 * so lines from concurrent processes never interleave (<= PIPE_BUF). */
#define OUT_MAX 8192
struct out {
	char buf[OUT_MAX];
	size_t len;
	bool overflow;
};

struct dfile;

extern const char *g_cmd;	/* current command, for error messages */

void out_begin(struct out *o, const char *op, const char *event);
void out_kv(struct out *o, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void out_str(struct out *o, const char *key, const char *raw); /* escaped */
void out_ms(struct out *o, const char *key, uint64_t ns);
void out_file(struct out *o, const struct dfile *f);
void out_emit(struct out *o);
void escape_value(const char *in, char *out, size_t outlen);

/* "daxload CMD: WHAT: REASON; HINT" on stderr (one line). */
void errmsg(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* errmsg() with strerror(err) and a hint chosen for err. */
void errsys(int err, const char *what);
const char *errno_name(int err);

/* ---- util.c: parsing, time, EINTR-safe syscalls ---- */
int parse_size(const char *s, uint64_t *out);		/* 4096, 4k, 2m, 1g */
int parse_seconds(const char *s, double *out);		/* 1.5, inf */
uint64_t now_ns(void);
int write_full(int fd, const void *buf, size_t len);
int write_file_atomic(const char *path, const char *text);
void sleep_ns(uint64_t ns);
pid_t waitpid_eintr(pid_t pid, int *status);
/* A pipe (or, with sock, a unix socket pair) into fds, then fork: the child
 * gets 0, the parent the child's pid; -1 with one error line if either
 * failed (nothing is left open then). */
pid_t fork_linked(int fds[2], bool sock);

/* Hold for `secs` (negative: forever) or until SIGUSR1/SIGINT/SIGTERM.
 * Returns the reason: "timeout", "sigusr1", "sigint", "sigterm". */
void hold_signals_block(void);
const char *hold_wait(double secs);

/* ---- dfile.c: the file under test ---- */
struct dfile {
	int fd;
	char path[4096];	/* absolute when resolvable */
	unsigned int dev_major, dev_minor;
	uint64_t ino;
	uint64_t size;
	int dax;		/* 1 DAX, 0 not */
	bool dax_attr_known;	/* kernel reported STATX_ATTR_DAX in mask */
	char fs[64];		/* ext4, xfs, tmpfs, ... */
	char mnt_dax[16];	/* mount option: always|inode|never|none|unknown */
	bool created;
};

enum { DF_CREATE = 1, DF_EXCL = 2 };
int dfile_open(struct dfile *f, const char *path, int flags);
int dfile_refresh(struct dfile *f);
/* Refuse non-DAX files unless allowed (negative control). */
int dfile_require_dax(struct dfile *f, bool allow_non_dax);
/* Allocate blocks for [0, end) so faults map real blocks. */
int dfile_allocate(struct dfile *f, uint64_t end);
/* 1 if the extent holding file offset `off` starts 2 MiB aligned on the
 * device at the same colour, 0 if not, -1 if unknown (no FIEMAP). */
int dfile_phys_2m(struct dfile *f, uint64_t off);
void dfile_close(struct dfile *f);
int dfile_setup(struct dfile *f, const char *path, uint64_t end, bool allow_non_dax,
		int flags);
const char *dfile_blocks_2m(struct dfile *f, uint64_t off, uint64_t len);
int path_check(const char *path, struct dfile *f);	/* for `check` */

/* ---- region.c: mappings at chosen alignment, touching, PFNs ---- */
struct map_req {
	uint64_t offset;	/* file offset, 4 KiB aligned */
	uint64_t len;		/* bytes, 4 KiB multiple */
	bool pmd_colour;	/* true: va ≡ offset (mod 2M); false: off by 4K */
	bool write;
	bool shared;
	bool sync;		/* MAP_SHARED_VALIDATE | MAP_SYNC */
};

struct region {
	char *va;
	uint64_t len;
	uint64_t offset;
	bool mapped;
	unsigned pmd_eligible;	/* 2 MiB chunks a PMD could map */
};

int region_map(struct region *r, int fd, const struct map_req *m);
/* Touch every 4 KiB page once; returns pages touched. */
uint64_t region_touch(struct region *r, bool write, unsigned salt);
int region_unmap(struct region *r);
/* PFN of the page at va; 0 with *hidden set if pagemap hides PFNs. */
int pagemap_pfn(const void *va, uint64_t *pfn, bool *present, bool *hidden);
/* Which page indices --pfn reports: all, or a spread sample. */
bool pfn_selected(uint64_t idx, uint64_t pages, bool all);
void emit_pfn_lines(const char *op, const struct dfile *f, const struct region *r, bool all);

/* ---- pinpipe.c: vmsplice pins held by a pipe ---- */
struct pinpipe {
	int rfd, wfd;
	uint64_t bytes;		/* bytes in the pipe after vmsplice */
	int pipe_size;
};
int pinpipe_fill(struct pinpipe *p, void *va, uint64_t len);
uint64_t pinpipe_queued(int rfd);
uint64_t pinpipe_drain(struct pinpipe *p);
void pinpipe_close(struct pinpipe *p);
/* Pass a pipe over a unix socket (SCM_RIGHTS): send, receive (-1 on error). */
int pinpipe_send(int sock, const struct pinpipe *p);
int pinpipe_recv(int sock, struct pinpipe *p);
int pipe_bytes_of(const char *path, uint64_t *bytes);

/* ---- commands ---- */
int cmd_check(int argc, char **argv);
int cmd_fault(int argc, char **argv);
int cmd_pin(int argc, char **argv);
int cmd_truncate(int argc, char **argv);
int cmd_punch(int argc, char **argv);
int cmd_evict(int argc, char **argv);
int cmd_mixed(int argc, char **argv);
int cmd_loop(int argc, char **argv);
int cmd_pipe_bytes(int argc, char **argv);

/* Shared option helper: report an unknown/missing option and usage. */
int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int bad_option(const char *usage, int argc, char **argv, int opt);
/* A command whose only argument is one PATH (and --help): -1 with *path set
 * to go on, else the exit code to return (help printed, or bad usage). */
int only_path_arg(int argc, char **argv, const char *usage, const char **path);

#endif
