/*
 * Allocation wrappers that never return NULL: running out of memory is fatal
 * for a daemon, and one place to die is better than a NULL check on every path.
 */
#ifndef RTUN_XMALLOC_H
#define RTUN_XMALLOC_H

#include <stddef.h>

/* malloc() that dies on failure; size 0 is a bug. */
void *xmalloc(size_t size);
/* calloc() that dies on failure and checks nmemb * size for overflow. */
void *xcalloc(size_t nmemb, size_t size);
/* realloc() of nmemb * size bytes that dies on failure or overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
/* strdup() that dies on failure. */
char *xstrdup(const char *s);
/* strndup() that dies on failure. */
char *xstrndup(const char *s, size_t n);
/* asprintf() that dies on failure; returns the new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
