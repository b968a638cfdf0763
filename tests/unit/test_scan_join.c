/* daxleak --now's joins (scan_join.c, pure): waiters -> the distinct
 * waited folios (targets) -> the pipes and mappings the holder iterators
 * reported -> the held pages and each waiter's holder now. A page whose
 * only holder is a pipe in flight (no task has it) has no holder process;
 * a mapping holds only from 6.15 and only while still mapped. Ground
 * truth: the records built here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "daxleak_int.h"

#define H1 0xffffea0000100000ULL	/* order-0 folio */
#define H2 0xffffea0000800000ULL	/* order-9 folio */
#define MAPPING 0xffff888000abc000ULL

static struct dn_task_rec task(uint32_t pid, uint64_t head, uint64_t page, int order, int ref,
			       int map)
{
	struct dn_task_rec t = { .type = DN_REC_TASK, .pid = pid, .tid = pid, .state = 1,
				 .cls = DN_CLS_WAIT, .via = head ? DN_VIA_BUCKET : DN_VIA_NONE };

	t.pg = (struct dn_page){ .page = page, .head = head, .mapping = MAPPING, .ino = 12,
				 .index = (page - head) / 64, .refcount = ref, .mapcount = map,
				 .order = order, .fsdax = 1, .valid = head != 0 };
	return t;
}

static void report(struct daxnow_report *r, enum dax_era era)
{
	struct dn_task_rec t[] = {
		task(100, H1, H1, 0, 3, 0), task(101, H1, H1, 0, 3, 0),
		task(102, H2, H2 + 64 * 5, 9, 2, 1), task(103, 0, 0, 0, 0, 0),
	};
	struct dn_target tg[DN_MAX_TARGETS];
	struct dn_pipe_rec p1 = { .type = DN_REC_PIPE, .pid = 200, .tid = 200, .fd = 5,
				  .pipe = 0xaaa0, .nbufs = 16, .exact = 1, .same_file = 16,
				  .exact_mask = 1, .file_mask = 1, .comm = "holder" };
	struct dn_pipe_rec p1b = p1;
	struct dn_pipe_rec p2 = { .type = DN_REC_PIPE, .pid = 201, .tid = 201, .fd = 3,
				  .pipe = 0xbbb0, .nbufs = 2, .same_file = 2, .file_mask = 2,
				  .comm = "other" };
	struct dn_vma_rec v = { .type = DN_REC_VMA, .pid = 300, .tid = 300, .target = 1,
				.vm_start = 0x7f0000000000, .vm_end = 0x7f0000200000,
				.addr = 0x7f0000005000, .comm = "mapper" };

	memset(r, 0, sizeof(*r));
	r->method = DAXNOW_BPF;
	r->era.era = era;
	r->era.idle = era == ERA_ZERO_BASED ? 0 : 1;
	for (size_t i = 0; i < 4; i++)
		scan_add_waiter(r, &t[i]);
	assert_int_equal(scan_targets(r, tg), 2);
	p1b.fd = 6;
	join_pipe(r, &p1);
	join_pipe(r, &p1b);
	join_pipe(r, &p2);
	join_vma(r, &v);
	scan_held_from_waiters(r);
}

static void test_targets_and_pipes(void **state)
{
	struct daxnow_report r;

	report(&r, ERA_ONE_BASED);
	assert_int_equal(r.nw, 4);
	assert_int_equal(r.w[0].target, 0);
	assert_int_equal(r.w[1].target, 0);
	assert_int_equal(r.w[2].target, 1);
	assert_int_equal(r.w[3].target, -1);
	assert_int_equal(r.w[0].extra, 2);
	/* one holder per (process, pipe), both its fds */
	assert_int_equal(r.w[0].nholders, 1);
	assert_int_equal(r.w[0].holders[0].how, DNH_PIPE);
	assert_int_equal(r.w[0].holders[0].pid, 200);
	assert_int_equal(r.w[0].holders[0].nfds, 2);
	assert_int_equal(r.w[1].holders[0].pid, 200);
	/* the large folio: a pipe of other pages of the file, a mapping */
	assert_int_equal(r.w[2].nholders, 2);
	assert_int_equal(r.w[2].holders[0].how, DNH_PIPE_FILE);
	assert_int_equal(r.w[2].holders[1].how, DNH_MAP);
	assert_int_equal(r.w[3].nholders, 0);
	daxnow_report_free(&r);
}

/* The held pages and each waiter's holder now: pid 200's pipe for H1;
 * nobody for H2 on the one-based era (the pipe of other pages and the
 * mapping hold nothing of it: the in-flight case). */
static void test_held_and_holder_now(void **state)
{
	struct daxnow_report r;
	struct holder_now h;

	report(&r, ERA_ONE_BASED);
	assert_int_equal(r.nheld, 2);
	assert_int_equal(r.held[0].pg.page, H1);
	assert_int_equal(r.held[0].pid, 200);
	assert_int_equal(r.held[0].fd, 5);
	assert_int_equal(r.held[0].waiter, 0);
	assert_int_equal(r.held[1].pg.page, H2 + 64 * 5);
	assert_int_equal(r.held[1].pid, 0);
	holder_now_of(&r, &r.w[1], &h);
	assert_int_equal(h.verdict, HOLDER_PROCESS);
	assert_int_equal(h.pid, 200);
	assert_string_equal(h.how, "pipe");
	holder_now_of(&r, &r.w[2], &h);
	assert_int_equal(h.verdict, HOLDER_NONE);
	assert_int_equal(h.pid, 0);
	holder_now_of(&r, &r.w[3], &h);
	assert_int_equal(h.verdict, HOLDER_UNCHECKED);
	daxnow_report_free(&r);
}

/* 6.15+: a page still mapped is referenced by its mapping. */
static void test_zero_based_mapping_holds(void **state)
{
	struct daxnow_report r;
	struct holder_now h;

	report(&r, ERA_ZERO_BASED);
	assert_true(daxnow_map_holds(&r, &r.w[2]));
	assert_int_equal(r.held[1].pid, 300);
	assert_int_equal(r.held[1].how, DNH_MAP);
	holder_now_of(&r, &r.w[2], &h);
	assert_int_equal(h.verdict, HOLDER_PROCESS);
	assert_int_equal(h.pid, 300);
	assert_string_equal(h.how, "mapping");
	daxnow_report_free(&r);
}

/* A page of a waited file in a pipe, from the pipe_pages map. */
static void test_pipe_page(void **state)
{
	struct daxnow_report r;
	struct dn_pipe_page pp = { .pipe = 0xaaa0, .pid = 200, .fd = 5 };

	report(&r, ERA_ONE_BASED);
	pp.pg = (struct dn_page){ .page = H1 + 64, .head = H1 + 64, .refcount = 2, .fsdax = 1,
				  .valid = 1 };
	scan_held_from_pipe_page(&r, &pp);
	assert_int_equal(r.nheld, 3);
	assert_int_equal(r.held[2].pid, 200);
	assert_string_equal(r.held[2].comm, "holder");
	/* idle: not held */
	pp.pg.page = H1 + 128;
	pp.pg.refcount = 1;
	scan_held_from_pipe_page(&r, &pp);
	assert_int_equal(r.nheld, 3);
	daxnow_report_free(&r);
}

static void test_filter(void **state)
{
	struct daxnow_report r;

	report(&r, ERA_ONE_BASED);
	r.filter_pid = 200;	/* the holder: the waiters it blocks, its pages */
	apply_filter(&r);
	assert_int_equal(r.nw, 2);
	assert_int_equal(r.w[0].rec.pid, 100);
	assert_int_equal(r.w[1].rec.pid, 101);
	assert_int_equal(r.nheld, 1);
	assert_int_equal(r.held[0].pid, 200);
	daxnow_report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets_and_pipes), cmocka_unit_test(test_held_and_holder_now),
		cmocka_unit_test(test_zero_based_mapping_holds), cmocka_unit_test(test_pipe_page),
		cmocka_unit_test(test_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
