#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

int ksym_parse_line(char *line, uint64_t *addr, char *type, char **name, char **mod)
{
	uint64_t a = 0;
	char *end = line, *p;

	/* by hand: strtoull was a third of a pass over ~200k lines */
	for (;; end++) {
		unsigned c = (unsigned char)*end, d = c - '0', x = (c | 0x20) - 'a';

		if (d < 10)
			a = a << 4 | d;
		else if (x < 6)
			a = a << 4 | (x + 10);
		else
			break;
	}
	if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
		return -1;
	*addr = a;
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

bool ksym_is_text(char type)
{
	return type == 't' || type == 'T' || type == 'W' || type == 'w';
}

/* /proc/kallsyms is generated per read(); stdio reads it 1 KiB at a time
 * (its st_blksize), 5000+ syscalls for a 5 MiB file. Big reads halve a pass. */
#define READ_CHUNK (256 * 1024)

int kallsyms_foreach(const char *path, kallsyms_line_fn fn, void *arg)
{
	int fd = open(path ? path : KALLSYMS, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t have = 0;
	int rc = 0;

	if (fd < 0)
		return -errno;
	buf = malloc(READ_CHUNK + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, READ_CHUNK - have);
		char *line = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		have += (size_t)n;
		buf[have] = 0;
		/* At end of file a last line without newline is still a line. */
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) || (n == 0 && *line)) {
			if (nl)
				*nl = 0;
			if (fn(line, arg)) {
				rc = 1;
				goto out;
			}
			line = nl ? nl + 1 : buf + have;
		}
		if (n == 0)
			break;
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == READ_CHUNK) {	/* a line longer than the buffer: not kallsyms */
			rc = -EINVAL;
			break;
		}
	}
out:
	free(buf);
	close(fd);
	return rc;
}

struct resolve_state {
	const char *const *bases;
	int n, found;
	char (*out)[128];
	char first[256];
};

static int resolve_line(char *line, void *arg)
{
	struct resolve_state *st = arg;
	char *sp = strchr(line, ' '), type, *name, *mod;
	uint64_t addr;

	/* ~200k lines: skip a line on the first character of its name before
	 * parsing it; only a handful of first characters are wanted. */
	if (!sp || !sp[1] || sp[2] != ' ' || !st->first[(unsigned char)sp[3]])
		return 0;
	if (ksym_parse_line(line, &addr, &type, &name, &mod) || !ksym_is_text(type))
		return 0;
	for (int i = 0; i < st->n; i++) {
		if (!ksym_name_matches(name, st->bases[i]))
			continue;
		/* An exact name beats a clone found earlier. */
		if (!strcmp(name, st->bases[i]) || !st->out[i][0]) {
			if (!st->out[i][0])
				st->found++;
			snprintf(st->out[i], 128, "%s", name);
		}
	}
	return 0;
}

int ksym_resolve_names(const char *path, const char *const *bases, int n, char (*out)[128])
{
	struct resolve_state st = { .bases = bases, .n = n, .out = out };
	int rc;

	for (int i = 0; i < n; i++) {
		out[i][0] = 0;
		st.first[(unsigned char)bases[i][0]] = 1;
	}
	rc = kallsyms_foreach(path, resolve_line, &st);
	return rc < 0 ? rc : st.found;
}

struct data_state {
	const char *name;
	uint64_t addr;
};

static int data_line(char *line, void *arg)
{
	struct data_state *st = arg;
	char type, *name, *mod;
	uint64_t addr;

	if (ksym_parse_line(line, &addr, &type, &name, &mod) || strcmp(name, st->name))
		return 0;
	st->addr = addr;
	return 1;
}

uint64_t ksym_data_addr(const char *path, const char *name)
{
	struct data_state st = { .name = name };

	return kallsyms_foreach(path, data_line, &st) < 0 ? 0 : st.addr;
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

static int table_line(char *line, void *arg)
{
	struct ksyms *ks = arg;
	uint64_t addr;
	char type, *name, *mod;
	long n, m = -1;

	if (ksym_parse_line(line, &addr, &type, &name, &mod) || !ksym_is_text(type) || !addr)
		return 0;
	if (ks->nr == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 65536;
		struct ksym *s = realloc(ks->syms, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		ks->syms = s;
		ks->cap = cap;
	}
	n = intern(ks, name);
	if (mod)
		m = intern(ks, mod);
	if (n < 0 || (mod && m < 0))
		return -ENOMEM;
	/* Offsets stand in for pointers until the string table stops moving. */
	ks->syms[ks->nr++] = (struct ksym){ addr, (const char *)n, (const char *)m };
	return 0;
}

static void table_reset(struct ksyms *ks)
{
	free(ks->syms);
	free(ks->strs);
	ks->syms = NULL;
	ks->strs = NULL;
	ks->nr = ks->cap = ks->strs_len = ks->strs_cap = 0;
}

/* Read the table now; on failure the handle stays empty (lookups miss). */
static int table_load(struct ksyms *ks)
{
	int rc;

	ks->loaded = true;
	rc = kallsyms_foreach(ks->path[0] ? ks->path : NULL, table_line, ks);
	if (rc) {
		table_reset(ks);
		return rc < 0 ? rc : -EINVAL;
	}
	for (size_t i = 0; i < ks->nr; i++) {
		long n = (long)ks->syms[i].name, m = (long)ks->syms[i].module;

		ks->syms[i].name = ks->strs + n;
		ks->syms[i].module = m < 0 ? NULL : ks->strs + m;
	}
	qsort(ks->syms, ks->nr, sizeof(*ks->syms), cmp_addr);
	return 0;
}

struct ksyms *ksyms_open(const char *path)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));

	if (ks && path)
		snprintf(ks->path, sizeof(ks->path), "%s", path);
	return ks;
}

struct ksyms *ksyms_load(const char *path)
{
	struct ksyms *ks = ksyms_open(path);

	if (ks && table_load(ks)) {
		ksyms_free(ks);
		return NULL;
	}
	return ks;
}

void ksyms_refresh(struct ksyms *ks)
{
	if (ks && ks->loaded) {
		table_reset(ks);
		ks->loaded = false;
	}
}

static bool ensure_loaded(struct ksyms *ks)
{
	if (ks && !ks->loaded)
		table_load(ks);
	return ks && ks->nr;
}

void ksyms_free(struct ksyms *ks)
{
	if (!ks)
		return;
	table_reset(ks);
	free(ks);
}

const struct ksym *ksyms_find(struct ksyms *ks, uint64_t addr, uint64_t *off)
{
	size_t lo = 0, hi;

	if (!ensure_loaded(ks) || addr < ks->syms[0].addr)
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

uint64_t ksyms_addr(struct ksyms *ks, const char *name)
{
	if (!ensure_loaded(ks))
		return 0;
	for (size_t i = 0; i < ks->nr; i++)
		if (!strcmp(ks->syms[i].name, name))
			return ks->syms[i].addr;
	return 0;
}
