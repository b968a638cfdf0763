/* daxtrace bench-floor: internal helper of tools/bench (make bench).
 *
 *   daxtrace bench-floor [-d SECS] [--classic | --btf]
 *	Attach the bare fs_dax counter (bpf/bench/benchfloor.bpf.c) as classic
 *	tracepoints, BTF tracepoints or both (default), or the classic one plus
 *	the ablation programs (--ablate: daxtop's fault path piece by piece), print
 *	"bench-floor: ready (...)" on stderr, count until SIGINT/SIGTERM or
 *	SECS, then print one "FLOOR event=count ..." line on stdout.
 *   daxtrace bench-floor --stats [-p PID]...
 *	One "BPFSTAT" line per loaded BPF program (or per program held open by
 *	PID): id, name, type, run_cnt, run_time_ns, recursion_misses. The guest
 *	has no bpftool, and /proc/PID/fdinfo does not carry program names.
 *
 * It lives in the binary only because the VM test bed's initramfs carries
 * daxtrace and daxload and nothing else. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "commands.h"
#include "probe.h"
#include "util.h"
#include "benchfloor.skel.h"

static const char usage_text[] =
"Usage: daxtrace bench-floor [-d SECS] [--classic | --btf | --ablate | --gup]\n"
"       daxtrace bench-floor --stats [-p PID]...\n"
"Internal helper of tools/bench: a bare counter on the fs_dax tracepoints\n"
"(the cost floor), an fexit on the GUP fast entry points (--gup), or\n"
"bpf_stats of loaded BPF programs.\n";

/* Same order as the enum in bpf/bench/benchfloor.bpf.c. */
static const char *const floor_names[] = {
	"dax_pte_fault", "dax_pte_fault_done", "dax_pmd_fault", "dax_pmd_fault_done",
	"dax_insert_pfn_mkwrite", "dax_load_hole", "dax_pmd_load_hole", "dax_writeback_one",
	"btf:dax_pte_fault", "btf:dax_pte_fault_done", "btf:dax_pmd_fault",
	"btf:dax_pmd_fault_done", "btf:dax_insert_pfn_mkwrite", "btf:dax_load_hole",
	"btf:dax_pmd_load_hole", "btf:dax_writeback_one",
};
#define FLOOR_N (int)(sizeof(floor_names) / sizeof(floor_names[0]))

static int silent_print(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	return l == LIBBPF_WARN && getenv("DAXTRACE_BENCH_DEBUG") ? vfprintf(stderr, fmt, ap) : 0;
}

/* Keep the programs wanted; a tp_btf program for an event this kernel does
 * not have would fail the whole load, so those are left out up front. */
static struct benchfloor_bpf *floor_load(bool classic, bool btf, int ablate, bool gup)
{
	struct benchfloor_bpf *s = benchfloor_bpf__open();
	struct btf *kbtf = btf ? btf__load_vmlinux_btf() : NULL;
	struct bpf_program *p;
	int err;

	if (!s) {
		btf__free(kbtf);
		return NULL;
	}
	bpf_object__for_each_program(p, s->obj) {
		bool is_btf = bpf_program__type(p) == BPF_PROG_TYPE_TRACING;
		const char *name = bpf_program__name(p);
		bool keep = is_btf ? btf : classic;

		if (!strncmp(name, "ab_", 3))	/* ablation: 2 = without task storage */
			keep = ablate == 1 || (ablate == 2 && strncmp(name, "ab_task", 7));
		if (!strncmp(name, "gf_", 3))	/* fexit on the GUP entry points */
			keep = gup;

		if (keep && is_btf && strncmp(name, "ab_", 3) && strncmp(name, "gf_", 3)) {
			const char *ev = strrchr(bpf_program__section_name(p), '/');
			char tn[128];

			snprintf(tn, sizeof(tn), "btf_trace_%s", ev ? ev + 1 : "");
			keep = kbtf && btf__find_by_name_kind(kbtf, tn, BTF_KIND_TYPEDEF) > 0;
		}
		bpf_program__set_autoload(p, keep);
	}
	btf__free(kbtf);	/* the shared copy (src/core/probe_btf.c) stays for the load */
	err = benchfloor_bpf__load(s);
	probe_release_btf();
	if (err) {
		benchfloor_bpf__destroy(s);
		return NULL;
	}
	return s;
}

static int run_floor(double duration, bool classic, bool btf, bool ablate, bool gup)
{
	struct benchfloor_bpf *s;
	struct bpf_program *p;
	int ntp = 0, nbtf = 0, nfail = 0;
	uint64_t start;

	s = floor_load(classic, btf, ablate, gup);
	if (!s && ablate)	/* task storage not allowed here: the rest still */
		s = floor_load(classic, btf, 2, gup);
	if (!s) {
		warn_msg("cannot load the floor programs: %s", strerror(errno));
		return EXIT_ERR;
	}
	bpf_object__for_each_program(p, s->obj) {
		struct bpf_link *l;

		if (!bpf_program__autoload(p))
			continue;
		l = bpf_program__attach(p);
		if (!l) {
			nfail++;
			fprintf(stderr, "%s: %s: not attached\n", prog_name, bpf_program__name(p));
			continue;
		}
		if (bpf_program__type(p) == BPF_PROG_TYPE_TRACING)
			nbtf++;
		else
			ntp++;
	}
	install_exit_signals();
	fprintf(stderr, "%s: ready (tp %d, tp_btf %d, n/a %d)\n", prog_name, ntp, nbtf, nfail);
	start = mono_ns();
	while (!exiting) {
		double left = duration > 0 ? duration - (mono_ns() - start) / 1e9 : 1;

		if (left <= 0)
			break;
		sleep_interruptible(left < 1 ? left : 1);
	}
	printf("FLOOR");
	for (int i = 0; i < FLOOR_N; i++)
		printf(" %s=%llu", floor_names[i], (unsigned long long)s->bss->floor_hits[i]);
	if (gup)
		printf(" gup_calls=%llu", (unsigned long long)s->bss->gup_floor_calls);
	printf("\n");
	benchfloor_bpf__destroy(s);
	return EXIT_OK;
}

/* Program ids held open by PID, from /proc/PID/fdinfo ("prog_id:" lines). */
static int pid_prog_ids(int pid, uint32_t *ids, int max)
{
	char path[64], line[256];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)) && n < max) {
		char fpath[320];
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(fpath, sizeof(fpath), "%s/%s", path, d->d_name);
		f = fopen(fpath, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned v;

			if (sscanf(line, "prog_id: %u", &v) == 1) {
				bool dup = false;

				for (int i = 0; i < n; i++)
					dup |= ids[i] == v;
				if (!dup)
					ids[n++] = v;
				break;
			}
		}
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* A hash of the program as the verifier left it, map references masked
 * (their ids differ between two loads): two loads of the same object that
 * relocated alike hash alike (tests compare CO-RE against the small BTF
 * with the whole one, see src/core/core_btf.h). 0 if unreadable. */
static uint64_t xlated_hash(int fd, uint32_t xlated_len)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info), n = xlated_len / sizeof(struct bpf_insn);
	struct bpf_insn *insns = calloc(n ? n : 1, sizeof(*insns));
	uint64_t h = FNV1A_INIT;

	if (!insns)
		return 0;
	info.xlated_prog_len = xlated_len;
	info.xlated_prog_insns = (uintptr_t)insns;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		free(insns);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++)
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && insns[i].src_reg && i + 1 < n) {
			insns[i].imm = 0;
			insns[i + 1].imm = 0;
		}
	for (size_t i = 0; i < n * sizeof(*insns); i++)
		h = fnv1a(h, ((const unsigned char *)insns)[i]);
	free(insns);
	return h;
}

static void print_stat(uint32_t id, int pid)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		printf("BPFSTAT pid=%d id=%u name=%s type=%u run_cnt=%llu run_time_ns=%llu "
		       "recursion_misses=%llu xlated=%016llx\n", pid, id,
		       info.name[0] ? info.name : "-", info.type,
		       (unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns,
		       (unsigned long long)info.recursion_misses,
		       (unsigned long long)xlated_hash(fd, info.xlated_prog_len));
	close(fd);
}

static int run_stats(const int *pids, int npids)
{
	uint32_t id = 0, ids[1024];

	if (!npids) {
		while (!bpf_prog_get_next_id(id, &id))
			print_stat(id, 0);
		return EXIT_OK;
	}
	for (int i = 0; i < npids; i++) {
		int n = pid_prog_ids(pids[i], ids, 1024);

		if (n < 0) {
			warn_msg("pid %d: cannot read its fdinfo: %s", pids[i], strerror(errno));
			return EXIT_ERR;
		}
		for (int k = 0; k < n; k++)
			print_stat(ids[k], pids[i]);
	}
	return EXIT_OK;
}

int cmd_bench_floor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "classic", no_argument, NULL, 'C' },
		{ "btf", no_argument, NULL, 'B' },
		{ "ablate", no_argument, NULL, 'A' },
		{ "gup", no_argument, NULL, 'G' },
		{ "stats", no_argument, NULL, 'S' },
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool classic = false, btf = false, stats = false, ablate = false, gup = false;
	double duration = 0;
	int pids[16], npids = 0, c;
	uint64_t v;

	while ((c = getopt_long(argc, argv, "d:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_seconds(optarg, &duration) < 0)
				goto bad;
			break;
		case 'C': classic = true; break;
		case 'B': btf = true; break;
		case 'A': ablate = classic = true; break;
		case 'G': gup = true; break;
		case 'S': stats = true; break;
		case 'p':
			if (parse_u64(optarg, &v) < 0 || !v || v > 0x7fffffff || npids == 16)
				goto bad;
			pids[npids++] = (int)v;
			break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	libbpf_set_print(silent_print);
	if (!classic && !btf && !gup)
		classic = btf = true;
	return stats ? run_stats(pids, npids) : run_floor(duration, classic, btf, ablate, gup);
bad:
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}
