/*
 * libFuzzer target for the first-bytes sniffer: sniff_classify() on every
 * prefix of the input. Once a prefix is classified, every longer prefix must
 * be classified the same, or rtund could change its mind about a connection.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdlib.h>

#include "sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum sniff_result r, first = SNIFF_NEED_MORE;
	size_t i;

	for (i = 0; i <= size && i <= 64; i++) {
		r = sniff_classify(data, i);
		if (r < SNIFF_NEED_MORE || r > SNIFF_UNKNOWN || sniff_name(r) == NULL)
			abort();
		if (first != SNIFF_NEED_MORE && r != first)
			abort();
		first = r;
	}
	return 0;
}
