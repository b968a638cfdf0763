#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "era.h"
#include "ksyms.h"
#include "probe.h"

/* Functions that exist only in one era. The old era routes every put of a
 * DAX page through __put_devmap_managed_*; the new one has dax_break_layout
 * and dax_folio_reset_order/dax_break_layout_final instead. */
static const char *const one_based[] = {
	"__put_devmap_managed_page_refs", "__put_devmap_managed_folio_refs",
	"__put_devmap_managed_page", "put_devmap_managed_page",
};
static const char *const zero_based[] = {
	"dax_break_layout", "dax_break_layout_final", "dax_folio_reset_order",
};

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static int find_in_btf(struct btf *btf, const char *const *names, int n)
{
	for (int i = 0; btf && i < n; i++)
		if (btf__find_by_name_kind(btf, names[i], BTF_KIND_FUNC) > 0)
			return i;
	return -1;
}

static int find_in_kallsyms(const char *const *names, int n)
{
	char found[8][128];

	if (n > 8 || ksym_resolve_names(NULL, names, n, found) <= 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (found[i][0])
			return i;
	return -1;
}

static void set_era(struct era_info *e, enum dax_era era, const char *sym)
{
	e->era = era;
	e->idle = era == ERA_ZERO_BASED ? 0 : 1;
	snprintf(e->evidence, sizeof(e->evidence), "%s present", sym);
}

void era_detect(struct era_info *e)
{
	struct btf *btf = probe_vmlinux_btf();
	int i;

	memset(e, 0, sizeof(*e));
	e->idle = -1;
	/* BTF answers in microseconds; kallsyms (a full read) only without it. */
	if ((i = find_in_btf(btf, zero_based, N(zero_based))) >= 0) {
		set_era(e, ERA_ZERO_BASED, zero_based[i]);
	} else if ((i = find_in_btf(btf, one_based, N(one_based))) >= 0) {
		set_era(e, ERA_ONE_BASED, one_based[i]);
	} else if ((i = find_in_kallsyms(zero_based, N(zero_based))) >= 0) {
		set_era(e, ERA_ZERO_BASED, zero_based[i]);
	} else if ((i = find_in_kallsyms(one_based, N(one_based))) >= 0) {
		set_era(e, ERA_ONE_BASED, one_based[i]);
	} else {
		snprintf(e->evidence, sizeof(e->evidence),
			 "neither era's functions found (no BTF and no kallsyms?)");
	}
}

/* The one list of era names: short (JSON "era", Prometheus label) and long. */
static const char *const era_names[][2] = {
	[ERA_UNKNOWN] = { "unknown", "unknown" },
	[ERA_ONE_BASED] = { "one-based", "one-based (idle=1, <=6.14)" },
	[ERA_ZERO_BASED] = { "zero-based", "zero-based (idle=0, 6.15+)" },
};

static const char *era_names_of(enum dax_era e, int form)
{
	if ((unsigned)e >= sizeof(era_names) / sizeof(era_names[0]))
		e = ERA_UNKNOWN;
	return era_names[e][form];
}

const char *era_name(enum dax_era e)
{
	return era_names_of(e, 1);
}

const char *era_short_name(enum dax_era e)
{
	return era_names_of(e, 0);
}
