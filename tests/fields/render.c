/* tests/fields: run every JSON and Prometheus writer once on made-up data
 * that reaches each of its keys, each document after a line "@ NAME".
 * fields.sh turns the output into the list of key paths and metric label
 * sets and compares it with fields.golden. Values do not matter here. */
#include <stdlib.h>
#include <string.h>
#include "daxtop_print.h"
#include "daxleak_int.h"
#include "export.h"
#include "mounts.h"
#include "json.h"
#include "render.h"
#include "daxleak.skel.h"

#define P1 4000001u	/* pids that cannot exist: no /proc lookup succeeds */
#define P2 4000002u
#define DEV (259u << 20)

/* One made-up DAX mount wherever the writers list mounts
 * (linked with -Wl,--wrap=mounts_read). */
int __wrap_mounts_read(struct dax_mount *m, int max, bool dax_only)
{
	if (max < 1)
		return 0;
	memset(m, 0, sizeof(*m));
	m->dev = DEV;
	strcpy(m->source, "/dev/pmem0");
	strcpy(m->target, "/mnt/fields");
	strcpy(m->fstype, "ext4");
	strcpy(m->dax, "always");
	return 1;
}

static void doc(const char *name)
{
	printf("@ %s\n", name);
	fflush(stdout);
}

/* --- daxtop -o json: rows in each grouping, histograms on --- */

static struct view_row top_row(uint32_t pid, uint64_t ino)
{
	struct view_row v = { .key = { .pid = pid, .dev = DEV, .ino = ino }, .nfiles = 1 };

	for (int i = 0; i < DT_NR_COUNTERS; i++)
		v.r.cnt[i] = i + 1;
	v.r.lat.slots[10] = 2;
	strcpy(v.r.comm, "daxload");
	return v;
}

static void render_top(void)
{
	static struct view_row rows[2];
	struct snapshot cur = { .rows = rows, .n = 2, .t_ns = 2000000000 };
	struct daxtop_ctx c = { .vo = { .sort = COL_FAULTS } };	/* every counter has data */
	static const enum group_by groups[] = { GROUP_PIDFILE, GROUP_PID, GROUP_FILE };

	rows[0] = top_row(P1, 12);
	rows[1] = top_row(P2, 13);
	for (int i = 0; i < H_NR; i++)
		cur.hists[i].slots[10 + i] = 1;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		c.vo.group = groups[g];
		doc("top.interval");
		daxtop_print_json(stdout, &c, &cur, NULL, false, true);
	}
	doc("top.total");
	daxtop_print_json(stdout, &c, &cur, NULL, true, true);
}

/* --- daxleak -o json: a reported group, one seen at start, waiters with
 * and without a holder, a hazard; the final summary --- */

static struct leak_entry leak_ent(uint32_t pid, uint64_t page, bool at_start)
{
	struct leak_entry e = { .page = page, .extra = 1, .age_s = 10 };

	e.v.folio = page;
	e.v.pid = e.v.tid = e.v.last_pid = pid;
	e.v.dev = DEV;
	e.v.ino = 12;
	e.v.pfn = at_start ? ~0ULL : 0x1000;
	e.v.kstack = e.v.ustack = -1;
	e.v.flags = at_start ? DL_SEEN_AT_START : 0;
	strcpy(e.v.comm, "daxload");
	return e;
}

static void render_leak(void)
{
	static struct leak_ctx c;
	static struct leak_entry ents[2];
	static struct waiter_rec waiters[2];
	static struct anomaly_rec anoms[1];
	static struct daxnow_held start_held[1];
	static struct daxleak_bpf skel;
	static struct daxleak_bpf__bss bss;

	for (int i = 0; i < DL_NHOOKS; i++)
		c.hooks[i] = (struct hook){ .func = "get_user_pages_fast", .lost = "lost" };
	c.hooks[0].method = PM_FENTRY;
	c.hooks[1].role = "entry-guard";	/* a role shows when a hook has one */
	c.caps.leaks = c.caps.release_seen = true;
	c.a.scan_at_start = true;
	c.start_ran = true;
	c.start.method = DAXNOW_BPF;
	snprintf(c.start.lost[c.start.nlost++], sizeof(c.start.lost[0]), "not seen");
	ents[0] = leak_ent(P1, 0x1000, false);
	ents[1] = leak_ent(P2, 0x2000, true);
	start_held[0] = (struct daxnow_held){ .pg = { .page = 0x2000 }, .how = DNH_MAP, .pid = P2,
					      .fd = -1, .waiter = -1 };
	c.start.held = start_held;
	c.start.nheld = 1;
	c.ents = ents;
	c.nents = 2;
	waiters[0] = (struct waiter_rec){ .state = 'D', .op = BLW_TRUNCATE, .waited_s = 1 };
	waiters[0].w = (struct dl_waiter){ .busy_page = 0x1000, .busy_folio = 0x1000, .dev = DEV,
					   .pid = P1, .tid = P1, .kstack = -1 };
	waiters[1] = (struct waiter_rec){ .state = 'S', .op = BLW_PUNCH, .from_proc = true };
	waiters[1].w = (struct dl_waiter){ .dev = DEV, .pid = P2, .tid = P2, .kstack = -1 };
	c.waiters = waiters;
	c.nwaiters = 2;
	anoms[0].a = (struct dl_anomaly){ .type = DLA_NEGATIVE, .dev = DEV, .kstack = -1 };
	c.anoms = anoms;
	c.nanoms = 1;
	skel.bss = &bss;
	c.skel = &skel;
	doc("leak.start");
	leak_print_start(stdout, &c);
	leak_report_build(&c);
	doc("leak.report");
	leak_print_json(stdout, &c, false);
	doc("leak.summary");
	leak_print_json(stdout, &c, true);
	leak_report_free(&c);
}

/* --- daxleak --now -o json: a waiter with a mapping and a pipe holder,
 * one with no holder but direct I/O in flight, a held page --- */

static void render_now(void)
{
	static struct daxnow_holder holders[2], gupio[1];
	static struct daxnow_waiter w[2];
	static struct daxnow_held held[1];
	struct daxnow_report r = { .method = DAXNOW_BPF };
	struct json j;

	holders[0] = (struct daxnow_holder){ .how = DNH_MAP, .pid = P1, .vm_start = 0x1000,
					     .vm_end = 0x2000, .addr = 0x1000 };
	holders[1] = (struct daxnow_holder){ .how = DNH_PIPE, .pid = P1, .nfds = 1, .fds = { 3 } };
	gupio[0] = (struct daxnow_holder){ .how = DNH_GUPIO, .pid = P2 };
	for (int i = 0; i < 2; i++) {
		w[i] = (struct daxnow_waiter){ .state = 'D', .op = BLW_TRUNCATE, .asleep_s = 1,
					       .asleep_src = "exec_start", .page_found = !i,
					       .extra = 1, .target = -1 };
		w[i].rec.pid = w[i].rec.tid = P1 + i;
		w[i].rec.var = 0x1000;
		w[i].rec.nframes = 1;
		w[i].rec.stack[0] = 0xffffffff81000000ULL;
	}
	w[0].holders = holders;
	w[0].nholders = 2;
	held[0] = (struct daxnow_held){ .how = DNH_PIPE, .pid = P1, .fd = 3, .waiter = 0 };
	r.w = w;
	r.nw = 2;
	r.gupio = gupio;
	r.ngupio = 1;
	r.held = held;
	r.nheld = 1;
	snprintf(r.lost[r.nlost++], sizeof(r.lost[0]), "not seen");
	doc("now");
	json_init(&j, stdout);
	daxnow_print_json(&j, &r);
	json_line_end(&j);
}

int main(void)
{
	void *leak_state = render_leak_state();

	render_top();
	render_leak();
	render_now();
	doc("export.file");
	if (render_export(stdout, SPLIT_FILE, leak_state))
		return 1;
	doc("export.pid");
	if (render_export(stdout, SPLIT_PID, leak_state))
		return 1;
	return 0;
}
