/*
 * Host name checks and wildcard matching (hostname.h).
 */
#include "rtun-build.h"

#include <stdio.h>
#include <string.h>

#include "hostname.h"

int
hostname_normalize(const char *s, size_t n, char out[HOSTNAME_MAX + 1])
{
	size_t i, label = 0;
	char c;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > HOSTNAME_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_') {
			if (++label > 63)
				return -1;
		} else
			return -1;
		out[i] = c;
	}
	if (label == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

int
hostname_match(const char *pattern, const char *name)
{
	const char *dot;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcmp(pattern, name) == 0;
	/* One label, then exactly the suffix: "*.a.b" matches "x.a.b", not "y.x.a.b". */
	if ((dot = strchr(name, '.')) == NULL || dot == name)
		return 0;
	return strcmp(dot + 1, pattern + 2) == 0;
}

int
hostname_pattern_normalize(const char *s, size_t n, char out[HOSTNAME_MAX + 1])
{
	char suffix[HOSTNAME_MAX + 1];

	if (n < 2 || s[0] != '*' || s[1] != '.')
		return hostname_normalize(s, n, out);
	if (hostname_normalize(s + 2, n - 2, suffix) == -1 || strlen(suffix) > HOSTNAME_MAX - 2)
		return -1;
	snprintf(out, HOSTNAME_MAX + 1, "*.%s", suffix);
	return 0;
}

int
hostname_allowed(char *const *allow, size_t n, const char *pattern)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(allow[i], "*") == 0 || strcmp(allow[i], pattern) == 0)
			return 1;
		if (pattern[0] != '*' && hostname_match(allow[i], pattern))
			return 1;
	}
	return 0;
}
