/* Minimal GET-only HTTP/1.x responder; see http.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "http.h"
#include "prom.h"

struct http_body {
	char *data;
	size_t len;
	int refs;
};

struct http_conn {
	int fd;			/* -1: free slot */
	uint64_t deadline_ms;
	size_t inlen;
	char in[HTTP_MAX_REQUEST];
	char head[512];		/* status line and headers */
	size_t headlen, off;	/* off: bytes of head + body sent */
	const char *body;	/* static text, or the metrics body */
	size_t bodylen;
	struct http_body *ref;	/* held while sending the metrics */
	bool writing;
	bool draining;		/* answered; reading to EOF so close sends no RST */
};

/* --- parsing (pure, unit-tested) --- */

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

/* --- the server --- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

int http_listen(struct http_server *s, const struct sockaddr_storage *ss, socklen_t len,
		char *err, size_t errlen)
{
	struct sockaddr_storage got;
	socklen_t glen = sizeof(got);
	int one = 1, zero = 0, fd;
	char want[80];

	memset(s, 0, sizeof(*s));
	s->lfd = -1;
	fmt_addr(ss, want, sizeof(want));
	s->conns = calloc(HTTP_MAX_CONNS, sizeof(*s->conns));
	if (!s->conns) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < HTTP_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", want, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 128)) {
		int e = errno;

		close(fd);
		snprintf(err, errlen, "cannot listen on %s: %s%s", want, strerror(e),
			 e == EADDRINUSE ? " (another exporter running?)" :
			 e == EADDRNOTAVAIL ? " (not an address of this machine)" : "");
		return -1;
	}
	s->lfd = fd;
	if (!getsockname(fd, (struct sockaddr *)&got, &glen))
		fmt_addr(&got, s->bound, sizeof(s->bound));
	else
		snprintf(s->bound, sizeof(s->bound), "%s", want);
	return 0;
}

static void body_put(struct http_body *b)
{
	if (b && --b->refs == 0) {
		free(b->data);
		free(b);
	}
}

int http_set_metrics(struct http_server *s, const char *data, size_t len)
{
	struct http_body *b = calloc(1, sizeof(*b));

	if (!b || !(b->data = malloc(len ? len : 1))) {
		free(b);
		return -1;
	}
	memcpy(b->data, data, len);
	b->len = len;
	b->refs = 1;
	body_put(s->metrics);
	s->metrics = b;
	return 0;
}

static void conn_close(struct http_server *s, struct http_conn *c)
{
	close(c->fd);
	body_put(c->ref);
	c->ref = NULL;
	c->fd = -1;
	c->writing = false;
	c->draining = false;
	s->nconns--;
}

static void count_status(struct http_server *s, int status)
{
	int cls = status / 100;

	s->stats.requests[cls >= 2 && cls <= 5 ? cls - 1 : 0]++;
}

static const char index_html[] =
	"<html><head><title>daxtrace export</title></head><body>\n"
	"<h1>daxtrace export</h1>\n<p><a href=\"/metrics\">Metrics</a></p>\n</body></html>\n";

/* Queue a response; the connection switches to writing. */
static void respond(struct http_server *s, struct http_conn *c, int status)
{
	const char *ctype = "text/plain; charset=utf-8";
	char msg[96] = "";
	const char *extra = "";

	c->body = NULL;
	c->bodylen = 0;
	if (status == 200 && c->ref) {
		c->body = c->ref->data;
		c->bodylen = c->ref->len;
		ctype = PROM_CONTENT_TYPE;
	} else if (status == 200) {
		c->body = index_html;
		c->bodylen = sizeof(index_html) - 1;
		ctype = "text/html; charset=utf-8";
	}
	if (status == 405)
		extra = "Allow: GET\r\n";
	if (status != 200) {
		/* static reason text as the body */
		snprintf(msg, sizeof(msg), "%d %s\n", status, http_reason(status));
		c->body = NULL;
	}
	c->headlen = snprintf(c->head, sizeof(c->head),
			      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			      "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n%s",
			      status, http_reason(status), ctype,
			      status == 200 ? c->bodylen : strlen(msg), extra,
			      status == 200 ? "" : msg);
	if (c->headlen >= sizeof(c->head))
		c->headlen = sizeof(c->head) - 1;
	c->off = 0;
	c->writing = true;
	count_status(s, status);
}

static void conn_read(struct http_server *s, struct http_conn *c)
{
	struct http_req r;
	ssize_t n;
	int st;

	for (;;) {
		size_t room = sizeof(c->in) - c->inlen;

		if (!room)
			break;
		n = recv(c->fd, c->in + c->inlen, room, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {	/* closed before a whole request, or reset */
			conn_close(s, c);
			return;
		}
		c->inlen += n;
	}
	st = http_parse_request(c->in, c->inlen, c->inlen == sizeof(c->in), &r);
	if (!st)
		return;		/* wait for more */
	if (st == 200) {
		switch (http_route(&r)) {
		case ROUTE_METRICS:
			c->ref = s->metrics;
			if (c->ref)
				c->ref->refs++;
			else
				st = 503;	/* no collection yet */
			break;
		case ROUTE_INDEX: break;
		case ROUTE_NOT_FOUND: st = 404; break;
		case ROUTE_BAD_METHOD: st = 405; break;
		}
	}
	respond(s, c, st);
}

static void conn_write(struct http_server *s, struct http_conn *c)
{
	while (c->off < c->headlen + c->bodylen) {
		const char *p;
		size_t left;
		ssize_t n;

		if (c->off < c->headlen) {
			p = c->head + c->off;
			left = c->headlen - c->off;
		} else {
			p = c->body + (c->off - c->headlen);
			left = c->headlen + c->bodylen - c->off;
		}
		n = send(c->fd, p, left, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(s, c);
			return;
		}
		c->off += n;
	}
	/* Sent. Closing with unread input would reset the connection and
	 * could destroy the answer in flight: half-close, read to EOF. */
	shutdown(c->fd, SHUT_WR);
	c->writing = false;
	c->draining = true;
	if (c->deadline_ms > now_ms() + 1000)
		c->deadline_ms = now_ms() + 1000;
}

static void conn_drain(struct http_server *s, struct http_conn *c)
{
	char scratch[4096];

	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(s, c);
		return;
	}
}

static void accept_all(struct http_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct http_conn *c = NULL;

		if (fd < 0)
			return;	/* EAGAIN, or out of fds: retry next round */
		s->stats.accepted++;
		if (s->nconns >= HTTP_MAX_CONNS) {
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
				"Content-Length: 0\r\nConnection: close\r\n\r\n";

			send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			s->stats.rejected++;
			continue;
		}
		for (int i = 0; i < HTTP_MAX_CONNS; i++)
			if (s->conns[i].fd < 0) {
				c = &s->conns[i];
				break;
			}
		c->fd = fd;
		c->inlen = 0;
		c->writing = false;
		c->draining = false;
		c->ref = NULL;
		c->deadline_ms = now_ms() + HTTP_TIMEOUT_MS;
		s->nconns++;
	}
}

void http_poll(struct http_server *s, int timeout_ms)
{
	struct pollfd pfd[HTTP_MAX_CONNS + 1];
	int map[HTTP_MAX_CONNS + 1], n = 0;
	uint64_t now = now_ms();

	/* Expire slow clients first; their deadline may shorten the wait. */
	for (int i = 0; i < HTTP_MAX_CONNS; i++) {
		struct http_conn *c = &s->conns[i];

		if (c->fd < 0)
			continue;
		if (now >= c->deadline_ms) {
			static const char slow[] = "HTTP/1.1 408 Request Timeout\r\n"
				"Content-Length: 0\r\nConnection: close\r\n\r\n";

			if (!c->writing && !c->draining) {
				send(c->fd, slow, sizeof(slow) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
				s->stats.requests[5]++;
			} else if (c->writing) {
				s->stats.requests[5]++;
			}
			conn_close(s, c);
			continue;
		}
		if ((int64_t)(c->deadline_ms - now) < timeout_ms)
			timeout_ms = c->deadline_ms - now;
		pfd[n].fd = c->fd;
		pfd[n].events = c->writing ? POLLOUT : POLLIN;
		map[n++] = i;
	}
	if (s->lfd >= 0) {
		pfd[n].fd = s->lfd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
	}
	if (poll(pfd, n, timeout_ms < 0 ? 0 : timeout_ms) <= 0)
		return;
	for (int k = 0; k < n; k++) {
		struct http_conn *c;

		if (!pfd[k].revents)
			continue;
		if (map[k] < 0) {
			accept_all(s);
			continue;
		}
		c = &s->conns[map[k]];
		if (c->fd < 0)
			continue;
		if (c->draining) {
			conn_drain(s, c);
			continue;
		}
		if (!c->writing)
			conn_read(s, c);
		if (c->fd >= 0 && c->writing)
			conn_write(s, c);
	}
}

void http_close(struct http_server *s)
{
	for (int i = 0; s->conns && i < HTTP_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			conn_close(s, &s->conns[i]);
	free(s->conns);
	s->conns = NULL;
	if (s->lfd >= 0)
		close(s->lfd);
	s->lfd = -1;
	body_put(s->metrics);
	s->metrics = NULL;
}
