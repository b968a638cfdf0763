/* Safe standard streams and stdout write errors; see stdio_guard.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stdio_guard.h"
#include "util.h"

static int write_err;	/* errno of the first failed write to stdout, 0 if none */

static void fail(int err)
{
	if (!write_err)
		write_err = err;
	exiting = 1;	/* nothing more can be shown: let loops end */
}

/* stdout's writes when it is not a terminal (ncurses needs the real stream
 * there): the failure is seen when it happens, with its errno. */
static ssize_t guarded_write(void *cookie, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, buf + off, len - off);

		/* A signal while blocked on a full pipe: retry, unless it asked us
		 * to stop (then the rest is dropped, as the user wanted: no error). */
		if (n < 0 && errno == EINTR && !exiting)
			continue;
		if (n < 0 && errno == EINTR)
			return len;
		if (n <= 0) {
			fail(n < 0 ? errno : EIO);
			return 0;	/* fopencookie: 0 is the error return */
		}
		off += n;
	}
	return len;
}

static void check_at_exit(void)
{
	errno = 0;
	if (fflush(stdout) || ferror(stdout))
		fail(errno ? errno : EIO);
	if (!write_err)
		return;
	warn_msg("cannot write to standard output: %s (check where it is redirected)",
		 strerror(write_err));
	_exit(EXIT_ERR);	/* from an atexit handler: exit() may not be called again */
}

void stdio_guard_start(void)
{
	FILE *f;

	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
			/* the lowest free fd: this one */
			open("/dev/null", fd == 2 ? O_WRONLY : O_RDONLY);
	atexit(check_at_exit);
	if (isatty(STDOUT_FILENO))
		return;
	f = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = guarded_write });
	if (!f)
		return;
	stdout = f;
}
