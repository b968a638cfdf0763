/* Mappings placed at a chosen 2 MiB colour, page touching, and PFNs from
 * /proc/self/pagemap. */
#include "daxload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile unsigned char g_sink;	/* keeps read touches from being elided */

/* A PMD fault needs the virtual address and the file offset to share the
 * same offset inside 2 MiB. The kernel's own placement is not guaranteed
 * to give that (nor to avoid it), so reserve an oversized anonymous range
 * and MAP_FIXED the file at exactly the colour we want. */
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

static int map_flags(const struct map_req *m)
{
	if (m->sync)	/* VALIDATE: a kernel or fs without MAP_SYNC refuses it */
		return MAP_SHARED_VALIDATE | MAP_SYNC;
	return m->shared ? MAP_SHARED : MAP_PRIVATE;
}

int region_map(struct region *r, int fd, const struct map_req *m)
{
	uint64_t rlen = m->len + 2 * SIZE_2M;
	uint64_t colour = m->offset % SIZE_2M;
	int prot = PROT_READ | (m->write ? PROT_WRITE : 0);
	char *res, *base, *va;

	memset(r, 0, sizeof(*r));
	if (!m->pmd_colour)
		colour = (colour + PAGE_4K) % SIZE_2M;	/* never PMD-compatible */
	res = mmap(NULL, rlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		errsys(errno, "reserve address range");
		return -1;
	}
	base = (char *)(((uintptr_t)res + SIZE_2M - 1) & ~(uintptr_t)(SIZE_2M - 1));
	va = base + colour;
	if (mmap(va, m->len, prot, map_flags(m) | MAP_FIXED, fd, (off_t)m->offset) == MAP_FAILED) {
		int err = errno;

		munmap(res, rlen);
		errsys(err, "mmap file");
		return -1;
	}
	/* Give back the unused parts of the reservation. */
	if (va > res)
		munmap(res, (size_t)(va - res));
	if (va + m->len < res + rlen)
		munmap(va + m->len, (size_t)(res + rlen - (va + m->len)));

	r->va = va;
	r->len = m->len;
	r->offset = m->offset;
	r->mapped = true;
	/* 2 MiB virtual chunks fully inside the mapping whose file offset is
	 * also 2 MiB aligned: the only places a PMD can be installed. */
	if (((uintptr_t)va % SIZE_2M) == (m->offset % SIZE_2M)) {
		uintptr_t first = ((uintptr_t)va + SIZE_2M - 1) & ~(uintptr_t)(SIZE_2M - 1);
		uintptr_t end = (uintptr_t)va + m->len;

		if (end >= first)
			r->pmd_eligible = (unsigned)((end - first) / SIZE_2M);
	}
	return 0;
}

uint64_t region_touch(struct region *r, bool write, unsigned salt)
{
	uint64_t pages = r->len / PAGE_4K;
	unsigned char acc = 0;

	for (uint64_t i = 0; i < pages; i++) {
		volatile unsigned char *p = (volatile unsigned char *)(r->va + i * PAGE_4K);

		if (write)
			*p = (unsigned char)(i + salt);
		else
			acc ^= *p;
	}
	g_sink = acc;
	return pages;
}

int region_unmap(struct region *r)
{
	if (!r->mapped)
		return 0;
	if (munmap(r->va, r->len) < 0) {
		errsys(errno, "munmap");
		return -1;
	}
	r->mapped = false;
	return 0;
}

int pagemap_pfn(const void *va, uint64_t *pfn, bool *present, bool *hidden)
{
	static int fd = -1;
	static pid_t fd_pid;
	uint64_t ent;
	off_t off = (off_t)((uintptr_t)va / PAGE_4K * sizeof(ent));
	ssize_t n;

	/* Reopen after fork: /proc/self resolved at open time. */
	if (fd < 0 || fd_pid != getpid()) {
		if (fd >= 0)
			close(fd);
		fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		fd_pid = getpid();
		if (fd < 0)
			return -1;
	}
	do
		n = pread(fd, &ent, sizeof(ent), off);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(ent))
		return -1;
	*present = (ent >> 63) & 1;
	*pfn = ent & ((1ULL << 55) - 1);
	/* Without CAP_SYS_ADMIN the kernel zeroes the PFN field. */
	*hidden = *present && *pfn == 0;
	return 0;
}

/* Sample: up to 64 pages spread evenly, always including first and last. */
bool pfn_selected(uint64_t idx, uint64_t pages, bool all)
{
	uint64_t step;

	if (all || pages <= 64)
		return true;
	step = (pages + 63) / 64;
	return idx % step == 0 || idx == pages - 1;
}

void emit_pfn_lines(const char *op, const struct dfile *f, const struct region *r, bool all)
{
	uint64_t pages = r->len / PAGE_4K;
	struct out o;

	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pfn;
		bool present, hidden;
		const char *va = r->va + i * PAGE_4K;

		if (!pfn_selected(i, pages, all))
			continue;
		out_begin(&o, "pfn", NULL);
		out_file(&o, f);
		out_kv(&o, "src", "%s", op);
		out_kv(&o, "index", "%llu", (unsigned long long)i);
		out_kv(&o, "offset", "%llu", (unsigned long long)(r->offset + i * PAGE_4K));
		out_kv(&o, "va", "0x%lx", (unsigned long)(uintptr_t)va);
		if (pagemap_pfn(va, &pfn, &present, &hidden) < 0) {
			out_kv(&o, "pfn", "error");
		} else if (!present) {
			out_kv(&o, "pfn", "none");
		} else if (hidden) {
			out_kv(&o, "pfn", "hidden");
		} else {
			out_kv(&o, "pfn", "0x%llx", (unsigned long long)pfn);
		}
		out_emit(&o);
	}
}
