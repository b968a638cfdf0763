/* FS DAX page and folio reads shared by bpf/daxleak.bpf.c and
 * bpf/daxnow.bpf.c: head, pfn, pgmap type, refcount, mapcount, order and
 * file index, with the CO-RE flavours of the three kernel eras.
 * x86_64 SPARSEMEM_VMEMMAP: pfn = (page - vmemmap_base) / sizeof(page). */
#ifndef DAXTRACE_DAX_PAGE_BPF_H
#define DAXTRACE_DAX_PAGE_BPF_H

#include "dax_common.bpf.h"

/* &vmemmap_base from kallsyms, 0 = unknown: pfns then read as ~0 and the
 * pgmap range check is skipped. Not rodata: user space sets it after the
 * load, before attaching, so the load need not wait for kallsyms. */
__u64 vmemmap_base_addr = 0;

/* Layouts of older kernels (CO-RE flavours). */
struct page___old {
	struct dev_pagemap *pgmap;		/* <= 6.14: pgmap in page */
	unsigned long index;			/* <= 6.17: page->index */
	struct address_space *mapping;		/* no folio (5.10): page->mapping */
} __attribute__((preserve_access_index));

struct folio___new {
	struct dev_pagemap *pgmap;		/* 6.15+: pgmap in folio */
	unsigned long _flags_1;			/* order in the low byte */
	atomic_t _large_mapcount;
} __attribute__((preserve_access_index));

struct page___ulflags {
	unsigned long flags;			/* <= 6.17: plain word (memdesc_flags_t after) */
} __attribute__((preserve_access_index));

/* 7.x: compound_head renamed compound_info. A tail page (bit 0 set) holds
 * either the head's address + 1 or, with HVO and a power-of-2 struct page
 * (Debian 7.x), a mask that turns the tail's address into the head's. */
struct page___info {
	unsigned long compound_info;
} __attribute__((preserve_access_index));

struct dev_pagemap___old {
	struct range range;
} __attribute__((preserve_access_index));

static __always_inline __u64 dax_page_size(void)
{
	return bpf_core_type_size(struct page);
}

/* The head of `p` from its compound_head/compound_info word `ch`. */
static __always_inline struct page *dax_head_of(struct page *p, unsigned long ch)
{
	unsigned long m, inv;

	if (!(ch & 1))
		return p;
	m = ch - 1;
	inv = ~m;
	/* a mask is ones from some bit up: its complement is 2^n - 1 (a
	 * vmemmap address never is: it is far below the top of memory) */
	if (m && !(inv & (inv + 1)))
		return (struct page *)((unsigned long)p & m);
	return (struct page *)m;
}

static __always_inline struct page *dax_page_head(struct page *p)
{
	struct page___info *pi = (void *)p;
	unsigned long ch = 0;

	if (bpf_core_field_exists(p->compound_head))
		ch = BPF_CORE_READ(p, compound_head);
	else if (bpf_core_field_exists(pi->compound_info))
		ch = BPF_CORE_READ(pi, compound_info);
	return dax_head_of(p, ch);
}

/* Value of vmemmap_base, 0 when unknown. */
static __always_inline __u64 dax_vmemmap(void)
{
	__u64 base = 0;

	if (vmemmap_base_addr)
		bpf_probe_read_kernel(&base, sizeof(base), (void *)vmemmap_base_addr);
	return base;
}

static __always_inline __u64 dax_page_pfn(struct page *p)
{
	__u64 base = dax_vmemmap(), sz = dax_page_size();

	if (!base || !sz || (__u64)p < base)
		return ~0ULL;
	return ((__u64)p - base) / sz;
}

static __always_inline struct dev_pagemap *dax_page_pgmap(struct page *head)
{
	struct folio___new *f = (void *)head;
	struct page___old *po = (void *)head;

	if (bpf_core_field_exists(f->pgmap))
		return BPF_CORE_READ(f, pgmap);
	if (bpf_core_field_exists(po->pgmap))
		return BPF_CORE_READ(po, pgmap);
	return NULL;
}

/* Offset of compound_head/compound_info and of pgmap (page or folio) in
 * this kernel's struct page, -1 if absent. */
static __always_inline int dax_off_compound(void)
{
	struct page___info *pi = NULL;
	struct page *p = NULL;

	if (bpf_core_field_exists(p->compound_head))
		return bpf_core_field_offset(p->compound_head);
	if (bpf_core_field_exists(pi->compound_info))
		return bpf_core_field_offset(pi->compound_info);
	return -1;
}

static __always_inline int dax_off_pgmap(void)
{
	struct folio___new *f = NULL;
	struct page___old *po = NULL;

	if (bpf_core_field_exists(f->pgmap))
		return bpf_core_field_offset(f->pgmap);
	if (bpf_core_field_exists(po->pgmap))
		return bpf_core_field_offset(po->pgmap);
	return -1;
}

/* The pgmap slot of the folio holding `p`, for hot paths: in every kernel
 * so far pgmap shares its word with compound_head/compound_info, so a page
 * that is no tail page (bit 0 clear) yields it in one read. */
static __always_inline struct dev_pagemap *dax_page_pgmap_quick(struct page *p)
{
	int off = dax_off_compound();
	unsigned long w = 0;

	if (off < 0 || off != dax_off_pgmap())
		return dax_page_pgmap(dax_page_head(p));
	if (bpf_probe_read_kernel(&w, sizeof(w), (void *)p + off))
		return NULL;
	if (w & 1)
		return dax_page_pgmap(dax_head_of(p, w));
	return (struct dev_pagemap *)w;
}

/* The cheap half of the check below (hot paths test it first). */
static __always_inline bool dax_pgmap_type_is_fsdax(struct dev_pagemap *pgmap)
{
	return pgmap && BPF_CORE_READ(pgmap, type) ==
			bpf_core_enum_value(enum memory_type, MEMORY_DEVICE_FS_DAX);
}

/* pgmap type is MEMORY_DEVICE_FS_DAX and, when the pfn is known, the pgmap
 * covers it: pgmap shares its slot with lru/compound_head in ordinary
 * pages, so the range check rejects garbage. */
static __always_inline bool dax_pgmap_is_fsdax(struct dev_pagemap *pgmap, __u64 pfn)
{
	struct dev_pagemap___old *o = (void *)pgmap;
	struct range r = {};

	if (!dax_pgmap_type_is_fsdax(pgmap))
		return false;
	if (pfn == ~0ULL)
		return true;
	if (bpf_core_field_exists(pgmap->range))
		r = BPF_CORE_READ(pgmap, range);
	else if (bpf_core_field_exists(o->range))
		r = BPF_CORE_READ(o, range);
	return !r.end || ((pfn << 12) >= r.start && (pfn << 12) <= r.end);
}

static __always_inline bool dax_page_is_fsdax(struct page *page)
{
	return dax_pgmap_is_fsdax(dax_page_pgmap(dax_page_head(page)), dax_page_pfn(page));
}

static __always_inline int dax_refcount(struct page *head)
{
	return BPF_CORE_READ(head, _refcount.counter);
}

static __always_inline bool dax_is_head(struct page *head)
{
	struct page___ulflags *old = (void *)head;
	unsigned long flags = 0;
	int bit = bpf_core_enum_value(enum pageflags, PG_head);

	if (bpf_core_field_exists(old->flags))
		flags = BPF_CORE_READ(old, flags);
	else if (bpf_core_field_exists(head->flags))
		bpf_probe_read_kernel(&flags, sizeof(flags), &head->flags);
	return bit >= 0 && bit < 64 && (flags >> bit) & 1;
}

static __always_inline __u8 dax_folio_order(struct page *head)
{
	struct folio___new *f = (void *)head;

	if (dax_is_head(head) && bpf_core_field_exists(f->_flags_1))
		return BPF_CORE_READ(f, _flags_1) & 0xff;
	return 0;
}

/* Mappings of the folio: only meaningful in the zero-based era (6.15+). */
static __always_inline int dax_mapcount(struct page *head)
{
	struct folio___new *f = (void *)head;

	if (dax_is_head(head) && bpf_core_field_exists(f->_large_mapcount))
		return BPF_CORE_READ(f, _large_mapcount.counter) + 1;
	return BPF_CORE_READ(head, _mapcount.counter) + 1;
}

static __always_inline __u64 dax_folio_index(struct page *head)
{
	struct folio *f = (void *)head;
	struct page___old *po = (void *)head;

	if (bpf_core_field_exists(f->index))
		return BPF_CORE_READ(f, index);
	if (bpf_core_field_exists(po->index))
		return BPF_CORE_READ(po, index);
	return 0;
}

/* File page index of `page`, a subpage of the folio at `head`. */
static __always_inline __u64 dax_page_index(struct page *head, struct page *page)
{
	return dax_folio_index(head) + ((__u64)page - (__u64)head) / dax_page_size();
}

/* folio->mapping, or page->mapping where there is no folio (5.10). */
static __always_inline unsigned long dax_folio_mapping(struct page *head)
{
	struct folio *f = (void *)head;
	struct page___old *po = (void *)head;

	if (bpf_core_field_exists(f->mapping))
		return (unsigned long)BPF_CORE_READ(f, mapping);
	if (bpf_core_field_exists(po->mapping))
		return (unsigned long)BPF_CORE_READ(po, mapping);
	return 0;
}

/* Owner of a DAX page: dev, inode and file index through folio->mapping.
 * mapping 0 or odd (6.1 PAGE_MAPPING_DAX_COW, 6.12 PAGE_MAPPING_DAX_SHARED,
 * 6.15+ NULL with ->share) means a reflink-shared extent: no single file.
 * Returns the address_space, 0 when shared. */
static __always_inline __u64 dax_page_owner(struct page *head, struct page *page, __u32 *dev,
					    __u64 *ino, __u64 *index, __u8 *shared)
{
	unsigned long mapping = dax_folio_mapping(head);
	struct inode *host;

	*dev = 0;
	*ino = 0;
	*index = 0;
	*shared = mapping <= 1 || (mapping & 1);
	if (*shared)
		return 0;
	host = BPF_CORE_READ((struct address_space *)mapping, host);
	if (host) {
		*dev = inode_dev(host);
		*ino = inode_ino(host);
		*index = dax_page_index(head, page);
	}
	return mapping;
}

#endif
