/* core_btf: the small BTF keeps every type of a wanted name with what it
 * embeds, keeps only name and size behind pointers, and nothing else. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/btf.h>
#include "core_btf_int.h"

static const struct btf_type *named(const struct btf *b, const char *name, int kind)
{
	int id = btf__find_by_name_kind(b, name, kind);

	return id > 0 ? btf__type_by_id(b, id) : NULL;
}

static void test_subset(void **state)
{
	struct btf *k = btf__new_empty(), *local = btf__new_empty(), *sub;
	struct core_names ns = {};
	const struct btf_type *t;
	int i_int, bar, baz, pbaz, foo;

	/* kernel: struct foo { int a; struct bar b; struct baz *p; }, two
	 * same-named foos (CO-RE candidates both), and unrelated types */
	i_int = btf__add_int(k, "int", 4, BTF_INT_SIGNED);
	bar = btf__add_struct(k, "bar", 4);
	btf__add_field(k, "x", i_int, 0, 0);
	baz = btf__add_struct(k, "baz", 8);
	btf__add_field(k, "y", i_int, 0, 0);
	btf__add_field(k, "z", i_int, 32, 0);
	pbaz = btf__add_ptr(k, baz);
	foo = btf__add_struct(k, "foo", 16);
	btf__add_field(k, "a", i_int, 0, 0);
	btf__add_field(k, "b", bar, 32, 0);
	btf__add_field(k, "p", pbaz, 64, 0);
	btf__add_struct(k, "foo___v2", 4);
	btf__add_field(k, "a", i_int, 0, 0);
	btf__add_struct(k, "unrelated", 4);
	btf__add_field(k, "u", i_int, 0, 0);
	btf__add_enum(k, "colour", 4);
	btf__add_enum_value(k, "RED", 1);
	assert_true(foo > 0);

	/* local: a flavour of foo, and an enum */
	i_int = btf__add_int(local, "int", 4, BTF_INT_SIGNED);
	btf__add_struct(local, "foo___old", 4);
	btf__add_field(local, "a", i_int, 0, 0);
	btf__add_enum(local, "colour", 4);
	btf__add_enum_value(local, "RED", 1);

	assert_int_equal(core_names_add(&ns, local), 3);	/* int, foo, colour */
	assert_int_equal(core_names_add(&ns, local), 0);	/* nothing new */
	sub = core_btf_subset(k, &ns);
	assert_non_null(sub);
	t = named(sub, "foo", BTF_KIND_STRUCT);
	assert_non_null(t);
	assert_int_equal(btf_vlen(t), 3);
	assert_int_equal(btf_member_bit_offset(t, 2), 64);
	assert_non_null(named(sub, "foo___v2", BTF_KIND_STRUCT));
	t = named(sub, "bar", BTF_KIND_STRUCT);			/* embedded: whole */
	assert_non_null(t);
	assert_int_equal(btf_vlen(t), 1);
	t = named(sub, "baz", BTF_KIND_STRUCT);			/* behind a pointer */
	assert_non_null(t);
	assert_int_equal(btf_vlen(t), 0);
	assert_int_equal(t->size, 8);
	assert_null(named(sub, "unrelated", BTF_KIND_STRUCT));
	t = named(sub, "colour", BTF_KIND_ENUM);
	assert_non_null(t);
	assert_int_equal(btf_vlen(t), 1);
	/* int, bar, baz, ptr, foo, foo___v2, colour */
	assert_int_equal(btf__type_cnt(sub), 8);
	btf__free(sub);
	core_names_free(&ns);
	btf__free(local);
	btf__free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
