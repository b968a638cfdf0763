/* export's daxleak gauges: pages and distinct folios older than the
 * threshold, the oldest age, waiters by state, and the length of waits
 * no hook saw starting (counted from the exporter's first sighting). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "daxleak_int.h"
#include "export.h"

#define S_NS 1000000000ULL

static struct leak_ctx ctx;
static struct leak_entry ents[8];
static struct waiter_rec waiters[4];
static struct waiter_seen *seen;	/* carried between summaries, like the exporter */
static size_t nseen;

/* A fresh collection; forget = also forget the waiters seen before. */
static void collection(bool leaks, bool forget)
{
	if (forget) {
			seen = NULL;
		nseen = 0;
	}
	memset(&ctx, 0, sizeof(ctx));
	memset(ents, 0, sizeof(ents));
	memset(waiters, 0, sizeof(waiters));
	ctx.caps.leaks = leaks;
	ctx.ents = ents;
	ctx.waiters = waiters;
}

static struct leak_summary summarize(double min_age_s, uint64_t now_s)
{
	struct leak_summary s;

	assert_int_equal(leak_summarize(&ctx, min_age_s, now_s * S_NS, &seen, &nseen, &s), 0);
	return s;
}

static void add_ent(uint64_t page, uint64_t folio, int64_t extra, double age)
{
	struct leak_entry *e = &ents[ctx.nents++];

	e->page = page;
	e->v.folio = folio;
	e->extra = extra;
	e->age_s = age;
}

static void add_waiter(uint32_t tid, char state, double waited_s)
{
	struct waiter_rec *w = &waiters[ctx.nwaiters++];

	w->w.tid = tid;
	w->w.pid = tid;
	w->state = state;
	w->waited_s = waited_s;
}

static void test_folios_over_threshold(void **state)
{
	struct leak_summary s;

	collection(true, false);
	add_ent(0x1000, 0x1000, 1, 9.0);	/* order-0 folio */
	add_ent(0x2040, 0x2000, 1, 6.0);	/* two subpages of one large folio */
	add_ent(0x2080, 0x2000, 1, 7.5);
	add_ent(0x3000, 0x3000, 1, 4.9);	/* too young */
	add_ent(0x4000, 0, 2, 5.0);		/* no folio recorded: the page is its own */
	s = summarize(5.0, 100);
	assert_int_equal(s.pages, 4);
	assert_int_equal(s.folios, 3);
	assert_true(s.oldest_s == 9.0);
	assert_int_equal(s.waiters_s + s.waiters_d, 0);
	assert_true(s.oldest_waiter_s == 0);
}

static void test_nothing_old_enough(void **state)
{
	struct leak_summary s;

	collection(true, false);
	add_ent(0x1000, 0x1000, 3, 1.0);
	s = summarize(5.0, 100);
	assert_int_equal(s.pages, 0);
	assert_int_equal(s.folios, 0);
	assert_true(s.oldest_s == 0);
	/* threshold 0 counts it */
	s = summarize(0, 100);
	assert_int_equal(s.folios, 1);
	assert_true(s.oldest_s == 1.0);
}

static void test_no_leak_capability_counts_nothing(void **state)
{
	struct leak_summary s;

	collection(false, true);
	add_ent(0x1000, 0x1000, 1, 60.0);
	s = summarize(5.0, 100);
	assert_int_equal(s.pages, 0);
	assert_int_equal(s.folios, 0);
}

static void test_seen_at_start_needs_only_release(void **state)
{
	struct leak_summary s;

	collection(false, true);
	ctx.caps.release_seen = true;	/* e.g. no GUP hook, but the refcount scan */
	add_ent(0x1000, 0x1000, 1, 30.0);
	ents[0].v.flags = DL_SEEN_AT_START;
	add_ent(0x2000, 0x2000, 1, 40.0);	/* taken since attach: unseen taking */
	s = summarize(5.0, 100);
	assert_int_equal(s.pages, 1);
	assert_int_equal(s.folios, 1);
	assert_true(s.oldest_s == 30.0);
	ctx.caps.release_seen = false;
	s = summarize(5.0, 100);
	assert_int_equal(s.pages, 0);
}

static void test_waiters_by_state_and_age(void **state)
{
	struct leak_summary s;

	collection(true, true);
	add_waiter(10, 'S', 12.0);	/* the busy-page hook saw it start 12 s ago */
	add_waiter(11, 'D', 0);		/* /proc only: start unknown */
	add_waiter(12, 'R', 3.0);	/* woken: not waiting */
	s = summarize(5.0, 100);
	assert_int_equal(s.waiters_s, 1);
	assert_int_equal(s.waiters_d, 1);
	assert_true(s.oldest_waiter_s == 12.0);
	assert_int_equal(nseen, 2);

	/* 40 s later the /proc-only waiter has waited at least 40 s */
	s = summarize(5.0, 140);
	assert_true(s.oldest_waiter_s == 40.0);

	/* it goes away and another task starts waiting: counted from 0 */
	collection(true, false);
	add_waiter(13, 'D', 0);
	s = summarize(5.0, 150);
	assert_int_equal(s.waiters_d, 1);
	assert_int_equal(s.waiters_s, 0);
	assert_true(s.oldest_waiter_s == 0);
	assert_int_equal(nseen, 1);

	/* no waiters: gauges back to 0, nothing remembered */
	collection(true, false);
	s = summarize(5.0, 160);
	assert_int_equal(s.waiters_d + s.waiters_s, 0);
	assert_true(s.oldest_waiter_s == 0);
	assert_int_equal(nseen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folios_over_threshold),
		cmocka_unit_test(test_nothing_old_enough),
		cmocka_unit_test(test_no_leak_capability_counts_nothing),
		cmocka_unit_test(test_seen_at_start_needs_only_release),
		cmocka_unit_test(test_waiters_by_state_and_age),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
