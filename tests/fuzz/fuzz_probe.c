/*
 * libFuzzer target for the hole-punch probe parser: probe_parse() on the
 * input, then probe_verify() with a fixed key (the one tests/fuzz/mkcorpus.py
 * signs its seeds with, so good MACs are reached). A parsed probe must encode
 * back to the same bytes, every shorter prefix of it must ask for more, and
 * its MAC must verify exactly when it is the one the encoder computes.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "punch-probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[PROBE_KEY_LEN] = { '0', '1', '2', '3', '4', '5', '6', '7', '8',
	'9', 'a', 'b', 'c', 'd', 'e', 'f', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a',
	'b', 'c', 'd', 'e', 'f' };

/* A probe parsed from data (used bytes) is canonical: checks that hold for any such. */
static void
check_parsed(const uint8_t *data, size_t used, const struct probe *p)
{
	uint8_t out[PROBE_MAX_LEN];
	const char *why = NULL;
	struct probe q;
	size_t n, i, u;
	int ok;

	if (used > PROBE_MAX_LEN || p->nlocal > PROBE_LOCAL_MAX)
		abort();
	for (i = 0; i < used; i++)
		if (probe_parse(data, i, &q, &u, &why) != PROBE_NEED_MORE)
			abort();
	n = probe_encode(p, fuzz_key, out);
	if (n != used || memcmp(out, data, used - PROBE_MAC_LEN) != 0)
		abort();
	ok = probe_verify(data, used, fuzz_key);
	if (ok != (memcmp(out + n - PROBE_MAC_LEN, data + n - PROBE_MAC_LEN, PROBE_MAC_LEN) == 0))
		abort();
	if (probe_verify(out, n, fuzz_key) != 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	struct probe p;
	size_t used = 0;

	switch (probe_parse(data, size, &p, &used, &why)) {
	case PROBE_OK:
		check_parsed(data, used, &p);
		break;
	case PROBE_NEED_MORE:
		if (size >= PROBE_MAX_LEN)
			abort();
		break;
	case PROBE_ERR:
		if (why == NULL || why[0] == '\0')
			abort();
		break;
	default:
		abort();
	}
	/* verify() must be safe on any bytes and any length, parsed or not. */
	(void)probe_verify(data, size, fuzz_key);
	return 0;
}
