/*
 * Back-off for addresses that keep failing authentication, so that guessing
 * the token from one address is slow and quiet. After AUTHLIMIT_FAILURES
 * failures within AUTHLIMIT_WINDOW seconds, connections from the address are
 * refused for AUTHLIMIT_BLOCK_MIN seconds; each failure after a block (until
 * the address has been quiet for AUTHLIMIT_FORGET seconds) blocks it again for
 * twice as long, up to AUTHLIMIT_BLOCK_MAX. IPv6 addresses count per /64, as
 * one host usually holds a whole /64. At most AUTHLIMIT_ENTRIES addresses are
 * tracked; when the table is full the entry that matters least (not blocked,
 * quiet longest; else the block ending soonest) makes room.
 */
#ifndef RTUN_AUTHLIMIT_H
#define RTUN_AUTHLIMIT_H

#include <sys/socket.h>

#define AUTHLIMIT_FAILURES  5
#define AUTHLIMIT_WINDOW    60.0
#define AUTHLIMIT_BLOCK_MIN 10.0
#define AUTHLIMIT_BLOCK_MAX 600.0
#define AUTHLIMIT_FORGET    (2 * AUTHLIMIT_BLOCK_MAX)
#define AUTHLIMIT_ENTRIES   4096

struct authlimit;

/* An empty table. */
struct authlimit *authlimit_new(void);
/* Free the table. */
void authlimit_free(struct authlimit *al);
/* Seconds for which connections from addr are still refused at time now; 0 if allowed. */
double authlimit_blocked(const struct authlimit *al, const struct sockaddr *addr, double now);
/* Count a failed authentication from addr at now; returns the block it starts (s), or 0. */
double authlimit_failure(struct authlimit *al, const struct sockaddr *addr, double now);
/* addr authenticated: forget its failures. */
void authlimit_success(struct authlimit *al, const struct sockaddr *addr);
/* Addresses tracked now, for tests. */
unsigned int authlimit_count(const struct authlimit *al);

#endif
