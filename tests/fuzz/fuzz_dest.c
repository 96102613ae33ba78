/*
 * libFuzzer target for route destinations and allow_connect (dest.h): the
 * input's first line is a destination as a route's OPEN carries it, the rest
 * an allow_connect list. Whatever parses must read back the same way (an
 * address through its formatted form, each rule through dest_rule_str()),
 * and the matcher is asked about the destination and must agree with itself.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A destination that parsed reads back as itself. */
static void
dest_round_trip(const struct dest *d)
{
	char s[DEST_TEXT_MAX + 16];
	const char *why;
	struct dest e;

	if (d->kind == DEST_ADDR)
		net_addr_str((const struct sockaddr *)&d->addr.ss, s);
	else
		snprintf(s, sizeof(s), "%s:%s", d->host, d->port);
	if (dest_parse(s, &e, &why) == -1 || e.kind != d->kind || e.portnum != d->portnum)
		abort();
	if (d->kind == DEST_ADDR && (e.addr.len != d->addr.len ||
	    memcmp(&e.addr.ss, &d->addr.ss, d->addr.len) != 0))
		abort();
	if (d->kind == DEST_NAME && strcmp(e.host, d->host) != 0)
		abort();
}

/* A rule that parsed reads back as the same rule. */
static void
rule_round_trip(const struct dest_rule *rule)
{
	char s[DEST_TEXT_MAX + 16];
	struct dest_rule again;
	const char *why;

	dest_rule_str(rule, s, sizeof(s));
	if (dest_rule_parse(s, &again, &why) == -1 || memcmp(&again, rule, sizeof(again)) != 0)
		abort();
}

/* The comma-separated rules of list into r, as far as they parse. */
static void
rules_read(struct dest_rules *r, char *list)
{
	struct dest_rule rule;
	const char *why;
	char *entry;

	while ((entry = strsep(&list, ",")) != NULL) {
		if (dest_rule_parse(entry, &rule, &why) == -1)
			continue;
		rule_round_trip(&rule);
		if (dest_rules_append(r, &rule) == -1)
			break;
	}
}

static void
judge(const struct dest_rules *r, const struct dest *d)
{
	const struct dest_rule *rule;

	if (d->kind == DEST_NAME) {
		rule = dest_rules_name(r, d->host, d->portnum);
		if (rule != NULL && (rule->kind != DEST_NAME ||
		    (rule->port != 0 && rule->port != d->portnum)))
			abort();
		return;
	}
	rule = dest_rules_addr(r, (const struct sockaddr *)&d->addr.ss);
	if (rule != NULL && (rule->kind != DEST_ADDR || !dest_rules_any_addr(r, d->portnum)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t first = nl != NULL ? (size_t)(nl - data) : size;
	struct dest_rules r = { NULL, 0 };
	char *line, *list;
	const char *what;
	struct dest d;
	int dest_ok;

	line = strndup((const char *)data, first);
	list = strndup(nl != NULL ? (const char *)nl + 1 : "", nl != NULL ? size - first - 1 : 0);
	if (line == NULL || list == NULL)
		abort();
	if ((dest_ok = dest_parse(line, &d, &what) == 0))
		dest_round_trip(&d);
	rules_read(&r, list);
	if (dest_ok)
		judge(&r, &d);
	dest_rules_free(&r);
	free(line);
	free(list);
	return 0;
}
