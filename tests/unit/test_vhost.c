/*
 * Unit tests of what routes web traffic by name: host names and wildcards
 * (src/hostname.c), the ClientHello server-name parser (src/tls-sni.c: hellos
 * made by OpenSSL's own client, whole, cut at every byte and re-split into
 * small records, and hand-broken ones) and the Host of a request head
 * (src/http-host.c).
 */
#include "rtun-build.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "hostmap.h"
#include "hostname.h"
#include "http-host.h"
#include "tls-sni.h"

static uint8_t hello[8192];
static size_t hello_len;
static char name[SNI_NAME_MAX + 1];

/* The first flight of an OpenSSL client asking for host (none if NULL). */
static void
make_hello(const char *host)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	BIO *rd = BIO_new(BIO_s_mem()), *wr = BIO_new(BIO_s_mem());
	int n;

	ck_assert_ptr_nonnull(ssl);
	SSL_set_bio(ssl, rd, wr);
	if (host != NULL)
		ck_assert_int_eq(SSL_set_tlsext_host_name(ssl, host), 1);
	ck_assert_int_eq(SSL_connect(ssl), -1);   /* wants the server's answer */
	n = BIO_read(wr, hello, sizeof(hello));
	ck_assert_int_gt(n, 100);
	hello_len = (size_t)n;
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

/* Offset of the extensions block's length in a one-record hello. */
static size_t
ext_offset(void)
{
	size_t off = 5 + 4 + 2 + 32;

	off += 1 + hello[off];                                   /* session id */
	off += 2 + ((size_t)hello[off] << 8 | hello[off + 1]);   /* cipher suites */
	off += 1 + hello[off];                                   /* compression */
	return off;
}

START_TEST(test_openssl_hello)
{
	size_t i;

	make_hello("App.Example.COM");
	ck_assert_int_eq(sni_parse(hello, hello_len, name), SNI_FOUND);
	ck_assert_str_eq(name, "app.example.com");
	/* Every prefix asks for more: the answer never comes early or wrong. */
	for (i = 0; i < hello_len; i++)
		ck_assert_int_eq(sni_parse(hello, i, name), SNI_NEED_MORE);
	/* Bytes after the hello (the client speaks no more, but a parse must not care). */
	hello[hello_len] = 0x17;
	ck_assert_int_eq(sni_parse(hello, hello_len + 1, name), SNI_FOUND);
}
END_TEST

START_TEST(test_hello_split_over_records)
{
	uint8_t split[16384];
	size_t body = hello_len, off = 0, in = 5, chunk, i;

	make_hello("www.example.org");
	body = hello_len - 5;
	/* The same handshake bytes, 100 per record (RFC 8446 5.1 allows any split). */
	while (in < hello_len) {
		chunk = hello_len - in < 100 ? hello_len - in : 100;
		split[off] = 22;
		split[off + 1] = 3;
		split[off + 2] = 1;
		split[off + 3] = (uint8_t)(chunk >> 8);
		split[off + 4] = (uint8_t)chunk;
		memcpy(split + off + 5, hello + in, chunk);
		off += 5 + chunk;
		in += chunk;
	}
	ck_assert_uint_eq(off, hello_len + 5 * ((body - 1) / 100));
	ck_assert_int_eq(sni_parse(split, off, name), SNI_FOUND);
	ck_assert_str_eq(name, "www.example.org");
	for (i = 0; i < off; i++)
		ck_assert_int_eq(sni_parse(split, i, name), SNI_NEED_MORE);
}
END_TEST

START_TEST(test_no_server_name)
{
	make_hello(NULL);
	ck_assert_int_eq(sni_parse(hello, hello_len, name), SNI_ABSENT);
	ck_assert_str_eq(name, "");
}
END_TEST

START_TEST(test_not_tls)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

	ck_assert_int_eq(sni_parse((const uint8_t *)get, sizeof(get) - 1, name), SNI_NOT_TLS);
	ck_assert_int_eq(sni_parse((const uint8_t *)get, 1, name), SNI_NOT_TLS);
	ck_assert_int_eq(sni_parse((const uint8_t *)"\x16\x02", 2, name), SNI_NOT_TLS);
	/* A handshake record, but not a ClientHello (a ServerHello). */
	ck_assert_int_eq(sni_parse((const uint8_t *)"\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9,
	    name), SNI_MALFORMED);
	/* An alert record after the first handshake record is not a continuation. */
	make_hello("a.example");
	hello[4] = 10;    /* the first record now holds 10 bytes of the hello */
	hello[15] = 21;
	ck_assert_int_eq(sni_parse(hello, hello_len, name), SNI_MALFORMED);
}
END_TEST

START_TEST(test_garbage_extensions)
{
	size_t off;

	make_hello("a.example");
	off = ext_offset();
	/* The extensions' length one byte short of what the hello holds. */
	hello[off + 1]--;
	ck_assert_int_eq(sni_parse(hello, hello_len, name), SNI_MALFORMED);
	hello[off + 1]++;
	/* The first extension's length running past the block. */
	hello[off + 4] = 0xff;
	ck_assert_int_eq(sni_parse(hello, hello_len, name), SNI_MALFORMED);
}
END_TEST

/* A one-record hello with exactly these extensions (built by hand). */
static size_t
hand_hello(uint8_t *out, const uint8_t *ext, size_t ext_len)
{
	size_t n = 0, hs;

	memcpy(out, "\x16\x03\x01\x00\x00\x01\x00\x00\x00\x03\x03", 11);
	n = 11;
	memset(out + n, 7, 32);
	n += 32;
	memcpy(out + n, "\x00\x00\x02\x13\x01\x01\x00", 7);   /* no session id, one suite */
	n += 7;
	out[n++] = (uint8_t)(ext_len >> 8);
	out[n++] = (uint8_t)ext_len;
	if (ext_len > 0)
		memcpy(out + n, ext, ext_len);
	n += ext_len;
	hs = n - 9;
	out[3] = (uint8_t)((n - 5) >> 8);
	out[4] = (uint8_t)(n - 5);
	out[6] = (uint8_t)(hs >> 16);
	out[7] = (uint8_t)(hs >> 8);
	out[8] = (uint8_t)hs;
	return n;
}

START_TEST(test_hand_made)
{
	static const uint8_t one[] = { 0, 0, 0, 8, 0, 6, 0, 0, 3, 'a', '.', 'b' };
	static const uint8_t twice[] = { 0, 0, 0, 8, 0, 6, 0, 0, 3, 'a', '.', 'b',
		0, 0, 0, 8, 0, 6, 0, 0, 3, 'c', '.', 'd' };
	static const uint8_t bad_char[] = { 0, 0, 0, 8, 0, 6, 0, 0, 3, 'a', '/', 'b' };
	static const uint8_t empty_label[] = { 0, 0, 0, 8, 0, 6, 0, 0, 3, 'a', '.', '.' };
	static const uint8_t other_type[] = { 0, 0, 0, 8, 0, 6, 1, 0, 3, 'a', '.', 'b' };
	static const uint8_t list_short[] = { 0, 0, 0, 8, 0, 5, 0, 0, 3, 'a', '.', 'b' };
	uint8_t buf[512];
	size_t n;

	n = hand_hello(buf, one, sizeof(one));
	ck_assert_int_eq(sni_parse(buf, n, name), SNI_FOUND);
	ck_assert_str_eq(name, "a.b");
	n = hand_hello(buf, twice, sizeof(twice));
	ck_assert_int_eq(sni_parse(buf, n, name), SNI_MALFORMED);
	n = hand_hello(buf, bad_char, sizeof(bad_char));
	ck_assert_int_eq(sni_parse(buf, n, name), SNI_MALFORMED);
	n = hand_hello(buf, empty_label, sizeof(empty_label));
	ck_assert_int_eq(sni_parse(buf, n, name), SNI_MALFORMED);
	n = hand_hello(buf, other_type, sizeof(other_type));
	ck_assert_int_eq(sni_parse(buf, n, name), SNI_ABSENT);
	n = hand_hello(buf, list_short, sizeof(list_short));
	ck_assert_int_eq(sni_parse(buf, n, name), SNI_MALFORMED);
	n = hand_hello(buf, NULL, 0);
	ck_assert_int_eq(sni_parse(buf, n, name), SNI_ABSENT);
}
END_TEST

START_TEST(test_too_long)
{
	static const uint8_t big[] = { 0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x50, 0x00 };

	/* A hello announcing 20 KiB is refused before any of it is read. */
	ck_assert_int_eq(sni_parse(big, sizeof(big), name), SNI_TOO_LONG);
}
END_TEST

START_TEST(test_host_normalize)
{
	char out[SNI_NAME_MAX + 1], long_label[70], long_name[300];

	ck_assert_int_eq(hostname_normalize("Example.COM.", 12, out), 0);
	ck_assert_str_eq(out, "example.com");
	ck_assert_int_eq(hostname_normalize("x_y-z.a1", 8, out), 0);
	ck_assert_int_eq(hostname_normalize(".a", 2, out), -1);
	ck_assert_int_eq(hostname_normalize("a..b", 4, out), -1);
	ck_assert_int_eq(hostname_normalize("", 0, out), -1);
	ck_assert_int_eq(hostname_normalize(".", 1, out), -1);
	ck_assert_int_eq(hostname_normalize("a..", 3, out), -1);
	ck_assert_int_eq(hostname_normalize("a b", 3, out), -1);
	ck_assert_int_eq(hostname_normalize("a\0b", 3, out), -1);
	memset(long_label, 'a', 64);
	ck_assert_int_eq(hostname_normalize(long_label, 64, out), -1);
	ck_assert_int_eq(hostname_normalize(long_label, 63, out), 0);
	memset(long_name, 'a', sizeof(long_name));
	for (size_t i = 50; i < sizeof(long_name); i += 51)
		long_name[i] = '.';
	ck_assert_int_eq(hostname_normalize(long_name, 253, out), 0);
	ck_assert_int_eq(hostname_normalize(long_name, 254, out), -1);
}
END_TEST

START_TEST(test_wildcards)
{
	ck_assert(hostname_match("app.example.com", "app.example.com"));
	ck_assert(!hostname_match("app.example.com", "www.example.com"));
	ck_assert(hostname_match("*.dev.example.com", "a.dev.example.com"));
	/* One label only, and the suffix itself is not covered. */
	ck_assert(!hostname_match("*.dev.example.com", "b.a.dev.example.com"));
	ck_assert(!hostname_match("*.dev.example.com", "dev.example.com"));
	ck_assert(!hostname_match("*.dev.example.com", "adev.example.com"));
	ck_assert(!hostname_match("*.com", "com"));
}
END_TEST

START_TEST(test_patterns_allowed)
{
	char *allow[] = { "*.apps.example.com", "example.org", "*.dev.example.net" };
	char *any[] = { "*" };
	char out[HOSTNAME_MAX + 1];

	ck_assert_int_eq(hostname_pattern_normalize("*.Dev.Example.NET", 17, out), 0);
	ck_assert_str_eq(out, "*.dev.example.net");
	ck_assert_int_eq(hostname_pattern_normalize("App.example.org.", 16, out), 0);
	ck_assert_str_eq(out, "app.example.org");
	ck_assert_int_eq(hostname_pattern_normalize("*", 1, out), -1);
	ck_assert_int_eq(hostname_pattern_normalize("*.", 2, out), -1);
	ck_assert_int_eq(hostname_pattern_normalize("a.*.b", 5, out), -1);
	ck_assert_int_eq(hostname_pattern_normalize("**.b", 4, out), -1);
	ck_assert(hostname_allowed(allow, 3, "a.apps.example.com"));
	ck_assert(hostname_allowed(allow, 3, "example.org"));
	ck_assert(hostname_allowed(allow, 3, "*.dev.example.net"));
	/* A wildcard claim needs that wildcard itself; one label only. */
	ck_assert(!hostname_allowed(allow, 3, "*.x.apps.example.com"));
	ck_assert(!hostname_allowed(allow, 3, "b.a.apps.example.com"));
	ck_assert(!hostname_allowed(allow, 3, "www.example.org"));
	ck_assert(!hostname_allowed(allow, 3, "apps.example.com"));
	ck_assert(hostname_allowed(any, 1, "*.anything.example"));
	ck_assert(!hostname_allowed(allow, 0, "example.org"));
}
END_TEST

static struct http_host hh;

/* Parse text whole; every shorter prefix must ask for more. */
static int
host_parse(const char *text)
{
	size_t n = strlen(text), i;

	for (i = 0; i < n; i++)
		ck_assert_msg(http_host_parse(text, i, &hh) == 1, "prefix of %zu bytes decided", i);
	return http_host_parse(text, n, &hh);
}

START_TEST(test_http_host)
{
	static const char two[] = "GET /a HTTP/1.1\r\nHost: App.Example.com:8080\r\n\r\n"
	    "GET /b HTTP/1.1\r\nHost: other.example\r\n\r\n";

	ck_assert_int_eq(host_parse("GET / HTTP/1.1\r\nHost: App.Example.com:8080\r\n\r\n"), 0);
	ck_assert_int_eq(hh.status, 0);
	ck_assert_str_eq(hh.host, "app.example.com");
	ck_assert_uint_eq(hh.head_len, 46);
	/* Keep-alive: the first head is decided alone; what follows is not read. */
	ck_assert_int_eq(http_host_parse(two, sizeof(two) - 1, &hh), 0);
	ck_assert_str_eq(hh.host, "app.example.com");
	ck_assert_uint_eq(hh.head_len, 47);
	/* A body is not part of the head. */
	ck_assert_int_eq(http_host_parse("POST /f HTTP/1.1\r\nhost: a.b\r\n"
	    "Content-Length: 5\r\n\r\nhello", 56, &hh), 0);
	ck_assert_str_eq(hh.host, "a.b");
	ck_assert_uint_eq(hh.head_len, 50);
	/* An absolute-form target wins over Host; an empty port is a port. */
	ck_assert_int_eq(host_parse("GET http://Other.Example:81/x HTTP/1.1\r\n"
	    "Host: a.example:\r\n\r\n"), 0);
	ck_assert_str_eq(hh.host, "other.example");
	ck_assert_int_eq(host_parse("GET / HTTP/1.1\r\nHost: a.example.\r\nX: y\r\n\r\n"), 0);
	ck_assert_str_eq(hh.host, "a.example");
}
END_TEST

START_TEST(test_http_host_refused)
{
	static const char start[] = "GET / HTTP/1.1\r\nHost: a.b\r\nX: ";
	static char big[70000];

	ck_assert_int_eq(host_parse("GET / HTTP/1.1\r\nX: y\r\n\r\n"), 0);
	ck_assert_int_eq(hh.status, 400);
	ck_assert_str_eq(hh.reason, "missing or repeated Host header");
	ck_assert_int_eq(host_parse("GET / HTTP/1.0\r\n\r\n"), 0);
	ck_assert_int_eq(hh.status, 400);
	ck_assert_int_eq(host_parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 0);
	ck_assert_int_eq(hh.status, 400);
	ck_assert_int_eq(host_parse("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"), 0);
	ck_assert_int_eq(hh.status, 400);
	ck_assert_str_eq(hh.reason, "Host is not a host name");
	ck_assert_str_eq(hh.host, "");
	ck_assert_int_eq(host_parse("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 0);
	ck_assert_int_eq(hh.status, 400);
	ck_assert_int_eq(host_parse("CONNECT a.b:443 HTTP/1.1\r\nHost: a.b\r\n\r\n"), 0);
	ck_assert_int_eq(hh.status, 400);
	ck_assert_int_eq(http_host_parse("\x16\x03\x01\x02\x00", 5, &hh), 0);
	ck_assert_int_eq(hh.status, 400);
	ck_assert_uint_eq(hh.head_len, 0);
	/* A 64 KiB head: more is asked for up to the bound, then 431. */
	memcpy(big, start, sizeof(start) - 1);
	memset(big + sizeof(start) - 1, 'x', sizeof(big) - sizeof(start) + 1);
	ck_assert_int_eq(http_host_parse(big, HTTP_HEAD_MAX - 1, &hh), 1);
	ck_assert_int_eq(http_host_parse(big, HTTP_HEAD_MAX, &hh), 0);
	ck_assert_int_eq(hh.status, 431);
	ck_assert_int_eq(http_host_parse(big, sizeof(big), &hh), 0);
	ck_assert_int_eq(hh.status, 431);
}
END_TEST

static int nreleased;

static void
on_released(struct hostclaim *c, void *arg)
{
	nreleased++;
}

START_TEST(test_hostmap)
{
	struct hostmap *m = hostmap_new(on_released, NULL);
	struct hostclaim *c, *exact, *wild;
	const char *holder = NULL;
	int a, b, i;
	char nm[32];

	nreleased = 0;
	ck_assert_int_eq(hostmap_claim(m, VHOST_HTTP, "*.dev.example.com", &a, "a", "web",
	    &wild, &holder), HOST_CLAIM_NEW);
	ck_assert_int_eq(hostmap_claim(m, VHOST_HTTP, "x.dev.example.com", &b, "b", "x",
	    &exact, &holder), HOST_CLAIM_NEW);
	/* Exact wins over the wildcard, whatever the order of the claims. */
	ck_assert_ptr_eq(hostmap_lookup(m, VHOST_HTTP, "x.dev.example.com"), exact);
	ck_assert_ptr_eq(hostmap_lookup(m, VHOST_HTTP, "y.dev.example.com"), wild);
	ck_assert_ptr_null(hostmap_lookup(m, VHOST_HTTP, "dev.example.com"));
	/* Schemes are apart: the same name on HTTPS is unclaimed. */
	ck_assert_ptr_null(hostmap_lookup(m, VHOST_HTTPS, "x.dev.example.com"));
	/* Another agent is refused, naming the holder; the holder re-declares. */
	ck_assert_int_eq(hostmap_claim(m, VHOST_HTTP, "x.dev.example.com", &a, "a", "web",
	    &c, &holder), HOST_CLAIM_IN_USE);
	ck_assert_str_eq(holder, "b");
	ck_assert_int_eq(hostmap_claim(m, VHOST_HTTP, "x.dev.example.com", &b, "b", "x2",
	    &c, &holder), HOST_CLAIM_OURS);
	ck_assert_str_eq(hostclaim_service(c), "x2");
	/* A re-declaration without the wildcard drops it. */
	hostmap_mark(m, &a);
	hostmap_sweep(m, &a, "a");
	ck_assert_int_eq(nreleased, 1);
	ck_assert_ptr_null(hostmap_lookup(m, VHOST_HTTP, "y.dev.example.com"));
	/* b's link goes: its name answers offline, until a connected agent claims it. */
	hostmap_offline(m, &b);
	ck_assert_int_eq(nreleased, 2);
	c = hostmap_lookup(m, VHOST_HTTP, "x.dev.example.com");
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(hostclaim_arg(c));
	ck_assert_str_eq(hostclaim_agent(c), "b");
	ck_assert_int_eq(hostmap_claim(m, VHOST_HTTP, "x.dev.example.com", &a, "a", "web",
	    &c, &holder), HOST_CLAIM_NEW);
	ck_assert_ptr_eq(hostclaim_arg(hostmap_lookup(m, VHOST_HTTP, "x.dev.example.com")), &a);
	/* b comes back and declares: its offline leftovers go. */
	ck_assert_int_eq(hostmap_claim(m, VHOST_HTTPS, "old.example", &b, "b", "x",
	    &c, &holder), HOST_CLAIM_NEW);
	hostmap_offline(m, &b);
	hostmap_sweep(m, &b, "b");
	ck_assert_ptr_null(hostmap_lookup(m, VHOST_HTTPS, "old.example"));
	/* Offline claims are bounded: the oldest go first. */
	for (i = 0; i < HOSTMAP_OFFLINE_MAX + 10; i++) {
		snprintf(nm, sizeof(nm), "n%d.example", i);
		ck_assert_int_eq(hostmap_claim(m, VHOST_HTTP, nm, &b, "b", "x", &c, &holder),
		    HOST_CLAIM_NEW);
		hostmap_offline(m, &b);
	}
	ck_assert_ptr_null(hostmap_lookup(m, VHOST_HTTP, "n0.example"));
	ck_assert_ptr_nonnull(hostmap_lookup(m, VHOST_HTTP, "n1033.example"));
	hostmap_free(m);
}
END_TEST

static Suite *
vhost_suite(void)
{
	Suite *s = suite_create("vhost");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_openssl_hello);
	tcase_add_test(tc, test_hello_split_over_records);
	tcase_add_test(tc, test_no_server_name);
	tcase_add_test(tc, test_not_tls);
	tcase_add_test(tc, test_garbage_extensions);
	tcase_add_test(tc, test_hand_made);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_host_normalize);
	tcase_add_test(tc, test_wildcards);
	tcase_add_test(tc, test_patterns_allowed);
	tcase_add_test(tc, test_http_host);
	tcase_add_test(tc, test_http_host_refused);
	tcase_add_test(tc, test_hostmap);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(vhost_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
