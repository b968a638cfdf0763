/* Weak placeholders for subcommands not linked into this build. */
#include <stdio.h>
#include "commands.h"
#include "util.h"

/* Placeholders until the daxleak subcommand is linked in. */
__attribute__((weak)) int cmd_leak(int argc, char **argv)
{
	warn_msg("daxleak is not part of this build");
	return EXIT_ERR;
}

__attribute__((weak)) int daxleak_features(struct json *j, FILE *out)
{
	return 0;
}
