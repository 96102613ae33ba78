/*
 * The wire format: a link is the 8-byte preface (sent by the dialling side)
 * followed by frames, each `length:u32be | header:msgpack array | payload`.
 * doc/PROTOCOL.md is the exact specification. Pure functions, no I/O: every
 * decoder here is a fuzz target.
 */
#ifndef RTUN_FRAME_H
#define RTUN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct buf;

#define FRAME_PREFACE "RTUN\r\n\x1a\n"
#define FRAME_PREFACE_LEN 8
#define FRAME_LEN_SIZE 4
/* Largest msgpack header accepted, and the room reserved to encode one. */
#define FRAME_HEADER_MAX 1024
/* Largest payload of any frame (DATA or CONTROL). */
#define FRAME_PAYLOAD_MAX 65536
/* Largest value of the length prefix. */
#define FRAME_LEN_MAX (FRAME_HEADER_MAX + FRAME_PAYLOAD_MAX)
/* Longest string field (service name, peer address, destination, reason). */
#define FRAME_TEXT_MAX 255
/* Most string fields in one header (OPEN with a destination). */
#define FRAME_TEXTS_MAX 4
/* Bytes needed to encode the prefix and header of any frame we send. */
#define FRAME_ENC_MAX (FRAME_LEN_SIZE + 32 + FRAME_TEXTS_MAX * (FRAME_TEXT_MAX + 5))

enum frame_type {
	FRAME_DATA = 0,
	FRAME_WINDOW = 1,
	FRAME_OPEN = 2,
	FRAME_OPEN_OK = 3,
	FRAME_CLOSE = 4,
	FRAME_RESET = 5,
	FRAME_PING = 6,
	FRAME_PONG = 7,
	FRAME_GOAWAY = 8,
	FRAME_CONTROL = 9,
};
#define FRAME_TYPE_COUNT 10

/* Decoder results: complete, need more bytes, or one of the errors (< 0). */
enum frame_result {
	FRAME_OK = 0,
	FRAME_NEED_MORE = 1,
	FRAME_ERR_LENGTH = -1,   /* length prefix 0 or over FRAME_LEN_MAX */
	FRAME_ERR_HEADER = -2,   /* header is not one well-formed msgpack array */
	FRAME_ERR_TYPE = -3,     /* unknown frame type */
	FRAME_ERR_FIELD = -4,    /* wrong number or type of fields, or a value out of range */
	FRAME_ERR_PAYLOAD = -5,  /* payload where none is allowed, or too large */
	FRAME_ERR_STREAM = -6,   /* stream id 0 where a stream is needed, or the reverse */
};

/* RESET and GOAWAY codes. */
enum frame_code {
	FRAME_CODE_NONE = 0,          /* GOAWAY: orderly shutdown */
	FRAME_CODE_PROTOCOL = 1,      /* the peer broke the protocol */
	FRAME_CODE_CONNECT = 2,       /* target refused or unreachable */
	FRAME_CODE_UNKNOWN_SERVICE = 3,
	FRAME_CODE_REFUSED = 4,       /* too many streams, shutting down */
	FRAME_CODE_TIMEOUT = 5,       /* open or connect timed out */
	FRAME_CODE_ABORTED = 6,       /* local socket reset or failed */
	FRAME_CODE_FLOW = 7,          /* window exceeded */
	FRAME_CODE_SUPERSEDED = 8,    /* GOAWAY: a newer link of the same agent took over */
	FRAME_CODE_AUTH = 9,          /* GOAWAY: authentication failed */
	FRAME_CODE_FORBIDDEN = 10,    /* the OPEN's destination is not in the agent's allow_connect */
};

/* A decoded or to-be-encoded frame. Strings and payload point into the input. */
struct frame {
	enum frame_type type;
	uint32_t stream;
	uint64_t value;          /* WINDOW increment, RESET/GOAWAY code, PING/PONG opaque */
	const char *text;        /* OPEN service, RESET/GOAWAY reason */
	size_t text_len;
	const char *peer;        /* OPEN: user address */
	size_t peer_len;
	const char *dest;        /* OPEN: the public address the user connected to */
	size_t dest_len;
	const char *connect;     /* OPEN of a route: "host:port" to connect to; length 0 if none */
	size_t connect_len;
	const uint8_t *payload;  /* DATA, CONTROL */
	size_t payload_len;
};

/* Per-link decoder state: a msgpack zone reused for every header. */
struct frame_decoder {
	msgpack_zone zone;
};

/* Prepare a decoder. */
void frame_decoder_init(struct frame_decoder *d);
/* Release a decoder's memory. */
void frame_decoder_free(struct frame_decoder *d);
/*
 * Decode one frame from the start of p. FRAME_OK fills f and *used (bytes of
 * the whole frame); FRAME_NEED_MORE means p holds only part of a frame (*used
 * is then the total size when known, else 0); anything negative is malformed
 * input and the link must be dropped.
 */
enum frame_result frame_decode(struct frame_decoder *d, const uint8_t *p, size_t len,
    struct frame *f, size_t *used);
/* Encode the length prefix and header of f (payload not copied) into out; returns bytes. */
size_t frame_encode_header(uint8_t out[FRAME_ENC_MAX], const struct frame *f);
/* Append the whole frame f, payload included, to b. */
void frame_append(struct buf *b, const struct frame *f);
/* Name of a frame type for logs ("DATA", ...), "?" when unknown. */
const char *frame_type_name(int type);
/* Human-readable text for a frame_result. */
const char *frame_strerror(enum frame_result r);

#endif
