/* daxleak's command line: the options, their checks and the usage text. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "daxleak_int.h"
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

/* One option; 0 ok, -1 after --help, else the exit code of a bad value.
 * name: the option as given, for the message. */
static int parse_opt(int o, const char *arg, const char *name, struct leak_args *a)
{
	uint64_t u;

	switch (o) {
	case 'i':
		if (parse_seconds(arg, &a->interval_s) || a->interval_s < 0.01)
			return usage_error("bad interval '%s': give 0.01 to 1e7 seconds", arg);
		break;
	case 'm':
		if (parse_seconds(arg, &a->min_age_s) || a->min_age_s < 0)
			return usage_error("bad --min-age '%s': give 0 to 1e7 seconds", arg);
		break;
	case 'd':
		if (parse_seconds(arg, &a->duration_s) || a->duration_s <= 0)
			return usage_error("bad duration '%s': give seconds > 0, at most 1e7", arg);
		break;
	case 'c':
		if (parse_u64(arg, &a->count) || !a->count)
			return usage_error("bad count '%s'", arg);
		break;
	case 'p':
		if (parse_u64(arg, &u) || !u || u > 0x3fffffff)
			return usage_error("bad pid '%s'", arg);
		a->pid = u;
		break;
	case 'o':
		if (!strcmp(arg, "json"))
			a->json = true;
		else if (strcmp(arg, "text"))
			return usage_error("unknown output format '%s' (text or json)", arg);
		break;
	case 'T':
		if (parse_u64(arg, &u) || !u || u > 100000)
			return usage_error("bad --top '%s'", arg);
		a->top = u;
		break;
	case OPT_ROWS:
		if (parse_u64(arg, &u) || u > 1000000)
			return usage_error("bad --rows '%s'", arg);
		a->max_rows = u;
		break;
	case OPT_FOLDED:
		a->folded = true;
		break;
	case OPT_MAX_FOLIOS:
		if (parse_max_folios(arg, &a->max_folios))
			return EXIT_USAGE;
		break;
	case OPT_MAX_STACKS:
		if (parse_u64(arg, &a->max_stacks) || !a->max_stacks ||
		    a->max_stacks > (1u << 20))
			return usage_error("bad --max-stacks '%s' (1..1048576)", arg);
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
	default:
		return usage_error("unknown option '%s'", name);
	}
	return 0;
}

int leak_parse_args(int argc, char **argv, struct leak_args *a)
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
	int o, rc;

	*a = (struct leak_args){ .interval_s = 5, .min_age_s = 5, .max_folios = DL_DEF_MAX_FOLIOS,
				 .max_stacks = DL_DEF_MAX_STACKS, .top = 10, .max_rows = 32,
				 .scan_at_start = true };
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":i:m:d:c:p:o:T:vh", opts, NULL)) != -1) {
		if (o == ':')
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		rc = parse_opt(o, optarg, argv[optind - 1], a);
		if (rc)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->json && a->folded)
		return usage_error("%s", "--folded and -o json are exclusive");
	return 0;
}
