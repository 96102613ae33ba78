/*
 * The INI loader engine both config files go through. A schema (config.c)
 * declares its sections as tables of keys; the engine reads the file, feeds
 * inih, follows section headers, applies each value with its key's setter,
 * fills defaults, finds missing required keys, and turns every problem into
 * one "file:line: message" so the user sees all of them at once.
 */
#ifndef RTUN_CONFIG_LOAD_H
#define RTUN_CONFIG_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

/* Most keys one section may have, and most section kinds one file may have. */
#define CONFIG_KEYS_MAX 32
#define CONFIG_SECTIONS_MAX 4

/* Collected "file:line: message" strings. */
struct config_errors {
	char **msgs;
	size_t n;
};

/* One load in progress; opaque, handed to setters and section hooks. */
struct config_loader;
struct config_key;

/*
 * Parse val into field (the section's struct plus the key's offset); a setter
 * reports its own error with config_key_error() and returns -1.
 */
typedef int config_set_fn(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field);

/* One key of a section: how to parse it, where it goes, and what it defaults to. */
struct config_key {
	const char *name;
	config_set_fn *set;
	size_t off;
	int required;
	int optional;                            /* no default: left unset when absent */
	int multi;                               /* may repeat; each value is appended */
	const char *dflt;                        /* default text, parsed like a value */
	double ndflt;                            /* numeric default, when dflt is NULL */
	const char *(*dflt_fn)(char *, size_t);  /* computed default text */
	uint64_t lo, hi;                         /* accepted range of counts and sizes */
};

/* One kind of section, [name] or [name ARG], and the table of its keys. */
struct config_section {
	const char *name;
	const struct config_key *keys;
	size_t nkeys;
	int named;                               /* [name ARG] rather than [name] */
	/* Start a section; returns the struct its keys fill, NULL to skip it. */
	void *(*open)(struct config_loader *, const char *arg);
	/* Checks across keys, run when the section had no other error. */
	void (*close)(struct config_loader *);
};

/* Read path against the section tables into conf; 0, or -1 with every problem in errs. */
int config_load_file(const char *path, const struct config_section *sections, size_t nsections,
    void *conf, struct config_errors *errs);
/* Free the collected error strings. */
void config_errors_free(struct config_errors *errs);

/* Report "file:line: message", or "file: message" for line 0. */
void config_error(struct config_loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Report a bad value as "KEY: message" on the line it came from; returns -1. */
int config_key_error(struct config_loader *ld, const struct config_key *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The conf given to config_load_file(). */
void *config_loader_conf(const struct config_loader *ld);
/* The struct the current section's keys fill: what its open hook returned. */
void *config_loader_base(const struct config_loader *ld);
/* The line just read; inside an open hook, the section header's. */
int config_loader_line(const struct config_loader *ld);
/* The current section's header line. */
int config_section_line(const struct config_loader *ld);
/* Line a key of the current section was set on, or the header's when it was defaulted. */
int config_key_line(const struct config_loader *ld, const char *name);
/* The later of two keys' lines: where a check across both is reported. */
int config_later_line(const struct config_loader *ld, const char *a, const char *b);

/* Parse a duration: "10", "10s", "500ms", "2m", "1h"; -1 if malformed or negative. */
int config_parse_duration(const char *s, double *out);
/* Parse a size: "65536", "64K", "64KiB", "1M", "1MiB"; -1 if malformed. */
int config_parse_size(const char *s, uint64_t *out);

/* A non-empty string, into a char *. */
config_set_fn config_set_string;
/* A duration from 1ms to 24h, into a double of seconds. */
config_set_fn config_set_duration;
/* "off" (0) or a duration as config_set_duration() takes it, into a double of seconds. */
config_set_fn config_set_idle;
/* A size within the key's lo and hi, into a uint32_t. */
config_set_fn config_set_size;
/* A whole number within the key's lo and hi, into a uint32_t. */
config_set_fn config_set_count;
/* A TCP port, 1 to 65535, into a uint16_t. */
config_set_fn config_set_port;
/* yes/no, true/false or 1/0, into an int. */
config_set_fn config_set_bool;
/* The path of a file we can read, into a char *. */
config_set_fn config_set_file;
/* Split and resolve "host:port" into *text and *addr; passive: an empty host is the wildcard. */
int config_set_address(struct config_loader *ld, const struct config_key *k, const char *val,
    int passive, char **text, struct net_addr *addr);

#endif
