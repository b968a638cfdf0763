#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"

#define KALLSYMS "/proc/kallsyms"

bool ksym_name_matches(const char *sym, const char *base)
{
	size_t n = strlen(base);
	const char *p;

	if (strncmp(sym, base, n))
		return false;
	p = sym + n;
	if (!*p)
		return true;
	/* Every remaining component must be a known clone suffix. A ".cold"
	 * block is split-off code, not an entry point: never match it. */
	while (*p == '.') {
		static const char *const sfx[] = { "isra", "constprop", "part", "llvm", "lto_priv" };
		bool ok = false;

		p++;
		for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
			size_t l = strlen(sfx[i]);

			if (!strncmp(p, sfx[i], l) && (p[l] == '.' || p[l] == 0)) {
				p += l;
				ok = true;
				break;
			}
		}
		if (!ok)
			return false;
		if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	return *p == 0;
}

/* Parse "ADDR TYPE NAME [\t[MODULE]]"; name and module point into line. */
static int parse_line(char *line, uint64_t *addr, char *type, char **name, char **mod)
{
	char *end, *p;

	*addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return -1;
	*type = end[1];
	p = end + 3;
	p[strcspn(p, "\n")] = 0;
	*name = p;
	*mod = NULL;
	end = strchr(p, '\t');
	if (end) {
		*end = 0;
		p = strchr(end + 1, '[');
		if (p) {
			*mod = p + 1;
			p[strcspn(p, "]")] = 0;
		}
	}
	return 0;
}

static bool is_text(char type)
{
	return type == 't' || type == 'T' || type == 'W' || type == 'w';
}

int ksym_resolve_names(const char *path, const char *const *bases, int n, char (*out)[128])
{
	FILE *f = fopen(path ? path : KALLSYMS, "r");
	char line[512], first[256] = { 0 };
	int found = 0;

	if (!f)
		return -errno;
	/* ~200k lines: skip a line on the first character of its name before
	 * parsing it; only a handful of first characters are wanted. */
	for (int i = 0; i < n; i++) {
		out[i][0] = 0;
		first[(unsigned char)bases[i][0]] = 1;
	}
	while (fgets(line, sizeof(line), f)) {
		uint64_t addr;
		char type, *name, *mod;
		char *sp = strchr(line, ' ');

		if (!sp || !sp[1] || sp[2] != ' ' || !first[(unsigned char)sp[3]])
			continue;
		if (parse_line(line, &addr, &type, &name, &mod) || !is_text(type))
			continue;
		for (int i = 0; i < n; i++) {
			if (!ksym_name_matches(name, bases[i]))
				continue;
			/* An exact name beats a clone found earlier. */
			if (!strcmp(name, bases[i]) || !out[i][0]) {
				if (!out[i][0])
					found++;
				snprintf(out[i], 128, "%s", name);
			}
		}
	}
	fclose(f);
	return found;
}

/* Returns the string's offset in ks->strs (pointers move on realloc), or -1. */
static long intern(struct ksyms *ks, const char *s)
{
	size_t l = strlen(s) + 1;

	if (ks->strs_len + l > ks->strs_cap) {
		size_t cap = ks->strs_cap ? ks->strs_cap * 2 : 1 << 20;
		char *n;

		while (cap < ks->strs_len + l)
			cap *= 2;
		n = realloc(ks->strs, cap);
		if (!n)
			return -1;
		ks->strs = n;
		ks->strs_cap = cap;
	}
	memcpy(ks->strs + ks->strs_len, s, l);
	ks->strs_len += l;
	return (long)(ks->strs_len - l);
}

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct ksyms *ksyms_load(const char *path)
{
	FILE *f = fopen(path ? path : KALLSYMS, "r");
	struct ksyms *ks;
	char line[512];

	if (!f)
		return NULL;
	ks = calloc(1, sizeof(*ks));
	if (!ks)
		goto fail;
	while (fgets(line, sizeof(line), f)) {
		uint64_t addr;
		char type, *name, *mod;
		long n, m = -1;

		if (parse_line(line, &addr, &type, &name, &mod) || !is_text(type) || !addr)
			continue;
		if (ks->nr == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 65536;
			struct ksym *s = realloc(ks->syms, cap * sizeof(*s));

			if (!s)
				goto fail;
			ks->syms = s;
			ks->cap = cap;
		}
		n = intern(ks, name);
		if (mod)
			m = intern(ks, mod);
		if (n < 0 || (mod && m < 0))
			goto fail;
		/* Offsets stand in for pointers until the string table stops moving. */
		ks->syms[ks->nr++] = (struct ksym){ addr, (const char *)n, (const char *)m };
	}
	fclose(f);
	for (size_t i = 0; i < ks->nr; i++) {
		long n = (long)ks->syms[i].name, m = (long)ks->syms[i].module;

		ks->syms[i].name = ks->strs + n;
		ks->syms[i].module = m < 0 ? NULL : ks->strs + m;
	}
	qsort(ks->syms, ks->nr, sizeof(*ks->syms), cmp_addr);
	return ks;
fail:
	fclose(f);
	ksyms_free(ks);
	return NULL;
}

void ksyms_free(struct ksyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->strs);
	free(ks);
}

const struct ksym *ksyms_find(const struct ksyms *ks, uint64_t addr, uint64_t *off)
{
	size_t lo = 0, hi;

	if (!ks || !ks->nr || addr < ks->syms[0].addr)
		return NULL;
	hi = ks->nr;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (off)
		*off = addr - ks->syms[lo].addr;
	return &ks->syms[lo];
}

uint64_t ksyms_addr(const struct ksyms *ks, const char *name)
{
	for (size_t i = 0; ks && i < ks->nr; i++)
		if (!strcmp(ks->syms[i].name, name))
			return ks->syms[i].addr;
	return 0;
}
