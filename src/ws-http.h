/*
 * The HTTP/1.1 half of a WebSocket (RFC 6455) upgrade, over byte buffers
 * only: the server parses and judges the client's request and builds its 101
 * or refusal; the client builds its request and parses and judges the answer
 * of the server or of a proxy in between. No I/O, so both directions are
 * fuzz targets; transport-ws.c moves the bytes.
 */
#ifndef RTUN_WS_HTTP_H
#define RTUN_WS_HTTP_H

#include <stddef.h>

#include "buf.h"

/* Longest upgrade request or response accepted, bytes. */
#define WS_HTTP_MAX 8192
/* Bytes of the nonce whose base64 is the client's Sec-WebSocket-Key. */
#define WS_HTTP_NONCE_LEN 16

struct ws_client_opts {
	const char *host;           /* Host header */
	const char *path;           /* request target, e.g. "/rtun" */
	const char *const *headers; /* extra "Name: value" lines for proxies */
	size_t nheaders;
};

/* Outcome of parsing an upgrade request. */
struct ws_request {
	int complete;       /* the header block ended */
	size_t header_len;  /* bytes up to and including the blank line */
	char key[64];       /* Sec-WebSocket-Key */
	int status;         /* 101 if acceptable, else the HTTP status to send */
	const char *reason; /* why not, for the 400 body and the log */
	int offer_version;  /* the refusal names the version we speak (13) */
};

/* Outcome of parsing the answer to an upgrade request. */
struct ws_response {
	int complete;      /* the header block ended */
	size_t header_len; /* bytes up to and including the blank line */
	int status;        /* the HTTP status code, 0 until the block ended */
	char error[256];   /* why the upgrade failed, "" if it did not */
};

/* Sec-WebSocket-Accept for a client key: base64(SHA-1(key + RFC 6455 GUID)); 0 or -1. */
int ws_http_accept_key(const char *key, char out[29]);

/*
 * Parse the start of buf as an HTTP/1.1 WebSocket upgrade request for path.
 * Returns 0 when the header block is complete (req->status says whether it is
 * acceptable), 1 when more bytes are needed, -1 when it can never be valid
 * (malformed HTTP, or longer than WS_HTTP_MAX; req->status and reason set).
 */
int ws_http_parse_request(const char *buf, size_t len, const char *path, struct ws_request *req);
/* Append the 101 answer to a request with this key to out; -1 (nothing appended) if SHA-1 fails. */
int ws_http_put_101(struct buf *out, const char *key);
/* Append the refusal of req (its status, reason as the body) to out; returns that reason. */
const char *ws_http_put_refusal(struct buf *out, const struct ws_request *req);

/*
 * Append the client's upgrade request to out, its Sec-WebSocket-Key the base64
 * of nonce, and store the Sec-WebSocket-Accept the answer must carry in accept;
 * -1 (nothing appended) if SHA-1 fails.
 */
int ws_http_put_request(struct buf *out, const struct ws_client_opts *o,
    const unsigned char nonce[WS_HTTP_NONCE_LEN], char accept[29]);
/*
 * Parse the start of buf as the answer to a request that expects accept.
 * Returns 0 when the upgrade succeeded (the rest of buf after header_len is
 * WebSocket), 1 when more bytes are needed, -1 when it failed (res->error says
 * why: malformed, longer than WS_HTTP_MAX, a status other than 101, or a 101
 * without Upgrade: websocket or with the wrong Sec-WebSocket-Accept).
 */
int ws_http_parse_response(
    const char *buf, size_t len, const char *accept, struct ws_response *res);

#endif
