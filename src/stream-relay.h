/*
 * A relay: a stream the peer of one link opened, joined to a stream opened
 * on another link, so that rtund can carry a visitor's stream from agent A to
 * a service of agent B when the two cannot reach each other directly. Each
 * stream's local side is a relay end; the ends share one small bounded
 * buffer per direction, so credit passes through end to end: when B's side
 * reads slowly, the buffer fills, A's stream stops taking bytes and stops
 * returning credit, and only that stream stalls. Half-closes pass through
 * after the buffered bytes; a reset, a dead link or a timeout on either side
 * resets the other, with the original code and reason where there is one.
 */
#ifndef RTUN_STREAM_RELAY_H
#define RTUN_STREAM_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct link;
struct stream_conf;
struct stream_relay;

/*
 * Bytes the relay holds at most per direction. The pipe only decouples the
 * two links' turns: one frame's payload at most (FRAME_PAYLOAD_MAX) arrives per
 * write and leaves per read, so a pipe that holds one lets a whole frame pass
 * in one step, and the speed is then set by the two streams' windows, not by
 * the pipe. More would only cost memory per relayed stream; the buffer is
 * allocated while it holds bytes and freed when it drains.
 */
#define STREAM_RELAY_BUF (64 * 1024)

/*
 * Join stream id, which the peer of from has just opened (call it from from's
 * open callback, before the next frame is dispatched), to a new stream opened
 * on to with cto's service, peer and dest. The first is accepted as
 * connecting (its connect timeout is cfrom->timeout) and answered OPEN_OK only
 * once the second got its OPEN_OK (within cto->timeout). ended(arg) runs once,
 * from the loop, when both streams are gone; the relay is freed just before,
 * so drop the pointer there. Both links run on one loop, and to is
 * authenticated and alive; closing either link ends the relay (the other
 * stream is reset).
 */
struct stream_relay *stream_relay_join(struct link *from, uint32_t id,
    const struct stream_conf *cfrom, struct link *to, const struct stream_conf *cto,
    void (*ended)(void *arg), void *arg);
/* Bytes waiting in the relay now: towards to's peer if towards_to, else towards from's. */
size_t stream_relay_queued(const struct stream_relay *r, int towards_to);
/* The most bytes either direction ever held; never above STREAM_RELAY_BUF. */
size_t stream_relay_peak(const struct stream_relay *r);

#endif
