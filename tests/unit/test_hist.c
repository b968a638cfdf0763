/* log2 histograms: slotting (same function as BPF), percentiles, rendering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
typedef uint64_t __u64;
#define __sync_fetch_and_add(p, v) (*(p) += (v))
#define __noinline __attribute__((noinline))
#include "../../bpf/core/hist.bpf.h"
#include "hist_user.h"

static void test_slots(void **state)
{
	assert_int_equal(log2_slot(0), 0);
	assert_int_equal(log2_slot(1), 1);
	assert_int_equal(log2_slot(2), 2);
	assert_int_equal(log2_slot(3), 2);
	assert_int_equal(log2_slot(4), 3);
	assert_int_equal(log2_slot(1023), 10);
	assert_int_equal(log2_slot(1024), 11);
	assert_int_equal(log2_slot(1ull << 40), 41);
	assert_int_equal(log2_slot(~0ull), 64);
}

static void test_add_and_total(void **state)
{
	struct hist h = {};

	for (uint64_t v = 0; v < 1000; v++)
		hist_add(&h, v * 1000);
	hist_add(&h, ~0ull);	/* clamps into the last slot */
	assert_int_equal(hist_total(&h), 1001);
	assert_int_equal(h.slots[HIST_SLOTS - 1], 1);
}

static void test_percentiles(void **state)
{
	struct hist h = {};

	assert_int_equal(hist_percentile(&h, 50), 0);
	for (int i = 0; i < 90; i++)
		hist_add(&h, 1500);	/* slot 11: 1024..2047 */
	for (int i = 0; i < 10; i++)
		hist_add(&h, 100000);	/* slot 17: 65536..131071 */
	assert_int_equal(hist_percentile(&h, 50), 2047);
	assert_int_equal(hist_percentile(&h, 90), 2047);
	assert_int_equal(hist_percentile(&h, 91), 131071);
	assert_int_equal(hist_percentile(&h, 99), 131071);
}

static void test_diff_merge(void **state)
{
	struct hist a = {}, b = {}, d;

	hist_add(&a, 5); hist_add(&a, 5); hist_add(&a, 500);
	hist_add(&b, 5);
	hist_diff(&d, &a, &b);
	assert_int_equal(hist_total(&d), 2);
	hist_merge(&d, &b);
	assert_int_equal(hist_total(&d), 3);
	hist_diff(&d, &b, &a);	/* never negative */
	assert_int_equal(hist_total(&d), 0);
}

static void test_print(void **state)
{
	struct hist h = {};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	hist_add(&h, 3000);
	hist_add(&h, 3000);
	hist_add(&h, 70000);
	hist_print(f, &h, "usecs", 1000);
	fclose(f);
	assert_non_null(strstr(buf, "2 -> 4"));
	assert_non_null(strstr(buf, "65 -> 131"));
	assert_non_null(strstr(buf, "|****************************************|"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_add_and_total),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_diff_merge),
		cmocka_unit_test(test_print),
	};
	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
