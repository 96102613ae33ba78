/*
 * The latest refusals a daemon made (a port not allowed, a name in use, a
 * failed authentication, a destination not in allow_connect...), for its
 * status report. Bounded: the oldest goes first, and a refusal that repeats
 * the newest one only counts it again, so a peer retrying in a loop cannot
 * push everything else out.
 */
#ifndef RTUN_REFUSALS_H
#define RTUN_REFUSALS_H

#include <stddef.h>

struct status;

/* Refusals kept. */
#define REFUSALS_MAX 32

struct refusals;

/* An empty list. */
struct refusals *refusals_new(void);
/* Free it (NULL is ignored). */
void refusals_free(struct refusals *r);
/* Note a refusal at time now (seconds): who asked (or NULL), why, and for what (printf). */
void refusals_add(struct refusals *r, double now, const char *who, const char *why,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Add the "refusals" table, newest first, ages relative to now. */
void refusals_report(const struct refusals *r, double now, struct status *st);

#endif
