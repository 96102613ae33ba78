/*
 * CONTROL message building, encoding and validation. protobuf-c checks the
 * wire format; this file checks what the schema cannot say (sizes, names,
 * windows), so the rest of the code never sees a field it must check again.
 */
#include "rtun-build.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "control.h"
#include "frame.h"
#include "link.h"
#include "xmalloc.h"

void
control_append(struct buf *b, const Rtun__Control *msg)
{
	struct frame f;
	size_t len;
	uint8_t *p;

	len = rtun__control__get_packed_size(msg);
	p = xmalloc(len ? len : 1);
	rtun__control__pack(msg, p);
	memset(&f, 0, sizeof(f));
	f.type = FRAME_CONTROL;
	f.payload = p;
	f.payload_len = len;
	frame_append(b, &f);
	free(p);
}

/*
 * Queue m, the message of case c. protobuf-c keeps the members of the oneof
 * in one union of pointers, so storing through any member sets the one c
 * selects.
 */
static void
send_msg(struct link *l, Rtun__Control__MsgCase c, void *m)
{
	Rtun__Control msg = RTUN__CONTROL__INIT;

	msg.msg_case = c;
	msg.client_hello = m;
	link_send_control(l, &msg);
}

void
control_send_error(struct link *l, enum control_error code, const char *message)
{
	Rtun__Error err = RTUN__ERROR__INIT;

	err.code = code;
	err.message = (char *)message;
	send_msg(l, RTUN__CONTROL__MSG_ERROR, &err);
}

void
control_send_client_hello(struct link *l, const char *name, const uint8_t *nonce)
{
	Rtun__ClientHello h = RTUN__CLIENT_HELLO__INIT;

	h.version_min = CONTROL_VERSION_MIN;
	h.version_max = CONTROL_VERSION_MAX;
	h.name = (char *)name;
	h.nonce.data = (uint8_t *)nonce;
	h.nonce.len = AUTH_NONCE_LEN;
	h.software = PACKAGE_STRING;
	send_msg(l, RTUN__CONTROL__MSG_CLIENT_HELLO, &h);
}

void
control_send_server_hello(struct link *l, uint32_t version, const uint8_t *nonce)
{
	Rtun__ServerHello sh = RTUN__SERVER_HELLO__INIT;

	sh.version = version;
	sh.nonce.data = (uint8_t *)nonce;
	sh.nonce.len = AUTH_NONCE_LEN;
	sh.software = PACKAGE_STRING;
	send_msg(l, RTUN__CONTROL__MSG_SERVER_HELLO, &sh);
}

void
control_send_auth(struct link *l, const uint8_t *mac, uint32_t stream_window)
{
	Rtun__Auth auth = RTUN__AUTH__INIT;

	auth.mac.data = (uint8_t *)mac;
	auth.mac.len = AUTH_MAC_LEN;
	auth.stream_window = stream_window;
	send_msg(l, RTUN__CONTROL__MSG_AUTH, &auth);
}

/* AuthResult: ok with server_mac (AUTH_MAC_LEN bytes), or refused when server_mac is NULL. */
static void
send_auth_result(struct link *l, const uint8_t *server_mac, uint32_t stream_window,
    const char *message)
{
	Rtun__AuthResult ar = RTUN__AUTH_RESULT__INIT;

	ar.ok = server_mac != NULL;
	ar.message = (char *)message;
	if (server_mac != NULL) {
		ar.server_mac.data = (uint8_t *)server_mac;
		ar.server_mac.len = AUTH_MAC_LEN;
	}
	ar.stream_window = stream_window;
	send_msg(l, RTUN__CONTROL__MSG_AUTH_RESULT, &ar);
}

void
control_send_auth_ok(struct link *l, const uint8_t *server_mac, uint32_t stream_window)
{
	send_auth_result(l, server_mac, stream_window, "");
}

void
control_send_auth_refused(struct link *l, const char *message)
{
	send_auth_result(l, NULL, 0, message);
}

void
control_send_declare(struct link *l, Rtun__Service **services, size_t n)
{
	Rtun__Declare d = RTUN__DECLARE__INIT;

	d.n_services = n;
	d.services = services;
	send_msg(l, RTUN__CONTROL__MSG_DECLARE, &d);
}

void
control_send_declare_result(struct link *l, Rtun__ServiceResult **results, size_t n)
{
	Rtun__DeclareResult dr = RTUN__DECLARE_RESULT__INIT;

	dr.n_results = n;
	dr.results = results;
	send_msg(l, RTUN__CONTROL__MSG_DECLARE_RESULT, &dr);
}

int
control_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CONTROL_NAME_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static const char *
check_services(const Rtun__Declare *d)
{
	size_t i;

	if (d->n_services > CONTROL_SERVICES_MAX)
		return "too many services";
	for (i = 0; i < d->n_services; i++) {
		if (strlen(d->services[i]->name) > CONTROL_NAME_MAX)
			return "service name too long";
	}
	return NULL;
}

static const char *
check_results(const Rtun__DeclareResult *d)
{
	size_t i;

	if (d->n_results > CONTROL_SERVICES_MAX)
		return "too many results";
	for (i = 0; i < d->n_results; i++) {
		const Rtun__ServiceResult *r = d->results[i];

		if (strlen(r->reason) > 255)
			return "result text too long";
		/* A service refused for its bad name comes back with no name at all. */
		if (!control_name_valid(r->name) &&
		    (r->name[0] != '\0' || r->status != RTUN__SERVICE_STATUS__SERVICE_INVALID))
			return "bad service name in result";
	}
	return NULL;
}

/* True when w is a stream_window either side may grant. */
static int
window_valid(uint32_t w)
{
	return w >= CONFIG_WINDOW_MIN && w <= CONFIG_WINDOW_MAX;
}

static const char *
check_auth_result(const Rtun__AuthResult *ar)
{
	if (ar->ok && ar->server_mac.len != AUTH_MAC_LEN)
		return "bad server mac length";
	if (strlen(ar->message) > 255)
		return "message too long";
	/* A refusal carries neither a proof nor a window. */
	if (ar->ok && !window_valid(ar->stream_window))
		return "stream_window out of range";
	return NULL;
}

/* What the schema cannot say; NULL when the message is acceptable. */
static const char *
control_check(const Rtun__Control *m)
{
	switch (m->msg_case) {
	case RTUN__CONTROL__MSG_CLIENT_HELLO:
		if (!control_name_valid(m->client_hello->name))
			return "bad agent name";
		if (m->client_hello->nonce.len != AUTH_NONCE_LEN)
			return "bad nonce length";
		return NULL;
	case RTUN__CONTROL__MSG_SERVER_HELLO:
		return m->server_hello->nonce.len != AUTH_NONCE_LEN ? "bad nonce length" : NULL;
	case RTUN__CONTROL__MSG_AUTH:
		if (m->auth->mac.len != AUTH_MAC_LEN)
			return "bad mac length";
		return window_valid(m->auth->stream_window) ? NULL : "stream_window out of range";
	case RTUN__CONTROL__MSG_AUTH_RESULT:
		return check_auth_result(m->auth_result);
	case RTUN__CONTROL__MSG_DECLARE:
		return check_services(m->declare);
	case RTUN__CONTROL__MSG_DECLARE_RESULT:
		return check_results(m->declare_result);
	case RTUN__CONTROL__MSG_ERROR:
		return strlen(m->error->message) > 255 ? "message too long" : NULL;
	default:
		return "empty or unknown control message";
	}
}

Rtun__Control *
control_decode(const uint8_t *p, size_t len, const char **why)
{
	Rtun__Control *m;

	if ((m = rtun__control__unpack(NULL, len, p)) == NULL) {
		*why = "malformed protobuf";
		return NULL;
	}
	/*
	 * protobuf-c hands strings over NUL-terminated, so "ab\0cd" would read as
	 * "ab". Requiring the canonical encoding (re-encoded size equals the input's)
	 * rejects embedded NULs and any other encoding games.
	 */
	if (rtun__control__get_packed_size(m) != len)
		*why = "non-canonical encoding (embedded NUL?)";
	else
		*why = control_check(m);
	if (*why != NULL) {
		rtun__control__free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

void
control_free(Rtun__Control *msg)
{
	if (msg != NULL)
		rtun__control__free_unpacked(msg, NULL);
}

const char *
control_name(const Rtun__Control *m)
{
	switch (m->msg_case) {
	case RTUN__CONTROL__MSG_CLIENT_HELLO:
		return "ClientHello";
	case RTUN__CONTROL__MSG_SERVER_HELLO:
		return "ServerHello";
	case RTUN__CONTROL__MSG_AUTH:
		return "Auth";
	case RTUN__CONTROL__MSG_AUTH_RESULT:
		return "AuthResult";
	case RTUN__CONTROL__MSG_DECLARE:
		return "Declare";
	case RTUN__CONTROL__MSG_DECLARE_RESULT:
		return "DeclareResult";
	case RTUN__CONTROL__MSG_ERROR:
		return "Error";
	default:
		return "unknown";
	}
}
