/* The FS DAX refcount era of the running kernel, decided from BTF and
 * kallsyms (which functions exist), never from the version string. */
#ifndef DAXTRACE_ERA_H
#define DAXTRACE_ERA_H

enum dax_era {
	ERA_UNKNOWN,
	ERA_ONE_BASED,	/* up to 6.14: idle at refcount 1, mappings take no reference */
	ERA_ZERO_BASED,	/* 6.15+: idle at 0, each mapping holds one reference */
};

struct era_info {
	enum dax_era era;
	int idle;		/* refcount of an idle, unmapped DAX page */
	char evidence[128];	/* the symbol that decided it */
};

void era_detect(struct era_info *e);
/* "one-based (idle=1, <=6.14)", ... for people; "unknown" when undecided. */
const char *era_name(enum dax_era e);
/* "one-based", "zero-based", "unknown": the JSON "era" value and label. */
const char *era_short_name(enum dax_era e);

#endif
