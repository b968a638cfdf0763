/* daxleak reports, inside src/leak/: what the collector, the grouping and
 * the text/folded/JSON writers share (daxleak_collect.c, daxleak_group.c,
 * daxleak_fmt.c, daxleak_text.c, daxleak_json.c). */
#ifndef DAXTRACE_DAXLEAK_REPORT_H
#define DAXTRACE_DAXLEAK_REPORT_H

#include "daxleak_int.h"

/* A culprit: the reported pages one (pid, kernel stack, user stack) took,
 * or those seen at start (culprit unknown). idx: into c->ents. */
struct group {
	int32_t kstack, ustack;
	uint32_t pid;
	bool seen_at_start;	/* references older than daxleak: culprit unknown */
	size_t *idx, n, cap;
	size_t folios;
	int64_t extra;		/* one count per folio: subpages share it */
	double oldest;
};

/* A large folio of a group (order > 0): one count for all its pages, so
 * it is shown once with its order and extra references, and how many of
 * its pages were taken. */
struct big_folio {
	const struct leak_entry *e;	/* its first held page */
	size_t pages;
};

/* ---- grouping (daxleak_group.c, pure) ---- */
/* Groups of the reported entries, largest first (sorts c->ents). */
struct group *leak_groups_make(struct leak_ctx *c, size_t *ng);
void leak_groups_free(struct group *g, size_t n);
/* The group's large folios in *out (free it); returns how many. */
size_t leak_group_big_folios(const struct leak_ctx *c, const struct group *g,
			     struct big_folio **out);
uint64_t leak_folio_pfn(const struct leak_entry *e);
/* Who holds the busy folio a waiter waits on (the oldest entry), and how
 * many tracked pages of it are held; NULL if none. */
const struct leak_entry *leak_holder_of(const struct leak_ctx *c, const struct waiter_rec *w,
					size_t *nheld);
/* Seen-at-start groups, or their pages. */
size_t leak_seen_at_start(const struct group *g, size_t ng, bool pages);

/* ---- names and formats (daxleak_fmt.c) ---- */
extern const char *const anomaly_help[DLA_NR];
const char *leak_gup_name(const struct leak_ctx *c, int g);
int leak_idle(const struct leak_ctx *c);
double leak_now_age(const struct leak_ctx *c, uint64_t ns);
void leak_stack_ips(const struct leak_ctx *c, int id, uint64_t *ips);
/* A kernel stack without our own frames on top (daxleak_kstack.c). */
void leak_kstack_ips(const struct leak_ctx *c, int id, uint64_t *ips);
void leak_kframe(const struct leak_ctx *c, uint64_t ip, char *buf, size_t len);
const char *leak_path_of(uint32_t pid, uint32_t dev, uint64_t ino, const struct leak_ctx *c);
void leak_fmt_dev(uint32_t dev, char *buf, size_t len);
void leak_fmt_pfn(uint64_t pfn, char *buf, size_t len);
/* The page a waiter waits on: pfn, file offset, order. */
void leak_fmt_busy(const struct dl_waiter *w, char *buf, size_t len);

#endif
