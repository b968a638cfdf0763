/* daxtop's counter table drives the columns, sort keys, JSON keys and
 * Prometheus families: the text it makes must be what the hand-written
 * formats made before the table, and every name must be there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "daxtop_print.h"

/* The header and row format daxtop printed before the counter table. */
static const char old_columns[] =
	"    PID COMM            DEV           INO     PTE   PMD PMDFB  WRITE  MKWR  HOLE     WB "
	"UNMAP BLWAIT    BLWMS LATP50 LATP99 FILE";

static void test_columns_unchanged(void **state)
{
	assert_string_equal(daxtop_columns(), old_columns);
}

static void old_row(const struct daxtop_row *r, const char *unmap, const char *blw,
		    const char *blms, char *buf, size_t len)
{
	snprintf(buf, len, "%7s %-15.15s %-8s %8s %7llu %5llu %5llu %6llu %5llu %5llu %6llu %5s "
		 "%6s %8s %6s %6s %s", "4000001", r->comm, "259:0", "12",
		 (unsigned long long)r->cnt[DT_PTE], (unsigned long long)r->cnt[DT_PMD],
		 (unsigned long long)r->cnt[DT_PMD_FALLBACK], (unsigned long long)r->cnt[DT_WRITE],
		 (unsigned long long)r->cnt[DT_MKWRITE], (unsigned long long)r->cnt[DT_HOLE],
		 (unsigned long long)r->cnt[DT_WB_PAGES], unmap, blw, blms, "-", "-",
		 "dev 259:0 ino 12");
}

/* Numbers of every width, and the optional counters without their hook. */
static void test_row_unchanged(void **state)
{
	struct daxtop_ctx c = { .vo = { .sort = COL_FAULTS } };
	struct view_row v = { .key = { .pid = 4000001, .dev = 259 << 20, .ino = 12 }, .nfiles = 1 };
	char got[512], want[512], n[2][24];

	for (int i = 0; i < DT_NR_COUNTERS; i++)
		v.r.cnt[i] = 1ULL << (i * 5);	/* 1 .. 2^40: wider than any column */
	v.r.bl_wait_ns = 2500000;
	strcpy(v.r.comm, "a comm longer than 15");
	daxtop_format_row(&c, &v, got, sizeof(got));
	snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)v.r.cnt[DT_UNMAP]);
	snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)v.r.cnt[DT_BL_WAITS]);
	old_row(&v.r, n[0], n[1], "2.5", want, sizeof(want));
	assert_string_equal(got, want);

	c.avail.missing[DT_UNMAP] = c.avail.missing[DT_BL_WAITS] = true;
	daxtop_format_row(&c, &v, got, sizeof(got));
	old_row(&v.r, "n/a", "n/a", "n/a", want, sizeof(want));
	assert_string_equal(got, want);
}

/* Every counter, fallback reason and drop has its names; sort keys are
 * unique and found again by name. */
static void test_every_name(void **state)
{
	for (int i = 0; i < DT_NR_COUNTERS; i++) {
		const struct daxtop_counter_def *d = &daxtop_counters[i];

		assert_non_null(d->header);
		assert_non_null(d->sort);
		assert_non_null(d->json);
		assert_true(d->width >= (int)strlen(d->header));
		assert_true(d->prom >= 0 && d->prom < FAM_NR);
		assert_true(d->hooks[0] >= 0 && d->hooks[0] < DAXTOP_NHOOKS);
		assert_int_equal(col_by_name(d->sort), COL_OF(i));
	}
	for (int f = 0; f < FAM_NR; f++) {
		assert_non_null(daxtop_families[f].name);
		assert_non_null(daxtop_families[f].help);
	}
	for (int i = 0; i < FB_NR; i++)
		assert_string_not_equal(daxtop_fallback_name(i), "unnamed");
	for (int i = 0; i < DROP_NR; i++)
		assert_string_not_equal(daxtop_drop_name(i), "unnamed");
	assert_string_equal(daxtop_fallback_name(FB_NR), "unnamed");
	for (int i = 0; i < COL_NR; i++)
		assert_int_equal(col_by_name(col_name(i)), i);
	assert_string_equal(era_short_name(ERA_ONE_BASED), "one-based");
	assert_string_equal(era_short_name(ERA_ZERO_BASED), "zero-based");
	assert_string_equal(era_short_name(ERA_UNKNOWN), "unknown");
	assert_string_equal(era_short_name((enum dax_era)99), "unknown");
}

/* < and > reach every sort key once, in display order, from faults. */
static void test_sort_ring(void **state)
{
	enum col c = COL_FAULTS;
	bool seen[COL_NR] = {};

	assert_int_equal(col_step(COL_FAULTS, 1), COL_PID);
	assert_int_equal(col_step(COL_FAULTS, -1), COL_FILE);
	assert_int_equal(col_step(COL_FILE, 1), COL_FAULTS);
	for (int i = 0; i < COL_NR; i++) {
		assert_false(seen[c]);
		seen[c] = true;
		assert_int_equal(col_step(col_step(c, 1), -1), c);
		c = col_step(c, 1);
	}
	assert_int_equal(c, COL_FAULTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns_unchanged),
		cmocka_unit_test(test_row_unchanged),
		cmocka_unit_test(test_every_name),
		cmocka_unit_test(test_sort_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
