/* Small shared helpers: errors, time, signals, number parsing. */
#ifndef DAXTRACE_UTIL_H
#define DAXTRACE_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "parse_num.h"

/* Exit codes shared by every subcommand. */
enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

extern const char daxtrace_version[];	/* generated at build: build/version.c */
extern const char *prog_name;		/* "daxtop", "daxleak" or "daxtrace" */
extern volatile sig_atomic_t exiting;	/* set by SIGINT/SIGTERM/SIGHUP */

void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: <message> (see --help)" on stderr; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define warn_msg(...) warnx_(__VA_ARGS__)

/* DAXTRACE_TIMING=1: "prog: start-up: PHASE done at N ms" on stderr, N
 * counted from main(); for finding where start-up time goes. */
void startup_mark(const char *phase);

void install_exit_signals(void);
uint64_t mono_ns(void);		/* CLOCK_MONOTONIC, same clock as bpf_ktime_get_ns */
double wall_seconds(void);
void sleep_interruptible(double seconds);

/* Strict parsers: whole string must be a number in range; return 0 or -1. */
/* "1", "0.5", "2s", "500ms": finite, 0 to SECONDS_MAX. Each option adds its
 * own bounds (an interval has a floor: below it a tool only spins). */
#define SECONDS_MAX 1e7		/* ~115 days */
int parse_seconds(const char *s, double *out);
/* -p/--pid: a process id that exists now. 0, or -1 with why (for the
 * tool's usage error) filled. */
int parse_live_pid(const char *s, uint32_t *pid, char *why, size_t len);

/* FNV-1a, 64-bit: start from FNV1A_INIT and fold in each byte. */
#define FNV1A_INIT 1469598103934665603ULL
static inline uint64_t fnv1a(uint64_t h, unsigned char c)
{
	return (h ^ c) * 1099511628211ULL;
}

bool is_root(void);
bool path_exists(const char *path);
/* Read a small file's first line (newline stripped) into buf; -1 if unreadable. */
int read_line(const char *path, char *buf, size_t len);
/* v in decimal, or "n/a" where it is not known (a count this kernel does
 * not keep): never a 0 that cannot be known. Returns buf. */
const char *count_or_na(char *buf, size_t len, bool known, uint64_t v);

#endif
