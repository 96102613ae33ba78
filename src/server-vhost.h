/*
 * rtund's shared web listeners. http_listen reads each connection's first
 * request head (bounded in size and time) for its Host; https_listen reads
 * the TLS ClientHello for its server name, without decrypting. The name picks
 * the agent service that claimed it (hostmap.c), and the connection becomes a
 * stream to that agent carrying, untouched, the bytes read to decide; from
 * then on it is a plain stream, so later requests on a keep-alive connection
 * go to the same service. Refusals are answered as HTTP (400, 404, 408, 431,
 * 502) on http_listen and with a TLS alert or a plain close on https_listen.
 */
#ifndef RTUN_SERVER_VHOST_H
#define RTUN_SERVER_VHOST_H

#include <stddef.h>

#include <ev.h>

#include "hostmap.h"
#include "net.h"
#include "stream-sock.h"

struct metrics;
struct vhost;

/* Connections still being read (head or hello) per listener; more are closed at once. */
#define VHOST_PENDING_MAX 1024
/* Bytes read at most before a decision (a head is at most HTTP_HEAD_MAX of them). */
#define VHOST_READ_MAX 20480
/* How long a refused connection is drained after its answer, so the answer is read. */
#define VHOST_LINGER 1.0

/*
 * A connection for claim c: make it a stream on the claim's agent link. head
 * (len bytes) goes first; answers are for a stream that never opens. The
 * callee owns fd.
 */
typedef void (*vhost_open_fn)(void *arg, struct hostclaim *c, int fd, const struct net_addr *from,
    const void *head, size_t len, const struct sock_answers *answers);

/* Listen on addr for scheme, routing by names in m; NULL with errno if it cannot listen. */
struct vhost *vhost_new(struct ev_loop *loop, enum vhost_scheme scheme, const struct net_addr *addr,
    struct hostmap *m, struct metrics *metrics, double timeout, vhost_open_fn open, void *arg);
/* Time a connection has to send its head or hello. */
void vhost_set_timeout(struct vhost *vh, double timeout);
/* Stop accepting (the drain); connections being read are closed. */
void vhost_stop(struct vhost *vh);
/* Close everything and free. */
void vhost_free(struct vhost *vh);

#endif
