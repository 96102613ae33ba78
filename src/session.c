/*
 * The handshake of doc/PROTOCOL.md as a small state machine per link: the
 * client waits for ServerHello, then AuthResult; the server waits for
 * ClientHello, then Auth. control.c has already checked every field (nonce
 * and MAC sizes, the name, the stream_window range), so only what needs the
 * session's state is checked here: versions and proofs.
 *
 * Every callback to the owner is the last thing a step does with the
 * session, or is followed only by ending the link, so that the owner may
 * free the session from its up callback or from the link's closed callback.
 */
#include "rtun-build.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "control.h"
#include "link.h"
#include "session.h"
#include "xmalloc.h"

enum session_state {
	SESSION_HELLO,   /* client: ClientHello sent; server: waiting for it */
	SESSION_AUTH,    /* client: Auth sent; server: ServerHello sent, waiting for Auth */
	SESSION_UP,
	SESSION_FAILED,
};

struct session {
	struct link *link;
	enum session_state state;
	char *secret;
	char *name;      /* the client's hello name: ours, or the peer's */
	uint8_t client_nonce[AUTH_NONCE_LEN];
	uint8_t server_nonce[AUTH_NONCE_LEN];
	const struct session_ops *ops;
	void *arg;
};

static int
session_is_server(const struct session *s)
{
	return link_params(s->link)->role == LINK_SERVER;
}

/* Tell the owner; the caller then ends the link and touches nothing else. */
static void
session_fail(struct session *s, enum session_error code, uint32_t vmin, uint32_t vmax,
    const char *message)
{
	struct session_failure f = {
		.code = code, .version_min = vmin, .version_max = vmax, .message = message,
	};

	s->state = SESSION_FAILED;
	s->ops->failed(s->arg, &f);
}

/* The proof of the side role over both nonces and the client's name. */
static void
session_mac(const struct session *s, enum auth_role role, uint8_t *out)
{
	auth_mac(role, s->secret, s->server_nonce, s->client_nonce, s->name, out);
}

static void
server_on_hello(struct session *s, const Rtun__ClientHello *h)
{
	struct link *l = s->link;

	s->name = xstrdup(h->name);
	if (s->ops->hello != NULL)
		s->ops->hello(s->arg, s->name);
	if (h->version_min > CONTROL_VERSION_MAX || h->version_max < CONTROL_VERSION_MIN) {
		session_fail(s, SESSION_ERR_VERSION, h->version_min, h->version_max, NULL);
		control_send_error(l, CONTROL_ERR_VERSION, "unsupported protocol version");
		link_close_after_flush(l, "unsupported protocol version");
		return;
	}
	memcpy(s->client_nonce, h->nonce.data, AUTH_NONCE_LEN);
	auth_nonce(s->server_nonce);
	control_send_server_hello(l,
	    CONTROL_VERSION_MAX < h->version_max ? CONTROL_VERSION_MAX : h->version_max,
	    s->server_nonce);
	s->state = SESSION_AUTH;
}

static void
server_on_auth(struct session *s, const Rtun__Auth *a)
{
	struct link *l = s->link;
	uint8_t mac[AUTH_MAC_LEN];

	session_mac(s, AUTH_AGENT, mac);
	if (!auth_verify(mac, a->mac.data, a->mac.len)) {
		session_fail(s, SESSION_ERR_PROOF, 0, 0, NULL);
		/* Nothing else is said about why (doc/PROTOCOL.md). */
		control_send_auth_refused(l, "authentication failed");
		link_send_goaway(l, FRAME_CODE_AUTH, "authentication failed");
		link_close_after_flush(l, "authentication failed");
		return;
	}
	link_set_authed(l, a->stream_window);
	session_mac(s, AUTH_SERVER, mac);
	control_send_auth_ok(l, mac, link_params(l)->stream_window);
	s->state = SESSION_UP;
	s->ops->up(s->arg, s->name, a->stream_window);
}

static void
client_on_hello(struct session *s, const Rtun__ServerHello *sh)
{
	struct link *l = s->link;
	uint8_t mac[AUTH_MAC_LEN];

	if (sh->version < CONTROL_VERSION_MIN || sh->version > CONTROL_VERSION_MAX) {
		session_fail(s, SESSION_ERR_VERSION, sh->version, sh->version, NULL);
		link_protocol_error(l, "server chose unsupported version %u", sh->version);
		return;
	}
	memcpy(s->server_nonce, sh->nonce.data, AUTH_NONCE_LEN);
	session_mac(s, AUTH_AGENT, mac);
	control_send_auth(l, mac, link_params(l)->stream_window);
	s->state = SESSION_AUTH;
}

static void
client_on_result(struct session *s, const Rtun__AuthResult *ar)
{
	struct link *l = s->link;
	uint8_t mac[AUTH_MAC_LEN];

	if (!ar->ok) {
		session_fail(s, SESSION_ERR_REFUSED, 0, 0, ar->message);
		link_close(l, FRAME_CODE_NONE, "authentication failed");
		return;
	}
	session_mac(s, AUTH_SERVER, mac);
	if (!auth_verify(mac, ar->server_mac.data, ar->server_mac.len)) {
		session_fail(s, SESSION_ERR_PROOF, 0, 0, NULL);
		link_close(l, FRAME_CODE_AUTH, "server proof failed");
		return;
	}
	link_set_authed(l, ar->stream_window);
	s->state = SESSION_UP;
	s->ops->up(s->arg, NULL, ar->stream_window);
}

struct session *
session_new(struct link *l, const char *secret, const char *name,
    const struct session_ops *ops, void *arg)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->link = l;
	s->state = SESSION_HELLO;
	s->secret = xstrdup(secret);
	s->ops = ops;
	s->arg = arg;
	if (session_is_server(s))
		return s;
	s->name = xstrdup(name);
	auth_nonce(s->client_nonce);
	link_send_raw(l, FRAME_PREFACE, FRAME_PREFACE_LEN);
	control_send_client_hello(l, s->name, s->client_nonce);
	return s;
}

int
session_control(struct session *s, const Rtun__Control *msg)
{
	Rtun__Control__MsgCase c = msg->msg_case;

	if (session_is_server(s)) {
		if (s->state == SESSION_HELLO && c == RTUN__CONTROL__MSG_CLIENT_HELLO)
			server_on_hello(s, msg->client_hello);
		else if (s->state == SESSION_AUTH && c == RTUN__CONTROL__MSG_AUTH)
			server_on_auth(s, msg->auth);
		else
			return 0;
		return 1;
	}
	if (s->state == SESSION_HELLO && c == RTUN__CONTROL__MSG_SERVER_HELLO)
		client_on_hello(s, msg->server_hello);
	else if (s->state == SESSION_AUTH && c == RTUN__CONTROL__MSG_AUTH_RESULT)
		client_on_result(s, msg->auth_result);
	else
		return 0;
	return 1;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s->secret, strlen(s->secret));
	free(s->secret);
	free(s->name);
	free(s);
}
