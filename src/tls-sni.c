/*
 * ClientHello parsing for the server name (tls-sni.h). Two layers, each with
 * its own reader over a bounded span: the record layer gathers the handshake
 * bytes of consecutive handshake records into a local buffer (a hello may be
 * split over records, RFC 8446 5.1), then the hello is walked field by field.
 * Every length is checked against what encloses it before it is used.
 */
#include "rtun-build.h"

#include <string.h>

#include "hostname.h"
#include "tls-sni.h"

#define TLS_RECORD_HANDSHAKE 22
#define TLS_RECORD_HEADER 5
#define TLS_RECORD_MAX 16384          /* a plaintext record (RFC 8446 5.1) */
#define TLS_HANDSHAKE_CLIENT_HELLO 1
#define TLS_HANDSHAKE_HEADER 4
#define TLS_EXT_SERVER_NAME 0
#define TLS_NAME_HOST 0

/* A bounded cursor: reads past its end fail and poison it. */
struct rd {
	const uint8_t *p;
	size_t left;
	int bad;
};

static uint32_t
rd_int(struct rd *r, size_t n)
{
	uint32_t v = 0;
	size_t i;

	if (r->bad || r->left < n) {
		r->bad = 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		v = v << 8 | r->p[i];
	r->p += n;
	r->left -= n;
	return v;
}

/* A sub-cursor over the next n bytes (a length-prefixed vector's body). */
static struct rd
rd_sub(struct rd *r, size_t n)
{
	struct rd s = { r->p, n, r->bad };

	if (r->bad || r->left < n) {
		r->bad = 1;
		s.bad = 1;
		s.left = 0;
		return s;
	}
	r->p += n;
	r->left -= n;
	return s;
}

/* The body of a vector whose length prefix takes lenlen bytes. */
static struct rd
rd_vec(struct rd *r, size_t lenlen)
{
	return rd_sub(r, rd_int(r, lenlen));
}

/* server_name's extension_data: the first host_name entry (RFC 6066 3). */
static enum sni_result
parse_server_name(struct rd ext, char name[SNI_NAME_MAX + 1])
{
	struct rd list = rd_vec(&ext, 2), host;
	uint32_t type;

	if (ext.bad || ext.left != 0 || list.left == 0)
		return SNI_MALFORMED;
	while (list.left > 0) {
		type = rd_int(&list, 1);
		host = rd_vec(&list, 2);
		if (list.bad)
			return SNI_MALFORMED;
		if (type != TLS_NAME_HOST)
			continue;
		if (hostname_normalize((const char *)host.p, host.left, name) == -1)
			return SNI_MALFORMED;
		return SNI_FOUND;
	}
	return SNI_ABSENT;
}

/* The extensions block: each type at most once (RFC 8446 4.2), server_name wanted. */
static enum sni_result
parse_extensions(struct rd exts, char name[SNI_NAME_MAX + 1])
{
	enum sni_result res = SNI_ABSENT, r;
	uint32_t type, seen[64];
	size_t nseen = 0, i;
	struct rd data;

	while (exts.left > 0) {
		type = rd_int(&exts, 2);
		data = rd_vec(&exts, 2);
		if (exts.bad)
			return SNI_MALFORMED;
		for (i = 0; i < nseen; i++)
			if (seen[i] == type)
				return SNI_MALFORMED;
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = type;
		if (type != TLS_EXT_SERVER_NAME)
			continue;
		if ((r = parse_server_name(data, name)) != SNI_ABSENT)
			res = r;
		if (res == SNI_MALFORMED)
			return res;
	}
	return res;
}

/* The ClientHello body (after the handshake header). */
static enum sni_result
parse_hello(struct rd h, char name[SNI_NAME_MAX + 1])
{
	struct rd sid, suites, comp, exts;
	uint32_t version = rd_int(&h, 2);

	if ((version >> 8) != 3)
		return SNI_MALFORMED;
	rd_sub(&h, 32);           /* random */
	sid = rd_vec(&h, 1);
	suites = rd_vec(&h, 2);
	comp = rd_vec(&h, 1);
	if (h.bad || sid.left > 32 || suites.left < 2 || suites.left % 2 != 0 || comp.left < 1)
		return SNI_MALFORMED;
	if (h.left == 0)
		return SNI_ABSENT;    /* a hello without extensions (SSL 3.0 style) */
	exts = rd_vec(&h, 2);
	if (h.bad || h.left != 0)
		return SNI_MALFORMED;
	return parse_extensions(exts, name);
}

/* Gather the first want handshake bytes of the records at the start of p into hs. */
static enum sni_result
gather(const uint8_t *p, size_t len, uint8_t *hs, size_t want)
{
	size_t off = 0, rlen, take, have = 0;

	while (have < want) {
		if (len - off < TLS_RECORD_HEADER)
			return SNI_NEED_MORE;
		if (p[off] != TLS_RECORD_HANDSHAKE || p[off + 1] != 3)
			return off == 0 ? SNI_NOT_TLS : SNI_MALFORMED;
		rlen = (size_t)p[off + 3] << 8 | p[off + 4];
		if (rlen == 0 || rlen > TLS_RECORD_MAX)
			return SNI_MALFORMED;
		if (len - off - TLS_RECORD_HEADER < rlen)
			take = len - off - TLS_RECORD_HEADER;
		else
			take = rlen;
		if (take > want - have)
			take = want - have;
		memcpy(hs + have, p + off + TLS_RECORD_HEADER, take);
		have += take;
		if (take < rlen && have < want)
			return SNI_NEED_MORE;
		off += TLS_RECORD_HEADER + rlen;
	}
	return SNI_FOUND;
}

enum sni_result
sni_parse(const uint8_t *p, size_t len, char name[SNI_NAME_MAX + 1])
{
	uint8_t hs[TLS_HANDSHAKE_HEADER + SNI_HELLO_MAX];
	enum sni_result r;
	struct rd h;
	size_t hlen;

	name[0] = '\0';
	if (len > 0 && p[0] != TLS_RECORD_HANDSHAKE)
		return SNI_NOT_TLS;
	if (len > 1 && p[1] != 3)
		return SNI_NOT_TLS;
	r = gather(p, len, hs, TLS_HANDSHAKE_HEADER);
	if (r != SNI_FOUND)
		return r;
	if (hs[0] != TLS_HANDSHAKE_CLIENT_HELLO)
		return SNI_MALFORMED;
	hlen = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
	if (hlen > SNI_HELLO_MAX)
		return SNI_TOO_LONG;
	r = gather(p, len, hs, TLS_HANDSHAKE_HEADER + hlen);
	if (r != SNI_FOUND)
		return r;
	h.p = hs + TLS_HANDSHAKE_HEADER;
	h.left = hlen;
	h.bad = 0;
	if ((r = parse_hello(h, name)) != SNI_FOUND)
		name[0] = '\0';   /* a name seen before the hello proved broken is no name */
	return r;
}

const char *
sni_strerror(enum sni_result r)
{
	switch (r) {
	case SNI_FOUND:
		return "server name found";
	case SNI_NEED_MORE:
		return "ClientHello incomplete";
	case SNI_ABSENT:
		return "no server name in the ClientHello";
	case SNI_NOT_TLS:
		return "not a TLS handshake";
	case SNI_MALFORMED:
		return "malformed ClientHello";
	case SNI_TOO_LONG:
		return "ClientHello too long";
	}
	return "?";
}
