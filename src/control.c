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
#include "net.h"
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
	/* This agent serves route streams (agent-route.c), refusing what allow_connect does not have. */
	d.routes = 1;
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

void
control_send_punch_request(struct link *l, const char *peer, const char *service)
{
	Rtun__PunchRequest r = RTUN__PUNCH_REQUEST__INIT;

	r.peer = (char *)peer;
	r.service = (char *)service;
	send_msg(l, RTUN__CONTROL__MSG_PUNCH_REQUEST, &r);
}

void
control_send_punch_refused(struct link *l, const char *peer, const char *service,
    const char *reason)
{
	Rtun__PunchRefused r = RTUN__PUNCH_REFUSED__INIT;

	r.peer = (char *)peer;
	r.service = (char *)service;
	r.reason = (char *)reason;
	send_msg(l, RTUN__CONTROL__MSG_PUNCH_REFUSED, &r);
}

void
control_send_punch_session(struct link *l, const uint8_t *session, const uint8_t *key,
    const char *peer, const char *service, int visitor)
{
	Rtun__PunchSession ps = RTUN__PUNCH_SESSION__INIT;

	ps.session.data = (uint8_t *)session;
	ps.session.len = CONTROL_SESSION_LEN;
	ps.key.data = (uint8_t *)key;
	ps.key.len = CONTROL_KEY_LEN;
	ps.peer = (char *)peer;
	ps.service = (char *)service;
	ps.visitor = visitor != 0;
	send_msg(l, RTUN__CONTROL__MSG_PUNCH_SESSION, &ps);
}

void
control_send_punch_go(struct link *l, const uint8_t *session, char **addrs, size_t n)
{
	Rtun__PunchGo g = RTUN__PUNCH_GO__INIT;

	g.session.data = (uint8_t *)session;
	g.session.len = CONTROL_SESSION_LEN;
	g.addrs = addrs;
	g.n_addrs = n;
	send_msg(l, RTUN__CONTROL__MSG_PUNCH_GO, &g);
}

void
control_send_punch_done(struct link *l, const uint8_t *session, int ok, const char *reason)
{
	Rtun__PunchDone d = RTUN__PUNCH_DONE__INIT;

	d.session.data = (uint8_t *)session;
	d.session.len = CONTROL_SESSION_LEN;
	d.ok = ok != 0;
	d.reason = (char *)reason;
	send_msg(l, RTUN__CONTROL__MSG_PUNCH_DONE, &d);
}

int
control_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CONTROL_NAME_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int
control_service_type_known(uint32_t type)
{
	return type == RTUN__SERVICE_TYPE__SERVICE_TCP || type == RTUN__SERVICE_TYPE__SERVICE_UDP ||
	    type == RTUN__SERVICE_TYPE__SERVICE_HTTP || type == RTUN__SERVICE_TYPE__SERVICE_HTTPS;
}

int
control_service_type_web(uint32_t type)
{
	return type == RTUN__SERVICE_TYPE__SERVICE_HTTP || type == RTUN__SERVICE_TYPE__SERVICE_HTTPS;
}

const char *
control_service_type_name(uint32_t type)
{
	switch (type) {
	case RTUN__SERVICE_TYPE__SERVICE_TCP:
		return "tcp";
	case RTUN__SERVICE_TYPE__SERVICE_UDP:
		return "udp";
	case RTUN__SERVICE_TYPE__SERVICE_HTTP:
		return "http";
	case RTUN__SERVICE_TYPE__SERVICE_HTTPS:
		return "https";
	default:
		return "?";
	}
}

static const char *
check_services(const Rtun__Declare *d)
{
	size_t i;

	if (d->n_services > CONTROL_SERVICES_MAX)
		return "too many services";
	for (i = 0; i < d->n_services; i++) {
		const Rtun__Service *svc = d->services[i];
		size_t j;

		if (strlen(svc->name) > CONTROL_NAME_MAX)
			return "service name too long";
		if (svc->n_allow_peers > CONTROL_ALLOW_PEERS_MAX)
			return "too many allow_peers";
		if (!svc->p2p && svc->n_allow_peers > 0)
			return "allow_peers without p2p";
		if (svc->p2p && svc->type != RTUN__SERVICE_TYPE__SERVICE_TCP)
			return "p2p on a service that is not tcp";
		if (svc->n_hosts > CONTROL_HOSTS_MAX)
			return "too many hosts";
		for (j = 0; j < svc->n_hosts; j++) {
			if (strlen(svc->hosts[j]) > CONTROL_HOST_MAX)
				return "host name too long";
		}
		for (j = 0; j < svc->n_allow_peers; j++) {
			if (!control_name_valid(svc->allow_peers[j]))
				return "bad agent name in allow_peers";
		}
	}
	return NULL;
}

/* Text a peer may send for logs: bounded like every other string on the wire. */
static int
text_valid(const char *s)
{
	return strlen(s) <= FRAME_TEXT_MAX;
}

static const char *
check_punch_go(const Rtun__PunchGo *g)
{
	struct net_addr a;
	size_t i;

	if (g->session.len != CONTROL_SESSION_LEN)
		return "bad session length";
	if (g->n_addrs < 1 || g->n_addrs > CONTROL_PUNCH_ADDRS_MAX)
		return "bad number of punch addresses";
	for (i = 0; i < g->n_addrs; i++) {
		if (net_parse_numeric(g->addrs[i], &a) == -1)
			return "bad punch address";
	}
	return NULL;
}

static const char *
check_punch(const Rtun__Control *m)
{
	switch (m->msg_case) {
	case RTUN__CONTROL__MSG_PUNCH_REQUEST:
		return control_name_valid(m->punch_request->peer) &&
		    control_name_valid(m->punch_request->service) ? NULL : "bad name";
	case RTUN__CONTROL__MSG_PUNCH_REFUSED:
		return control_name_valid(m->punch_refused->peer) &&
		    control_name_valid(m->punch_refused->service) &&
		    text_valid(m->punch_refused->reason) ? NULL : "bad name or reason";
	case RTUN__CONTROL__MSG_PUNCH_SESSION:
		if (m->punch_session->session.len != CONTROL_SESSION_LEN ||
		    m->punch_session->key.len != CONTROL_KEY_LEN)
			return "bad session or key length";
		return control_name_valid(m->punch_session->peer) &&
		    control_name_valid(m->punch_session->service) ? NULL : "bad name";
	case RTUN__CONTROL__MSG_PUNCH_GO:
		return check_punch_go(m->punch_go);
	case RTUN__CONTROL__MSG_PUNCH_DONE:
		if (m->punch_done->session.len != CONTROL_SESSION_LEN)
			return "bad session length";
		return text_valid(m->punch_done->reason) ? NULL : "reason too long";
	default:
		return "empty or unknown control message";
	}
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
		return check_punch(m);
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
	case RTUN__CONTROL__MSG_PUNCH_REQUEST:
		return "PunchRequest";
	case RTUN__CONTROL__MSG_PUNCH_REFUSED:
		return "PunchRefused";
	case RTUN__CONTROL__MSG_PUNCH_SESSION:
		return "PunchSession";
	case RTUN__CONTROL__MSG_PUNCH_GO:
		return "PunchGo";
	case RTUN__CONTROL__MSG_PUNCH_DONE:
		return "PunchDone";
	default:
		return "unknown";
	}
}
