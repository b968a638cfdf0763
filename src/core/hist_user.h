/* User-space side of log2 histograms: merge, totals, percentiles, rendering. */
#ifndef DAXTRACE_HIST_USER_H
#define DAXTRACE_HIST_USER_H

#include <stdint.h>
#include <stdio.h>
#include "hist.h"
#include "json.h"

void hist_merge(struct hist *dst, const struct hist *src);
/* dst = a - b, slot by slot (interval view of two cumulative snapshots). */
void hist_diff(struct hist *dst, const struct hist *a, const struct hist *b);
uint64_t hist_total(const struct hist *h);
/* Upper bound of the slot holding the p-th percentile (0 < p <= 100); 0 if empty. */
uint64_t hist_percentile(const struct hist *h, double p);
/* Classic two-column log2 table with stars; values divided by `div` (e.g. 1000 for usecs). */
void hist_print(FILE *out, const struct hist *h, const char *unit, uint64_t div);
/* {"unit":..,"total":..,"buckets":[{"le":..,"count":..},...]} (non-empty slots only) */
void hist_json(struct json *j, const struct hist *h, const char *unit, uint64_t div);

#endif
