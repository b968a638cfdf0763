/* The one UTF-8 sanitiser of the JSON and Prometheus writers. Process
 * names and paths are bytes, not text: a byte that does not start a valid
 * UTF-8 sequence (stray continuation, overlong form, surrogate, above
 * U+10FFFF, cut short) is written as U+FFFD, so a JSON parser or a scrape
 * never rejects the whole document for one file name. */
#ifndef DAXTRACE_UTF8_H
#define DAXTRACE_UTF8_H

#include <stddef.h>
#include <stdio.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd"	/* U+FFFD */

/* Bytes of the valid sequence starting at s (1-4), 0 if none starts there. */
size_t utf8_seq_len(const unsigned char *s);

/* Write s to out as valid UTF-8. Each ASCII byte goes through escape: it
 * returns the text to write instead (e.g. "\\n"), or NULL to write the byte
 * itself. buf (8 bytes) is there for escapes it formats. */
typedef const char *(*utf8_escape_fn)(unsigned char c, char buf[8]);
void utf8_write(FILE *out, const char *s, utf8_escape_fn escape);

#endif
