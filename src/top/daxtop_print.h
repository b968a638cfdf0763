/* daxtop text and JSON renderers. */
#ifndef DAXTRACE_DAXTOP_PRINT_H
#define DAXTRACE_DAXTOP_PRINT_H

#include <stdbool.h>
#include <stdio.h>
#include "daxtop_session.h"
#include "util.h"

const char *daxtop_columns(void);
void daxtop_header_line(const struct daxtop_ctx *c, const struct snapshot *cur,
			const struct snapshot *base, char *buf, size_t len);
void daxtop_format_row(const struct daxtop_ctx *c, const struct view_row *v,
		       char *buf, size_t len);
void daxtop_print_text(FILE *out, const struct daxtop_ctx *c, const struct snapshot *cur,
		       const struct snapshot *base, bool total, bool hist);
void daxtop_print_json(FILE *out, const struct daxtop_ctx *c, const struct snapshot *cur,
		       const struct snapshot *base, bool total, bool hist);
/* Interactive screen; returns when the user quits or `exiting` is set. */
int daxtop_tui(struct daxtop_ctx *c, double duration_s);

#endif
