/*
 * HMAC-SHA256 challenge-response with OpenSSL.
 */
#include "rtun-build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth.h"
#include "log.h"

void
auth_nonce(uint8_t *out)
{
	if (RAND_bytes(out, AUTH_NONCE_LEN) != 1) {
		log_error("auth_nonce: the random number generator failed");
		abort();
	}
}

void
auth_mac(enum auth_role role, const char *token, const uint8_t *server_nonce,
    const uint8_t *client_nonce, const char *name, uint8_t *out)
{
	static const char agent_label[] = "rtun-v1 agent";
	static const char server_label[] = "rtun-v1 server";
	const char *label = role == AUTH_AGENT ? agent_label : server_label;
	uint8_t msg[sizeof(server_label) + 2 * AUTH_NONCE_LEN + 64];
	size_t n = 0, namelen = strnlen(name, 64);
	unsigned int outlen = AUTH_MAC_LEN;

	/* The label includes its NUL, which separates it from the nonces. */
	memcpy(msg + n, label, strlen(label) + 1);
	n += strlen(label) + 1;
	memcpy(msg + n, server_nonce, AUTH_NONCE_LEN);
	n += AUTH_NONCE_LEN;
	memcpy(msg + n, client_nonce, AUTH_NONCE_LEN);
	n += AUTH_NONCE_LEN;
	memcpy(msg + n, name, namelen);
	n += namelen;
	if (HMAC(EVP_sha256(), token, (int)strlen(token), msg, n, out, &outlen) == NULL) {
		log_error("auth_mac: HMAC-SHA256 failed");
		abort();
	}
}

int
auth_verify(const uint8_t *expected, const uint8_t *got, size_t got_len)
{
	if (got_len != AUTH_MAC_LEN)
		return 0;
	return CRYPTO_memcmp(expected, got, AUTH_MAC_LEN) == 0;
}
