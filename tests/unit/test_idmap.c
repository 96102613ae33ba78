/*
 * Unit tests of src/idmap.c: put/get/del, growth through many entries, and
 * backward-shift deletion inside probe runs (including runs that wrap around
 * the end of the table), checked against a plain array as the reference.
 */
#include "rtun-build.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

/* Stream ids with equal low 20 bits share a home slot in any table up to 2^20 slots. */
#define SAME_HOME (1U << 20)

static struct idmap map;

static void
setup(void)
{
	idmap_init(&map);
}

static void
teardown(void)
{
	idmap_free(&map);
}

/* A distinct, recognisable pointer for each id. */
static void *
obj(uint32_t id)
{
	return (void *)((uintptr_t)id * 16 + 8);
}

/* Exactly the ids in[0..n) are in the map, each with its own object. */
static void
assert_holds(const uint32_t *in, size_t n)
{
	size_t i;

	ck_assert_uint_eq(map.n, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(idmap_get(&map, in[i]) == obj(in[i]), "id %u lost", in[i]);
}

/* Slot where id was placed, found by scanning the table. */
static size_t
slot_holding(uint32_t id)
{
	size_t i;

	for (i = 0; i < map.cap; i++) {
		if (map.slots[i].id == id)
			return i;
	}
	ck_abort_msg("id %u not in the table", id);
	return 0;
}

START_TEST(test_basic)
{
	ck_assert_ptr_null(idmap_get(&map, 1));
	idmap_del(&map, 1);
	idmap_put(&map, 1, obj(1));
	idmap_put(&map, 2, obj(2));
	ck_assert_ptr_eq(idmap_get(&map, 1), obj(1));
	ck_assert_ptr_eq(idmap_get(&map, 2), obj(2));
	ck_assert_ptr_null(idmap_get(&map, 3));
	idmap_del(&map, 3);
	idmap_del(&map, 1);
	ck_assert_ptr_null(idmap_get(&map, 1));
	ck_assert_ptr_eq(idmap_get(&map, 2), obj(2));
	ck_assert_uint_eq(map.n, 1);
	idmap_put(&map, UINT32_MAX, obj(7));
	ck_assert_ptr_eq(idmap_get(&map, UINT32_MAX), obj(7));
}
END_TEST

START_TEST(test_growth)
{
	static uint32_t ids[20000];
	size_t i;

	for (i = 0; i < 20000; i++) {
		ids[i] = (uint32_t)(2 * i + 2);   /* server ids: 2, 4, ... */
		idmap_put(&map, ids[i], obj(ids[i]));
	}
	assert_holds(ids, 20000);
	ck_assert_uint_ge(map.cap, 2 * map.n);
	ck_assert_ptr_null(idmap_get(&map, 3));
	/* Delete every other one; the rest stay reachable. */
	for (i = 0; i < 20000; i += 2)
		idmap_del(&map, ids[i]);
	for (i = 1; i < 20000; i += 2)
		ids[i / 2] = ids[i];
	assert_holds(ids, 10000);
	ck_assert_ptr_null(idmap_get(&map, 2));
}
END_TEST

/*
 * A probe run that wraps: ids sharing the home slot cap-1 fill cap-1, 0, 1, ...
 * plus one id whose home is slot 0, displaced along the run. Deleting any one
 * of them must leave all the others reachable.
 */
START_TEST(test_delete_in_run)
{
	uint32_t ids[6], rest[6], id, home0 = 0;
	size_t n = 0, i, j, m;

	/* Find the first id whose home is the last slot of a 16-slot table, and one for slot 0. */
	for (id = 1; n == 0 || home0 == 0; id++) {
		idmap_put(&map, id, obj(id));
		ck_assert_uint_eq(map.cap, 16);
		if (slot_holding(id) == 15 && n == 0)
			ids[n++] = id;
		else if (slot_holding(id) == 0 && home0 == 0)
			home0 = id;
		idmap_del(&map, id);
	}
	for (i = 1; i < 5; i++)
		ids[n++] = ids[0] + (uint32_t)i * SAME_HOME;
	ids[n++] = home0;
	for (i = 0; i < n; i++) {
		idmap_free(&map);
		for (j = 0; j < n; j++)
			idmap_put(&map, ids[j], obj(ids[j]));
		ck_assert_uint_eq(map.cap, 16);
		ck_assert_uint_eq(slot_holding(ids[4]), 3);
		ck_assert_uint_eq(slot_holding(home0), 4);
		idmap_del(&map, ids[i]);
		ck_assert_ptr_null(idmap_get(&map, ids[i]));
		for (j = m = 0; j < n; j++) {
			if (j != i)
				rest[m++] = ids[j];
		}
		assert_holds(rest, m);
	}
}
END_TEST

/* Random puts and deletes of colliding ids, against a presence array. */
START_TEST(test_random)
{
	enum { IDS = 512, ROUNDS = 20000 };
	static uint32_t ids[IDS], in[IDS];
	static char present[IDS];
	size_t i, k, n;

	srandom(1);
	for (i = 0; i < IDS; i++)
		ids[i] = (uint32_t)(i % 8 + 1) + (uint32_t)(i / 8) * SAME_HOME;
	for (k = 0; k < ROUNDS; k++) {
		i = (size_t)random() % IDS;
		if (present[i])
			idmap_del(&map, ids[i]);
		else
			idmap_put(&map, ids[i], obj(ids[i]));
		present[i] = !present[i];
		if (k % 100 != 0)
			continue;
		for (i = n = 0; i < IDS; i++) {
			if (present[i])
				in[n++] = ids[i];
			else
				ck_assert_ptr_null(idmap_get(&map, ids[i]));
		}
		assert_holds(in, n);
	}
}
END_TEST

static void
count_visit(void *ptr, void *arg)
{
	unsigned *seen = arg;
	uintptr_t id = ((uintptr_t)ptr - 8) / 16;

	ck_assert_uint_lt(id, 1000);
	seen[id]++;
}

START_TEST(test_each)
{
	unsigned seen[1000];
	uint32_t id;

	memset(seen, 0, sizeof(seen));
	idmap_each(&map, count_visit, seen);
	for (id = 1; id < 1000; id++)
		idmap_put(&map, id, obj(id));
	for (id = 1; id < 1000; id += 3)
		idmap_del(&map, id);
	idmap_each(&map, count_visit, seen);
	ck_assert_uint_eq(seen[0], 0);
	for (id = 1; id < 1000; id++)
		ck_assert_uint_eq(seen[id], id % 3 == 1 ? 0 : 1);
}
END_TEST

static Suite *
idmap_suite(void)
{
	Suite *s = suite_create("idmap");
	TCase *tc = tcase_create("idmap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_delete_in_run);
	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_each);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(idmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
