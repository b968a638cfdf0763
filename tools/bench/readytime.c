/* readytime: exec a tracing tool, time it from just before fork/exec to the
 * first output line containing PATTERN (stdout and stderr merged), keep it
 * running HOLD seconds, then SIGINT it and report its peak RSS.
 *
 *   readytime [-p PATTERN] [-H HOLD_S] [-t TIMEOUT_S] -- CMD [ARGS...]
 *
 * Prints one line: "ready_ms=F hwm_kb=N maxrss_kb=N rc=N lines=N".
 * ready_ms=-1 when PATTERN never showed up within TIMEOUT_S.
 * hwm_kb is VmHWM read just before the SIGINT, maxrss_kb the kernel's
 * rusage peak over the whole life of the process. Part of tools/bench. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long hwm_kb(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	const char *pat = "ready";
	double hold = 1, timeout = 30, t0, tready = -1, tend = 0;
	char buf[65536], acc[8192];
	size_t acclen = 0;
	int p[2], c, st = 0, lines = 0;
	bool eof = false, signalled = false;
	long hwm = -1;
	struct rusage ru = {};
	pid_t pid;

	while ((c = getopt(argc, argv, "+p:H:t:")) != -1) {
		switch (c) {
		case 'p': pat = optarg; break;
		case 'H': hold = atof(optarg); break;
		case 't': timeout = atof(optarg); break;
		default: goto usage;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		goto usage;
	if (pipe(p) < 0)
		return perror("pipe"), 1;
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		return perror("fork"), 1;
	if (!pid) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "readytime: exec %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while (!eof) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		double t = now_s(), wait_s;
		ssize_t n;

		if (!signalled) {
			double deadline = tready >= 0 ? tready + hold : t0 + timeout;

			if (t >= deadline) {
				hwm = hwm_kb(pid);
				kill(pid, SIGINT);
				signalled = true;
				tend = t;
				continue;
			}
			wait_s = deadline - t;
		} else {
			if (t - tend > 30)	/* it ignores SIGINT: do not hang the bench */
				kill(pid, SIGKILL);
			wait_s = 1;
		}
		if (poll(&pf, 1, (int)(wait_s * 1000) + 1) <= 0)
			continue;
		n = read(p[0], buf, sizeof(buf));
		if (n <= 0) {
			eof = true;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (acclen < sizeof(acc) - 1)
					acc[acclen++] = buf[i];
				continue;
			}
			acc[acclen] = 0;
			lines++;
			if (tready < 0 && strstr(acc, pat))
				tready = now_s();
			if (getenv("READYTIME_ECHO"))
				fprintf(stderr, "%s\n", acc);
			acclen = 0;
		}
	}
	if (!signalled) {
		kill(pid, SIGINT);
		hwm = hwm < 0 ? -1 : hwm;
	}
	wait4(pid, &st, 0, &ru);
	printf("ready_ms=%.1f hwm_kb=%ld maxrss_kb=%ld rc=%d lines=%d\n",
	       tready >= 0 ? (tready - t0) * 1000 : -1.0, hwm, ru.ru_maxrss,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), lines);
	return 0;
usage:
	fprintf(stderr, "usage: readytime [-p PATTERN] [-H HOLD_S] [-t TIMEOUT_S] -- CMD [ARGS...]\n");
	return 2;
}
