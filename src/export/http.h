/* A minimal, hardened HTTP/1.x responder for `daxtrace export`: GET only,
 * one request per connection (Connection: close), single-threaded and
 * poll()-driven, non-blocking sockets, bounded connections, request size
 * cap and a per-connection deadline against slow clients. It serves one
 * body (the last rendered metrics) at /metrics and a small index at /.
 * Why not libmicrohttpd: see docs/daxtrace-export.8 (DESIGN). */
#ifndef DAXTRACE_HTTP_H
#define DAXTRACE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HTTP_MAX_REQUEST	8192	/* request line + headers, bytes */
#define HTTP_MAX_CONNS		64	/* connections being served */
#define HTTP_REFUSE_SLOTS	8	/* more slots, only for 503 answers (see accept_one) */
#define HTTP_TIMEOUT_MS		5000	/* whole exchange, from accept to last byte */
#define HTTP_IDLE_MS		2000	/* a connection that sent nothing by then is closed */

/* A parsed request; strings point into the caller's buffer. */
struct http_req {
	const char *method;
	size_t method_len;
	const char *target;	/* origin-form path, query included */
	size_t target_len;
	int minor;		/* HTTP/1.minor */
	bool has_host;
	size_t head_len;	/* bytes up to and including the blank line */
};

/* Parse what has arrived so far. `full` says the buffer is at its cap.
 * Returns 0 when more bytes are needed, 200 when a complete request with
 * valid syntax is in r, else the status to answer with: 400 malformed,
 * 413 a body was announced (we take none), 414 request line too long,
 * 431 headers too large, 501 Transfer-Encoding, 505 not HTTP/1.x. */
int http_parse_request(const char *buf, size_t len, bool full, struct http_req *r);

enum http_route { ROUTE_METRICS, ROUTE_INDEX, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };
/* Only GET: anything else is ROUTE_BAD_METHOD (405). Query strings are ignored. */
enum http_route http_route(const struct http_req *r);
const char *http_reason(int status);

/* "ADDR:PORT", "[V6ADDR]:PORT", ":PORT" (all addresses, IPv6 and IPv4),
 * "localhost:PORT". Numeric addresses only (no DNS in a static binary).
 * Port 0 lets the kernel choose. Returns 0, or -1 with a reason in err. */
int http_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
		      char *err, size_t errlen);

struct http_body;	/* reference-counted response body */
struct http_conn;

struct http_stats {
	uint64_t requests[6];	/* by class: 0 = other, 2xx, 3xx, 4xx, 5xx; [5] = timeouts */
	uint64_t rejected;	/* connections refused with 503: every slot answering */
	uint64_t accepted;
};

struct http_server {
	int lfd;
	int spare_fd;			/* /dev/null, given up to accept (and refuse) at EMFILE */
	uint64_t accept_pause_ms;	/* out of fds even so: accept again from then */
	struct http_conn *conns;	/* HTTP_MAX_CONNS + HTTP_REFUSE_SLOTS slots */
	int nconns;
	struct http_body *metrics;	/* what GET /metrics returns */
	struct http_stats stats;
	char bound[80];			/* "127.0.0.1:9476", after bind */
};

/* Bind and listen. Returns 0, or -1 with a one-line reason in err. */
int http_listen(struct http_server *s, const struct sockaddr_storage *ss, socklen_t len,
		char *err, size_t errlen);
/* Replace the /metrics body (copied); connections already answering keep theirs. */
int http_set_metrics(struct http_server *s, const char *data, size_t len);
/* One round: wait up to timeout_ms for sockets, accept, read, answer,
 * expire slow clients. Returns early on a signal. */
void http_poll(struct http_server *s, int timeout_ms);
void http_close(struct http_server *s);

#endif
