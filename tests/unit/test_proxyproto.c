/*
 * Unit tests of src/proxyproto.c: the exact bytes of version 1 and 2 headers
 * for IPv4, IPv6, IPv4-mapped and mixed-family pairs, and the UNKNOWN/LOCAL
 * fallbacks, checked against the examples and layout of HAProxy's
 * proxy-protocol.txt.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

/* The 12-byte signature that opens every version 2 header. */
#define SIG "\r\n\r\n\0\r\nQUIT\n"

static struct sockaddr_storage src, dst;

/* Fill ss with the numeric IPv4 or IPv6 address text and port. */
static const struct sockaddr *
addr(struct sockaddr_storage *ss, const char *text, unsigned short port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return (const struct sockaddr *)ss;
}

/* One header: version, source and destination as text, and the exact bytes expected. */
struct pp_case {
	enum proxyproto_version v;
	const char *from;
	unsigned short fport;
	const char *to;
	unsigned short tport;
	const char *want;
	size_t n;
};

/* A v1 case: the header is text. */
#define V1(from, fport, to, tport, want) \
	{ PROXYPROTO_V1, from, fport, to, tport, want, sizeof(want) - 1 }
/* A v2 case: the signature, then the rest of the header as bytes. */
#define V2(from, fport, to, tport, rest) \
	{ PROXYPROTO_V2, from, fport, to, tport, SIG rest, sizeof(SIG rest) - 1 }

static const struct pp_case cases[] = {
	V1("192.168.0.1", 56324, "192.168.0.11", 443,
	    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
	V1("255.255.255.255", 65535, "0.0.0.0", 0, "PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n"),
	V1("2001:db8::1", 1111, "::1", 2222, "PROXY TCP6 2001:db8::1 ::1 1111 2222\r\n"),
	/* The longest header this encoder writes, within the spec's 107 bytes. */
	V1("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
	/* Mixed families: the IPv4 side becomes IPv4-mapped IPv6, so the user is not lost. */
	V1("1.2.3.4", 1111, "2001:db8::5", 2222,
	    "PROXY TCP6 ::ffff:1.2.3.4 2001:db8::5 1111 2222\r\n"),
	V1("2001:db8::5", 1111, "1.2.3.4", 2222,
	    "PROXY TCP6 2001:db8::5 ::ffff:1.2.3.4 1111 2222\r\n"),
	/* Both IPv4, one written IPv4-mapped (a dual-stack socket): plain TCP4. */
	V1("::ffff:1.2.3.4", 1111, "5.6.7.8", 2222, "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n"),
	V2("1.2.3.4", 1111, "5.6.7.8", 2222,
	    "\x21\x11\x00\x0c"
	    "\x01\x02\x03\x04"
	    "\x05\x06\x07\x08"
	    "\x04\x57\x08\xae"),
	V2("2001:db8::1", 65535, "::1", 80,
	    "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\xff\xff\x00\x50"),
	V2("127.0.0.2", 1111, "2001:db8::5", 2222,
	    "\x21\x21\x00\x24"
	    "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\x00\x00\x02"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x05"
	    "\x04\x57\x08\xae"),
};

START_TEST(test_encode)
{
	const struct pp_case *c = &cases[_i];
	uint8_t out[PROXYPROTO_MAX + 1];
	size_t got;

	memset(out, 0xaa, sizeof(out));
	got = proxyproto_encode(c->v, addr(&src, c->from, c->fport), addr(&dst, c->to, c->tport),
	    out);
	ck_assert_uint_eq(got, c->n);
	ck_assert_msg(memcmp(out, c->want, c->n) == 0, "case %d: header bytes differ", _i);
	ck_assert_uint_eq(out[PROXYPROTO_MAX], 0xaa);
}
END_TEST

/* Encode with one side not an IP address (AF_UNIX, AF_UNSPEC or none at all). */
static void
assert_fallback(enum proxyproto_version v, int family, const void *want, size_t n)
{
	uint8_t out[PROXYPROTO_MAX];
	struct sockaddr_storage other;
	const struct sockaddr *ip = addr(&dst, "1.2.3.4", 80);

	memset(&other, 0, sizeof(other));
	other.ss_family = (sa_family_t)family;
	ck_assert_uint_eq(proxyproto_encode(v, (struct sockaddr *)&other, ip, out), n);
	ck_assert(memcmp(out, want, n) == 0);
	ck_assert_uint_eq(proxyproto_encode(v, ip, (struct sockaddr *)&other, out), n);
	ck_assert(memcmp(out, want, n) == 0);
	ck_assert_uint_eq(proxyproto_encode(v, NULL, NULL, out), n);
	ck_assert(memcmp(out, want, n) == 0);
}

START_TEST(test_unknown)
{
	assert_fallback(PROXYPROTO_V1, AF_UNIX, "PROXY UNKNOWN\r\n", 15);
	assert_fallback(PROXYPROTO_V1, AF_UNSPEC, "PROXY UNKNOWN\r\n", 15);
	assert_fallback(PROXYPROTO_V2, AF_UNIX, SIG "\x20\x00\x00\x00", 16);
	assert_fallback(PROXYPROTO_V2, AF_UNSPEC, SIG "\x20\x00\x00\x00", 16);
}
END_TEST

START_TEST(test_none)
{
	uint8_t out[PROXYPROTO_MAX] = { 0x55 };

	ck_assert_uint_eq(proxyproto_encode(PROXYPROTO_NONE, addr(&src, "1.2.3.4", 1),
			      addr(&dst, "5.6.7.8", 2), out),
	    0);
	ck_assert_uint_eq(out[0], 0x55);
}
END_TEST

static Suite *
proxyproto_suite(void)
{
	Suite *s = suite_create("proxyproto");
	TCase *tc = tcase_create("proxyproto");

	tcase_add_loop_test(tc, test_encode, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_none);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proxyproto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
