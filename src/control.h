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

/* Protocol versions this build speaks. */
#define CONTROL_VERSION_MIN 1
#define CONTROL_VERSION_MAX 1
/* Most services one declaration may carry. */
#define CONTROL_SERVICES_MAX 1024
/* Longest agent or service name. */
#define CONTROL_NAME_MAX 64

/* Error codes carried in rtun.Error. */
enum control_error {
	CONTROL_ERR_VERSION = 1,      /* no common protocol version */
	CONTROL_ERR_PROTOCOL = 2,     /* unexpected message in this state */
	CONTROL_ERR_AUTH = 3,         /* authentication failed */
};

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

#endif
