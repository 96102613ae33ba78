/*
 * libFuzzer target for the WebSocket upgrade request parser: arbitrary bytes
 * to ws_http_parse_request(), whole and as a prefix, as rtund sees a request that
 * arrives in two reads. The outcome must be one of the three documented ones,
 * an accepted request must carry a usable key, and a prefix must never decide
 * differently from the whole.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws-http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_outcome(int r, size_t len, const struct ws_request *req)
{
	char accept[29];

	if (r == 1)
		return;
	if (r != 0 && r != -1)
		abort();
	if (r == -1 && (req->reason == NULL || req->complete))
		abort();
	if (r == 0 && (!req->complete || req->header_len == 0 || req->header_len > len ||
	                  req->header_len > WS_HTTP_MAX))
		abort();
	if (r == 0 && req->status != 101 && req->status != 400 && req->status != 404)
		abort();
	if (r == 0 && req->status != 101 && req->reason == NULL)
		abort();
	if (r == 0 && req->status == 101 &&
	    (strlen(req->key) != 24 || ws_http_accept_key(req->key, accept) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct ws_request whole, part;
	size_t cut = size > 0 ? (size_t)data[0] * size / 256 : 0;
	int r, rp;

	r = ws_http_parse_request(p, size, "/rtun", &whole);
	check_outcome(r, size, &whole);
	rp = ws_http_parse_request(p, cut, "/rtun", &part);
	check_outcome(rp, cut, &part);
	/* More bytes can only complete a request, never change what was decided. */
	if (rp == -1 && r != -1)
		abort();
	if (rp == 0 &&
	    (r != 0 || part.status != whole.status || part.header_len != whole.header_len))
		abort();
	if (r == 0 && cut < whole.header_len && rp != 1)
		abort();
	return 0;
}
