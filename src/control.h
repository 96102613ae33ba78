/*
 * CONTROL frames: protobuf-c messages (proto/rtun.proto) for the handshake,
 * authentication and service declarations. Decoding validates every field
 * the rest of the code relies on, so callers never see a malformed message.
 */
#ifndef RTUN_CONTROL_H
#define RTUN_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "rtun.pb-c.h"

struct buf;
struct link;

/* Protocol versions this build speaks. */
#define CONTROL_VERSION_MIN 1
#define CONTROL_VERSION_MAX 1
/* Most services one declaration may carry. */
#define CONTROL_SERVICES_MAX 1024
/* Longest agent or service name. */
#define CONTROL_NAME_MAX 64
/* Most agents one service's allow_peers may name. */
#define CONTROL_ALLOW_PEERS_MAX 64
/* Host names one service may claim, and the longest (a name, or "*." and a name). */
#define CONTROL_HOSTS_MAX 256
#define CONTROL_HOST_MAX 253
/* Sizes of a rendezvous's session id and one-time key. */
#define CONTROL_SESSION_LEN 16
#define CONTROL_KEY_LEN 32
/* Most endpoints one PunchGo may list. */
#define CONTROL_PUNCH_ADDRS_MAX 8

/* Error codes carried in rtun.Error. */
enum control_error {
	CONTROL_ERR_VERSION = 1,      /* no common protocol version */
	CONTROL_ERR_PROTOCOL = 2,     /* unexpected message in this state */
	CONTROL_ERR_AUTH = 3,         /* authentication failed */
};

/* Queue Error{code, message} on l. */
void control_send_error(struct link *l, enum control_error code, const char *message);
/* Queue ClientHello with our version range, name and nonce (AUTH_NONCE_LEN bytes). */
void control_send_client_hello(struct link *l, const char *name, const uint8_t *nonce);
/* Queue ServerHello with the chosen version and our nonce (AUTH_NONCE_LEN bytes). */
void control_send_server_hello(struct link *l, uint32_t version, const uint8_t *nonce);
/* Queue Auth with the client's proof (AUTH_MAC_LEN bytes) and the window it grants. */
void control_send_auth(struct link *l, const uint8_t *mac, uint32_t stream_window);
/* Queue AuthResult ok with the server's proof (AUTH_MAC_LEN bytes) and its window. */
void control_send_auth_ok(struct link *l, const uint8_t *server_mac, uint32_t stream_window);
/* Queue AuthResult refused with message. */
void control_send_auth_refused(struct link *l, const char *message);
/* Queue Declare with n services, saying that this agent serves route streams. */
void control_send_declare(struct link *l, Rtun__Service **services, size_t n);
/* Queue DeclareResult with n results. */
void control_send_declare_result(struct link *l, Rtun__ServiceResult **results, size_t n);
/* Queue PunchRequest for peer's service. */
void control_send_punch_request(struct link *l, const char *peer, const char *service);
/* Queue PunchRefused with the reason. */
void control_send_punch_refused(struct link *l, const char *peer, const char *service,
    const char *reason);
/* Queue PunchSession (session: CONTROL_SESSION_LEN bytes, key: CONTROL_KEY_LEN bytes). */
void control_send_punch_session(struct link *l, const uint8_t *session, const uint8_t *key,
    const char *peer, const char *service, int visitor);
/* Queue PunchGo with the n endpoints to dial. */
void control_send_punch_go(struct link *l, const uint8_t *session, char **addrs, size_t n);
/* Queue PunchDone: how our side of the rendezvous ended. */
void control_send_punch_done(struct link *l, const uint8_t *session, int ok, const char *reason);
/* Append msg as one CONTROL frame to b. */
void control_append(struct buf *b, const Rtun__Control *msg);
/* Decode and validate a CONTROL payload; NULL with *why set when malformed. */
Rtun__Control *control_decode(const uint8_t *p, size_t len, const char **why);
/* Free a message from control_decode(). */
void control_free(Rtun__Control *msg);
/* Name of the message inside, for logs. */
const char *control_name(const Rtun__Control *msg);
/* True when s is a valid agent or service name: 1 to CONTROL_NAME_MAX of [A-Za-z0-9._-]. */
int control_name_valid(const char *s);
/* True when this build serves services of this Service.type. */
int control_service_type_known(uint32_t type);
/* "tcp" or "udp" for a Service.type, "?" for one this build does not know. */
const char *control_service_type_name(uint32_t type);
/* True for the types served by host name on rtund's shared ports (http, https). */
int control_service_type_web(uint32_t type);

#endif
