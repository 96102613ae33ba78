/*
 * Port sets, written as rtund's allow_ports is: "22,6000-6999", a comma list
 * of ports and inclusive ranges, blanks allowed around each port. A set is
 * parsed once when the config is loaded and asked on every declaration.
 */
#ifndef RTUN_PORTSET_H
#define RTUN_PORTSET_H

#include <stddef.h>
#include <stdint.h>

/* A set of TCP ports; a value type, embedded in the config that owns it. */
struct portset {
	struct portrange {
		uint16_t lo, hi;
	} *ranges;
	size_t n;
};

/* Parse "22,6000-6999" into set; -1 with *why set and set left empty. */
int portset_parse(const char *s, struct portset *set, const char **why);
/* True when port is in set. */
int portset_contains(const struct portset *set, uint16_t port);
/* Free a port set and leave it empty. */
void portset_free(struct portset *set);

#endif
