/* daxleak --now: who is stuck in DAX break_layouts right now, on which page,
 * and who holds that page, found from the kernel's current state alone (no
 * event needed: the hang may have started long before daxtrace).
 *
 * Standalone: daxnow_run() is the whole `daxleak --now` (prints, exits).
 * Library: daxleak can call daxnow_scan() at start-up and mark what it
 * finds "seen at start" (waiter tids, page pointers), then print it with
 * daxnow_print() / daxnow_print_json(). */
#ifndef DAXTRACE_DAXNOW_INT_H
#define DAXTRACE_DAXNOW_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include "scan.h"
#include "blwait.h"
#include "era.h"
#include "json.h"
#include "ksyms.h"

struct daxnow_bpf;

/* The one sentence for a page no process holds (daxleak, --now). */
#define HOLDER_NONE_TEXT "no process holds it (a pipe in flight in a unix socket, a driver, " \
	"DMA or a kernel buffer)"


enum daxnow_method {
	DAXNOW_NONE,
	DAXNOW_BPF,		/* BPF task/task_file/task_vma iterators */
	DAXNOW_PROC,		/* fallback: /proc wchan + stack, no page, no holder */
};

enum daxnow_how {
	DNH_PIPE,		/* a pipe buffer holds the page itself (vmsplice) */
	DNH_PIPE_FILE,		/* a pipe holds other pages of the same file */
	DNH_MAP,		/* a mapping of the file covers the page */
	DNH_GUPIO,		/* direct I/O in flight (pages cannot be told) */
};

struct daxnow_holder {
	enum daxnow_how how;
	uint32_t pid, tid;
	char comm[DN_COMM_LEN];
	int fds[8];
	int nfds;
	uint64_t pipe;
	uint32_t exact, same_file, nbufs;
	uint64_t vm_start, vm_end, addr;
};

struct daxnow_waiter {
	struct dn_task_rec rec;
	char state;		/* 'S', 'D', ... */
	bool interruptible;
	enum blw_op op;		/* blwait.h: the one vocabulary */
	bool final;		/* the eviction's final, uninterruptible wait */
	char wait_frame[96];	/* the break_layouts frame that matched */
	double asleep_s;	/* < 0: unknown */
	const char *asleep_src;	/* which timestamp */
	bool page_found;	/* wait entry found and its var is an FS DAX page */
	int64_t extra;		/* references above idle (+ mappings from 6.15) */
	int hash_bucket;	/* hash_ptr(var, 8): cross-check of rec.bucket */
	int target;		/* index into the holder search, -1 none */
	struct daxnow_holder *holders;
	size_t nholders;
	char proc_wchan[64];	/* fallback only */
};

/* A page found held from outside: a waited page with extra references, or
 * a page of a waited file sitting in a pipe buffer. */
struct daxnow_held {
	struct dn_page pg;
	int64_t extra;		/* references above idle (+ mappings from 6.15) */
	enum daxnow_how how;	/* how the holder holds it (DNH_GUPIO: no holder found) */
	uint32_t pid;		/* holder process, 0 = none found */
	char comm[DN_COMM_LEN];
	int fd;			/* pipe fd in the holder, -1 */
	int waiter;		/* index in w[] of a task waiting for this page, -1 */
};

struct daxnow_report {
	/* input */
	uint32_t filter_pid;	/* 0 = all; else waiters of PID or held by PID */
	struct ksyms *ks;	/* the caller's symbol table, or NULL: loaded when needed */
	bool ks_owned;		/* ks was loaded (and is freed) by daxnow */
	/* output */
	enum daxnow_method method;
	char why_fallback[200];
	struct era_info era;
	char kernel[80];
	struct daxnow_waiter *w;
	size_t nw;
	struct daxnow_holder *gupio;	/* tasks with direct I/O in flight */
	size_t ngupio;
	struct daxnow_held *held;	/* pages held from outside, one per page */
	size_t nheld;
	uint64_t pipe_pages_lost;	/* pipe pages beyond DN_MAX_PIPE_PAGES */
	uint64_t pipe_bufs_cut;		/* pipe buffers beyond DN_NOLOOP_PIPE_STEPS (no bpf_loop) */
	uint64_t tasks_seen, tasks_asleep, pipes_seen, vmas_seen, recs_lost, stack_errs;
	uint64_t bucket_truncated;
	bool have_bit_wait_table, have_vmemmap, have_var_wake, have_rq_clock;
	bool bounded_loops;	/* the no-bpf_loop twins ran (scan_noloop.bpf.h) */
	double scan_ms;
	char lost[10][200];	/* what this run could not see, one line each */
	int nlost;
	/* daxnow_prepare's: the loaded object until the scan runs */
	struct daxnow_bpf *skel;
	int prepared;		/* 0 not yet, 1 loaded, -1 failed (see why_fallback) */
	double prep_ms;
};

/* What the scan's kallsyms pass found (scan_kallsyms.c): the text ranges
 * of the wait and direct-I/O functions, and the data symbols it reads. */
struct ksyms_scan {
	struct dn_range rg[DN_MAX_RANGES];
	int nr;
	uint64_t bit_wait_table, vmemmap_base, var_wake;
	bool have_xfs_inner, have_xfs_outer;	/* for blw_frames_publish */
};
/* The pass's result (waits for the thread, or makes the pass): 0 or -1. */
int kallsyms_scan(struct ksyms_scan *k);
/* Wait for the thread (nothing left running). */
void kallsyms_wait(void);

/* Internal to src/leak/scan*.c: a line of what the run could not see; a
 * waiter from a task record; the /proc fallback (scan_proc.c). */
void scan_lost(struct daxnow_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void scan_add_waiter(struct daxnow_report *r, const struct dn_task_rec *t);
void scan_proc(struct daxnow_report *r);
/* The joins (scan_join.c, pure): */
bool waits_on_page(const struct dn_task_rec *t);
void scan_add_gupio(struct daxnow_report *r, const struct dn_task_rec *t);
uint32_t scan_targets(struct daxnow_report *r, struct dn_target *tg);
void join_pipe(struct daxnow_report *r, const struct dn_pipe_rec *p);
void join_vma(struct daxnow_report *r, const struct dn_vma_rec *v);
void scan_held_from_waiters(struct daxnow_report *r);
void scan_held_from_pipe_page(struct daxnow_report *r, const struct dn_pipe_page *v);
void apply_filter(struct daxnow_report *r);

/* Read kallsyms and load the scan's BPF programs, once; daxnow_scan does it
 * if not done yet. daxleak prepares before attaching its own hooks (every
 * BPF load shares one parse of the kernel's BTF, freed here) and runs the
 * scan after. -1: the scan will fall back to /proc (why_fallback). */
int daxnow_prepare(struct daxnow_report *r);
/* 0 on success (even with nothing found), -1 on error (message printed). */
int daxnow_scan(struct daxnow_report *r);
/* Start the scan's kallsyms pass in a thread (once per process): it runs
 * while the caller parses BTF and loads programs; its users wait for it. */
void daxnow_kallsyms_start(void);
/* &vmemmap_base from the scan's kallsyms pass (0 if not in kallsyms);
 * the pass is made once per process and shared with daxnow_scan. */
uint64_t daxnow_vmemmap_base_addr(void);
void daxnow_print(FILE *out, const struct daxnow_report *r);
/* Writes one JSON object value (the caller may have written a key). */
void daxnow_print_json(struct json *j, const struct daxnow_report *r);
void daxnow_report_free(struct daxnow_report *r);
/* A mapping explains a wait only from 6.15 and only while the page is
 * still mapped: break_layouts unmaps the range before it waits. */
bool daxnow_map_holds(const struct daxnow_report *r, const struct daxnow_waiter *w);
/* The whole `daxleak --now [-o json] [-p PID]`. */
int daxnow_run(int argc, char **argv);

#endif
