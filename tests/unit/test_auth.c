/*
 * Unit tests of src/auth.c: the proofs are HMAC-SHA256 over exactly the
 * message doc/PROTOCOL.md gives (checked against OpenSSL on a message built
 * here byte by byte, and against a fixed vector), the two roles differ,
 * verification refuses any other length or bit, and nonces are fresh.
 */
#include "rtun-build.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"

static uint8_t server_nonce[AUTH_NONCE_LEN];
static uint8_t client_nonce[AUTH_NONCE_LEN];

/* Nonces 00 01 .. 1f (server) and 20 21 .. 3f (client), as in the fixed vector. */
static void
setup(void)
{
	size_t i;

	for (i = 0; i < AUTH_NONCE_LEN; i++) {
		server_nonce[i] = (uint8_t)i;
		client_nonce[i] = (uint8_t)(AUTH_NONCE_LEN + i);
	}
}

/* HMAC-SHA256(token, label 00 || server_nonce || client_nonce || name), per PROTOCOL.md. */
static void
spec_mac(const char *label, const char *token, const char *name, uint8_t *out)
{
	uint8_t msg[256];
	unsigned int outlen = 0;
	size_t n = 0;

	memcpy(msg, label, strlen(label));
	n += strlen(label);
	msg[n++] = 0x00;
	memcpy(msg + n, server_nonce, AUTH_NONCE_LEN);
	n += AUTH_NONCE_LEN;
	memcpy(msg + n, client_nonce, AUTH_NONCE_LEN);
	n += AUTH_NONCE_LEN;
	memcpy(msg + n, name, strlen(name));
	n += strlen(name);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), token, (int)strlen(token), msg, n, out, &outlen));
	ck_assert_uint_eq(outlen, AUTH_MAC_LEN);
}

static void
assert_mac_eq(const uint8_t *got, const uint8_t *want)
{
	ck_assert_msg(memcmp(got, want, AUTH_MAC_LEN) == 0, "proofs differ");
}

START_TEST(test_matches_spec)
{
	static const char *const names[] = { "a", "edge-01",
		("a-name-of-exactly-64-bytes-" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") };
	uint8_t got[AUTH_MAC_LEN], want[AUTH_MAC_LEN];
	size_t i;

	ck_assert_uint_eq(strlen(names[2]), 64);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		auth_mac(AUTH_AGENT, "tok", server_nonce, client_nonce, names[i], got);
		spec_mac("rtun-v1 agent", "tok", names[i], want);
		assert_mac_eq(got, want);
		auth_mac(AUTH_SERVER, "tok", server_nonce, client_nonce, names[i], got);
		spec_mac("rtun-v1 server", "tok", names[i], want);
		assert_mac_eq(got, want);
	}
}
END_TEST

/*
 * A fixed vector, so a change in both auth.c and spec_mac() cannot go unseen.
 * Derived once with Python:
 *   msg = b"rtun-v1 agent\0" + bytes(range(0, 32)) + bytes(range(32, 64)) + b"edge-01"
 *   hmac.new(b"s3cret-token", msg, hashlib.sha256).hexdigest()
 * (and "rtun-v1 server" for the second), and confirmed with
 * `openssl dgst -sha256 -hmac s3cret-token` over the same bytes in a file.
 */
START_TEST(test_known_answer)
{
	static const uint8_t agent[AUTH_MAC_LEN] = {
		0xa7, 0x18, 0x4e, 0x2b, 0x54, 0x83, 0x9b, 0xee, 0xb3, 0x07, 0x47, 0xc7, 0xd2, 0x1a,
		0x5e, 0x32, 0xa7, 0x28, 0xef, 0x77, 0xf5, 0x62, 0x4e, 0xa1, 0x96, 0xf7, 0x25, 0xa6,
		0x4c, 0x9d, 0x91, 0x41,
	};
	static const uint8_t server[AUTH_MAC_LEN] = {
		0x6b, 0x7c, 0xa9, 0x2a, 0x63, 0xa2, 0x00, 0x55, 0x69, 0xbe, 0xc0, 0x90, 0x49, 0xfb,
		0xc1, 0x9e, 0x20, 0xb8, 0x49, 0x30, 0xe8, 0x07, 0x39, 0xc8, 0x0d, 0x31, 0x8d, 0xc2,
		0x34, 0xdb, 0xa7, 0xbd,
	};
	uint8_t got[AUTH_MAC_LEN];

	auth_mac(AUTH_AGENT, "s3cret-token", server_nonce, client_nonce, "edge-01", got);
	assert_mac_eq(got, agent);
	auth_mac(AUTH_SERVER, "s3cret-token", server_nonce, client_nonce, "edge-01", got);
	assert_mac_eq(got, server);
}
END_TEST

/* Every input changes the proof: role, token, either nonce, name. */
START_TEST(test_inputs_matter)
{
	uint8_t base[AUTH_MAC_LEN], other[AUTH_MAC_LEN];

	auth_mac(AUTH_AGENT, "tok", server_nonce, client_nonce, "edge", base);
	auth_mac(AUTH_SERVER, "tok", server_nonce, client_nonce, "edge", other);
	ck_assert(!auth_verify(base, other, AUTH_MAC_LEN));
	auth_mac(AUTH_AGENT, "tok2", server_nonce, client_nonce, "edge", other);
	ck_assert(!auth_verify(base, other, AUTH_MAC_LEN));
	/* Swapping the nonces must not give the same proof. */
	auth_mac(AUTH_AGENT, "tok", client_nonce, server_nonce, "edge", other);
	ck_assert(!auth_verify(base, other, AUTH_MAC_LEN));
	auth_mac(AUTH_AGENT, "tok", server_nonce, client_nonce, "edgf", other);
	ck_assert(!auth_verify(base, other, AUTH_MAC_LEN));
	auth_mac(AUTH_AGENT, "tok", server_nonce, client_nonce, "edge", other);
	ck_assert(auth_verify(base, other, AUTH_MAC_LEN));
}
END_TEST

START_TEST(test_verify)
{
	uint8_t mac[AUTH_MAC_LEN], got[AUTH_MAC_LEN + 1];
	size_t bit;

	auth_mac(AUTH_AGENT, "tok", server_nonce, client_nonce, "edge", mac);
	memcpy(got, mac, AUTH_MAC_LEN);
	got[AUTH_MAC_LEN] = 0;
	ck_assert_int_eq(auth_verify(mac, got, AUTH_MAC_LEN), 1);
	ck_assert_int_eq(auth_verify(mac, got, 0), 0);
	ck_assert_int_eq(auth_verify(mac, got, AUTH_MAC_LEN - 1), 0);
	ck_assert_int_eq(auth_verify(mac, got, AUTH_MAC_LEN + 1), 0);
	for (bit = 0; bit < 8 * AUTH_MAC_LEN; bit++) {
		got[bit / 8] ^= (uint8_t)(1U << bit % 8);
		ck_assert_msg(auth_verify(mac, got, AUTH_MAC_LEN) == 0, "bit %zu ignored", bit);
		got[bit / 8] ^= (uint8_t)(1U << bit % 8);
	}
}
END_TEST

START_TEST(test_nonce)
{
	static const uint8_t zero[AUTH_NONCE_LEN];
	uint8_t a[AUTH_NONCE_LEN], b[AUTH_NONCE_LEN];

	auth_nonce(a);
	auth_nonce(b);
	ck_assert(memcmp(a, b, AUTH_NONCE_LEN) != 0);
	ck_assert(memcmp(a, zero, AUTH_NONCE_LEN) != 0);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_matches_spec);
	tcase_add_test(tc, test_known_answer);
	tcase_add_test(tc, test_inputs_matter);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_nonce);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(auth_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
