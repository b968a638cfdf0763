/* daxtop's data model: snapshots of the BPF row map (taken by the
 * session, daxtop_session.h), interval deltas, grouping, sorting; shared by
 * the batch, JSON and interactive views and by daxtrace export. No BPF. */
#ifndef DAXTRACE_DAXTOP_VIEW_H
#define DAXTRACE_DAXTOP_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include "daxtop.h"
#include "daxtop_counters.h"

enum group_by { GROUP_PIDFILE, GROUP_PID, GROUP_FILE };

/* Sortable columns, in display order. */
enum col {
	COL_PID, COL_COMM,
	COL_CNT,	/* COL_OF(DT_x): counter x, in daxtop_counters order */
	COL_BLWMS = COL_CNT + DT_NR_COUNTERS, COL_LATP50, COL_LATP99, COL_FILE,
	COL_FAULTS,	/* PTE + PMD + PMDFB: the default sort key, not a column */
	COL_NR,
};
#define COL_OF(counter) (COL_CNT + (counter))

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

/* Counters without data on this kernel: an optional counter whose hooks
 * did not attach (daxtop_counters.h). Zero: every counter has data. */
struct col_avail {
	bool missing[DT_NR_COUNTERS];
};

/* What a CPU's row cache held at a snapshot (by key, sum of counts). */
struct slot_seen {
	struct daxtop_key key;
	uint64_t sum;
};

void snapshot_free(struct snapshot *s);
/* qsort/bsearch order of rows: pid, dev, ino. */
int daxtop_key_cmp(const void *a, const void *b);
/* Add what each CPU's fault slot holds to a snapshot whose rows are
 * sorted (and sorted again on return): event and fault counts, and the
 * counts its row cache gathered, onto their row, made (up to room rows) if
 * only a cache knows it. A row whose cached counts grew since seen[] (per
 * CPU, updated; may be NULL) gets last_ns = s->t_ns. */
void slots_merge(struct snapshot *s, int room, const struct fault_slot *slots, int ncpu,
		 struct slot_seen *seen);
/* rows = group(cur - base) filtered and sorted; caller frees *out. base may be NULL. */
int view_build(const struct view_opts *vo, const struct snapshot *cur,
	       const struct snapshot *base, struct view_row **out);
void snapshot_hist_diff(struct hist *out, const struct snapshot *cur,
			const struct snapshot *base, int id);

int col_by_name(const char *name);
const char *col_name(int col);
/* The sort key dir (+1, -1) steps from c: faults, then the columns in
 * display order, round (the screen's < and > keys). */
enum col col_step(enum col c, int dir);
uint64_t row_value(const struct view_row *v, int col);
uint64_t total_drops(const struct snapshot *s, const struct snapshot *base);
/* Faults timed for the latency columns and faults completed, cur - base. */
void lat_timed(const struct snapshot *cur, const struct snapshot *base,
	       uint64_t *timed, uint64_t *faults);

#endif
