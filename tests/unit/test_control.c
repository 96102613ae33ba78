/*
 * Unit tests of src/control.c: every message type goes out as a CONTROL
 * frame through control_append(), comes back through frame_decode() and
 * control_decode() unchanged, and every check beyond the schema refuses what
 * it must (bad protobuf, no message, wrong nonce or mac sizes, a stream_window
 * out of range, bad agent and result names, too many services, over-long text,
 * allow_peers without p2p or with a bad name, a rendezvous's session and key
 * of the wrong size, a PunchGo with no address, too many, or one not numeric).
 */
#include "rtun-build.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "control.h"
#include "frame.h"

static uint8_t nonce[AUTH_NONCE_LEN + 1];
static char long_name[80];

static Rtun__ClientHello client_hello = RTUN__CLIENT_HELLO__INIT;
static Rtun__ServerHello server_hello = RTUN__SERVER_HELLO__INIT;
static Rtun__Auth auth = RTUN__AUTH__INIT;
static Rtun__AuthResult auth_result = RTUN__AUTH_RESULT__INIT;
static Rtun__Declare declare = RTUN__DECLARE__INIT;
static Rtun__DeclareResult declare_result = RTUN__DECLARE_RESULT__INIT;
static Rtun__Error error = RTUN__ERROR__INIT;
static Rtun__PunchRequest punch_request = RTUN__PUNCH_REQUEST__INIT;
static Rtun__PunchRefused punch_refused = RTUN__PUNCH_REFUSED__INIT;
static Rtun__PunchSession punch_session = RTUN__PUNCH_SESSION__INIT;
static Rtun__PunchGo punch_go = RTUN__PUNCH_GO__INIT;
static Rtun__PunchDone punch_done = RTUN__PUNCH_DONE__INIT;
static Rtun__Control control = RTUN__CONTROL__INIT;

static Rtun__Service services[CONTROL_SERVICES_MAX + 1];
static Rtun__Service *service_ptrs[CONTROL_SERVICES_MAX + 1];
static Rtun__ServiceResult results[2];
static Rtun__ServiceResult *result_ptrs[2];
static uint8_t session_id[CONTROL_SESSION_LEN + 1];
static uint8_t key[CONTROL_KEY_LEN + 1];
static char *allow[CONTROL_ALLOW_PEERS_MAX + 1];
static char *addrs[CONTROL_PUNCH_ADDRS_MAX + 1];

/* Valid rendezvous messages, and a p2p service among the declared ones. */
static void
setup_punch(void)
{
	size_t i;

	for (i = 0; i < sizeof(session_id); i++)
		session_id[i] = (uint8_t)(0x10 + i);
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x80 + i);
	for (i = 0; i <= CONTROL_ALLOW_PEERS_MAX; i++)
		allow[i] = i % 2 ? "ci-runner" : "laptop";
	for (i = 0; i <= CONTROL_PUNCH_ADDRS_MAX; i++)
		addrs[i] = i % 2 ? "[2001:db8::1]:40001" : "198.51.100.7:40000";
	services[1].p2p = 1;
	services[1].allow_peers = allow;
	services[1].n_allow_peers = 2;
	punch_request = (Rtun__PunchRequest)RTUN__PUNCH_REQUEST__INIT;
	punch_request.peer = "edge-02";
	punch_request.service = "web";
	punch_refused = (Rtun__PunchRefused)RTUN__PUNCH_REFUSED__INIT;
	punch_refused.peer = "edge-02";
	punch_refused.service = "web";
	punch_refused.reason = "agent edge-02 does not allow laptop to visit service web";
	punch_session = (Rtun__PunchSession)RTUN__PUNCH_SESSION__INIT;
	punch_session.session.data = session_id;
	punch_session.session.len = CONTROL_SESSION_LEN;
	punch_session.key.data = key;
	punch_session.key.len = CONTROL_KEY_LEN;
	punch_session.peer = "edge-02";
	punch_session.service = "web";
	punch_session.visitor = 1;
	punch_go = (Rtun__PunchGo)RTUN__PUNCH_GO__INIT;
	punch_go.session = punch_session.session;
	punch_go.addrs = addrs;
	punch_go.n_addrs = 2;
	punch_done = (Rtun__PunchDone)RTUN__PUNCH_DONE__INIT;
	punch_done.session = punch_session.session;
	punch_done.reason = "no direct connection: connect to 198.51.100.7:40000: refused";
}

/* Fill every message with valid values that differ from the defaults. */
static void
setup(void)
{
	size_t i;

	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	memset(long_name, 'n', sizeof(long_name) - 1);
	client_hello = (Rtun__ClientHello)RTUN__CLIENT_HELLO__INIT;
	client_hello.version_min = 1;
	client_hello.version_max = 7;
	client_hello.name = "edge-01.example";
	client_hello.nonce.data = nonce;
	client_hello.nonce.len = AUTH_NONCE_LEN;
	client_hello.software = "rtun 0.1.0";
	server_hello = (Rtun__ServerHello)RTUN__SERVER_HELLO__INIT;
	server_hello.version = 1;
	server_hello.nonce = client_hello.nonce;
	server_hello.software = "rtund 0.1.0";
	auth = (Rtun__Auth)RTUN__AUTH__INIT;
	auth.mac = client_hello.nonce;
	auth.stream_window = 256 * 1024;
	auth_result = (Rtun__AuthResult)RTUN__AUTH_RESULT__INIT;
	auth_result.ok = 1;
	auth_result.server_mac = client_hello.nonce;
	auth_result.stream_window = 16 * 1024;
	auth_result.message = "";
	for (i = 0; i <= CONTROL_SERVICES_MAX; i++) {
		services[i] = (Rtun__Service)RTUN__SERVICE__INIT;
		services[i].name = i % 2 ? "web" : "ssh";
		services[i].remote_port = (uint32_t)(2000 + i);
		service_ptrs[i] = &services[i];
	}
	declare = (Rtun__Declare)RTUN__DECLARE__INIT;
	declare.services = service_ptrs;
	declare.n_services = 2;
	for (i = 0; i < 2; i++) {
		results[i] = (Rtun__ServiceResult)RTUN__SERVICE_RESULT__INIT;
		results[i].name = services[i].name;
		results[i].remote_port = services[i].remote_port;
		results[i].status = i ? RTUN__SERVICE_STATUS__SERVICE_BIND_ERROR
				      : RTUN__SERVICE_STATUS__SERVICE_OK;
		results[i].reason = i ? "Address already in use" : "";
		result_ptrs[i] = &results[i];
	}
	declare_result = (Rtun__DeclareResult)RTUN__DECLARE_RESULT__INIT;
	declare_result.results = result_ptrs;
	declare_result.n_results = 2;
	error = (Rtun__Error)RTUN__ERROR__INIT;
	error.code = CONTROL_ERR_VERSION;
	error.message = "no common version";
	setup_punch();
}

/* The message of each case, indexed by Rtun__Control__MsgCase. */
static void *const messages[] = {
	NULL, &client_hello, &server_hello, &auth, &auth_result, &declare, &declare_result,
	&error, &punch_request, &punch_refused, &punch_session, &punch_go, &punch_done,
};

/*
 * Point control at message case i. protobuf-c keeps the oneof members in one
 * union of pointers, so storing through any member sets the one i selects.
 */
static Rtun__Control *
select_msg(int i)
{
	control = (Rtun__Control)RTUN__CONTROL__INIT;
	control.msg_case = (Rtun__Control__MsgCase)i;
	control.client_hello = messages[i];
	return &control;
}

/* Pack m and decode it again; *why is set when refused. */
static Rtun__Control *
repack(const Rtun__Control *m, const char **why)
{
	size_t len = rtun__control__get_packed_size(m);
	uint8_t *p = malloc(len ? len : 1);
	Rtun__Control *out;

	ck_assert_ptr_nonnull(p);
	rtun__control__pack(m, p);
	out = control_decode(p, len, why);
	free(p);
	return out;
}

/* control_decode() accepts m. */
static void
assert_accepted(const Rtun__Control *m)
{
	const char *why = NULL;
	Rtun__Control *got;

	got = repack(m, &why);
	ck_assert_msg(got != NULL, "%s refused: %s", control_name(m), why);
	control_free(got);
}

/* control_decode() refuses m with a reason containing want. */
static void
assert_refused(const Rtun__Control *m, const char *want)
{
	const char *why = NULL;

	ck_assert_ptr_null(repack(m, &why));
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, want) != NULL, "refused with \"%s\", want \"%s\"", why, want);
}

/* a and b pack to the same bytes: equal field by field. */
static void
assert_same_message(const Rtun__Control *a, const Rtun__Control *b)
{
	size_t alen = rtun__control__get_packed_size(a);
	size_t blen = rtun__control__get_packed_size(b);
	uint8_t *ap = malloc(alen + 1), *bp = malloc(blen + 1);

	ck_assert_uint_eq(alen, blen);
	rtun__control__pack(a, ap);
	rtun__control__pack(b, bp);
	ck_assert_int_eq(memcmp(ap, bp, alen), 0);
	free(ap);
	free(bp);
}

static const char *const names[] = {
	"unknown", "ClientHello", "ServerHello", "Auth", "AuthResult", "Declare",
	"DeclareResult", "Error", "PunchRequest", "PunchRefused", "PunchSession", "PunchGo",
	"PunchDone",
};

/* Each message survives control_append -> frame_decode -> control_decode. */
START_TEST(test_round_trip)
{
	struct frame_decoder dec;
	const Rtun__Control *want = select_msg(_i);
	Rtun__Control *got;
	const char *why = NULL;
	struct frame f;
	struct buf b;
	size_t used;

	buf_init(&b);
	frame_decoder_init(&dec);
	control_append(&b, want);
	ck_assert_int_eq(frame_decode(&dec, buf_ptr(&b), buf_len(&b), &f, &used), FRAME_OK);
	ck_assert_uint_eq(used, buf_len(&b));
	ck_assert_int_eq(f.type, FRAME_CONTROL);
	ck_assert_uint_eq(f.stream, 0);
	got = control_decode(f.payload, f.payload_len, &why);
	ck_assert_msg(got != NULL, "%s refused: %s", names[_i], why);
	ck_assert_int_eq(got->msg_case, want->msg_case);
	ck_assert_str_eq(control_name(got), names[_i]);
	assert_same_message(got, want);
	control_free(got);
	frame_decoder_free(&dec);
	buf_free(&b);
}
END_TEST

/* Spot-check decoded fields, not only the re-encoding. */
START_TEST(test_decoded_fields)
{
	const char *why;
	Rtun__Control *m;

	m = repack(select_msg(RTUN__CONTROL__MSG_CLIENT_HELLO), &why);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->client_hello->version_max, 7);
	ck_assert_str_eq(m->client_hello->name, "edge-01.example");
	ck_assert_uint_eq(m->client_hello->nonce.len, AUTH_NONCE_LEN);
	ck_assert_int_eq(memcmp(m->client_hello->nonce.data, nonce, AUTH_NONCE_LEN), 0);
	control_free(m);
	m = repack(select_msg(RTUN__CONTROL__MSG_DECLARE_RESULT), &why);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->declare_result->n_results, 2);
	ck_assert_uint_eq(m->declare_result->results[1]->remote_port, 2001);
	ck_assert_int_eq(m->declare_result->results[1]->status,
	    RTUN__SERVICE_STATUS__SERVICE_BIND_ERROR);
	ck_assert_str_eq(m->declare_result->results[1]->reason, "Address already in use");
	control_free(m);
	control_free(NULL);
}
END_TEST

START_TEST(test_garbage)
{
	static const char *const inputs[] = {
		"\xff\xff\xff\xff",        /* varint tag that never ends */
		"\x0a\x05\x1a\x03",        /* client_hello longer than the input */
		"\x0a",                    /* tag with no length */
		"\x0b\x01",                /* wire type 3 (start group) */
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		why = NULL;
		ck_assert_ptr_null(control_decode((const uint8_t *)inputs[i], strlen(inputs[i]),
		    &why));
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

/* A Control with no message inside: zero bytes, or only an unknown field. */
START_TEST(test_empty)
{
	const char *why = NULL;

	ck_assert_ptr_null(control_decode((const uint8_t *)"", 0, &why));
	ck_assert_ptr_nonnull(why);
	why = NULL;
	ck_assert_ptr_null(control_decode((const uint8_t *)"\x40\x01", 2, &why));
	ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_nonce_and_mac_length)
{
	static const size_t bad[] = { 0, AUTH_NONCE_LEN - 1, AUTH_NONCE_LEN + 1 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		client_hello.nonce.len = server_hello.nonce.len = bad[i];
		auth.mac.len = auth_result.server_mac.len = bad[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_CLIENT_HELLO), "nonce");
		assert_refused(select_msg(RTUN__CONTROL__MSG_SERVER_HELLO), "nonce");
		assert_refused(select_msg(RTUN__CONTROL__MSG_AUTH), "mac");
		assert_refused(select_msg(RTUN__CONTROL__MSG_AUTH_RESULT), "mac");
	}
	/* A refusal carries no proof, so none is checked. */
	auth_result.ok = 0;
	auth_result.message = "authentication failed";
	assert_accepted(select_msg(RTUN__CONTROL__MSG_AUTH_RESULT));
}
END_TEST

/* Both windows are checked at the bounds; a refusal carries none. */
START_TEST(test_stream_window)
{
	auth.stream_window = 16 * 1024;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_AUTH));
	auth.stream_window = 16 * 1024 * 1024;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_AUTH));
	auth.stream_window = 16 * 1024 - 1;
	assert_refused(select_msg(RTUN__CONTROL__MSG_AUTH), "stream_window out of range");
	auth.stream_window = 16 * 1024 * 1024 + 1;
	assert_refused(select_msg(RTUN__CONTROL__MSG_AUTH), "stream_window out of range");
	auth_result.stream_window = 0;
	assert_refused(select_msg(RTUN__CONTROL__MSG_AUTH_RESULT), "stream_window out of range");
	auth_result.ok = 0;
	auth_result.server_mac.len = 0;
	auth_result.message = "authentication failed";
	assert_accepted(select_msg(RTUN__CONTROL__MSG_AUTH_RESULT));
}
END_TEST

START_TEST(test_agent_name)
{
	static const char *const bad[] = { "", "a b", "a/b", "caf\xc3\xa9", "a\n", long_name };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		client_hello.name = (char *)bad[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_CLIENT_HELLO), "name");
	}
}
END_TEST

/*
 * A name with a NUL inside ("ab\0cd") is not [A-Za-z0-9._-]{1,64}: it must
 * not be accepted as "ab". Built by hand since protobuf-c packs C strings.
 */
START_TEST(test_agent_name_nul)
{
	uint8_t msg[64] = { 0x0a, 0x00, 0x1a, 0x05, 'a', 'b', 0, 'c', 'd', 0x22, AUTH_NONCE_LEN };
	const char *why = NULL;
	Rtun__Control *m;

	msg[1] = 9 + AUTH_NONCE_LEN;
	memcpy(msg + 11, nonce, AUTH_NONCE_LEN);
	m = control_decode(msg, 11 + AUTH_NONCE_LEN, &why);
	ck_assert_msg(m == NULL, "agent name \"%s\" with an embedded NUL accepted",
	    m != NULL ? m->client_hello->name : "");
}
END_TEST

START_TEST(test_services)
{
	declare.n_services = CONTROL_SERVICES_MAX;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_DECLARE));
	declare.n_services = CONTROL_SERVICES_MAX + 1;
	assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE), "too many");
	declare.n_services = 2;
	services[1].name = long_name;
	assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE), "name");
}
END_TEST

/* DeclareResult names are names; only a result for a bad name may have none. */
START_TEST(test_result_names)
{
	static const char *const bad[] = { "a\nb", "ssh\x1b[2J", "caf\xc3\xa9", "a b", "" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		results[1].name = (char *)bad[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE_RESULT), "name");
	}
	results[1].name = "";
	results[1].status = RTUN__SERVICE_STATUS__SERVICE_INVALID;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_DECLARE_RESULT));
	results[1].name = "a\nb";
	assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE_RESULT), "name");
}
END_TEST

START_TEST(test_long_text)
{
	char text[257];

	memset(text, 't', sizeof(text) - 1);
	text[256] = '\0';
	error.message = text;
	assert_refused(select_msg(RTUN__CONTROL__MSG_ERROR), "too long");
	auth_result.message = text;
	assert_refused(select_msg(RTUN__CONTROL__MSG_AUTH_RESULT), "too long");
	results[0].reason = text;
	assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE_RESULT), "too long");
	text[255] = '\0';
	error.message = text;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_ERROR));
}
END_TEST

START_TEST(test_name_valid)
{
	static const char *const good[] = { "a", "Z", "0", "a.b-c_d", "...", "-", "_x" };
	static const char *const bad[] = { "", " ", "a b", "a:b", "a/b", "a@b", "a\tb",
		"caf\xc3\xa9", "a\x7f", "~" };
	char name[66];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(control_name_valid(good[i]), "\"%s\" refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!control_name_valid(bad[i]), "\"%s\" accepted", bad[i]);
	memset(name, 'x', 65);
	name[65] = '\0';
	ck_assert(!control_name_valid(name));
	name[64] = '\0';
	ck_assert(control_name_valid(name));
}
END_TEST

/* allow_peers: only with p2p, at most CONTROL_ALLOW_PEERS_MAX, each a valid agent name. */
START_TEST(test_allow_peers)
{
	static char *const bad[] = { "", "a b", "a/b", "caf\xc3\xa9", "a\n", long_name };
	size_t i;

	services[1].n_allow_peers = 1;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_DECLARE));
	services[1].n_allow_peers = CONTROL_ALLOW_PEERS_MAX;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_DECLARE));
	services[1].n_allow_peers = CONTROL_ALLOW_PEERS_MAX + 1;
	assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE), "too many allow_peers");
	services[1].n_allow_peers = 2;
	services[1].p2p = 0;
	assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE), "allow_peers without p2p");
	/* p2p with nobody allowed is pointless but harmless: the config refuses it. */
	services[1].n_allow_peers = 0;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_DECLARE));
	services[1].p2p = 1;
	services[1].n_allow_peers = 3;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		allow[2] = bad[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE),
		    "bad agent name in allow_peers");
	}
	allow[2] = "a.b-c_d";
	assert_accepted(select_msg(RTUN__CONTROL__MSG_DECLARE));
}
END_TEST

/* hosts: at most CONTROL_HOSTS_MAX, each at most CONTROL_HOST_MAX bytes (checked by rtund). */
START_TEST(test_hosts)
{
	static char *hosts[CONTROL_HOSTS_MAX + 1];
	static char longest[CONTROL_HOST_MAX + 2];
	size_t i;

	for (i = 0; i < CONTROL_HOSTS_MAX + 1; i++)
		hosts[i] = "a.example";
	services[0].type = RTUN__SERVICE_TYPE__SERVICE_HTTP;
	services[0].remote_port = 0;
	services[0].hosts = hosts;
	services[0].n_hosts = CONTROL_HOSTS_MAX;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_DECLARE));
	services[0].n_hosts = CONTROL_HOSTS_MAX + 1;
	assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE), "too many hosts");
	memset(longest, 'a', CONTROL_HOST_MAX + 1);
	hosts[3] = longest;
	services[0].n_hosts = 4;
	assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE), "host name too long");
	longest[CONTROL_HOST_MAX] = '\0';
	assert_accepted(select_msg(RTUN__CONTROL__MSG_DECLARE));
}
END_TEST

/*
 * Service.type: known and unknown values decode (the server refuses an
 * unknown one per service, keeping the link), p2p is for TCP services only,
 * and the result echoes the type.
 */
START_TEST(test_service_type)
{
	Rtun__Control *m;
	const char *why = NULL;

	ck_assert(control_service_type_known(RTUN__SERVICE_TYPE__SERVICE_TCP));
	ck_assert(control_service_type_known(RTUN__SERVICE_TYPE__SERVICE_UDP));
	ck_assert(control_service_type_known(RTUN__SERVICE_TYPE__SERVICE_HTTP));
	ck_assert(control_service_type_known(RTUN__SERVICE_TYPE__SERVICE_HTTPS));
	ck_assert(!control_service_type_known(4));
	ck_assert_str_eq(control_service_type_name(RTUN__SERVICE_TYPE__SERVICE_UDP), "udp");
	ck_assert_str_eq(control_service_type_name(RTUN__SERVICE_TYPE__SERVICE_HTTPS), "https");
	ck_assert_str_eq(control_service_type_name(RTUN__SERVICE_TYPE__SERVICE_TCP), "tcp");
	ck_assert_str_eq(control_service_type_name(7), "?");
	services[0].type = RTUN__SERVICE_TYPE__SERVICE_UDP;
	services[1].type = (Rtun__ServiceType)7;
	services[1].p2p = 0;
	services[1].n_allow_peers = 0;
	m = repack(select_msg(RTUN__CONTROL__MSG_DECLARE), &why);
	ck_assert_msg(m != NULL, "refused: %s", why);
	ck_assert_int_eq(m->declare->services[0]->type, RTUN__SERVICE_TYPE__SERVICE_UDP);
	ck_assert_int_eq(m->declare->services[1]->type, 7);
	control_free(m);
	services[0].p2p = 1;
	assert_refused(select_msg(RTUN__CONTROL__MSG_DECLARE), "p2p on a service that is not tcp");
	services[0].type = RTUN__SERVICE_TYPE__SERVICE_TCP;
	services[1].type = RTUN__SERVICE_TYPE__SERVICE_TCP;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_DECLARE));
	results[0].type = RTUN__SERVICE_TYPE__SERVICE_UDP;
	m = repack(select_msg(RTUN__CONTROL__MSG_DECLARE_RESULT), &why);
	ck_assert_msg(m != NULL, "refused: %s", why);
	ck_assert_int_eq(m->declare_result->results[0]->type, RTUN__SERVICE_TYPE__SERVICE_UDP);
	control_free(m);
}
END_TEST

/* Session ids and keys have exactly their size, in every message that carries them. */
START_TEST(test_punch_lengths)
{
	static const size_t bad_session[] = { 0, CONTROL_SESSION_LEN - 1, CONTROL_SESSION_LEN + 1 };
	static const size_t bad_key[] = { 0, CONTROL_KEY_LEN - 1, CONTROL_KEY_LEN + 1 };
	size_t i;

	for (i = 0; i < sizeof(bad_session) / sizeof(bad_session[0]); i++) {
		punch_session.session.len = punch_go.session.len = bad_session[i];
		punch_done.session.len = bad_session[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_SESSION), "session or key length");
		assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_GO), "session length");
		assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_DONE), "session length");
	}
	punch_session.session.len = CONTROL_SESSION_LEN;
	for (i = 0; i < sizeof(bad_key) / sizeof(bad_key[0]); i++) {
		punch_session.key.len = bad_key[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_SESSION), "session or key length");
	}
	punch_session.key.len = CONTROL_KEY_LEN;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_PUNCH_SESSION));
}
END_TEST

/* A PunchGo lists 1 to CONTROL_PUNCH_ADDRS_MAX numeric "ip:port" endpoints. */
START_TEST(test_punch_go_addrs)
{
	static char *const bad[] = { "peer.example:40000", "198.51.100.7", "198.51.100.7:",
		"198.51.100.7:http", "198.51.100.7:65536", "2001:db8::1:40001", "", "[::1]" };
	static char *const good[] = { "198.51.100.7:1", "[::1]:65535", "127.0.0.1:40000" };
	size_t i;

	punch_go.n_addrs = 0;
	assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_GO), "number of punch addresses");
	punch_go.n_addrs = CONTROL_PUNCH_ADDRS_MAX + 1;
	assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_GO), "number of punch addresses");
	punch_go.n_addrs = 1;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_PUNCH_GO));
	punch_go.n_addrs = CONTROL_PUNCH_ADDRS_MAX;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_PUNCH_GO));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		addrs[CONTROL_PUNCH_ADDRS_MAX - 1] = bad[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_GO), "bad punch address");
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		addrs[CONTROL_PUNCH_ADDRS_MAX - 1] = good[i];
		assert_accepted(select_msg(RTUN__CONTROL__MSG_PUNCH_GO));
	}
}
END_TEST

/* Names in the rendezvous messages are names; free text is bounded. */
START_TEST(test_punch_names)
{
	static char *const bad[] = { "", "a b", "a\nb", "caf\xc3\xa9", long_name };
	char text[FRAME_TEXT_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup_punch();
		punch_request.peer = bad[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_REQUEST), "bad name");
		punch_request.peer = "edge-02";
		punch_request.service = bad[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_REQUEST), "bad name");
		punch_refused.peer = bad[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_REFUSED), "bad name");
		punch_session.service = bad[i];
		assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_SESSION), "bad name");
	}
	memset(text, 't', sizeof(text) - 1);
	text[FRAME_TEXT_MAX + 1] = '\0';
	setup_punch();
	punch_refused.reason = text;
	assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_REFUSED), "reason");
	punch_done.reason = text;
	assert_refused(select_msg(RTUN__CONTROL__MSG_PUNCH_DONE), "too long");
	text[FRAME_TEXT_MAX] = '\0';
	punch_refused.reason = punch_done.reason = text;
	assert_accepted(select_msg(RTUN__CONTROL__MSG_PUNCH_REFUSED));
	assert_accepted(select_msg(RTUN__CONTROL__MSG_PUNCH_DONE));
}
END_TEST

static Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *good = tcase_create("round trip");
	TCase *bad = tcase_create("refused");

	tcase_add_checked_fixture(good, setup, NULL);
	tcase_add_loop_test(good, test_round_trip, RTUN__CONTROL__MSG_CLIENT_HELLO,
	    RTUN__CONTROL__MSG_PUNCH_DONE + 1);
	tcase_add_test(good, test_decoded_fields);
	tcase_add_test(good, test_name_valid);
	tcase_add_checked_fixture(bad, setup, NULL);
	tcase_add_test(bad, test_garbage);
	tcase_add_test(bad, test_empty);
	tcase_add_test(bad, test_nonce_and_mac_length);
	tcase_add_test(bad, test_stream_window);
	tcase_add_test(bad, test_agent_name);
	tcase_add_test(bad, test_agent_name_nul);
	tcase_add_test(bad, test_services);
	tcase_add_test(bad, test_long_text);
	tcase_add_test(bad, test_result_names);
	tcase_add_test(bad, test_allow_peers);
	tcase_add_test(bad, test_punch_lengths);
	tcase_add_test(bad, test_service_type);
	tcase_add_test(bad, test_hosts);
	tcase_add_test(bad, test_punch_go_addrs);
	tcase_add_test(bad, test_punch_names);
	suite_add_tcase(s, good);
	suite_add_tcase(s, bad);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(control_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
