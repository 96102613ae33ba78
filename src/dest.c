/*
 * Destinations and allow_connect rules (dest.h). Both are read the same way:
 * "host:port" split at the last colon, or "[v6]:port"; what stands for the
 * host is then an IPv4 address (dotted quad only: inet_pton() refuses the
 * short forms inet_aton() would take, so "10.1" cannot mean 10.0.0.1), an
 * IPv6 address, or a host name as hostname.c checks them (lowercased here)
 * whose last label is not all digits (so it cannot be taken for an address
 * either).
 * IPv4-mapped IPv6 addresses are judged as the IPv4 address they reach, so
 * a rule for [::/0] cannot let all of IPv4 through.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "hostname.h"
#include "xmalloc.h"

/* A "host:port" split into its two parts (not NUL-terminated). */
struct hostport {
	const char *host, *port;
	size_t hlen, plen;
	int bracketed;
};

static int
split_hostport(const char *s, size_t len, struct hostport *hp, const char **why)
{
	const char *close, *colon;

	memset(hp, 0, sizeof(*hp));
	if (len > 0 && s[0] == '[') {
		if ((close = memchr(s, ']', len)) == NULL || close + 1 == s + len ||
		    close[1] != ':') {
			*why = "expected [address]:port";
			return -1;
		}
		hp->bracketed = 1;
		hp->host = s + 1;
		hp->hlen = (size_t)(close - s - 1);
		colon = close + 1;
	} else {
		if ((colon = memrchr(s, ':', len)) == NULL) {
			*why = "expected host:port";
			return -1;
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			*why = "IPv6 addresses need brackets: [address]:port";
			return -1;
		}
		hp->host = s;
		hp->hlen = (size_t)(colon - s);
	}
	hp->port = colon + 1;
	hp->plen = (size_t)(s + len - hp->port);
	if (hp->hlen == 0) {
		*why = "no host";
		return -1;
	}
	return 0;
}

/* Decimal digits without a leading zero (but "0" itself), at most max; -1 if not. */
static int
parse_number(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v;

	if (parse_number(s, len, 65535, &v) == -1 || v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * A host name as hostname.c checks them, lowercased into out, unless its last
 * label is all digits: a resolver would read that as an address ("10.1" is
 * 10.0.0.1), so it could not be judged as a name.
 */
static int
name_parse(const char *s, size_t len, char out[HOSTNAME_MAX + 1])
{
	const char *last;

	if (hostname_normalize(s, len, out) == -1)
		return -1;
	last = strrchr(out, '.');
	last = last != NULL ? last + 1 : out;
	return strspn(last, "0123456789") == strlen(last) ? -1 : 0;
}

/* An IPv4 (or, bracketed, IPv6) address into family and 16 bytes; -1 if it is not one. */
static int
parse_address(const char *s, size_t len, int v6, int *family, uint8_t out[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(out, 0, 16);
	*family = v6 ? AF_INET6 : AF_INET;
	return inet_pton(*family, buf, out) == 1 ? 0 : -1;
}

static int
v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

static int
all_zero(const uint8_t *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (a[i] != 0)
			return 0;
	}
	return 1;
}

/* An IPv4-mapped IPv6 address becomes the IPv4 address it is. */
static void
unmap(int *family, uint8_t a[16])
{
	if (*family != AF_INET6 || !v4_mapped(a))
		return;
	memmove(a, a + 12, 4);
	memset(a + 4, 0, 12);
	*family = AF_INET;
}

static void
fill_sockaddr(struct net_addr *na, int family, const uint8_t a[16], uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&na->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&na->ss;

	memset(na, 0, sizeof(*na));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		sin->sin_port = htons(port);
		na->len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		sin6->sin6_port = htons(port);
		na->len = sizeof(*sin6);
	}
}

/* The host part of a destination into d: an address, or else a name. */
static int
dest_host(const struct hostport *hp, struct dest *d, const char **why)
{
	uint8_t a[16];
	int family;

	if (parse_address(hp->host, hp->hlen, hp->bracketed, &family, a) == 0) {
		unmap(&family, a);
		if (all_zero(a, family == AF_INET ? 4 : 16)) {
			*why = "the unspecified address is not a destination";
			return -1;
		}
		d->kind = DEST_ADDR;
		fill_sockaddr(&d->addr, family, a, d->portnum);
		memcpy(d->host, hp->host, hp->hlen);
		d->host[hp->hlen] = '\0';
	} else if (!hp->bracketed && name_parse(hp->host, hp->hlen, d->host) == 0)
		d->kind = DEST_NAME;
	else {
		*why = hp->bracketed ? "not an IPv6 address" : "not an address or a host name";
		return -1;
	}
	return 0;
}

int
dest_parse(const char *s, struct dest *d, const char **why)
{
	struct hostport hp;
	size_t len = strlen(s);

	memset(d, 0, sizeof(*d));
	if (len > DEST_TEXT_MAX) {
		*why = "longer than 255 bytes";
		return -1;
	}
	if (split_hostport(s, len, &hp, why) == -1)
		return -1;
	if (parse_port(hp.port, hp.plen, &d->portnum) == -1) {
		*why = "port must be a number from 1 to 65535";
		return -1;
	}
	memcpy(d->port, hp.port, hp.plen);
	return dest_host(&hp, d, why);
}

/* The address part of a rule, "ADDR" or "ADDR/BITS", into rule. */
static int
rule_block(const struct hostport *hp, struct dest_rule *rule, const char **why)
{
	const char *slash = memchr(hp->host, '/', hp->hlen);
	size_t alen = slash != NULL ? (size_t)(slash - hp->host) : hp->hlen;
	unsigned long bits;
	size_t i, len;

	if (parse_address(hp->host, alen, hp->bracketed, &rule->family, rule->net) == -1) {
		*why = hp->bracketed ? "not an IPv6 address or block" :
		    "not an address, a block or a host name";
		return -1;
	}
	len = rule->family == AF_INET ? 4 : 16;
	rule->prefix = (unsigned)len * 8;
	if (slash != NULL) {
		if (parse_number(slash + 1, hp->hlen - alen - 1, rule->prefix, &bits) == -1) {
			*why = rule->family == AF_INET ? "prefix length must be 0 to 32" :
			    "prefix length must be 0 to 128";
			return -1;
		}
		rule->prefix = (unsigned)bits;
	}
	if (rule->family == AF_INET6 && v4_mapped(rule->net) && rule->prefix >= 96) {
		*why = "write IPv4-mapped addresses as IPv4";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (rule->prefix < (i + 1) * 8 && (rule->net[i] &
		    (rule->prefix <= i * 8 ? 0xff : 0xff >> (rule->prefix - i * 8))) != 0) {
			*why = "host bits are set beyond the prefix length";
			return -1;
		}
	}
	if (rule->prefix == len * 8 && all_zero(rule->net, len)) {
		*why = "the unspecified address is never a destination";
		return -1;
	}
	rule->kind = DEST_ADDR;
	return 0;
}

int
dest_rule_parse(const char *s, struct dest_rule *rule, const char **why)
{
	struct hostport hp;

	memset(rule, 0, sizeof(*rule));
	if (split_hostport(s, strlen(s), &hp, why) == -1)
		return -1;
	if (!(hp.plen == 1 && hp.port[0] == '*') &&
	    parse_port(hp.port, hp.plen, &rule->port) == -1) {
		*why = "port must be a number from 1 to 65535 or *";
		return -1;
	}
	if (hp.bracketed || memchr(hp.host, '/', hp.hlen) != NULL ||
	    parse_address(hp.host, hp.hlen, 0, &rule->family, rule->net) == 0 ||
	    name_parse(hp.host, hp.hlen, rule->name) == -1)
		return rule_block(&hp, rule, why);
	/* The address attempt above may have left its guesses: a name rule has none. */
	rule->family = 0;
	memset(rule->net, 0, sizeof(rule->net));
	rule->kind = DEST_NAME;
	return 0;
}

int
dest_rules_append(struct dest_rules *r, const struct dest_rule *rule)
{
	if (r->n == DEST_RULES_MAX)
		return -1;
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	r->v[r->n++] = *rule;
	return 0;
}

void
dest_rules_free(struct dest_rules *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* ASCII case-insensitive equality: a host name's case carries no meaning. */
static int
name_eq(const char *lower, const char *name)
{
	for (; *lower != '\0' && *name != '\0'; lower++, name++) {
		if (*lower != (*name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name))
			return 0;
	}
	return *lower == *name;
}

const struct dest_rule *
dest_rules_name(const struct dest_rules *r, const char *name, uint16_t port)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->v[i].kind == DEST_NAME && (r->v[i].port == 0 || r->v[i].port == port) &&
		    name_eq(r->v[i].name, name))
			return &r->v[i];
	}
	return NULL;
}

/* The first bits of a and b are equal. */
static int
prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	size_t full = bits / 8;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));

	if (memcmp(a, b, full) != 0)
		return 0;
	return bits % 8 == 0 || ((a[full] ^ b[full]) & mask) == 0;
}

/* sa as a family, 16 bytes and a port, IPv4-mapped made IPv4; -1 if it is not usable. */
static int
sockaddr_bytes(const struct sockaddr *sa, int *family, uint8_t a[16], uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	memset(a, 0, 16);
	*family = sa->sa_family;
	if (*family == AF_INET) {
		memcpy(a, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
	} else if (*family == AF_INET6) {
		memcpy(a, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
	} else
		return -1;
	unmap(family, a);
	return all_zero(a, *family == AF_INET ? 4 : 16) ? -1 : 0;
}

int
dest_addr_usable(const struct sockaddr *sa)
{
	uint16_t port;
	uint8_t a[16];
	int family;

	return sockaddr_bytes(sa, &family, a, &port) == 0;
}

const struct dest_rule *
dest_rules_addr(const struct dest_rules *r, const struct sockaddr *sa)
{
	uint8_t a[16];
	int family;
	uint16_t port;
	size_t i;

	if (sockaddr_bytes(sa, &family, a, &port) == -1)
		return NULL;
	for (i = 0; i < r->n; i++) {
		const struct dest_rule *rule = &r->v[i];
		if (rule->kind == DEST_ADDR && rule->family == family &&
		    (rule->port == 0 || rule->port == port) && prefix_eq(rule->net, a, rule->prefix))
			return rule;
	}
	return NULL;
}

int
dest_rules_any_addr(const struct dest_rules *r, uint16_t port)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->v[i].kind == DEST_ADDR && (r->v[i].port == 0 || r->v[i].port == port))
			return 1;
	}
	return 0;
}

const char *
dest_rule_str(const struct dest_rule *rule, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN], bits[8] = "", port[8] = "*";

	if (rule->port != 0)
		snprintf(port, sizeof(port), "%u", rule->port);
	if (rule->kind == DEST_NAME) {
		snprintf(out, outlen, "%s:%s", rule->name, port);
		return out;
	}
	inet_ntop(rule->family, rule->net, host, sizeof(host));
	if (rule->prefix != (rule->family == AF_INET ? 32u : 128u))
		snprintf(bits, sizeof(bits), "/%u", rule->prefix);
	snprintf(out, outlen, rule->family == AF_INET ? "%s%s:%s" : "[%s%s]:%s", host, bits,
	    port);
	return out;
}
