/* The GUP flags that tell a call nested in another GUP entry point.
 * Up to 6.2, get_user_pages_fast's slow path and pin_user_pages_unlocked
 * call the exported get_user_pages_unlocked with FOLL_GET or FOLL_PIN set;
 * callers outside mm/gup.c never set them (6.3+ refuse them with a WARN).
 * Kernels that #define the flags (up to 6.1) have no BTF for them; those
 * that declare them in enums (6.2+) do, with other values. */
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
