/* daxtrace export: Prometheus metrics from the tools' sessions, each
 * behind one source interface: daxtop (export_top.c) and daxleak
 * (export_leak.c). export.c runs them and publishes the exposition.
 *
 * The top model: daxtop's BPF row map is a staging area. Each interval the
 * top source takes a snapshot through daxtop's session and has it fold
 * rows of exited processes (and, under map pressure, idle rows) into
 * user-space totals, so counters stay monotonic while the map never fills
 * with dead processes. Per-file / per-pid series are optional and capped. */
#ifndef DAXTRACE_EXPORT_H
#define DAXTRACE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include "daxtop.h"
#include "daxtop_session.h"
#include "probe.h"
#include "prom.h"

/* --- metric sources ---
 *
 * A source is started in turn (top first), asked to collect once per
 * interval, and to write its metric families into the exposition. It must
 * only write families whose names are its own (see
 * docs/daxtrace-export.8), each once. The top source is required: export
 * stops if it cannot start. Another that fails to start is reported on
 * stderr and skipped; its daxtrace_source_up{source=...} gauge is 0. */
struct export_opts;

/* A loss a source counts itself: exported as
 * daxtrace_events_dropped_total{source=NAME,reason=REASON}. */
struct export_drop {
	const char *reason;
	uint64_t n;
};

struct export_source {
	const char *name;	/* "leak": label value of daxtrace_source_up */
	/* Returns 0 and sets *state, or -1 after printing why. */
	int (*start)(void **state, const struct export_opts *o);
	int (*collect)(void *state);		/* once per interval; -1 = failed */
	void (*write)(void *state, struct prom *p);
	void (*stop)(void *state);
	/* Optional: up to max drop counters into out; returns how many. */
	int (*drops)(void *state, struct export_drop *out, int max);
	/* Optional: its hooks, for daxtrace_probe_attached{tool=name}. */
	int (*hooks)(void *state, const struct hook **out);
};

extern const struct export_source export_source_top;	/* export_top.c */
extern const struct export_source export_source_leak;	/* export_leak.c */

enum export_split { SPLIT_NONE, SPLIT_FILE, SPLIT_PID };

struct export_opts {
	const char *listen;		/* NULL = no HTTP */
	const char *textfile;		/* NULL = no textfile */
	double interval_s;
	enum export_split split;
	uint32_t max_series;
	struct daxtop_config top;	/* -p, --dev, --max-rows, --lat-all, --no-fentry, --no-kprobe */
	double leak_min_age_s;		/* extra references younger than this are not counted */
	bool no_leak;
};

/* --- the accumulation model (export_model.c; no BPF, unit-testable) --- */

struct acc {
	uint64_t cnt[DT_NR_COUNTERS];
	uint64_t bl_wait_ns;
	uint64_t lat_ns;
	struct hist64 lat;
};

void acc_add_row(struct acc *a, const struct daxtop_row *r);
void acc_merge(struct acc *a, const struct acc *b);

/* Identity of a series: (dev, 0) per device, (dev, ino) per file, (pid, 0) per process. */
struct skey {
	uint64_t a, b;
};

/* A series: one device, or one file / process when split. */
struct series {
	struct skey key;
	uint32_t dev;
	uint64_t ino;
	uint32_t pid;
	char label[256];	/* file path or comm; "" until known */
	struct acc retired;	/* rows already folded out of the BPF map */
	struct acc live;	/* rows in the map at the last collection */
	uint64_t last_total;	/* to notice change */
	double last_change_s;	/* monotonic seconds */
	int live_rows;
	bool other;		/* the "other" series */
};

struct series_set {
	struct series *v;	/* sorted by key */
	int n, cap;
	int limit;		/* --max-series */
	struct series other;
	uint64_t folded_total;	/* distinct keys ever folded into "other" */
	uint64_t retired_total;	/* series dropped after idling */
	/* keys currently folded: must stay folded while their rows live */
	struct folded_key {
		struct skey key;
		int live_rows;
	} *folded;
	int nfolded, capfolded;
};

void series_init(struct series_set *s, int limit);
void series_free(struct series_set *s);
/* The series a key accumulates into (creating it, or folding into
 * "other" when the limit is reached). Never NULL. */
struct series *series_get(struct series_set *s, struct skey key, bool *created);
/* A row of this key is still in the BPF map (call after series_get). */
void series_mark_live(struct series_set *s, struct series *se, struct skey key,
		      const struct daxtop_row *r);
/* Start of a collection: zero live sums. */
void series_begin(struct series_set *s);
/* End: drop series with no live rows and no change for idle_s; clear
 * folded keys that no longer have rows. */
void series_end(struct series_set *s, double now_s, double idle_s);
uint64_t acc_total(const struct acc *a);

/* --- daxleak gauges from one collection (export_leak.c; unit-testable) --- */

struct leak_ctx;

/* When the exporter first saw a waiter: the start of a wait no hook saw
 * (it began before we attached, or the busy-page hook is unavailable). */
struct waiter_seen {
	uint32_t tid;
	uint64_t first_ns;
};

struct leak_summary {
	uint64_t pages, folios;		/* with extra references, older than min_age */
	double oldest_s;		/* age of the oldest of those; 0 when none */
	uint64_t waiters_s, waiters_d;	/* break_layouts waiters asleep, by state */
	double oldest_waiter_s;		/* 0 when none */
};

/* Gauges from c's last collection at now_ns. *seen (n entries, malloc'ed)
 * carries first sightings of waiters from call to call. -1: out of memory. */
int leak_summarize(const struct leak_ctx *c, double min_age_s, uint64_t now_ns,
		   struct waiter_seen **seen, size_t *nseen, struct leak_summary *out);

#endif
