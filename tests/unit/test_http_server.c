/* The export HTTP server on real loopback sockets, one thread: the test
 * plays the clients and turns the server's poll loop by hand. Covers what
 * the parser tests cannot: a request followed at once by FIN, idle
 * connections filling every slot, refusals that must end in a clean close
 * (no reset), and running out of file descriptors. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "http.h"

static const char GET[] = "GET /metrics HTTP/1.0\r\n\r\n";

static void start(struct http_server *s, size_t body_len)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[128], *body = malloc(body_len);

	assert_non_null(body);
	memset(body, 'x', body_len);
	assert_int_equal(http_parse_listen("127.0.0.1:0", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(http_listen(s, &ss, len, err, sizeof(err)), 0);
	assert_int_equal(http_set_metrics(s, body, body_len), 0);
	free(body);
}

/* A client socket connected to s; rcvbuf > 0 sets a small receive buffer. */
static int client(struct http_server *s, int rcvbuf)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, alen), 0);
	return fd;
}

static void pump(struct http_server *s, int rounds)
{
	for (int i = 0; i < rounds; i++)
		http_poll(s, 10);
}

/* Read fd to its end while the server runs (at most ~max_ms of rounds).
 * Returns the bytes read into buf (NUL-terminated); *how: 0 clean EOF,
 * else the errno that ended it (ECONNRESET: a reset; EAGAIN: no end). */
static size_t reply(struct http_server *s, int fd, char *buf, size_t cap, int max_ms, int *how)
{
	size_t got = 0;

	*how = EAGAIN;
	for (int t = 0; t < max_ms; t += 10) {
		ssize_t n;

		http_poll(s, 10);
		while ((n = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT)) > 0)
			got += n;
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			*how = n == 0 ? 0 : errno;
			break;
		}
	}
	buf[got] = 0;
	return got;
}

static void test_request_then_fin(void **state)
{
	struct http_server s;
	char buf[4096];
	int fd, how;

	start(&s, 100);
	fd = client(&s, 0);
	assert_int_equal(send(fd, GET, strlen(GET), 0), (ssize_t)strlen(GET));
	shutdown(fd, SHUT_WR);	/* e.g. printf 'GET ...' | nc -N */
	reply(&s, fd, buf, sizeof(buf), 2000, &how);
	assert_true(!strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
	assert_non_null(strstr(buf, "\r\n\r\nxxxxxxxxxx"));
	assert_int_equal(how, 0);
	close(fd);
	http_close(&s);
}

static void test_idle_connections_do_not_lock_out(void **state)
{
	struct http_server s;
	int idle[HTTP_MAX_CONNS], fd, how;
	char buf[4096];

	start(&s, 100);
	for (int i = 0; i < HTTP_MAX_CONNS; i++) {
		idle[i] = client(&s, 0);
		pump(&s, 1);	/* accepted in this order: idle[0] is the oldest */
	}
	fd = client(&s, 0);
	send(fd, GET, strlen(GET), 0);
	reply(&s, fd, buf, sizeof(buf), 2000, &how);
	assert_true(!strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
	/* the slot came from the connection idle the longest */
	reply(&s, idle[0], buf, sizeof(buf), 500, &how);
	assert_true(!strncmp(buf, "HTTP/1.1 408 ", 13));
	assert_int_equal(s.stats.requests[5], 1);
	assert_int_equal(s.stats.rejected, 0);
	for (int i = 0; i < HTTP_MAX_CONNS; i++)
		close(idle[i]);
	close(fd);
	http_close(&s);
}

/* Every slot sending a body to a client that does not read: the next one
 * gets 503, then a clean end of stream, not a reset, although its request
 * was already waiting unread when it was refused. */
static void test_refusal_ends_without_reset(void **state)
{
	struct http_server s;
	int busy[HTTP_MAX_CONNS], fd, how;
	char buf[4096];

	start(&s, 4 << 20);
	for (int i = 0; i < HTTP_MAX_CONNS; i++) {
		busy[i] = client(&s, 4096);
		send(busy[i], GET, strlen(GET), 0);
		pump(&s, 1);
	}
	fd = client(&s, 0);
	send(fd, GET, strlen(GET), 0);
	reply(&s, fd, buf, sizeof(buf), 2000, &how);
	assert_true(!strncmp(buf, "HTTP/1.1 503 ", 13));
	assert_int_equal(how, 0);
	assert_int_equal(s.stats.rejected, 1);
	for (int i = 0; i < HTTP_MAX_CONNS; i++)
		close(busy[i]);
	close(fd);
	http_close(&s);
}

/* No descriptor left for accept: the waiting connection is refused (503)
 * instead of staying queued while poll reports it at once, round after
 * round. */
static void test_out_of_fds(void **state)
{
	struct http_server s;
	struct rlimit old, low;
	char buf[4096];
	int fd, how, lowest;

	start(&s, 100);
	fd = client(&s, 0);
	send(fd, GET, strlen(GET), 0);
	lowest = dup(0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = lowest;	/* every descriptor below is in use: EMFILE */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	reply(&s, fd, buf, sizeof(buf), 1000, &how);
	setrlimit(RLIMIT_NOFILE, &old);
	assert_true(!strncmp(buf, "HTTP/1.1 503 ", 13));
	assert_int_equal(s.stats.rejected, 1);
	/* and with descriptors back, the next one is served */
	close(fd);
	fd = client(&s, 0);
	send(fd, GET, strlen(GET), 0);
	reply(&s, fd, buf, sizeof(buf), 2000, &how);
	assert_true(!strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
	close(fd);
	http_close(&s);
}

/* A connection that sends nothing is closed before one that sent part of
 * its request (HTTP_IDLE_MS < HTTP_TIMEOUT_MS): an order, not a time. */
static void test_idle_closed_before_partial(void **state)
{
	struct http_server s;
	char buf[4096];
	int idle, partial, how;

	start(&s, 100);
	idle = client(&s, 0);
	partial = client(&s, 0);
	send(partial, "GET /met", 8, 0);
	reply(&s, idle, buf, sizeof(buf), HTTP_TIMEOUT_MS - 500, &how);
	assert_true(!strncmp(buf, "HTTP/1.1 408 ", 13));
	assert_int_equal(recv(partial, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	close(idle);
	close(partial);
	http_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_then_fin),
		cmocka_unit_test(test_idle_connections_do_not_lock_out),
		cmocka_unit_test(test_refusal_ends_without_reset),
		cmocka_unit_test(test_out_of_fds),
		cmocka_unit_test(test_idle_closed_before_partial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
