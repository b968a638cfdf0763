/* UTF-8 validation and the writers' shared escaping loop; see utf8.h. */
#include "utf8.h"

size_t utf8_seq_len(const unsigned char *s)
{
	size_t n;
	unsigned int cp, min;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;	/* continuation byte, 0xc0/0xc1 (overlong), 0xf5+ */
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* includes the terminating NUL: cut short */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, beyond Unicode, surrogate */
	return n;
}

void utf8_write(FILE *out, const char *s, utf8_escape_fn escape)
{
	const unsigned char *p = (const unsigned char *)s;
	char buf[8];

	while (p && *p) {
		size_t n = utf8_seq_len(p);
		const char *e;

		if (!n) {
			fputs(UTF8_REPLACEMENT, out);
			p++;
		} else if (n == 1) {
			e = escape ? escape(*p, buf) : NULL;
			e ? fputs(e, out) : fputc(*p, out);
			p++;
		} else {
			fwrite(p, 1, n, out);
			p += n;
		}
	}
}
