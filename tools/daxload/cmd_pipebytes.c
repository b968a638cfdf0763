/* daxload pipe-bytes PATH: how many bytes sit in a pipe, seen from outside
 * (e.g. /proc/PID/fd/N of a pin holder). Lets tests check a pin without
 * trusting the holder's own report. */
#include "daxload.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>

static const char usage[] =
"usage: daxload pipe-bytes PATH\n"
"  Prints 'DAXLOAD op=pipe-bytes pid= path= bytes=' for the pipe at PATH\n"
"  (typically /proc/PID/fd/N; reading it needs the same rights as ptrace).\n";

int cmd_pipe_bytes(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t bytes;
	struct out o;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return EXIT_OK;
		}
		return bad_option(usage, argc, argv, c);
	}
	if (optind != argc - 1)
		return usage_error(usage, "need exactly one PATH");
	if (pipe_bytes_of(argv[optind], &bytes) < 0) {
		errsys(errno, "open/FIONREAD pipe");
		return EXIT_ERR;
	}
	out_begin(&o, "pipe-bytes", NULL);
	out_str(&o, "path", argv[optind]);
	out_kv(&o, "bytes", "%llu", (unsigned long long)bytes);
	out_emit(&o);
	return EXIT_OK;
}
