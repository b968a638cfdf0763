/* daxtop's counters, described once: the column, sort key, JSON key,
 * Prometheus family and label, and the hooks that feed each one. The
 * view, the text and JSON renderers and daxtrace export are all driven
 * from this table; the names of fallback reasons and drops live here too. */
#ifndef DAXTRACE_DAXTOP_COUNTERS_H
#define DAXTRACE_DAXTOP_COUNTERS_H

#include <stdbool.h>
#include "daxtop.h"

/* daxtop's hooks, in the order the session fills them. */
enum daxtop_hook_id {
	HK_PTE_FAULT, HK_PTE_DONE, HK_PMD_FAULT, HK_PMD_DONE, HK_MKWRITE,
	HK_LOAD_HOLE, HK_PMD_LOAD_HOLE, HK_WRITEBACK, HK_UNMAP, HK_BUSY, HK_PMD_ENTRY,
	DAXTOP_NHOOKS,
};

/* A Prometheus counter family the exporter writes per device. */
enum daxtop_family { FAM_FAULTS, FAM_WRITES, FAM_WRITEBACK, FAM_UNMAPS, FAM_BL_WAITS, FAM_NR };

struct daxtop_family_def {
	const char *name;
	const char *help;
};

struct daxtop_counter_def {
	const char *header;	/* text column header */
	int width;		/* text column width */
	const char *sort;	/* daxtop -s name */
	const char *json;	/* key in daxtop -o json rows */
	enum daxtop_family prom;/* exported into this family ... */
	const char *prom_type;	/* ... with type="this" (also per file/process); NULL: none */
	bool prom_bytes;	/* exported as bytes: count x page size */
	int hooks[2];		/* the hooks that feed it (-1: none) */
	/* Its hook may be unavailable on a kernel: then n/a in text, null in
	 * JSON, the family absent in export (never a lying 0). */
	bool optional;
};

extern const struct daxtop_counter_def daxtop_counters[DT_NR_COUNTERS];
extern const struct daxtop_family_def daxtop_families[FAM_NR];

/* Fallback reasons (enum daxtop_fallback) and drops (enum daxtop_drop):
 * JSON keys, Prometheus label values and text. */
const char *daxtop_fallback_name(int reason);
const char *daxtop_drop_name(int drop);

#endif
