/*
 * Token proofs. The token never crosses the wire: the agent proves it knows
 * the token with HMAC-SHA256 over both nonces and its name, and the server
 * proves it back the same way with a different label, so neither side can be
 * impersonated by a peer that only replays what it saw.
 */
#ifndef RTUN_AUTH_H
#define RTUN_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_NONCE_LEN 32
#define AUTH_MAC_LEN 32

enum auth_role {
	AUTH_AGENT,   /* the agent's proof, label "rtun-v1 agent" */
	AUTH_SERVER,  /* the server's proof, label "rtun-v1 server" */
};

/* Fill out with AUTH_NONCE_LEN random bytes (dies if the CSPRNG fails). */
void auth_nonce(uint8_t *out);
/* Compute a proof: HMAC-SHA256(token, label | 0 | server_nonce | client_nonce | name). */
void auth_mac(enum auth_role role, const char *token, const uint8_t *server_nonce,
    const uint8_t *client_nonce, const char *name, uint8_t *out);
/* Constant-time check that got (got_len bytes) equals the expected proof; 1 if equal. */
int auth_verify(const uint8_t *expected, const uint8_t *got, size_t got_len);

#endif
