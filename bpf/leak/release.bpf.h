/* daxleak release: forget a tracked page when its extra references
 * are dropped. One-based era: the devmap put helpers and
 * dax_disassociate_entry; zero-based era (6.15+): free_zone_device_folio
 * (the final put only). fentry and kprobe variants of each hook.
 *
 * Included once by daxleak.bpf.c, after the maps and helpers it uses: a
 * BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_LEAK_RELEASE_BPF_H
#define DAXTRACE_LEAK_RELEASE_BPF_H

static __always_inline void forget(__u64 key, struct dl_page_val *v, __u64 now, int done_counter)
{
	hold_add(now - v->first_ns);
	count(done_counter);
	bpf_map_delete_elem(&tracked, &key);
}

/* One-based era: every put of an FS DAX page passes here with the number
 * of references dropped; the count is read before the subtraction. */
static __always_inline void put_refs(void *ctx, struct page *page, int refs)
{
	struct page *head = dax_page_head(page);
	struct dl_page_val *v;
	__u64 key = (__u64)page, pfn;
	int before, after;

	pfn = dax_page_pfn(page);
	if (!dax_pgmap_is_fsdax(dax_page_pgmap(head), pfn))
		return;
	count(DLC_RELEASES);
	before = dax_refcount(head);
	after = before - refs;
	/* constant types only: the verifier bounds the counter index */
	if (after < 0)
		emit_anomaly(DLA_NEGATIVE, page, head, pfn, before, -1, refs, ctx);
	else if (after < idle_ref)
		emit_anomaly(DLA_UNDERFLOW, page, head, pfn, before, -1, refs, ctx);
	v = bpf_map_lookup_elem(&tracked, &key);
	if (!v)
		return;
	count(DLC_RELEASE_MATCHED);
	__sync_fetch_and_add(&v->refs, -refs);
	v->cur_ref = after;
	if (v->refs <= 0 || after <= idle_ref)
		forget(key, v, bpf_ktime_get_ns(), DLC_RELEASE_DONE);
}

/* fentry/fexit programs read their arguments with bpf_get_func_arg: a
 * scalar, so the pfn and subpage arithmetic is allowed (typed BTF pointers
 * refuse pointer subtraction). */
SEC("fentry/__put_devmap_managed_page_refs")
int put_page_refs_fentry(void *ctx)
{
	put_refs(ctx, (struct page *)fn_arg(ctx, 0), (int)fn_arg(ctx, 1));
	return 0;
}

SEC("kprobe/__put_devmap_managed_page_refs")
int BPF_KPROBE(put_page_refs_kprobe, struct page *page, int refs)
{
	put_refs(ctx, page, refs);
	return 0;
}

/* 6.12: same thing on the folio (its first member is the page). */
SEC("fentry/__put_devmap_managed_folio_refs")
int put_folio_refs_fentry(void *ctx)
{
	put_refs(ctx, (struct page *)fn_arg(ctx, 0), (int)fn_arg(ctx, 1));
	return 0;
}

SEC("kprobe/__put_devmap_managed_folio_refs")
int BPF_KPROBE(put_folio_refs_kprobe, struct folio *folio, int refs)
{
	put_refs(ctx, (struct page *)folio, refs);
	return 0;
}

/* 5.10-era puts: put_devmap_managed_page(page) drops one reference (every
 * put_page of an FS DAX page, release_pages too); put_compound_head(page,
 * refs, flags), the unpin path, subtracts refs - 1 inline (refs times
 * GUP_PIN_COUNTING_BIAS for a pin: DAX pages are never compound here, so
 * no separate pin count) before its put_page reaches the hook above. */
#define FOLL_PIN_ 0x40000
#define GUP_PIN_COUNTING_BIAS_ 1024

SEC("kprobe/put_devmap_managed_page")
int BPF_KPROBE(put_devmap_kprobe, struct page *page)
{
	put_refs(ctx, page, 1);
	return 0;
}

SEC("kprobe/put_compound_head")
int BPF_KPROBE(put_compound_kprobe, struct page *page, int refs, unsigned int flags)
{
	if (flags & FOLL_PIN_)
		refs *= GUP_PIN_COUNTING_BIAS_;
	if (refs > 1)
		put_refs(ctx, page, refs - 1);
	return 0;
}

/* Zero-based era: the count reached zero. Non-final puts are inline
 * atomics; the scan iterator sees those. */
static __always_inline void folio_freed(void *ctx, struct page *head)
{
	struct dl_page_val *v;
	__u64 key = (__u64)head, pfn = dax_page_pfn(head);
	int map;

	if (!dax_pgmap_is_fsdax(dax_page_pgmap(head), pfn))
		return;
	count(DLC_FREES);
	map = dax_mapcount(head);
	if (map > 0)
		emit_anomaly(DLA_FREED_MAPPED, head, head, pfn, 0, map, 0, ctx);
	v = bpf_map_lookup_elem(&tracked, &key);
	if (!v)
		return;
	count(DLC_FREE_MATCHED);
	forget(key, v, bpf_ktime_get_ns(), DLC_RELEASE_DONE);
}

SEC("fentry/free_zone_device_folio")
int free_folio_fentry(void *ctx)
{
	folio_freed(ctx, (struct page *)fn_arg(ctx, 0));
	return 0;
}

SEC("kprobe/free_zone_device_folio")
int BPF_KPROBE(free_folio_kprobe, struct folio *folio)
{
	folio_freed(ctx, (struct page *)folio);
	return 0;
}

/* One-based era: dax_disassociate_entry(entry, mapping, trunc) with trunc
 * set expects every page of the entry idle (refcount 1); the kernel WARNs
 * otherwise. Entry: xarray value (v << 1) | 1, pfn = v >> 4, flags PMD=2,
 * ZERO=4, EMPTY=8 (same in 6.1, 6.12, 7.x). */
struct disassoc_ctx {
	__u64 base, sz, pfn;
	__s64 busy;		/* index of the first busy page, -1 none */
	int ref;
};

static long disassoc_one(__u32 i, struct disassoc_ctx *d)
{
	struct page *p = (struct page *)(d->base + (d->pfn + i) * d->sz);
	int ref = 0;

	if (bpf_probe_read_kernel(&ref, sizeof(ref), &p->_refcount.counter))
		return 1;
	if (ref > 1) {
		d->busy = i;
		d->ref = ref;
		return 1;
	}
	return 0;
}

/* Without bpf_loop: the refcount of page pfn at base (sz bytes a page),
 * -1 if unreadable. Global and scalar-only, as batch_track. */
__noinline int disassoc_ref(__u64 base, __u64 sz, __u64 pfn)
{
	struct page *p = (struct page *)(base + pfn * sz);
	int ref = 0;

	if (bpf_probe_read_kernel(&ref, sizeof(ref), &p->_refcount.counter))
		return -1;
	return ref;
}

static __always_inline void disassoc_scan(struct disassoc_ctx *d, __u32 n, bool noloop)
{
	if (!noloop) {
		bpf_loop(n, disassoc_one, d, 0);
		return;
	}
	for (__u32 i = 0; i < 512 && i < n; i++) {
		int ref = disassoc_ref(d->base, d->sz, d->pfn + i);

		if (ref < 0)
			break;
		if (ref > 1) {
			d->busy = i;
			d->ref = ref;
			break;
		}
	}
}

static __always_inline void disassoc_in(void *ctx, __u64 entry, __u64 trunc, bool noloop)
{
	struct disassoc_ctx d = { .busy = -1 };
	struct page *p;
	__u64 v;

	if (!(trunc & 0xff) || !(entry & 1) || !vmemmap_base_addr)
		return;
	v = entry >> 1;
	if (v & (4 | 8))
		return;
	if (bpf_probe_read_kernel(&d.base, sizeof(d.base), (void *)vmemmap_base_addr) || !d.base)
		return;
	d.sz = dax_page_size();
	d.pfn = v >> 4;
	disassoc_scan(&d, v & 2 ? 512 : 1, noloop);
	if (d.busy < 0)
		return;
	p = (struct page *)(d.base + (d.pfn + d.busy) * d.sz);
	emit_anomaly(DLA_DISASSOC_BUSY, p, p, d.pfn + d.busy, d.ref, -1, 0, ctx);
}

static __always_inline void disassoc(void *ctx, __u64 entry, __u64 trunc)
{
	disassoc_in(ctx, entry, trunc, false);
}

SEC("fentry/dax_disassociate_entry")
int disassoc_fentry(void *ctx)
{
	disassoc(ctx, fn_arg(ctx, 0), fn_arg(ctx, 2));
	return 0;
}

SEC("kprobe/dax_disassociate_entry")
int BPF_KPROBE(disassoc_kprobe, void *entry, void *mapping, unsigned long trunc)
{
	disassoc(ctx, (__u64)entry, trunc);
	return 0;
}

SEC("kprobe/dax_disassociate_entry")
int BPF_KPROBE(disassoc_kprobe_noloop, void *entry, void *mapping, unsigned long trunc)
{
	disassoc_in(ctx, (__u64)entry, trunc, true);
	return 0;
}

#endif
