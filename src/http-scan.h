/*
 * One HTTP/1.1 header block (a request or a response head) scanned with
 * http-parser for the few things rtun acts on. Always parsed from the start
 * of the buffer, so the parser keeps no state between reads and a parse of a
 * prefix can only ask for more bytes or decide as the whole would. What is
 * kept are spans into the caller's buffer, never copies: nothing is
 * allocated. The WebSocket upgrade (ws-http.c) and the Host of a web request
 * (http-host.c) read their verdicts off it.
 */
#ifndef RTUN_HTTP_SCAN_H
#define RTUN_HTTP_SCAN_H

#include <stddef.h>

#include <http_parser.h>

/* A run of bytes inside the buffer being parsed. */
struct span {
	const char *p;
	size_t n;
};

/* What rtun needs from one HTTP header block. */
struct http_scan {
	struct span url, reason, field, value;
	struct span key, accept, version, host;
	int nkey;         /* Sec-WebSocket-Key headers seen */
	int nhost;        /* Host headers seen (host is the last one's value) */
	int upgrade_ws;   /* an Upgrade header lists "websocket" */
	int conn_upgrade; /* a Connection header lists "upgrade" */
	int done;         /* the blank line ending the block was seen */
};

/* True if s is str, compared without case. */
int span_ieq(struct span s, const char *str);
/*
 * Parse the header block at the start of buf: 0 when complete (*used is its
 * length), 1 when more bytes are needed, -1 when it is not HTTP (p says why).
 */
int http_scan(const char *buf, size_t len, enum http_parser_type type, http_parser *p,
    struct http_scan *s, size_t *used);

#endif
