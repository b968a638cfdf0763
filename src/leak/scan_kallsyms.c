/* daxleak --now: one pass over /proc/kallsyms, in a thread of its own,
 * for the text ranges the task scan matches (blwait.c's wait frames, direct
 * I/O) and the data symbols it reads. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "scan_int.h"

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Frames of a task with direct I/O in flight: it may hold pinned pages. */
static const char *const gupio_funcs[] = {
	"__iomap_dio_rw", "iomap_dio_rw", "__blockdev_direct_IO", "__blkdev_direct_IO",
	"__blkdev_direct_IO_simple", "__blkdev_direct_IO_async", "fuse_direct_io",
};


/* One pass over /proc/kallsyms for what the scan needs before it knows
 * whether anything is stuck: the text ranges of the wait and direct-I/O
 * functions (end = next higher text address, modules included), and the
 * data symbols bit_wait_table and vmemmap_base (only with KALLSYMS_ALL).
 * The full symbol table (src/ksyms.c) is loaded only to print a waiter. */
struct kscan_state {
	struct ksyms_scan *k;
	uint64_t *addrs;	/* every text address: a range ends at the next one */
	size_t n, cap;
	const char *const *wait;	/* blwait.c's wait frames */
	int nwait;
	char first[256];	/* first characters of the names looked for */
	bool outer[DN_MAX_RANGES];	/* rg[i] is xfs_break_layouts (5.10 rule) */
	bool have_inner, have_outer;
};

static int kallsyms_scan_line(char *line, void *arg)
{
	struct kscan_state *st = arg;
	struct ksyms_scan *k = st->k;
	char type, *name, *mod;
	uint64_t addr;
	bool wanted;

	if (ksym_parse_line(line, &addr, &type, &name, &mod) || !addr)
		return 0;
	wanted = st->first[(unsigned char)name[0]];
	/* by name whatever the type: 7.x lists bit_wait_table as 't' */
	if (wanted && !strcmp(name, "bit_wait_table"))
		k->bit_wait_table = addr;
	else if (wanted && !strcmp(name, "vmemmap_base"))
		k->vmemmap_base = addr;
	if (!ksym_is_text(type))
		return 0;
	if (st->n == st->cap) {
		uint64_t *a = realloc(st->addrs, st->cap * 2 * sizeof(*a));

		if (!a)
			return -ENOMEM;
		st->addrs = a;
		st->cap *= 2;
	}
	st->addrs[st->n++] = addr;
	if (!wanted)
		return 0;
	if (!strcmp(name, "var_wake_function"))
		k->var_wake = addr;
	for (int i = 0; i < st->nwait + N(gupio_funcs) && k->nr < DN_MAX_RANGES; i++) {
		const char *base = i < st->nwait ? st->wait[i] : gupio_funcs[i - st->nwait];

		if (name[0] != base[0] || !ksym_name_matches(name, base))
			continue;
		st->have_inner |= !strcmp(base, BLW_XFS_INNER);
		st->have_outer |= !strcmp(base, BLW_XFS_OUTER);
		st->outer[k->nr] = !strcmp(base, BLW_XFS_OUTER);
		k->rg[k->nr++] = (struct dn_range){ addr, 0,
			i < st->nwait ? DN_CLS_WAIT : DN_CLS_GUPIO, 0 };
		break;
	}
	return 0;
}

/* xfs_break_layouts is a wait frame only where the DAX wait is inlined
 * into it (5.10): elsewhere it also sleeps in lease breaks, and the DAX
 * wait shows its own frame. */
static void keep_outer_only_if_inlined(struct kscan_state *st)
{
	struct ksyms_scan *k = st->k;
	struct blw_frames f;
	int n = 0;

	blw_frames_decide(&f, st->have_inner, st->have_outer);
	k->have_xfs_inner = st->have_inner;
	k->have_xfs_outer = st->have_outer;
	for (int i = 0; i < k->nr; i++)
		if (!st->outer[i] || f.xfs_inlined)
			k->rg[n++] = k->rg[i];
	k->nr = n;
}

/* One pass per process: daxleak asks for vmemmap_base before loading its
 * programs and the scan at start needs the rest right after. The pass is
 * mostly the kernel formatting /proc/kallsyms (~30 ms), so it runs in a
 * thread of its own while the BTF is parsed and programs are loaded
 * (daxnow_kallsyms_start); the first use waits for it. */
static struct ksyms_scan kscan_cache;
static int kscan_cached;	/* 0 not yet, 1 done, -1 failed */
static pthread_t kscan_thread;
static bool kscan_running;

static int kallsyms_scan_uncached(struct ksyms_scan *k);

static void *kscan_main(void *arg)
{
	sigset_t all;

	sigfillset(&all);	/* signals are the main thread's */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	kscan_cached = kallsyms_scan_uncached(&kscan_cache) ? -1 : 1;
	return NULL;
}

void daxnow_kallsyms_start(void)
{
	if (!kscan_running && !kscan_cached)	/* the thread writes kscan_cached */
		kscan_running = !pthread_create(&kscan_thread, NULL, kscan_main, NULL);
}

void kallsyms_wait(void)
{
	if (kscan_running) {
		pthread_join(kscan_thread, NULL);
		kscan_running = false;
	}
}

int kallsyms_scan(struct ksyms_scan *k)
{
	kallsyms_wait();
	if (!kscan_cached)
		kscan_cached = kallsyms_scan_uncached(&kscan_cache) ? -1 : 1;
	*k = kscan_cache;
	if (kscan_cached > 0)	/* the waits' frames for every user of blwait.c */
		blw_frames_publish(k->have_xfs_inner, k->have_xfs_outer);
	return kscan_cached < 0 ? -1 : 0;
}

uint64_t daxnow_vmemmap_base_addr(void)
{
	struct ksyms_scan k;

	return kallsyms_scan(&k) ? 0 : k.vmemmap_base;
}

static int kallsyms_scan_uncached(struct ksyms_scan *k)
{
	static const char *const more[] = { "bit_wait_table", "vmemmap_base", "var_wake_function" };
	struct kscan_state st = { .k = k, .cap = 1 << 17 };

	memset(k, 0, sizeof(*k));
	st.nwait = blw_wait_funcs(&st.wait);
	for (int i = 0; i < st.nwait + N(gupio_funcs); i++)
		st.first[(unsigned char)(i < st.nwait ? st.wait[i] : gupio_funcs[i - st.nwait])[0]] = 1;
	for (int i = 0; i < N(more); i++)
		st.first[(unsigned char)more[i][0]] = 1;
	st.addrs = malloc(st.cap * sizeof(*st.addrs));
	if (!st.addrs || kallsyms_foreach(NULL, kallsyms_scan_line, &st)) {
		free(st.addrs);
		return -1;
	}
	/* each range ends at the next higher text address (modules are not
	 * sorted): one pass over them all, no sort */
	for (int i = 0; i < k->nr; i++)
		k->rg[i].end = UINT64_MAX;
	for (size_t a = 0; a < st.n; a++)
		for (int i = 0; i < k->nr; i++)
			if (st.addrs[a] > k->rg[i].start && st.addrs[a] < k->rg[i].end)
				k->rg[i].end = st.addrs[a];
	for (int i = 0; i < k->nr; i++)
		if (k->rg[i].end == UINT64_MAX)
			k->rg[i].end = k->rg[i].start + 4096;
	free(st.addrs);
	keep_outer_only_if_inlined(&st);
	/* tests: the wait entry searched on the stack, as without KALLSYMS_ALL */
	if (getenv("DAXTRACE_SCAN_NO_BWT"))
		k->bit_wait_table = 0;
	return 0;
}

