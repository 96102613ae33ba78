/*
 * The socket end of a stream (see stream.h): a TCP connection on the local
 * side of a link, either accepted (a user on rtund) or being connected (the
 * agent's connection to a service), optionally opened with a PROXY protocol
 * header. The stream that takes the end owns it.
 */
#ifndef RTUN_STREAM_SOCK_H
#define RTUN_STREAM_SOCK_H

#include <ev.h>

#include "net.h"
#include "proxyproto.h"

struct stream_end;

/* An end over an accepted, connected socket (owned from now on). */
struct stream_end *stream_sock_accepted(struct ev_loop *loop, int fd);
/* What a user whose stream never opened is answered (whole replies, e.g. HTTP 504). */
struct sock_answers {
	const char *timeout;   /* the agent did not answer within open_timeout */
	const char *failed;    /* anything else: refused, the link gone */
};
/*
 * An end over an accepted socket from which in (len bytes) was read already:
 * the stream reads those first. With answers, a stream that never opens
 * writes one of them and closes cleanly; answers must outlive the end.
 */
struct stream_end *stream_sock_routed(struct ev_loop *loop, int fd, const void *in, size_t len,
    const struct sock_answers *answers);
/*
 * Start a non-blocking connect to to; with v set, the PROXY header naming
 * user peer and public address dest goes out first. NULL with errno when the
 * connect fails at once; otherwise the end reports stream_end_connected().
 */
struct stream_end *stream_sock_connect(struct ev_loop *loop, const struct net_addr *to,
    enum proxyproto_version v, const char *peer, const char *dest);

#endif
