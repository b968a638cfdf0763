/* Invalid UTF-8 in process names and paths: the JSON and Prometheus
 * writers share one sanitiser (src/utf8.c) and write only valid UTF-8,
 * checked here against exact bytes, against glibc's own decoder, and
 * against promtool where it is installed. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <cmocka.h>
#include "json.h"
#include "prom.h"
#include "utf8.h"

#define R UTF8_REPLACEMENT

/* Byte strings a comm or a file name can hold, and what is written for each. */
static const struct { const char *in, *out; } cases[] = {
	{ "plain", "plain" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },			/* valid 2 bytes */
	{ "\xe2\x82\xac" "1", "\xe2\x82\xac" "1" },		/* valid 3 bytes: euro sign */
	{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },		/* valid 4 bytes */
	{ "a\xff" "b", "a" R "b" },				/* never valid */
	{ "\x80x", R "x" },					/* stray continuation */
	{ "\xc0\xaf", R R },					/* overlong '/' */
	{ "\xe0\x80\xaf", R R R },				/* overlong, 3 bytes */
	{ "\xed\xa0\x80", R R R },				/* surrogate U+D800 */
	{ "\xf4\x90\x80\x80", R R R R },			/* above U+10FFFF */
	{ "\xe2\x82", R R },					/* cut short at the end */
	{ "\xe2\x82x", R R "x" },				/* cut short before ASCII */
	{ "lat1 \xe9t\xe9", "lat1 " R "t" R },			/* Latin-1 file name */
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void test_seq_len(void **state)
{
	assert_int_equal(utf8_seq_len((const unsigned char *)"a"), 1);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xc3\xa9"), 2);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xef\xbf\xbd"), 3);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xf4\x8f\xbf\xbf"), 4);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xc1\xbf"), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xf8\x88\x80\x80\x80"), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xc3"), 0);
}

static char *render_prom(const char *value, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct prom p;
	struct prom_labels l = {};

	assert_non_null(f);
	prom_init(&p, f);
	prom_family(&p, "daxtrace_process_faults_total", "counter", "Faults per process.");
	labels_add(&l, "pid", "1");
	labels_add(&l, "comm", value);
	prom_u64(&p, "daxtrace_process_faults_total", &l, 3);
	fclose(f);
	return buf;
}

static void test_prom_label(void **state)
{
	for (size_t i = 0; i < NCASES; i++) {
		size_t len;
		char *got = render_prom(cases[i].in, &len), want[256];

		snprintf(want, sizeof(want), "# HELP daxtrace_process_faults_total Faults per "
			 "process.\n# TYPE daxtrace_process_faults_total counter\n"
			 "daxtrace_process_faults_total{pid=\"1\",comm=\"%s\"} 3\n", cases[i].out);
		assert_string_equal(got, want);
		free(got);
	}
}

static char *render_json(const char *value)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	assert_non_null(f);
	json_init(&j, f);
	json_obj_begin(&j);
	json_kv_str(&j, value, value);	/* keys go through the same writer */
	json_obj_end(&j);
	fclose(f);
	return buf;
}

static void test_json_string(void **state)
{
	for (size_t i = 0; i < NCASES; i++) {
		char *got = render_json(cases[i].in), want[256];

		snprintf(want, sizeof(want), "{\"%s\":\"%s\"}", cases[i].out, cases[i].out);
		assert_string_equal(got, want);
		free(got);
	}
}

/* glibc's decoder, not ours, says every output is valid UTF-8. */
static void test_glibc_decodes_all(void **state)
{
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	for (size_t i = 0; i < NCASES; i++) {
		size_t len;
		char *p = render_prom(cases[i].in, &len), *j = render_json(cases[i].in);

		assert_true(mbstowcs(NULL, p, 0) != (size_t)-1);
		assert_true(mbstowcs(NULL, j, 0) != (size_t)-1);
		free(p);
		free(j);
	}
	setlocale(LC_CTYPE, "C");
}

/* What Prometheus itself would say of the scrape: every case in one
 * exposition (one series each), through `promtool check metrics`. */
static void test_promtool_accepts(void **state)
{
	FILE *f;
	struct prom p;
	int rc;

	if (system("command -v promtool >/dev/null 2>&1")) {
		skip();
		return;
	}
	f = popen("promtool check metrics >/dev/null 2>&1", "w");
	assert_non_null(f);
	prom_init(&p, f);
	prom_family(&p, "daxtrace_file_faults_total", "counter", "Faults per file.");
	for (size_t i = 0; i < NCASES; i++) {
		struct prom_labels l = {};
		char ino[16];

		snprintf(ino, sizeof(ino), "%zu", i);
		labels_add(&l, "ino", ino);
		labels_add(&l, "file", cases[i].in);
		prom_u64(&p, "daxtrace_file_faults_total", &l, i);
	}
	rc = pclose(f);
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_len),
		cmocka_unit_test(test_prom_label),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_glibc_decodes_all),
		cmocka_unit_test(test_promtool_accepts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
