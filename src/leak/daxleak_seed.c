/* What was there before daxleak: the --now scan, run once after attach,
 * puts the waiters and held pages it finds into daxleak's own maps,
 * marked seen at start (culprit unknown, ages lower bounds). */
#include <string.h>
#include <bpf/bpf.h>
#include "daxleak_int.h"
#include "util.h"

/* A waiter the scan found, unless a hook has seen it since attach. */
static void seed_waiter(struct leak_ctx *c, const struct daxnow_waiter *w, uint64_t now)
{
	const struct dn_page *pg = &w->rec.pg;
	struct dl_waiter nw = { .last_ns = now, .pid = w->rec.pid, .tid = w->rec.tid, .kstack = -1,
				.flags = DL_SEEN_AT_START };

	/* the wait began at least this long ago (a spurious wake-up restarts it) */
	if (w->asleep_s >= 0 && w->asleep_s * 1e9 < now)
		nw.start_ns = now - (uint64_t)(w->asleep_s * 1e9);
	if (w->page_found) {
		nw.busy_page = pg->page;
		nw.busy_folio = pg->head;
		nw.ino = pg->ino;
		nw.dev = pg->dev;
		nw.cur_ref = pg->refcount;
		nw.cur_map = c->era.era == ERA_ZERO_BASED ? pg->mapcount : 0;
		nw.busy_pfn = pg->pfn;
		nw.busy_ino = pg->ino;
		nw.busy_dev = pg->dev;
		nw.busy_index = pg->index;
		nw.busy_order = pg->order;
		nw.busy_shared = pg->shared;
		nw.busy_known = 1;
	}
	memcpy(nw.comm, w->rec.comm, sizeof(nw.comm));
	/* NOEXIST: an entry the busy-page hook made since attach knows more */
	if (!bpf_map_update_elem(c->waiters_fd, &nw.tid, &nw, BPF_NOEXIST))
		c->start_waiters++;
}

/* The tracked entry for `page` or another page of its folio, if any. */
static bool tracked_folio(struct leak_ctx *c, uint64_t page, uint64_t folio, uint64_t *key,
			  struct dl_page_val *v)
{
	uint64_t k, next, *prev = NULL;

	while (!bpf_map_get_next_key(c->tracked_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(c->tracked_fd, &k, v) && (k == page || v->folio == folio)) {
			*key = k;
			return true;
		}
	}
	return false;
}

/* A page held from outside: tracked with the references it had at the
 * scan, so the put hook (one-based) or the refcount scan retires it. Its
 * age counts from the wait on it when one is known, else from now. */
static void seed_page(struct leak_ctx *c, const struct daxnow_held *h, uint64_t now)
{
	const struct dn_page *pg = &h->pg;
	struct dl_page_val nv = { .folio = pg->head, .first_ns = now, .last_ns = now, .pfn = pg->pfn,
				  .ino = pg->ino, .index = pg->index, .dev = pg->dev,
				  .refs = h->extra, .pid = h->pid, .kstack = -1, .ustack = -1,
				  .order = pg->order, .gup = 0xff, .shared = pg->shared,
				  .flags = DL_SEEN_AT_START, .cur_ref = pg->refcount };
	struct dl_page_val old;
	uint64_t key;

	if (h->extra <= 0 || (c->a.pid && h->pid != c->a.pid))
		return;
	if (tracked_folio(c, pg->page, pg->head, &key, &old)) {
		/* taken again since attach: one item, with the culprit the hook
		 * saw, plus the references that were there before */
		if (h->extra > old.refs) {
			old.refs = h->extra;
			old.flags |= DL_SEEN_AT_START;
			bpf_map_update_elem(c->tracked_fd, &key, &old, BPF_EXIST);
		}
		return;
	}
	if (h->waiter >= 0 && c->start.w[h->waiter].asleep_s >= 0 &&
	    c->start.w[h->waiter].asleep_s * 1e9 < now)
		nv.first_ns = now - (uint64_t)(c->start.w[h->waiter].asleep_s * 1e9);
	nv.cur_map = c->era.era == ERA_ZERO_BASED ? pg->mapcount : 0;
	memcpy(nv.comm, h->pid ? h->comm : "?", h->pid ? sizeof(nv.comm) : 2);
	key = pg->page;
	if (!bpf_map_update_elem(c->tracked_fd, &key, &nv, BPF_NOEXIST))
		c->start_pages++;
}

/* Our hooks are attached: what changes from now on, they see. What was
 * there before, the scan finds; it goes into the same maps. */
void leak_seed_from_scan(struct leak_ctx *c)
{
	uint64_t now;

	if (daxnow_scan(&c->start)) {
		warn_msg("the scan at start failed: waits and references older than daxleak "
			 "stay unseen (daxleak --now shows why)");
		return;
	}
	c->start_ran = true;
	now = mono_ns();
	for (size_t i = 0; i < c->start.nw; i++)
		seed_waiter(c, &c->start.w[i], now);
	for (size_t i = 0; i < c->start.nheld; i++)
		seed_page(c, &c->start.held[i], now);
}
