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
	struct view_opts vo = { .sort = COL_FAULTS };
	struct view_row *v;
	int n;

	setup_rows();
	n = view_build(&vo, &cur, &base, &v);
	/* P2's row did not move: dropped from the interval view. */
	assert_int_equal(n, 2);
	assert_int_equal(v[0].key.ino, 11);		/* 50 faults sorts first */
	assert_int_equal(row_value(&v[0], COL_OF(DT_PTE)), 50);
	assert_int_equal(row_value(&v[1], COL_OF(DT_PTE)), 40);
	assert_int_equal(row_value(&v[1], COL_OF(DT_PMD)), 0);
	free(v);
}

static void test_group_by_pid_and_file(void **state)
{
	struct view_opts vo = { .sort = COL_PID, .ascending = true, .group = GROUP_PID };
	struct view_row *v;
	int n;

	setup_rows();
	n = view_build(&vo, &cur, NULL, &v);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].key.pid, P1);
	assert_int_equal(v[0].nfiles, 2);
	assert_int_equal(row_value(&v[0], COL_OF(DT_PTE)), 150);
	assert_int_equal(row_value(&v[0], COL_FAULTS), 152);
	free(v);

	vo.group = GROUP_FILE;
	vo.sort = COL_OF(DT_PTE);
	vo.ascending = false;
	n = view_build(&vo, &cur, NULL, &v);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].key.ino, 10);
	assert_int_equal(row_value(&v[0], COL_OF(DT_PTE)), 107);
	assert_int_equal(row_value(&v[0], COL_OF(DT_PMD)), 3);
	free(v);
}

static void test_filters_and_top(void **state)
{
	struct view_opts vo = { .sort = COL_FAULTS, .comm = "other" };
	struct view_row *v;
	int n;

	setup_rows();
	n = view_build(&vo, &cur, NULL, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].key.pid, P2);
	free(v);
	vo.comm = NULL;
	vo.top = 1;
	n = view_build(&vo, &cur, NULL, &v);
	assert_int_equal(n, 1);
	assert_int_equal(row_value(&v[0], COL_FAULTS), 102);
	free(v);
}

static void test_columns(void **state)
{
	assert_int_equal(col_by_name("PMDFB"), COL_OF(DT_PMD_FALLBACK));
	assert_int_equal(col_by_name("latp99"), COL_LATP99);
	assert_int_equal(col_by_name("nope"), -1);
	assert_string_equal(col_name(COL_OF(DT_WB_PAGES)), "wb");
}

static struct fault_slot slot_for(uint32_t pid, uint64_t ino, uint64_t pte, uint64_t write,
				  const char *comm)
{
	struct fault_slot f = { .ckey = { .pid = pid, .dev = 259 << 20, .ino = ino },
				.faults = pte + 1, .events = 3 };

	f.pend[DT_PTE] = pte;
	f.pend[DT_WRITE] = write;
	strcpy(f.comm, comm);
	return f;
}

/* Row cache counts go onto their row; a row only caches know is made
 * once, even when two CPUs hold it; the rows stay sorted. */
static void test_slots_merge(void **state)
{
	struct view_row rows[6];
	struct snapshot s = { .rows = rows, .n = 2, .t_ns = 5000 };
	struct fault_slot f[4] = {
		slot_for(P1, 11, 4, 1, "daxload"),	/* onto an existing row */
		slot_for(P1, 9, 2, 0, "gone"),		/* a row only caches know */
		slot_for(P1, 9, 3, 3, "gone"),		/* the same, on another CPU */
		slot_for(0, 0, 0, 0, ""),		/* an idle CPU */
	};
	struct slot_seen seen[4] = { { .key = f[0].ckey, .sum = 5 } };

	rows[0] = mk(P1, 10, 100, 2, "daxload");
	rows[1] = mk(P1, 11, 50, 0, "daxload");
	rows[1].r.last_ns = 1000;
	slots_merge(&s, 6, f, 4, seen);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.faults, 5 + 3 + 4 + 1);
	assert_int_equal(s.events, s.faults + 4 * 3);
	/* sorted by key: ino 9 first now */
	assert_int_equal(rows[0].key.ino, 9);
	assert_int_equal(rows[0].r.cnt[DT_PTE], 5);
	assert_int_equal(rows[0].r.cnt[DT_WRITE], 3);
	assert_string_equal(rows[0].r.comm, "gone");
	assert_true(rows[0].cached);
	assert_int_equal(rows[0].r.last_ns, 5000);	/* new in the cache: active */
	assert_false(rows[1].cached);
	assert_int_equal(rows[1].r.cnt[DT_PTE], 100);
	assert_int_equal(rows[2].r.cnt[DT_PTE], 54);
	assert_int_equal(rows[2].r.cnt[DT_WRITE], 1);
	assert_true(rows[2].cached);
	/* CPU 0's cache had the same counts at the last snapshot: not active */
	assert_int_equal(rows[2].r.last_ns, 1000);
	assert_int_equal(seen[1].sum, 2);
	assert_int_equal(seen[2].sum, 6);
}

/* No room left: cached counts of a row the snapshot cannot hold are not
 * invented elsewhere. */
static void test_slots_merge_full(void **state)
{
	struct view_row rows[1];
	struct snapshot s = { .rows = rows, .n = 1 };
	struct fault_slot f = slot_for(P2, 7, 9, 0, "x");

	rows[0] = mk(P1, 10, 100, 2, "daxload");
	slots_merge(&s, 1, &f, 1, NULL);
	assert_int_equal(s.n, 1);
	assert_int_equal(rows[0].r.cnt[DT_PTE], 100);
	assert_int_equal(s.faults, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_and_empty_rows),
		cmocka_unit_test(test_group_by_pid_and_file),
		cmocka_unit_test(test_filters_and_top),
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_slots_merge),
		cmocka_unit_test(test_slots_merge_full),
	};
	return cmocka_run_group_tests_name("view", tests, NULL, NULL);
}
