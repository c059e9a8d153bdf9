// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/integration/test-api.c - uslab seen by an application: only
 * <uslab.h>, linked against the shared libuslab. One end-to-end scenario
 * walks a cache through its life (create, alloc/free, bulk, shrink, a busy
 * destroy, the final destroy) with kmalloc, krealloc and kmalloc_large on
 * the side, reads it back through slabinfo and uslab_cache_info, and checks
 * uslab_cache_validate() at each quiescent point; a second case installs a
 * report handler and frees foreign pointers; a third runs the reaper thread.
 */
#include <uslab.h>

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/testutil.h"

#define NOBJ 1000

struct item {
	uint32_t magic;
	uint32_t id;
	char name[40];
};

static unsigned long item_ctor_calls;

static void item_ctor(void *p)
{
	struct item *it = p;

	item_ctor_calls++;
	it->magic = 0x17e4;
	it->id = 0;
	it->name[0] = '\0';
}

static struct uslab_cache_info info_of(struct kmem_cache *s)
{
	struct uslab_cache_info i;

	ck_assert_int_eq(uslab_cache_info(s, NUMA_NO_NODE, &i), 0);
	return i;
}

/* The slabinfo row of @name, parsed; false when absent. */
static bool slabinfo_row(const char *name, unsigned long *active, unsigned long *num,
			 unsigned long *slabs)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	bool found = false;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_int_eq(uslab_slabinfo(f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "slabinfo - version: 2.1\n"));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char n[128];
		unsigned long a, o, as, ns, sa;
		unsigned int sz, per, lim, b, sh;
		int pg;

		if (sscanf(line, "%127s %lu %lu %u %u %d : tunables %u %u %u : slabdata %lu %lu %lu", n,
			   &a, &o, &sz, &per, &pg, &lim, &b, &sh, &as, &ns, &sa) == 12 &&
		    strcmp(n, name) == 0) {
			*active = a;
			*num = o;
			*slabs = ns;
			found = true;
		}
	}
	free(buf);
	return found;
}

START_TEST(test_cache_lifecycle_end_to_end)
{
	struct kmem_cache *s;
	struct item **items = calloc(NOBJ, sizeof(*items));
	void *bulk[64];
	struct stderr_capture cap;
	struct uslab_cache_info info;
	unsigned long active, num, slabs;
	char *p, *err;

	ck_assert_int_eq(uslab_init(&(struct uslab_config){ .nomerge = true }), 0);
	s = kmem_cache_create("it-item", sizeof(struct item), 0, SLAB_HWCACHE_ALIGN, item_ctor);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(uslab_cache_name(s), "it-item");
	ck_assert_ptr_eq(uslab_cache_find("it-item"), s);
	ck_assert_uint_eq(kmem_cache_size(s), sizeof(struct item));

	/* Allocate, fill, check nobody shares an object. */
	for (int i = 0; i < NOBJ; i++) {
		items[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(items[i]);
		ck_assert_uint_eq(items[i]->magic, 0x17e4);
		ck_assert_uint_eq((uintptr_t)items[i] % 64, 0);
		items[i]->id = (uint32_t)i + 1;
		snprintf(items[i]->name, sizeof(items[i]->name), "item %d", i);
	}
	for (int i = 0; i < NOBJ; i++)
		ck_assert_uint_eq(items[i]->id, (uint32_t)i + 1);
	info = info_of(s);
	ck_assert_uint_eq(item_ctor_calls, (unsigned long)info.objs_per_slab * info.grown);
	ck_assert_uint_ge(info.active_objs, NOBJ);
	ck_assert_int_eq(uslab_cache_validate(s), 0);
	ck_assert(slabinfo_row("it-item", &active, &num, &slabs));
	ck_assert_uint_eq(active, info.active_objs);
	ck_assert_uint_eq(num, info.num_objs);
	ck_assert_uint_eq(slabs, info.num_slabs);

	/* Bulk on top. */
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 64, bulk), 64);
	for (int i = 0; i < 64; i++)
		ck_assert_uint_eq(((struct item *)bulk[i])->magic, 0x17e4);
	kmem_cache_free_bulk(s, 64, bulk);

	/* kmalloc, krealloc across classes, into a big class and kmalloc_large, kfree. */
	p = kstrdup("integration", GFP_KERNEL);
	ck_assert_str_eq(p, "integration");
	p = krealloc(p, 200, GFP_KERNEL);
	ck_assert_str_eq(p, "integration");
	ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(p)), "kmalloc-256");
	p = krealloc(p, 50000, GFP_KERNEL);
	ck_assert_str_eq(p, "integration");
	ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(p)), "kmalloc-64k");
	ck_assert_uint_eq(ksize(p), 65536);
	kfree(p);
	p = kvmalloc(KMALLOC_MAX_SIZE + 50000, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(uslab_obj_cache(p));
	ck_assert_uint_eq(ksize(p), KMALLOC_MAX_SIZE + 53248);
	kvfree(p);
	ck_assert_ptr_eq(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_ptr_null(kmalloc_array(SIZE_MAX, 2, GFP_KERNEL));

	/* Free all but one; shrink keeps one slab; destroy is refused and changes nothing. */
	for (int i = 1; i < NOBJ; i++)
		kmem_cache_free(s, items[i]);
	ck_assert_int_eq(kmem_cache_shrink(s), 1);
	info = info_of(s);
	ck_assert_uint_eq(info.num_slabs, 1);
	ck_assert_uint_eq(info.active_objs, 1);
	ck_assert_int_eq(uslab_cache_validate(s), 0);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), -EBUSY);
	err = stderr_capture_end(&cap);
	ck_assert_ptr_nonnull(strstr(err, "kmem_cache_destroy it-item: Slab cache still has objects"));
	free(err);
	ck_assert_ptr_eq(uslab_cache_find("it-item"), s);
	ck_assert_uint_eq(items[0]->id, 1);
	ck_assert_str_eq(items[0]->name, "item 0");
	ck_assert_int_eq(uslab_cache_validate(s), 0);

	kmem_cache_free(s, items[0]);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_eq(info_of(s).num_slabs, 0);
	ck_assert(slabinfo_row("it-item", &active, &num, &slabs));
	ck_assert_uint_eq(active + num + slabs, 0);
	ck_assert_int_eq(uslab_cache_validate(s), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	ck_assert_ptr_null(uslab_cache_find("it-item"));
	ck_assert(!slabinfo_row("it-item", &active, &num, &slabs));
	ck_assert_int_eq(uslab_cache_validate(uslab_cache_find("kmalloc-256")), 0);
	free(items);
}
END_TEST

static unsigned int reports;
static const void *last_object;

static void on_report(const char *cache, const void *object, const char *text)
{
	(void)cache;
	(void)text;
	reports++;
	last_object = object;
}

START_TEST(test_report_handler_catches_foreign_frees)
{
	int local;
	char *heap = malloc(32), *obj;

	uslab_set_report_handler(on_report);
	kfree(&local);
	ck_assert_uint_eq(reports, 1);
	ck_assert_ptr_eq(last_object, &local);
	kfree(heap);
	ck_assert_uint_eq(reports, 2);
	obj = kmalloc(100, GFP_KERNEL);
	kfree(obj + 4);
	ck_assert_uint_eq(reports, 3);
	kfree(obj);
	ck_assert_uint_eq(reports, 3);
	ck_assert_int_eq(uslab_cache_validate(uslab_cache_find("kmalloc-128")), 0);
	free(heap);
}
END_TEST

START_TEST(test_background_reaper_starts_and_stops)
{
	struct kmem_cache *s;
	void *p[200];

	ck_assert_int_eq(uslab_init(&(struct uslab_config){ .nomerge = true, .reaper_ms = 1 }), 0);
	s = kmem_cache_create("it-reaped", 128, 0, 0, NULL);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 200; i++)
			p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		for (int i = 0; i < 200; i++)
			kmem_cache_free(s, p[i]);
	}
	uslab_reaper_stop();
	uslab_reaper_stop(); /* no-op */
	ck_assert_int_eq(uslab_cache_validate(s), 0);
	ck_assert_int_eq(uslab_reaper_start(0), -EINVAL);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("end-to-end");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cache_lifecycle_end_to_end);
	tcase_add_test(tc, test_report_handler_catches_foreign_frees);
	tcase_add_test(tc, test_background_reaper_starts_and_stops);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
