/* The export HTTP responder's request parser, router and listen-address
 * parser: every malformed or oversized input gets its status. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "http.h"

static int parse(const char *s, struct http_req *r)
{
	return http_parse_request(s, strlen(s), false, r);
}

static int status_of(const char *s)
{
	struct http_req r;

	return parse(s, &r);
}

static void test_good_requests(void **state)
{
	struct http_req r;
	const char *q = "GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: Prometheus/2.42\r\n"
			"Accept: text/plain\r\n\r\n";

	assert_int_equal(parse(q, &r), 200);
	assert_int_equal(r.method_len, 3);
	assert_memory_equal(r.method, "GET", 3);
	assert_int_equal(r.target_len, 8);
	assert_memory_equal(r.target, "/metrics", 8);
	assert_int_equal(r.minor, 1);
	assert_true(r.has_host);
	assert_int_equal(r.head_len, strlen(q));
	assert_int_equal(http_route(&r), ROUTE_METRICS);
	/* HTTP/1.0 needs no Host; bare LF line ends are tolerated */
	assert_int_equal(parse("GET / HTTP/1.0\n\n", &r), 200);
	assert_int_equal(http_route(&r), ROUTE_INDEX);
	/* one leading empty line is allowed */
	assert_int_equal(status_of("\r\nGET / HTTP/1.0\r\n\r\n"), 200);
	/* header value may be empty; Content-Length: 0 is no body */
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nHost:\r\nContent-Length: 0\r\n\r\n"), 200);
}

static void test_incomplete(void **state)
{
	assert_int_equal(status_of(""), 0);
	assert_int_equal(status_of("GET /metr"), 0);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\n"), 0);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nHost: x\r\n"), 0);
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\nHost: x\r\n\r"), 0);
}

static void test_malformed(void **state)
{
	/* request line */
	assert_int_equal(status_of("garbage\r\n\r\n"), 400);
	assert_int_equal(status_of("GET\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics\r\n\r\n"), 400);		/* HTTP/0.9 */
	assert_int_equal(status_of("GET  /metrics HTTP/1.1\r\n\r\n"), 400);	/* two spaces */
	assert_int_equal(status_of("GET /metrics HTTP/1.1 \r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics http/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /metrics HTTP/1.10\r\n\r\n"), 400);
	assert_int_equal(status_of("GET metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 400);	/* not origin-form */
	assert_int_equal(status_of("GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
	assert_int_equal(status_of("G(T /metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /me\x01trics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("VERYLONGMETHODNAMEXX / HTTP/1.1\r\n\r\n"), 400);
	/* incomplete but already wrong: answered without waiting for more */
	assert_int_equal(status_of("\x16\x03\x01\x02"), 400);	/* TLS hello */
	assert_int_equal(status_of("GET\t/"), 400);
	assert_int_equal(status_of("GE"), 0);
	assert_int_equal(status_of("GET "), 0);
	/* headers */
	assert_int_equal(status_of("GET / HTTP/1.1\r\nHost x\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"), 400);
	/* HTTP/1.1 without Host */
	assert_int_equal(status_of("GET /metrics HTTP/1.1\r\n\r\n"), 400);
	/* NUL byte anywhere */
	{
		struct http_req r;
		const char q[] = "GET / HTTP/1.0\r\nX: a\0b\r\n\r\n";

		assert_int_equal(http_parse_request(q, sizeof(q) - 1, false, &r), 400);
	}
}

static void test_other_statuses(void **state)
{
	assert_int_equal(status_of("GET / HTTP/2.0\r\n\r\n"), 505);
	assert_int_equal(status_of("GET / HTTP/0.9\r\n\r\n"), 505);
	assert_int_equal(status_of("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"), 413);
	assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), 501);
}

static void test_size_caps(void **state)
{
	struct http_req r;
	char *big = malloc(HTTP_MAX_REQUEST);
	size_t n;

	/* request line never ends within the cap: 414 */
	memset(big, 'a', HTTP_MAX_REQUEST);
	memcpy(big, "GET /", 5);
	assert_int_equal(http_parse_request(big, HTTP_MAX_REQUEST, true, &r), 414);
	assert_int_equal(http_parse_request(big, HTTP_MAX_REQUEST, false, &r), 0);
	/* headers never end within the cap: 431 */
	n = snprintf(big, HTTP_MAX_REQUEST, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	while (n + 20 < HTTP_MAX_REQUEST)
		n += snprintf(big + n, HTTP_MAX_REQUEST - n, "X-Pad: 0123456789\r\n");
	memset(big + n, 'b', HTTP_MAX_REQUEST - n);
	assert_int_equal(http_parse_request(big, HTTP_MAX_REQUEST, true, &r), 431);
	free(big);
}

static void test_routes(void **state)
{
	struct http_req r;

	assert_int_equal(parse("GET /metrics?x=1 HTTP/1.0\r\n\r\n", &r), 200);
	assert_int_equal(http_route(&r), ROUTE_METRICS);
	assert_int_equal(parse("GET /?a HTTP/1.0\r\n\r\n", &r), 200);
	assert_int_equal(http_route(&r), ROUTE_INDEX);
	assert_int_equal(parse("GET /metricsx HTTP/1.0\r\n\r\n", &r), 200);
	assert_int_equal(http_route(&r), ROUTE_NOT_FOUND);
	assert_int_equal(parse("GET /metrics/ HTTP/1.0\r\n\r\n", &r), 200);
	assert_int_equal(http_route(&r), ROUTE_NOT_FOUND);
	assert_int_equal(parse("GET /etc/passwd HTTP/1.0\r\n\r\n", &r), 200);
	assert_int_equal(http_route(&r), ROUTE_NOT_FOUND);
	assert_int_equal(parse("HEAD /metrics HTTP/1.0\r\n\r\n", &r), 200);
	assert_int_equal(http_route(&r), ROUTE_BAD_METHOD);
	assert_int_equal(parse("POST /metrics HTTP/1.0\r\n\r\n", &r), 200);
	assert_int_equal(http_route(&r), ROUTE_BAD_METHOD);
	assert_int_equal(parse("get /metrics HTTP/1.0\r\n\r\n", &r), 200);	/* methods are case-sensitive */
	assert_int_equal(http_route(&r), ROUTE_BAD_METHOD);
	assert_string_equal(http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason(405), "Method Not Allowed");
}

static void test_listen_spec(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[200];
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	assert_int_equal(http_parse_listen("127.0.0.1:9476", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 9476);
	assert_int_equal(ntohl(s4->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(len, sizeof(*s4));
	assert_int_equal(http_parse_listen("localhost:0", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ntohl(s4->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(http_parse_listen(":9476", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 9476);
	assert_int_equal(http_parse_listen("[::1]:65535", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 65535);
	assert_int_equal(http_parse_listen("0.0.0.0:1", &ss, &len, err, sizeof(err)), 0);

	const char *bad[] = {
		"9476", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+1",
		"127.0.0.1:80x", "256.0.0.1:80", "example.com:80", "[::1:80", "::1:80", "[zz]:80",
		"1.2.3:80", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (http_parse_listen(bad[i], &ss, &len, err, sizeof(err)) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(strlen(err) > 10);
		assert_null(strchr(err, '\n'));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_requests),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_other_statuses),
		cmocka_unit_test(test_size_caps),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_listen_spec),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
