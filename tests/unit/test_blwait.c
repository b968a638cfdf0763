/* blwait.c: the one vocabulary of break_layouts waits. A stuck task is
 * named from its kernel stack and its syscall the same way for daxleak,
 * --now and export; fallocate is named by its mode; xfs_break_layouts is
 * a wait frame only where the DAX wait is inlined into it (5.10). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <cmocka.h>
#include "blwait.h"

static struct blw_syscall sys(long nr, unsigned long long a0, unsigned long long a1,
			      unsigned long long a2)
{
	return (struct blw_syscall){ .valid = true, .nr = nr, .arg = { a0, a1, a2 } };
}

/* ext4 punch: the stack says punch, the mode agrees. */
static void test_ext4_punch(void **state)
{
	const char *st[] = { "ext4_wait_dax_page", "ext4_break_layouts", "ext4_punch_hole",
			     "ext4_fallocate", "vfs_fallocate", "__x64_sys_fallocate" };
	struct blw_syscall sc = sys(SYS_fallocate, 3, 0x03, 0);
	bool final;
	enum blw_op op = blw_op_from_frames(st, 6, &final);

	assert_int_equal(op, BLW_PUNCH);
	assert_false(final);
	assert_string_equal(blw_op_name(blw_op_decide(op, final, &sc)), "punch");
}

/* xfs breaks layouts in xfs_file_fallocate before any mode function: the
 * stack only says fallocate, the mode argument names it. */
static void test_xfs_fallocate_modes(void **state)
{
	const char *st[] = { "xfs_wait_dax_page", "xfs_break_dax_layouts", "xfs_break_layouts",
			     "xfs_file_fallocate", "vfs_fallocate" };
	static const struct { unsigned long long mode; const char *name; } m[] = {
		{ 0x03, "punch" }, { 0x08, "collapse" }, { 0x10, "zero" }, { 0x11, "zero" },
		{ 0x20, "insert" }, { 0x40, "unshare" }, { 0x00, "allocate" }, { 0x01, "allocate" },
	};
	bool final;
	enum blw_op op = blw_op_from_frames(st, 5, &final);

	assert_int_equal(op, BLW_FALLOCATE);
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct blw_syscall sc = sys(SYS_fallocate, 3, m[i].mode, 0);

		assert_string_equal(blw_op_name(blw_op_decide(op, final, &sc)), m[i].name);
	}
	/* no syscall line (not permitted, or gone): still fallocate, not a guess */
	assert_string_equal(blw_op_name(blw_op_decide(op, final, NULL)), "fallocate");
}

static void test_truncate_and_remap(void **state)
{
	const char *tr[] = { "ext4_break_layouts", "ext4_setattr", "notify_change",
			     "do_truncate", "do_sys_ftruncate" };
	const char *rm[] = { "xfs_wait_dax_page", "xfs_break_dax_layouts", "xfs_break_layouts",
			     "xfs_ilock2_io_mmap", "xfs_reflink_remap_prep", "xfs_file_remap_range",
			     "vfs_clone_file_range", "ioctl_file_clone" };
	struct blw_syscall ft = sys(SYS_ftruncate, 3, 0, 0);
	struct blw_syscall clone = sys(SYS_ioctl, 4, 0x40049409ULL, 3);
	bool final;

	assert_string_equal(blw_op_name(blw_op_decide(blw_op_from_frames(tr, 5, &final), final,
						       &ft)), "truncate");
	assert_string_equal(blw_op_name(blw_op_decide(blw_op_from_frames(rm, 8, &final), final,
						       &clone)), "remap");
	/* from the syscall alone (a /proc-found waiter without a stack) */
	assert_string_equal(blw_op_name(blw_op_decide(BLW_UNKNOWN, false, &clone)), "remap");
	assert_string_equal(blw_op_name(blw_op_decide(BLW_UNKNOWN, false, &ft)), "truncate");
}

/* An eviction (close of the last reference) wins over the truncate under it. */
static void test_evict(void **state)
{
	const char *ev[] = { "wait_page_idle_uninterruptible", "dax_break_layout_final",
			     "ext4_evict_inode", "evict", "iput", "__fput" };
	struct blw_syscall cl = sys(SYS_close, 3, 0, 0);
	bool final;
	enum blw_op op = blw_op_from_frames(ev, 6, &final);

	assert_true(final);
	assert_string_equal(blw_op_name(blw_op_decide(op, final, &cl)), "evict");
}

static void test_parse_syscall(void **state)
{
	struct blw_syscall sc;
	int fd;

	assert_int_equal(blw_parse_syscall("285 0x3 0x3 0x0 0x1000 0x0 0x0 0x7ffc 0x7f12", &sc), 0);
	assert_int_equal(sc.nr, 285);
	assert_int_equal(sc.arg[1], 3);
	assert_int_equal(sc.arg[3], 0x1000);
	assert_int_equal(blw_parse_syscall("running", &sc), -1);
	assert_false(sc.valid);
	assert_int_equal(blw_parse_syscall("-1 0x7ffc 0x7f12", &sc), -1);
	sc = sys(SYS_openat, (unsigned long long)-100, 0x1000, 01101);
	assert_int_equal(blw_op_from_syscall(&sc, &fd), BLW_TRUNCATE);
	sc = sys(SYS_openat, (unsigned long long)-100, 0x1000, 02);
	assert_int_equal(blw_op_from_syscall(&sc, &fd), BLW_UNKNOWN);
	sc = sys(SYS_fallocate, 7, 3, 0);
	assert_int_equal(blw_op_from_syscall(&sc, &fd), BLW_PUNCH);
	assert_int_equal(fd, 7);
}

/* 5.10: the DAX wait is inlined into xfs_break_layouts. */
static void test_frames_510(void **state)
{
	struct blw_frames modern, k510;
	char fr[64] = "";

	blw_frames_decide(&modern, true, true);
	blw_frames_decide(&k510, false, true);
	assert_false(blw_is_wait_frame(&modern, "xfs_break_layouts"));
	assert_true(blw_is_wait_frame(&k510, "xfs_break_layouts"));
	assert_true(blw_is_wait_frame(&modern, "xfs_break_dax_layouts.isra.0"));
	assert_true(blw_is_wait_frame(&modern, "ext4_wait_dax_page"));
	assert_false(blw_is_wait_frame(&modern, "__break_lease"));
	assert_true(blw_text_has_wait(&k510, "[<0>] xfs_break_layouts+0x7e/0x120 [xfs]\n", fr,
				      sizeof(fr)));
	assert_string_equal(fr, "xfs_break_layouts");
	assert_false(blw_text_has_wait(&modern, "[<0>] xfs_break_layouts+0x7e/0x120 [xfs]\n",
				       NULL, 0));
	/* a longer name that merely contains a frame is not one */
	assert_false(blw_text_has_wait(&modern, "my_ext4_break_layouts_helper", NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ext4_punch), cmocka_unit_test(test_xfs_fallocate_modes),
		cmocka_unit_test(test_truncate_and_remap), cmocka_unit_test(test_evict),
		cmocka_unit_test(test_parse_syscall), cmocka_unit_test(test_frames_510),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
