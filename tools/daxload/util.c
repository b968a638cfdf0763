/* Small helpers: number parsing, clocks, EINTR-safe I/O, holding. */
#include "daxload.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


/* Bytes with optional binary suffix: 4096, 4k, 2m, 1g (also KiB/MiB/GiB). */
int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mul = 1ULL << 10; break;
		case 'm': case 'M': mul = 1ULL << 20; break;
		case 'g': case 'G': mul = 1ULL << 30; break;
		case 't': case 'T': mul = 1ULL << 40; break;
		default: return -1;
		}
		end++;
		if (*end && strcasecmp(end, "ib") && strcasecmp(end, "b"))
			return -1;
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* Seconds as a decimal; "inf" or "forever" hold until a signal (-1). */
int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	if (!strcasecmp(s, "inf") || !strcasecmp(s, "forever")) {
		*out = -1;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || isnan(v) || isinf(v))
		return -1;
	*out = v;
	return 0;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write to PATH.tmp then rename, so a watcher never sees a partial file. */
int write_file_atomic(const char *path, const char *text)
{
	char tmp[4200];
	int fd, err;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write_full(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	if (rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

pid_t waitpid_eintr(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Block the release signals so hold_wait() can take them synchronously
 * (and a signal arriving before the hold starts is not lost). */
void hold_signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

const char *hold_wait(double secs)
{
	sigset_t set;
	uint64_t deadline = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (secs >= 0)
		deadline = now_ns() + (uint64_t)(secs * 1e9);
	for (;;) {
		struct timespec ts, *tsp = NULL;
		int sig;

		if (secs >= 0) {
			uint64_t now = now_ns();

			if (now >= deadline)
				return "timeout";
			ts.tv_sec = (time_t)((deadline - now) / 1000000000ULL);
			ts.tv_nsec = (long)((deadline - now) % 1000000000ULL);
			tsp = &ts;
		}
		sig = tsp ? sigtimedwait(&set, NULL, tsp) : sigwaitinfo(&set, NULL);
		if (sig == SIGUSR1)
			return "sigusr1";
		if (sig == SIGINT)
			return "sigint";
		if (sig == SIGTERM)
			return "sigterm";
		if (sig < 0 && errno != EINTR && errno != EAGAIN)
			return "error";
	}
}

pid_t fork_linked(int fds[2], bool sock)
{
	pid_t child;

	if ((sock ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) : pipe(fds)) < 0) {
		errsys(errno, sock ? "socketpair" : "pipe");
		return -1;
	}
	child = fork();
	if (child < 0) {
		errsys(errno, "fork");
		close(fds[0]);
		close(fds[1]);
	}
	return child;
}
