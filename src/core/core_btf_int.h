/* core_btf internals, for unit tests. */
#ifndef DAXTRACE_CORE_BTF_INT_H
#define DAXTRACE_CORE_BTF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/btf.h>

/* Essential type names (without "___flavour"), as a hash set. */
struct core_names {
	char **slot;
	size_t cap, n;
};

/* Add the names of a local BTF's named types; how many were new, -1 on
 * allocation failure. */
int core_names_add(struct core_names *ns, const struct btf *local);
void core_names_free(struct core_names *ns);
/* The kernel types of those names, with what they embed, and only name and
 * size of structs and unions reached through pointers; NULL on failure. */
struct btf *core_btf_subset(const struct btf *kernel, const struct core_names *ns);

#endif
