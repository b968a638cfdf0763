/* The keys of a BPF hash map, each exactly once.
 *
 * bpf_map_get_next_key() restarts at the first bucket when the key it is
 * given has been deleted meanwhile, by a BPF program (a released page) or
 * by the reader acting on the entry it just read. A plain walk then visits
 * keys twice and a report counts them twice. So: walk first (bounded, a
 * restart can repeat the walk), then sort and drop repeats, then act. */
#ifndef DAXTRACE_MAP_KEYS_H
#define DAXTRACE_MAP_KEYS_H
#include <stddef.h>

struct map_keys {
	unsigned char *keys;	/* n keys of `size` bytes, sorted, unique */
	size_t n, size;
};

/* next(ctx, prev, out): the key after prev (NULL: the first); 0, or -1 at
 * the end. bpf_map_get_next_key's shape, so tests can stand in for a map. */
typedef int (*map_next_fn)(void *ctx, const void *prev, void *out);

/* 0, or -1 when out of memory (k is empty then). At most 2 * max_entries + 64
 * steps: a map changing under a long walk still ends. */
int map_keys_walk(map_next_fn next, void *ctx, size_t key_size, size_t max_entries,
		  struct map_keys *k);
int map_keys_read(int map_fd, size_t key_size, size_t max_entries, struct map_keys *k);
/* Sort n keys of `size` bytes and drop repeats; returns how many remain. */
size_t map_keys_unique(void *keys, size_t n, size_t size);
void map_keys_free(struct map_keys *k);

static inline const void *map_key(const struct map_keys *k, size_t i)
{
	return k->keys + i * k->size;
}

#endif
