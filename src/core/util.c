#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "util.h"

const char *prog_name = "daxtrace";
volatile sig_atomic_t exiting;

/* "prog: message<tail>" on stderr: the one shape of every message. */
static void vmessage(const char *tail, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	fputs(tail, stderr);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("\n", fmt, ap);
	va_end(ap);
}

void startup_mark(const char *phase)
{
	static uint64_t t0;
	static int on = -1;

	if (on < 0) {
		on = getenv("DAXTRACE_TIMING") != NULL;
		t0 = mono_ns();
	}
	if (on)
		fprintf(stderr, "%s: start-up: %s done at %.2f ms\n", prog_name, phase,
			(mono_ns() - t0) / 1e6);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(" (see --help)\n", fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

static void on_exit_signal(int sig)
{
	exiting = 1;
}

void install_exit_signals(void)
{
	struct sigaction sa = { .sa_handler = on_exit_signal };

	/* No SA_RESTART: let sleeps and reads return early on a signal. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_interruptible(double seconds)
{
	struct timespec ts;

	if (!(seconds > 0))	/* NaN too */
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - ts.tv_sec) * 1e9);
	/* A signal ends the sleep early; the caller checks `exiting`. */
	nanosleep(&ts, NULL);
}


int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	/* inf, nan and 1e308 parse as numbers: no interval or duration. */
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	if (!strcmp(end, "ms"))
		v /= 1000;
	else if (*end && strcmp(end, "s"))
		return -1;
	if (v > SECONDS_MAX)
		return -1;
	*out = v;
	return 0;
}

bool is_root(void)
{
	return geteuid() == 0;
}

bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int parse_live_pid(const char *s, uint32_t *pid, char *why, size_t len)
{
	char proc[64];
	uint64_t v;

	if (parse_u64(s, &v) || !v || v > 0x3fffffff) {
		snprintf(why, len, "bad pid '%s': give a process id", s);
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/%llu", (unsigned long long)v);
	if (!path_exists(proc)) {
		snprintf(why, len, "no process with pid %s", s);
		return -1;
	}
	*pid = (uint32_t)v;
	return 0;
}

const char *count_or_na(char *buf, size_t len, bool known, uint64_t v)
{
	if (known)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "n/a");
	return buf;
}
