/* daxtop break_layouts waits per row: a wait starts when
 * dax_layout_busy_page_range first returns a busy page and ends when it
 * returns NULL again. This holds in every era: all break_layouts loops
 * call it until it is idle. fexit and kprobe/kretprobe variants.
 *
 * Included once by daxtop.bpf.c, after its maps and the parts before it:
 * a BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_TOP_WAITS_BPF_H
#define DAXTRACE_TOP_WAITS_BPF_H

static __always_inline void on_busy_result(struct address_space *mapping, void *page)
{
	struct inode *inode = BPF_CORE_READ(mapping, host);
	__u32 tid = current_tid();
	struct wait_state *ws;
	struct daxtop_row *r;
	__u64 now, d;

	if (!inode || !wanted(inode_dev(inode)))
		return;
	ws = bpf_map_lookup_elem(&bl_wait, &tid);
	if (page) {
		struct wait_state fresh = {};

		if (ws)
			return;	/* still waiting */
		fresh.start_ns = bpf_ktime_get_ns();
		fresh.key.pid = current_tgid();
		fresh.key.dev = inode_dev(inode);
		fresh.key.ino = inode_ino(inode);
		if (bpf_map_update_elem(&bl_wait, &tid, &fresh, BPF_NOEXIST))
			__sync_fetch_and_add(&drops[DROP_WAIT_FULL], 1);
		return;
	}
	if (!ws)
		return;
	now = bpf_ktime_get_ns();
	d = now - ws->start_ns;
	hist_add(&hists[H_BL_WAIT], d);
	r = row_get(&ws->key, NULL);
	if (r) {
		__sync_fetch_and_add(&r->cnt[DT_BL_WAITS], 1);
		__sync_fetch_and_add(&r->bl_wait_ns, d);
		if (d > r->bl_wait_max_ns)
			r->bl_wait_max_ns = d;
		r->last_ns = now;
	}
	bpf_map_delete_elem(&bl_wait, &tid);
}

SEC("fexit/dax_layout_busy_page_range")
int BPF_PROG(busy_fexit, struct address_space *mapping, loff_t start, loff_t end, void *ret)
{
	on_busy_result(mapping, ret);
	return 0;
}

SEC("kprobe/dax_layout_busy_page_range")
int BPF_KPROBE(busy_kprobe, struct address_space *mapping)
{
	__u32 tid = current_tid();
	__u64 m = (__u64)mapping;

	bpf_map_update_elem(&busy_arg, &tid, &m, BPF_ANY);
	return 0;
}

SEC("kretprobe/dax_layout_busy_page_range")
int BPF_KRETPROBE(busy_kretprobe, void *ret)
{
	__u32 tid = current_tid();
	__u64 *m = bpf_map_lookup_elem(&busy_arg, &tid);

	if (!m)
		return 0;
	on_busy_result((struct address_space *)*m, ret);
	bpf_map_delete_elem(&busy_arg, &tid);
	return 0;
}

#endif
