/*
 * PROXY protocol headers (HAProxy's spec, versions 1 and 2) that the agent
 * writes to a service before the stream's bytes, so the service sees the real
 * user's address. Pure encoding, no I/O.
 */
#ifndef RTUN_PROXYPROTO_H
#define RTUN_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum proxyproto_version {
	PROXYPROTO_NONE = 0,
	PROXYPROTO_V1 = 1,
	PROXYPROTO_V2 = 2,
};

/* Longest header proxyproto_encode() writes (v1's 107 bytes, v2's 52 for IPv6). */
#define PROXYPROTO_MAX 108

/*
 * Encode a PROXY header for a TCP connection from src to dst into out
 * (PROXYPROTO_MAX bytes). When one address is IPv4 and the other IPv6, the
 * IPv4 one is mapped into IPv6 so the user's address is never lost; when
 * either is not an internet address, an "UNKNOWN" (v1) or LOCAL (v2) header is
 * written. Returns the header length.
 */
size_t proxyproto_encode(enum proxyproto_version v, const struct sockaddr *src,
    const struct sockaddr *dst, uint8_t *out);

#endif
