/*
 * Logging: one line per event to stderr, with a level filter. Callers put the
 * link and stream context in the message. Every message is escaped as a whole
 * (log_escape()), so text a peer sent can be passed to %s as it is: it cannot
 * forge log lines.
 */
#ifndef RTUN_LOG_H
#define RTUN_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* Set the program name and level; debug forces LOG_LEVEL_DEBUG whatever is set later. */
void log_init(const char *progname, enum log_level level, int debug);
/* Change the level filter (ignored while debug is forced). */
void log_set_level(enum log_level level);
/* Send lines to syslog (facility daemon) instead of stderr, or back. */
void log_set_syslog(int on);
/* True when messages of this level would be printed. */
int log_enabled(enum log_level level);
/* Parse "error", "warn", "info" or "debug"; -1 when unknown. */
int log_level_parse(const char *s);
/* Print one line at the given level; the formatted message is escaped with log_escape(). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Escape len bytes into out (always NUL-terminated): control characters, DEL,
 * backslash and bytes that are not valid UTF-8 become \xHH; valid UTF-8 passes
 * except the C1 controls. Returns the length written.
 */
size_t log_escape(const char *s, size_t len, char *out, size_t outlen);
/* Copy length-delimited text (up to an embedded NUL) into out as a C string for %s; returns out. */
const char *log_safe(const char *s, size_t len, char *out, size_t outlen);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_enabled(LOG_LEVEL_DEBUG))                                                  \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                     \
	} while (0)

#endif
