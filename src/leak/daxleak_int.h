/* daxleak internals shared by src/daxleak*.c. */
#ifndef DAXTRACE_DAXLEAK_INT_H
#define DAXTRACE_DAXLEAK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "daxleak.h"
#include "scan_int.h"
#include "era.h"
#include "hist.h"
#include "json.h"
#include "ksyms.h"
#include "probe.h"

struct leak_args {
	double interval_s;	/* -i, default 5 */
	double min_age_s;	/* --min-age, default 5 */
	double duration_s;	/* -d, 0 = until a signal */
	uint64_t count;		/* -c reports, 0 = unlimited */
	uint32_t pid;		/* -p culprit filter */
	uint64_t max_folios, max_stacks;
	int top;		/* culprit groups printed, default 10 */
	int max_rows;		/* page rows per group, default 32 */
	bool json, folded, verbose;
	bool no_fentry, no_kprobe, no_scan;
	bool scan_at_start;	/* run the --now scan after attaching (plain daxleak: yes) */
};

/* Hook table layout (see fill_hooks in daxleak_hooks.c). */
enum {
	H_GUP_EXIT0 = 0,			/* DL_GUP_NR exit hooks */
	H_PUT_PAGE = DL_GUP_NR,			/* __put_devmap_managed_page_refs (6.1) */
	H_PUT_FOLIO,				/* __put_devmap_managed_folio_refs (6.12) */
	H_PUT_DEVMAP,				/* put_devmap_managed_page (5.10) */
	H_PUT_COMPOUND,				/* put_compound_head (5.10 unpin) */
	H_FREE,					/* free_zone_device_folio (6.15+) */
	H_BUSY,					/* dax_layout_busy_page_range */
	H_DISASSOC,				/* dax_disassociate_entry (one-based era) */
	H_TP_PTE,
	H_TP_PMD,
	DL_NHOOKS,
};

/* What this run can see, derived from the attached hooks. */
struct leak_caps {
	bool acquire;		/* at least one GUP exit attached */
	bool vmsplice;		/* get_user_pages_fast attached */
	bool release_exact;	/* one-based put hook attached */
	bool free_hook;		/* zero-based final free attached */
	bool scan;		/* scan iterator attached */
	bool busy;		/* busy-page waiter hook attached */
	bool leaks;		/* leaks may be reported: acquire && (release_exact || scan) */
	bool release_seen;	/* a release can be seen: scan, or the one-based put hook */
	char scan_why[160];
};

struct anomaly_rec {
	struct dl_anomaly a;
	bool from_scan;
};

struct leak_ctx;

/* One tracked page as seen at a report. */
struct leak_entry {
	uint64_t page;
	struct dl_page_val v;
	int64_t extra;		/* references above idle (+ mappings on 6.15+) */
	double age_s;
};

enum holder_verdict {
	HOLDER_UNCHECKED,	/* not asked (no busy page, scan unavailable) */
	HOLDER_PROCESS,		/* a live process holds it: pid, comm, how */
	HOLDER_NONE,		/* no process holds it (socket in flight, driver, DMA) */
};

struct holder_now {
	enum holder_verdict verdict;
	uint32_t pid, tid;
	char comm[16];
	const char *how;	/* "pipe", "mapping" */
	int fd;
};

struct waiter_rec {
	struct dl_waiter w;
	char state;		/* /proc state: 'S', 'D', ... or '?' */
	char wchan[64];
	double waited_s;
	enum blw_op op;		/* blwait.h: the one vocabulary */
	bool interruptible;
	bool from_proc;		/* found by the /proc scan only (no BPF hook) */
	const struct daxnow_waiter *start;	/* seen at start: what the scan saw */
	/* who holds the busy page now, asked of the kernel (daxleak_holder.c):
	 * the culprit only took the reference and may have exited or passed
	 * its pipe on */
	struct holder_now now;
};

struct leak_ctx {
	struct daxleak_bpf *skel;
	struct hook hooks[DL_NHOOKS];
	struct leak_caps caps;
	struct era_info era;
	struct leak_args a;
	struct ksyms *ks;
	struct bpf_link *iter_link;
	struct ring_buffer *rb;
	int tracked_fd, stacks_fd, waiters_fd;
	uint64_t start_ns;
	uint64_t collect_ns;	/* CLOCK_MONOTONIC when this report's ages were computed */
	char hooksum[128];
	/* per report */
	struct leak_entry *ents;
	size_t nents, cap_ents;
	struct waiter_rec *waiters;
	size_t nwaiters, cap_waiters;
	struct anomaly_rec *anoms;	/* this interval */
	size_t nanoms, cap_anoms;
	/* the printed report's view (leak_report_build): the reported pages
	 * grouped by culprit, largest first, and how many pages they hold */
	struct group *groups;
	size_t ngroups, held;
	/* cumulative */
	struct hist user_hist;		/* hold times of releases found by the scan (ns) */
	uint64_t scan_released, scan_runs, scan_errors;
	uint64_t anomaly_total[DLA_NR];
	uint64_t reports, max_outstanding, waiters_seen;
	uint64_t stacks_gc;
	/* /proc walks for waiters no hook saw (see proc_walk_needed) */
	uint64_t proc_walks, walk_busy_calls;
	/* runs of our programs the kernel skipped (bpf_stats recursion_misses:
	 * a program of ours already running on that CPU, or another BPF user's
	 * map syscall there): events we did not see */
	uint64_t kernel_skipped;
	bool skips_counted;	/* else kernel_skipped is unknown, not 0 */
	bool walk_found;
	uint64_t counters[DLC_NR];
	/* the --now scan at start-up (a.scan_at_start), kept for its stacks,
	 * ops and holders; its finds are in the BPF maps, marked seen at start */
	struct daxnow_report start;
	bool start_ran;
	/* holder checks (daxleak_holder.c): by waiter tid, at most every few s */
	struct holder_check *checks;
	size_t nchecks;
	uint64_t checked_ns;
	size_t start_waiters, start_pages;
};

/* daxleak.c: the session */
int daxleak_start(struct leak_ctx *c, const struct leak_args *a);
void daxleak_stop(struct leak_ctx *c);

/* daxleak_args.c: the command line into *a; 0 ok, -1 after --help (exit
 * 0), else the exit code of a usage error (said). */
int leak_parse_args(int argc, char **argv, struct leak_args *a);

/* daxleak_hooks.c: fill the hook table of the opened object, choose each
 * hook's method (probe_select) and apply the era and pairing rules, all
 * before load; after attach, what the attached hooks let this run see. */
void leak_hooks_choose(struct leak_ctx *c, const struct probe_env *env);
void leak_caps_derive(struct leak_ctx *c);

/* daxleak_seed.c: after attach, run the --now scan (c->start) and put what
 * it finds into the maps, marked seen at start. */
void leak_seed_from_scan(struct leak_ctx *c);

/* daxleak_gup.c: FOLL_GET | FOLL_PIN of the running kernel (from its BTF,
 * else the values of the kernels that #define them): the flags that mark a
 * GUP call made by another GUP entry point. */
struct btf;
uint32_t gup_nested_flags(const struct btf *btf);
/* System RAM ranges of IOMEM (/proc/iomem) as pfns [lo, hi], at most max;
 * 0 if unknown. */
int ram_pfn_ranges(const char *iomem, __u64 *lo, __u64 *hi, int max);

/* daxleak_collect.c: read the maps into the report (leak_collect); then,
 * for a report that is printed, build its view (c->groups, c->held, the
 * most held so far): the renderers below only read. */
int leak_collect(struct leak_ctx *c);
void leak_report_build(struct leak_ctx *c);
void leak_report_free(struct leak_ctx *c);
/* daxleak_holder.c: fill each waiter's `now` (who holds its page now). */
void leak_check_holders(struct leak_ctx *c);
void leak_holder_checks_free(struct leak_ctx *c);
/* From a --now scan's waiter: its holder now (pure, unit-tested). */
void holder_now_of(const struct daxnow_report *r, const struct daxnow_waiter *w,
		   struct holder_now *out);
/* daxleak_text.c, daxleak_json.c */
void leak_print_text(FILE *out, const struct leak_ctx *c, bool final);
void leak_print_json(FILE *out, const struct leak_ctx *c, bool final);
void leak_print_folded(FILE *out, const struct leak_ctx *c);
void leak_print_start(FILE *out, const struct leak_ctx *c);
void leak_caps_explain(FILE *out, const struct leak_ctx *c);
void leak_print_start_scan(FILE *out, const struct leak_ctx *c);
/* What the start-up scan says about a tracked page (NULL: nothing). */
const struct daxnow_held *leak_start_held(const struct leak_ctx *c, uint64_t page);
const char *anomaly_name(int t);

/* daxleak_kstack.c: daxtrace's own frames (BPF program, trampoline,
 * kprobe/rethook/ftrace handlers) at the top of a kernel stack */
bool kframe_is_tracer(struct ksyms *ks, uint64_t ip);
/* Drops the leading run of such frames from ips[0..n) in place (zero
 * filled); returns how many. Nothing is dropped if no other frame is left. */
int kstack_trim(struct ksyms *ks, uint64_t *ips, int n);

/* daxleak_usym.c: user stacks through the ELF symbols of the process's files */
void usym_format(uint32_t pid, uint64_t addr, char *buf, size_t len);
void usym_reset(void);
void usym_forget_pids(void);	/* each report: processes change */

#endif
