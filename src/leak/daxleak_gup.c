/* The GUP flags that tell a call nested in another GUP entry point.
 * Up to 6.2, get_user_pages_fast's slow path and pin_user_pages_unlocked
 * call the exported get_user_pages_unlocked with FOLL_GET or FOLL_PIN set;
 * callers outside mm/gup.c never set them (6.3+ refuse them with a WARN).
 * Kernels that #define the flags (up to 6.1) have no BTF for them; those
 * that declare them in enums (6.2+) do, with other values. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include "daxleak_int.h"

#define FOLL_GET_DEFINE	0x04		/* include/linux/mm.h up to 6.1 */
#define FOLL_PIN_DEFINE	0x40000

/* Value of the enumerator `name` in any enum of `btf`; false if none. */
static bool btf_enumerator(const struct btf *btf, const char *name, uint32_t *val)
{
	uint32_t n = btf__type_cnt(btf);

	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *e;

		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		for (int i = 0; i < btf_vlen(t); i++)
			if (!strcmp(btf__name_by_offset(btf, e[i].name_off), name)) {
				*val = e[i].val;
				return true;
			}
	}
	return false;
}

uint32_t gup_nested_flags(const struct btf *btf)
{
	uint32_t get, pin;

	if (!btf || !btf_enumerator(btf, "FOLL_GET", &get))
		return FOLL_GET_DEFINE | FOLL_PIN_DEFINE;
	/* FOLL_PIN sits in mm/internal.h's enum, which BTF may lack */
	return get | (btf_enumerator(btf, "FOLL_PIN", &pin) ? pin : 0);
}

/* Largest first: most pages are found in the first range tested. */
static void sort_by_size(__u64 *lo, __u64 *hi, int n)
{
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && hi[k] - lo[k] > hi[k - 1] - lo[k - 1]; k--) {
			__u64 l = lo[k], h = hi[k];

			lo[k] = lo[k - 1];
			hi[k] = hi[k - 1];
			lo[k - 1] = l;
			hi[k - 1] = h;
		}
}

/* Top-level "System RAM" ranges of an iomem file (/proc/iomem) as pfns,
 * largest first, at most `max` (the first ones listed); 0 when unreadable
 * or shown as zeros (no CAP_SYS_ADMIN). */
int ram_pfn_ranges(const char *iomem, __u64 *lo, __u64 *hi, int max)
{
	FILE *f = fopen(iomem, "re");
	char line[256];
	int n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		uint64_t a, b;
		int end = 0;

		/* nested lines (kernel code, ...) start with spaces */
		if (line[0] == ' ' ||
		    sscanf(line, "%" SCNx64 "-%" SCNx64 " : System RAM%n", &a, &b, &end) != 2 ||
		    !end || (line[end] != '\n' && line[end]) || b <= a)
			continue;
		lo[n] = a >> 12;
		hi[n] = b >> 12;
		n++;
	}
	fclose(f);
	sort_by_size(lo, hi, n);
	return n;
}
