/*
 * Logging to stderr. The program name and level are the only state, set once
 * at start (and on reload); supervisord or the terminal adds nothing, so each
 * line carries its own UTC timestamp.
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

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048], stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (level > log_max)
		return;
	if (log_to_syslog) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		syslog(log_priorities[level], "%s", line);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld]: %s: ", stamp, (long)tv.tv_usec / 1000,
	    log_progname, (long)getpid(), log_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so lines from a crash or two processes never interleave. */
	fprintf(stderr, "%s\n", line);
}

const char *
log_safe(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;
	unsigned char c;

	if (outlen == 0)
		return out;
	for (i = 0; i < len && o + 5 < outlen; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}
