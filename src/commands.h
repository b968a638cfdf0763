/* Subcommands of the one daxtrace binary. Each returns an exit code:
 * 0 ok, 1 error, 2 bad usage. */
#ifndef DAXTRACE_COMMANDS_H
#define DAXTRACE_COMMANDS_H

#include <stdio.h>
#include "json.h"

int cmd_top(int argc, char **argv);
int cmd_leak(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_bench_floor(int argc, char **argv);	/* internal: tools/bench */

/* Load and attach with defaults, report each hook's method, detach.
 * Writes a "name": [...] member into j when j is set, else a table. */
int daxtop_features(struct json *j, FILE *out);
int daxleak_features(struct json *j, FILE *out);

#endif
