/*
 * Unit tests of src/dest.c: destinations as a route's OPEN carries them
 * (good, and a table of malformed ones), allow_connect rules (good ones read
 * back as written, bad ones refused with the entry named), and the matcher:
 * ports, CIDR blocks, names in any case, IPv4-mapped IPv6 addresses judged as
 * IPv4, and the unspecified addresses never allowed.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "net.h"

static const struct {
	const char *s;
	enum dest_kind kind;
	const char *host, *port, *addr;   /* addr: net_addr_str() of the parsed address */
} good_dests[] = {
	{ "192.168.1.4:22", DEST_ADDR, "192.168.1.4", "22", "192.168.1.4:22" },
	{ "[fd00::4]:22", DEST_ADDR, "fd00::4", "22", "[fd00::4]:22" },
	{ "[::ffff:10.0.0.5]:80", DEST_ADDR, "::ffff:10.0.0.5", "80", "10.0.0.5:80" },
	{ "[::1]:65535", DEST_ADDR, "::1", "65535", "[::1]:65535" },
	{ "db.internal:5432", DEST_NAME, "db.internal", "5432", NULL },
	{ "localhost:1", DEST_NAME, "localhost", "1", NULL },
	{ "Nas_1.office-2.example:8080", DEST_NAME, "nas_1.office-2.example", "8080", NULL },
	{ "db.internal.:5432", DEST_NAME, "db.internal", "5432", NULL },
	{ "1.2.3.x:9", DEST_NAME, "1.2.3.x", "9", NULL },
};

START_TEST(test_dest_good)
{
	char buf[NET_ADDRSTRLEN];
	const char *why = NULL;
	struct dest d;

	ck_assert_msg(dest_parse(good_dests[_i].s, &d, &why) == 0, "%s: %s", good_dests[_i].s,
	    why);
	ck_assert_int_eq(d.kind, good_dests[_i].kind);
	ck_assert_str_eq(d.host, good_dests[_i].host);
	ck_assert_str_eq(d.port, good_dests[_i].port);
	ck_assert_uint_eq(d.portnum, (unsigned)atoi(good_dests[_i].port));
	if (good_dests[_i].addr != NULL)
		ck_assert_str_eq(net_addr_str((struct sockaddr *)&d.addr.ss, buf),
		    good_dests[_i].addr);
}
END_TEST

static const char *const bad_dests[] = {
	"", ":22", "host", "host:", "host:0", "host:65536", "host:022", "host:+1", "host:2 ",
	"host:*", "1.2.3:22", "10.1:22", "999.1.1.1:22", "1.2.3.4.5:22", "0.0.0.0:22", "[::]:22",
	"[::ffff:0.0.0.0]:1", "fd00::4:22", "[fd00::4]22", "[fd00::4]", "[zz]:22",
	"[1.2.3.4]:22", "[fd00::4%eth0]:22", "a..b:1", ".a:1", "1.2.3.:1", "..:1",
	"a b:1", "a/8:1", "a\x01:1", "caf\xc3\xa9:1", "[]:1", "[:1", "a]:1",
};

START_TEST(test_dest_bad)
{
	const char *why = NULL;
	struct dest d;

	ck_assert_msg(dest_parse(bad_dests[_i], &d, &why) == -1, "\"%s\" parsed", bad_dests[_i]);
	ck_assert_ptr_nonnull(why);
}
END_TEST

/* Names reach 253 bytes in labels of 63; a whole destination reaches 255 bytes. */
START_TEST(test_dest_lengths)
{
	char s[400];
	const char *why;
	struct dest d;

	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 bytes of name, then ":1". */
	memset(s, 'a', 253);
	s[63] = s[127] = s[191] = '.';
	strcpy(s + 253, ":1");
	ck_assert_int_eq(dest_parse(s, &d, &why), 0);
	ck_assert_uint_eq(strlen(d.host), 253);
	s[252] = '.';
	strcpy(s + 253, "b:1");
	ck_assert_int_eq(dest_parse(s, &d, &why), -1);
	memset(s, 'a', 64);
	strcpy(s + 64, ".b:1");
	ck_assert_int_eq(dest_parse(s, &d, &why), -1);
	memset(s, 'a', 300);
	strcpy(s + 300, ":1");
	ck_assert_int_eq(dest_parse(s, &d, &why), -1);
	ck_assert_str_eq(why, "longer than 255 bytes");
}
END_TEST

/*
 * Append the rules of a comma-separated list to r as config.c does (which
 * owns the list syntax); -1 with why at the first bad one.
 */
static int
rules_add(struct dest_rules *r, const char *list, char *why, size_t whylen)
{
	char *copy = strdup(list), *rest = copy, *entry;
	struct dest_rule rule;
	const char *what;
	int ret = 0;

	while (ret == 0 && (entry = strsep(&rest, ",")) != NULL) {
		entry += strspn(entry, " \t");
		entry[strcspn(entry, " \t")] = '\0';
		if (dest_rule_parse(entry, &rule, &what) == -1) {
			snprintf(why, whylen, "\"%s\": %s", entry, what);
			ret = -1;
		} else
			ck_assert_int_eq(dest_rules_append(r, &rule), 0);
	}
	free(copy);
	return ret;
}

/* Good lists, and how each rule reads back. */
START_TEST(test_rules_good)
{
	static const char *const lists[] = {
		"192.168.1.0/24:22, 10.0.0.5:80, 127.0.0.1:*",
		"[fd00::/8]:*,[::1]:22 ,\tDB.Internal:5432",
		"0.0.0.0/0:443, [::/0]:443, 10.0.0.0/8:*",
		"[2001:db8::/127]:1",
	};
	static const char *const want[] = {
		"192.168.1.0/24:22", "10.0.0.5:80", "127.0.0.1:*",
		"[fd00::/8]:*", "[::1]:22", "db.internal:5432",
		"0.0.0.0/0:443", "[::/0]:443", "10.0.0.0/8:*",
		"[2001:db8::/127]:1",
	};
	struct dest_rules r = { NULL, 0 };
	char why[256], buf[128];
	size_t i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		ck_assert_msg(rules_add(&r, lists[i], why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(r.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < r.n; i++)
		ck_assert_str_eq(dest_rule_str(&r.v[i], buf, sizeof(buf)), want[i]);
	dest_rules_free(&r);
}
END_TEST

/*
 * A rule reads back as the same rule, field for field: a name of 46 bytes with
 * its final dot (too long for an address) parses like the 45 without it.
 */
START_TEST(test_rule_reads_back)
{
	static const char *const rules[] = {
		"abcdefghij.abcdefghij.abcdefghij.abcdefghij.x.:54",
		"a-very-long-host-name-of-more-than-forty-six-bytes.internal:54",
		"db.internal.:5432", "10.0.0.0/8:*", "[fd00::/8]:22",
	};
	struct dest_rule rule, again;
	const char *why;
	char buf[600];
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		ck_assert_msg(dest_rule_parse(rules[i], &rule, &why) == 0, "%s: %s", rules[i], why);
		dest_rule_str(&rule, buf, sizeof(buf));
		ck_assert_int_eq(dest_rule_parse(buf, &again, &why), 0);
		ck_assert_msg(memcmp(&rule, &again, sizeof(rule)) == 0, "%s does not read back", rules[i]);
	}
}
END_TEST

static const struct {
	const char *list, *why;
} bad_rules[] = {
	{ "192.168.1.4/24:22", "\"192.168.1.4/24:22\": host bits are set" },
	{ "10.0.0.0/33:1", "prefix length must be 0 to 32" },
	{ "10.0.0.0/08:1", "prefix length" },
	{ "10.0.0.0/:1", "prefix length" },
	{ "[fd00::/129]:*", "prefix length must be 0 to 128" },
	{ "[fd00::1/64]:*", "host bits are set" },
	{ "db/8:1", "not an address" },
	{ "[::ffff:10.0.0.0/104]:*", "as IPv4" },
	{ "[::ffff:10.0.0.1]:*", "as IPv4" },
	{ "0.0.0.0:*", "unspecified" },
	{ "[::]:22", "unspecified" },
	{ "", "expected host:port" },
	{ "host:x", "\"host:x\": port must be" },
	{ "10.0.0.1", "expected host:port" },
	{ "[fd00::1]:0", "port must be" },
	{ "fd00::1:22", "brackets" },
	{ "[db]:22", "not an IPv6" },
	{ "1.2.3:4", "not an address" },
	{ "ok:1, b@d:2", "\"b@d:2\": not an address" },
};

START_TEST(test_rules_bad)
{
	struct dest_rules r = { NULL, 0 };
	char why[256] = "";

	ck_assert_int_eq(rules_add(&r, "10.9.9.9:9", why, sizeof(why)), 0);
	ck_assert_msg(rules_add(&r, bad_rules[_i].list, why, sizeof(why)) == -1, "%s parsed",
	    bad_rules[_i].list);
	ck_assert_msg(strstr(why, bad_rules[_i].why) != NULL, "%s: \"%s\" lacks \"%s\"",
	    bad_rules[_i].list, why, bad_rules[_i].why);
	dest_rules_free(&r);
}
END_TEST

START_TEST(test_rules_limit)
{
	struct dest_rules r = { NULL, 0 };
	char why[256];
	int i;

	for (i = 0; i < DEST_RULES_MAX; i++)
		ck_assert_int_eq(rules_add(&r, "10.0.0.1:1", why, sizeof(why)), 0);
	ck_assert_int_eq(dest_rules_append(&r, &r.v[0]), -1);
	ck_assert_uint_eq(r.n, DEST_RULES_MAX);
	dest_rules_free(&r);
}
END_TEST

static struct net_addr
sockaddr_of(const char *s)
{
	struct net_addr a;

	ck_assert_msg(net_parse_numeric(s, &a) == 0, "%s", s);
	return a;
}

/* Is "ADDR:PORT" allowed by list? */
static int
addr_allowed(const char *list, const char *s)
{
	struct dest_rules r = { NULL, 0 };
	struct net_addr a = sockaddr_of(s);
	char why[256];
	int ok;

	ck_assert_int_eq(rules_add(&r, list, why, sizeof(why)), 0);
	ok = dest_rules_addr(&r, (struct sockaddr *)&a.ss) != NULL;
	dest_rules_free(&r);
	return ok;
}

#define RULES "192.168.1.0/24:22, 10.0.0.5:80, 127.0.0.1:*, [fd00::/8]:*, db.internal:5432"

START_TEST(test_match_addresses)
{
	ck_assert(addr_allowed(RULES, "192.168.1.4:22"));
	ck_assert(addr_allowed(RULES, "192.168.1.255:22"));
	ck_assert(!addr_allowed(RULES, "192.168.1.4:23"));
	ck_assert(!addr_allowed(RULES, "192.168.2.1:22"));
	ck_assert(addr_allowed(RULES, "10.0.0.5:80"));
	ck_assert(!addr_allowed(RULES, "10.0.0.5:81"));
	ck_assert(!addr_allowed(RULES, "10.0.0.6:80"));
	ck_assert(addr_allowed(RULES, "127.0.0.1:9"));
	ck_assert(!addr_allowed(RULES, "127.0.0.2:9"));
	ck_assert(addr_allowed(RULES, "[fd12:3456::1]:5"));
	ck_assert(!addr_allowed(RULES, "[fe80::1]:5"));
	ck_assert(!addr_allowed(RULES, "[::1]:22"));
	/* An IPv4-mapped IPv6 address is the IPv4 address it reaches. */
	ck_assert(addr_allowed(RULES, "[::ffff:192.168.1.9]:22"));
	ck_assert(!addr_allowed(RULES, "[::ffff:192.168.2.9]:22"));
	ck_assert(!addr_allowed("[::/0]:*", "[::ffff:10.0.0.1]:22"));
	ck_assert(addr_allowed("[::/0]:*", "[2001:db8::1]:22"));
	/* Prefixes that end inside a byte. */
	ck_assert(addr_allowed("10.0.0.0/13:*", "10.7.255.255:1"));
	ck_assert(!addr_allowed("10.0.0.0/13:*", "10.8.0.0:1"));
	ck_assert(addr_allowed("[2001:db8::/127]:*", "[2001:db8::1]:1"));
	ck_assert(!addr_allowed("[2001:db8::/127]:*", "[2001:db8::2]:1"));
	/* The unspecified addresses reach this host: never, whatever the rules. */
	ck_assert(!addr_allowed("0.0.0.0/0:*, [::/0]:*", "0.0.0.0:22"));
	ck_assert(!addr_allowed("0.0.0.0/0:*, [::/0]:*", "[::]:22"));
	ck_assert(!addr_allowed("0.0.0.0/0:*, [::/0]:*", "[::ffff:0.0.0.0]:22"));
	ck_assert(addr_allowed("0.0.0.0/0:*", "203.0.113.9:22"));
}
END_TEST

START_TEST(test_match_names)
{
	struct dest_rules r = { NULL, 0 };
	char why[256];

	ck_assert_ptr_null(dest_rules_name(&r, "db.internal", 5432));
	ck_assert(!dest_rules_any_addr(&r, 22));
	ck_assert_int_eq(rules_add(&r, "192.168.1.0/24:22, DB.internal:5432, nas:*", why,
	    sizeof(why)), 0);
	ck_assert_ptr_nonnull(dest_rules_name(&r, "db.internal", 5432));
	ck_assert_ptr_nonnull(dest_rules_name(&r, "DB.INTERNAL", 5432));
	ck_assert_ptr_null(dest_rules_name(&r, "db.internal", 5433));
	ck_assert_ptr_null(dest_rules_name(&r, "db.internal.evil", 5432));
	ck_assert_ptr_null(dest_rules_name(&r, "db.interna", 5432));
	ck_assert_ptr_null(dest_rules_name(&r, "xdb.internal", 5432));
	ck_assert_ptr_nonnull(dest_rules_name(&r, "NAS", 1));
	/* A name rule allows only names: an address is judged by address rules. */
	ck_assert_ptr_null(dest_rules_name(&r, "192.168.1.0/24", 22));
	ck_assert(dest_rules_any_addr(&r, 22));
	ck_assert(!dest_rules_any_addr(&r, 5432));
	dest_rules_free(&r);
}
END_TEST

static Suite *
dest_suite(void)
{
	Suite *s = suite_create("dest");
	TCase *tc = tcase_create("dest");

	tcase_add_loop_test(tc, test_dest_good, 0, sizeof(good_dests) / sizeof(good_dests[0]));
	tcase_add_loop_test(tc, test_dest_bad, 0, sizeof(bad_dests) / sizeof(bad_dests[0]));
	tcase_add_test(tc, test_dest_lengths);
	tcase_add_test(tc, test_rules_good);
	tcase_add_test(tc, test_rule_reads_back);
	tcase_add_loop_test(tc, test_rules_bad, 0, sizeof(bad_rules) / sizeof(bad_rules[0]));
	tcase_add_test(tc, test_rules_limit);
	tcase_add_test(tc, test_match_addresses);
	tcase_add_test(tc, test_match_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dest_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
