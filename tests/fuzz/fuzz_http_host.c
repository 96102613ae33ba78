/*
 * libFuzzer target for the Host of a request head: http_host_parse() on the
 * input. A host it finds is a normalized host name and the head it was found
 * in is decided the same when parsed alone; "need more" is never the answer
 * past HTTP_HEAD_MAX; a refusal always says why.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "http-host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char again[HOSTNAME_MAX + 1];
	struct http_host h, alone;
	int r = http_host_parse((const char *)data, size, &h);

	if (r == 1) {
		if (size >= HTTP_HEAD_MAX)
			abort();
		return 0;
	}
	if (h.status != 0) {
		if ((h.status != 400 && h.status != 431) || h.reason == NULL || h.host[0] != '\0')
			abort();
		return 0;
	}
	if (h.head_len == 0 || h.head_len > size ||
	    hostname_normalize(h.host, strlen(h.host), again) != 0 || strcmp(h.host, again) != 0)
		abort();
	if (http_host_parse((const char *)data, h.head_len, &alone) != 0 || alone.status != 0 ||
	    strcmp(alone.host, h.host) != 0 || alone.head_len != h.head_len)
		abort();
	return 0;
}
