/* daxload pin: keep DAX pages referenced from a pipe (vmsplice), the
 * classic way a page stays busy after its mapping is gone. */
#include "daxload.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
"usage: daxload pin --pages N --hold SECONDS [--offset BYTES] [--ready-file PATH]\n"
"                   [--handoff | --to-parent | --in-flight] [--no-drain] [--munmap] [--pfn]\n"
"                   [--pmd] [--cold] [--allow-non-dax] FILE\n"
"  Maps N pages of FILE MAP_SHARED, writes them, vmsplice()s them into a pipe\n"
"  sized to hold them all and does not read it: each page keeps an extra\n"
"  reference. Prints op=pin event=ready, holds for SECONDS (inf: forever) or\n"
"  until SIGUSR1/SIGINT/SIGTERM, drains the pipe and prints event=released.\n"
"  --handoff    a child process holds the pipe (and the mapping unless\n"
"               --munmap); the parent exits after ready\n"
"  --no-drain   exit without reading the pipe (closing it releases the pages too)\n"
"  --munmap     unmap and close the file right after vmsplice (pin only in pipe;\n"
"               before Linux 6.15 truncate/punch then do not wait for it)\n"
"  --pmd        map (and allocate) the whole 2 MiB chunks around the pinned pages,\n"
"               2 MiB aligned, so the kernel can map them with a PMD\n"
"  --cold       vmsplice the pages without writing them first: no page table\n"
"               entry yet, so get_user_pages_fast takes its slow path (up to\n"
"               Linux 6.2 a nested get_user_pages_unlocked call)\n"
"  --ready-file create PATH (content: holder pid) once the pin is in place\n"
"  --to-parent  a child pins (through the mapping both share), passes the pipe\n"
"               to this process (SCM_RIGHTS) and exits: the culprit is gone, this\n"
"               process holds the pages and the mapping; prints\n"
"               op=pin event=handed pinner_pid=CHILD holder_pid=PID once it is\n"
"  --in-flight  send the pipe's fds into a unix socket pair and close them, never\n"
"               receiving: no process holds the pipe (holder_pid=0); on release\n"
"               receive, drain and close\n";

struct pin_opts {
	uint64_t pages, offset;
	double hold;
	const char *ready_file;
	bool handoff, no_drain, do_munmap, pfn, allow, hold_set, pmd, in_flight, cold;
	int to_parent;		/* --to-parent: the socket to the parent, else -1 */
};

/* --cold: the file's blocks written through write(2), not through this
 * mapping (an unwritten extent would map the shared zero page instead of
 * a DAX page): the mapping has no page table entry when vmsplice comes. */
static int write_cold(int fd, const struct map_req *m)
{
	static const char page[4096] = { 'c' };

	for (uint64_t off = 0; off < m->len; off += sizeof(page))
		if (pwrite(fd, page, sizeof(page), (off_t)(m->offset + off)) != (ssize_t)sizeof(page)) {
			errsys(errno, "pwrite (--cold)");
			return -1;
		}
	return 0;
}

/* The mapping: the pinned pages alone, or with --pmd the 2 MiB chunks
 * holding them (a PMD needs a whole aligned chunk inside the VMA and the
 * file). */
static void pin_map_req(const struct pin_opts *po, struct map_req *m)
{
	uint64_t end = po->offset + po->pages * PAGE_4K;

	m->offset = po->offset;
	m->len = po->pages * PAGE_4K;
	if (po->pmd) {
		m->offset = po->offset & ~(uint64_t)(SIZE_2M - 1);
		m->len = ((end + SIZE_2M - 1) & ~(uint64_t)(SIZE_2M - 1)) - m->offset;
	}
}

/* The pinned part of the mapping r. */
static struct region pinned_part(const struct region *r, const struct pin_opts *po)
{
	struct region p = *r;

	p.va = r->va + (po->offset - r->offset);
	p.len = po->pages * PAGE_4K;
	p.offset = po->offset;
	return p;
}

/* The holder side: wait, then release (drain or just exit). */
static int pin_hold(const struct dfile *f, struct pinpipe *pp, const struct pin_opts *po,
		    uint64_t t_ready)
{
	const char *why = hold_wait(po->hold);
	uint64_t drained = 0, t;
	struct out o;

	if (!po->no_drain)
		drained = pinpipe_drain(pp);
	t = now_ns();
	out_begin(&o, "pin", "released");
	out_file(&o, f);
	out_kv(&o, "pages", "%llu", (unsigned long long)po->pages);
	out_ms(&o, "held_ms", t - t_ready);
	out_kv(&o, "reason", "%s", why);
	out_kv(&o, "drain", "%d", !po->no_drain);
	out_kv(&o, "drained_bytes", "%llu", (unsigned long long)drained);
	out_kv(&o, "t_ns", "%llu", (unsigned long long)t);
	out_emit(&o);
	/* With --no-drain the pipe dies with the process: pages released then. */
	pinpipe_close(pp);
	return EXIT_OK;
}

/* Comma list of PFNs, read while the pages are still mapped; empty when
 * pagemap hides them (no CAP_SYS_ADMIN) or there are too many for a line
 * (op=pfn lines are printed instead). */
static void pfn_list(const struct region *r, char *list, size_t len)
{
	uint64_t pages = r->len / PAGE_4K;
	size_t n = 0;

	list[0] = '\0';
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pfn = 0;
		bool present = false, hidden = false;
		int k;

		if (pagemap_pfn(r->va + i * PAGE_4K, &pfn, &present, &hidden) < 0 || hidden) {
			list[0] = '\0';
			return;
		}
		k = snprintf(list + n, len - n, "%s0x%llx", i ? "," : "",
			     present ? (unsigned long long)pfn : 0ULL);
		if (k < 0 || (size_t)k >= len - n) {
			list[0] = '\0';
			return;
		}
		n += (size_t)k;
	}
}

/* --pmd: the whole mapping, the PMDs it allows, and the pfn of its first
 * page (the head of the folio on 6.15+ when a PMD maps it). */
static void map_fields(struct out *o, const struct region *map, bool pfn)
{
	uint64_t v = 0;
	bool present = false, hidden = false;

	out_kv(o, "map_offset", "%llu", (unsigned long long)map->offset);
	out_kv(o, "map_len", "%llu", (unsigned long long)map->len);
	out_kv(o, "pmd_eligible", "%u", map->pmd_eligible);
	if (pfn && !pagemap_pfn(map->va, &v, &present, &hidden) && present && !hidden)
		out_kv(o, "map_pfn", "0x%llx", (unsigned long long)v);
}

static void ready_line(const struct dfile *f, const struct region *r, const struct pinpipe *pp,
		       const struct pin_opts *po, pid_t holder, uint64_t t_ready,
		       const char *pfns, const struct region *map)
{
	struct out o;
	uint64_t pages = r->len / PAGE_4K;

	out_begin(&o, "pin", "ready");
	out_file(&o, f);
	out_kv(&o, "pages", "%llu", (unsigned long long)pages);
	out_kv(&o, "offset", "%llu", (unsigned long long)r->offset);
	out_kv(&o, "len", "%llu", (unsigned long long)r->len);
	out_kv(&o, "va", "0x%lx", (unsigned long)(uintptr_t)r->va);
	out_kv(&o, "pipe_bytes", "%llu", (unsigned long long)pp->bytes);
	out_kv(&o, "pipe_size", "%d", pp->pipe_size);
	out_kv(&o, "pipe_rfd", "%d", pp->rfd);
	out_kv(&o, "holder_pid", "%d", (int)holder);
	out_kv(&o, "munmap", "%d", po->do_munmap);
	if (pfns && *pfns)
		out_kv(&o, "pfns", "%s", pfns);
	if (po->pmd)
		map_fields(&o, map, po->pfn);
	out_kv(&o, "t_ns", "%llu", (unsigned long long)t_ready);
	out_emit(&o);
}

static int make_ready_file(const char *path, pid_t holder);

/* The released line of a holder that has no file of its own. */
static int release_line(struct pinpipe *pp, const struct pin_opts *po, uint64_t t_ready,
			const char *why)
{
	uint64_t drained = po->no_drain ? 0 : pinpipe_drain(pp);
	struct out o;

	out_begin(&o, "pin", "released");
	out_kv(&o, "pages", "%llu", (unsigned long long)po->pages);
	out_ms(&o, "held_ms", now_ns() - t_ready);
	out_kv(&o, "reason", "%s", why);
	out_kv(&o, "drained_bytes", "%llu", (unsigned long long)drained);
	out_emit(&o);
	pinpipe_close(pp);
	return EXIT_OK;
}

/* --to-parent, the parent: receive the child's pipe, reap the child (the
 * culprit is gone), hold. */
static int hold_for_child(int sock, pid_t child, const struct pin_opts *po)
{
	struct pinpipe pp = { .rfd = -1, .wfd = -1 };
	uint64_t t_ready;
	struct out o;
	int st;

	if (pinpipe_recv(sock, &pp) < 0)
		return EXIT_ERR;
	close(sock);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	t_ready = now_ns();
	out_begin(&o, "pin", "handed");
	out_kv(&o, "pinner_pid", "%d", (int)child);
	out_kv(&o, "holder_pid", "%d", (int)getpid());
	out_kv(&o, "pipe_bytes", "%llu", (unsigned long long)pp.bytes);
	out_kv(&o, "pinner_exit", "%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	out_emit(&o);
	return release_line(&pp, po, t_ready, hold_wait(po->hold));
}

/* --to-parent: fork; the child goes on to pin (po->to_parent = its socket),
 * the parent holds what it is given. Returns -1 in the child. */
static int fork_for_parent(struct pin_opts *po)
{
	int sv[2];
	pid_t child;

	child = fork_linked(sv, true);
	if (child < 0)
		return EXIT_ERR;
	if (child == 0) {
		close(sv[0]);
		po->to_parent = sv[1];
		return -1;
	}
	close(sv[1]);
	return hold_for_child(sv[0], child, po);
}

/* --in-flight: the pipe only in a unix socket's queue, then released by
 * receiving it back. */
static int hold_in_flight(const struct dfile *f, struct pinpipe *pp, const struct pin_opts *po,
			  const struct region *pr, const char *pfns, const struct region *r)
{
	int sv[2];
	uint64_t t_ready;
	const char *why;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		errsys(errno, "socketpair");
		return EXIT_ERR;
	}
	if (pinpipe_send(sv[0], pp) < 0)
		return EXIT_ERR;
	pinpipe_close(pp);	/* in flight now: no process has the pipe */
	t_ready = now_ns();
	ready_line(f, pr, pp, po, 0, t_ready, pfns, r);
	if (make_ready_file(po->ready_file, 0) < 0)
		return EXIT_ERR;
	why = hold_wait(po->hold);
	if (pinpipe_recv(sv[1], pp) < 0)
		return EXIT_ERR;
	return release_line(pp, po, t_ready, why);
}

static int make_ready_file(const char *path, pid_t holder)
{
	char txt[32];

	if (!path)
		return 0;
	snprintf(txt, sizeof(txt), "%d\n", (int)holder);
	if (write_file_atomic(path, txt) < 0) {
		char what[4200];

		snprintf(what, sizeof(what), "create --ready-file %s", path);
		errsys(errno, what);
		return -1;
	}
	return 0;
}

/* Options into po; -1 to go on, else the exit code. */
static int pin_args(int argc, char **argv, struct pin_opts *po, bool *to_parent)
{
	static const struct option opts[] = {
		{ "pages", required_argument, NULL, 'p' },
		{ "offset", required_argument, NULL, 'o' },
		{ "hold", required_argument, NULL, 'H' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "handoff", no_argument, NULL, 'F' },
		{ "no-drain", no_argument, NULL, 'N' },
		{ "munmap", no_argument, NULL, 'u' },
		{ "pfn", no_argument, NULL, 'f' },
		{ "pmd", no_argument, NULL, 'P' },
		{ "cold", no_argument, NULL, 'C' },
		{ "allow-non-dax", no_argument, NULL, 'A' },
		{ "to-parent", no_argument, NULL, 'T' },
		{ "in-flight", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_u64(optarg, &po->pages) < 0 || !po->pages || po->pages > (1u << 20))
				return usage_error(usage, "bad --pages '%s'", optarg);
			break;
		case 'o':
			if (parse_size(optarg, &po->offset) < 0 || po->offset % PAGE_4K)
				return usage_error(usage, "bad --offset '%s' (a multiple of 4096)", optarg);
			break;
		case 'H':
			if (parse_seconds(optarg, &po->hold) < 0)
				return usage_error(usage, "bad --hold '%s' (seconds or inf)", optarg);
			po->hold_set = true;
			break;
		case 'R': po->ready_file = optarg; break;
		case 'F': po->handoff = true; break;
		case 'N': po->no_drain = true; break;
		case 'u': po->do_munmap = true; break;
		case 'f': po->pfn = true; break;
		case 'P': po->pmd = true; break;
		case 'C': po->cold = true; break;
		case 'A': po->allow = true; break;
		case 'T': *to_parent = true; break;
		case 'I': po->in_flight = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return bad_option(usage, argc, argv, c);
		}
	}
	if (optind != argc - 1)
		return usage_error(usage, "need exactly one FILE");
	if (!po->hold_set)
		return usage_error(usage, "--hold SECONDS is required (inf to hold until SIGUSR1)");
	if ((*to_parent || po->in_flight) && po->handoff)
		return usage_error(usage, "--handoff goes with neither --to-parent nor --in-flight");
	return -1;
}

/* --handoff: a child holds the pipe (and the mapping unless --munmap);
 * this process prints ready and exits. */
static int hold_handoff(struct dfile *f, struct region *r, const struct region *pr,
			struct pinpipe *pp, const struct pin_opts *po, const char *pfns)
{
	uint64_t t_ready;
	int sync[2];
	pid_t child;
	char b = 0;

	child = fork_linked(sync, false);
	if (child < 0)
		return EXIT_ERR;
	if (child == 0) {
		/* The holder takes over the mapping too, unless --munmap: before
		 * 6.15 break_layouts ignores pinned pages of an unmapped file. */
		if (po->do_munmap) {
			region_unmap(r);
			dfile_close(f);
		}
		close(sync[0]);
		t_ready = now_ns();
		if (write_full(sync[1], &b, 1) < 0)
			_exit(EXIT_ERR);
		close(sync[1]);
		_exit(pin_hold(f, pp, po, t_ready));
	}
	close(sync[1]);
	while (read(sync[0], &b, 1) < 0 && errno == EINTR)
		;
	close(sync[0]);
	t_ready = now_ns();
	ready_line(f, pr, pp, po, child, t_ready, pfns, r);
	if (make_ready_file(po->ready_file, child) < 0)
		return EXIT_ERR;
	pinpipe_close(pp);
	return EXIT_OK;	/* the child keeps holding */
}

int cmd_pin(int argc, char **argv)
{
	struct pin_opts po = { .pages = 16, .to_parent = -1 };
	bool to_parent = false;
	struct map_req m = { .pmd_colour = true, .write = true, .shared = true };
	struct dfile f;
	struct region r, pr;
	struct pinpipe pp;
	uint64_t t_ready;
	static char pfns[256 * 20];
	int c;

	c = pin_args(argc, argv, &po, &to_parent);
	if (c >= 0)
		return c;
	pin_map_req(&po, &m);
	hold_signals_block();	/* a SIGUSR1 sent right after ready must not kill us */

	if (dfile_setup(&f, argv[optind], m.offset + m.len, po.allow, 0) < 0)
		return EXIT_ERR;
	if (region_map(&r, f.fd, &m) < 0)
		return EXIT_ERR;
	if (!po.cold)
		region_touch(&r, true, 0);
	else if (write_cold(f.fd, &m) < 0)
		return EXIT_ERR;
	pr = pinned_part(&r, &po);
	/* --to-parent: both keep the mapping (before 6.15 break_layouts waits
	 * only for mapped files); the child pins through it */
	if (to_parent && (c = fork_for_parent(&po)) >= 0)
		return c;	/* the parent, done holding */
	if (pinpipe_fill(&pp, pr.va, pr.len) < 0)
		return EXIT_ERR;
	if (pp.bytes != pr.len) {
		errmsg("vmsplice", "pipe holds %llu bytes, expected %llu",
		       (unsigned long long)pp.bytes, (unsigned long long)pr.len);
		return EXIT_ERR;
	}
	if (po.pfn) {
		if (po.pages <= 256)
			pfn_list(&pr, pfns, sizeof(pfns));
		else
			emit_pfn_lines("pin", &f, &pr, true);
	}

	if (po.handoff)
		return hold_handoff(&f, &r, &pr, &pp, &po, pfns);
	if (po.do_munmap) {
		region_unmap(&r);
		dfile_close(&f);
	}
	if (po.in_flight)
		return hold_in_flight(&f, &pp, &po, &pr, pfns, &r);
	t_ready = now_ns();
	if (po.to_parent >= 0) {
		/* pinned: print, pass the pipe to the parent, exit (the culprit goes) */
		ready_line(&f, &pr, &pp, &po, getppid(), t_ready, pfns, &r);
		return pinpipe_send(po.to_parent, &pp) < 0 ? EXIT_ERR : EXIT_OK;
	}
	ready_line(&f, &pr, &pp, &po, getpid(), t_ready, pfns, &r);
	if (make_ready_file(po.ready_file, getpid()) < 0)
		return EXIT_ERR;
	return pin_hold(&f, &pp, &po, t_ready);
}
