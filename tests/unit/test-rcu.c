// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-rcu.c - SLAB_TYPESAFE_BY_RCU and kfree_rcu on liburcu's
 * memb flavour: readers racing with free/realloc never accept a wrong object
 * (key check after refcount get), slab pages of a TYPESAFE cache are released
 * only after a grace period, kfree_rcu frees after a grace period in batches
 * with bounded backlog, and destroy right after kfree_rcu is safe.
 */
#define _LGPL_SOURCE 1
#include <urcu/urcu-memb.h>

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/slab.h"

/* ---- type-safe readers -------------------------------------------------------- */

struct tobj {
	atomic_long refcnt;        /* 0: free or being torn down */
	atomic_ulong key;          /* slot id the object currently serves */
	unsigned long payload[6];
};

#define NSLOTS 256
static struct kmem_cache *tcache;
static struct tobj *_Atomic slots[NSLOTS];
static atomic_bool stop;
static atomic_ulong wrong_accepts, good_reads, ctor_runs;

static void tobj_ctor(void *p)
{
	struct tobj *o = p;

	atomic_init(&o->refcnt, 0);
	atomic_init(&o->key, ~0ul);
	atomic_fetch_add(&ctor_runs, 1);
}

static bool tobj_get(struct tobj *o)
{
	long r = atomic_load(&o->refcnt);

	while (r > 0)
		if (atomic_compare_exchange_weak(&o->refcnt, &r, r + 1))
			return true;
	return false;
}

static void tobj_put(struct tobj *o)
{
	if (atomic_fetch_sub(&o->refcnt, 1) == 1)
		kmem_cache_free(tcache, o);
}

static void *reader(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	urcu_memb_register_thread();
	while (!atomic_load(&stop)) {
		unsigned long id = rand_r(&seed) % NSLOTS;

		urcu_memb_read_lock();
		struct tobj *o = atomic_load(&slots[id]);
		if (o && tobj_get(o)) {
			/* Re-validate: the object may have been recycled for another slot. */
			if (atomic_load(&o->key) == id) {
				/* Accepted: while we hold a reference nobody may recycle it. */
				for (int k = 0; k < 8; k++)
					if (atomic_load(&o->key) != id)
						atomic_fetch_add(&wrong_accepts, 1);
				atomic_fetch_add(&good_reads, 1);
			}
			urcu_memb_read_unlock();
			tobj_put(o);
			continue;
		}
		urcu_memb_read_unlock();
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void *writer(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	for (int i = 0; i < 60000; i++) {
		unsigned long id = rand_r(&seed) % NSLOTS;
		struct tobj *n = kmem_cache_alloc(tcache, GFP_KERNEL);

		ck_assert_ptr_nonnull(n);
		atomic_store(&n->key, id);
		atomic_store(&n->refcnt, 1);
		struct tobj *old = atomic_exchange(&slots[id], n);
		if (old)
			tobj_put(old); /* freed at once: TYPESAFE_BY_RCU allows reuse */
		if (i % 5000 == 0)
			kmem_cache_shrink(tcache);
	}
	return NULL;
}

START_TEST(typesafe_readers_never_accept_wrong_object)
{
	pthread_t r[3], w[2];

	tcache = kmem_cache_create("tobj", sizeof(struct tobj), 0, SLAB_TYPESAFE_BY_RCU, tobj_ctor);
	ck_assert_ptr_nonnull(tcache);
	for (int i = 0; i < 3; i++)
		pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)(i + 100));
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(r[i], NULL);

	ck_assert_uint_eq(atomic_load(&wrong_accepts), 0);
	ck_assert_uint_gt(atomic_load(&good_reads), 0);
	for (int i = 0; i < NSLOTS; i++) {
		struct tobj *o = atomic_exchange(&slots[i], NULL);
		if (o)
			tobj_put(o);
	}
	ck_assert_int_eq(uslab_cache_validate(tcache), 0);

	/* The constructor ran once per object per slab, never on reuse. */
	struct uslab_cache_info info;
	uslab_cache_info(tcache, NUMA_NO_NODE, &info);
	ck_assert_uint_eq(atomic_load(&ctor_runs), info.grown * info.objs_per_slab);
	ck_assert_int_eq(uslab_cache_destroy(tcache), 0);
}
END_TEST

/* ---- slab pages wait for a grace period -------------------------------------------- */

static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rl_cond = PTHREAD_COND_INITIALIZER;
static int rl_state; /* 1: reader inside, 2: reader may leave */

static void *holding_reader(void *arg)
{
	(void)arg;
	urcu_memb_register_thread();
	urcu_memb_read_lock();
	pthread_mutex_lock(&rl_lock);
	rl_state = 1;
	pthread_cond_broadcast(&rl_cond);
	while (rl_state != 2)
		pthread_cond_wait(&rl_cond, &rl_lock);
	pthread_mutex_unlock(&rl_lock);
	urcu_memb_read_unlock();
	urcu_memb_unregister_thread();
	return NULL;
}

static void reader_enter(pthread_t *t)
{
	rl_state = 0;
	pthread_create(t, NULL, holding_reader, NULL);
	pthread_mutex_lock(&rl_lock);
	while (rl_state != 1)
		pthread_cond_wait(&rl_cond, &rl_lock);
	pthread_mutex_unlock(&rl_lock);
}

static void reader_leave(pthread_t t)
{
	pthread_mutex_lock(&rl_lock);
	rl_state = 2;
	pthread_cond_broadcast(&rl_cond);
	pthread_mutex_unlock(&rl_lock);
	pthread_join(t, NULL);
}

START_TEST(typesafe_slab_pages_released_after_grace_period)
{
	struct kmem_cache *s = kmem_cache_create("tsafe", 512, 0, SLAB_TYPESAFE_BY_RCU, NULL);
	void *objs[256];
	unsigned long mapped_full, mapped_held, mapped_after;
	pthread_t r;

	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 256; i++)
		ck_assert_ptr_nonnull(objs[i] = kmem_cache_alloc(s, GFP_KERNEL));
	uslab_node_pages(0, NULL, &mapped_full);

	reader_enter(&r);
	for (int i = 0; i < 256; i++)
		kmem_cache_free(s, objs[i]);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	/* A reader is inside: every page is still there, and readable. */
	uslab_node_pages(0, NULL, &mapped_held);
	ck_assert_uint_ge(mapped_held, mapped_full);
	for (int i = 0; i < 256; i++)
		(void)((volatile char *)objs[i])[0]; /* readable: no fault */
	struct uslab_cache_info info;
	uslab_cache_info(s, NUMA_NO_NODE, &info);
	ck_assert_uint_eq(info.num_slabs, 0); /* off the lists, waiting for the grace period */

	reader_leave(r);
	kvfree_rcu_barrier();
	uslab_node_pages(0, NULL, &mapped_after);
	ck_assert_uint_lt(mapped_after, mapped_held);
	ck_assert_uint_ge(mapped_held - mapped_after, 256 / info.objs_per_slab);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ---- kfree_rcu ------------------------------------------------------------------------- */

struct node_obj {
	long value;
	struct rcu_head rcu;
};

static struct kmem_cache *barrier_cache;
static atomic_bool barrier_done;

static void *barrier_thread(void *arg)
{
	(void)arg;
	kvfree_rcu_barrier();
	atomic_store(&barrier_done, true);
	return NULL;
}

START_TEST(kfree_rcu_frees_after_grace_period)
{
	struct uslab_cache_info info;
	unsigned long queued;
	pthread_t r, b;

	barrier_cache = kmem_cache_create("krcu", sizeof(struct node_obj), 0, SLAB_NO_MERGE, NULL);
	struct node_obj *o = kmem_cache_alloc(barrier_cache, GFP_KERNEL);
	ck_assert_ptr_nonnull(o);
	uslab_cache_info(barrier_cache, NUMA_NO_NODE, &info);
	unsigned long frees_before = info.frees;

	reader_enter(&r);
	kfree_rcu(o, rcu);
	uslab_kfree_rcu_stats(&queued, NULL);
	ck_assert_uint_eq(queued, 1);
	pthread_create(&b, NULL, barrier_thread, NULL);
	/* While the reader holds its section, the object must stay allocated. */
	for (int i = 0; i < 2000 && !atomic_load(&barrier_done); i++) {
		uslab_kfree_rcu_stats(&queued, NULL);
		ck_assert_uint_eq(queued, 1);
		sched_yield();
	}
	ck_assert(!atomic_load(&barrier_done));
	uslab_cache_info(barrier_cache, NUMA_NO_NODE, &info);
	ck_assert_uint_eq(info.frees, frees_before);
	ck_assert_int_eq(uslab_cache_leaks(barrier_cache, NULL), 1); /* still allocated */

	reader_leave(r);
	pthread_join(b, NULL);
	uslab_kfree_rcu_stats(&queued, NULL);
	ck_assert_uint_eq(queued, 0);
	/* Freed now (under ASan it may wait in the quarantine, still counted as freed). */
	ck_assert_int_eq(uslab_cache_leaks(barrier_cache, NULL), 0);
	ck_assert_int_eq(uslab_cache_destroy(barrier_cache), 0);
}
END_TEST

START_TEST(kfree_rcu_million_calls_bounded)
{
	unsigned long queued, max_queued = 0, callbacks;
	const long n = 1000000;

	for (long i = 0; i < n; i++) {
		struct node_obj *o = kmalloc(sizeof(*o), GFP_KERNEL);
		ck_assert_ptr_nonnull(o);
		o->value = i;
		if (i & 1)
			kfree_rcu(o, rcu);
		else
			kvfree_rcu(o); /* the headless form */
		if ((i & 1023) == 0) {
			uslab_kfree_rcu_stats(&queued, NULL);
			if (queued > max_queued)
				max_queued = queued;
		}
	}
	kvfree_rcu_barrier();
	uslab_kfree_rcu_stats(&queued, &callbacks);
	ck_assert_uint_eq(queued, 0);
	/* Batched: far fewer callbacks than objects; backlog never the whole run. */
	ck_assert_uint_lt(callbacks, (unsigned long)n / 100);
	ck_assert_uint_lt(max_queued, (unsigned long)n * 3 / 4);
	struct kmem_cache *k = uslab_obj_cache(kmalloc(sizeof(struct node_obj), GFP_KERNEL));
	ck_assert_int_eq(uslab_cache_validate(k), 0);
}
END_TEST

START_TEST(destroy_right_after_kfree_rcu)
{
	struct kmem_cache *s = kmem_cache_create("krcu2", sizeof(struct node_obj), 0,
						 SLAB_NO_MERGE | SLAB_TYPESAFE_BY_RCU, NULL);
	struct node_obj *objs[1000];

	for (int i = 0; i < 1000; i++)
		ck_assert_ptr_nonnull(objs[i] = kmem_cache_alloc(s, GFP_KERNEL));
	for (int i = 0; i < 1000; i++)
		kfree_rcu(objs[i], rcu);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	unsigned long queued;
	uslab_kfree_rcu_stats(&queued, NULL);
	ck_assert_uint_eq(queued, 0);
}
END_TEST

static Suite *rcu_suite(void)
{
	Suite *s = suite_create("rcu");
	TCase *tc = tcase_create("rcu");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, typesafe_readers_never_accept_wrong_object);
	tcase_add_test(tc, typesafe_slab_pages_released_after_grace_period);
	tcase_add_test(tc, kfree_rcu_frees_after_grace_period);
	tcase_add_test(tc, kfree_rcu_million_calls_bounded);
	tcase_add_test(tc, destroy_right_after_kfree_rcu);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rcu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
