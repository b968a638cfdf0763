/* daxtop aggregation: interval deltas, grouping, filters, sorting, top N. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "daxtop_view.h"

/* Pids that cannot exist, so no /proc lookups succeed. */
#define P1 4000001u
#define P2 4000002u

static struct view_row mk(uint32_t pid, uint64_t ino, uint64_t pte, uint64_t pmd, const char *comm)
{
	struct view_row v = { .key = { .pid = pid, .dev = 259 << 20, .ino = ino }, .nfiles = 1 };

	v.r.cnt[DT_PTE] = pte;
	v.r.cnt[DT_PMD] = pmd;
	strcpy(v.r.comm, comm);
	return v;
}

/* Rows must be sorted by key as snapshot_take leaves them. */
static struct view_row cur_rows[3], base_rows[2];
static struct snapshot cur = { .rows = cur_rows, .n = 3 }, base = { .rows = base_rows, .n = 2 };

static void setup_rows(void)
{
	cur_rows[0] = mk(P1, 10, 100, 2, "daxload");
	cur_rows[1] = mk(P1, 11, 50, 0, "daxload");
	cur_rows[2] = mk(P2, 10, 7, 1, "other");
	base_rows[0] = mk(P1, 10, 60, 2, "daxload");
	base_rows[1] = mk(P2, 10, 7, 1, "other");
}

static void test_delta_and_empty_rows(void **state)
{
	struct daxtop_ctx c = { .vo = { .sort = COL_FAULTS } };
	struct view_row *v;
	int n;

	setup_rows();
	n = view_build(&c, &cur, &base, &v);
	/* P2's row did not move: dropped from the interval view. */
	assert_int_equal(n, 2);
	assert_int_equal(v[0].key.ino, 11);		/* 50 faults sorts first */
	assert_int_equal(row_value(&v[0], COL_PTE), 50);
	assert_int_equal(row_value(&v[1], COL_PTE), 40);
	assert_int_equal(row_value(&v[1], COL_PMD), 0);
	free(v);
}

static void test_group_by_pid_and_file(void **state)
{
	struct daxtop_ctx c = { .vo = { .sort = COL_PID, .ascending = true, .group = GROUP_PID } };
	struct view_row *v;
	int n;

	setup_rows();
	n = view_build(&c, &cur, NULL, &v);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].key.pid, P1);
	assert_int_equal(v[0].nfiles, 2);
	assert_int_equal(row_value(&v[0], COL_PTE), 150);
	assert_int_equal(row_value(&v[0], COL_FAULTS), 152);
	free(v);

	c.vo.group = GROUP_FILE;
	c.vo.sort = COL_PTE;
	c.vo.ascending = false;
	n = view_build(&c, &cur, NULL, &v);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].key.ino, 10);
	assert_int_equal(row_value(&v[0], COL_PTE), 107);
	assert_int_equal(row_value(&v[0], COL_PMD), 3);
	free(v);
}

static void test_filters_and_top(void **state)
{
	struct daxtop_ctx c = { .vo = { .sort = COL_FAULTS, .comm = "other" } };
	struct view_row *v;
	int n;

	setup_rows();
	n = view_build(&c, &cur, NULL, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].key.pid, P2);
	free(v);
	c.vo.comm = NULL;
	c.vo.top = 1;
	n = view_build(&c, &cur, NULL, &v);
	assert_int_equal(n, 1);
	assert_int_equal(row_value(&v[0], COL_FAULTS), 102);
	free(v);
}

static void test_columns(void **state)
{
	assert_int_equal(col_by_name("PMDFB"), COL_PMDFB);
	assert_int_equal(col_by_name("latp99"), COL_LATP99);
	assert_int_equal(col_by_name("nope"), -1);
	assert_string_equal(col_name(COL_WB), "wb");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_and_empty_rows),
		cmocka_unit_test(test_group_by_pid_and_file),
		cmocka_unit_test(test_filters_and_top),
		cmocka_unit_test(test_columns),
	};
	return cmocka_run_group_tests_name("view", tests, NULL, NULL);
}
