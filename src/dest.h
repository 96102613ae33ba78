/*
 * Destinations and the rules that allow them. A destination is "host:port" as
 * a route's connect names it and the OPEN of a route stream carries it: host
 * is a name, an IPv4 address or an IPv6 address in brackets. An agent's
 * allow_connect is a list of rules, each an address, a CIDR block or a host
 * name with a port or "*", and an agent connects only where they allow. Pure
 * functions: dest_parse() reads network input and is a fuzz target.
 */
#ifndef RTUN_DEST_H
#define RTUN_DEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hostname.h"
#include "net.h"

/* Longest host name, and longest text of a destination or a rule. */
#define DEST_HOST_MAX HOSTNAME_MAX
#define DEST_TEXT_MAX 255
/* Most rules one allow_connect may hold. */
#define DEST_RULES_MAX 256

enum dest_kind {
	DEST_NAME,               /* a host name, resolved by whoever connects */
	DEST_ADDR,               /* an IPv4 or IPv6 address (a rule: a CIDR block) */
};

/* A parsed destination. */
struct dest {
	enum dest_kind kind;
	char host[DEST_HOST_MAX + 1];  /* the name lowercased, or the address as written, no [] */
	char port[6];                  /* the port as digits, for the resolver */
	uint16_t portnum;
	struct net_addr addr;          /* DEST_ADDR: address and port; IPv4-mapped made IPv4 */
};

/* One rule of allow_connect. */
struct dest_rule {
	enum dest_kind kind;
	char name[DEST_HOST_MAX + 1];  /* DEST_NAME, lowercase */
	int family;                    /* DEST_ADDR: AF_INET or AF_INET6 */
	uint8_t net[16];               /* DEST_ADDR: the block's address, host bits zero */
	unsigned prefix;               /* DEST_ADDR: bits of net that must match */
	uint16_t port;                 /* 0 for "*": any port */
};

/* A list of rules; empty allows nothing. */
struct dest_rules {
	struct dest_rule *v;
	size_t n;
};

/* Parse "host:port" (NUL-terminated) into d; -1 with *why (a phrase) if it is not one. */
int dest_parse(const char *s, struct dest *d, const char **why);
/* Parse one rule, "ADDR[/BITS]:PORT", "[V6[/BITS]]:PORT" or "NAME:PORT" (PORT may be *). */
int dest_rule_parse(const char *s, struct dest_rule *rule, const char **why);
/* Append a rule to r; -1 if r holds DEST_RULES_MAX already. */
int dest_rules_append(struct dest_rules *r, const struct dest_rule *rule);
/* Free the rules. */
void dest_rules_free(struct dest_rules *r);
/* The rule that allows host name at port (ASCII case-insensitive), or NULL. */
const struct dest_rule *dest_rules_name(const struct dest_rules *r, const char *name,
    uint16_t port);
/* The address rule that allows address and port sa, or NULL; never for 0.0.0.0 or ::. */
const struct dest_rule *dest_rules_addr(const struct dest_rules *r, const struct sockaddr *sa);
/* True for an IPv4 or IPv6 address other than the unspecified ones (0.0.0.0, ::). */
int dest_addr_usable(const struct sockaddr *sa);
/* True when some address rule has port (or "*"): resolving a name may find one allowed. */
int dest_rules_any_addr(const struct dest_rules *r, uint16_t port);
/* A rule as allow_connect writes it ("192.168.1.0/24:22", "[fd00::/8]:*"), into out. */
const char *dest_rule_str(const struct dest_rule *rule, char *out, size_t outlen);

#endif
