/*
 * Byte queues with lazily allocated, released-when-empty storage.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "log.h"
#include "xmalloc.h"

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

uint8_t *
buf_reserve(struct buf *b, size_t n)
{
	size_t need, cap;

	if (b->cap - b->off - b->len >= n)
		return b->data + b->off + b->len;
	/* Slide unread bytes to the front before growing: cheaper than realloc. */
	if (b->off > 0 && b->cap - b->len >= n) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		return b->data + b->len;
	}
	if (n > BUF_MAX || b->len > BUF_MAX - n) {
		log_error("buf_reserve: %zu + %zu bytes exceeds the buffer limit", b->len, n);
		abort();
	}
	need = b->len + n;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	b->data = xreallocarray(b->data, 1, cap);
	b->cap = cap;
	return b->data + b->len;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(buf_reserve(b, n), p, n);
	b->len += n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	/* vsnprintf writes a NUL after the text: reserve it, then leave it out. */
	va_start(ap, fmt);
	vsnprintf((char *)buf_reserve(b, (size_t)n + 1), (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_commit(b, (size_t)n);
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_free(b);
		return;
	}
	b->off += n;
	b->len -= n;
}

int
buf_send(struct buf *b, int fd)
{
	ssize_t n;

	while (buf_len(b) > 0) {
		n = send(fd, buf_ptr(b), buf_len(b), MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
		buf_consume(b, (size_t)n);
	}
	return 0;
}

char *
buf_take_string(struct buf *b)
{
	char *s = buf_len(b) > 0 ? xstrndup((const char *)buf_ptr(b), buf_len(b)) : xstrdup("");

	buf_free(b);
	return s;
}
