/* daxleak waiters: dax_layout_busy_page_range returning a busy page
 * means break_layouts waits on it; report the page, its owner file and
 * offset, and who is waiting. fexit and kprobe/kretprobe variants.
 *
 * Included once by daxleak.bpf.c, after the maps and helpers it uses: a
 * BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_LEAK_WAITERS_BPF_H
#define DAXTRACE_LEAK_WAITERS_BPF_H

/* The busy page by pfn, owner inode and file offset, and its folio order. */
static __always_inline void busy_page_info(struct dl_waiter *w, struct page *head,
					   struct page *page)
{
	w->busy_pfn = dax_page_pfn(page);
	dax_page_owner(head, page, &w->busy_dev, &w->busy_ino, &w->busy_index, &w->busy_shared);
	w->busy_order = dax_folio_order(head);
	w->busy_known = 1;
}

static __always_inline void busy_done(void *ctx, struct address_space *mapping, __u64 start,
				      __u64 end, struct page *page)
{
	__u32 tid = current_tid();
	struct dl_waiter *w, nw = {};
	struct page *head;
	struct inode *host;
	__u64 now;

	count(DLC_BUSY_CALLS);
	if (!page) {
		/* layout broken (or nothing was busy): this task waits no more */
		bpf_map_delete_elem(&waiters, &tid);
		return;
	}
	count(DLC_BUSY_FOUND);
	now = bpf_ktime_get_ns();
	head = dax_page_head(page);
	w = bpf_map_lookup_elem(&waiters, &tid);
	if (w) {
		w->last_ns = now;
		w->nbusy++;
		w->busy_page = (__u64)page;
		w->busy_folio = (__u64)head;
		w->cur_ref = dax_refcount(head);
		w->cur_map = zero_based ? dax_mapcount(head) : 0;
		busy_page_info(w, head, page);
		return;
	}
	nw.start_ns = nw.last_ns = now;
	nw.busy_page = (__u64)page;
	nw.busy_folio = (__u64)head;
	nw.range_start = start;
	nw.range_end = end;
	host = BPF_CORE_READ(mapping, host);
	if (host) {
		nw.dev = inode_dev(host);
		nw.ino = inode_ino(host);
	}
	nw.pid = current_tgid();
	nw.tid = tid;
	nw.nbusy = 1;
	nw.kstack = bpf_get_stackid(ctx, &stacks, 0);
	nw.cur_ref = dax_refcount(head);
	nw.cur_map = zero_based ? dax_mapcount(head) : 0;
	busy_page_info(&nw, head, page);
	bpf_get_current_comm(nw.comm, sizeof(nw.comm));
	if (bpf_map_update_elem(&waiters, &tid, &nw, BPF_ANY))
		count(DLC_WAITER_OVERFLOW);
}

SEC("fexit/dax_layout_busy_page_range")
int busy_fexit(void *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	busy_done(ctx, (struct address_space *)fn_arg(ctx, 0), fn_arg(ctx, 1), fn_arg(ctx, 2),
		  (struct page *)ret);
	return 0;
}

SEC("kprobe/dax_layout_busy_page_range")
int BPF_KPROBE(busy_kprobe, struct address_space *mapping, loff_t start, loff_t end)
{
	__u32 tid = current_tid();
	struct busy_arg a = { (__u64)mapping, start, end };

	bpf_map_update_elem(&busy_args, &tid, &a, BPF_ANY);
	return 0;
}

SEC("kretprobe/dax_layout_busy_page_range")
int BPF_KRETPROBE(busy_kretprobe, struct page *ret)
{
	__u32 tid = current_tid();
	struct busy_arg *a = bpf_map_lookup_elem(&busy_args, &tid);

	if (!a)
		return 0;
	busy_done(ctx, (void *)a->mapping, a->start, a->end, ret);
	bpf_map_delete_elem(&busy_args, &tid);
	return 0;
}

#endif
