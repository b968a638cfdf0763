/* daxleak: outstanding extra references on FS DAX pages, who took them,
 * and who waits for them in break_layouts.
 * open -> size/configure -> choose hooks -> load -> attach -> poll. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "scan_int.h"
#include "commands.h"
#include "daxleak_int.h"
#include "daxleak_compat.h"
#include "daxleak.skel.h"
#include "paths.h"
#include "core_btf.h"
#include "preflight.h"
#include "sched_shield.h"
#include "util.h"

static void usage(FILE *out)
{
	fprintf(out,
"Usage: %s [OPTIONS]\n"
"Report extra references held on FS DAX pages (get_user_pages, vmsplice,\n"
"O_DIRECT, drivers), the task that took them, and tasks stuck waiting for\n"
"them in break_layouts (truncate, punch hole, reflink, inode eviction).\n\n"
"  -i, --interval SEC     report every SEC seconds (default 5)\n"
"  -m, --min-age SEC      report references older than SEC (default 5)\n"
"  -d, --duration SEC     stop after SEC seconds, then print the summary\n"
"  -c, --count N          stop after N reports\n"
"  -p, --pid PID          only references taken by process PID\n"
"  -o, --output FMT       text (default) or json (one JSON object per line)\n"
"      --folded           print culprit stacks folded (flame graph input)\n"
"  -T, --top N            culprit groups shown per report (default 10)\n"
"      --rows N           pages listed per group (default 32, 0 = all)\n"
"      --max-folios N     tracked pages (default %d, at most 1048576); overflow\n"
"                         is counted\n"
"      --max-stacks N     stack table size (default %d); overflow is counted\n"
"      --no-fentry        use kprobes even where fentry works\n"
"      --no-kprobe        never use kprobes\n"
"      --no-scan          do not run the refcount scan iterator\n"
"      --no-scan-at-start do not list what is stuck or held already at start\n"
"                         (the daxleak --now scan; its items are marked\n"
"                         \"seen at start\": culprit unknown, age a lower bound)\n"
"  -v, --verbose          list every page and every hook\n"
"  -h, --help             this text\n"
"Exit: 0 ok, 1 error, 2 bad usage. See daxleak(8).\n",
		prog_name, DL_DEF_MAX_FOLIOS, DL_DEF_MAX_STACKS);
}

enum { OPT_FOLDED = 256, OPT_MAX_FOLIOS, OPT_MAX_STACKS, OPT_NO_FENTRY, OPT_NO_KPROBE,
       OPT_NO_SCAN, OPT_NO_SCAN_AT_START, OPT_ROWS };

/* The tracked-page table is a preallocated hash map: each entry costs its
 * value, its key and the kernel's element and bucket (about 80 bytes; 212
 * in all, measured by the map's memlock on 6.18).
 * 2^24 entries were 3.3 GB; 2^20 (~200 MiB) is far beyond any leak worth
 * listing page by page, and what does not fit is counted (OVERFLOW). */
#define MAX_FOLIOS_LIMIT	(1u << 20)
#define MAX_FOLIOS_WARN		(1u << 18)
#define TRACKED_ENTRY_BYTES	(sizeof(struct dl_page_val) + sizeof(__u64) + 80)

static int parse_max_folios(const char *s, uint64_t *out)
{
	if (parse_u64(s, out) || !*out || *out > MAX_FOLIOS_LIMIT) {
		usage_error("bad --max-folios '%s': give 1..%u", s, MAX_FOLIOS_LIMIT);
		return -1;
	}
	if (*out > MAX_FOLIOS_WARN)
		warn_msg("note: --max-folios %llu preallocates about %llu MiB of kernel memory",
			 (unsigned long long)*out,
			 (unsigned long long)(*out * TRACKED_ENTRY_BYTES >> 20));
	return 0;
}

static int parse_args(int argc, char **argv, struct leak_args *a)
{
	static const struct option opts[] = {
		{ "interval", required_argument, 0, 'i' },
		{ "min-age", required_argument, 0, 'm' },
		{ "duration", required_argument, 0, 'd' },
		{ "count", required_argument, 0, 'c' },
		{ "pid", required_argument, 0, 'p' },
		{ "output", required_argument, 0, 'o' },
		{ "top", required_argument, 0, 'T' },
		{ "rows", required_argument, 0, OPT_ROWS },
		{ "folded", no_argument, 0, OPT_FOLDED },
		{ "max-folios", required_argument, 0, OPT_MAX_FOLIOS },
		{ "max-stacks", required_argument, 0, OPT_MAX_STACKS },
		{ "no-fentry", no_argument, 0, OPT_NO_FENTRY },
		{ "no-kprobe", no_argument, 0, OPT_NO_KPROBE },
		{ "no-scan", no_argument, 0, OPT_NO_SCAN },
		{ "no-scan-at-start", no_argument, 0, OPT_NO_SCAN_AT_START },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0 }
	};
	uint64_t u;
	int o;

	*a = (struct leak_args){ .interval_s = 5, .min_age_s = 5, .max_folios = DL_DEF_MAX_FOLIOS,
				 .max_stacks = DL_DEF_MAX_STACKS, .top = 10, .max_rows = 32,
				 .scan_at_start = true };
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":i:m:d:c:p:o:T:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			if (parse_seconds(optarg, &a->interval_s) || a->interval_s < 0.01)
				return usage_error("bad interval '%s': give 0.01 to 1e7 seconds", optarg);
			break;
		case 'm':
			if (parse_seconds(optarg, &a->min_age_s) || a->min_age_s < 0)
				return usage_error("bad --min-age '%s': give 0 to 1e7 seconds", optarg);
			break;
		case 'd':
			if (parse_seconds(optarg, &a->duration_s) || a->duration_s <= 0)
				return usage_error("bad duration '%s': give seconds > 0, at most 1e7", optarg);
			break;
		case 'c':
			if (parse_u64(optarg, &a->count) || !a->count)
				return usage_error("bad count '%s'", optarg);
			break;
		case 'p':
			if (parse_u64(optarg, &u) || !u || u > 0x3fffffff)
				return usage_error("bad pid '%s'", optarg);
			a->pid = u;
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				a->json = true;
			else if (strcmp(optarg, "text"))
				return usage_error("unknown output format '%s' (text or json)", optarg);
			break;
		case 'T':
			if (parse_u64(optarg, &u) || !u || u > 100000)
				return usage_error("bad --top '%s'", optarg);
			a->top = u;
			break;
		case OPT_ROWS:
			if (parse_u64(optarg, &u) || u > 1000000)
				return usage_error("bad --rows '%s'", optarg);
			a->max_rows = u;
			break;
		case OPT_FOLDED:
			a->folded = true;
			break;
		case OPT_MAX_FOLIOS:
			if (parse_max_folios(optarg, &a->max_folios))
				return EXIT_USAGE;
			break;
		case OPT_MAX_STACKS:
			if (parse_u64(optarg, &a->max_stacks) || !a->max_stacks ||
			    a->max_stacks > (1u << 20))
				return usage_error("bad --max-stacks '%s' (1..1048576)", optarg);
			break;
		case OPT_NO_FENTRY:
			a->no_fentry = true;
			break;
		case OPT_NO_KPROBE:
			a->no_kprobe = true;
			break;
		case OPT_NO_SCAN:
			a->no_scan = true;
			break;
		case OPT_NO_SCAN_AT_START:
			a->scan_at_start = false;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->json && a->folded)
		return usage_error("%s", "--folded and -o json are exclusive");
	return 0;
}

static const char *const gup_funcs[DL_GUP_NR] = {
	"get_user_pages_fast", "pin_user_pages_fast", "get_user_pages_fast_only",
	"pin_user_pages_fast_only", "get_user_pages", "pin_user_pages",
	"get_user_pages_remote", "pin_user_pages_remote", "get_user_pages_unlocked",
	"pin_user_pages_unlocked",
};

static const char *const gup_lost[DL_GUP_NR] = {
	"references taken by vmsplice/iov_iter_get_pages and other get_user_pages_fast users",
	"pins taken by O_DIRECT (iov_iter_extract_pages) and drivers via pin_user_pages_fast",
	"references taken by get_user_pages_fast_only users",
	"pins taken by pin_user_pages_fast_only users",
	"references taken by get_user_pages (drivers, ptrace-like users)",
	"pins taken by pin_user_pages",
	"references taken in another process's mm (get_user_pages_remote)",
	"pins taken in another process's mm (pin_user_pages_remote)",
	"references taken by get_user_pages_unlocked (6.1 fast-GUP slow path)",
	"pins taken by pin_user_pages_unlocked",
};

static void fill_hooks(struct hook *h, struct daxleak_bpf *s)
{
	struct bpf_program *fexit[DL_GUP_NR] = {
		s->progs.get_user_pages_fast_fexit, s->progs.pin_user_pages_fast_fexit,
		s->progs.get_user_pages_fast_only_fexit, s->progs.pin_user_pages_fast_only_fexit,
		s->progs.get_user_pages_fexit, s->progs.pin_user_pages_fexit,
		s->progs.get_user_pages_remote_fexit, s->progs.pin_user_pages_remote_fexit,
		s->progs.get_user_pages_unlocked_fexit, s->progs.pin_user_pages_unlocked_fexit,
	};
	struct bpf_program *kp[DL_GUP_NR] = {
		s->progs.get_user_pages_fast_kprobe, s->progs.pin_user_pages_fast_kprobe,
		s->progs.get_user_pages_fast_only_kprobe, s->progs.pin_user_pages_fast_only_kprobe,
		s->progs.get_user_pages_kprobe, s->progs.pin_user_pages_kprobe,
		s->progs.get_user_pages_remote_kprobe, s->progs.pin_user_pages_remote_kprobe,
		s->progs.get_user_pages_unlocked_kprobe, s->progs.pin_user_pages_unlocked_kprobe,
	};
	struct bpf_program *krp[DL_GUP_NR] = {
		s->progs.get_user_pages_fast_kretprobe, s->progs.pin_user_pages_fast_kretprobe,
		s->progs.get_user_pages_fast_only_kretprobe,
		s->progs.pin_user_pages_fast_only_kretprobe, s->progs.get_user_pages_kretprobe,
		s->progs.pin_user_pages_kretprobe, s->progs.get_user_pages_remote_kretprobe,
		s->progs.pin_user_pages_remote_kretprobe, s->progs.get_user_pages_unlocked_kretprobe,
		s->progs.pin_user_pages_unlocked_kretprobe,
	};

	memset(h, 0, DL_NHOOKS * sizeof(*h));
	for (int i = 0; i < DL_GUP_NR; i++) {
		h[H_GUP_EXIT0 + i] = (struct hook){ .func = gup_funcs[i], .fentry = fexit[i],
						    .kprobe = { kp[i], krp[i] }, .lost = gup_lost[i] };
	}
	h[H_PUT_PAGE] = (struct hook){ .func = "__put_devmap_managed_page_refs",
		.fentry = s->progs.put_page_refs_fentry, .kprobe = { s->progs.put_page_refs_kprobe },
		.lost = "exact releases on 6.1-era kernels (the scan still sees them, at interval "
			"granularity), release-underflow anomalies",
		.exact = true };
	h[H_PUT_FOLIO] = (struct hook){ .func = "__put_devmap_managed_folio_refs",
		.fentry = s->progs.put_folio_refs_fentry, .kprobe = { s->progs.put_folio_refs_kprobe },
		.lost = "exact releases on 6.12-era kernels (the scan still sees them, at interval "
			"granularity), release-underflow anomalies",
		.exact = true };
	h[H_FREE] = (struct hook){ .func = "free_zone_device_folio",
		.fentry = s->progs.free_folio_fentry, .kprobe = { s->progs.free_folio_kprobe },
		.lost = "exact final release on 6.15+ (the scan still sees it), freed-while-mapped "
			"anomalies",
		.exact = true };
	h[H_BUSY] = (struct hook){ .func = "dax_layout_busy_page_range",
		.fentry = s->progs.busy_fexit,
		.kprobe = { s->progs.busy_kprobe, s->progs.busy_kretprobe },
		.lost = "busy page of each break_layouts waiter and the join to its holder "
			"(waiters still found through /proc wchan, without the page)",
		.exact = true };
	h[H_DISASSOC] = (struct hook){ .func = "dax_disassociate_entry",
		.fentry = s->progs.disassoc_fentry, .kprobe = { s->progs.disassoc_kprobe },
		.lost = "disassociated-while-held anomalies (the kernel's WARN in "
			"dax_disassociate_entry on truncate/evict of a referenced page)",
		.exact = true };
	leak_compat_fill(h, s);
	h[H_TP_PTE] = (struct hook){ .func = "dax_pte_fault_done", .is_tracepoint = true,
		.tp = s->progs.tp_pte_fault_done, .lost = "DAX fault count (liveness only)" };
	h[H_TP_PMD] = (struct hook){ .func = "dax_pmd_fault_done", .is_tracepoint = true,
		.tp = s->progs.tp_pmd_fault_done, .lost = "DAX fault count (liveness only)" };
}

static void hook_off(struct hook *h, const char *why)
{
	h->method = PM_NONE;
	snprintf(h->why, sizeof(h->why), "%s", why);
	if (h->tp)
		bpf_program__set_autoload(h->tp, false);
	if (h->fentry)
		bpf_program__set_autoload(h->fentry, false);
	for (int k = 0; k < HOOK_MAX_PROGS; k++)
		if (h->kprobe[k])
			bpf_program__set_autoload(h->kprobe[k], false);
}

/* Number of parameters of a vmlinux function, -1 if unknown. */
static int btf_nr_params(struct btf *btf, const char *fn)
{
	const struct btf_type *t;
	int id;

	if (!btf || (id = btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC)) <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return t && btf_is_func_proto(t) ? btf_vlen(t) : -1;
}

/* x86 BPF trampolines before 6.5 take at most 6 arguments (6.1's
 * get_user_pages_remote has 7): use the kprobe pair for those. */
static void avoid_wide_fentry(struct leak_ctx *c, const struct probe_env *env)
{
	struct btf *btf;

	/* Parsing BTF again costs ~10 ms of start-up: only when it matters. */
	if (!probe_count(c->hooks, DL_NHOOKS, PM_FENTRY))
		return;
	btf = btf__load_vmlinux_btf();
	if (libbpf_get_error(btf))
		return;
	for (int i = 0; i < DL_NHOOKS; i++) {
		struct hook *h = &c->hooks[i];
		int n;

		if (h->method != PM_FENTRY || (n = btf_nr_params(btf, h->func)) <= 6)
			continue;
		if (h->kprobe[0] && env->kprobes && !env->forbid_kprobe) {
			h->method = PM_KPROBE;
			bpf_program__set_autoload(h->fentry, false);
			for (int k = 0; k < HOOK_MAX_PROGS; k++)
				if (h->kprobe[k])
					bpf_program__set_autoload(h->kprobe[k], true);
			snprintf(h->why, sizeof(h->why), "%d arguments: too many for fentry here", n);
		} else {
			hook_off(h, "too many arguments for fentry and no kprobe");
		}
	}
	btf__free(btf);
}

/* One-based era: one put function per kernel (5.10 has two, the unpin one
 * on top); the others say which one this kernel uses. */
static void name_absent_puts(struct hook *h)
{
	static const int puts[] = { H_PUT_PAGE, H_PUT_FOLIO, H_PUT_DEVMAP, H_PUT_COMPOUND };
	const char *used = NULL;

	for (size_t i = 0; i < sizeof(puts) / sizeof(*puts) && !used; i++)
		if (h[puts[i]].method != PM_NONE)
			used = h[puts[i]].func;
	for (size_t i = 0; used && i < sizeof(puts) / sizeof(*puts); i++)
		if (h[puts[i]].method == PM_NONE)
			snprintf(h[puts[i]].why, sizeof(h[puts[i]].why),
				 "absent (this kernel uses %s)", used);
}

/* Era and pairing rules on top of probe_select's per-hook choice. */
static void adjust_hooks(struct leak_ctx *c)
{
	struct hook *h = c->hooks;

	/* A compiler clone may have rewritten the arguments: only the plain symbol. */
	if (h[H_DISASSOC].method != PM_NONE && strcmp(h[H_DISASSOC].symbol, h[H_DISASSOC].func))
		hook_off(&h[H_DISASSOC], "only a compiler clone here: its arguments may differ");
	if (c->era.era == ERA_ZERO_BASED) {
		hook_off(&h[H_DISASSOC], "not used: zero-based era checks through dax_folio_put "
			 "(inlined); the scan reports counts below the mapping count");
		hook_off(&h[H_PUT_PAGE], "not used: zero-based era has no out-of-line put");
		hook_off(&h[H_PUT_FOLIO], "not used: zero-based era has no out-of-line put");
		hook_off(&h[H_PUT_DEVMAP], "not used: zero-based era has no out-of-line put");
		hook_off(&h[H_PUT_COMPOUND], "not used: zero-based era has no out-of-line put");
	} else if (c->era.era == ERA_ONE_BASED) {
		hook_off(&h[H_FREE], "not used: FS DAX pages are never freed in the one-based era");
		name_absent_puts(h);
	}
}

/* &vmemmap_base into the loaded object, before it is attached (after the
 * load, which need not wait for kallsyms). Only kallsyms has it, and only
 * with data symbols (else no read for it); the scan at start reads kallsyms
 * anyway: share its pass. */
static void set_vmemmap_base(struct leak_ctx *c, const struct leak_args *a)
{
	static uint64_t vb;

	if (!vb && probe_kallsyms_data() != 0)
		vb = a->scan_at_start ? daxnow_vmemmap_base_addr() : ksym_data_addr(NULL, "vmemmap_base");
	c->skel->bss->vmemmap_base_addr = vb;
	/* pages of these ranges are skipped at once by the GUP exits */
	c->skel->bss->nr_ram_ranges = vb ? ram_pfn_ranges("/proc/iomem", c->skel->bss->ram_pfn_lo,
							  c->skel->bss->ram_pfn_hi, DL_RAM_RANGES) : 0;
}

static void configure(struct leak_ctx *c, const struct leak_args *a)
{
	struct daxleak_bpf *s = c->skel;

	s->rodata->targ_tgid = a->pid;
	s->rodata->idle_ref = c->era.era == ERA_ZERO_BASED ? 0 : 1;
	s->rodata->zero_based = c->era.era == ERA_ZERO_BASED;
	s->rodata->nested_gup_flags = gup_nested_flags(probe_vmlinux_btf());
	bpf_map__set_max_entries(s->maps.tracked, a->max_folios);
	bpf_map__set_max_entries(s->maps.stacks, a->max_stacks);
}

static int open_and_load(struct leak_ctx *c, struct probe_env *env)
{
	bool scan = !c->a.no_scan;

	for (int attempt = 0; attempt < 4; attempt++) {
		int err;

		c->skel = CORE_BTF_OPEN(daxleak_bpf);
		if (!c->skel) {
			warn_msg("cannot open the BPF object: %s", strerror(errno));
			return -1;
		}
		configure(c, &c->a);
		fill_hooks(c->hooks, c->skel);
		leak_compat_select(c->hooks, c->skel);
		probe_select(c->hooks, DL_NHOOKS, env);
		leak_compat_notes(c->hooks);
		avoid_wide_fentry(c, env);
		adjust_hooks(c);
		bpf_program__set_autoload(c->skel->progs.scan_tracked, scan);
		err = daxleak_bpf__load(c->skel);
		if (!err) {
			if (!scan && !c->a.no_scan && !c->caps.scan_why[0])
				snprintf(c->caps.scan_why, sizeof(c->caps.scan_why),
					 "iterator program refused by this kernel");
			else if (c->a.no_scan)
				snprintf(c->caps.scan_why, sizeof(c->caps.scan_why), "--no-scan");
			return 0;
		}
		daxleak_bpf__destroy(c->skel);
		c->skel = NULL;
		if (probe_count(c->hooks, DL_NHOOKS, PM_FENTRY) && !env->forbid_fentry) {
			env->forbid_fentry = true;
			continue;
		}
		if (scan) {
			scan = false;
			snprintf(c->caps.scan_why, sizeof(c->caps.scan_why),
				 "iterator program failed to load (%s)", strerror(-err));
			continue;
		}
		warn_msg("loading BPF programs failed: %s; run with LIBBPF_LOG=debug for the "
			 "verifier log", strerror(-err));
		return -1;
	}
	return -1;
}

static void attach_scan(struct leak_ctx *c)
{
	union bpf_iter_link_info linfo = {};
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	long err;

	if (!bpf_program__autoload(c->skel->progs.scan_tracked))
		return;
	linfo.map.map_fd = c->tracked_fd;
	opts.link_info = &linfo;
	opts.link_info_len = sizeof(linfo);
	c->iter_link = bpf_program__attach_iter(c->skel->progs.scan_tracked, &opts);
	err = libbpf_get_error(c->iter_link);
	if (err) {
		c->iter_link = NULL;
		snprintf(c->caps.scan_why, sizeof(c->caps.scan_why), "iterator attach failed: %s",
			 strerror(-err));
		return;
	}
	c->caps.scan = true;
}

static int on_anomaly(void *ctx, void *data, size_t len)
{
	struct leak_ctx *c = ctx;
	struct anomaly_rec *r;

	if (len < sizeof(struct dl_anomaly))
		return 0;
	if (c->nanoms == c->cap_anoms) {
		size_t n = c->cap_anoms ? c->cap_anoms * 2 : 16;
		void *p = realloc(c->anoms, n * sizeof(*c->anoms));

		if (!p)
			return 0;
		c->anoms = p;
		c->cap_anoms = n;
	}
	r = &c->anoms[c->nanoms++];
	memcpy(&r->a, data, sizeof(r->a));
	r->from_scan = false;
	if (r->a.type < DLA_NR)
		c->anomaly_total[r->a.type]++;
	return 0;
}

static void derive_caps(struct leak_ctx *c)
{
	struct hook *h = c->hooks;
	struct leak_caps *k = &c->caps;

	for (int i = 0; i < DL_GUP_NR; i++)
		k->acquire |= h[H_GUP_EXIT0 + i].method != PM_NONE;
	k->vmsplice = h[H_GUP_EXIT0 + DL_GUP_FAST].method != PM_NONE;
	k->release_exact = h[H_PUT_PAGE].method != PM_NONE || h[H_PUT_FOLIO].method != PM_NONE ||
			   h[H_PUT_DEVMAP].method != PM_NONE;
	k->free_hook = h[H_FREE].method != PM_NONE;
	k->busy = h[H_BUSY].method != PM_NONE;
	/* Never report a leak we could not have seen released. */
	k->release_seen = k->scan || (k->release_exact && c->era.era == ERA_ONE_BASED);
	k->leaks = k->acquire && k->release_seen;
}

/* ---- what was there before us: the --now scan, run once after attach ---- */

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
static void seed_from_scan(struct leak_ctx *c)
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

int daxleak_start(struct leak_ctx *c, const struct leak_args *a)
{
	/* tp_choice: the preemption check, so that release, free and busy-page
	 * hooks (exact) take kprobes where fentry runs would nest and be
	 * skipped (7.x) */
	struct probe_env env = { .forbid_fentry = a->no_fentry, .forbid_kprobe = a->no_kprobe,
				 .tp_choice = true };

	memset(c, 0, sizeof(*c));
	c->a = *a;
	/* before any map syscall: see src/core/sched_shield.c */
	sched_shield_bpf_syscalls();
	if (a->scan_at_start)
		daxnow_kallsyms_start();	/* needed below: under way meanwhile */
	probe_env_detect(&env);
	startup_mark("kernel checks");
	era_detect(&c->era);
	c->ks = ksyms_open(NULL);	/* read at the first stack printed */
	if (open_and_load(c, &env))
		return -1;
	startup_mark("load");
	c->tracked_fd = bpf_map__fd(c->skel->maps.tracked);
	c->stacks_fd = bpf_map__fd(c->skel->maps.stacks);
	c->waiters_fd = bpf_map__fd(c->skel->maps.waiters);
	if (a->scan_at_start) {
		/* its programs load now, with ours (one BTF parse); it runs after attach */
		c->start.ks = c->ks;
		c->start.era = c->era;
		daxnow_prepare(&c->start);
		startup_mark("scan prepared");
	}
	set_vmemmap_base(c, a);
	if (probe_attach(c->hooks, DL_NHOOKS) <= 0)
		warn_msg("no kernel hook could be attached; only the /proc waiter scan runs");
	startup_mark("attach");
	attach_scan(c);
	startup_mark("scan");
	/* if read already, again: our programs and trampolines are new symbols */
	ksyms_refresh(c->ks);
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.anomalies), on_anomaly, c, NULL);
	if (!c->rb) {
		warn_msg("cannot set up the anomaly ring buffer: %s", strerror(errno));
		return -1;
	}
	derive_caps(c);
	if (a->scan_at_start)
		seed_from_scan(c);
	probe_summary(c->hooksum, sizeof(c->hooksum), c->hooks, DL_NHOOKS);
	c->start_ns = mono_ns();
	return 0;
}

void daxleak_stop(struct leak_ctx *c)
{
	ring_buffer__free(c->rb);
	bpf_link__destroy(c->iter_link);
	probe_detach(c->hooks, DL_NHOOKS);
	daxleak_bpf__destroy(c->skel);
	daxnow_report_free(&c->start);
	leak_holder_checks_free(c);
	ksyms_free(c->ks);
	free(c->ents);
	free(c->waiters);
	free(c->anoms);
	paths_clear();
	usym_reset();
	memset(c, 0, sizeof(*c));
}

static void print_report(struct leak_ctx *c, bool final)
{
	if (c->a.json)
		leak_print_json(stdout, c, final);
	else if (c->a.folded)
		leak_print_folded(stdout, c);
	else
		leak_print_text(stdout, c, final);
	fflush(stdout);
}

int cmd_leak(int argc, char **argv)
{
	static struct leak_ctx c;
	struct leak_args a;
	uint64_t n = 0, start;
	int rc;

	/* --now: a one-shot look at what is stuck already (src/daxnow.c). */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--now"))
			return daxnow_run(argc, argv);

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (preflight_check())
		return EXIT_ERR;
	libbpf_setup_logging();
	install_exit_signals();
	if (daxleak_start(&c, &a)) {
		daxleak_stop(&c);
		return EXIT_ERR;
	}
	if (a.verbose)
		probe_warn_unavailable(c.hooks, DL_NHOOKS);
	leak_caps_explain(stderr, &c);
	leak_print_start_scan(stderr, &c);
	fprintf(stderr, "%s: ready (%s)\n", prog_name, c.hooksum);
	if (a.json)
		leak_print_start(stdout, &c);
	start = mono_ns();
	while (!exiting) {
		double elapsed = (mono_ns() - start) / 1e9;
		double left = a.duration_s ? a.duration_s - elapsed : a.interval_s;

		sleep_interruptible(left < a.interval_s ? left : a.interval_s);
		if (leak_collect(&c)) {
			rc = EXIT_ERR;
			break;
		}
		if (exiting)
			break;
		print_report(&c, false);
		if ((a.count && ++n >= a.count) ||
		    (a.duration_s && (mono_ns() - start) / 1e9 >= a.duration_s - 1e-3))
			break;
	}
	if (rc == EXIT_OK && !leak_collect(&c))
		print_report(&c, true);
	daxleak_stop(&c);
	return rc;
}

int daxleak_features(struct json *j, FILE *out)
{
	static struct leak_ctx c;
	struct leak_args a = { .interval_s = 1, .min_age_s = 5, .max_folios = 64, .max_stacks = 64,
			       .top = 1 };
	int rc = daxleak_start(&c, &a);

	if (j) {
		json_key(j, "daxleak");
		if (rc) {
			json_null(j);
		} else {
			json_obj_begin(j);
			json_kv_str(j, "era", era_name(c.era.era));
			json_kv_bool(j, "acquisitions", c.caps.acquire);
			json_kv_bool(j, "exact_releases", c.caps.release_exact);
			json_kv_bool(j, "scan", c.caps.scan);
			json_kv_str(j, "scan_note", c.caps.scan_why);
			json_kv_bool(j, "leaks_reported", c.caps.leaks);
			json_kv_bool(j, "waiter_busy_page", c.caps.busy);
			json_key(j, "hooks");
			probe_json(j, c.hooks, DL_NHOOKS);
			json_obj_end(j);
		}
	} else if (rc) {
		fprintf(out, "daxleak hooks: none loaded (see the error above)\n");
	} else {
		probe_print_table(out, "daxleak", c.hooks, DL_NHOOKS);
		fprintf(out, "  %-34s %-11s %s\n", "scan iterator (iter/bpf_map_elem)",
			c.caps.scan ? "iterator" : "unavailable", c.caps.scan ? "" : c.caps.scan_why);
		leak_caps_explain(out, &c);
	}
	daxleak_stop(&c);
	return rc;
}
