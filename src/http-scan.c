/*
 * The header-block scanner (http-scan.h).
 */
#include "rtun-build.h"

#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "http-scan.h"

static int
is_ows(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Extend s to cover at..at+n; http-parser may hand over a value in pieces. */
static void
span_add(struct span *s, const char *at, size_t n)
{
	if (s->p == NULL)
		s->p = at;
	s->n = (size_t)(at + n - s->p);
}

static struct span
span_trim(struct span s)
{
	while (s.n > 0 && is_ows(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_ows(s.p[s.n - 1]))
		s.n--;
	return s;
}

int
span_ieq(struct span s, const char *str)
{
	return s.n == strlen(str) && strncasecmp(s.p, str, s.n) == 0;
}

/* True if the comma-separated list s holds token, compared without case. */
static int
span_has_token(struct span s, const char *token)
{
	struct span item;
	size_t i = 0;

	while (i < s.n) {
		item.p = s.p + i;
		while (i < s.n && s.p[i] != ',')
			i++;
		item.n = (size_t)(s.p + i - item.p);
		if (span_ieq(span_trim(item), token))
			return 1;
		i++;
	}
	return 0;
}

/* A header is complete: keep what matters of it. */
static void
scan_commit(struct http_scan *s)
{
	struct span v = span_trim(s->value);

	if (span_ieq(s->field, "upgrade"))
		s->upgrade_ws |= span_has_token(v, "websocket");
	else if (span_ieq(s->field, "connection"))
		s->conn_upgrade |= span_has_token(v, "upgrade");
	else if (span_ieq(s->field, "sec-websocket-version"))
		s->version = v;
	else if (span_ieq(s->field, "sec-websocket-accept"))
		s->accept = v;
	else if (span_ieq(s->field, "host")) {
		s->host = v;
		s->nhost++;
	}
	else if (span_ieq(s->field, "sec-websocket-key")) {
		s->key = v;
		s->nkey++;
	}
	memset(&s->field, 0, sizeof(s->field));
	memset(&s->value, 0, sizeof(s->value));
}

static int
scan_url(http_parser *p, const char *at, size_t n)
{
	span_add(&((struct http_scan *)p->data)->url, at, n);
	return 0;
}

static int
scan_status(http_parser *p, const char *at, size_t n)
{
	span_add(&((struct http_scan *)p->data)->reason, at, n);
	return 0;
}

static int
scan_field(http_parser *p, const char *at, size_t n)
{
	struct http_scan *s = p->data;

	/* The whole block is parsed in one call, so a name never arrives in pieces. */
	if (s->field.p != NULL)
		scan_commit(s);
	s->field.p = at;
	s->field.n = n;
	return 0;
}

static int
scan_value(http_parser *p, const char *at, size_t n)
{
	span_add(&((struct http_scan *)p->data)->value, at, n);
	return 0;
}

static int
scan_headers_complete(http_parser *p)
{
	struct http_scan *s = p->data;

	if (s->field.p != NULL)
		scan_commit(s);
	s->done = 1;
	/* 2: no body and no further message; execute() returns the header block's length. */
	return 2;
}

int
http_scan(const char *buf, size_t len, enum http_parser_type type, http_parser *p,
    struct http_scan *s, size_t *used)
{
	static const http_parser_settings settings = {
		.on_url = scan_url,
		.on_status = scan_status,
		.on_header_field = scan_field,
		.on_header_value = scan_value,
		.on_headers_complete = scan_headers_complete,
	};
	size_t n;

	memset(s, 0, sizeof(*s));
	http_parser_init(p, type);
	p->data = s;
	/* Zero bytes would tell http-parser the stream ended. */
	if (len == 0)
		return 1;
	n = http_parser_execute(p, &settings, buf, len);
	if (s->done) {
		*used = n;
		return 0;
	}
	return HTTP_PARSER_ERRNO(p) == HPE_OK ? 1 : -1;
}
