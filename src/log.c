/*
 * Logging to stderr. The program name and level are the only state, set once
 * at start (and on reload); supervisord or the terminal adds nothing, so each
 * line carries its own UTC timestamp.
 *
 * Log messages quote names, reasons and addresses that peers sent. Rather than
 * trust every call site to escape them, log_msg() escapes the whole formatted
 * message: a peer cannot end a line, start a forged one, or send escape
 * sequences to an operator's terminal, whatever the caller forgot.
 */
#include "rtun-build.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "rtun";
static enum log_level log_max = LOG_LEVEL_INFO;
static int log_forced;
static int log_to_syslog;

static const char *const log_names[] = { "error", "warn", "info", "debug" };
static const int log_priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void
log_init(const char *progname, enum log_level level, int debug)
{
	log_progname = progname;
	log_forced = debug;
	log_max = debug ? LOG_LEVEL_DEBUG : level;
}

void
log_set_level(enum log_level level)
{
	if (!log_forced)
		log_max = level;
}

void
log_set_syslog(int on)
{
	if (on && !log_to_syslog)
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && log_to_syslog)
		closelog();
	log_to_syslog = on;
}

int
log_enabled(enum log_level level)
{
	return level <= log_max;
}

int
log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Length of the valid UTF-8 sequence at s (n bytes available) that may be
 * printed as it is; 0 when the bytes must be escaped instead. Overlong forms,
 * surrogates, code points past U+10FFFF and the C1 controls (U+0080..U+009F,
 * which some terminals obey like ESC) are all escaped.
 */
static size_t
utf8_printable(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* The second byte's range is what excludes overlongs, surrogates and > U+10FFFF. */
	if (s[0] == 0xc2)
		lo = 0xa0;
	else if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return len;
}

size_t
log_escape(const char *s, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, k;

	if (outlen == 0)
		return 0;
	/* Whole escapes and whole sequences only: truncation never leaves half of one. */
	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)p[i++];
		} else if ((k = utf8_printable(p + i, len - i)) > 0) {
			if (o + k >= outlen)
				break;
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		} else {
			if (o + 4 >= outlen)
				break;
			snprintf(out + o, outlen - o, "\\x%02x", p[i++]);
			o += 4;
		}
	}
	out[o] = '\0';
	return o;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[2048], line[4 * sizeof(msg)], stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_to_syslog) {
		log_escape(msg, strlen(msg), line, sizeof(line));
		syslog(log_priorities[level], "%s", line);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld]: %s: ", stamp, (long)tv.tv_usec / 1000,
	    log_progname, (long)getpid(), log_names[level]);
	log_escape(msg, strlen(msg), line + n, sizeof(line) - (size_t)n);
	/* One write per line so lines from a crash or two processes never interleave. */
	fprintf(stderr, "%s\n", line);
}

const char *
log_safe(const char *s, size_t len, char *out, size_t outlen)
{
	const char *nul;

	if (outlen == 0)
		return out;
	/* log_msg() escapes; here the text only needs an end. */
	if ((nul = memchr(s, '\0', len)) != NULL)
		len = (size_t)(nul - s);
	if (len > outlen - 1)
		len = outlen - 1;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}
