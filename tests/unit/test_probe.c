/*
 * Unit tests of src/punch-probe.c, the hole-punch probe codec: encode and
 * parse back with zero to four IPv4 and IPv6 local addresses, every
 * truncation of a good probe asks for more, each malformation is refused as
 * soon as its byte is in, and the MAC holds only for the right key and the
 * bytes as sent. The layout is checked byte by byte against the spec in
 * punch-probe.h, not only against the encoder.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "punch-probe.h"

static const uint8_t key[PROBE_KEY_LEN] = "the session key, 32 bytes long.";
static const uint8_t session[PROBE_SESSION_LEN] = "0123456789abcdef";

static void
add_v4(struct probe *p, const char *addr, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&p->local[p->nlocal++];

	memset(sin, 0, sizeof(p->local[0]));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
}

static void
add_v6(struct probe *p, const char *addr, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->local[p->nlocal++];

	memset(sin6, 0, sizeof(p->local[0]));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
}

/* A probe from side with the first n of a fixed list of local addresses. */
static struct probe
probe_make(enum probe_side side, size_t n)
{
	struct probe p;

	memset(&p, 0, sizeof(p));
	p.side = side;
	memcpy(p.session, session, sizeof(session));
	if (n > 0)
		add_v4(&p, "192.168.1.20", 40001);
	if (n > 1)
		add_v6(&p, "fd00::1:2", 40002);
	if (n > 2)
		add_v6(&p, "2001:db8::ffff:1", 65535);
	if (n > 3)
		add_v4(&p, "10.0.0.1", 1);
	return p;
}

/* Two local addresses are the same family, address and port. */
static void
assert_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	ck_assert_int_eq(a->ss_family, b->ss_family);
	if (a->ss_family == AF_INET)
		ck_assert_int_eq(memcmp(a, b, sizeof(struct sockaddr_in)), 0);
	else
		ck_assert_int_eq(memcmp(a, b, sizeof(struct sockaddr_in6)), 0);
}

START_TEST(test_round_trip)
{
	struct probe p = probe_make(_i % 2 ? PROBE_TARGET : PROBE_VISITOR, (size_t)_i), q;
	uint8_t out[PROBE_MAX_LEN + 8];
	const char *why = NULL;
	size_t n, used = 0, i, want = 27 + 32;

	for (i = 0; i < p.nlocal; i++)
		want += p.local[i].ss_family == AF_INET ? 7 : 19;
	n = probe_encode(&p, key, out);
	ck_assert_uint_eq(n, want);
	ck_assert_int_eq(memcmp(out, "RTUNPNCH\x01", 9), 0);
	ck_assert_uint_eq(out[9], (unsigned)p.side);
	ck_assert_int_eq(memcmp(out + 10, session, 16), 0);
	ck_assert_uint_eq(out[26], p.nlocal);
	/* Trailing bytes are not the probe's: used stops at its MAC. */
	memset(out + n, 0xee, 8);
	memset(&q, 0x55, sizeof(q));
	ck_assert_int_eq(probe_parse(out, n + 8, &q, &used, &why), PROBE_OK);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(q.side, p.side);
	ck_assert_int_eq(memcmp(q.session, session, 16), 0);
	ck_assert_uint_eq(q.nlocal, p.nlocal);
	for (i = 0; i < p.nlocal; i++)
		assert_same_addr(&q.local[i], &p.local[i]);
	ck_assert_int_eq(probe_verify(out, used, key), 1);
}
END_TEST

START_TEST(test_wire_layout)
{
	static const uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2 };
	struct probe p = probe_make(PROBE_TARGET, 2);
	uint8_t out[PROBE_MAX_LEN];
	size_t n = probe_encode(&p, key, out);

	ck_assert_uint_eq(n, 27 + 7 + 19 + 32);
	ck_assert_int_eq(memcmp(out + 27, "\x04\xc0\xa8\x01\x14\x9c\x41", 7), 0);
	ck_assert_uint_eq(out[34], 6);
	ck_assert_int_eq(memcmp(out + 35, v6, 16), 0);
	ck_assert_int_eq(memcmp(out + 51, "\x9c\x42", 2), 0);
	ck_assert_uint_eq(n, 85);
}
END_TEST

START_TEST(test_truncations)
{
	struct probe p = probe_make(PROBE_VISITOR, PROBE_LOCAL_MAX), q;
	uint8_t out[PROBE_MAX_LEN];
	const char *why = NULL;
	size_t n = probe_encode(&p, key, out), len, used = 0;

	for (len = 0; len < n; len++)
		ck_assert_msg(probe_parse(out, len, &q, &used, &why) == PROBE_NEED_MORE,
		    "len %zu: %s", len, why != NULL ? why : "");
	ck_assert_int_eq(probe_parse(out, n, &q, &used, &why), PROBE_OK);
	ck_assert_uint_eq(used, n);
}
END_TEST

/* A malformation: set byte at to value in a good probe with two locals. */
static const struct bad_case {
	size_t at;
	uint8_t value;
	const char *why;
} bads[] = {
	{ 0, 'X', "bad magic" },
	{ 7, 'h', "bad magic" },
	{ 8, 0, "version" },
	{ 8, 2, "version" },
	{ 9, 2, "side" },
	{ 9, 0xff, "side" },
	{ 26, 5, "more than 4" },
	{ 26, 0xff, "more than 4" },
	{ 27, 0, "family" },
	{ 27, 5, "family" },
	{ 27, AF_INET6, "family" }, /* 10, the socket API's number, not the wire's */
	{ 34, 7, "family" },
};

START_TEST(test_malformed)
{
	const struct bad_case *c = &bads[_i];
	struct probe p = probe_make(PROBE_VISITOR, 2), q;
	uint8_t out[PROBE_MAX_LEN];
	const char *why = NULL;
	size_t n = probe_encode(&p, key, out), used = 0;

	out[c->at] = c->value;
	/* Refused as soon as the bad byte is in, and so with everything after it. */
	ck_assert_int_eq(probe_parse(out, c->at + 1, &q, &used, &why), PROBE_ERR);
	ck_assert_msg(why != NULL && strstr(why, c->why) != NULL, "%s", why);
	ck_assert_int_eq(probe_parse(out, n, &q, &used, &why), PROBE_ERR);
	if (c->at > 0)
		ck_assert_int_eq(probe_parse(out, c->at, &q, &used, &why), PROBE_NEED_MORE);
}
END_TEST

START_TEST(test_port_zero)
{
	struct probe p = probe_make(PROBE_VISITOR, 2), q;
	uint8_t out[PROBE_MAX_LEN];
	const char *why = NULL;
	size_t n = probe_encode(&p, key, out), used = 0;

	/* The IPv6 local's port: zero once both bytes are in. */
	out[51] = out[52] = 0;
	ck_assert_int_eq(probe_parse(out, 52, &q, &used, &why), PROBE_NEED_MORE);
	ck_assert_int_eq(probe_parse(out, 53, &q, &used, &why), PROBE_ERR);
	ck_assert_ptr_nonnull(strstr(why, "port 0"));
	ck_assert_int_eq(probe_parse(out, n, &q, &used, &why), PROBE_ERR);
	out[51] = 1;
	ck_assert_int_eq(probe_parse(out, n, &q, &used, &why), PROBE_OK);
	/* The encoder will not write what the parser refuses. */
	((struct sockaddr_in *)&p.local[0])->sin_port = 0;
	ck_assert_uint_eq(probe_encode(&p, key, out), 0);
	p = probe_make(PROBE_VISITOR, 1);
	p.local[0].ss_family = AF_UNIX;
	ck_assert_uint_eq(probe_encode(&p, key, out), 0);
	p = probe_make(PROBE_VISITOR, 1);
	p.nlocal = PROBE_LOCAL_MAX + 1;
	ck_assert_uint_eq(probe_encode(&p, key, out), 0);
}
END_TEST

START_TEST(test_mac)
{
	struct probe p = probe_make(PROBE_TARGET, 3), q;
	uint8_t out[PROBE_MAX_LEN], other[PROBE_KEY_LEN];
	const char *why = NULL;
	size_t n = probe_encode(&p, key, out), used = 0, i;

	ck_assert_int_eq(probe_verify(out, n, key), 1);
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	ck_assert_int_eq(probe_verify(out, n, other), 0);
	/* Any flipped bit, in the body or the MAC, breaks it. */
	for (i = 0; i < n; i++) {
		out[i] ^= 0x10;
		ck_assert_msg(probe_verify(out, n, key) == 0, "byte %zu", i);
		out[i] ^= 0x10;
	}
	/* A session id changed in a still well-formed probe parses, and does not verify. */
	out[12] ^= 1;
	ck_assert_int_eq(probe_parse(out, n, &q, &used, &why), PROBE_OK);
	ck_assert_int_eq(probe_verify(out, used, key), 0);
	out[12] ^= 1;
	ck_assert_int_eq(probe_verify(out, n - 1, key), 0);
	ck_assert_int_eq(probe_verify(out, 27 + 31, key), 0);
	ck_assert_int_eq(probe_verify(out, PROBE_MAX_LEN + 1, key), 0);
}
END_TEST

START_TEST(test_reply_str)
{
	ck_assert_str_eq(probe_reply_str(PROBE_ACCEPTED), "accepted");
	ck_assert_str_eq(probe_reply_str(PROBE_UNKNOWN), "unknown session");
	ck_assert_str_eq(probe_reply_str(PROBE_BAD_MAC), "bad MAC");
	ck_assert_str_eq(probe_reply_str(PROBE_REPEATED), "side already probed");
	ck_assert_str_eq(probe_reply_str(PROBE_MALFORMED), "malformed");
	ck_assert_str_eq(probe_reply_str(5), "unknown reply");
	ck_assert_str_eq(probe_reply_str(-1), "unknown reply");
	ck_assert_int_eq(PROBE_MAX_LEN, 135);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("probe");

	tcase_add_loop_test(tc, test_round_trip, 0, PROBE_LOCAL_MAX + 1);
	tcase_add_test(tc, test_wire_layout);
	tcase_add_test(tc, test_truncations);
	tcase_add_loop_test(tc, test_malformed, 0, N(bads));
	tcase_add_test(tc, test_port_zero);
	tcase_add_test(tc, test_mac);
	tcase_add_test(tc, test_reply_str);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(probe_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
