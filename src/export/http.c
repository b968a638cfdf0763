/* Minimal GET-only HTTP/1.x responder; see http.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
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
	uint64_t opened_ms;	/* accept time: the oldest is closed first when full */
	size_t inlen;
	size_t headlen, off;	/* off: bytes of head + body sent */
	const char *body;	/* static text, or the metrics body */
	size_t bodylen;
	struct http_body *ref;	/* held while sending the metrics */
	bool writing;
	bool draining;		/* answered; reading to EOF so close sends no RST */
	bool eof;		/* the client sent FIN: nothing more to read */
	/* buffers last: a new connection clears only what is above */
	char head[512];		/* status line and headers */
	char in[HTTP_MAX_REQUEST];
};

/* --- the server --- */

#define NSLOTS (HTTP_MAX_CONNS + HTTP_REFUSE_SLOTS)
static const char TIMEOUT_408[] = "HTTP/1.1 408 Request Timeout\r\n"
	"Content-Length: 0\r\nConnection: close\r\n\r\n";
static const char BUSY_503[] = "HTTP/1.1 503 Service Unavailable\r\n"
	"Content-Length: 0\r\nConnection: close\r\n\r\n";

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
	s->conns = calloc(NSLOTS, sizeof(*s->conns));
	if (!s->conns) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < NSLOTS; i++)
		s->conns[i].fd = -1;
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
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
	s->nconns--;
}

/* Read what the client sent (nothing more is wanted), then close: closing
 * with unread input makes the kernel send a reset, which can destroy the
 * answer before the client reads it. */
static void close_quietly(int fd)
{
	char scratch[4096];

	shutdown(fd, SHUT_WR);
	while (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
	close(fd);
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
		if (n < 0) {	/* reset */
			conn_close(s, c);
			return;
		}
		if (n == 0) {	/* FIN: it may still read our answer */
			c->eof = true;
			break;
		}
		if (!c->inlen)	/* not idle: the whole exchange's time */
			c->deadline_ms = c->opened_ms + HTTP_TIMEOUT_MS;
		c->inlen += n;
	}
	st = http_parse_request(c->in, c->inlen, c->inlen == sizeof(c->in), &r);
	if (!st && c->eof && !c->inlen) {	/* connected and left */
		conn_close(s, c);
		return;
	}
	if (!st && c->eof)
		st = 400;	/* ended inside its request */
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
	count_status(s, st);
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
	if (c->eof) {	/* all read already: close sends a plain FIN */
		conn_close(s, c);
		return;
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

static struct http_conn *free_slot(struct http_server *s, int from, int to)
{
	for (int i = from; i < to; i++)
		if (s->conns[i].fd < 0)
			return &s->conns[i];
	return NULL;
}

/* Every slot taken: free the one held longest by a client that sent no
 * whole request (408), else by one already answered (it is reading to
 * EOF; closing it loses nothing). Slow or idle clients can so never lock
 * out a scrape; NULL when every slot is sending an answer. */
static struct http_conn *evict(struct http_server *s)
{
	struct http_conn *old = NULL;

	for (int pass = 0; pass < 2 && !old; pass++)
		for (int i = 0; i < HTTP_MAX_CONNS; i++) {
			struct http_conn *c = &s->conns[i];
			bool fits = pass ? c->draining : !c->writing && !c->draining;

			if (fits && (!old || c->opened_ms < old->opened_ms))
				old = c;
		}
	if (!old)
		return NULL;
	if (!old->draining) {
		send(old->fd, TIMEOUT_408, sizeof(TIMEOUT_408) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		s->stats.requests[5]++;
	}
	close_quietly(old->fd);
	old->fd = -1;
	body_put(old->ref);
	old->ref = NULL;
	s->nconns--;
	return old;
}

static void conn_open(struct http_server *s, struct http_conn *c, int fd, uint64_t now)
{
	memset(c, 0, offsetof(struct http_conn, head));
	c->fd = fd;
	c->opened_ms = now;
	c->deadline_ms = now + HTTP_IDLE_MS;
	s->nconns++;
}

static void accept_one(struct http_server *s, int fd)
{
	uint64_t now = now_ms();
	struct http_conn *c = free_slot(s, 0, HTTP_MAX_CONNS);

	s->stats.accepted++;
	if (!c)
		c = evict(s);
	if (c) {
		conn_open(s, c, fd, now);
		conn_read(s, c);	/* a scraper's request is usually here already */
		if (c->fd >= 0 && c->writing)
			conn_write(s, c);
		return;
	}
	/* Every slot is sending an answer: 503, from a slot kept for refusals
	 * so that the close comes after the client's request is read. */
	s->stats.rejected++;
	c = free_slot(s, HTTP_MAX_CONNS, NSLOTS);
	if (!c) {
		send(fd, BUSY_503, sizeof(BUSY_503) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close_quietly(fd);
		return;
	}
	conn_open(s, c, fd, now);
	c->deadline_ms = now + 1000;
	respond(s, c, 503);
	conn_write(s, c);
}

/* Out of file descriptors: the connection stays queued and poll reports
 * it again at once, for ever. Give up the spare descriptor to take it off
 * the queue and refuse it; without one, stop accepting for 100 ms. */
static void out_of_fds(struct http_server *s)
{
	int fd = -1;

	if (s->spare_fd >= 0) {
		close(s->spare_fd);
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			s->stats.accepted++;
			s->stats.rejected++;
			send(fd, BUSY_503, sizeof(BUSY_503) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close_quietly(fd);
		}
		s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 || s->spare_fd < 0)
		s->accept_pause_ms = now_ms() + 100;
}

static void accept_all(struct http_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0 && (errno == EMFILE || errno == ENFILE))
			out_of_fds(s);
		if (fd < 0)
			return;	/* EAGAIN: all taken */
		accept_one(s, fd);
	}
}

void http_poll(struct http_server *s, int timeout_ms)
{
	struct pollfd pfd[NSLOTS + 1];
	int map[NSLOTS + 1], n = 0;
	uint64_t now = now_ms();

	/* Expire slow clients first; their deadline may shorten the wait. */
	for (int i = 0; i < NSLOTS; i++) {
		struct http_conn *c = &s->conns[i];

		if (c->fd < 0)
			continue;
		if (now >= c->deadline_ms) {
			bool refusal = i >= HTTP_MAX_CONNS;

			if (!c->writing && !c->draining)
				send(c->fd, TIMEOUT_408, sizeof(TIMEOUT_408) - 1,
				     MSG_NOSIGNAL | MSG_DONTWAIT);
			if (!c->draining && !refusal)
				s->stats.requests[5]++;
			conn_close(s, c);
			continue;
		}
		if ((int64_t)(c->deadline_ms - now) < timeout_ms)
			timeout_ms = c->deadline_ms - now;
		pfd[n].fd = c->fd;
		pfd[n].events = c->writing ? POLLOUT : POLLIN;
		map[n++] = i;
	}
	if (s->lfd >= 0 && now >= s->accept_pause_ms) {
		pfd[n].fd = s->lfd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
	} else if (s->lfd >= 0 && (int64_t)(s->accept_pause_ms - now) < timeout_ms) {
		timeout_ms = s->accept_pause_ms - now;
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
	for (int i = 0; s->conns && i < NSLOTS; i++)
		if (s->conns[i].fd >= 0)
			conn_close(s, &s->conns[i]);
	free(s->conns);
	s->conns = NULL;
	if (s->lfd >= 0)
		close(s->lfd);
	s->lfd = -1;
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	s->spare_fd = -1;
	body_put(s->metrics);
	s->metrics = NULL;
}
