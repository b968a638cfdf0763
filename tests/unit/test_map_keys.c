/* map_keys: a walk over a map whose entries are deleted under it (the
 * kernel's get_next_key restarts at the first bucket when the given key is
 * gone) still yields every remaining key exactly once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <cmocka.h>
#include "map_keys.h"

/* A stand-in hash map: slots in bucket order, get_next_key with the
 * kernel's behaviour, and an entry deleted when the walk reaches it. */
struct fake_map {
	uint64_t keys[16];
	bool live[16];
	int n;
	uint64_t delete_at;	/* deleted right after it is returned */
	int deletes_left;
	int calls;
};

static int fake_next(void *ctx, const void *prev, void *out)
{
	struct fake_map *m = ctx;
	int from = 0;

	m->calls++;
	if (prev) {
		uint64_t p;

		memcpy(&p, prev, sizeof(p));
		from = -1;
		for (int i = 0; i < m->n; i++)
			if (m->live[i] && m->keys[i] == p)
				from = i + 1;
		if (from < 0)
			from = 0;	/* gone: restart, like htab_map_get_next_key */
	}
	for (int i = from; i < m->n; i++)
		if (m->live[i]) {
			memcpy(out, &m->keys[i], sizeof(uint64_t));
			if (m->keys[i] == m->delete_at && m->deletes_left-- > 0)
				m->live[i] = false;
			return 0;
		}
	return -1;
}

static struct fake_map make_map(int n)
{
	struct fake_map m = { .n = n };

	for (int i = 0; i < n; i++) {
		m.keys[i] = 1000 + (uint64_t)(n - i) * 7;	/* unsorted */
		m.live[i] = true;
	}
	return m;
}

static void test_delete_under_walk(void **state)
{
	struct fake_map m = make_map(5);
	struct map_keys k;

	m.delete_at = m.keys[3];	/* a released page, late in the walk */
	m.deletes_left = 1;
	assert_int_equal(map_keys_walk(fake_next, &m, sizeof(uint64_t), 5, &k), 0);
	/* the plain walk saw 3 keys again after the restart; each once here,
	 * the deleted one included (the caller's lookup then fails) */
	assert_int_equal(k.n, 5);
	for (size_t i = 1; i < k.n; i++)
		assert_true(memcmp(map_key(&k, i - 1), map_key(&k, i), 8) < 0);
	map_keys_free(&k);
}

static void test_bounded(void **state)
{
	struct fake_map m = make_map(4);
	struct map_keys k;

	/* the last key keeps vanishing and coming back: the walk still ends */
	m.delete_at = m.keys[3];
	m.deletes_left = 1000000;
	assert_int_equal(map_keys_walk(fake_next, &m, sizeof(uint64_t), 4, &k), 0);
	assert_true(m.calls <= 2 * 4 + 64 + 1);
	map_keys_free(&k);
}

static void test_empty_and_unique(void **state)
{
	struct fake_map m = make_map(0);
	struct map_keys k;
	uint32_t v[] = { 5, 3, 5, 1, 3, 3 };

	assert_int_equal(map_keys_walk(fake_next, &m, sizeof(uint64_t), 8, &k), 0);
	assert_int_equal(k.n, 0);
	map_keys_free(&k);
	assert_int_equal(map_keys_unique(v, 6, sizeof(v[0])), 3);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 3);
	assert_int_equal(v[2], 5);
}

/* Many keys: the buffer grows while prev points into it. */
static int count_next(void *ctx, const void *prev, void *out)
{
	uint32_t p = 0, lim = *(uint32_t *)ctx;

	if (prev)
		memcpy(&p, prev, 4);
	else
		p = 0;
	if ((prev && p + 1 >= lim) || lim == 0)
		return -1;
	p = prev ? p + 1 : 0;
	memcpy(out, &p, 4);
	return 0;
}

static void test_growth(void **state)
{
	uint32_t lim = 1000;
	bool seen[1000] = { false };
	struct map_keys k;

	assert_int_equal(map_keys_walk(count_next, &lim, 4, lim, &k), 0);
	assert_int_equal(k.n, 1000);
	for (uint32_t i = 0; i < 1000; i++) {	/* byte order, not numeric */
		uint32_t v = *(const uint32_t *)map_key(&k, i);

		assert_true(v < 1000 && !seen[v]);
		seen[v] = true;
	}
	map_keys_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delete_under_walk),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_empty_and_unique),
		cmocka_unit_test(test_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
