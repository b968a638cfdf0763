/* Parsing: numbers, durations, device specs, JSON escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "json.h"
#include "mounts.h"
#include "util.h"

static void test_u64(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("0x10", &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(parse_u64("", &v), -1);
	assert_int_equal(parse_u64("12abc", &v), -1);
	assert_int_equal(parse_u64("-1", &v), -1);
	assert_int_equal(parse_u64("99999999999999999999999", &v), -1);
}

/* A count this kernel does not keep is n/a, never 0. */
static void test_count_or_na(void **state)
{
	char b[24];

	assert_string_equal(count_or_na(b, sizeof(b), true, 0), "0");
	assert_string_equal(count_or_na(b, sizeof(b), true, 18446744073709551615ULL),
			    "18446744073709551615");
	assert_string_equal(count_or_na(b, sizeof(b), false, 7), "n/a");
}

static void test_seconds(void **state)
{
	double d;

	assert_int_equal(parse_seconds("2", &d), 0);
	assert_true(d == 2.0);
	assert_int_equal(parse_seconds("0.5s", &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(parse_seconds("250ms", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(parse_seconds("x", &d), -1);
	assert_int_equal(parse_seconds("-3", &d), -1);
	assert_int_equal(parse_seconds("3h", &d), -1);
	/* strtod takes these; a tool given them would spin or overflow */
	assert_int_equal(parse_seconds("inf", &d), -1);
	assert_int_equal(parse_seconds("infinity", &d), -1);
	assert_int_equal(parse_seconds("nan", &d), -1);
	assert_int_equal(parse_seconds("-nan", &d), -1);
	assert_int_equal(parse_seconds("1e308", &d), -1);
	assert_int_equal(parse_seconds("1e-400", &d), -1);	/* underflow */
	assert_int_equal(parse_seconds("10000001", &d), -1);
	assert_int_equal(parse_seconds("1e7", &d), 0);
	assert_true(d == SECONDS_MAX);
	assert_int_equal(parse_seconds("1e-9", &d), 0);	/* the option's floor refuses it */
}

static void test_dev_spec(void **state)
{
	assert_int_equal(dev_from_spec("259:3"), kdev_make(259, 3));
	assert_int_equal(kdev_major(kdev_make(259, 3)), 259);
	assert_int_equal(kdev_minor(kdev_make(259, 3)), 3);
	assert_int_equal(dev_from_spec("/nonexistent/device"), -1);
	assert_true(dev_from_spec("/") >= 0);
}

static void test_json(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	json_init(&j, f);
	json_obj_begin(&j);
	json_kv_str(&j, "s", "a\"b\\c\nd\x01");
	json_kv_u64(&j, "n", 18446744073709551615ull);
	json_key(&j, "arr");
	json_arr_begin(&j);
	json_u64(&j, 1);
	json_obj_begin(&j);
	json_kv_bool(&j, "t", true);
	json_obj_end(&j);
	json_null(&j);
	json_arr_end(&j);
	json_kv_double(&j, "d", 0.5);
	json_obj_end(&j);
	json_line_end(&j);
	fclose(f);
	assert_string_equal(buf, "{\"s\":\"a\\\"b\\\\c\\nd\\u0001\",\"n\":18446744073709551615,"
				 "\"arr\":[1,{\"t\":true},null],\"d\":0.5}\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_count_or_na),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_dev_spec),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
