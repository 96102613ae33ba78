/*
 * WebSocket (RFC 6455) as a transport, so agents can pass through HTTP
 * reverse proxies. The client sends an HTTP/1.1 Upgrade request and checks
 * the 101 answer; the server parses the request with http-parser and answers
 * 101 with Sec-WebSocket-Accept (SHA-1 and base64 from OpenSSL) or 400 with a
 * reason. Frames are wslay's: rtun bytes travel as binary messages (masked
 * from the client), pings are answered, a close frame ends the stream.
 * The request parser and the accept-key function are pure (fuzz targets).
 */
#ifndef RTUN_TRANSPORT_WS_H
#define RTUN_TRANSPORT_WS_H

#include <stddef.h>

#include "transport.h"

/* Longest upgrade request or response accepted, bytes. */
#define WS_HTTP_MAX 8192

struct ws_client_opts {
	const char *host;              /* Host header */
	const char *path;              /* request target, e.g. "/rtun" */
	const char *const *headers;    /* extra "Name: value" lines for proxies */
	size_t nheaders;
};

/* WebSocket client over an established inner transport (takes inner). */
struct transport *transport_ws_client(struct transport *inner, const struct ws_client_opts *o);
/* WebSocket server over an established inner transport (takes inner); path must match. */
struct transport *transport_ws_server(struct transport *inner, const char *path);

/* Sec-WebSocket-Accept for a client key: base64(SHA-1(key + RFC 6455 GUID)); 0 or -1. */
int ws_accept_key(const char *key, char out[29]);

/* Outcome of parsing an upgrade request. */
struct ws_request {
	int complete;                  /* the header block ended */
	size_t header_len;             /* bytes up to and including the blank line */
	char key[64];                  /* Sec-WebSocket-Key */
	int status;                    /* 101 if acceptable, else the HTTP status to send */
	const char *reason;            /* why not, for the 400 body and the log */
	int offer_version;             /* the refusal names the version we speak (13) */
};

/*
 * Parse the start of buf as an HTTP/1.1 WebSocket upgrade request for path.
 * Returns 0 when the header block is complete (req->status says whether it is
 * acceptable), 1 when more bytes are needed, -1 when it can never be valid
 * (malformed HTTP, or longer than WS_HTTP_MAX; req->status and reason set).
 */
int ws_parse_request(const char *buf, size_t len, const char *path, struct ws_request *req);

#endif
