/* daxload truncate / punch: the calls that must break DAX layouts, timed
 * so a blocked waiter (a page still pinned) shows up as blocked_ms. */
#include "daxload.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage_truncate[] =
"usage: daxload truncate [--size BYTES] [--allow-non-dax] FILE\n"
"  ftruncate(FILE, BYTES) (default 0) and print how long the call blocked:\n"
"  'DAXLOAD op=truncate pid= dev= ino= file= dax= old_size= size= blocked_ms= rc='.\n"
"  FILE must exist. rc is 0 or the errno number (err= names it).\n";

static const char usage_punch[] =
"usage: daxload punch --offset BYTES --len BYTES [--allow-non-dax] FILE\n"
"  fallocate(PUNCH_HOLE|KEEP_SIZE) over [offset, offset+len) and print how long\n"
"  it blocked: 'DAXLOAD op=punch pid= dev= ino= file= dax= offset= len= blocked_ms= rc='.\n";

/* Open an existing file for a layout-breaking call. */
static int open_existing(struct dfile *f, const char *path, bool allow)
{
	if (dfile_open(f, path, 0) < 0)
		return -1;
	if (dfile_require_dax(f, allow) < 0) {
		dfile_close(f);
		return -1;
	}
	return 0;
}

static void result(struct out *o, uint64_t ns, int err)
{
	out_ms(o, "blocked_ms", ns);
	out_kv(o, "rc", "%d", err);
	out_kv(o, "err", "%s", errno_name(err));
	out_emit(o);
}

int cmd_truncate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "allow-non-dax", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t size = 0, t0, dt, old;
	bool allow = false;
	struct dfile f;
	struct out o;
	int c, r, err = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size) < 0)
				return usage_error(usage_truncate, "bad --size '%s'", optarg);
			break;
		case 'A': allow = true; break;
		case 'h': fputs(usage_truncate, stdout); return EXIT_OK;
		default: return bad_option(usage_truncate, argc, argv, c);
		}
	}
	if (optind != argc - 1)
		return usage_error(usage_truncate, "need exactly one FILE");
	if (open_existing(&f, argv[optind], allow) < 0)
		return EXIT_ERR;
	old = f.size;
	/* Not retried on EINTR: an interrupted wait is part of the truth. */
	t0 = now_ns();
	r = ftruncate(f.fd, (off_t)size);
	dt = now_ns() - t0;
	if (r < 0)
		err = errno;
	out_begin(&o, "truncate", NULL);
	out_file(&o, &f);
	out_kv(&o, "old_size", "%llu", (unsigned long long)old);
	out_kv(&o, "size", "%llu", (unsigned long long)size);
	result(&o, dt, err);
	if (err)
		errsys(err, "ftruncate");
	dfile_close(&f);
	return err ? EXIT_ERR : EXIT_OK;
}

int cmd_punch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "offset", required_argument, NULL, 'o' },
		{ "len", required_argument, NULL, 'l' },
		{ "allow-non-dax", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t off = 0, len = 0, t0, dt;
	bool allow = false, have_off = false, have_len = false;
	struct dfile f;
	struct out o;
	int c, r, err = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (parse_size(optarg, &off) < 0)
				return usage_error(usage_punch, "bad --offset '%s'", optarg);
			have_off = true;
			break;
		case 'l':
			if (parse_size(optarg, &len) < 0 || !len)
				return usage_error(usage_punch, "bad --len '%s'", optarg);
			have_len = true;
			break;
		case 'A': allow = true; break;
		case 'h': fputs(usage_punch, stdout); return EXIT_OK;
		default: return bad_option(usage_punch, argc, argv, c);
		}
	}
	if (optind != argc - 1)
		return usage_error(usage_punch, "need exactly one FILE");
	if (!have_off || !have_len)
		return usage_error(usage_punch, "--offset and --len are required");
	if (open_existing(&f, argv[optind], allow) < 0)
		return EXIT_ERR;
	t0 = now_ns();
	r = fallocate(f.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	dt = now_ns() - t0;
	if (r < 0)
		err = errno;
	out_begin(&o, "punch", NULL);
	out_file(&o, &f);
	out_kv(&o, "offset", "%llu", (unsigned long long)off);
	out_kv(&o, "len", "%llu", (unsigned long long)len);
	result(&o, dt, err);
	if (err)
		errsys(err, "fallocate(PUNCH_HOLE)");
	dfile_close(&f);
	return err ? EXIT_ERR : EXIT_OK;
}
