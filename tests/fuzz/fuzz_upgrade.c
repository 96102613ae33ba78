/*
 * libFuzzer target for the WebSocket upgrade request parser: arbitrary bytes
 * to ws_http_parse_request(), whole and as a prefix, as rtund sees a request
 * that arrives in two reads. The outcome must be one of the three documented
 * ones, an accepted request must carry a usable key, a prefix must never
 * decide differently from the whole, and the answer built for a complete
 * request must read back, with the client's parser, as what was decided.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws-http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The 101 or the refusal for a complete request, as the client would read it. */
static void
check_answer(const struct ws_request *req)
{
	struct ws_response res;
	struct buf b;
	char accept[29];
	int r;

	buf_init(&b);
	if (req->status == 101) {
		if (ws_http_put_101(&b, req->key) != 0 || ws_http_accept_key(req->key, accept) != 0)
			abort();
	} else {
		(void)ws_http_put_refusal(&b, req);
		accept[0] = '\0';
	}
	r = ws_http_parse_response((const char *)buf_ptr(&b), buf_len(&b), accept, &res);
	if (!res.complete || res.status != req->status || res.header_len > buf_len(&b) ||
	    r != (req->status == 101 ? 0 : -1))
		abort();
	buf_free(&b);
}

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
	if (r == 0)
		check_answer(&whole);
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
