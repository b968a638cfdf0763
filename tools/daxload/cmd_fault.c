/* daxload fault: map a file with a chosen layout and touch every page. */
#include "daxload.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static const char usage[] =
"usage: daxload fault [--pages N | --size BYTES] [--offset BYTES] [--align 4k|2m]\n"
"                     [--write|--read] [--shared|--private|--sync] [--msync] [--munmap]\n"
"                     [--hold SECONDS] [--repeat N] [--pfn[=all]] [--no-alloc]\n"
"                     [--allow-non-dax] FILE\n"
"  Creates/extends FILE (fallocate), maps [offset, offset+size) and touches\n"
"  every 4 KiB page once. Defaults: --pages 1024 --offset 0 --align 2m --write\n"
"  --shared. --align 2m places the mapping so a PMD can map each whole 2 MiB\n"
"  chunk; --align 4k places it 4 KiB off that, so only PTE faults are possible.\n"
"  --no-alloc uses FILE as it is, no fallocate (which on xfs breaks layouts\n"
"  and so, from 6.15, drops the file's DAX entries); FILE must be big enough.\n"
"  --sync maps MAP_SHARED_VALIDATE|MAP_SYNC (a write fault that allocates or\n"
"  converts blocks syncs the file's metadata before the page is mapped).\n"
"  --hold keeps the mapping (before munmap) for SECONDS or until SIGUSR1.\n"
"  --pfn prints PFNs from /proc/self/pagemap (needs CAP_SYS_ADMIN): a sample of\n"
"  up to 64 pages, or every page with --pfn=all.\n";

struct fault_opts {
	struct map_req m;
	bool do_msync, do_munmap, allow, pfn, pfn_all, no_alloc;
	double hold;
	uint64_t repeat;
};

static void line_common(struct out *o, const struct dfile *f, const struct region *r,
			const struct fault_opts *fo, uint64_t iter)
{
	out_file(o, f);
	out_kv(o, "offset", "%llu", (unsigned long long)r->offset);
	out_kv(o, "len", "%llu", (unsigned long long)r->len);
	out_kv(o, "pages", "%llu", (unsigned long long)(r->len / PAGE_4K));
	out_kv(o, "access", "%s", fo->m.write ? "write" : "read");
	out_kv(o, "map", "%s", fo->m.sync ? "sync" : fo->m.shared ? "shared" : "private");
	out_kv(o, "align", "%s", fo->m.pmd_colour ? "2m" : "4k");
	out_kv(o, "va", "0x%lx", (unsigned long)(uintptr_t)r->va);
	out_kv(o, "va_2m_aligned", "%d", ((uintptr_t)r->va % SIZE_2M) == 0);
	out_kv(o, "pmd_eligible", "%u", r->pmd_eligible);
	out_kv(o, "iter", "%llu", (unsigned long long)iter);
}

static int fault_iteration(struct dfile *f, const struct fault_opts *fo, uint64_t iter)
{
	struct region r;
	struct out o;
	uint64_t t0, t_touch, t_unmap = 0, touched;
	int rc = 0;

	if (region_map(&r, f->fd, &fo->m) < 0)
		return -1;
	out_begin(&o, "fault", "start");
	line_common(&o, f, &r, fo, iter);
	out_kv(&o, "blocks_2m_aligned", "%s", dfile_blocks_2m(f, r.offset, r.len));
	out_emit(&o);

	t0 = now_ns();
	touched = region_touch(&r, fo->m.write, (unsigned)iter);
	if (fo->do_msync && msync(r.va, r.len, MS_SYNC) < 0) {
		errsys(errno, "msync");
		rc = -1;
	}
	t_touch = now_ns() - t0;

	if (fo->pfn)
		emit_pfn_lines("fault", f, &r, fo->pfn_all);
	if (fo->hold != 0) {
		uint64_t h0 = now_ns();
		const char *why;

		out_begin(&o, "fault", "touched");
		line_common(&o, f, &r, fo, iter);
		out_kv(&o, "t_ns", "%llu", (unsigned long long)h0);
		out_emit(&o);
		why = hold_wait(fo->hold);
		out_begin(&o, "fault", "hold_end");
		out_file(&o, f);
		out_kv(&o, "iter", "%llu", (unsigned long long)iter);
		out_ms(&o, "held_ms", now_ns() - h0);
		out_kv(&o, "reason", "%s", why);
		out_emit(&o);
	}
	if (fo->do_munmap) {
		uint64_t u0 = now_ns();

		if (region_unmap(&r) < 0)
			rc = -1;
		t_unmap = now_ns() - u0;
	}
	/* Without --munmap the mapping stays until the process exits. */
	out_begin(&o, "fault", "done");
	line_common(&o, f, &r, fo, iter);
	out_kv(&o, "touched", "%llu", (unsigned long long)touched);
	out_kv(&o, "msync", "%d", fo->do_msync);
	out_kv(&o, "munmap", "%d", fo->do_munmap);
	out_kv(&o, "elapsed_us", "%llu", (unsigned long long)((t_touch + t_unmap) / 1000));
	out_kv(&o, "rc", "%d", rc < 0 ? 1 : 0);
	out_emit(&o);
	return rc;
}

/* Options into *fo; -1 to go on, else the exit code. */
static int fault_args(int argc, char **argv, struct fault_opts *fo)
{
	static const struct option opts[] = {
		{ "pages", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'o' },
		{ "align", required_argument, NULL, 'a' },
		{ "write", no_argument, NULL, 'w' },
		{ "read", no_argument, NULL, 'r' },
		{ "shared", no_argument, NULL, 'S' },
		{ "private", no_argument, NULL, 'P' },
		{ "sync", no_argument, NULL, 'Y' },
		{ "msync", no_argument, NULL, 'm' },
		{ "munmap", no_argument, NULL, 'u' },
		{ "hold", required_argument, NULL, 'H' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "pfn", optional_argument, NULL, 'f' },
		{ "allow-non-dax", no_argument, NULL, 'A' },
		{ "no-alloc", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_u64(optarg, &v) < 0 || !v || v > (1ULL << 40) / PAGE_4K)
				return usage_error(usage, "bad --pages '%s'", optarg);
			fo->m.len = v * PAGE_4K;
			break;
		case 's':
			if (parse_size(optarg, &v) < 0 || !v || v % PAGE_4K)
				return usage_error(usage, "bad --size '%s' (a positive multiple of 4096)", optarg);
			fo->m.len = v;
			break;
		case 'o':
			if (parse_size(optarg, &v) < 0 || v % PAGE_4K)
				return usage_error(usage, "bad --offset '%s' (a multiple of 4096)", optarg);
			fo->m.offset = v;
			break;
		case 'a':
			if (!strcmp(optarg, "2m") || !strcmp(optarg, "2M"))
				fo->m.pmd_colour = true;
			else if (!strcmp(optarg, "4k") || !strcmp(optarg, "4K"))
				fo->m.pmd_colour = false;
			else
				return usage_error(usage, "bad --align '%s' (4k or 2m)", optarg);
			break;
		case 'w': fo->m.write = true; break;
		case 'r': fo->m.write = false; break;
		case 'S': fo->m.shared = true; fo->m.sync = false; break;
		case 'P': fo->m.shared = false; fo->m.sync = false; break;
		case 'Y': fo->m.shared = true; fo->m.sync = true; break;
		case 'm': fo->do_msync = true; break;
		case 'u': fo->do_munmap = true; break;
		case 'H':
			if (parse_seconds(optarg, &fo->hold) < 0)
				return usage_error(usage, "bad --hold '%s' (seconds or inf)", optarg);
			break;
		case 'n':
			if (parse_u64(optarg, &fo->repeat) < 0 || !fo->repeat)
				return usage_error(usage, "bad --repeat '%s'", optarg);
			break;
		case 'f':
			fo->pfn = true;
			if (optarg && !strcmp(optarg, "all"))
				fo->pfn_all = true;
			else if (optarg && strcmp(optarg, "sample"))
				return usage_error(usage, "bad --pfn='%s' (sample or all)", optarg);
			break;
		case 'A': fo->allow = true; break;
		case 'N': fo->no_alloc = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return bad_option(usage, argc, argv, c);
		}
	}
	if (optind != argc - 1)
		return usage_error(usage, "need exactly one FILE");
	return -1;
}

int cmd_fault(int argc, char **argv)
{
	struct fault_opts fo = {
		.m = { .offset = 0, .len = 1024 * PAGE_4K, .pmd_colour = true,
		       .write = true, .shared = true },
		.repeat = 1,
	};
	struct dfile f;
	int rc = fault_args(argc, argv, &fo);

	if (rc >= 0)
		return rc;
	rc = EXIT_OK;
	if (fo.hold != 0)
		hold_signals_block();
	if (dfile_setup(&f, argv[optind], fo.no_alloc ? 0 : fo.m.offset + fo.m.len, fo.allow, 0) < 0)
		return EXIT_ERR;
	if (fo.no_alloc && f.size < fo.m.offset + fo.m.len) {
		errmsg("file too small", "%s is %llu bytes, --no-alloc needs %llu", f.path,
		       (unsigned long long)f.size, (unsigned long long)(fo.m.offset + fo.m.len));
		dfile_close(&f);
		return EXIT_ERR;
	}
	for (uint64_t i = 0; i < fo.repeat; i++) {
		if (fault_iteration(&f, &fo, i) < 0) {
			rc = EXIT_ERR;
			break;
		}
	}
	dfile_close(&f);
	return rc;
}
