/* The HTTP responder's pure parts (see http.h): the request parser, the
 * router, status reasons and the --listen address parser. Unit-tested in
 * tests/unit/test_http.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "http.h"

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* End of the line starting at p (index of '\n'), or -1 if not there yet. */
static long line_end(const char *buf, size_t len, size_t p)
{
	const char *nl = memchr(buf + p, '\n', len - p);

	return nl ? nl - buf : -1;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && !strncasecmp(a, b, alen);
}

/* Request line: METHOD SP target SP HTTP/1.x [CR] LF */
static int parse_request_line(const char *buf, size_t end, struct http_req *r)
{
	size_t i = 0, n = end;

	if (n && buf[n - 1] == '\r')
		n--;
	while (i < n && is_tchar(buf[i]))
		i++;
	if (!i || i >= n || buf[i] != ' ' || i > 16)
		return 400;
	r->method = buf;
	r->method_len = i;
	r->target = buf + ++i;
	while (i < n && (unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f)
		i++;
	r->target_len = buf + i - r->target;
	if (!r->target_len || i >= n || buf[i] != ' ')
		return 400;
	i++;
	if (n - i != 8 || strncmp(buf + i, "HTTP/", 5) || buf[i + 6] != '.' ||
	    buf[i + 5] < '0' || buf[i + 5] > '9' || buf[i + 7] < '0' || buf[i + 7] > '9')
		return 400;
	if (buf[i + 5] != '1')
		return 505;
	r->minor = buf[i + 7] - '0';
	/* origin-form only ("*" and absolute-form are not for us) */
	if (r->target[0] != '/')
		return 400;
	return 200;
}

static int parse_header(const char *line, size_t n, struct http_req *r)
{
	size_t i = 0, vs;

	if (n && line[n - 1] == '\r')
		n--;
	if (line[0] == ' ' || line[0] == '\t')
		return 400;	/* obsolete line folding */
	while (i < n && is_tchar(line[i]))
		i++;
	if (!i || i >= n || line[i] != ':')
		return 400;	/* no name, or space before the colon */
	for (size_t k = i + 1; k < n; k++)
		if (((unsigned char)line[k] < 0x20 && line[k] != '\t') || line[k] == 0x7f)
			return 400;
	vs = i + 1;
	while (vs < n && (line[vs] == ' ' || line[vs] == '\t'))
		vs++;
	while (n > vs && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (ieq(line, i, "host")) {
		if (r->has_host)
			return 400;	/* more than one Host */
		r->has_host = true;
	} else if (ieq(line, i, "transfer-encoding")) {
		return 501;
	} else if (ieq(line, i, "content-length")) {
		if (vs == n)
			return 400;
		for (size_t k = vs; k < n; k++)
			if (line[k] < '0' || line[k] > '9')
				return 400;
		for (size_t k = vs; k < n; k++)
			if (line[k] != '0')
				return 413;	/* a body: GET takes none */
	}
	return 200;
}

int http_parse_request(const char *buf, size_t len, bool full, struct http_req *r)
{
	size_t p = 0;
	long e;
	int st;

	memset(r, 0, sizeof(*r));
	if (memchr(buf, 0, len))
		return 400;
	/* Tolerate one empty line before the request line (RFC 9112 2.2). */
	if (len == 1 && buf[0] == '\r')
		return full ? 400 : 0;
	if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
		p = 2;
	else if (len >= 1 && buf[0] == '\n')
		p = 1;
	e = line_end(buf, len, p);
	if (e < 0) {
		/* Reject a wrong start (TLS hello, binary) now, not at the timeout. */
		size_t i = p;

		while (i < len && i - p <= 16 && is_tchar(buf[i]))
			i++;
		if (i < len && (buf[i] != ' ' || i == p || i - p > 16))
			return 400;
		return full ? 414 : 0;
	}
	st = parse_request_line(buf + p, e - p, r);
	if (st != 200)
		return st;
	for (p = e + 1;; p = e + 1) {
		e = line_end(buf, len, p);
		if (e < 0)
			return full ? 431 : 0;
		if (e == (long)p || (e == (long)p + 1 && buf[p] == '\r'))
			break;	/* blank line: end of the header section */
		st = parse_header(buf + p, e - p, r);
		if (st != 200)
			return st;
	}
	if (r->minor >= 1 && !r->has_host)
		return 400;	/* HTTP/1.1 requires Host */
	r->head_len = e + 1;
	return 200;
}

enum http_route http_route(const struct http_req *r)
{
	size_t n = r->target_len;
	const char *q = memchr(r->target, '?', n);

	if (r->method_len != 3 || memcmp(r->method, "GET", 3))
		return ROUTE_BAD_METHOD;
	if (q)
		n = q - r->target;
	if (n == 8 && !memcmp(r->target, "/metrics", 8))
		return ROUTE_METRICS;
	if (n == 1)
		return ROUTE_INDEX;
	return ROUTE_NOT_FOUND;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

int http_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
		      char *err, size_t errlen)
{
	char host[64];
	const char *colon;
	unsigned long port;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(spec, ':');
	if (!colon) {
		snprintf(err, errlen, "bad listen address '%s': give ADDR:PORT, [V6ADDR]:PORT or :PORT", spec);
		return -1;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535 || colon[1] == '-' || colon[1] == '+') {
		snprintf(err, errlen, "bad port in listen address '%s': give 0..65535", spec);
		return -1;
	}
	hl = colon - spec;
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "bad listen address '%s': address too long", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = 0;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	if (!hl) {	/* all addresses: IPv6 socket, dual-stack */
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
bad:
	snprintf(err, errlen, "bad listen address '%s': give a numeric IPv4 address, [IPv6], "
		 "localhost or nothing before :PORT", spec);
	return -1;
}
