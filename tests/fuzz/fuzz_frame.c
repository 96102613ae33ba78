/*
 * libFuzzer target for the frame decoder: the input is a link's byte stream
 * after the preface. Frames are decoded one after another as the link does;
 * CONTROL payloads go on to control_decode(), and every frame that decodes
 * is encoded again and must decode to the same fields.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_same(const struct frame *a, const struct frame *b)
{
	if (a->type != b->type || a->stream != b->stream || a->value != b->value ||
	    a->text_len != b->text_len || a->peer_len != b->peer_len ||
	    a->dest_len != b->dest_len || a->connect_len != b->connect_len ||
	    a->payload_len != b->payload_len ||
	    (a->text_len && memcmp(a->text, b->text, a->text_len) != 0) ||
	    (a->peer_len && memcmp(a->peer, b->peer, a->peer_len) != 0) ||
	    (a->dest_len && memcmp(a->dest, b->dest, a->dest_len) != 0) ||
	    (a->connect_len && memcmp(a->connect, b->connect, a->connect_len) != 0) ||
	    (a->payload_len && memcmp(a->payload, b->payload, a->payload_len) != 0))
		abort();
}

/* Encode f again (header, then its payload) and decode the result. */
static void
round_trip(const struct frame *f)
{
	static uint8_t out[FRAME_ENC_MAX + FRAME_PAYLOAD_MAX];
	struct frame_decoder d;
	struct frame g;
	size_t n, used;

	n = frame_encode_header(out, f);
	if (f->payload_len > 0)
		memcpy(out + n, f->payload, f->payload_len);
	frame_decoder_init(&d);
	if (frame_decode(&d, out, n + f->payload_len, &g, &used) != FRAME_OK ||
	    used != n + f->payload_len)
		abort();
	check_same(f, &g);
	frame_decoder_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_decoder d;
	struct frame f;
	const char *why;
	size_t used;

	frame_decoder_init(&d);
	while (frame_decode(&d, data, size, &f, &used) == FRAME_OK) {
		if (f.type == FRAME_CONTROL)
			control_free(control_decode(f.payload, f.payload_len, &why));
		round_trip(&f);
		data += used;
		size -= used;
	}
	frame_decoder_free(&d);
	return 0;
}
