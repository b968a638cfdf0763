/* daxtrace: one static binary, a table of subcommands. Called as daxtop
 * or daxleak (a link to this binary) it runs that subcommand directly. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "stdio_guard.h"
#include "util.h"

struct command {
	const char *name;
	const char *alias;	/* argv[0] that selects it, e.g. "daxtop" */
	int (*fn)(int argc, char **argv);
	const char *help;
};

static int cmd_version(int argc, char **argv)
{
	printf("daxtrace %s\n", daxtrace_version);
	return EXIT_OK;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "top", "daxtop", cmd_top, "live DAX activity per process and file" },
	{ "leak", "daxleak", cmd_leak, "DAX page reference leaks and stuck break_layouts" },
	{ "export", NULL, cmd_export, "serve Prometheus metrics (--listen, --textfile)" },
	{ "features", NULL, cmd_features, "kernel, BTF, refcount era and which hooks attach how" },
	{ "version", NULL, cmd_version, "print the version" },
	{ "bench-floor", NULL, cmd_bench_floor, "internal: bare fs_dax counter and bpf_stats for make bench" },
	{ "help", NULL, cmd_help, "this list" },
};

#define NCOMMANDS (int)(sizeof(commands) / sizeof(commands[0]))

static int cmd_help(int argc, char **argv)
{
	printf("Usage: daxtrace COMMAND [OPTIONS]   (COMMAND --help for its options)\n\n");
	for (int i = 0; i < NCOMMANDS; i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].help);
	printf("\nAs daxtop or daxleak (links to this binary) it runs top or leak.\n");
	return EXIT_OK;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
	const char *self = base_name(argv[0]);

	stdio_guard_start();
	setvbuf(stdout, NULL, _IOLBF, 0);
	startup_mark("main");
	for (int i = 0; i < NCOMMANDS; i++)
		if (commands[i].alias && !strcmp(self, commands[i].alias)) {
			prog_name = commands[i].alias;
			return commands[i].fn(argc, argv);
		}
	if (argc < 2) {
		cmd_help(0, NULL);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(0, NULL);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	for (int i = 0; i < NCOMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name)) {
			/* Messages name the tool the user thinks of: daxtop, daxleak. */
			prog_name = commands[i].alias ? commands[i].alias : "daxtrace";
			return commands[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "daxtrace: unknown command '%s' (try daxtrace help)\n", argv[1]);
	return EXIT_USAGE;
}
