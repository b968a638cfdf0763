/* Prometheus text exposition format (version 0.0.4) writer: metric
 * families with # HELP / # TYPE, label escaping, numbers that parse back
 * exactly, and classic histograms from daxtrace's log2 slots. */
#ifndef DAXTRACE_PROM_H
#define DAXTRACE_PROM_H

#include <stdint.h>
#include <stdio.h>
#include "hist.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_MAX_LABELS 8

/* A label set: parallel name/value arrays, n used. Values are escaped on
 * output; names must already be valid ([a-zA-Z_][a-zA-Z0-9_]*). */
struct prom_labels {
	const char *name[PROM_MAX_LABELS];
	const char *value[PROM_MAX_LABELS];
	int n;
};

/* A log2 histogram with 64-bit slots (accumulated over evicted rows). */
struct hist64 {
	uint64_t slots[HIST_SLOTS];
};

struct prom {
	FILE *out;
	const char *family;	/* current family, for sanity checks */
	int errors;		/* samples refused (bad name) */
};

void prom_init(struct prom *p, FILE *out);
/* Start a family: "# HELP name help" and "# TYPE name type". type is
 * counter, gauge, histogram or untyped. */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);
/* One sample line: name{labels} value. labels may be NULL. */
void prom_u64(struct prom *p, const char *name, const struct prom_labels *l, uint64_t v);
void prom_double(struct prom *p, const char *name, const struct prom_labels *l, double v);
/* A family of one unlabelled sample: HELP, TYPE and the value. */
void prom_one_u64(struct prom *p, const char *name, const char *type, const char *help, uint64_t v);
void prom_one_double(struct prom *p, const char *name, const char *type, const char *help, double v);
/* name_bucket{...,le="..."} cumulative over slots, le="+Inf" == name_count,
 * name_sum, name_count. Slot i holds integer values in [2^(i-1), 2^i), so
 * its inclusive upper bound is 2^i - 1 units; `div` converts units to the
 * base unit (1e9 for ns -> s; a division, so le="1.023e-06" is exact). Slots below first_slot are merged into the
 * first bucket; the last slot (a catch-all) only appears in +Inf. */
void prom_hist(struct prom *p, const char *name, const struct prom_labels *l,
	       const struct hist64 *h, int first_slot, double div, double sum);

/* Helpers, exposed for the unit tests. */
void prom_escape_label(FILE *out, const char *s);	/* \ " newline */
void prom_escape_help(FILE *out, const char *s);	/* \ newline */
/* Shortest %g form that parses back to the same double; NaN, +Inf, -Inf. */
void prom_fmt_double(char *buf, size_t len, double v);
int prom_valid_name(const char *s);

void labels_add(struct prom_labels *l, const char *name, const char *value);

void hist64_add(struct hist64 *dst, const struct hist *src);
void hist64_merge(struct hist64 *dst, const struct hist64 *src);
uint64_t hist64_total(const struct hist64 *h);

#endif
