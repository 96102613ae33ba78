/*
 * Which site a web request is for: the Host of an HTTP/1.x request head
 * (RFC 9112 3.2), or the authority of an absolute-form request target, which
 * wins over Host (RFC 9112 3.2.2). rtund reads it on http_listen to pick the
 * agent whose service claimed that name. A pure function of the bytes that
 * have arrived so far, re-run from the start as more arrive; a fuzz target.
 */
#ifndef RTUN_HTTP_HOST_H
#define RTUN_HTTP_HOST_H

#include <stddef.h>

#include "hostname.h"

/* Longest request head read; a longer one is answered 431. */
#define HTTP_HEAD_MAX 16384

struct http_host {
	int status;            /* 0: host is set; else the status to answer (400, 431) */
	const char *reason;    /* why not, for the answer's body and the log */
	size_t head_len;       /* bytes of the head, blank line included (status 0) */
	char host[HOSTNAME_MAX + 1];  /* as hostname_normalize() has it, port dropped */
};

/*
 * Read the request head at the start of buf: 0 when decided (h->status says
 * how), 1 when it is a prefix of a head still within HTTP_HEAD_MAX.
 */
int http_host_parse(const char *buf, size_t len, struct http_host *h);

#endif
