/* daxleak's grouping (daxleak_group.c, pure): held pages grouped by
 * culprit (pid, kernel stack, user stack), one extra-reference count per
 * folio (subpages of a large folio share it), seen-at-start pages apart,
 * --min-age honoured, largest group first; a waiter's holder is the oldest
 * entry on its busy folio; the printed report's view (leak_report_build,
 * daxleak_collect.c). Ground truth: the entries built here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "daxleak_report.h"

#define FOLIO_A 0xffffea0000100000ULL	/* an order-9 folio: pages 0..511 */
#define FOLIO_B 0xffffea0000200000ULL
#define FOLIO_C 0xffffea0000300000ULL
#define FOLIO_S 0xffffea0000400000ULL

static struct leak_entry ent(uint64_t folio, uint32_t sub, uint8_t order, uint32_t pid,
			     int kstack, int64_t extra, double age, bool at_start)
{
	struct leak_entry e = { .page = folio + sub * 64ULL, .extra = extra, .age_s = age };

	e.v.folio = folio;
	e.v.subpage = sub;
	e.v.order = order;
	e.v.pid = pid;
	e.v.kstack = kstack;
	e.v.ustack = 7;
	e.v.index = sub;
	e.v.first_ns = (uint64_t)((100 - age) * 1e9);
	e.v.pfn = 0x1000 + sub;
	e.v.flags = at_start ? DL_SEEN_AT_START : 0;
	return e;
}

static struct leak_ctx ctx(struct leak_entry *e, size_t n, double min_age)
{
	struct leak_ctx c;

	memset(&c, 0, sizeof(c));
	c.ents = e;
	c.nents = n;
	c.caps.leaks = true;
	c.caps.release_seen = true;
	c.a.min_age_s = min_age;
	return c;
}

static void test_groups(void **state)
{
	struct leak_entry e[] = {
		/* pid 20: three pages of large folio A, one page of B (extra 1 each) */
		ent(FOLIO_A, 3, 9, 20, 1, 3, 10, false), ent(FOLIO_A, 1, 9, 20, 1, 3, 12, false),
		ent(FOLIO_B, 0, 0, 20, 1, 1, 11, false), ent(FOLIO_A, 2, 9, 20, 1, 3, 9, false),
		/* pid 10: one page, another stack of pid 20: its own group */
		ent(FOLIO_C, 0, 0, 10, 2, 1, 30, false), ent(FOLIO_C, 5, 0, 20, 2, 1, 5, false),
		/* too young for --min-age 2 */
		ent(FOLIO_C, 9, 0, 10, 2, 1, 1, false),
		/* seen at start, culprit unknown */
		ent(FOLIO_S, 0, 0, 0, -1, 1, 50, true),
	};
	struct leak_ctx c = ctx(e, 8, 2);
	size_t ng;
	struct group *g = leak_groups_make(&c, &ng);
	struct big_folio *bf;

	assert_int_equal(ng, 4);
	/* largest first */
	assert_int_equal(g[0].pid, 20);
	assert_int_equal(g[0].n, 4);
	assert_int_equal(g[0].folios, 2);
	assert_int_equal(g[0].extra, 3 + 1);	/* A counted once */
	assert_true(g[0].oldest >= 12 && g[0].oldest < 12.01);
	assert_int_equal(leak_group_big_folios(&c, &g[0], &bf), 1);
	assert_int_equal(bf[0].pages, 3);
	assert_int_equal(leak_folio_pfn(bf[0].e), 0x1000);
	free(bf);
	assert_int_equal(leak_seen_at_start(g, ng, false), 1);
	assert_int_equal(leak_seen_at_start(g, ng, true), 1);
	for (size_t i = 1; i < ng; i++) {
		assert_int_equal(g[i].n, 1);
		if (g[i].seen_at_start)
			assert_int_equal(c.ents[g[i].idx[0]].v.folio, FOLIO_S);
		else
			assert_int_equal(c.ents[g[i].idx[0]].v.folio, FOLIO_C);
	}
	leak_groups_free(g, ng);
}

/* No acquisition hook: only seen-at-start pages (whose release can be
 * seen) are reported. */
static void test_no_leak_caps(void **state)
{
	struct leak_entry e[] = {
		ent(FOLIO_B, 0, 0, 20, 1, 1, 11, false), ent(FOLIO_S, 0, 0, 0, -1, 1, 50, true),
	};
	struct leak_ctx c = ctx(e, 2, 0);
	size_t ng;
	struct group *g;

	c.caps.leaks = false;
	g = leak_groups_make(&c, &ng);
	assert_int_equal(ng, 1);
	assert_true(g[0].seen_at_start);
	leak_groups_free(g, ng);
}

/* One culprit holding many pages (an RDMA registration): 40 large folios
 * of 512 pages in two files, in a shuffled order, plus 4096 small pages.
 * One group; each folio counted once with its first page's extra. */
static void test_many_pages(void **state)
{
	size_t n = 40 * 512 + 4096, k = 0, ng;
	struct leak_entry *e = calloc(n, sizeof(*e));
	struct leak_ctx c;
	struct group *g;

	assert_non_null(e);
	for (uint32_t f = 0; f < 40; f++)
		for (uint32_t sub = 0; sub < 512; sub++) {
			e[k] = ent(FOLIO_A + (uint64_t)f * 512 * 64, sub, 9, 20, 1, 2, 10, false);
			e[k].v.ino = 100 + f % 2;	/* two files, folios interleaved */
			e[k].v.index = (uint64_t)(f / 2) * 512 + sub;
			k++;
		}
	for (uint32_t p = 0; p < 4096; p++, k++)
		e[k] = ent(0xffffea0010000000ULL + (uint64_t)p * 64, 0, 0, 20, 1, 1, 10, false);
	for (size_t i = n - 1; i > 0; i--) {	/* a fixed shuffle */
		size_t j = (i * 2654435761u) % (i + 1);
		struct leak_entry t = e[i];

		e[i] = e[j];
		e[j] = t;
	}
	c = ctx(e, n, 0);
	g = leak_groups_make(&c, &ng);
	assert_int_equal(ng, 1);
	assert_int_equal(g[0].n, n);
	assert_int_equal(g[0].folios, 40 + 4096);
	assert_int_equal(g[0].extra, 40 * 2 + 4096);
	leak_groups_free(g, ng);
	free(e);
}

static void test_holder_of(void **state)
{
	struct leak_entry e[] = {
		ent(FOLIO_A, 3, 9, 20, 1, 3, 10, false), ent(FOLIO_A, 1, 9, 21, 1, 3, 12, false),
		ent(FOLIO_B, 0, 0, 30, 1, 1, 40, false),
	};
	struct leak_ctx c = ctx(e, 3, 0);
	struct waiter_rec w = { .w = { .busy_page = FOLIO_A + 64 * 7, .busy_folio = FOLIO_A } };
	struct waiter_rec none = { .w = { .busy_page = 0 } };
	size_t n;
	const struct leak_entry *h = leak_holder_of(&c, &w, &n);

	assert_non_null(h);
	assert_int_equal(n, 2);
	assert_int_equal(h->v.pid, 21);		/* the oldest reference */
	assert_null(leak_holder_of(&c, &none, &n));
	assert_int_equal(n, 0);
}

/* The printed report's view is built in collection (daxleak_collect.c),
 * so the renderers only read: the groups, the pages they hold, and the
 * most held at any report, kept when fewer are held later. */
static void test_report_build(void **state)
{
	struct leak_entry e[] = {
		ent(FOLIO_A, 3, 9, 20, 1, 3, 10, false), ent(FOLIO_A, 1, 9, 20, 1, 3, 12, false),
		ent(FOLIO_B, 0, 0, 20, 1, 1, 11, false), ent(FOLIO_C, 0, 0, 10, 2, 1, 30, false),
		ent(FOLIO_C, 9, 0, 10, 2, 1, 1, false),		/* too young: not held */
		ent(FOLIO_S, 0, 0, 0, -1, 1, 50, true),
	};
	struct leak_ctx c = ctx(e, 6, 2);

	leak_report_build(&c);
	assert_int_equal(c.ngroups, 3);
	assert_int_equal(c.groups[0].pid, 20);
	assert_int_equal(c.groups[0].n, 3);
	assert_int_equal(c.held, 5);
	assert_int_equal(c.max_outstanding, 5);
	/* grouping sorted the entries: seen-at-start last */
	assert_true(c.ents[5].v.flags & DL_SEEN_AT_START);
	/* a later report holding fewer: its own view, the most held kept */
	c.nents = 1;
	leak_report_build(&c);
	assert_int_equal(c.ngroups, 1);
	assert_int_equal(c.held, 1);
	assert_int_equal(c.max_outstanding, 5);
	leak_report_free(&c);
	assert_null(c.groups);
	assert_int_equal(c.ngroups, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups), cmocka_unit_test(test_no_leak_caps),
		cmocka_unit_test(test_holder_of),
		cmocka_unit_test(test_many_pages), cmocka_unit_test(test_report_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
