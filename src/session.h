/*
 * A session: the hello, the version negotiation and the mutual proof of a
 * shared secret that turn a new link into an authenticated one
 * (doc/PROTOCOL.md, Handshake). It runs in the link's role, over any link,
 * with any secret: the client sends the preface and ClientHello and proves
 * first, the server answers and proves back. It speaks only the protocol;
 * what a failure costs the peer (back-off, counters, log lines) and what
 * success leads to is left to its owner.
 */
#ifndef RTUN_SESSION_H
#define RTUN_SESSION_H

#include <stdint.h>

#include "rtun.pb-c.h"

struct link;
struct session;

enum session_error {
	SESSION_ERR_VERSION,  /* no protocol version both speak */
	SESSION_ERR_PROOF,    /* the peer's proof of the secret is wrong */
	SESSION_ERR_REFUSED,  /* client role: the peer refused our proof */
};

/* Why a session failed, for the owner's policy and log lines. */
struct session_failure {
	enum session_error code;
	uint32_t version_min;  /* VERSION: what the peer speaks; a server's choice is min = max */
	uint32_t version_max;
	const char *message;   /* REFUSED: the peer's words, unescaped */
};

/* What a session tells its owner; arg is the one given to session_new(). */
struct session_ops {
	/* Server role: the peer's hello named it (the name is valid); may be NULL. */
	void (*hello)(void *arg, const char *name);
	/*
	 * Both sides proved the secret and the link is authenticated. peer_name is
	 * the client's hello name in the server role, NULL in the client role. The
	 * owner may free the session here.
	 */
	void (*up)(void *arg, const char *peer_name, uint32_t peer_window);
	/*
	 * The handshake failed. Once this returns, the session ends the link the
	 * way the protocol says (at once, or after what the peer is owed is
	 * flushed), so the owner must not close the link or free the session here.
	 */
	void (*failed)(void *arg, const struct session_failure *f);
};

/*
 * Start a session on a link that has not carried anything yet, in the link's
 * role; a client queues its preface and hello at once. name is the name a
 * client says hello with (NULL for a server). secret and name are copied.
 */
struct session *session_new(struct link *l, const char *secret, const char *name,
    const struct session_ops *ops, void *arg);
/*
 * Offer a CONTROL message to the session: 1 if it was the next step of the
 * handshake (the caller still frees it; the session, its link and the owner
 * may be gone), 0 if the caller must deal with it.
 */
int session_control(struct session *s, const Rtun__Control *msg);
/* Free a session (NULL is fine); the secret is wiped. */
void session_free(struct session *s);

#endif
