/* kallsyms: clone-suffix matching, name resolution, address lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "ksyms.h"

#define FIXTURE "tests/unit/fixtures/kallsyms"

static void test_clone_suffixes(void **state)
{
	assert_true(ksym_name_matches("dax_insert_entry", "dax_insert_entry"));
	assert_true(ksym_name_matches("dax_disassociate_entry.isra.0", "dax_disassociate_entry"));
	assert_true(ksym_name_matches("insert_pmd.constprop.0", "insert_pmd"));
	assert_true(ksym_name_matches("dax_folio_put.isra.0", "dax_folio_put"));
	assert_false(ksym_name_matches("dax_folio_put.isra.0.cold", "dax_folio_put"));
	assert_false(ksym_name_matches("unmap_page_range.cold", "unmap_page_range"));
	assert_true(ksym_name_matches("foo.part.12", "foo"));
	assert_false(ksym_name_matches("dax_insert_entryx", "dax_insert_entry"));
	assert_false(ksym_name_matches("dax_insert", "dax_insert_entry"));
	assert_false(ksym_name_matches("foo.bar", "foo"));
}

static void test_resolve(void **state)
{
	const char *names[] = { "dax_disassociate_entry", "dax_insert_entry", "insert_pmd",
				"dax_break_layout", "xfs_break_dax_layouts", "unmap_data",
				"unmap_page_range" };
	char out[7][128];

	assert_int_equal(ksym_resolve_names(FIXTURE, names, 7, out), 5);
	assert_string_equal(out[0], "dax_disassociate_entry.isra.0");
	assert_string_equal(out[1], "dax_insert_entry");	/* exact, not the x-suffixed one */
	assert_string_equal(out[2], "insert_pmd.constprop.0");	/* first clone wins */
	assert_string_equal(out[3], "");
	assert_string_equal(out[4], "xfs_break_dax_layouts");
	assert_string_equal(out[5], "");			/* data, not text */
	assert_string_equal(out[6], "unmap_page_range");	/* exact, after its .cold block */
	assert_true(ksym_resolve_names("/nonexistent", names, 1, out) < 0);
}

static void test_lookup(void **state)
{
	struct ksyms *ks = ksyms_load(FIXTURE);
	const struct ksym *s;
	uint64_t off;

	assert_non_null(ks);
	s = ksyms_find(ks, 0xffffffff81234710ull, &off);
	assert_non_null(s);
	assert_string_equal(s->name, "dax_layout_busy_page_range");
	assert_int_equal(off, 0x10);
	assert_null(s->module);
	s = ksyms_find(ks, 0xffffffffc0100150ull, &off);
	assert_string_equal(s->name, "xfs_wait_dax_page");
	assert_string_equal(s->module, "xfs");
	assert_null(ksyms_find(ks, 0x1000, &off));
	assert_int_equal(ksyms_addr(ks, "unmap_page_range"), 0xffffffff81234c00ull);
	assert_int_equal(ksyms_addr(ks, "nope"), 0);
	ksyms_free(ks);
}

/* Data symbols by exact name; a last line without newline still counts. */
static void test_data_addr_and_reader(void **state)
{
	char path[] = "/tmp/daxtrace-ksyms-XXXXXX";
	FILE *f;
	int fd;

	assert_int_equal(ksym_data_addr(FIXTURE, "unmap_data"), 0xffffffff81234d00ull);
	assert_int_equal(ksym_data_addr(FIXTURE, "unmap_dat"), 0);
	assert_int_equal(ksym_data_addr("/nonexistent", "unmap_data"), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("ffffffff81000000 T _stext\nffffffff81000200 D vmemmap_base", f);
	fclose(f);
	assert_int_equal(ksym_data_addr(path, "vmemmap_base"), 0xffffffff81000200ull);
	unlink(path);
}

/* ksyms_open reads nothing until the first lookup; refresh re-reads. */
static void test_lazy(void **state)
{
	struct ksyms *ks = ksyms_open(FIXTURE);
	uint64_t off;

	assert_non_null(ks);
	assert_false(ks->loaded);
	assert_string_equal(ksyms_find(ks, 0xffffffff81234c08ull, &off)->name, "unmap_page_range");
	assert_true(ks->loaded);
	ksyms_refresh(ks);
	assert_false(ks->loaded);
	assert_int_equal(ksyms_addr(ks, "insert_pmd.isra.0"), 0xffffffff81234900ull);
	ksyms_free(ks);
	ks = ksyms_open("/nonexistent");
	assert_null(ksyms_find(ks, 0xffffffff81234c08ull, &off));
	ksyms_free(ks);
	assert_null(ksyms_load("/nonexistent"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clone_suffixes),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_data_addr_and_reader),
		cmocka_unit_test(test_lazy),
	};
	return cmocka_run_group_tests_name("ksyms", tests, NULL, NULL);
}
