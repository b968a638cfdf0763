/* daxtop's session: open -> configure -> choose hooks -> load -> attach,
 * then one snapshot of the maps per collection. The only file that touches
 * daxtop's skeleton, maps and rodata (daxtop_session.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "daxtop_session.h"
#include "core_btf.h"
#include "map_keys.h"
#include "mounts.h"
#include "paths.h"
#include "sched_shield.h"
#include "util.h"
#include "daxtop.skel.h"	/* after daxtop.h: the skeleton uses its types */

void daxtop_config_init(struct daxtop_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dev = -1;
	cfg->max_rows = 4096;
}

int daxtop_config_opt(int opt, const char *arg, struct daxtop_config *cfg)
{
	char why[160];
	uint64_t v;

	switch (opt) {
	case 'p':
		if (parse_live_pid(arg, &cfg->pid, why, sizeof(why)))
			return usage_error("%s", why);
		return 0;
	case DTO_DEV:
		if (parse_dax_dev(arg, &cfg->dev, why, sizeof(why)))
			return usage_error("%s", why);
		return 0;
	case DTO_MAX_ROWS:
		if (parse_u64(arg, &v) || v < 16 || v > 1 << 20)
			return usage_error("bad --max-rows '%s': give 16..1048576", arg);
		cfg->max_rows = v;
		return 0;
	case DTO_LAT_ALL: cfg->lat_all = true; return 0;
	case DTO_NO_FENTRY: cfg->no_fentry = true; return 0;
	case DTO_NO_KPROBE: cfg->no_kprobe = true; return 0;
	default: return 1;
	}
}

#define NHOOKS DAXTOP_NHOOKS

static void clock_publish(struct daxtop_ctx *c, uint64_t now);

static void fill_hooks(struct hook *h, struct daxtop_bpf *s)
{
	struct bpf_program *tps[][2] = {
		{ s->progs.tp_dax_pte_fault, s->progs.btf_pte_fault },
		{ s->progs.tp_dax_pte_fault_done, s->progs.btf_pte_fault_done },
		{ s->progs.tp_dax_pmd_fault, s->progs.btf_pmd_fault },
		{ s->progs.tp_dax_pmd_fault_done, s->progs.btf_pmd_fault_done },
		{ s->progs.tp_dax_insert_pfn_mkwrite, s->progs.btf_mkwrite },
		{ s->progs.tp_dax_load_hole, s->progs.btf_load_hole },
		{ s->progs.tp_dax_pmd_load_hole, s->progs.btf_pmd_load_hole },
		{ s->progs.tp_dax_writeback_one, s->progs.btf_writeback_one },
	};
	static const char *const tp_names[] = {
		"dax_pte_fault", "dax_pte_fault_done", "dax_pmd_fault", "dax_pmd_fault_done",
		"dax_insert_pfn_mkwrite", "dax_load_hole", "dax_pmd_load_hole", "dax_writeback_one",
	};
	static const char *const tp_lost[] = {
		"PTE fault latency", "PTE faults", "PMD fault latency", "PMD faults and fallbacks",
		"MKWR column", "HOLE column (PTE)", "HOLE column (PMD)", "WB column",
	};

	memset(h, 0, NHOOKS * sizeof(*h));
	for (int i = HK_PTE_FAULT; i <= HK_WRITEBACK; i++)
		h[i] = (struct hook){ .func = tp_names[i], .is_tracepoint = true,
				      .tp_category = "fs_dax", .tracepoint = tps[i][0],
				      .tp = tps[i][1], .lost = tp_lost[i] };
	/* 7.x folded unmap_page_range into __zap_vma_range(tlb, vma, ...). */
	h[HK_UNMAP] = (struct hook){ .func = "unmap_page_range", .alt = "__zap_vma_range",
			      .fentry = s->progs.unmap_fentry,
			      .kprobe = { s->progs.unmap_kprobe }, .lost = "UNMAP column",
			      .exact = true };
	h[HK_BUSY] = (struct hook){ .func = "dax_layout_busy_page_range", .fentry = s->progs.busy_fexit,
			      .kprobe = { s->progs.busy_kprobe, s->progs.busy_kretprobe },
			      .lost = "BLWAIT/BLWMS columns and the wait histogram", .exact = true };
	/* exact: a skipped run only blurs a fallback's reason, but a kprobe
	 * never nests where fentry would be skipped (7.x) */
	h[HK_PMD_ENTRY] = (struct hook){ .func = "dax_iomap_pmd_fault",
			       .fentry = s->progs.pmd_fault_fentry,
			       .kprobe = { s->progs.pmd_fault_kprobe },
			       .lost = "PMD fallback reasons extent and pte_entry (counted as other)",
			       .exact = true };
}

/* The per-CPU row cache (include/daxtop.h) is safe only where no fault
 * program can be preempted by another on its CPU: classic tracepoints, or
 * BTF ones where the kernel runs them with preemption off. */
static bool fault_hooks_atomic(const struct hook *h, const struct probe_env *env)
{
	for (int i = HK_PTE_FAULT; i <= HK_PMD_DONE; i++)	/* PTE and PMD fault, and their ends */
		if (h[i].method == PM_TP_BTF && env->tp_btf_exact != 1)
			return false;
	return true;
}

/* Open, size, choose hooks and load; retries once without fentry when a
 * kernel accepts the probe program but rejects a real one. */
static int open_and_load(struct daxtop_ctx *c, struct hook *hooks,
			 const struct daxtop_config *a, struct probe_env *env)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int err;

		c->skel = CORE_BTF_OPEN(daxtop_bpf);
		if (!c->skel) {
			warn_msg("cannot open the BPF object: %s", strerror(errno));
			return -1;
		}
		c->skel->rodata->targ_tgid = a->pid;
		c->skel->rodata->targ_cgroup = a->cgroup_id;
		c->skel->rodata->targ_dev = a->dev < 0 ? 0 : a->dev;
		c->skel->rodata->lat_all = a->lat_all;
		bpf_map__set_max_entries(c->skel->maps.rows, a->max_rows);
		/* A file gets its entry with its first row: no more files than
		 * rows are needed (an LRU map is allocated up front). */
		bpf_map__set_max_entries(c->skel->maps.files, a->max_rows > 1024 ? a->max_rows : 1024);
		fill_hooks(hooks, c->skel);
		startup_mark("open");
		if (probe_select(hooks, NHOOKS, env) <= 0) {
			warn_msg("no DAX hook is available on this kernel (fs_dax tracepoints missing: "
				 "is CONFIG_FS_DAX set?)");
			return -1;
		}
		c->row_cache = fault_hooks_atomic(hooks, env);
		c->skel->rodata->row_cache = c->row_cache;
		startup_mark("hook choice");
		err = daxtop_bpf__load(c->skel);
		startup_mark("load");
		if (!err)
			return 0;
		daxtop_bpf__destroy(c->skel);
		c->skel = NULL;
		if (probe_count(hooks, NHOOKS, PM_FENTRY) && !env->forbid_fentry) {
			env->forbid_fentry = true;
			continue;
		}
		warn_msg("loading BPF programs failed: %s; run with LIBBPF_LOG=debug for the "
			 "verifier log", strerror(-err));
		return -1;
	}
	return -1;
}

static void ctx_describe(struct daxtop_ctx *c)
{
	struct utsname u;
	struct dax_mount m[8];
	int n = mounts_read(m, 8, true), used = 0;

	uname(&u);
	snprintf(c->host, sizeof(c->host), "%s", u.nodename);
	snprintf(c->kernel, sizeof(c->kernel), "%s", u.release);
	c->mounts[0] = 0;
	for (int i = 0; i < n; i++)
		used += snprintf(c->mounts + used, used < (int)sizeof(c->mounts) ? sizeof(c->mounts) - used : 0,
				 "%s%s on %s %s dax=%s", i ? "; " : "", m[i].source, m[i].target,
				 m[i].fstype, m[i].dax);
	if (!n)
		snprintf(c->mounts, sizeof(c->mounts), "none found");
	pmem_devices(c->pmem, sizeof(c->pmem));
	probe_summary(c->hooksum, sizeof(c->hooksum), c->hooks, c->nhooks);
	for (int i = 0; i < DT_NR_COUNTERS; i++) {
		const struct daxtop_counter_def *d = &daxtop_counters[i];
		bool fed = false;

		for (int k = 0; k < 2; k++)
			fed |= d->hooks[k] >= 0 && c->hooks[d->hooks[k]].method != PM_NONE;
		c->avail.missing[i] = d->optional && !fed;
	}
}

int daxtop_start(struct daxtop_ctx *c, struct hook *hooks, const struct daxtop_config *a)
{
	struct probe_env env = { .forbid_fentry = a->no_fentry, .forbid_kprobe = a->no_kprobe,
				 .tp_choice = true };

	memset(c, 0, sizeof(*c));
	c->hooks = hooks;
	c->nhooks = NHOOKS;
	c->cfg = *a;
	/* before any map syscall: see src/core/sched_shield.c */
	sched_shield_bpf_syscalls();
	probe_env_detect(&env);
	startup_mark("kernel checks");
	era_detect(&c->era);
	if (open_and_load(c, hooks, a, &env))
		return -1;
	if (probe_attach(hooks, NHOOKS) <= 0) {
		warn_msg("no hook could be attached");
		return -1;
	}
	startup_mark("attach");
	c->skips_counted = probe_missed_runs_counted(hooks, NHOOKS);
	c->attach_ns = mono_ns();
	c->lat_all = a->lat_all;
	clock_publish(c, c->attach_ns);
	ctx_describe(c);
	return 0;
}

void daxtop_stop(struct daxtop_ctx *c)
{
	probe_detach(c->hooks, c->nhooks);
	daxtop_bpf__destroy(c->skel);
	snapshot_free(&c->prev);
	snapshot_free(&c->cur);
	free(c->seen);
	c->seen = NULL;
	paths_clear();
}

/* "/name" at buf + used as it is (path_label escapes a newline for text),
 * "..." after a name BPF got only the start of. Returns the new used. */
static size_t put_name(char *buf, size_t used, size_t len, const char *name, bool cut)
{
	return used + snprintf(buf + used, len - used, "/%.*s%s", DAXTOP_NAME_LEN, name,
			       cut ? "..." : "");
}

/* Path from the names BPF saw at the first fault: mount point + names. */
static void file_path(const struct daxtop_file *f, char *buf, size_t len)
{
	size_t used;

	mount_point_of(f->dev, buf, len);
	used = strlen(buf);
	if (!f->reached_root)
		used += snprintf(buf + used, used < len ? len - used : 0, "/...");
	for (int i = (int)f->depth - 1; i >= 0 && used < len; i--)
		used = put_name(buf, used, len, f->name[i], f->cut & (1u << i));
}

/* Learn paths of rows the cache does not know, from the BPF files map.
 * Bounded: an LRU eviction under our feet can restart the key walk. */
static void learn_paths(struct daxtop_ctx *c, const struct snapshot *s)
{
	int fd = bpf_map__fd(c->skel->maps.files);
	int budget = 2 * bpf_map__max_entries(c->skel->maps.files);
	struct daxtop_key key, *prev = NULL, next;
	struct daxtop_file f;
	bool need = false;
	char path[512];

	for (int i = 0; i < s->n && !need; i++)
		need = !path_known(s->rows[i].key.dev, s->rows[i].key.ino);
	if (!need)
		return;
	while (budget-- > 0 && !bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &f) && f.depth && !path_known(f.dev, f.ino)) {
			file_path(&f, path, sizeof(path));
			path_learn(f.dev, f.ino, path);
		}
		key = next;
		prev = &key;
	}
}

/* Read every CPU's fault slot, after the rows (see include/daxtop.h). */
static void cpu_slots(struct daxtop_ctx *c, struct snapshot *s, int room)
{
	int ncpu = libbpf_num_possible_cpus(), zero = 0;
	struct fault_slot *slots;

	if (ncpu <= 0 || !(slots = calloc(ncpu, sizeof(*slots))))
		return;
	if (!c->seen)
		c->seen = calloc(ncpu, sizeof(*c->seen));
	if (!bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.fault_start), &zero, slots))
		slots_merge(s, room, slots, ncpu, c->seen);
	free(slots);
}

/* Tell BPF the time (CLOCK_MONOTONIC ns) to stamp on active rows. */
static void clock_publish(struct daxtop_ctx *c, uint64_t now)
{
	c->skel->bss->clock_ns = now;
}

static int snapshot_take(struct daxtop_ctx *c, struct snapshot *s)
{
	int fd = bpf_map__fd(c->skel->maps.rows);
	int cap = bpf_map__max_entries(c->skel->maps.rows);
	int room = cap + libbpf_num_possible_cpus();	/* + rows only a row cache has */
	struct map_keys keys;

	memset(s, 0, sizeof(*s));
	s->rows = calloc(room, sizeof(*s->rows));
	if (!s->rows)
		return -1;
	/* Publish first: a row active from here on has last_ns >= t_ns. */
	s->t_ns = mono_ns();
	s->prev_clock_ns = c->skel->bss->clock_ns;
	clock_publish(c, s->t_ns);
	if (map_keys_read(fd, sizeof(struct daxtop_key), cap, &keys)) {
		free(s->rows);
		s->rows = NULL;
		return -1;
	}
	for (size_t i = 0; i < keys.n && s->n < cap; i++) {
		struct view_row *v = &s->rows[s->n];
		struct daxtop_key key;

		memcpy(&key, map_key(&keys, i), sizeof(key));
		if (!bpf_map_lookup_elem(fd, &key, &v->r)) {
			v->key = key;
			v->nfiles = 1;
			s->n++;
		}
	}
	map_keys_free(&keys);
	qsort(s->rows, s->n, sizeof(*s->rows), daxtop_key_cmp);
	cpu_slots(c, s, room);	/* after the rows, never before */
	learn_paths(c, s);
	/* .bss is memory-mapped: read the globals directly. */
	memcpy(s->hists, (const void *)c->skel->bss->hists, sizeof(s->hists));
	memcpy(s->fallback, (const void *)c->skel->bss->fallback_reasons, sizeof(s->fallback));
	memcpy(s->drops, (const void *)c->skel->bss->drops, sizeof(s->drops));
	s->missed_runs = probe_missed_runs(c->hooks, c->nhooks);
	return 0;
}


int daxtop_advance(struct daxtop_ctx *c)
{
	snapshot_free(&c->prev);
	c->prev = c->cur;
	memset(&c->cur, 0, sizeof(c->cur));
	if (snapshot_take(c, &c->cur))
		return -1;
	/* Paths while the processes may still be alive: the renderers then
	 * only read the cache (a miss there is looked up again, no harm). */
	for (int i = 0; c->resolve_paths && i < c->cur.n; i++)
		path_lookup(c->cur.rows[i].key.pid, c->cur.rows[i].key.dev, c->cur.rows[i].key.ino);
	return 0;
}

const struct snapshot *daxtop_base(const struct daxtop_ctx *c)
{
	return c->prev.rows ? &c->prev : NULL;
}

int daxtop_row_fold(struct daxtop_ctx *c, const struct daxtop_key *k, struct daxtop_row *out)
{
	int fd = bpf_map__fd(c->skel->maps.rows);

	if (!c->no_take_delete) {
		if (!bpf_map_lookup_and_delete_elem(fd, k, out))
			return 0;
		if (errno == ENOENT)
			return -1;
		c->no_take_delete = true;
	}
	/* lookup then delete: an event landing in between is lost, counted
	 * nowhere, but the row's owner is gone or idle */
	if (bpf_map_lookup_elem(fd, k, out))
		return -1;
	return bpf_map_delete_elem(fd, k);
}

uint32_t daxtop_row_capacity(const struct daxtop_ctx *c)
{
	return bpf_map__max_entries(c->skel->maps.rows);
}

bool daxtop_dev_wanted(const struct daxtop_ctx *c, uint32_t dev)
{
	return c->cfg.dev < 0 || (uint32_t)c->cfg.dev == dev;
}
