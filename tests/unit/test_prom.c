/* Prometheus exposition writer: escaping, number formatting, families,
 * classic histograms from log2 slots (cumulative, +Inf == _count). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include "prom.h"

/* Run fn(p) into a string; caller frees. */
static char *capture(void (*fn)(struct prom *p, void *arg), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct prom p;

	assert_non_null(f);
	prom_init(&p, f);
	fn(&p, arg);
	fclose(f);
	return buf;
}

static void esc_label(struct prom *p, void *arg)
{
	prom_escape_label(p->out, arg);
}

static void esc_help(struct prom *p, void *arg)
{
	prom_escape_help(p->out, arg);
}

static void test_escape_label(void **state)
{
	char *s = capture(esc_label, "a\\b\"c\nd\te");

	assert_string_equal(s, "a\\\\b\\\"c\\nd\te");
	free(s);
	s = capture(esc_label, "/mnt/pmem/plain-file_1.dat");
	assert_string_equal(s, "/mnt/pmem/plain-file_1.dat");
	free(s);
	s = capture(esc_label, "");
	assert_string_equal(s, "");
	free(s);
	/* UTF-8 passes through untouched */
	s = capture(esc_label, "/mnt/pmem/\xc3\xa9t\xc3\xa9");
	assert_string_equal(s, "/mnt/pmem/\xc3\xa9t\xc3\xa9");
	free(s);
}

static void test_escape_help(void **state)
{
	/* HELP escapes backslash and newline, not quotes */
	char *s = capture(esc_help, "say \"hi\"\\\nnext");

	assert_string_equal(s, "say \"hi\"\\\\\\nnext");
	free(s);
}

static void test_fmt_double(void **state)
{
	char b[40];

	prom_fmt_double(b, sizeof(b), 0);
	assert_string_equal(b, "0");
	prom_fmt_double(b, sizeof(b), 0.1);
	assert_string_equal(b, "0.1");
	prom_fmt_double(b, sizeof(b), 1023e-9);
	assert_string_equal(b, "1.023e-06");
	prom_fmt_double(b, sizeof(b), 1795282456.1612976);
	assert_true(strtod(b, NULL) == 1795282456.1612976);
	prom_fmt_double(b, sizeof(b), INFINITY);
	assert_string_equal(b, "+Inf");
	prom_fmt_double(b, sizeof(b), -INFINITY);
	assert_string_equal(b, "-Inf");
	prom_fmt_double(b, sizeof(b), NAN);
	assert_string_equal(b, "NaN");
	/* every double round-trips */
	for (double v = 1e-9; v < 1e12; v *= 3.7)
		prom_fmt_double(b, sizeof(b), v), assert_true(strtod(b, NULL) == v);
}

static void test_valid_name(void **state)
{
	assert_true(prom_valid_name("daxtrace_faults_total"));
	assert_true(prom_valid_name("_x:y9"));
	assert_false(prom_valid_name("9x"));
	assert_false(prom_valid_name(""));
	assert_false(prom_valid_name("a-b"));
	assert_false(prom_valid_name("a b"));
	assert_false(prom_valid_name(NULL));
}

static void family_and_samples(struct prom *p, void *arg)
{
	struct prom_labels l = {};

	prom_family(p, "daxtrace_faults_total", "counter", "DAX faults.\nby type");
	labels_add(&l, "dev", "259:0");
	labels_add(&l, "type", "pte");
	prom_u64(p, "daxtrace_faults_total", &l, 18446744073709551615ull);
	prom_u64(p, "daxtrace_events_total", NULL, 0);
	prom_double(p, "daxtrace_wait_seconds_total", NULL, 1.5);
	/* refused: bad metric name, bad label name */
	prom_u64(p, "bad-name", NULL, 1);
	l.name[0] = "bad label";
	prom_u64(p, "daxtrace_x", &l, 1);
	*(int *)arg = p->errors;
}

static void test_family_samples(void **state)
{
	int errors = 0;
	char *s = capture(family_and_samples, &errors);

	assert_string_equal(s,
		"# HELP daxtrace_faults_total DAX faults.\\nby type\n"
		"# TYPE daxtrace_faults_total counter\n"
		"daxtrace_faults_total{dev=\"259:0\",type=\"pte\"} 18446744073709551615\n"
		"daxtrace_events_total 0\n"
		"daxtrace_wait_seconds_total 1.5\n");
	assert_int_equal(errors, 2);
	free(s);
}

static void single_samples(struct prom *p, void *arg)
{
	prom_one_u64(p, "daxtrace_leak_extra_ref_folios", "gauge", "Folios.", 16);
	prom_one_double(p, "daxtrace_leak_min_age_seconds", "gauge", "Threshold.", 2.5);
}

static void test_single_sample_families(void **state)
{
	char *s = capture(single_samples, NULL);

	assert_string_equal(s,
		"# HELP daxtrace_leak_extra_ref_folios Folios.\n"
		"# TYPE daxtrace_leak_extra_ref_folios gauge\n"
		"daxtrace_leak_extra_ref_folios 16\n"
		"# HELP daxtrace_leak_min_age_seconds Threshold.\n"
		"# TYPE daxtrace_leak_min_age_seconds gauge\n"
		"daxtrace_leak_min_age_seconds 2.5\n");
	free(s);
}

static void label_escape_in_sample(struct prom *p, void *arg)
{
	struct prom_labels l = {};

	labels_add(&l, "file", "/mnt/a \"quoted\"\\dir\nname");
	prom_u64(p, "daxtrace_file_faults_total", &l, 3);
}

static void test_sample_label_escaped(void **state)
{
	char *s = capture(label_escape_in_sample, NULL);

	assert_string_equal(s, "daxtrace_file_faults_total{file=\"/mnt/a \\\"quoted\\\"\\\\dir\\nname\"} 3\n");
	free(s);
}

struct hist_case {
	struct hist64 h;
	int first;
	double sum;
	const struct prom_labels *l;
};

static void hist_out(struct prom *p, void *arg)
{
	struct hist_case *c = arg;

	prom_hist(p, "daxtrace_lat_seconds", c->l, &c->h, c->first, 1e9, c->sum);
}

/* Parse "name{...le="X"} N" lines: check cumulative, monotonic, +Inf == count. */
static void check_hist_text(const char *s, uint64_t want_count, int want_buckets)
{
	const char *line = s;
	uint64_t prev = 0, inf = UINT64_MAX, count = UINT64_MAX;
	double prev_le = -1;
	int buckets = 0;
	bool sum = false;

	while (*line) {
		const char *nl = strchr(line, '\n');
		char buf[256];
		size_t n = nl - line;

		assert_non_null(nl);
		assert_true(n < sizeof(buf));
		memcpy(buf, line, n);
		buf[n] = 0;
		if (strstr(buf, "_bucket{")) {
			char *le = strstr(buf, "le=\"");
			uint64_t v = strtoull(strrchr(buf, ' ') + 1, NULL, 10);

			assert_non_null(le);
			assert_true(v >= prev);
			prev = v;
			buckets++;
			if (!strncmp(le + 4, "+Inf\"", 5)) {
				inf = v;
			} else {
				double x = strtod(le + 4, NULL);

				assert_true(x > prev_le);
				prev_le = x;
			}
		} else if (strstr(buf, "_count")) {
			count = strtoull(strrchr(buf, ' ') + 1, NULL, 10);
		} else if (strstr(buf, "_sum")) {
			sum = true;
		}
		line = nl + 1;
	}
	assert_true(sum);
	assert_int_equal(inf, want_count);
	assert_int_equal(count, want_count);
	assert_int_equal(buckets, want_buckets);
}

static void test_hist_cumulative(void **state)
{
	struct hist_case c = { .first = 10, .sum = 0.000123 };
	char *s;

	c.h.slots[0] = 1;		/* value 0: in every bucket */
	c.h.slots[5] = 2;		/* < 32 ns: merged into the first bucket (le 1023 ns) */
	c.h.slots[11] = 7;		/* 1024..2047 ns */
	c.h.slots[20] = 3;
	c.h.slots[HIST_SLOTS - 1] = 4;	/* catch-all: only in +Inf */
	s = capture(hist_out, &c);
	/* buckets for slots 10..38, then +Inf */
	check_hist_text(s, 17, HIST_SLOTS - 1 - 10 + 1);
	assert_non_null(strstr(s, "daxtrace_lat_seconds_bucket{le=\"1.023e-06\"} 3\n"));
	assert_non_null(strstr(s, "daxtrace_lat_seconds_bucket{le=\"2.047e-06\"} 10\n"));
	assert_non_null(strstr(s, "daxtrace_lat_seconds_bucket{le=\"+Inf\"} 17\n"));
	assert_non_null(strstr(s, "daxtrace_lat_seconds_sum 0.000123\n"));
	assert_non_null(strstr(s, "daxtrace_lat_seconds_count 17\n"));
	/* the 2^35 ns bucket named by docs/daxtrace-alerts.yml */
	assert_non_null(strstr(s, "_bucket{le=\"34.359738367\"} 13\n"));
	/* the bucket before +Inf excludes the catch-all slot */
	assert_non_null(strstr(s, "_bucket{le=\"274.877906943\"} 13\n"));
	free(s);
}

static void test_hist_empty_with_labels(void **state)
{
	struct prom_labels l = {};
	struct hist_case c = { .first = 0, .l = &l };
	char *s;

	labels_add(&l, "dev", "259:1");
	s = capture(hist_out, &c);
	check_hist_text(s, 0, HIST_SLOTS);
	assert_non_null(strstr(s, "daxtrace_lat_seconds_bucket{dev=\"259:1\",le=\"0\"} 0\n"));
	assert_non_null(strstr(s, "daxtrace_lat_seconds_bucket{dev=\"259:1\",le=\"+Inf\"} 0\n"));
	assert_non_null(strstr(s, "daxtrace_lat_seconds_count{dev=\"259:1\"} 0\n"));
	free(s);
}

static void test_hist64(void **state)
{
	struct hist h = {};
	struct hist64 a = {}, b = {};

	h.slots[3] = 4000000000u;
	hist64_add(&a, &h);
	hist64_add(&a, &h);	/* beyond 32 bits */
	assert_true(a.slots[3] == 8000000000ull);
	b.slots[1] = 1;
	hist64_merge(&a, &b);
	assert_true(hist64_total(&a) == 8000000001ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_label),
		cmocka_unit_test(test_escape_help),
		cmocka_unit_test(test_fmt_double),
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_family_samples),
		cmocka_unit_test(test_single_sample_families),
		cmocka_unit_test(test_sample_label_escaped),
		cmocka_unit_test(test_hist_cumulative),
		cmocka_unit_test(test_hist_empty_with_labels),
		cmocka_unit_test(test_hist64),
	};

	return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
