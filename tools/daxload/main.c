/* daxload entry point: pick the command, leave the rest to it. */
#include "daxload.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage_main[] =
"usage: daxload COMMAND [OPTIONS] ARGS   (daxload COMMAND --help for details)\n"
"\n"
"Drives Linux FS DAX on purpose and prints what it did as\n"
"'DAXLOAD op=NAME key=value ...' lines on stdout.\n"
"\n"
"commands:\n"
"  check PATH         is PATH in DAX mode? (exit 0 yes, 1 no)\n"
"  fault FILE         map FILE and touch every 4 KiB page (PMD or PTE layout)\n"
"  pin FILE           hold pages pinned in a pipe via vmsplice()\n"
"  truncate FILE      ftruncate and report how long it blocked\n"
"  punch FILE         punch a hole and report how long it blocked\n"
"  evict FILE         unlink a file while its pages are pinned\n"
"  mixed DIR          N processes doing fault loops on their own files\n"
"  loop FILE          map/touch/unmap repeatedly for a benchmark\n"
"  pipe-bytes PATH    bytes queued in a pipe (e.g. /proc/PID/fd/N)\n"
"\n"
"exit: 0 ok, 1 error (or check: not DAX), 2 bad usage\n";

struct command {
	const char *name;
	int (*fn)(int, char **);
};

static const struct command commands[] = {
	{ "check", cmd_check },
	{ "fault", cmd_fault },
	{ "pin", cmd_pin },
	{ "truncate", cmd_truncate },
	{ "punch", cmd_punch },
	{ "evict", cmd_evict },
	{ "mixed", cmd_mixed },
	{ "loop", cmd_loop },
	{ "pipe-bytes", cmd_pipe_bytes },
};

int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "daxload %s: ", g_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return EXIT_USAGE;
}

/* getopt_long returned '?': name the offending argument. */
int bad_option(const char *usage, int argc, char **argv, int opt)
{
	const char *arg = (optind > 0 && optind - 1 < argc) ? argv[optind - 1] : "?";

	(void)opt;
	return usage_error(usage, "bad option '%s' (unknown, or missing its value)", arg);
}

int only_path_arg(int argc, char **argv, const char *usage, const char **path)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
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
	*path = argv[optind];
	return -1;
}

int main(int argc, char **argv)
{
	/* Writes to a closed pipe should fail with EPIPE, not kill a holder. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			g_cmd = commands[i].name;
			opterr = 0;	/* we print our own messages */
			optind = 1;
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "daxload: unknown command '%s'\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}
