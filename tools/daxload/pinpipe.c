/* Page pins held by a pipe: vmsplice() without SPLICE_F_GIFT makes the
 * pipe buffers take references on the user pages (GUP), and those
 * references live until the pipe is read or closed. */
#include "daxload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
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

/* Send the pipe's two fds over a unix socket (SCM_RIGHTS). */
int pinpipe_send(int sock, const struct pinpipe *p)
{
	int fds[2] = { p->rfd, p->wfd };
	char b = 'p', ctl[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;

	memset(ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(sock, &m, 0) != 1) {
		errsys(errno, "sendmsg SCM_RIGHTS");
		return -1;
	}
	return 0;
}

/* Receive a pipe's two fds sent by pinpipe_send (bytes: what it holds). */
int pinpipe_recv(int sock, struct pinpipe *p)
{
	int fds[2];
	char b, ctl[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	ssize_t n;

	while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	c = n == 1 ? CMSG_FIRSTHDR(&m) : NULL;
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(fds))) {
		errmsg("recvmsg SCM_RIGHTS", "no pipe fds received (%s)",
		       n < 0 ? errno_name(errno) : "short message");
		return -1;
	}
	memcpy(fds, CMSG_DATA(c), sizeof(fds));
	p->rfd = fds[0];
	p->wfd = fds[1];
	p->bytes = pinpipe_queued(p->rfd);
	p->pipe_size = fcntl(p->wfd, F_GETPIPE_SZ);
	return 0;
}
