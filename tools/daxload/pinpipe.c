/* Page pins held by a pipe: vmsplice() without SPLICE_F_GIFT makes the
 * pipe buffers take references on the user pages (GUP), and those
 * references live until the pipe is read or closed. */
#include "daxload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

static int pipe_max_size(void)
{
	FILE *fp = fopen("/proc/sys/fs/pipe-max-size", "re");
	int v = -1;

	if (fp) {
		if (fscanf(fp, "%d", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v;
}

int pinpipe_fill(struct pinpipe *p, void *va, uint64_t len)
{
	int fds[2];
	uint64_t want = PAGE_4K, done = 0;

	memset(p, 0, sizeof(*p));
	p->rfd = p->wfd = -1;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		errsys(errno, "pipe");
		return -1;
	}
	p->rfd = fds[0];
	p->wfd = fds[1];
	/* One pipe slot per page: round up to the power of two the kernel uses. */
	while (want < len)
		want <<= 1;
	if (want > (uint64_t)INT32_MAX) {
		errmsg("pipe size", "%llu bytes cannot fit one pipe; use fewer --pages",
		       (unsigned long long)len);
		return -1;
	}
	p->pipe_size = fcntl(p->wfd, F_SETPIPE_SZ, (int)want);
	if (p->pipe_size < 0) {
		int err = errno;

		if (err == EPERM || err == EBUSY)
			errmsg("F_SETPIPE_SZ", "cannot grow the pipe to %llu bytes (%s): above "
			       "/proc/sys/fs/pipe-max-size (%d) or the per-user pipe limit; "
			       "grant CAP_SYS_RESOURCE, raise fs.pipe-max-size, or use fewer --pages",
			       (unsigned long long)want, errno_name(err), pipe_max_size());
		else
			errsys(err, "F_SETPIPE_SZ");
		return -1;
	}
	/* NONBLOCK: a pipe that is too small must fail, not hang forever. */
	while (done < len) {
		struct iovec iov = { .iov_base = (char *)va + done, .iov_len = len - done };
		ssize_t n = vmsplice(p->wfd, &iov, 1, SPLICE_F_NONBLOCK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				errmsg("vmsplice", "pipe full after %llu of %llu bytes (pipe size "
				       "%d); use fewer --pages", (unsigned long long)done,
				       (unsigned long long)len, p->pipe_size);
			else
				errsys(errno, "vmsplice");
			return -1;
		}
		if (n == 0)
			break;
		done += (uint64_t)n;
	}
	p->bytes = pinpipe_queued(p->rfd);
	return 0;
}

uint64_t pinpipe_queued(int rfd)
{
	int n = 0;

	if (ioctl(rfd, FIONREAD, &n) < 0)
		return 0;
	return (uint64_t)n;
}

/* Read everything out: that drops the page references. */
uint64_t pinpipe_drain(struct pinpipe *p)
{
	static char buf[64 * 1024];
	uint64_t total = 0;
	int fl = fcntl(p->rfd, F_GETFL);

	if (fl >= 0)
		fcntl(p->rfd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		ssize_t n = read(p->rfd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (uint64_t)n;
	}
	return total;
}

void pinpipe_close(struct pinpipe *p)
{
	if (p->rfd >= 0)
		close(p->rfd);
	if (p->wfd >= 0)
		close(p->wfd);
	p->rfd = p->wfd = -1;
}

/* Bytes queued in a pipe named by /proc/PID/fd/N: opening that path opens
 * the same pipe, so FIONREAD sees what another process holds. */
int pipe_bytes_of(const char *path, uint64_t *bytes)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int n = 0;

	if (fd < 0)
		return -1;
	if (ioctl(fd, FIONREAD, &n) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	close(fd);
	*bytes = (uint64_t)n;
	return 0;
}
