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
	uint64_t bytes;
	struct out o;
	const char *path;
	int rc = only_path_arg(argc, argv, usage, &path);

	if (rc >= 0)
		return rc;
	if (pipe_bytes_of(path, &bytes) < 0) {
		errsys(errno, "open/FIONREAD pipe");
		return EXIT_ERR;
	}
	out_begin(&o, "pipe-bytes", NULL);
	out_str(&o, "path", path);
	out_kv(&o, "bytes", "%llu", (unsigned long long)bytes);
	out_emit(&o);
	return EXIT_OK;
}
