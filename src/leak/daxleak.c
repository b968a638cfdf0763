/* daxleak: outstanding extra references on FS DAX pages, who took them,
 * and who waits for them in break_layouts.
 * The session (open -> size/configure -> choose hooks -> load -> attach ->
 * seed from the scan at start) and the report loop. Command line:
 * daxleak_args.c; hook table and pairing rules: daxleak_hooks.c; what was
 * there before us: daxleak_seed.c; collection: daxleak_collect.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "scan_int.h"
#include "commands.h"
#include "daxleak_int.h"
#include "daxleak.skel.h"
#include "paths.h"
#include "core_btf.h"
#include "preflight.h"
#include "sched_shield.h"
#include "util.h"

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
		leak_hooks_choose(c, env);
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
	c->skips_counted = probe_missed_runs_counted(c->hooks, H_TP_PTE);
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
	leak_caps_derive(c);
	if (a->scan_at_start)
		leak_seed_from_scan(c);
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
	leak_report_free(c);
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
	leak_report_build(c);
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

	/* --now: a one-shot look at what is stuck already (src/leak/scan*.c). */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--now"))
			return daxnow_run(argc, argv);

	rc = leak_parse_args(argc, argv, &a);
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
