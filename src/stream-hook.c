/*
 * The hook end (stream-hook.h). Until it has an end behind it, it has
 * nothing to read or write: a stream still connecting asks for neither, and
 * what it wants is kept for the end that comes.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdlib.h>

#include "stream-hook.h"
#include "stream.h"
#include "xmalloc.h"

struct hook_end {
	struct stream_end e;
	struct stream_end *inner;       /* NULL until attached */
	const struct stream_hook_ops *ops;
	void *arg;
	int want_read, want_write;
	int opened;
};

/* The end behind, serving the hook's stream (which the stream sets only on the hook). */
static struct stream_end *
inner_of(struct stream_end *e)
{
	struct hook_end *h = (struct hook_end *)e;

	if (h->inner != NULL)
		h->inner->s = e->s;
	return h->inner;
}

static ssize_t
hook_read(struct stream_end *e, void *p, size_t len)
{
	struct stream_end *in = inner_of(e);

	if (in == NULL) {
		errno = EAGAIN;
		return -1;
	}
	return in->ops->read(in, p, len);
}

static ssize_t
hook_write(struct stream_end *e, const void *p, size_t len)
{
	struct stream_end *in = inner_of(e);

	if (in == NULL) {
		errno = EAGAIN;
		return -1;
	}
	return in->ops->write(in, p, len);
}

static void
hook_shutdown(struct stream_end *e)
{
	struct stream_end *in = inner_of(e);

	/* A stream shuts its end only once it is open, and it opens only with an end behind. */
	if (in != NULL)
		in->ops->shutdown(in);
}

static void
hook_want(struct stream_end *e, int read, int write)
{
	struct hook_end *h = (struct hook_end *)e;
	struct stream_end *in = inner_of(e);

	h->want_read = read;
	h->want_write = write;
	if (in != NULL)
		in->ops->want(in, read, write);
}

static void
hook_close(struct stream_end *e, int clean)
{
	struct hook_end *h = (struct hook_end *)e;
	struct stream_end *in = inner_of(e);

	if (in != NULL)
		in->ops->close(in, clean);
	h->ops->closed(h->arg, clean);
	free(h);
}

static void
hook_opened(struct stream_end *e)
{
	struct hook_end *h = (struct hook_end *)e;
	struct stream_end *in = inner_of(e);

	h->opened = 1;
	if (in != NULL && in->ops->opened != NULL)
		in->ops->opened(in);
}

static void
hook_reset(struct stream_end *e, uint32_t code, const char *reason, size_t len)
{
	struct hook_end *h = (struct hook_end *)e;
	struct stream_end *in = inner_of(e);

	if (h->ops->reset != NULL)
		h->ops->reset(h->arg, code, reason, len);
	if (in != NULL && in->ops->reset != NULL)
		in->ops->reset(in, code, reason, len);
}

static const struct stream_end_ops hook_ops = {
	.read = hook_read,
	.write = hook_write,
	.shutdown = hook_shutdown,
	.want = hook_want,
	.close = hook_close,
	.opened = hook_opened,
	.reset = hook_reset,
};

struct stream_end *
stream_hook_new(struct stream_end *inner, const struct stream_hook_ops *ops, void *arg)
{
	struct hook_end *h = xcalloc(1, sizeof(*h));

	h->e.ops = &hook_ops;
	h->inner = inner;
	h->ops = ops;
	h->arg = arg;
	return &h->e;
}

void
stream_hook_attach(struct stream_end *hook, struct stream_end *inner)
{
	struct hook_end *h = (struct hook_end *)hook;

	h->inner = inner;
	inner_of(hook);
	inner->ops->want(inner, h->want_read, h->want_write);
}

int
stream_hook_opened(const struct stream_end *hook)
{
	return ((const struct hook_end *)hook)->opened;
}
