/* daxload loop: map/touch/unmap as fast as possible for S seconds, one
 * summary line at the end (benchmark load with a known page count). */
#include "daxload.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
"usage: daxload loop [--seconds S] [--pages N] [--align 4k|2m] [--read]\n"
"                    [--allow-non-dax] FILE\n"
"  Repeats map (MAP_SHARED), touch every page (write unless --read) and\n"
"  munmap for S seconds (default 1), N pages (default 1024) from offset 0,\n"
"  then prints 'DAXLOAD op=loop ... iterations= pages= elapsed_us='.\n";

int cmd_loop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 't' },
		{ "pages", required_argument, NULL, 'p' },
		{ "align", required_argument, NULL, 'a' },
		{ "read", no_argument, NULL, 'r' },
		{ "allow-non-dax", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct map_req m = { .len = 1024 * PAGE_4K, .pmd_colour = true, .write = true,
			     .shared = true };
	uint64_t iters = 0, pages = 0, t0, dt, v;
	double secs = 1;
	bool allow = false;
	struct dfile f;
	struct region r;
	struct out o;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_seconds(optarg, &secs) < 0 || secs < 0)
				return usage_error(usage, "bad --seconds '%s'", optarg);
			break;
		case 'p':
			if (parse_u64(optarg, &v) < 0 || !v || v > (1ULL << 40) / PAGE_4K)
				return usage_error(usage, "bad --pages '%s'", optarg);
			m.len = v * PAGE_4K;
			break;
		case 'a':
			if (!strcmp(optarg, "2m") || !strcmp(optarg, "2M"))
				m.pmd_colour = true;
			else if (!strcmp(optarg, "4k") || !strcmp(optarg, "4K"))
				m.pmd_colour = false;
			else
				return usage_error(usage, "bad --align '%s' (4k or 2m)", optarg);
			break;
		case 'r': m.write = false; break;
		case 'A': allow = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return bad_option(usage, argc, argv, c);
		}
	}
	if (optind != argc - 1)
		return usage_error(usage, "need exactly one FILE");
	if (dfile_setup(&f, argv[optind], m.len, allow, 0) < 0)
		return EXIT_ERR;

	t0 = now_ns();
	do {
		if (region_map(&r, f.fd, &m) < 0) {
			rc = EXIT_ERR;
			break;
		}
		pages += region_touch(&r, m.write, (unsigned)iters);
		if (region_unmap(&r) < 0) {
			rc = EXIT_ERR;
			break;
		}
		iters++;
	} while (now_ns() - t0 < (uint64_t)(secs * 1e9));
	dt = now_ns() - t0;

	out_begin(&o, "loop", "done");
	out_file(&o, &f);
	out_kv(&o, "iterations", "%llu", (unsigned long long)iters);
	out_kv(&o, "pages", "%llu", (unsigned long long)pages);
	out_kv(&o, "pages_per_iter", "%llu", (unsigned long long)(m.len / PAGE_4K));
	out_kv(&o, "access", "%s", m.write ? "write" : "read");
	out_kv(&o, "align", "%s", m.pmd_colour ? "2m" : "4k");
	out_kv(&o, "elapsed_us", "%llu", (unsigned long long)(dt / 1000));
	out_kv(&o, "pages_per_sec", "%llu",
	       (unsigned long long)(dt ? (double)pages * 1e9 / (double)dt : 0));
	out_kv(&o, "rc", "%d", rc);
	out_emit(&o);
	dfile_close(&f);
	return rc;
}
