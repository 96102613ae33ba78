/*
 * The hole-punch probe codec (format in punch-probe.h). The parser reads
 * through a cursor that refuses to step past the bytes that are in, and
 * checks each field as soon as it has arrived, so rtund can drop a peer that
 * is not sending a probe after its first wrong byte instead of waiting for a
 * whole message. The MAC is checked apart, by probe_verify(), because only
 * the session the probe names tells which key to check it with.
 */
#include "rtun-build.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "punch-probe.h"

/* Magic, version, side, session id, nlocal: the part before the addresses. */
#define PROBE_HEAD_LEN (PROBE_MAGIC_LEN + 2 + PROBE_SESSION_LEN + 1)
#define PROBE_MIN_LEN  (PROBE_HEAD_LEN + PROBE_MAC_LEN)

/* Bytes being parsed: at never passes len. */
struct probe_rd {
	const uint8_t *buf;
	size_t len;
	size_t at;
};

/* The next n bytes, consumed, or NULL (nothing consumed) while fewer are in. */
static const uint8_t *
rd_take(struct probe_rd *r, size_t n)
{
	const uint8_t *p = r->buf + r->at;

	if (r->len - r->at < n)
		return NULL;
	r->at += n;
	return p;
}

static enum probe_result
probe_fail(const char **why, const char *reason)
{
	*why = reason;
	return PROBE_ERR;
}

/* HMAC-SHA256 under key of the n bytes at msg; OpenSSL fails here only without memory. */
static void
probe_mac(const uint8_t key[PROBE_KEY_LEN], const uint8_t *msg, size_t n,
    uint8_t mac[PROBE_MAC_LEN])
{
	unsigned int maclen = PROBE_MAC_LEN;

	if (HMAC(EVP_sha256(), key, PROBE_KEY_LEN, msg, n, mac, &maclen) == NULL ||
	    maclen != PROBE_MAC_LEN) {
		fprintf(stderr, "fatal: probe HMAC-SHA256 failed\n");
		abort();
	}
}

/* Write one local address at out; returns its length, 0 if it is not IPv4/IPv6 with a port. */
static size_t
put_local(uint8_t *out, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET && sin->sin_port != 0) {
		out[0] = 4;
		memcpy(out + 1, &sin->sin_addr, 4);
		memcpy(out + 5, &sin->sin_port, 2); /* already big-endian */
		return 7;
	}
	if (ss->ss_family == AF_INET6 && sin6->sin6_port != 0) {
		out[0] = 6;
		memcpy(out + 1, &sin6->sin6_addr, 16);
		memcpy(out + 17, &sin6->sin6_port, 2);
		return 19;
	}
	return 0;
}

size_t
probe_encode(const struct probe *p, const uint8_t key[PROBE_KEY_LEN],
    uint8_t out[PROBE_MAX_LEN])
{
	size_t n = 0, i;

	if (p->nlocal > PROBE_LOCAL_MAX || (unsigned int)p->side > PROBE_TARGET)
		return 0;
	memcpy(out, PROBE_MAGIC, PROBE_MAGIC_LEN);
	n += PROBE_MAGIC_LEN;
	out[n++] = PROBE_VERSION;
	out[n++] = (uint8_t)p->side;
	memcpy(out + n, p->session, PROBE_SESSION_LEN);
	n += PROBE_SESSION_LEN;
	out[n++] = (uint8_t)p->nlocal;
	for (i = 0; i < p->nlocal; i++) {
		size_t m = put_local(out + n, &p->local[i]);

		if (m == 0)
			return 0;
		n += m;
	}
	probe_mac(key, out, n, out + n);
	return n + PROBE_MAC_LEN;
}

/* Magic, version, side and session id, each checked as soon as it is in. */
static enum probe_result
parse_head(struct probe_rd *r, struct probe *p, const char **why)
{
	size_t have = r->len < PROBE_MAGIC_LEN ? r->len : PROBE_MAGIC_LEN;
	const uint8_t *b;

	if (memcmp(r->buf, PROBE_MAGIC, have) != 0)
		return probe_fail(why, "not a probe (bad magic)");
	if (rd_take(r, PROBE_MAGIC_LEN) == NULL)
		return PROBE_NEED_MORE;
	if ((b = rd_take(r, 1)) == NULL)
		return PROBE_NEED_MORE;
	if (*b != PROBE_VERSION)
		return probe_fail(why, "unsupported probe version");
	if ((b = rd_take(r, 1)) == NULL)
		return PROBE_NEED_MORE;
	if (*b > PROBE_TARGET)
		return probe_fail(why, "side is neither visitor nor target");
	p->side = (enum probe_side)*b;
	if ((b = rd_take(r, PROBE_SESSION_LEN)) == NULL)
		return PROBE_NEED_MORE;
	memcpy(p->session, b, PROBE_SESSION_LEN);
	return PROBE_OK;
}

/* One { family, address, port } into ss. */
static enum probe_result
parse_local(struct probe_rd *r, struct sockaddr_storage *ss, const char **why)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const uint8_t *f, *a;
	size_t alen;

	if ((f = rd_take(r, 1)) == NULL)
		return PROBE_NEED_MORE;
	if (*f != 4 && *f != 6)
		return probe_fail(why, "local address family is neither 4 nor 6");
	alen = *f == 4 ? 4 : 16;
	if ((a = rd_take(r, alen + 2)) == NULL)
		return PROBE_NEED_MORE;
	if (a[alen] == 0 && a[alen + 1] == 0)
		return probe_fail(why, "local address with port 0");
	memset(ss, 0, sizeof(*ss));
	if (*f == 4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(&sin->sin_port, a + 4, 2);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		memcpy(&sin6->sin6_port, a + 16, 2);
	}
	return PROBE_OK;
}

enum probe_result
probe_parse(const uint8_t *buf, size_t len, struct probe *p, size_t *used, const char **why)
{
	struct probe_rd r = { buf, len, 0 };
	struct probe q;
	enum probe_result res;
	const uint8_t *b;
	size_t i;

	memset(&q, 0, sizeof(q));
	if ((res = parse_head(&r, &q, why)) != PROBE_OK)
		return res;
	if ((b = rd_take(&r, 1)) == NULL)
		return PROBE_NEED_MORE;
	if (*b > PROBE_LOCAL_MAX)
		return probe_fail(why, "more than 4 local addresses");
	q.nlocal = *b;
	for (i = 0; i < q.nlocal; i++)
		if ((res = parse_local(&r, &q.local[i], why)) != PROBE_OK)
			return res;
	if (rd_take(&r, PROBE_MAC_LEN) == NULL)
		return PROBE_NEED_MORE;
	/* Cannot fail: the fields bound the length. It keeps the promise readers rely on. */
	if (r.at > PROBE_MAX_LEN)
		return probe_fail(why, "longer than PROBE_MAX_LEN");
	*p = q;
	*used = r.at;
	return PROBE_OK;
}

int
probe_verify(const uint8_t *buf, size_t used, const uint8_t key[PROBE_KEY_LEN])
{
	uint8_t mac[PROBE_MAC_LEN];
	int ok;

	if (used < PROBE_MIN_LEN || used > PROBE_MAX_LEN)
		return 0;
	probe_mac(key, buf, used - PROBE_MAC_LEN, mac);
	ok = CRYPTO_memcmp(mac, buf + used - PROBE_MAC_LEN, PROBE_MAC_LEN) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

const char *
probe_reply_str(int reply)
{
	switch (reply) {
	case PROBE_ACCEPTED:
		return "accepted";
	case PROBE_UNKNOWN:
		return "unknown session";
	case PROBE_BAD_MAC:
		return "bad MAC";
	case PROBE_REPEATED:
		return "side already probed";
	case PROBE_MALFORMED:
		return "malformed";
	default:
		return "unknown reply";
	}
}
