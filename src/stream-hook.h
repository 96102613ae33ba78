/*
 * A stream end in front of another (see stream.h): it passes every call on
 * to the end behind it, which it may be given only later, and tells its
 * owner when the stream is reset and when it lets the end go. Routes use it
 * on both sides: the agent gives it the socket end only once it has checked
 * and resolved the destination, and rtund hears why the agent refused.
 */
#ifndef RTUN_STREAM_HOOK_H
#define RTUN_STREAM_HOOK_H

#include <stddef.h>
#include <stdint.h>

struct stream_end;

/* What the owner of a hook is told. */
struct stream_hook_ops {
	/* Optional: the stream is being reset with code and reason (len bytes, unchecked). */
	void (*reset)(void *arg, uint32_t code, const char *reason, size_t len);
	/* The stream let the end go (clean as for stream_end_ops.close); the last call. */
	void (*closed)(void *arg, int clean);
};

/* An end in front of inner, or of nothing yet (inner NULL: see stream_hook_attach()). */
struct stream_end *stream_hook_new(struct stream_end *inner, const struct stream_hook_ops *ops,
    void *arg);
/* Put inner behind hook, which had no end behind it; inner serves hook's stream from now on. */
void stream_hook_attach(struct stream_end *hook, struct stream_end *inner);
/* True once the OPEN of the hook's stream (a stream_open() one) got its OPEN_OK. */
int stream_hook_opened(const struct stream_end *hook);

#endif
