/*
 * The server name a TLS client asks for, read from its ClientHello without
 * decrypting anything (RFC 8446 4.1.2, RFC 6066 3): what lets one public port
 * carry many HTTPS sites whose certificates stay on their private servers.
 * A pure function of the bytes that have arrived so far, re-run from the
 * start as more arrive; the ClientHello may be cut into several records and
 * the records into any segments. A fuzz target.
 */
#ifndef RTUN_TLS_SNI_H
#define RTUN_TLS_SNI_H

#include <stddef.h>
#include <stdint.h>

#include "hostname.h"

#define SNI_NAME_MAX HOSTNAME_MAX
/*
 * Most ClientHello bytes read: a hello is 0.5-2 KiB (a post-quantum key share
 * included), so anything past this is not a hello worth waiting for.
 */
#define SNI_HELLO_MAX 16384

enum sni_result {
	SNI_FOUND = 0,        /* name holds the host name, as hostname_normalize() has it */
	SNI_NEED_MORE = 1,    /* a prefix of a plausible ClientHello: read more */
	SNI_ABSENT = -1,      /* a whole ClientHello without a host name in server_name */
	SNI_NOT_TLS = -2,     /* the first bytes are not a TLS handshake record */
	SNI_MALFORMED = -3,   /* broken records, hello or extensions, or a bad host name */
	SNI_TOO_LONG = -4,    /* the hello is longer than SNI_HELLO_MAX */
};

/* Find the server_name of the ClientHello at the start of p. */
enum sni_result sni_parse(const uint8_t *p, size_t len, char name[SNI_NAME_MAX + 1]);
/* Text for a result, for logs. */
const char *sni_strerror(enum sni_result r);

#endif
