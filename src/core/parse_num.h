/* Whole-string unsigned number parsing, shared by daxtrace and the
 * workload generator (tools/daxload), which links this one file. */
#ifndef DAXTRACE_PARSE_NUM_H
#define DAXTRACE_PARSE_NUM_H
#include <stdint.h>

/* Decimal, 0x hex or 0 octal; no sign, no trailing bytes. 0 ok, -1 bad. */
int parse_u64(const char *s, uint64_t *out);

#endif
