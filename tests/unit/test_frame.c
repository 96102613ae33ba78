/*
 * Unit tests of src/frame.c against doc/PROTOCOL.md: every frame type encoded
 * and decoded back, the spec's example bytes, partial input, back-to-back
 * frames, and a table of malformed frames with the error each must produce.
 */
#include "rtun-build.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "frame.h"

/* A table entry that accepts any error (the exact code is not specified). */
#define ANY_ERROR (-100)

static struct frame_decoder dec;

static void
setup(void)
{
	frame_decoder_init(&dec);
}

static void
teardown(void)
{
	frame_decoder_free(&dec);
}

/* The last frame built; decoded frames point into it until the next one. */
static uint8_t wire[FRAME_LEN_SIZE + FRAME_LEN_MAX];

/* Decode length | header | plen bytes of 'x'; returns the result. */
static enum frame_result
decode_built(const void *hdr, size_t hlen, size_t plen, struct frame *f)
{
	enum frame_result r;
	size_t n, used;

	n = FRAME_LEN_SIZE + hlen + plen;
	ck_assert_uint_le(n, sizeof(wire));
	buf_put_u32be(wire, (uint32_t)(hlen + plen));
	memcpy(wire + FRAME_LEN_SIZE, hdr, hlen);
	memset(wire + FRAME_LEN_SIZE + hlen, 'x', plen);
	r = frame_decode(&dec, wire, n, f, &used);
	if (r == FRAME_OK)
		ck_assert_uint_eq(used, n);
	return r;
}

static void
assert_mem_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	ck_assert_uint_eq(alen, blen);
	if (alen > 0)
		ck_assert_int_eq(memcmp(a, b, alen), 0);
}

/* Every field a decoder fills is equal in both frames. */
static void
assert_frame_eq(const struct frame *got, const struct frame *want)
{
	ck_assert_int_eq(got->type, want->type);
	ck_assert_uint_eq(got->stream, want->stream);
	ck_assert_uint_eq(got->value, want->value);
	assert_mem_eq(got->text, got->text_len, want->text, want->text_len);
	assert_mem_eq(got->peer, got->peer_len, want->peer, want->peer_len);
	assert_mem_eq(got->dest, got->dest_len, want->dest, want->dest_len);
	assert_mem_eq(got->connect, got->connect_len, want->connect, want->connect_len);
	assert_mem_eq(got->payload, got->payload_len, want->payload, want->payload_len);
}

static const uint8_t control_payload[] = { 0x3a, 0x02, 0x08, 0x01 };

/* One well-formed frame of each type, with values that need wide encodings. */
static const struct frame samples[] = {
	{ .type = FRAME_DATA, .stream = 2, .payload = (const uint8_t *)"abc", .payload_len = 3 },
	{ .type = FRAME_WINDOW, .stream = 0xffffffff, .value = 0x7fffffff },
	{ .type = FRAME_OPEN, .stream = 4, .text = "ssh", .text_len = 3,
	    .peer = "[::1]:5678", .peer_len = 10, .dest = "127.0.0.1:6022", .dest_len = 14 },
	{ .type = FRAME_OPEN_OK, .stream = 5 },
	{ .type = FRAME_CLOSE, .stream = 300 },
	{ .type = FRAME_RESET, .stream = 70000, .value = FRAME_CODE_FLOW, .text = "window",
	    .text_len = 6 },
	{ .type = FRAME_PING, .value = UINT64_MAX },
	{ .type = FRAME_PONG, .value = 0 },
	{ .type = FRAME_GOAWAY, .value = FRAME_CODE_SUPERSEDED, .text = "", .text_len = 0 },
	{ .type = FRAME_CONTROL, .payload = control_payload,
	    .payload_len = sizeof(control_payload) },
};

START_TEST(test_round_trip)
{
	const struct frame *want = &samples[_i];
	struct frame got;
	struct buf b;
	size_t used;

	ck_assert_int_eq(want->type, _i);
	buf_init(&b);
	frame_append(&b, want);
	ck_assert_int_eq(frame_decode(&dec, buf_ptr(&b), buf_len(&b), &got, &used), FRAME_OK);
	ck_assert_uint_eq(used, buf_len(&b));
	assert_frame_eq(&got, want);
	buf_free(&b);
}
END_TEST

/*
 * The OPEN of a route carries a sixth element, the destination: it goes out
 * only when set, and a 5-element OPEN decodes with none.
 */
START_TEST(test_open_connect)
{
	const struct frame want = { .type = FRAME_OPEN, .stream = 6, .text = "office-ssh",
		.text_len = 10, .peer = "192.0.2.7:40000", .peer_len = 15,
		.dest = "198.51.100.1:5122", .dest_len = 17, .connect = "[fd00::4]:22",
		.connect_len = 12 };
	static const uint8_t wire6[] = { 0x00, 0x00, 0x00, 0x0d, 0x96, 0x02, 0x02, 0xa1, 's',
		0xa1, 'p', 0xa1, 'd', 0xa3, 'h', ':', '1' };
	struct frame got;
	struct buf b;
	size_t used;

	buf_init(&b);
	frame_append(&b, &want);
	ck_assert_uint_eq(buf_ptr(&b)[FRAME_LEN_SIZE], 0x96);
	ck_assert_int_eq(frame_decode(&dec, buf_ptr(&b), buf_len(&b), &got, &used), FRAME_OK);
	assert_frame_eq(&got, &want);
	buf_free(&b);
	buf_init(&b);
	frame_append(&b, &samples[FRAME_OPEN]);
	ck_assert_uint_eq(buf_ptr(&b)[FRAME_LEN_SIZE], 0x95);
	ck_assert_int_eq(frame_decode(&dec, buf_ptr(&b), buf_len(&b), &got, &used), FRAME_OK);
	ck_assert_uint_eq(got.connect_len, 0);
	buf_free(&b);
	ck_assert_int_eq(frame_decode(&dec, wire6, sizeof(wire6), &got, &used), FRAME_OK);
	assert_mem_eq(got.connect, got.connect_len, "h:1", 3);
}
END_TEST

/* The example of PROTOCOL.md: DATA of "abc" on stream 2. */
static const uint8_t example[] = { 0x00, 0x00, 0x00, 0x06, 0x92, 0x00, 0x02, 'a', 'b', 'c' };

START_TEST(test_spec_example)
{
	uint8_t hdr[FRAME_ENC_MAX];
	struct frame f;
	size_t used, n;

	ck_assert_int_eq(frame_decode(&dec, example, sizeof(example), &f, &used), FRAME_OK);
	ck_assert_uint_eq(used, sizeof(example));
	assert_frame_eq(&f, &samples[FRAME_DATA]);
	n = frame_encode_header(hdr, &f);
	ck_assert_uint_eq(n, sizeof(example) - 3);
	ck_assert_int_eq(memcmp(hdr, example, n), 0);
}
END_TEST

/* Senders use the shortest integer encodings. */
START_TEST(test_encode_shortest)
{
	static const uint8_t want[] = { 0, 0, 0, 6, 0x93, 0x06, 0x00, 0xcd, 0x01, 0x2c };
	struct frame f = { .type = FRAME_PING, .value = 300 };
	uint8_t hdr[FRAME_ENC_MAX];

	ck_assert_uint_eq(frame_encode_header(hdr, &f), sizeof(want));
	ck_assert_int_eq(memcmp(hdr, want, sizeof(want)), 0);
}
END_TEST

/* Receivers accept any unsigned encoding and str 8/16 (PROTOCOL.md, "Frames"). */
START_TEST(test_decode_wide_encodings)
{
	static const char hdr[] = "\x92"                   /* fixarray of 2 */
				  "\xcf\0\0\0\0\0\0\0\0"   /* type 0 as uint64 */
				  "\xce\0\0\0\x02";        /* stream 2 as uint32 */
	static const char open[] = "\x95\xcc\x02\xcd\x00\x04"
				   "\xda\0\x03ssh"         /* str16 */
				   "\xd9\x0a[::1]:5678"    /* str8 */
				   "\xae" "127.0.0.1:6022";
	struct frame f;

	ck_assert_int_eq(decode_built(hdr, sizeof(hdr) - 1, 3, &f), FRAME_OK);
	ck_assert_int_eq(f.type, FRAME_DATA);
	ck_assert_uint_eq(f.stream, 2);
	ck_assert_int_eq(decode_built(open, sizeof(open) - 1, 0, &f), FRAME_OK);
	assert_frame_eq(&f, &samples[FRAME_OPEN]);
}
END_TEST

START_TEST(test_one_byte_at_a_time)
{
	const struct frame *want = &samples[FRAME_OPEN];
	struct frame f;
	struct buf b;
	size_t i, used;

	buf_init(&b);
	frame_append(&b, want);
	for (i = 0; i < buf_len(&b); i++) {
		ck_assert_int_eq(frame_decode(&dec, buf_ptr(&b), i, &f, &used), FRAME_NEED_MORE);
		/* Once the length prefix is in, the decoder knows the whole size. */
		ck_assert_uint_eq(used, i < FRAME_LEN_SIZE ? 0 : buf_len(&b));
	}
	ck_assert_int_eq(frame_decode(&dec, buf_ptr(&b), i, &f, &used), FRAME_OK);
	ck_assert_uint_eq(used, buf_len(&b));
	assert_frame_eq(&f, want);
	buf_free(&b);
}
END_TEST

START_TEST(test_back_to_back)
{
	struct frame f;
	struct buf b;
	size_t used, first;
	unsigned i;

	buf_init(&b);
	frame_append(&b, &samples[FRAME_RESET]);
	first = buf_len(&b);
	frame_append(&b, &samples[FRAME_DATA]);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(frame_decode(&dec, buf_ptr(&b), buf_len(&b), &f, &used), FRAME_OK);
		ck_assert_uint_eq(used, i == 0 ? first : buf_len(&b));
		assert_frame_eq(&f, &samples[i == 0 ? FRAME_RESET : FRAME_DATA]);
		buf_consume(&b, used);
	}
	ck_assert_uint_eq(buf_len(&b), 0);
}
END_TEST

START_TEST(test_length_prefix)
{
	static const uint32_t bad[] = { 0, FRAME_LEN_MAX + 1, UINT32_MAX };
	uint8_t p[FRAME_LEN_SIZE];
	struct frame f;
	size_t i, used;

	/* A bad length is refused as soon as the prefix is in. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_put_u32be(p, bad[i]);
		ck_assert_int_eq(frame_decode(&dec, p, sizeof(p), &f, &used), FRAME_ERR_LENGTH);
	}
	buf_put_u32be(p, FRAME_LEN_MAX);
	ck_assert_int_eq(frame_decode(&dec, p, sizeof(p), &f, &used), FRAME_NEED_MORE);
	ck_assert_uint_eq(used, FRAME_LEN_SIZE + FRAME_LEN_MAX);
}
END_TEST

/*
 * The largest payload is accepted, one byte more is not. No header can reach
 * FRAME_HEADER_MAX bytes, so a frame of exactly FRAME_LEN_MAX bytes always has
 * a payload over the limit: it must pass the length check and fail on the payload.
 */
START_TEST(test_payload_limits)
{
	struct frame f;

	ck_assert_int_eq(decode_built("\x92\x00\x02", 3, FRAME_PAYLOAD_MAX, &f), FRAME_OK);
	ck_assert_uint_eq(f.payload_len, FRAME_PAYLOAD_MAX);
	ck_assert_int_eq(decode_built("\x92\x00\x02", 3, FRAME_PAYLOAD_MAX + 1, &f),
	    FRAME_ERR_PAYLOAD);
	ck_assert_int_eq(decode_built("\x92\x09\x00", 3, FRAME_PAYLOAD_MAX + 1, &f),
	    FRAME_ERR_PAYLOAD);
	ck_assert_int_eq(decode_built("\x92\x00\x02", 3, FRAME_LEN_MAX - 3, &f),
	    FRAME_ERR_PAYLOAD);
}
END_TEST

/* A header with a payload of plen bytes, and the result it must give. */
struct bad_case {
	const char *what;
	const char *hdr;
	size_t hlen;
	size_t plen;
	int want;
};

#define BAD(what, hdr, plen, want) { what, hdr, sizeof(hdr) - 1, plen, want }

static const struct bad_case bad_cases[] = {
	/* Not one well-formed msgpack array. */
	BAD("header is a map", "\x81\x00\x02", 1, FRAME_ERR_HEADER),
	BAD("header is an integer", "\x00", 1, FRAME_ERR_HEADER),
	BAD("header is a string", "\xa2\x00\x02", 1, FRAME_ERR_HEADER),
	BAD("header is nil", "\xc0", 0, FRAME_ERR_HEADER),
	BAD("reserved byte 0xc1", "\xc1", 0, FRAME_ERR_HEADER),
	BAD("truncated array", "\x92\x00", 0, FRAME_ERR_HEADER),
	BAD("truncated WINDOW", "\x93\x01\x01", 0, FRAME_ERR_HEADER),
	BAD("truncated uint32", "\x92\x00\xce\x00\x00", 0, FRAME_ERR_HEADER),
	BAD("truncated str", "\x94\x02\x02\xa5" "ab", 0, FRAME_ERR_HEADER),
	BAD("truncated array16", "\xdc\x00", 0, FRAME_ERR_HEADER),
	/* Unknown types. */
	BAD("type 10", "\x92\x0a\x01", 0, FRAME_ERR_TYPE),
	BAD("type 255", "\x92\xcc\xff\x01", 0, FRAME_ERR_TYPE),
	BAD("type 256", "\x92\xcd\x01\x00\x01", 0, FRAME_ERR_FIELD),
	/* Wrong number of elements. */
	BAD("empty array", "\x90", 0, ANY_ERROR),
	BAD("type only", "\x91\x03", 0, ANY_ERROR),
	BAD("DATA with 3", "\x93\x00\x02\x00", 1, FRAME_ERR_FIELD),
	BAD("WINDOW with 2", "\x92\x01\x01", 0, FRAME_ERR_FIELD),
	BAD("WINDOW with 4", "\x94\x01\x01\x01\x01", 0, FRAME_ERR_FIELD),
	BAD("OPEN with 3", "\x93\x02\x02\xa1s", 0, FRAME_ERR_FIELD),
	BAD("OPEN with 4", "\x94\x02\x02\xa1s\xa1p", 0, FRAME_ERR_FIELD),
	BAD("OPEN with 7", "\x97\x02\x02\xa1s\xa1p\xa1" "d\xa1x\xa1y", 0, ANY_ERROR),
	BAD("DATA with 6", "\x96\x00\x02\x00\x00\x00\x00", 1, FRAME_ERR_FIELD),
	BAD("RESET with 6", "\x96\x05\x01\x01\xa0\xa0\xa0", 0, FRAME_ERR_FIELD),
	BAD("OPEN_OK with 3", "\x93\x03\x01\x00", 0, FRAME_ERR_FIELD),
	BAD("CLOSE with 3", "\x93\x04\x01\x00", 0, FRAME_ERR_FIELD),
	BAD("RESET with 3", "\x93\x05\x01\x01", 0, FRAME_ERR_FIELD),
	BAD("PING with 2", "\x92\x06\x00", 0, FRAME_ERR_FIELD),
	BAD("PONG with 4", "\x94\x07\x00\x01\x01", 0, FRAME_ERR_FIELD),
	BAD("GOAWAY with 3", "\x93\x08\x00\x00", 0, FRAME_ERR_FIELD),
	BAD("CONTROL with 3", "\x93\x09\x00\x00", 1, FRAME_ERR_FIELD),
	/* Type and stream must be unsigned integers in range. */
	BAD("negative type", "\x92\xff\x01", 0, FRAME_ERR_FIELD),
	BAD("string type", "\x92\xa1" "0\x01", 1, FRAME_ERR_FIELD),
	BAD("float type", "\x92\xca\x00\x00\x00\x00\x02", 1, FRAME_ERR_FIELD),
	BAD("nil type", "\x92\xc0\x02", 1, FRAME_ERR_FIELD),
	BAD("negative stream", "\x92\x03\xff", 0, FRAME_ERR_FIELD),
	BAD("nil stream", "\x92\x03\xc0", 0, FRAME_ERR_FIELD),
	BAD("bool stream", "\x92\x03\xc3", 0, FRAME_ERR_FIELD),
	BAD("array stream", "\x92\x03\x91\x01", 0, FRAME_ERR_FIELD),
	BAD("stream 2^32", "\x92\x03\xcf\0\0\0\x01\0\0\0\0", 0, FRAME_ERR_FIELD),
	/* Stream 0 where a stream is needed, and the reverse. */
	BAD("DATA on stream 0", "\x92\x00\x00", 1, FRAME_ERR_STREAM),
	BAD("WINDOW on stream 0", "\x93\x01\x00\x01", 0, FRAME_ERR_STREAM),
	BAD("OPEN on stream 0", "\x95\x02\x00\xa1s\xa1p\xa1" "d", 0, FRAME_ERR_STREAM),
	BAD("OPEN_OK on stream 0", "\x92\x03\x00", 0, FRAME_ERR_STREAM),
	BAD("CLOSE on stream 0", "\x92\x04\x00", 0, FRAME_ERR_STREAM),
	BAD("RESET on stream 0", "\x94\x05\x00\x01\xa0", 0, FRAME_ERR_STREAM),
	BAD("PING on stream 1", "\x93\x06\x01\x00", 0, FRAME_ERR_STREAM),
	BAD("PONG on stream 1", "\x93\x07\x01\x00", 0, FRAME_ERR_STREAM),
	BAD("GOAWAY on stream 1", "\x94\x08\x01\x00\xa0", 0, FRAME_ERR_STREAM),
	BAD("CONTROL on stream 1", "\x92\x09\x01", 1, FRAME_ERR_STREAM),
	/* Field values. */
	BAD("WINDOW of 0", "\x93\x01\x01\x00", 0, FRAME_ERR_FIELD),
	BAD("WINDOW of 2^31", "\x93\x01\x01\xce\x80\x00\x00\x00", 0, FRAME_ERR_FIELD),
	BAD("WINDOW of 2^32", "\x93\x01\x01\xcf\0\0\0\x01\0\0\0\0", 0, FRAME_ERR_FIELD),
	BAD("negative WINDOW", "\x93\x01\x01\xff", 0, FRAME_ERR_FIELD),
	BAD("PING of nil", "\x93\x06\x00\xc0", 0, FRAME_ERR_FIELD),
	BAD("PING of -1", "\x93\x06\x00\xff", 0, FRAME_ERR_FIELD),
	BAD("OPEN service as bin", "\x95\x02\x02\xc4\x01s\xa1p\xa1" "d", 0, FRAME_ERR_FIELD),
	BAD("OPEN peer as int", "\x95\x02\x02\xa1s\x01\xa1" "d", 0, FRAME_ERR_FIELD),
	BAD("OPEN dest as int", "\x95\x02\x02\xa1s\xa1p\x01", 0, FRAME_ERR_FIELD),
	BAD("OPEN connect as int", "\x96\x02\x02\xa1s\xa1p\xa1" "d\x01", 0, FRAME_ERR_FIELD),
	BAD("OPEN connect empty", "\x96\x02\x02\xa1s\xa1p\xa1" "d\xa0", 0, FRAME_ERR_FIELD),
	BAD("OPEN connect as bin", "\x96\x02\x02\xa1s\xa1p\xa1" "d\xc4\x01x", 0,
	    FRAME_ERR_FIELD),
	BAD("RESET code as str", "\x94\x05\x01\xa1" "1\xa0", 0, FRAME_ERR_FIELD),
	BAD("RESET reason as nil", "\x94\x05\x01\x01\xc0", 0, FRAME_ERR_FIELD),
	BAD("GOAWAY code -1", "\x94\x08\x00\xff\xa0", 0, FRAME_ERR_FIELD),
	/* Payload where none belongs, and none where one is required. */
	BAD("WINDOW with payload", "\x93\x01\x01\x01", 1, FRAME_ERR_PAYLOAD),
	BAD("OPEN with payload", "\x95\x02\x02\xa1s\xa1p\xa1" "d", 1, FRAME_ERR_PAYLOAD),
	BAD("OPEN of a route with payload", "\x96\x02\x02\xa1s\xa1p\xa1" "d\xa1x", 1,
	    FRAME_ERR_PAYLOAD),
	BAD("OPEN_OK with payload", "\x92\x03\x01", 1, FRAME_ERR_PAYLOAD),
	BAD("CLOSE with payload", "\x92\x04\x01", 1, FRAME_ERR_PAYLOAD),
	BAD("RESET with payload", "\x94\x05\x01\x01\xa0", 1, FRAME_ERR_PAYLOAD),
	BAD("PING with payload", "\x93\x06\x00\x00", 1, FRAME_ERR_PAYLOAD),
	BAD("PONG with payload", "\x93\x07\x00\x00", 1, FRAME_ERR_PAYLOAD),
	BAD("GOAWAY with payload", "\x94\x08\x00\x00\xa0", 1, FRAME_ERR_PAYLOAD),
	BAD("DATA without payload", "\x92\x00\x02", 0, FRAME_ERR_PAYLOAD),
	BAD("CONTROL without payload", "\x92\x09\x00", 0, FRAME_ERR_PAYLOAD),
};

START_TEST(test_malformed)
{
	const struct bad_case *c = &bad_cases[_i];
	struct frame f;
	enum frame_result r;

	r = decode_built(c->hdr, c->hlen, c->plen, &f);
	if (c->want == ANY_ERROR)
		ck_assert_msg(r < 0, "%s: decoded as %d, want an error", c->what, r);
	else
		ck_assert_msg((int)r == c->want, "%s: got %d, want %d", c->what, r, c->want);
}
END_TEST

/* Pack [type, stream, (code,) text] with a text of n bytes; returns the header size. */
static size_t
text_header(uint8_t *out, int type, size_t n)
{
	size_t off = 0;

	out[off++] = type == FRAME_OPEN ? 0x95 : 0x94;
	out[off++] = (uint8_t)type;
	out[off++] = type == FRAME_GOAWAY ? 0 : 1;
	if (type != FRAME_OPEN)
		out[off++] = 0x01;
	out[off++] = 0xd9;      /* str8 */
	out[off++] = (uint8_t)n;
	memset(out + off, 's', n);
	off += n;
	if (type == FRAME_OPEN) {
		memcpy(out + off, "\xa1p\xa1" "d", 4);
		off += 4;
	}
	return off;
}

/* Strings reach 255 bytes; str16 of 256 is refused, wherever the string is. */
START_TEST(test_text_limit)
{
	static const int types[] = { FRAME_OPEN, FRAME_RESET, FRAME_GOAWAY };
	uint8_t hdr[FRAME_HEADER_MAX];
	struct frame f;
	size_t n, i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = text_header(hdr, types[i], FRAME_TEXT_MAX);
		ck_assert_int_eq(decode_built(hdr, n, 0, &f), FRAME_OK);
		ck_assert_uint_eq(f.text_len, FRAME_TEXT_MAX);
	}
	/* OPEN ["s", <256 bytes>, "d"]: the peer string over the limit. */
	memcpy(hdr, "\x95\x02\x02\xa1s\xda\x01\x00", 8);
	memset(hdr + 8, 'p', 256);
	memcpy(hdr + 8 + 256, "\xa1" "d", 2);
	ck_assert_int_eq(decode_built(hdr, 8 + 256 + 2, 0, &f), FRAME_ERR_FIELD);
	/* OPEN ["s", "p", "d", <255 bytes>] is whole; <256 bytes> is over the limit. */
	memcpy(hdr, "\x96\x02\x02\xa1s\xa1p\xa1" "d\xd9\xff", 11);
	memset(hdr + 11, 'c', 255);
	ck_assert_int_eq(decode_built(hdr, 11 + 255, 0, &f), FRAME_OK);
	ck_assert_uint_eq(f.connect_len, FRAME_TEXT_MAX);
	memcpy(hdr, "\x96\x02\x02\xa1s\xa1p\xa1" "d\xda\x01\x00", 12);
	memset(hdr + 12, 'c', 256);
	ck_assert_int_eq(decode_built(hdr, 12 + 256, 0, &f), FRAME_ERR_FIELD);
	/* RESET [5, 1, 1, <256 bytes>]. */
	memcpy(hdr, "\x94\x05\x01\x01\xda\x01\x00", 7);
	memset(hdr + 7, 'r', 256);
	ck_assert_int_eq(decode_built(hdr, 7 + 256, 0, &f), FRAME_ERR_FIELD);
}
END_TEST

/*
 * Only the first FRAME_HEADER_MAX bytes of a frame are parsed as its header. No
 * valid header is that long, so the limit shows in the error: a RESET whose
 * reason (str 16, far over FRAME_TEXT_MAX) ends exactly at the limit is parsed
 * and refused for its field; one byte longer, the header is incomplete within
 * the limit and refused as malformed, however long the frame.
 */
START_TEST(test_header_limit)
{
	static const struct {
		size_t len;
		int want;
	} cases[] = {
		{ FRAME_HEADER_MAX, FRAME_ERR_FIELD },
		{ FRAME_HEADER_MAX + 1, FRAME_ERR_HEADER },
		{ FRAME_HEADER_MAX + 64, FRAME_ERR_HEADER },
		{ FRAME_HEADER_MAX + 8000, FRAME_ERR_HEADER },
	};
	static uint8_t hdr[FRAME_HEADER_MAX + 8000];
	struct frame f;
	size_t i, slen;

	memset(hdr, 'b', sizeof(hdr));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* RESET [5, 1, 1, <str 16 that fills the header to len bytes>] */
		slen = cases[i].len - 7;
		memcpy(hdr, "\x94\x05\x01\x01\xda", 5);
		hdr[5] = (uint8_t)(slen >> 8);
		hdr[6] = (uint8_t)slen;
		ck_assert_msg(decode_built(hdr, cases[i].len, 0, &f) == cases[i].want,
		    "header of %zu bytes", cases[i].len);
	}
}
END_TEST

/*
 * Container counts are attacker-controlled: a 5-byte header declaring 2^32-1
 * elements must be refused without trying to allocate memory for them.
 */
START_TEST(test_header_huge_count)
{
	static const struct bad_case huge[] = {
		BAD("array32 of 2^32-1", "\xdd\xff\xff\xff\xff", 0, FRAME_ERR_HEADER),
		BAD("nested array32", "\x92\x00\xdd\xff\xff\xff\xff", 0, FRAME_ERR_FIELD),
		BAD("map32 of 2^32-1", "\xdf\xff\xff\xff\xff", 0, FRAME_ERR_HEADER),
	};
	struct frame f;
	size_t i;

	for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
		ck_assert_msg(decode_built(huge[i].hdr, huge[i].hlen, 0, &f) == huge[i].want,
		    "%s", huge[i].what);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(frame_type_name(FRAME_DATA), "DATA");
	ck_assert_str_eq(frame_type_name(FRAME_CONTROL), "CONTROL");
	ck_assert_str_eq(frame_type_name(FRAME_TYPE_COUNT), "?");
	ck_assert_str_eq(frame_type_name(-1), "?");
	ck_assert_str_eq(frame_strerror(FRAME_ERR_LENGTH), "bad frame length");
	ck_assert_str_eq(frame_strerror((enum frame_result)-99), "unknown error");
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *codec = tcase_create("codec");
	TCase *bad = tcase_create("malformed");

	tcase_add_checked_fixture(codec, setup, teardown);
	tcase_add_loop_test(codec, test_round_trip, 0, FRAME_TYPE_COUNT);
	tcase_add_test(codec, test_spec_example);
	tcase_add_test(codec, test_open_connect);
	tcase_add_test(codec, test_encode_shortest);
	tcase_add_test(codec, test_decode_wide_encodings);
	tcase_add_test(codec, test_one_byte_at_a_time);
	tcase_add_test(codec, test_back_to_back);
	tcase_add_test(codec, test_names);
	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, test_length_prefix);
	tcase_add_test(bad, test_payload_limits);
	tcase_add_loop_test(bad, test_malformed, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(bad, test_text_limit);
	tcase_add_test(bad, test_header_limit);
	tcase_add_test(bad, test_header_huge_count);
	suite_add_tcase(s, codec);
	suite_add_tcase(s, bad);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
