/*
 * First-bytes classification for rtund's shared listening port. Each kind of
 * client announces itself in its first few bytes, so a table of magic prefixes
 * is enough: as long as what arrived is a prefix of some magic we wait, once a
 * whole magic matches we know, and anything else is not ours. The preface
 * and the probe magic share "RTUN", so up to their fifth byte both are open.
 */
#include "rtun-build.h"

#include <string.h>

#include "frame.h"
#include "punch-probe.h"
#include "sniff.h"

static const struct sniff_magic {
	const char *bytes;
	size_t len;
	enum sniff_result kind;
} sniff_magics[] = {
	{ FRAME_PREFACE, FRAME_PREFACE_LEN, SNIFF_RTUN },
	{ PROBE_MAGIC, PROBE_MAGIC_LEN, SNIFF_PROBE },
	/* A TLS handshake record: content type 22, then major version 3. */
	{ "\x16\x03", 2, SNIFF_TLS },
	{ "GET ", 4, SNIFF_HTTP },
};

enum sniff_result
sniff_classify(const uint8_t *p, size_t len)
{
	int maybe = 0;
	size_t i;

	if (len == 0)
		return SNIFF_NEED_MORE;
	for (i = 0; i < sizeof(sniff_magics) / sizeof(sniff_magics[0]); i++) {
		const struct sniff_magic *m = &sniff_magics[i];

		if (memcmp(p, m->bytes, len < m->len ? len : m->len) != 0)
			continue;
		if (len >= m->len)
			return m->kind;
		maybe = 1;
	}
	return maybe ? SNIFF_NEED_MORE : SNIFF_UNKNOWN;
}

const char *
sniff_name(enum sniff_result r)
{
	switch (r) {
	case SNIFF_NEED_MORE:
		return "incomplete";
	case SNIFF_RTUN:
		return "rtun";
	case SNIFF_TLS:
		return "tls";
	case SNIFF_HTTP:
		return "http";
	case SNIFF_PROBE:
		return "probe";
	default:
		return "unknown";
	}
}
