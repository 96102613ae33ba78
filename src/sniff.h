/*
 * Telling the layers apart on rtund's one listening port from the first bytes
 * a client sends: a TLS ClientHello starts with 0x16, a WebSocket upgrade with
 * "GET ", an rtun agent with the preface, a hole-punch probe with its magic.
 * Pure function: a fuzz target.
 */
#ifndef RTUN_SNIFF_H
#define RTUN_SNIFF_H

#include <stddef.h>
#include <stdint.h>

enum sniff_result {
	SNIFF_NEED_MORE = 0,   /* too few bytes to tell */
	SNIFF_RTUN,            /* the rtun preface */
	SNIFF_TLS,             /* a TLS handshake record */
	SNIFF_HTTP,            /* "GET " */
	SNIFF_PROBE,           /* a hole-punch probe (PROBE_MAGIC) */
	SNIFF_UNKNOWN,         /* none of these: drop the connection */
};

/* Classify the first len bytes a client sent. */
enum sniff_result sniff_classify(const uint8_t *p, size_t len);
/* "rtun", "tls", "http", "probe", "unknown" or "incomplete", for logs. */
const char *sniff_name(enum sniff_result r);

#endif
