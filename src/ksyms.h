/* /proc/kallsyms: resolve function names (with compiler clone suffixes)
 * and symbolize kernel addresses. */
#ifndef DAXTRACE_KSYMS_H
#define DAXTRACE_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ksym {
	uint64_t addr;
	const char *name;
	const char *module;	/* NULL for vmlinux */
};

struct ksyms {
	struct ksym *syms;
	size_t nr, cap;
	char *strs;
	size_t strs_len, strs_cap;
};

/* True if `sym` is `base` or a GCC clone of it: base.isra.N, base.constprop.N,
 * base.part.N, or chains of those; never a .cold block. */
bool ksym_name_matches(const char *sym, const char *base);

/* One streaming pass over a kallsyms-format file (NULL = /proc/kallsyms):
 * for each base name, store in out[i] the exact symbol if present, else the
 * first clone, else "". Returns the number found or -errno. */
int ksym_resolve_names(const char *path, const char *const *bases, int n,
		       char (*out)[128]);

/* Full table for address lookup, sorted by address. */
struct ksyms *ksyms_load(const char *path);
void ksyms_free(struct ksyms *ks);
/* The symbol containing addr, or NULL; *off gets addr - sym->addr. */
const struct ksym *ksyms_find(const struct ksyms *ks, uint64_t addr, uint64_t *off);
/* Look up by exact name (linear); 0 if absent. */
uint64_t ksyms_addr(const struct ksyms *ks, const char *name);

#endif
