/* daxtop per-CPU fault slot: which faults are timed (adaptive
 * sampling), their latency, and the row cache that gathers a row's counts
 * on one CPU before moving them to the row; fault_begin and fault_end.
 *
 * Included once by daxtop.bpf.c, after its maps and the parts before it:
 * a BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_TOP_FAULT_SLOT_BPF_H
#define DAXTRACE_TOP_FAULT_SLOT_BPF_H

static __always_inline struct fault_slot *cpu_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fault_start, &zero);
}

/* Whether to time this fault: every fault while this CPU's fault rate is
 * low, a random 1 in 2^shift when it is high. Random, not every Nth: fault
 * loops have power-of-two periods that a fixed stride would alias with. */
static __always_inline bool lat_sample(struct fault_slot *slot)
{
	__u32 x = slot->rnd;

	if (lat_all || !slot->shift)
		return true;
	if (!x)
		x = bpf_get_prandom_u32() | 1;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	slot->rnd = x;
	return !(x & ((1u << (slot->shift & 31)) - 1));
}

/* Keep timed faults about DAXTOP_LAT_GAP_NS apart on each CPU: halve the
 * share when they come faster, double it when slower, all of them again
 * after a quiet spell. */
static __always_inline void lat_adapt(struct fault_slot *slot, __u64 now)
{
	__u64 gap = now - slot->last_timed_ns;

	slot->last_timed_ns = now;
	if (lat_all)
		return;
	if (gap < DAXTOP_LAT_GAP_NS / 2) {
		if (slot->shift < DAXTOP_LAT_MAX_SHIFT)
			slot->shift++;
	} else if (gap > DAXTOP_LAT_GAP_NS * 64) {
		slot->shift = 0;
	} else if (gap > DAXTOP_LAT_GAP_NS * 2 && slot->shift) {
		slot->shift--;
	}
}

static __always_inline void fault_begin(__u32 dev, __u64 ino)
{
	struct fault_slot *slot;
	__u64 now;

	if (!wanted(dev))
		return;
	slot = cpu_slot();
	if (!slot)
		return;
	if (slot->start_ns) {
		/* the timed fault before did not end on this CPU */
		__sync_fetch_and_add(&drops[DROP_LAT_NO_START], 1);
		slot->start_ns = 0;
	}
	if (!lat_sample(slot))
		return;
	now = bpf_ktime_get_ns();
	lat_adapt(slot, now);
	slot->tid = current_tid();
	slot->start_ns = now;
}

/* Latency in ns of this thread's fault if it was timed on this CPU, else 0. */
static __always_inline __u64 fault_latency(struct fault_slot *slot)
{
	__u64 start = slot->start_ns, now;

	if (!start || slot->tid != current_tid())
		return 0;
	slot->start_ns = 0;
	now = bpf_ktime_get_ns();
	return now > start ? now - start : 1;
}

/* Move this CPU's gathered counts to their row: zero the slot first, so
 * that user space (rows first, slots after) never sees them in both.
 * Global: verified once per program. It finds the slot itself (the same
 * per-CPU entry its caller holds): kernels before 5.12 reject a global
 * function that takes a pointer. */
__noinline int cache_flush(void)
{
	__u64 p[DAXTOP_PEND_NR], faults = 0;
	struct fault_slot *slot = cpu_slot();
	struct daxtop_row *r;
	struct daxtop_key k;

	if (!slot)
		return 0;
	k = slot->ckey;
	for (int i = 0; i < DAXTOP_PEND_NR; i++) {
		p[i] = slot->pend[i];
		slot->pend[i] = 0;
		if (i != DT_WRITE)
			faults += p[i];
	}
	if (!faults)
		return 0;
	r = row_make(&k, NULL, slot->comm, faults);
	if (!r)
		return 0;
	for (int i = 0; i < DAXTOP_PEND_NR; i++)
		if (p[i])
			__sync_fetch_and_add(&r->cnt[i], p[i]);
	r->last_ns = clock_ns;
	return 0;
}

/* Gather this CPU's faults for the row of (current process, dev, ino) from
 * now on, after handing over what it gathered for another row. */
static __always_inline void cache_adopt(struct fault_slot *slot, __u32 tgid, __u32 dev,
					__u64 ino, const char *comm)
{
	cache_flush();
	slot->ckey.pid = tgid;
	slot->ckey.dev = dev;
	slot->ckey.ino = ino;
	__builtin_memcpy(slot->comm, comm, sizeof(slot->comm));
}

/* Whether the slot gathers counts for the row of (tgid, dev, ino). */
static __always_inline bool slot_holds(const struct fault_slot *slot, __u32 tgid, __u32 dev,
				       __u64 ino)
{
	return slot->ckey.pid == tgid && slot->ckey.ino == ino && slot->ckey.dev == dev;
}

static __always_inline void fault_end(const struct fault_args *a, int counter, int hist_id)
{
	struct fault_slot *slot;
	struct daxtop_row *r;
	__u32 tgid;
	__u64 lat = 0;
	bool held;	/* this CPU's row cache is this row's */

	if (!wanted(a->dev))
		return;
	slot = cpu_slot();
	if (slot) {	/* never missing; without it, the count still goes in */
		slot->faults++;
		lat = fault_latency(slot);
	}
	tgid = current_tgid();
	held = row_cache && slot && slot_holds(slot, tgid, a->dev, a->ino);
	if (held && !lat) {
		slot->pend[counter]++;
		if (counter != DT_PMD_FALLBACK && (a->flags & FAULT_FLAG_WRITE))
			slot->pend[DT_WRITE]++;
		return;
	}
	r = row_for(tgid, a->dev, a->ino, a->vmf);
	if (row_cache && slot && r && !held)
		cache_adopt(slot, tgid, a->dev, a->ino, r->comm);
	if (lat)
		hist_add(&hists[hist_id], lat);
	if (!r)
		return;
	__sync_fetch_and_add(&r->cnt[counter], 1);
	if (counter != DT_PMD_FALLBACK && (a->flags & FAULT_FLAG_WRITE))
		__sync_fetch_and_add(&r->cnt[DT_WRITE], 1);
	if (lat) {
		__sync_fetch_and_add(&r->lat_ns, lat);
		hist_add(&r->lat, lat);
	}
}

#endif
