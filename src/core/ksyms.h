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
	bool loaded;		/* read on first lookup: see ksyms_open */
	char path[128];		/* "" = /proc/kallsyms */
};

/* Calls fn for each line (newline stripped, writable) of a kallsyms-format
 * file (NULL = /proc/kallsyms), read in large chunks. fn returns nonzero to
 * stop. Returns 0 at end of file, 1 if fn stopped, or -errno. */
typedef int (*kallsyms_line_fn)(char *line, void *arg);
int kallsyms_foreach(const char *path, kallsyms_line_fn fn, void *arg);

/* Split a kallsyms line "ADDR TYPE NAME[\t[MODULE]]" in place: name and
 * module (NULL for vmlinux) point into line. 0, or -1 if it is not one. */
int ksym_parse_line(char *line, uint64_t *addr, char *type, char **name, char **mod);
/* A text (function) symbol type: t T w W. */
bool ksym_is_text(char type);

/* Address of any symbol (text or data) by exact name; 0 if absent. */
uint64_t ksym_data_addr(const char *path, const char *name);

/* True if `sym` is `base` or a GCC clone of it: base.isra.N, base.constprop.N,
 * base.part.N, or chains of those; never a .cold block. */
bool ksym_name_matches(const char *sym, const char *base);

/* One streaming pass over a kallsyms-format file (NULL = /proc/kallsyms):
 * for each base name, store in out[i] the exact symbol if present, else the
 * first clone, else "". Returns the number found or -errno. */
int ksym_resolve_names(const char *path, const char *const *bases, int n,
		       char (*out)[128]);

/* Text-symbol table for address lookup, sorted by address. ksyms_open
 * reads nothing until the first lookup (a full read costs ~50 ms and ~6 MiB:
 * tools that may never print a stack should not pay it at start-up, and a
 * table read after attaching includes our own programs). ksyms_load reads
 * at once (NULL on failure). ksyms_refresh drops a read table so the next
 * lookup reads kallsyms again (new modules, BPF programs). */
struct ksyms *ksyms_open(const char *path);
struct ksyms *ksyms_load(const char *path);
void ksyms_refresh(struct ksyms *ks);
void ksyms_free(struct ksyms *ks);
/* The symbol containing addr, or NULL; *off gets addr - sym->addr. */
const struct ksym *ksyms_find(struct ksyms *ks, uint64_t addr, uint64_t *off);
/* Look up by exact name (linear); 0 if absent. */
uint64_t ksyms_addr(struct ksyms *ks, const char *name);

#endif
