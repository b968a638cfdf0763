/* daxload evict: drop the last reference to an inode whose pages are still
 * pinned by another process's pipe. On 6.15+ kernels eviction waits for
 * the pages (dax_break_layout_final, uninterruptible). */
#include "daxload.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
"usage: daxload evict [--pages N] [--hold SECONDS] [--force] [--allow-non-dax] FILE\n"
"  Creates FILE (N pages, default 16), pins the pages in a pipe held by a\n"
"  child process, then munmaps, closes and unlinks FILE so the inode is\n"
"  evicted while pinned. The child drains the pipe after SECONDS (default 2,\n"
"  counted from the pin) or on SIGUSR1. FILE is DELETED: it must not exist\n"
"  unless --force.\n";

/* Child: holds the only reference to the pinned pages (the pipe). */
static void holder(struct dfile *f, struct region *r, struct pinpipe *pp, int syncfd,
		   double hold)
{
	uint64_t t0, drained;
	const char *why;
	struct out o;
	char b = 0;

	region_unmap(r);
	dfile_close(f);
	t0 = now_ns();
	if (write_full(syncfd, &b, 1) < 0)
		_exit(EXIT_ERR);
	close(syncfd);
	why = hold_wait(hold);
	drained = pinpipe_drain(pp);
	out_begin(&o, "evict", "released");
	out_file(&o, f);
	out_ms(&o, "held_ms", now_ns() - t0);
	out_kv(&o, "reason", "%s", why);
	out_kv(&o, "drained_bytes", "%llu", (unsigned long long)drained);
	out_kv(&o, "t_ns", "%llu", (unsigned long long)now_ns());
	out_emit(&o);
	pinpipe_close(pp);
	_exit(EXIT_OK);
}

struct evict_opts {
	uint64_t pages;
	double hold;
	bool force, allow;
};

/* Options into *eo; -1 to go on, else the exit code. */
static int evict_args(int argc, char **argv, struct evict_opts *eo)
{
	static const struct option opts[] = {
		{ "pages", required_argument, NULL, 'p' },
		{ "hold", required_argument, NULL, 'H' },
		{ "force", no_argument, NULL, 'F' },
		{ "allow-non-dax", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_u64(optarg, &eo->pages) < 0 || !eo->pages || eo->pages > (1u << 20))
				return usage_error(usage, "bad --pages '%s'", optarg);
			break;
		case 'H':
			if (parse_seconds(optarg, &eo->hold) < 0)
				return usage_error(usage, "bad --hold '%s' (seconds or inf)", optarg);
			break;
		case 'F': eo->force = true; break;
		case 'A': eo->allow = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return bad_option(usage, argc, argv, c);
		}
	}
	if (optind != argc - 1)
		return usage_error(usage, "need exactly one FILE");
	return -1;
}

/* Unmap, close, unlink, timing each (any may drop the last reference),
 * and print the done line. The unlink's errno, or 0. */
static int drop_and_report(struct dfile *f, struct region *r, pid_t child)
{
	uint64_t t0, t_munmap, t_close, t_unlink;
	struct out o;
	int err = 0;

	t0 = now_ns();
	region_unmap(r);
	t_munmap = now_ns() - t0;
	t0 = now_ns();
	dfile_close(f);
	t_close = now_ns() - t0;
	t0 = now_ns();
	if (unlink(f->path) < 0)
		err = errno;
	t_unlink = now_ns() - t0;

	out_begin(&o, "evict", "done");
	out_file(&o, f);
	out_ms(&o, "munmap_ms", t_munmap);
	out_ms(&o, "close_ms", t_close);
	out_ms(&o, "unlink_ms", t_unlink);
	out_ms(&o, "blocked_ms", t_munmap + t_close + t_unlink);
	out_kv(&o, "rc", "%d", err);
	out_kv(&o, "err", "%s", errno_name(err));
	out_kv(&o, "holder_pid", "%d", (int)child);
	out_emit(&o);
	return err;
}

int cmd_evict(int argc, char **argv)
{
	struct map_req m = { .pmd_colour = true, .write = true, .shared = true };
	struct evict_opts eo = { .pages = 16, .hold = 2 };
	uint64_t pages;
	double hold;
	bool force, allow;
	int c, sync[2], status, err = 0;
	struct dfile f;
	struct region r;
	struct pinpipe pp;
	struct out o;
	pid_t child;
	char b;

	c = evict_args(argc, argv, &eo);
	if (c >= 0)
		return c;
	pages = eo.pages;
	hold = eo.hold;
	force = eo.force;
	allow = eo.allow;
	m.len = pages * PAGE_4K;
	hold_signals_block();

	if (dfile_setup(&f, argv[optind], m.len, allow, force ? 0 : DF_EXCL) < 0)
		return EXIT_ERR;
	if (region_map(&r, f.fd, &m) < 0)
		goto fail_unlink;
	region_touch(&r, true, 0);
	if (pinpipe_fill(&pp, r.va, r.len) < 0)
		goto fail_unlink;
	child = fork_linked(sync, false);
	if (child < 0)
		goto fail_unlink;
	if (child == 0) {
		close(sync[0]);
		holder(&f, &r, &pp, sync[1], hold);
	}
	close(sync[1]);
	pinpipe_close(&pp);	/* from now on only the child holds the pin */
	while (read(sync[0], &b, 1) < 0 && errno == EINTR)
		;
	close(sync[0]);

	out_begin(&o, "evict", "pinned");
	out_file(&o, &f);
	out_kv(&o, "pages", "%llu", (unsigned long long)pages);
	out_kv(&o, "pipe_bytes", "%llu", (unsigned long long)pp.bytes);
	out_kv(&o, "holder_pid", "%d", (int)child);
	out_kv(&o, "t_ns", "%llu", (unsigned long long)now_ns());
	out_emit(&o);

	err = drop_and_report(&f, &r, child);
	if (err)
		errsys(err, "unlink");
	if (waitpid_eintr(child, &status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		errmsg("holder", "child %d did not exit cleanly", (int)child);
		return EXIT_ERR;
	}
	return err ? EXIT_ERR : EXIT_OK;

fail_unlink:
	if (f.created)
		unlink(f.path);
	return EXIT_ERR;
}
