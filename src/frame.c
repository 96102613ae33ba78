/*
 * Frame codec. Decoding checks the length prefix before anything else, then
 * parses the msgpack header with a bounded input, then checks every field
 * against the table below; nothing from the wire is trusted further.
 */
#include "rtun-build.h"

#include <string.h>

#include "buf.h"
#include "frame.h"

/* Header arity and rules per type. */
static const struct frame_rule {
	const char *name;
	unsigned arity;        /* elements in the header array */
	unsigned arity_max;    /* more allowed up to this (optional trailing fields), or 0 */
	int stream_zero;       /* stream id must be 0 (link-level frame) */
	int has_payload;       /* payload required (else forbidden) */
} frame_rules[FRAME_TYPE_COUNT] = {
	[FRAME_DATA] = { "DATA", 2, 0, 0, 1 },
	[FRAME_WINDOW] = { "WINDOW", 3, 0, 0, 0 },
	[FRAME_OPEN] = { "OPEN", 5, 6, 0, 0 },
	[FRAME_OPEN_OK] = { "OPEN_OK", 2, 0, 0, 0 },
	[FRAME_CLOSE] = { "CLOSE", 2, 0, 0, 0 },
	[FRAME_RESET] = { "RESET", 4, 0, 0, 0 },
	[FRAME_PING] = { "PING", 3, 0, 1, 0 },
	[FRAME_PONG] = { "PONG", 3, 0, 1, 0 },
	[FRAME_GOAWAY] = { "GOAWAY", 4, 0, 1, 0 },
	[FRAME_CONTROL] = { "CONTROL", 2, 0, 1, 1 },
};

void
frame_decoder_init(struct frame_decoder *d)
{
	msgpack_zone_init(&d->zone, 512);
}

void
frame_decoder_free(struct frame_decoder *d)
{
	msgpack_zone_destroy(&d->zone);
}

const char *
frame_type_name(int type)
{
	if (type < 0 || type >= FRAME_TYPE_COUNT)
		return "?";
	return frame_rules[type].name;
}

const char *
frame_strerror(enum frame_result r)
{
	switch (r) {
	case FRAME_OK:
		return "ok";
	case FRAME_NEED_MORE:
		return "incomplete frame";
	case FRAME_ERR_LENGTH:
		return "bad frame length";
	case FRAME_ERR_HEADER:
		return "malformed msgpack header";
	case FRAME_ERR_TYPE:
		return "unknown frame type";
	case FRAME_ERR_FIELD:
		return "bad header field";
	case FRAME_ERR_PAYLOAD:
		return "bad payload";
	case FRAME_ERR_STREAM:
		return "bad stream id";
	}
	return "unknown error";
}

static int
get_uint(const msgpack_object *o, uint64_t max, uint64_t *out)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
		return -1;
	*out = o->via.u64;
	return 0;
}

static int
get_text(const msgpack_object *o, const char **s, size_t *len)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > FRAME_TEXT_MAX)
		return -1;
	*s = o->via.str.ptr;
	*len = o->via.str.size;
	return 0;
}

/*
 * Walk the header's msgpack bytes before msgpack-c sees them: a fixarray of
 * 2..6 scalars (unsigned integers, fixstr, str 8, str 16). msgpack-c allocates for the
 * element count an array or map declares before it checks the bytes exist,
 * so a 9-byte header could otherwise ask for gigabytes.
 */
static enum frame_result
header_shape(const uint8_t *p, size_t len)
{
	size_t i = 1, n, skip;
	uint8_t b;

	if (len == 0 || (p[0] & 0xf0) != 0x90)
		return FRAME_ERR_HEADER;
	if ((n = p[0] & 0x0f) < 2 || n > 6)
		return FRAME_ERR_FIELD;
	for (; n > 0; n--, i += skip) {
		if (i >= len)
			return FRAME_ERR_HEADER;
		b = p[i];
		if (b <= 0x7f)
			skip = 1;
		else if (b >= 0xa0 && b <= 0xbf)
			skip = 1 + (b & 0x1f);
		else if (b >= 0xcc && b <= 0xcf)
			skip = 1 + ((size_t)1 << (b - 0xcc));
		else if (b == 0xd9)
			skip = i + 1 < len ? 2 + (size_t)p[i + 1] : len;
		else if (b == 0xda)
			skip = i + 2 < len ? 3 + ((size_t)p[i + 1] << 8 | p[i + 2]) : len;
		else
			return FRAME_ERR_FIELD;
		if (skip > len - i)
			return FRAME_ERR_HEADER;
	}
	return FRAME_OK;
}

/* Fill the type-specific fields (index 2 and on) of f from the header array. */
static enum frame_result
decode_fields(const msgpack_object *a, uint32_t n, struct frame *f)
{
	int r = 0;

	switch (f->type) {
	case FRAME_WINDOW:
		r = get_uint(&a[2], INT32_MAX, &f->value);
		if (r == 0 && f->value == 0)
			r = -1;
		break;
	case FRAME_OPEN:
		r = get_text(&a[2], &f->text, &f->text_len);
		if (r == 0)
			r = get_text(&a[3], &f->peer, &f->peer_len);
		if (r == 0)
			r = get_text(&a[4], &f->dest, &f->dest_len);
		/* A route's destination, when present, is never empty. */
		if (r == 0 && n == 6 && (get_text(&a[5], &f->connect, &f->connect_len) == -1 ||
		    f->connect_len == 0))
			r = -1;
		break;
	case FRAME_RESET:
	case FRAME_GOAWAY:
		r = get_uint(&a[2], UINT32_MAX, &f->value);
		if (r == 0)
			r = get_text(&a[3], &f->text, &f->text_len);
		break;
	case FRAME_PING:
	case FRAME_PONG:
		r = get_uint(&a[2], UINT64_MAX, &f->value);
		break;
	default:
		break;
	}
	return r == 0 ? FRAME_OK : FRAME_ERR_FIELD;
}

/* Check the decoded header object and fill f; payload checks come after. */
static enum frame_result
decode_header(const msgpack_object *h, struct frame *f)
{
	const msgpack_object *a;
	const struct frame_rule *rule;
	uint64_t v;

	if (h->type != MSGPACK_OBJECT_ARRAY || h->via.array.size < 2)
		return FRAME_ERR_HEADER;
	a = h->via.array.ptr;
	if (get_uint(&a[0], UINT8_MAX, &v) == -1)
		return FRAME_ERR_FIELD;
	if (v >= FRAME_TYPE_COUNT)
		return FRAME_ERR_TYPE;
	f->type = (enum frame_type)v;
	rule = &frame_rules[f->type];
	if (h->via.array.size < rule->arity ||
	    h->via.array.size > (rule->arity_max > rule->arity ? rule->arity_max : rule->arity))
		return FRAME_ERR_FIELD;
	if (get_uint(&a[1], UINT32_MAX, &v) == -1)
		return FRAME_ERR_FIELD;
	f->stream = (uint32_t)v;
	if ((f->stream == 0) != rule->stream_zero)
		return FRAME_ERR_STREAM;
	return decode_fields(a, h->via.array.size, f);
}

enum frame_result
frame_decode(struct frame_decoder *d, const uint8_t *p, size_t len, struct frame *f,
    size_t *used)
{
	msgpack_object obj;
	msgpack_unpack_return ur;
	enum frame_result r;
	uint32_t flen;
	size_t off = 0, hmax;

	*used = 0;
	if (len < FRAME_LEN_SIZE)
		return FRAME_NEED_MORE;
	flen = buf_get_u32be(p);
	if (flen == 0 || flen > FRAME_LEN_MAX)
		return FRAME_ERR_LENGTH;
	*used = FRAME_LEN_SIZE + (size_t)flen;
	if (len - FRAME_LEN_SIZE < flen)
		return FRAME_NEED_MORE;
	memset(f, 0, sizeof(*f));
	hmax = flen < FRAME_HEADER_MAX ? flen : FRAME_HEADER_MAX;
	if ((r = header_shape(p + FRAME_LEN_SIZE, hmax)) != FRAME_OK)
		return r;
	msgpack_zone_clear(&d->zone);
	ur = msgpack_unpack((const char *)p + FRAME_LEN_SIZE, hmax, &off, &d->zone, &obj);
	if (ur != MSGPACK_UNPACK_SUCCESS && ur != MSGPACK_UNPACK_EXTRA_BYTES)
		return FRAME_ERR_HEADER;
	if ((r = decode_header(&obj, f)) != FRAME_OK)
		return r;
	f->payload_len = flen - off;
	f->payload = f->payload_len ? p + FRAME_LEN_SIZE + off : NULL;
	if ((f->payload_len > 0) != frame_rules[f->type].has_payload ||
	    f->payload_len > FRAME_PAYLOAD_MAX)
		return FRAME_ERR_PAYLOAD;
	return FRAME_OK;
}

/* msgpack_packer sink writing into a fixed array that is big enough by construction. */
struct enc_sink {
	uint8_t *p;
	size_t len;
};

static int
enc_write(void *data, const char *s, size_t n)
{
	struct enc_sink *sink = data;

	memcpy(sink->p + sink->len, s, n);
	sink->len += n;
	return 0;
}

static void
pack_text(msgpack_packer *pk, const char *s, size_t len)
{
	if (len > FRAME_TEXT_MAX)
		len = FRAME_TEXT_MAX;
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

size_t
frame_encode_header(uint8_t out[FRAME_ENC_MAX], const struct frame *f)
{
	struct enc_sink sink = { out, FRAME_LEN_SIZE };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &sink, enc_write);
	msgpack_pack_array(&pk, frame_rules[f->type].arity +
	    (f->type == FRAME_OPEN && f->connect_len > 0));
	msgpack_pack_uint8(&pk, (uint8_t)f->type);
	msgpack_pack_uint32(&pk, f->stream);
	switch (f->type) {
	case FRAME_WINDOW:
	case FRAME_PING:
	case FRAME_PONG:
		msgpack_pack_uint64(&pk, f->value);
		break;
	case FRAME_OPEN:
		pack_text(&pk, f->text, f->text_len);
		pack_text(&pk, f->peer, f->peer_len);
		pack_text(&pk, f->dest, f->dest_len);
		if (f->connect_len > 0)
			pack_text(&pk, f->connect, f->connect_len);
		break;
	case FRAME_RESET:
	case FRAME_GOAWAY:
		msgpack_pack_uint64(&pk, f->value);
		pack_text(&pk, f->text, f->text_len);
		break;
	default:
		break;
	}
	buf_put_u32be(out, (uint32_t)(sink.len - FRAME_LEN_SIZE + f->payload_len));
	return sink.len;
}

void
frame_append(struct buf *b, const struct frame *f)
{
	uint8_t hdr[FRAME_ENC_MAX];
	size_t n;

	n = frame_encode_header(hdr, f);
	buf_append(b, hdr, n);
	buf_append(b, f->payload, f->payload_len);
}
