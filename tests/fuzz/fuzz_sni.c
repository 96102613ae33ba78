/*
 * libFuzzer target for the ClientHello server-name parser: sni_parse() on the
 * input. A name it finds is a normalized host name; a verdict other than
 * "need more" holds whatever follows; "need more" is never the answer for a
 * buffer longer than any hello it accepts.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls-sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Records of at least 1 byte each: headers of 5 per byte at worst, plus the hello. */
#define SNI_INPUT_MAX (6 * (4 + SNI_HELLO_MAX))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[SNI_NAME_MAX + 1], again[SNI_NAME_MAX + 1];
	enum sni_result r = sni_parse(data, size, name), r2;
	uint8_t *more;

	if (r == SNI_FOUND) {
		if (hostname_normalize(name, strlen(name), again) != 0 || strcmp(name, again) != 0)
			abort();
	} else if (name[0] != '\0')
		abort();
	if (r == SNI_NEED_MORE) {
		if (size > SNI_INPUT_MAX)
			abort();
		return 0;
	}
	/* A verdict on a prefix stands: one more byte cannot change it. */
	if ((more = malloc(size + 1)) == NULL)
		return 0;
	memcpy(more, data, size);
	more[size] = 0x16;
	r2 = sni_parse(more, size + 1, again);
	if (r2 != r || (r == SNI_FOUND && strcmp(name, again) != 0))
		abort();
	free(more);
	return 0;
}
