/*
 * Host names as rtund routes web traffic by them: checked and lowercased the
 * same way whether they come from a TLS ClientHello, an HTTP Host header or
 * a configuration, and matched against the names agents claim, where
 * "*.example.com" stands for exactly one more label. Pure functions.
 */
#ifndef RTUN_HOSTNAME_H
#define RTUN_HOSTNAME_H

#include <stddef.h>

/* Longest host name (RFC 1035: 253 characters without the final dot). */
#define HOSTNAME_MAX 253

/*
 * Check and lowercase the n bytes at s into out: letters, digits, '-', '_'
 * and '.', labels of 1 to 63, a final dot dropped. 0, or -1 if it is not a
 * host name.
 */
int hostname_normalize(const char *s, size_t n, char out[HOSTNAME_MAX + 1]);
/*
 * A name as an agent claims it or rtund allows it: a host name, or "*." and
 * a host name, normalized into out. 0, or -1 if it is neither.
 */
int hostname_pattern_normalize(const char *s, size_t n, char out[HOSTNAME_MAX + 1]);
/*
 * True if the normalized name matches pattern: the same name, or, for
 * "*.SUFFIX", a name of one label more than SUFFIX ending in ".SUFFIX".
 */
int hostname_match(const char *pattern, const char *name);
/*
 * May an agent claim pattern under allow (n patterns, as rtund's allow_hosts
 * has them)? Yes if allow holds "*", the pattern itself, or a wildcard the
 * (exact) pattern matches.
 */
int hostname_allowed(char *const *allow, size_t n, const char *pattern);

#endif
