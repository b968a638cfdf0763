/* Whole-string number parsing (see parse_num.h). Depends on libc only:
 * tools/daxload builds it in too. */
#include <errno.h>
#include <stdlib.h>
#include "parse_num.h"

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}
