/* kallsyms: clone-suffix matching, name resolution, address lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clone_suffixes),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_lookup),
	};
	return cmocka_run_group_tests_name("ksyms", tests, NULL, NULL);
}
