/* daxleak culprit stacks: daxtrace's own frames (BPF program, trampoline,
 * kprobe/rethook/ftrace handlers) are dropped from the top, nothing else.
 * Frames as seen on Debian 6.12 (fexit) and a kretprobe/kprobe path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "daxleak_int.h"

static const char kallsyms[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81100000 T get_user_pages_fast\n"
	"ffffffff81100200 T __iov_iter_get_pages_alloc\n"
	"ffffffff81100400 T iov_iter_get_pages2\n"
	"ffffffff81100600 T __do_sys_vmsplice\n"
	"ffffffff81100800 T kprobe_ftrace_handler\n"
	"ffffffff81100a00 T arch_rethook_trampoline\n"
	"ffffffff81100c00 T trace_call_bpf\n"
	"ffffffff81100e00 T kprobe_perf_func\n"
	"ffffffffc0001000 t bpf_prog_ac1346100f04fe3b_get_user_pages_fast_fexit\t[bpf]\n"
	"ffffffffc0002000 t bpf_trampoline_6442490147\t[bpf]\n"
	"ffffffffc0100000 t xfs_break_dax_layouts\t[xfs]\n";

static char path[] = "/tmp/daxtrace-kstack-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(path);
	FILE *f;

	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	fputs(kallsyms, f);
	fclose(f);
	*state = ksyms_load(path);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	ksyms_free(*state);
	unlink(path);
	return 0;
}

/* fexit: bpf_prog, bpf_trampoline, then the traced function's return site */
static void test_fexit_frames(void **state)
{
	uint64_t ips[8] = { 0xffffffffc0001291ull, 0xffffffffc00020bcull, 0xffffffff81100009ull,
			    0xffffffff811002daull, 0xffffffff8110041dull, 0 };

	assert_int_equal(kstack_trim(*state, ips, 8), 2);
	assert_int_equal(ips[0], 0xffffffff81100009ull);	/* get_user_pages_fast+0x9 */
	assert_int_equal(ips[1], 0xffffffff811002daull);
	assert_int_equal(ips[2], 0xffffffff8110041dull);
	assert_int_equal(ips[3], 0);
	assert_int_equal(ips[6], 0);
	assert_int_equal(ips[7], 0);
}

/* kprobe/kretprobe: program, perf glue, ftrace/rethook handlers; an
 * address no symbol is near (unlisted JIT code) goes too */
static void test_probe_frames(void **state)
{
	uint64_t ips[8] = { 0xffffffffc0001010ull, 0xffffffff81100c10ull, 0xffffffff81100e20ull,
			    0xffffffff81100810ull, 0xffffffff81100a05ull, 0xffffffffc0900000ull,
			    0xffffffff81100210ull, 0 };

	assert_int_equal(kstack_trim(*state, ips, 8), 6);
	assert_int_equal(ips[0], 0xffffffff81100210ull);	/* __iov_iter_get_pages_alloc */
	assert_int_equal(ips[1], 0);
}

/* Only the leading run is ours: a later BPF-looking frame stays, a stack
 * that starts in the kernel is untouched, one made only of ours is kept. */
static void test_leading_only(void **state)
{
	uint64_t a[4] = { 0xffffffff81100210ull, 0xffffffffc0001010ull, 0xffffffffc0100010ull, 0 };
	uint64_t b[3] = { 0xffffffffc0001010ull, 0xffffffffc0002010ull, 0 };
	uint64_t full[2] = { 0xffffffffc0001010ull, 0xffffffffc0002010ull };

	assert_int_equal(kstack_trim(*state, a, 4), 0);
	assert_int_equal(a[1], 0xffffffffc0001010ull);
	assert_int_equal(kstack_trim(*state, b, 3), 0);
	assert_int_equal(b[0], 0xffffffffc0001010ull);
	assert_int_equal(kstack_trim(*state, full, 2), 0);
	assert_int_equal(kstack_trim(NULL, b, 3), 0);
	assert_false(kframe_is_tracer(*state, 0xffffffffc0100010ull));	/* a module function */
	assert_true(kframe_is_tracer(*state, 0xffffffffc0002010ull));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fexit_frames),
		cmocka_unit_test(test_probe_frames),
		cmocka_unit_test(test_leading_only),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
