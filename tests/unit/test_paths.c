/* path_text: a hostile file name stays on one line of text output
 * (daxtop's FILE column, daxleak's PATH column), written as
 * /proc/PID/maps writes it; other bytes pass through for the writers'
 * own escaping (JSON, UTF-8). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "paths.h"

static void test_newline_escaped(void **state)
{
	char buf[64];

	(void)state;
	path_text("/mnt/dax/a\nb c\377.dat", buf, sizeof(buf));
	assert_string_equal(buf, "/mnt/dax/a\\012b c\377.dat");
	assert_null(strchr(buf, '\n'));
}

static void test_truncated_safely(void **state)
{
	char buf[8];

	(void)state;
	path_text("/\n\n\n\n\n\n", buf, sizeof(buf));
	assert_true(strlen(buf) < sizeof(buf));
	assert_null(strchr(buf, '\n'));
	path_text("/abc", buf, 1);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newline_escaped),
		cmocka_unit_test(test_truncated_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
