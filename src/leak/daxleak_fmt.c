/* daxleak reports: names and formats shared by the text, folded and JSON
 * writers (anomalies, GUP entry points, stacks, devices, pfns, paths). */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "daxleak_report.h"
#include "mounts.h"
#include "paths.h"
#include "util.h"

static const char *const anomaly_names[DLA_NR] = {
	"release-underflow", "negative-refcount", "below-idle", "freed-while-mapped",
	"reused-while-held", "disassociated-while-held",
};

const char *anomaly_name(int t)
{
	return t >= 0 && t < DLA_NR ? anomaly_names[t] : "?";
}

/* The GUP entry point that took a reference: daxleak's hook table names
 * them in DL_GUP_* order (its exit hooks), so the report needs no table. */
const char *leak_gup_name(const struct leak_ctx *c, int g)
{
	const char *f = g >= 0 && g < DL_GUP_NR ? c->hooks[H_GUP_EXIT0 + g].func : NULL;

	return f ? f : "?";
}

const char *const anomaly_help[DLA_NR] = {
	"a put would take the count below the era's idle value (kernel would WARN)",
	"refcount read below zero",
	"refcount below idle (one-based) or below the mapping count (zero-based)",
	"final free of a folio that still has mappings",
	"a held page was taken again for another file offset",
	"file entry removed (truncate/evict) while the page is referenced: the kernel WARNs",
};

int leak_idle(const struct leak_ctx *c)
{
	return c->era.era == ERA_ZERO_BASED ? 0 : 1;
}

double leak_now_age(const struct leak_ctx *c, uint64_t ns)
{
	uint64_t now = mono_ns();

	return ns && now > ns ? (now - ns) / 1e9 : 0;
}

void leak_stack_ips(const struct leak_ctx *c, int id, uint64_t *ips)
{
	memset(ips, 0, DL_STACK_DEPTH * sizeof(*ips));
	if (id >= 0)
		bpf_map_lookup_elem(c->stacks_fd, &id, ips);
}

/* A kernel stack without our own frames on top (daxleak_kstack.c). */
void leak_kstack_ips(const struct leak_ctx *c, int id, uint64_t *ips)
{
	leak_stack_ips(c, id, ips);
	kstack_trim(c->ks, ips, DL_STACK_DEPTH);
}

void leak_kframe(const struct leak_ctx *c, uint64_t ip, char *buf, size_t len)
{
	uint64_t off;
	const struct ksym *s = c->ks ? ksyms_find(c->ks, ip, &off) : NULL;

	/* far from any symbol: a BPF trampoline or program, not that symbol */
	if (!s || off > 0x100000)
		snprintf(buf, len, "0x%llx", (unsigned long long)ip);
	else if (s->module)
		snprintf(buf, len, "%s+0x%llx [%s]", s->name, (unsigned long long)off, s->module);
	else
		snprintf(buf, len, "%s+0x%llx", s->name, (unsigned long long)off);
}

const char *leak_path_of(uint32_t pid, uint32_t dev, uint64_t ino, const struct leak_ctx *c)
{
	const char *p;

	if (!ino)
		return NULL;
	p = path_lookup(pid, dev, ino);
	for (size_t i = 0; !p && i < c->nwaiters; i++)
		if (c->waiters[i].w.ino == ino && c->waiters[i].w.dev == dev)
			p = path_lookup(c->waiters[i].w.pid, dev, ino);
	return p;
}

void leak_fmt_dev(uint32_t dev, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", kdev_major(dev), kdev_minor(dev));
}

void leak_fmt_pfn(uint64_t pfn, char *buf, size_t len)
{
	if (pfn == ~0ULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)pfn);
}

/* The page a waiter waits on, as the kernel names it: pfn, file offset
 * and the order of the folio holding it (not its struct page address). */
void leak_fmt_busy(const struct dl_waiter *w, char *buf, size_t len)
{
	char pfn[24];

	if (!w->busy_page) {
		snprintf(buf, len, "?");
		return;
	}
	if (!w->busy_known) {
		snprintf(buf, len, "page 0x%llx", (unsigned long long)w->busy_page);
		return;
	}
	leak_fmt_pfn(w->busy_pfn, pfn, sizeof(pfn));
	if (w->busy_shared)
		snprintf(buf, len, "pfn %s (shared extent)", pfn);
	else
		snprintf(buf, len, "pfn %s off 0x%llx order %u", pfn,
			 (unsigned long long)w->busy_index * 4096ULL, w->busy_order);
}

