/* tests/fields: each writer run once on made-up data that reaches every key. */
#ifndef DAXTRACE_FIELDS_RENDER_H
#define DAXTRACE_FIELDS_RENDER_H

#include <stdio.h>

int render_export(FILE *out, int split, void *leak_state);	/* render_export.c */
void *render_leak_state(void);					/* render_leaksrc.c */

#endif
