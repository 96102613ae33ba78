/*
 * WebSocket (RFC 6455) as a transport, so agents can pass through HTTP
 * reverse proxies. The client sends an HTTP/1.1 Upgrade request and checks
 * the 101 answer; the server reads the request and answers 101 with
 * Sec-WebSocket-Accept or 400 with a reason (the HTTP of both is ws-http.c's).
 * Frames are wslay's: rtun bytes travel as binary messages (masked from the
 * client), pings are answered, a close frame ends the stream.
 */
#ifndef RTUN_TRANSPORT_WS_H
#define RTUN_TRANSPORT_WS_H

#include <stddef.h>

#include "transport.h"
#include "ws-http.h"

/* WebSocket client over an established inner transport (takes inner). */
struct transport *transport_ws_client(struct transport *inner, const struct ws_client_opts *o);
/* WebSocket server over an established inner transport (takes inner); path must match. */
struct transport *transport_ws_server(struct transport *inner, const char *path);

#endif
