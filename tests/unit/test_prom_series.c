/* export's bounded series: the cap, folding into "other" that stays
 * stable while a key's rows live, retirement of idle series, and totals
 * that never go down when rows move from the BPF map into user space. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "export.h"

static struct skey K(uint64_t a) { return (struct skey){ a, 0 }; }

static struct daxtop_row row(uint64_t pte)
{
	struct daxtop_row r = {};

	r.cnt[DT_PTE] = pte;
	r.lat.slots[12] = pte;
	r.lat_ns = pte * 3000;
	return r;
}

static uint64_t total_pte(const struct series *se)
{
	return se->retired.cnt[DT_PTE] + se->live.cnt[DT_PTE];
}

static void test_cap_and_other(void **state)
{
	struct series_set s;
	bool created;

	series_init(&s, 3);
	for (uint64_t k = 1; k <= 3; k++) {
		series_get(&s, K(k * 10), &created);
		assert_true(created);
	}
	assert_int_equal(s.n, 3);
	/* the fourth and fifth keys fold into "other", counted once each */
	assert_true(series_get(&s, K(5), &created)->other);
	assert_false(created);
	assert_true(series_get(&s, K(5), NULL)->other);
	assert_true(series_get(&s, K(99), NULL)->other);
	assert_int_equal(s.folded_total, 2);
	/* existing keys still find their own series; sorted lookup */
	assert_true(series_get(&s, K(20), NULL)->key.a == 20);
	assert_true(series_get(&s, (struct skey){ 20, 1 }, NULL)->other);
	assert_int_equal(s.n, 3);
	series_free(&s);
}

/* A folded key with live rows stays folded even when a slot frees up:
 * otherwise "other" would go down and the new series start mid-count. */
static void test_fold_is_sticky_while_rows_live(void **state)
{
	struct series_set s;
	struct daxtop_row r1 = row(5), r2 = row(7);
	struct series *se;
	uint64_t other_before;

	series_init(&s, 1);
	/* collection 1: key 1 gets the slot, key 2 is folded */
	series_begin(&s);
	se = series_get(&s, K(1), NULL);
	series_mark_live(&s, se, K(1), &r1);
	se = series_get(&s, K(2), NULL);
	assert_true(se->other);
	series_mark_live(&s, se, K(2), &r2);
	series_end(&s, 100, 300);
	assert_int_equal(total_pte(&s.other), 7);
	/* collection 2: key 1's rows were folded out (exited) into retired;
	 * after 300 s without change its series is dropped */
	series_begin(&s);
	se = series_get(&s, K(1), NULL);
	acc_add_row(&se->retired, &r1);
	se = series_get(&s, K(2), NULL);
	series_mark_live(&s, se, K(2), &r2);
	series_end(&s, 450, 300);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.retired_total, 1);
	other_before = total_pte(&s.other);
	/* collection 3: key 2 still lives: still folded, "other" keeps it */
	series_begin(&s);
	se = series_get(&s, K(2), NULL);
	assert_true(se->other);
	r2.cnt[DT_PTE] = 9;
	series_mark_live(&s, se, K(2), &r2);
	series_end(&s, 460, 300);
	assert_true(total_pte(&s.other) >= other_before);
	assert_int_equal(total_pte(&s.other), 9);
	/* collection 4: key 2's row is folded out: its final value moves to
	 * other.retired, the key is forgotten, and "other" does not go down */
	series_begin(&s);
	se = series_get(&s, K(2), NULL);
	r2.cnt[DT_PTE] = 10;
	acc_add_row(&se->retired, &r2);
	series_end(&s, 470, 300);
	assert_int_equal(total_pte(&s.other), 10);
	assert_int_equal(s.nfolded, 0);
	/* a later key gets the free slot */
	assert_false(series_get(&s, K(3), NULL)->other);
	series_free(&s);
}

static void test_live_series_not_retired(void **state)
{
	struct series_set s;
	struct daxtop_row r = row(1);
	struct series *se;

	series_init(&s, 10);
	for (int t = 0; t < 5; t++) {
		series_begin(&s);
		se = series_get(&s, K(1), NULL);
		series_mark_live(&s, se, K(1), &r);	/* same value: no change */
		series_end(&s, 1000.0 * t, 300);
	}
	assert_int_equal(s.n, 1);
	/* idle_s 0: never retired (devices) */
	series_begin(&s);
	series_end(&s, 1e9, 0);
	assert_int_equal(s.n, 1);
	series_free(&s);
}

static void test_acc(void **state)
{
	struct acc a = {}, b = {};
	struct daxtop_row r = row(4);

	r.cnt[DT_BL_WAITS] = 2;
	r.bl_wait_ns = 1000;
	acc_add_row(&a, &r);
	acc_add_row(&a, &r);
	assert_int_equal(a.cnt[DT_PTE], 8);
	assert_int_equal(a.lat.slots[12], 8);
	assert_int_equal(a.lat_ns, 24000);
	assert_int_equal(a.bl_wait_ns, 2000);
	acc_merge(&b, &a);
	acc_merge(&b, &a);
	assert_int_equal(b.cnt[DT_BL_WAITS], 8);
	assert_int_equal(hist64_total(&b.lat), 16);
	assert_int_equal(acc_total(&b), 16 + 8 + 4000);
}

static void test_many_keys_sorted(void **state)
{
	struct series_set s;

	series_init(&s, 1000);
	/* insert in a scrambled order, find all again */
	for (uint64_t i = 0; i < 1000; i++)
		series_get(&s, (struct skey){ (i * 7919) % 1000, i & 1 }, NULL);
	assert_int_equal(s.n, 1000);
	for (int i = 1; i < s.n; i++)
		assert_true(s.v[i - 1].key.a < s.v[i].key.a ||
			    (s.v[i - 1].key.a == s.v[i].key.a && s.v[i - 1].key.b < s.v[i].key.b));
	for (uint64_t i = 0; i < 1000; i++) {
		struct skey k = { (i * 7919) % 1000, i & 1 };
		struct series *se = series_get(&s, k, NULL);

		assert_false(se->other);
		assert_true(se->key.a == k.a && se->key.b == k.b);
	}
	assert_int_equal(s.folded_total, 0);
	series_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_and_other),
		cmocka_unit_test(test_fold_is_sticky_while_rows_live),
		cmocka_unit_test(test_live_series_not_retired),
		cmocka_unit_test(test_acc),
		cmocka_unit_test(test_many_keys_sorted),
	};

	return cmocka_run_group_tests_name("prom_series", tests, NULL, NULL);
}
