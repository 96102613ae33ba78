/*
 * Byte queues. A buf holds unread bytes at [off, off+len) of one allocation;
 * writers reserve space at the end and commit what they filled, readers
 * consume from the front. Memory is released when a buf drains, so idle
 * streams cost nothing but the struct.
 */
#ifndef RTUN_BUF_H
#define RTUN_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t off;
	size_t len;
	size_t cap;
};

/* Largest capacity a buf may grow to; a bug if reached. */
#define BUF_MAX (64U * 1024 * 1024)

/* An empty buf that owns no memory. */
void buf_init(struct buf *b);
/* Release the buf's memory; it stays usable and empty. */
void buf_free(struct buf *b);
/* Pointer to the first unread byte (valid while len > 0). */
static inline uint8_t *
buf_ptr(const struct buf *b)
{
	return b->data + b->off;
}
/* Number of unread bytes. */
static inline size_t
buf_len(const struct buf *b)
{
	return b->len;
}
/* Make room for n more bytes at the end and return where they go. */
uint8_t *buf_reserve(struct buf *b, size_t n);
/* Count n bytes written into the space buf_reserve() returned. */
void buf_commit(struct buf *b, size_t n);
/* Append n bytes. */
void buf_append(struct buf *b, const void *p, size_t n);
/* Append printf-formatted text (no NUL is kept). */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop n bytes from the front; frees the memory once empty. */
void buf_consume(struct buf *b, size_t n);

/* Big-endian u32 from 4 bytes. */
static inline uint32_t
buf_get_u32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
/* Store a big-endian u32 into 4 bytes. */
static inline void
buf_put_u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* What b holds as a C string the caller frees; b is emptied (freed). */
char *buf_take_string(struct buf *b);
/* Send what b holds on socket fd: 0 all sent, 1 the socket is full, -1 (errno) an error. */
int buf_send(struct buf *b, int fd);

#endif
