/*
 * PROXY protocol encoder (HAProxy's proxy-protocol.txt, versions 1 and 2).
 * The agent calls it once per stream to tell a service who the user really
 * is. Addresses are first brought to one family: an IPv4-mapped IPv6 address
 * counts as IPv4, and when one side is IPv4 and the other IPv6 the IPv4 side
 * is mapped into IPv6, so a mixed pair never degrades to UNKNOWN and the
 * user's address always reaches the service.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxyproto.h"

/* The 12 bytes that open every version 2 header. */
static const uint8_t pp2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

#define PP2_CMD_LOCAL 0x20
#define PP2_CMD_PROXY 0x21
#define PP2_FAM_UNSPEC 0x00
#define PP2_FAM_TCP4 0x11
#define PP2_FAM_TCP6 0x21

/* One endpoint in network byte order; family is AF_INET, AF_INET6 or AF_UNSPEC. */
struct endpoint {
	int family;
	uint8_t addr[16];
	uint8_t port[2];
};

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static void
endpoint_load(const struct sockaddr *sa, struct endpoint *ep)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	memset(ep, 0, sizeof(*ep));
	ep->family = AF_UNSPEC;
	if (sa != NULL && sa->sa_family == AF_INET) {
		ep->family = AF_INET;
		memcpy(ep->addr, &sin->sin_addr, 4);
		memcpy(ep->port, &sin->sin_port, 2);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(ep->port, &sin6->sin6_port, 2);
		if (memcmp(&sin6->sin6_addr, v4mapped_prefix, 12) == 0) {
			ep->family = AF_INET;
			memcpy(ep->addr, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			ep->family = AF_INET6;
			memcpy(ep->addr, &sin6->sin6_addr, 16);
		}
	}
}

/* Turn an IPv4 endpoint into its IPv4-mapped IPv6 form. */
static void
endpoint_map6(struct endpoint *ep)
{
	if (ep->family != AF_INET)
		return;
	memmove(ep->addr + 12, ep->addr, 4);
	memcpy(ep->addr, v4mapped_prefix, 12);
	ep->family = AF_INET6;
}

/* Bring src and dst to one family; AF_UNSPEC when either is not an IP address. */
static int
endpoints_load(const struct sockaddr *src, const struct sockaddr *dst, struct endpoint *s,
    struct endpoint *d)
{
	endpoint_load(src, s);
	endpoint_load(dst, d);
	if (s->family == AF_UNSPEC || d->family == AF_UNSPEC)
		return AF_UNSPEC;
	if (s->family != d->family) {
		endpoint_map6(s);
		endpoint_map6(d);
	}
	return s->family;
}

static unsigned int
endpoint_port(const struct endpoint *ep)
{
	return (unsigned int)ep->port[0] << 8 | ep->port[1];
}

static size_t
encode_v1(int family, const struct endpoint *s, const struct endpoint *d, uint8_t *out)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	int n;

	if (family == AF_UNSPEC) {
		memcpy(out, "PROXY UNKNOWN\r\n", 15);
		return 15;
	}
	inet_ntop(family, s->addr, sa, sizeof(sa));
	inet_ntop(family, d->addr, da, sizeof(da));
	/* At most 104 bytes ("TCP6", two 39-character addresses, two 5-digit ports). */
	n = snprintf((char *)out, PROXYPROTO_MAX, "PROXY %s %s %s %u %u\r\n",
	    family == AF_INET ? "TCP4" : "TCP6", sa, da, endpoint_port(s), endpoint_port(d));
	return n > 0 && n < PROXYPROTO_MAX ? (size_t)n : 0;
}

static size_t
encode_v2(int family, const struct endpoint *s, const struct endpoint *d, uint8_t *out)
{
	size_t alen = family == AF_INET ? 4 : 16, n = 16;

	memcpy(out, pp2_signature, sizeof(pp2_signature));
	if (family == AF_UNSPEC) {
		out[12] = PP2_CMD_LOCAL;
		out[13] = PP2_FAM_UNSPEC;
		out[14] = out[15] = 0;
		return n;
	}
	out[12] = PP2_CMD_PROXY;
	out[13] = family == AF_INET ? PP2_FAM_TCP4 : PP2_FAM_TCP6;
	out[14] = 0;
	out[15] = (uint8_t)(2 * alen + 4);
	memcpy(out + n, s->addr, alen);
	memcpy(out + n + alen, d->addr, alen);
	n += 2 * alen;
	memcpy(out + n, s->port, 2);
	memcpy(out + n + 2, d->port, 2);
	return n + 4;
}

size_t
proxyproto_encode(enum proxyproto_version v, const struct sockaddr *src,
    const struct sockaddr *dst, uint8_t *out)
{
	struct endpoint s, d;
	int family;

	if (v != PROXYPROTO_V1 && v != PROXYPROTO_V2)
		return 0;
	family = endpoints_load(src, dst, &s, &d);
	if (v == PROXYPROTO_V1)
		return encode_v1(family, &s, &d, out);
	return encode_v2(family, &s, &d, out);
}
