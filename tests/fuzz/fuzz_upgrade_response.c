/*
 * libFuzzer target for the client's side of the WebSocket upgrade: arbitrary
 * bytes, as a server or a proxy in between may answer, to
 * ws_http_parse_response(), whole and as a prefix, as the agent sees an
 * answer that arrives in two reads. The outcome must be one of the three
 * documented ones, only a complete 101 may upgrade, every failure must say
 * why, and a prefix must never decide differently from the whole.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws-http.h"

/* What the server must answer to the RFC 6455 sample key. */
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_outcome(int r, size_t len, const struct ws_response *res)
{
	if (r == 1 && (res->complete || res->error[0] != '\0' || len >= WS_HTTP_MAX))
		abort();
	if (r == -1 && res->error[0] == '\0')
		abort();
	if (r == 0 &&
	    (!res->complete || res->status != 101 || res->error[0] != '\0' ||
	        res->header_len == 0 || res->header_len > len || res->header_len > WS_HTTP_MAX))
		abort();
	if (r != 0 && r != 1 && r != -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct ws_response whole, part;
	size_t cut = size > 0 ? (size_t)data[0] * size / 256 : 0;
	int r, rp;

	r = ws_http_parse_response(p, size, ACCEPT, &whole);
	check_outcome(r, size, &whole);
	rp = ws_http_parse_response(p, cut, ACCEPT, &part);
	check_outcome(rp, cut, &part);
	/* More bytes can only complete an answer, never change what was decided. */
	if (rp == -1 && (r != -1 || strcmp(part.error, whole.error) != 0))
		abort();
	if (rp == 0 && (r != 0 || part.header_len != whole.header_len))
		abort();
	if (r == 0 && cut < whole.header_len && rp != 1)
		abort();
	return 0;
}
