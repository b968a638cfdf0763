/* Every key of a BPF hash map once, whatever is deleted under the walk
 * (see map_keys.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "map_keys.h"

static int key_cmp(const void *a, const void *b, void *size)
{
	return memcmp(a, b, *(size_t *)size);
}

size_t map_keys_unique(void *keys, size_t n, size_t size)
{
	unsigned char *k = keys;
	size_t out = 0;

	if (n < 2)
		return n;
	qsort_r(k, n, size, key_cmp, &size);
	for (size_t i = 1; i < n; i++)
		if (memcmp(k + out * size, k + i * size, size)) {
			out++;
			if (out != i)
				memcpy(k + out * size, k + i * size, size);
		}
	return out + 1;
}

int map_keys_walk(map_next_fn next, void *ctx, size_t key_size, size_t max_entries,
		  struct map_keys *k)
{
	size_t cap = 64, steps = 2 * max_entries + 64;
	unsigned char *prev = NULL;

	*k = (struct map_keys){ .size = key_size };
	k->keys = malloc(cap * key_size);
	if (!k->keys)
		return -1;
	while (steps-- > 0) {
		if (k->n == cap) {
			unsigned char *m = reallocarray(k->keys, cap * 2, key_size);

			if (!m) {
				map_keys_free(k);
				return -1;
			}
			k->keys = m;
			cap *= 2;
			if (prev)
				prev = k->keys + (k->n - 1) * key_size;
		}
		if (next(ctx, prev, k->keys + k->n * key_size))
			break;
		prev = k->keys + k->n * key_size;
		k->n++;
	}
	k->n = map_keys_unique(k->keys, k->n, key_size);
	return 0;
}

static int bpf_next(void *ctx, const void *prev, void *out)
{
	return bpf_map_get_next_key(*(int *)ctx, prev, out) ? -1 : 0;
}

int map_keys_read(int map_fd, size_t key_size, size_t max_entries, struct map_keys *k)
{
	return map_keys_walk(bpf_next, &map_fd, key_size, max_entries, k);
}

void map_keys_free(struct map_keys *k)
{
	free(k->keys);
	*k = (struct map_keys){ .size = k->size };
}
