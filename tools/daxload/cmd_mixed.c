/* daxload mixed: several processes, each faulting its own file with
 * alternating PMD-friendly and PTE-only layouts, so a tracer's per-pid
 * attribution can be checked against each child's own lines. */
#include "daxload.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
"usage: daxload mixed --procs N [--pages N] [--seconds S] [--quiet]\n"
"                     [--allow-non-dax] DIR\n"
"  Starts N child processes together; child K uses DIR/daxload.K (pages+1\n"
"  pages, left in place) and for S seconds (default 1) loops: map, write every\n"
"  page, munmap; even iterations map offset 0 with a 2 MiB-aligned address\n"
"  (PMD layout), odd iterations map offset 4096 at an address that rules out\n"
"  PMDs (PTE layout). Each child prints op=mixed event=iter lines (unless\n"
"  --quiet) and event=child; the parent prints event=done.\n";

struct child_stat {
	uint64_t iters, pages;
	int ok;
};

static int child_run(const char *dir, int k, uint64_t pages, double secs, bool quiet,
		     bool allow, int gate, struct child_stat *st)
{
	char path[4200];
	struct dfile f;
	struct out o;
	uint64_t t0, pmd_pages = 0, pte_pages = 0;
	char b;

	snprintf(path, sizeof(path), "%s/daxload.%d", dir, k);
	if (dfile_setup(&f, path, (pages + 1) * PAGE_4K, allow, 0) < 0)
		return EXIT_ERR;
	/* Wait for the start gate: the parent closes it once all are forked. */
	while (read(gate, &b, 1) < 0 && errno == EINTR)
		;
	close(gate);

	t0 = now_ns();
	do {
		bool pte = st->iters & 1;
		struct map_req m = { .offset = pte ? PAGE_4K : 0, .len = pages * PAGE_4K,
				     .pmd_colour = !pte, .write = true, .shared = true };
		struct region r;
		uint64_t i0 = now_ns(), n;

		if (region_map(&r, f.fd, &m) < 0)
			return EXIT_ERR;
		n = region_touch(&r, true, (unsigned)st->iters);
		if (!quiet) {
			out_begin(&o, "mixed", "iter");
			out_file(&o, &f);
			out_kv(&o, "iter", "%llu", (unsigned long long)st->iters);
			out_kv(&o, "layout", "%s", pte ? "pte" : "pmd");
			out_kv(&o, "offset", "%llu", (unsigned long long)m.offset);
			out_kv(&o, "pages", "%llu", (unsigned long long)n);
			out_kv(&o, "va", "0x%lx", (unsigned long)(uintptr_t)r.va);
			out_kv(&o, "va_2m_aligned", "%d", ((uintptr_t)r.va % SIZE_2M) == 0);
			out_kv(&o, "pmd_eligible", "%u", r.pmd_eligible);
		}
		if (region_unmap(&r) < 0)
			return EXIT_ERR;
		if (!quiet) {
			out_kv(&o, "elapsed_us", "%llu", (unsigned long long)((now_ns() - i0) / 1000));
			out_emit(&o);
		}
		st->pages += n;
		st->iters++;
		*(pte ? &pte_pages : &pmd_pages) += n;
	} while (now_ns() - t0 < (uint64_t)(secs * 1e9));

	out_begin(&o, "mixed", "child");
	out_file(&o, &f);
	out_kv(&o, "iterations", "%llu", (unsigned long long)st->iters);
	out_kv(&o, "pages", "%llu", (unsigned long long)st->pages);
	out_kv(&o, "pages_pmd_layout", "%llu", (unsigned long long)pmd_pages);
	out_kv(&o, "pages_pte_layout", "%llu", (unsigned long long)pte_pages);
	out_kv(&o, "elapsed_us", "%llu", (unsigned long long)((now_ns() - t0) / 1000));
	out_emit(&o);
	dfile_close(&f);
	st->ok = 1;
	return EXIT_OK;
}

struct mixed_opts {
	uint64_t procs, pages;
	double secs;
	bool quiet, allow;
};

/* Options into *mo; -1 to go on, else the exit code. */
static int mixed_args(int argc, char **argv, struct mixed_opts *mo)
{
	static const struct option opts[] = {
		{ "procs", required_argument, NULL, 'n' },
		{ "pages", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "allow-non-dax", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64(optarg, &mo->procs) < 0 || !mo->procs || mo->procs > 1024)
				return usage_error(usage, "bad --procs '%s' (1..1024)", optarg);
			break;
		case 'p':
			if (parse_u64(optarg, &mo->pages) < 0 || !mo->pages || mo->pages > (1ULL << 28))
				return usage_error(usage, "bad --pages '%s'", optarg);
			break;
		case 't':
			if (parse_seconds(optarg, &mo->secs) < 0 || mo->secs < 0)
				return usage_error(usage, "bad --seconds '%s'", optarg);
			break;
		case 'q': mo->quiet = true; break;
		case 'A': mo->allow = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return bad_option(usage, argc, argv, c);
		}
	}
	if (optind != argc - 1)
		return usage_error(usage, "need exactly one DIR");
	if (!mo->procs)
		return usage_error(usage, "--procs N is required");
	return -1;
}

/* Refuse once here rather than once per child when the whole mount is
 * plainly not DAX; the children still check each file. */
static int refuse_non_dax_dir(const char *dir)
{
	struct dfile d;

	if (path_check(dir, &d) < 0)
		return -1;
	if (!strcmp(d.mnt_dax, "none") || !strcmp(d.mnt_dax, "never")) {
		errmsg("not a DAX directory", "%s (fs=%s, dev=%u:%u) is on a mount "
		       "without the dax option; mount a pmem fsdax device with -o dax "
		       "(ext4) or -o dax=always (xfs), or pass --allow-non-dax",
		       d.path, d.fs, d.dev_major, d.dev_minor);
		return -1;
	}
	return 0;
}

int cmd_mixed(int argc, char **argv)
{
	struct mixed_opts mo = { .pages = 1024, .secs = 1 };
	uint64_t procs, total_pages = 0, total_iters = 0, t0;
	struct child_stat *st;
	int c, gate[2], failed = 0;
	pid_t *pids;
	struct out o;

	c = mixed_args(argc, argv, &mo);
	if (c >= 0)
		return c;
	procs = mo.procs;
	if (!mo.allow && refuse_non_dax_dir(argv[optind]) < 0)
		return EXIT_ERR;

	/* Shared with the children so the parent can sum their work. */
	st = mmap(NULL, procs * sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = mmap(NULL, procs * sizeof(*pids), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED || pids == MAP_FAILED) {
		errsys(errno, "mmap counters");
		return EXIT_ERR;
	}
	if (pipe(gate) < 0) {
		errsys(errno, "pipe");
		return EXIT_ERR;
	}
	for (uint64_t k = 0; k < procs; k++) {
		pids[k] = fork();
		if (pids[k] < 0) {
			errsys(errno, "fork");
			procs = k;
			failed++;
			break;
		}
		if (pids[k] == 0) {
			close(gate[1]);
			_exit(child_run(argv[optind], (int)k, mo.pages, mo.secs, mo.quiet, mo.allow,
					gate[0], &st[k]));
		}
	}
	close(gate[0]);
	t0 = now_ns();
	close(gate[1]);		/* start everyone */
	for (uint64_t k = 0; k < procs; k++) {
		int status;

		if (waitpid_eintr(pids[k], &status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) || !st[k].ok)
			failed++;
		total_pages += st[k].pages;
		total_iters += st[k].iters;
	}
	out_begin(&o, "mixed", "done");
	out_str(&o, "dir", argv[optind]);
	out_kv(&o, "procs", "%llu", (unsigned long long)procs);
	out_kv(&o, "failed", "%d", failed);
	out_kv(&o, "total_pages", "%llu", (unsigned long long)total_pages);
	out_kv(&o, "total_iterations", "%llu", (unsigned long long)total_iters);
	out_kv(&o, "elapsed_us", "%llu", (unsigned long long)((now_ns() - t0) / 1000));
	out_emit(&o);
	if (failed)
		errmsg("children", "%d of %llu child processes failed (see their messages above)",
		       failed, (unsigned long long)procs);
	return failed ? EXIT_ERR : EXIT_OK;
}
