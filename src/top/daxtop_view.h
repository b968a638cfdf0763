/* daxtop's data model: snapshots of the BPF row map, interval deltas,
 * grouping, sorting; shared by the batch, JSON and interactive views. */
#ifndef DAXTRACE_DAXTOP_VIEW_H
#define DAXTRACE_DAXTOP_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include "daxtop.h"
#include "era.h"
#include "probe.h"

enum group_by { GROUP_PIDFILE, GROUP_PID, GROUP_FILE };

/* Sortable columns, in display order. */
enum col {
	COL_PID, COL_COMM, COL_PTE, COL_PMD, COL_PMDFB, COL_WRITE, COL_MKWR, COL_HOLE,
	COL_WB, COL_UNMAP, COL_BLWAIT, COL_BLWMS, COL_LATP50, COL_LATP99, COL_FILE,
	COL_FAULTS,	/* PTE + PMD + PMDFB: the default sort key, not a column */
	COL_NR,
};

struct view_row {
	struct daxtop_key key;	/* pid 0 when grouped by file; dev/ino 0 when by pid */
	struct daxtop_row r;
	int nfiles;		/* files folded into a per-pid row */
	bool cached;		/* some of its counts wait in a CPU's row cache */
};

struct snapshot {
	struct view_row *rows;
	int n;
	uint64_t t_ns;
	uint64_t prev_clock_ns;	/* clock published before: rows with an older last_ns were idle since */
	struct hist hists[H_NR];
	uint64_t fallback[FB_NR];
	uint64_t drops[DROP_NR];
	uint64_t events;
	uint64_t faults;	/* completed PTE and PMD faults (timed or not) */
	uint64_t missed_runs;	/* program runs the kernel skipped (recursion) */
};

struct view_opts {
	enum group_by group;
	enum col sort;
	bool ascending;
	int top;		/* 0 = all rows */
	const char *comm;	/* exact comm filter, user side */
	const char *path_prefix;
};

/* Which columns have data on this kernel (hooks that attached). */
struct col_avail {
	bool unmap, blwait;
};

/* What a CPU's row cache held at a snapshot (by key, sum of counts). */
struct slot_seen {
	struct daxtop_key key;
	uint64_t sum;
};

struct daxtop_ctx {
	struct daxtop_bpf *skel;
	struct hook *hooks;
	int nhooks;
	struct era_info era;
	struct col_avail avail;
	struct view_opts vo;
	struct snapshot first, prev, cur;
	double interval_s;
	uint64_t attach_ns;	/* when the probes went live: start of totals */
	bool lat_all;		/* every fault timed (else sampled at high rates) */
	bool row_cache;		/* faults gathered per CPU (include/daxtop.h) */
	struct slot_seen *seen;	/* per CPU: what its row cache held at the last snapshot */
	char host[128], kernel[128], mounts[512], pmem[128], hooksum[64];
};

/* What to trace: kernel-side filters and sizes. dev -1 = any device. */
struct daxtop_config {
	uint32_t pid;
	uint64_t cgroup_id;
	long dev;
	uint32_t max_rows;
	bool no_fentry, no_kprobe;
	bool lat_all;		/* time every fault, not a sample at high rates */
};

#define DAXTOP_NHOOKS 11

/* open -> configure -> choose hooks -> load -> attach; hooks has DAXTOP_NHOOKS
 * entries. On failure the message is printed; call daxtop_stop either way. */
int daxtop_start(struct daxtop_ctx *c, struct hook *hooks, const struct daxtop_config *cfg);
void daxtop_stop(struct daxtop_ctx *c);

int snapshot_take(struct daxtop_ctx *c, struct snapshot *s);
/* Tell BPF the time (CLOCK_MONOTONIC ns) to stamp on active rows. */
void clock_publish(struct daxtop_ctx *c, uint64_t now);
void snapshot_free(struct snapshot *s);
/* Add what each CPU's fault slot holds to a snapshot whose rows are
 * sorted (and sorted again on return): event and fault counts, and the
 * counts its row cache gathered, onto their row, made (up to room rows) if
 * only a cache knows it. A row whose cached counts grew since seen[] (per
 * CPU, updated; may be NULL) gets last_ns = s->t_ns. */
void slots_merge(struct snapshot *s, int room, const struct fault_slot *slots, int ncpu,
		 struct slot_seen *seen);
/* rows = group(cur - base) filtered and sorted; caller frees *out. base may be NULL. */
int view_build(const struct daxtop_ctx *c, const struct snapshot *cur,
	       const struct snapshot *base, struct view_row **out);
void snapshot_hist_diff(struct hist *out, const struct snapshot *cur,
			const struct snapshot *base, int id);

int col_by_name(const char *name);
const char *col_name(int col);
uint64_t row_value(const struct view_row *v, int col);
uint64_t total_drops(const struct snapshot *s, const struct snapshot *base);
/* Faults timed for the latency columns and faults completed, cur - base. */
void lat_timed(const struct snapshot *cur, const struct snapshot *base,
	       uint64_t *timed, uint64_t *faults);

#endif
