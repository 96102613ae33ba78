/*
 * The probe of a P2P hole punch: the short message each agent sends rtund on
 * a fresh TCP connection from the port it is about to punch from, so that
 * rtund sees the NAT mapping of that port. It names the one-time session and
 * the agent's side, lists the agent's own (local) addresses for peers on the
 * same network, and is authenticated with the session's key. Pure encoding
 * and parsing, no I/O: a fuzz target.
 *
 * Wire format, integers big-endian:
 *
 *	offset 0   8 bytes  magic "RTUNPNCH"
 *	       8   u8       version = 1
 *	       9   u8       side: 0 = visitor, 1 = target
 *	      10   16 bytes session id
 *	      26   u8       nlocal, 0..4: the sender's local addresses
 *	      27   nlocal x { u8 family (4 or 6), 4 or 16 address bytes, u16be port }
 *	     end   32 bytes HMAC-SHA256(key, every byte before the MAC)
 *
 * rtund answers with one byte, an enum probe_reply, and closes. The sender
 * sends nothing after its probe.
 */
#ifndef RTUN_PUNCH_PROBE_H
#define RTUN_PUNCH_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROBE_MAGIC       "RTUNPNCH"
#define PROBE_MAGIC_LEN   8
#define PROBE_VERSION     1
#define PROBE_SESSION_LEN 16
#define PROBE_KEY_LEN     32
#define PROBE_MAC_LEN     32
#define PROBE_LOCAL_MAX   4
/* The longest probe: four IPv6 addresses. A reader never needs to hold more. */
#define PROBE_MAX_LEN     (27 + PROBE_LOCAL_MAX * 19 + 32)

enum probe_side {
	PROBE_VISITOR = 0,
	PROBE_TARGET = 1,
};

/* rtund's one-byte answer. */
enum probe_reply {
	PROBE_ACCEPTED = 0,
	PROBE_UNKNOWN = 1,   /* no such session (or it expired) */
	PROBE_BAD_MAC = 2,   /* not made with the session's key */
	PROBE_REPEATED = 3,  /* this side of the session has already probed */
	PROBE_MALFORMED = 4, /* probe_parse() refused it */
};

enum probe_result {
	PROBE_OK = 0,
	PROBE_NEED_MORE = 1,
	PROBE_ERR = -1,
};

struct probe {
	enum probe_side side;
	uint8_t session[PROBE_SESSION_LEN];
	size_t nlocal;
	struct sockaddr_storage local[PROBE_LOCAL_MAX]; /* AF_INET / AF_INET6 with port */
};

/* Encode p with its MAC under key into out; returns the length (0 if p holds a bad address). */
size_t probe_encode(const struct probe *p, const uint8_t key[PROBE_KEY_LEN],
    uint8_t out[PROBE_MAX_LEN]);
/*
 * Parse the first len bytes: PROBE_OK fills p and *used (the whole probe, MAC
 * included; bytes after it are not the probe's), PROBE_NEED_MORE while what is
 * there is a valid start, or PROBE_ERR with *why as soon as it cannot be one.
 * Does not check the MAC.
 */
enum probe_result probe_parse(const uint8_t *buf, size_t len, struct probe *p, size_t *used,
    const char **why);
/* 1 when the MAC ending the used bytes of a parsed probe is right for key (constant time). */
int probe_verify(const uint8_t *buf, size_t used, const uint8_t key[PROBE_KEY_LEN]);
/* Text for a reply byte, for logs ("unknown session", ...). */
const char *probe_reply_str(int reply);

#endif
