/*
 * The Host of a request head (http-host.h), over the scanner of http-scan.c.
 */
#include "rtun-build.h"

#include <string.h>

#include <http_parser.h>

#include "hostname.h"
#include "http-host.h"
#include "http-scan.h"

/*
 * "name", "name:port", "[v6]" or "[v6]:port" into a host name. A literal
 * address is no name anyone can claim: it is refused like a bad name.
 */
static int
host_of(struct span v, char out[HOSTNAME_MAX + 1])
{
	const char *colon = memrchr(v.p, ':', v.n);
	size_t n = v.n, i;

	if (colon != NULL) {
		for (i = (size_t)(colon - v.p) + 1; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++)
			;
		if (i == v.n)
			n = (size_t)(colon - v.p);   /* a port (RFC 3986 allows it empty) */
	}
	return hostname_normalize(v.p, n, out);
}

/* The authority of an absolute-form target ("http://host:port/path"), if it is one. */
static int
url_host(struct span url, struct span *host)
{
	struct http_parser_url u;

	if (url.n == 0 || url.p[0] == '/' || url.p[0] == '*')
		return 0;
	http_parser_url_init(&u);
	if (http_parser_parse_url(url.p, url.n, 0, &u) != 0 || !(u.field_set & (1 << UF_HOST)))
		return -1;
	host->p = url.p + u.field_data[UF_HOST].off;
	host->n = u.field_data[UF_HOST].len;
	return 1;
}

/* Decide on a complete head. */
static void
host_judge(const http_parser *p, const struct http_scan *s, struct http_host *h)
{
	struct span host = s->host;
	int abs;

	h->status = 400;
	if (p->method == HTTP_CONNECT) {
		h->reason = "CONNECT is not served here";
		return;
	}
	if ((abs = url_host(s->url, &host)) == -1) {
		h->reason = "bad request target";
		return;
	}
	/* RFC 9112 3.2: exactly one Host, even when the target names the host. */
	if (s->nhost != 1) {
		h->reason = "missing or repeated Host header";
		return;
	}
	if (host_of(host, h->host) == -1) {
		h->host[0] = '\0';
		h->reason = "Host is not a host name";
		return;
	}
	h->status = 0;
	h->reason = NULL;
}

int
http_host_parse(const char *buf, size_t len, struct http_host *h)
{
	struct http_scan s;
	http_parser p;
	int r;

	memset(h, 0, sizeof(*h));
	r = http_scan(buf, len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, HTTP_REQUEST, &p, &s,
	    &h->head_len);
	if (r == 1 && len < HTTP_HEAD_MAX)
		return 1;
	if (r == 1) {
		h->status = 431;
		h->reason = "request head too large";
		return 0;
	}
	if (r == -1) {
		h->status = 400;
		h->reason = http_errno_description(HTTP_PARSER_ERRNO(&p));
		return 0;
	}
	host_judge(&p, &s, h);
	if (h->status != 0)
		h->head_len = 0;
	return 0;
}
