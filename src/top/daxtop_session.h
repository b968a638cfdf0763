/* daxtop's session: it alone owns the BPF object (skeleton, maps,
 * rodata). Everything else, the renderers and daxtrace export, works on
 * the snapshots it takes and the few operations below. */
#ifndef DAXTRACE_DAXTOP_SESSION_H
#define DAXTRACE_DAXTOP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "daxtop_view.h"
#include "era.h"
#include "probe.h"

/* What to trace: kernel-side filters and sizes. dev -1 = any device. */
struct daxtop_config {
	uint32_t pid;
	uint64_t cgroup_id;
	long dev;
	uint32_t max_rows;
	bool no_fentry, no_kprobe;
	bool lat_all;		/* time every fault, not a sample at high rates */
};

/* The options daxtop and daxtrace export share, the session's filters and
 * sizes: -p/--pid, --dev, --max-rows, --lat-all, --no-fentry, --no-kprobe.
 * A tool lists DAXTOP_CONFIG_OPTIONS in its getopt_long table and passes
 * what getopt returns to daxtop_config_opt. */
enum daxtop_config_opt {
	DTO_DEV = 0x300, DTO_MAX_ROWS, DTO_LAT_ALL, DTO_NO_FENTRY, DTO_NO_KPROBE,
};
#define DAXTOP_CONFIG_OPTIONS \
	{ "pid", required_argument, NULL, 'p' }, { "dev", required_argument, NULL, DTO_DEV }, \
	{ "max-rows", required_argument, NULL, DTO_MAX_ROWS }, \
	{ "lat-all", no_argument, NULL, DTO_LAT_ALL }, \
	{ "no-fentry", no_argument, NULL, DTO_NO_FENTRY }, \
	{ "no-kprobe", no_argument, NULL, DTO_NO_KPROBE }

/* The defaults (any pid and device, 4096 rows). */
void daxtop_config_init(struct daxtop_config *cfg);
/* 0: opt was one of them, applied; 1: not one of them; EXIT_USAGE after
 * the message. */
int daxtop_config_opt(int opt, const char *arg, struct daxtop_config *cfg);

struct daxtop_bpf;

struct daxtop_ctx {
	struct daxtop_bpf *skel;	/* the session's alone (daxtop_session.c) */
	struct hook *hooks;
	int nhooks;
	struct daxtop_config cfg;	/* as started */
	struct era_info era;
	struct col_avail avail;
	struct view_opts vo;
	/* cur: the latest snapshot; prev: the one before (prev.rows NULL: none) */
	struct snapshot prev, cur;
	double interval_s;
	uint64_t attach_ns;	/* when the probes went live: start of totals */
	bool lat_all;		/* every fault timed (else sampled at high rates) */
	bool row_cache;		/* faults gathered per CPU (include/daxtop.h) */
	bool no_take_delete;	/* the kernel has no lookup-and-delete (before 5.14) */
	bool skips_counted;	/* the kernel counts the runs it skips (else
				 * "skipped" is unknown, not 0) */
	bool resolve_paths;	/* collection names every row's file from /proc while its
				 * process lives (daxtop's views; export names its own) */
	struct slot_seen *seen;	/* per CPU: what its row cache held at the last snapshot */
	char host[128], kernel[128], mounts[512], pmem[128], hooksum[64];
};

/* open -> configure -> choose hooks -> load -> attach; hooks has DAXTOP_NHOOKS
 * entries. On failure the message is printed; call daxtop_stop either way. */
int daxtop_start(struct daxtop_ctx *c, struct hook *hooks, const struct daxtop_config *cfg);
void daxtop_stop(struct daxtop_ctx *c);

/* One collection: the previous snapshot is dropped, cur becomes prev and a
 * new one is taken into cur (rows sorted by key, row caches merged, paths
 * learnt, globals read). -1: out of memory. */
int daxtop_advance(struct daxtop_ctx *c);
/* cur's base for interval deltas: prev, or NULL before a second snapshot. */
const struct snapshot *daxtop_base(const struct daxtop_ctx *c);

/* For daxtrace export, which keeps counters monotonic while the row map
 * never fills with dead processes: read a row's final values and remove
 * it from the map (one step where the kernel can, 5.14+). -1: gone already
 * or failed. Never for a row whose counts wait in a CPU's row cache
 * (view_row.cached): they would make it again. */
int daxtop_row_fold(struct daxtop_ctx *c, const struct daxtop_key *k, struct daxtop_row *out);
/* Size of the kernel-side row map (--max-rows). */
uint32_t daxtop_row_capacity(const struct daxtop_ctx *c);
/* Does the session's device filter (--dev) let this device through? */
bool daxtop_dev_wanted(const struct daxtop_ctx *c, uint32_t dev);

#endif
