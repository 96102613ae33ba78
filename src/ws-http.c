/*
 * The HTTP/1.1 upgrade of RFC 6455, both directions, as pure functions of
 * the bytes that have arrived so far, over the header scanner of
 * http-scan.c.
 */
#include "rtun-build.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <http_parser.h>
#include <openssl/evp.h>

#include "buf.h"
#include "http-scan.h"
#include "log.h"
#include "ws-http.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* base64 of the 16-byte Sec-WebSocket-Key. */
#define WS_KEY_LEN 24

int
ws_http_accept_key(const char *key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	EVP_MD_CTX *c;
	int ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1 &&
	     EVP_DigestUpdate(c, key, strlen(key)) == 1 &&
	     EVP_DigestUpdate(c, WS_GUID, strlen(WS_GUID)) == 1 &&
	     EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == 20;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

/* True if k is base64 of exactly 16 bytes: 22 digits (the last carrying 2 bits) and "==". */
static int
key_valid(struct span k)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	if (k.n != WS_KEY_LEN || k.p[22] != '=' || k.p[23] != '=')
		return 0;
	for (i = 0; i < WS_KEY_LEN - 2; i++)
		if (k.p[i] == '\0' || strchr(digits, k.p[i]) == NULL)
			return 0;
	return 1;
}

static int
path_matches(struct span url, const char *path)
{
	const char *q = memchr(url.p, '?', url.n);

	if (q != NULL)
		url.n = (size_t)(q - url.p);
	return url.n == strlen(path) && memcmp(url.p, path, url.n) == 0;
}

/* Decide on a complete request: 101, or the status and reason of a refusal. */
static void
request_judge(
    const http_parser *p, const struct http_scan *s, const char *path, struct ws_request *req)
{
	req->status = 400;
	if (p->method != HTTP_GET)
		req->reason = "method is not GET";
	else if (p->http_major != 1 || p->http_minor < 1)
		req->reason = "WebSocket needs HTTP/1.1";
	else if (s->nhost != 1) /* RFC 7230 5.4: exactly one Host, or 400 */
		req->reason = "missing or repeated Host header";
	else if (s->url.p == NULL || !path_matches(s->url, path)) {
		req->status = 404;
		req->reason = "no WebSocket endpoint at this path";
	} else if (!s->upgrade_ws)
		req->reason = "no Upgrade: websocket header";
	else if (!s->conn_upgrade)
		req->reason = "no Connection: upgrade header";
	else if (!span_ieq(s->version, "13")) {
		req->reason = "Sec-WebSocket-Version is not 13";
		req->offer_version = 1;
	} else if (s->nkey != 1 || !key_valid(s->key))
		req->reason = "missing or invalid Sec-WebSocket-Key";
	else {
		req->status = 101;
		memcpy(req->key, s->key.p, s->key.n);
		req->key[s->key.n] = '\0';
	}
}

int
ws_http_parse_request(const char *buf, size_t len, const char *path, struct ws_request *req)
{
	struct http_scan s;
	http_parser p;
	int r;

	memset(req, 0, sizeof(*req));
	req->status = 400;
	r = http_scan(
	    buf, len < WS_HTTP_MAX ? len : WS_HTTP_MAX, HTTP_REQUEST, &p, &s, &req->header_len);
	if (r == 1 && len < WS_HTTP_MAX)
		return 1;
	if (r == 1) {
		req->reason = "request header block too long";
		return -1;
	}
	if (r == -1) {
		req->reason = http_errno_description(HTTP_PARSER_ERRNO(&p));
		return -1;
	}
	req->complete = 1;
	request_judge(&p, &s, path, req);
	return 0;
}

int
ws_http_put_101(struct buf *out, const char *key)
{
	char accept[29];

	if (ws_http_accept_key(key, accept) == -1)
		return -1;
	buf_printf(out,
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
	    accept);
	return 0;
}

const char *
ws_http_put_refusal(struct buf *out, const struct ws_request *req)
{
	const char *reason = req->reason != NULL ? req->reason : "bad request";

	/* RFC 6455 4.4: a client of another version learns which one we speak. */
	buf_printf(out,
	    "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
	    req->status, http_status_str((enum http_status)req->status),
	    req->offer_version ? "Sec-WebSocket-Version: 13\r\n" : "", strlen(reason) + 1, reason);
	return reason;
}

int
ws_http_put_request(struct buf *out, const struct ws_client_opts *o,
    const unsigned char nonce[WS_HTTP_NONCE_LEN], char accept[29])
{
	char key[WS_KEY_LEN + 1];
	size_t i;

	EVP_EncodeBlock((unsigned char *)key, nonce, WS_HTTP_NONCE_LEN);
	if (ws_http_accept_key(key, accept) == -1)
		return -1;
	buf_printf(out,
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "User-Agent: rtun/%s\r\n",
	    o->path, o->host, key, PACKAGE_VERSION);
	for (i = 0; i < o->nheaders; i++)
		buf_printf(out, "%s\r\n", o->headers[i]);
	buf_printf(out, "\r\n");
	return 0;
}

static int response_fail(struct ws_response *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record why the upgrade failed; returns -1 for ws_http_parse_response(). */
static int
response_fail(struct ws_response *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* Decide on a complete answer: only a 101 that proves it read our key upgrades. */
static int
response_judge(const struct http_scan *s, const char *accept, struct ws_response *res)
{
	char reason[128];

	if (res->status != 101) {
		log_safe(s->reason.p, s->reason.n, reason, sizeof(reason));
		return response_fail(
		    res, "HTTP status %d from server or proxy: %s", res->status, reason);
	}
	if (!s->upgrade_ws)
		return response_fail(res, "upgrade refused: 101 without Upgrade: websocket");
	if (s->accept.n != strlen(accept) || memcmp(s->accept.p, accept, s->accept.n) != 0)
		return response_fail(res, "upgrade refused: bad Sec-WebSocket-Accept");
	return 0;
}

int
ws_http_parse_response(const char *buf, size_t len, const char *accept, struct ws_response *res)
{
	struct http_scan s;
	http_parser p;
	int r;

	memset(res, 0, sizeof(*res));
	r = http_scan(
	    buf, len < WS_HTTP_MAX ? len : WS_HTTP_MAX, HTTP_RESPONSE, &p, &s, &res->header_len);
	if (r == 1 && len < WS_HTTP_MAX)
		return 1;
	if (r == 1)
		return response_fail(
		    res, "HTTP response from server or proxy is over %d bytes", WS_HTTP_MAX);
	if (r == -1)
		return response_fail(res, "malformed HTTP response from server or proxy: %s",
		    http_errno_description(HTTP_PARSER_ERRNO(&p)));
	res->complete = 1;
	res->status = p.status_code;
	return response_judge(&s, accept, res);
}
