/* daxleak's GUP exits skip pages in System RAM: the ranges come from
 * /proc/iomem's top-level "System RAM" lines only (never Persistent Memory,
 * never nested lines), as inclusive pfn ranges; zeros (not root) give none. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include "daxleak_int.h"

static const char iomem[] =
	"00000000-00000fff : Reserved\n"
	"00001000-0009fbff : System RAM\n"
	"000a0000-000bffff : PCI Bus 0000:00\n"
	"00100000-bfffffff : System RAM\n"
	"  01000000-01ffffff : Kernel code\n"
	"  02000000-02ffffff : System RAM\n"
	"100000000-13fffffff : Persistent Memory\n"
	"  100000000-13fffffff : namespace0.0\n"
	"140000000-63fffffff : System RAM\n"
	"640000000-67fffffff : Persistent Memory (legacy)\n"
	"680000000-6bfffffff : System RAM (weird suffix)\n";

static int ranges_of(const char *text, __u64 *lo, __u64 *hi, int max)
{
	char path[] = "/tmp/daxtrace-iomem-XXXXXX";
	int fd = mkstemp(path), n;
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	n = ram_pfn_ranges(path, lo, hi, max);
	unlink(path);
	return n;
}

static void test_system_ram_only(void **state)
{
	__u64 lo[8], hi[8];
	int n = ranges_of(iomem, lo, hi, 8);

	(void)state;
	/* exactly "System RAM": a range left out only costs reads */
	assert_int_equal(n, 3);
	/* largest first */
	assert_int_equal(lo[0], 0x140000);
	assert_int_equal(hi[0], 0x63ffff);
	assert_int_equal(lo[1], 0x100);
	assert_int_equal(hi[1], 0xbffff);
	assert_int_equal(lo[2], 0x1);
	assert_int_equal(hi[2], 0x9f);
	for (int i = 0; i < n; i++)	/* no pmem pfn inside */
		assert_false(lo[i] <= 0x100000 && 0x100000 <= hi[i]);
}

static void test_max_and_zeros(void **state)
{
	__u64 lo[8], hi[8];

	(void)state;
	assert_int_equal(ranges_of(iomem, lo, hi, 2), 2);
	assert_int_equal(ranges_of("00000000-00000000 : System RAM\n", lo, hi, 8), 0);
	assert_int_equal(ram_pfn_ranges("/nonexistent/iomem", lo, hi, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_ram_only),
		cmocka_unit_test(test_max_and_zeros),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
