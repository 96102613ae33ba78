/*
 * Routes without an agent: rtund connects to the destination itself and
 * copies the bytes both ways, as rinetd does. Each direction half-closes on
 * its own (a FIN is passed on once everything before it was written), moves
 * through one bounded buffer that exists only while bytes are in flight (a
 * bulk transfer: a pipe, with splice(2)), and stops reading its source while
 * its sink does not take them. Any failure
 * resets both sockets, so neither side takes a cut copy for a whole one.
 */
#ifndef RTUN_SPLICE_H
#define RTUN_SPLICE_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "dest.h"

struct splices;

/* Most bytes one direction holds between a read and its write (a bulk one: in a pipe). */
#define SPLICE_CHUNK (64 * 1024)
#define SPLICE_PIPE (256 * 1024)

/* How a spliced connection ended. */
enum splice_end {
	SPLICE_CLEAN,            /* both directions half-closed and drained: FIN at both ends */
	SPLICE_RESET,            /* a socket failed, or rtund let go: RST at both ends */
	SPLICE_IDLE,             /* nothing moved for idle_timeout */
	SPLICE_RESOLVE,          /* the destination's name did not resolve */
	SPLICE_CONNECT,          /* the connect failed */
	SPLICE_TIMEOUT,          /* the connect took longer than connect_timeout */
};

/* What one spliced connection is for. */
struct splice_conf {
	const char *route;          /* for log lines */
	const struct dest *to;      /* the destination (a name is looked up each time) */
	double connect_timeout;     /* lookup and connect */
	double idle_timeout;        /* reset after this long without a byte either way; 0: never */
	uint64_t *bytes_in;         /* user to destination; valid until done() */
	uint64_t *bytes_out;        /* destination to user */
	/* The connection ended; called once, last. */
	void (*done)(void *arg, enum splice_end how);
	void *arg;
};

/* No connections yet. */
struct splices *splices_new(struct ev_loop *loop);
/* Join the accepted connection fd of user (an address, for logs) to c's destination. */
void splice_start(struct splices *set, int fd, const char *user, const struct splice_conf *c);
/* Connections under way. */
size_t splices_count(const struct splices *set);
/* Reset every connection (each done() runs) and free. */
void splices_free(struct splices *set);

#endif
