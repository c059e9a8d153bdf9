// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-slab-hotplug.c - the slab layer under CPU and memory-node
 * hotplug (lib/hotplug_cb.c): a dead CPU's array drained into its node and
 * the node's free_limit lowered by batchcount, the node's shared array freed
 * with its last CPU, a thread still acting as the dead CPU served by the
 * node lists without loss, arrays re-created when the CPU comes back; a
 * failing cpuhp startup rolling slab's arrays back; a memory node with live
 * objects vetoing its offline without losing anything, and once empty going
 * offline (no allocation lands there, __GFP_THISNODE fails, its CPUs take
 * memory from the nearest online node) and coming back; management calls
 * (create, destroy, shrink, tune) racing with CPU and node changes; and, on
 * the real machine, a CPU taken down under a thread that runs on it, in
 * restartable-sequence mode and in the locked mode (USLAB_RSEQ=0).
 *
 * Synthetic machine unless said otherwise: 8 CPUs on 4 nodes, CPUs 2n and
 * 2n+1 on node n. Each test runs in its own process (CK_FORK=yes). Threads
 * are sequenced with flags and counters, never with sleeps. Objects carry a
 * pattern tied to their address (tests/unit/testutil.h) checked before free.
 * Under ASan freed objects wait in a quarantine; the tests flush it
 * (quarantine_flush) where they count array contents.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, pthread_setaffinity_np */
#endif
#include "lib/slab.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/testutil.h"

/* ---- helpers ------------------------------------------------------------------- */

#define SPEC_8x4 "node:4 core:2 pu:1"
#define VALIDATE(s) ck_assert_int_eq(uslab_cache_validate(s), 0)
/* Spin politely until @cond holds: the other thread is past a known point. */
#define WAIT_UNTIL(cond) do { while (!(cond)) sched_yield(); } while (0)

static void machine(void)
{
	struct uslab_config cfg = { .topology = SPEC_8x4, .nomerge = true };

	ck_assert_int_eq(uslab_init(&cfg), 0);
	ck_assert_uint_eq(uslab_nr_cpu_ids(), 8);
	ck_assert_uint_eq(uslab_nr_node_ids(), 4);
	for (int cpu = 0; cpu < 8; cpu++)
		ck_assert_int_eq(cpu_to_node(cpu), cpu / 2);
	ck_assert_uint_eq(num_online_cpus(), 8);
	ck_assert_uint_eq(num_online_nodes(), 4);
}

static void act_as(int cpu)
{
	ck_assert_int_eq(uslab_thread_set_cpu(cpu), 0);
	ck_assert_int_eq(smp_processor_id(), cpu);
}

/*
 * The counts below follow the kernel's array sizes, so they are chosen by
 * hand (the kernel's defaults for the size): adaptive sizing stays off.
 */
static struct kmem_cache *mk_cache(const char *name, unsigned int size)
{
	struct kmem_cache *s = kmem_cache_create(name, size, 0, 0, NULL);
	struct uslab_cache_info i;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_cache_info(s, NUMA_NO_NODE, &i), 0);
	ck_assert_int_eq(uslab_cache_tune(s, i.limit, i.batchcount, i.shared), 0);
	return s;
}

static struct uslab_cache_info info_node(struct kmem_cache *s, int nid)
{
	struct uslab_cache_info i;

	ck_assert_int_eq(uslab_cache_info(s, nid, &i), 0);
	return i;
}

static struct uslab_cache_info info_all(struct kmem_cache *s)
{
	return info_node(s, NUMA_NO_NODE);
}

/*
 * Freed objects leave the ASan quarantine (to the calling thread's CPU); a
 * no-op otherwise. NULL: every cache's, before a node offline that must not
 * be vetoed by quarantined objects.
 */
static void flush_quarantine(struct kmem_cache *s)
{
	quarantine_flush(s);
}

static uint32_t tag_of(int i)
{
	return 0x5100u + (uint32_t)i;
}

static void *alloc_filled(struct kmem_cache *s, gfp_t gfp, int nid, uint32_t tag)
{
	void *p = nid == NUMA_NO_NODE ? kmem_cache_alloc(s, gfp) : kmem_cache_alloc_node(s, gfp, nid);

	if (p)
		pattern_fill(p, tag, kmem_cache_size(s));
	return p;
}

static void free_checked(struct kmem_cache *s, void *p, uint32_t tag)
{
	ck_assert_msg(pattern_check(p, tag, kmem_cache_size(s)), "object %p (tag %#x) corrupted",
		      p, tag);
	kmem_cache_free(s, p);
}

/* Objects the program holds, as the cache counts them. */
static long live(struct kmem_cache *s)
{
	long n = uslab_cache_leaks(s, NULL);

	ck_assert_int_ge(n, 0);
	return n;
}

/* The kernel's node free_limit for the CPUs online now (DESIGN.md). */
static unsigned long expected_free_limit(struct kmem_cache *s, int nid)
{
	return (1ul + hotplug_nr_online_cpus_node(nid)) * s->batchcount + s->num;
}

static int slab_index(struct kmem_cache *s, void *p)
{
	struct slab *slab = (struct slab *)pagemap_lookup(p);

	ck_assert_ptr_nonnull(slab);
	return (int)slab_obj_to_index(s, slab, p);
}

/* Distance from @nid to the nearest online node other than itself. */
static int nearest_online_distance(int nid)
{
	int best = -1;

	for (int n = 0; n < (int)nr_node_ids; n++)
		if (n != nid && node_online(n) && (best < 0 || node_distance(nid, n) < best))
			best = node_distance(nid, n);
	return best;
}

static void all_online(void)
{
	for (int nid = 0; nid < (int)nr_node_ids; nid++)
		ck_assert_int_eq(mem_node_online(nid), 0);
	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++)
		ck_assert_int_eq(cpu_up((unsigned int)cpu), 0);
	ck_assert_uint_eq(num_online_cpus(), nr_cpu_ids);
	ck_assert_uint_eq(num_online_nodes(), nr_node_ids);
}

/* ---- CPU down / up ---------------------------------------------------------------- */

/*
 * Fill CPU 3's array and node 1's shared array with free objects whose slabs
 * all keep live objects (odd indexes stay allocated), so no slab becomes free
 * and every count moves by exactly what hotplug moves.
 */
struct held {
	void **p;
	uint32_t *tag;
	int n;
};

static struct held fill_cpu3(struct kmem_cache *s)
{
	int total = 8 * (int)s->num;
	void **all = calloc((size_t)total, sizeof(void *));
	struct held h = { calloc((size_t)total, sizeof(void *)), calloc((size_t)total, 4), 0 };

	ck_assert_uint_ge(s->num, 4);
	act_as(3);
	for (int i = 0; i < total; i++) {
		all[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
		ck_assert_ptr_nonnull(all[i]);
		ck_assert_int_eq(uslab_obj_node(all[i]), 1);
	}
	for (int i = 0; i < total; i++) {
		if (slab_index(s, all[i]) % 2 == 0) {
			free_checked(s, all[i], tag_of(i));
		} else {
			h.p[h.n] = all[i];
			h.tag[h.n++] = tag_of(i);
		}
	}
	flush_quarantine(s);
	free(all);
	return h;
}

static void free_held(struct kmem_cache *s, struct held *h)
{
	for (int i = 0; i < h->n; i++)
		free_checked(s, h->p[i], h->tag[i]);
	free(h->p);
	free(h->tag);
	h->n = 0;
}

START_TEST(test_cpu_down_drains_array_and_lowers_free_limit)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-down", 64);
	struct held h = fill_cpu3(s);
	struct uslab_cache_info b = info_node(s, 1), a;
	unsigned int batch = b.batchcount;

	/* Preconditions: CPU 3's array and node 1's shared array hold objects, no free slab. */
	ck_assert_uint_gt(b.cpu_avail, 0);
	ck_assert_uint_gt(b.shared_avail, 0);
	ck_assert_uint_eq(b.free_slabs, 0);
	ck_assert_uint_eq(b.cpu_avail, s->cpu_slot[3].ac.avail);
	ck_assert_uint_eq(b.free_limit, expected_free_limit(s, 1));
	ck_assert_int_eq(live(s), h.n);

	act_as(0);
	ck_assert_int_eq(cpu_down(3), 0);
	ck_assert(!cpu_online(3));
	ck_assert_uint_eq(num_online_cpus(), 7);
	a = info_node(s, 1);
	ck_assert_uint_eq(a.cpu_avail, 0);
	ck_assert_uint_eq(a.free_objects, b.free_objects + b.cpu_avail);
	ck_assert_uint_eq(a.active_objs, b.active_objs - b.cpu_avail);
	ck_assert_uint_eq(a.shared_avail, b.shared_avail); /* CPU 2 still uses it */
	ck_assert_uint_eq(a.free_limit, b.free_limit - batch);
	ck_assert_ptr_null(s->cpu_slot[3].ac.entry); /* the CPU has no array */
	ck_assert_ptr_null(cpu_cold(s, 3)->alien);
	ck_assert_int_eq(live(s), h.n);
	VALIDATE(s);

	free_held(s, &h);
	ck_assert_int_eq(live(s), 0);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_last_cpu_of_node_frees_shared_array)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-last", 64);
	struct held h = fill_cpu3(s);
	struct uslab_cache_info b, a;

	act_as(0);
	ck_assert_int_eq(cpu_down(3), 0);
	b = info_node(s, 1);
	ck_assert_uint_gt(b.shared_avail, 0);
	ck_assert_ptr_nonnull(s->node[1]->shared);

	ck_assert_int_eq(cpu_down(2), 0);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(1), 0);
	a = info_node(s, 1);
	ck_assert_uint_eq(a.shared_avail, 0);
	ck_assert_ptr_null(s->node[1]->shared);
	ck_assert_uint_eq(a.free_objects, b.free_objects + b.shared_avail);
	ck_assert_uint_eq(a.free_limit, b.free_limit - b.batchcount);
	ck_assert_uint_eq(a.free_limit, (unsigned long)s->batchcount + s->num);
	/* Other nodes keep theirs. */
	ck_assert_ptr_nonnull(s->node[0]->shared);
	ck_assert_int_eq(live(s), h.n);
	VALIDATE(s);

	free_held(s, &h);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_thread_on_dead_cpu_uses_node_lists)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-deadthread", 64);
	struct held h = fill_cpu3(s);
	struct uslab_cache_info b, a;
	void *p[100];

	act_as(0);
	ck_assert_int_eq(cpu_down(3), 0);
	ck_assert_int_eq(cpu_down(2), 0);

	/* Still acting as the dead CPU 3: frees go straight to node 1. */
	act_as(3);
	b = info_all(s);
	unsigned long held = (unsigned long)h.n;
	ck_assert_uint_eq(b.active_objs, held); /* no array holds anything on node 1 now */
	free_held(s, &h);
	flush_quarantine(s);
	a = info_all(s);
	ck_assert_uint_eq(a.node_frees, b.node_frees + held);
	ck_assert_uint_eq(a.active_objs, 0);
	ck_assert_uint_eq(a.free_hits, b.free_hits);
	ck_assert_uint_eq(a.cpu_avail, 0);
	ck_assert_int_eq(live(s), 0);

	/* Allocations work (slow path, no array), from the CPU's node, and nothing is cached. */
	b = info_all(s);
	for (int i = 0; i < 100; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_int_eq(uslab_obj_node(p[i]), 1);
	}
	a = info_all(s);
	ck_assert_uint_eq(a.alloc_hits, b.alloc_hits);
	ck_assert_uint_eq(a.alloc_misses, b.alloc_misses);
	ck_assert_uint_eq(a.cpu_avail, 0);
	ck_assert_uint_eq(a.active_objs, 100);
	ck_assert_int_eq(live(s), 100);
	VALIDATE(s);
	/* Kmalloc too: every kmalloc cache lost CPU 3's arrays. */
	char *k = kmalloc(200, GFP_KERNEL);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(uslab_obj_node(k), 1);
	kfree(k);
	for (int i = 0; i < 100; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(s);
	ck_assert_int_eq(live(s), 0);
	ck_assert_uint_eq(info_all(s).active_objs, 0);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_cpu_up_recreates_arrays)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-up", 64);
	struct uslab_cache_info b, a;
	void *p, *q;

	act_as(0);
	ck_assert_int_eq(cpu_down(3), 0);
	ck_assert_int_eq(cpu_down(2), 0);
	ck_assert_ptr_null(s->node[1]->shared);

	ck_assert_int_eq(cpu_up(3), 0);
	ck_assert(cpu_online(3));
	ck_assert_uint_eq(num_online_cpus(), 7);
	ck_assert_ptr_nonnull(s->cpu_slot[3].ac.entry);
	ck_assert_int_eq(s->cpu_slot[3].ac.nid, 1);
	ck_assert_ptr_nonnull(s->node[1]->shared);
	ck_assert_ptr_null(s->cpu_slot[2].ac.entry); /* the CPU has no array */

	act_as(3);
	b = info_all(s);
	p = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, 1); /* refills the new array */
	q = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, 2); /* served by it */
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	a = info_all(s);
	ck_assert_uint_eq(a.alloc_misses, b.alloc_misses + 1);
	ck_assert_uint_ge(a.alloc_hits, b.alloc_hits + 1);
	ck_assert_uint_gt(info_node(s, 1).cpu_avail, 0);
	/* And frees land in it again. */
	b = info_all(s);
	free_checked(s, p, 1);
	free_checked(s, q, 2);
	flush_quarantine(s);
	a = info_all(s);
	ck_assert_uint_eq(a.free_hits, b.free_hits + 2);
	ck_assert_int_eq(live(s), 0);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* mm/slab.c cpuup_prepare -> init_cache_node: free_limit follows the node's CPUs back up. */
START_TEST(test_cpu_up_restores_free_limit)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-limit", 64);
	unsigned long full = info_node(s, 1).free_limit;

	ck_assert_uint_eq(full, expected_free_limit(s, 1));
	ck_assert_int_eq(cpu_down(3), 0);
	ck_assert_uint_eq(info_node(s, 1).free_limit, full - s->batchcount);
	ck_assert_int_eq(cpu_up(3), 0);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(1), 2);
	ck_assert_uint_eq(info_node(s, 1).free_limit, full);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* Many threads acting as CPUs that go down and up under them: nothing is lost. */
struct cpu_worker {
	struct kmem_cache *s;
	int cpu;
	volatile int *stop;
	unsigned long ops;      /* atomic: progress */
	unsigned long bad;
};

static void *cpu_worker_main(void *arg)
{
	struct cpu_worker *w = arg;
	enum { RING = 64 };
	void *ring[RING] = { 0 };
	uint32_t tags[RING] = { 0 };
	unsigned int seed = (unsigned int)w->cpu * 7919u + 1;

	uslab_thread_set_cpu(w->cpu);
	while (!__atomic_load_n(w->stop, __ATOMIC_ACQUIRE)) {
		int i = rand_r(&seed) % RING;

		if (ring[i]) {
			if (!pattern_check(ring[i], tags[i], kmem_cache_size(w->s)))
				w->bad++;
			kmem_cache_free(w->s, ring[i]);
			ring[i] = NULL;
		} else {
			tags[i] = (uint32_t)rand_r(&seed);
			ring[i] = alloc_filled(w->s, GFP_KERNEL, NUMA_NO_NODE, tags[i]);
			if (!ring[i])
				w->bad++;
		}
		__atomic_add_fetch(&w->ops, 1, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < RING; i++) {
		if (!ring[i])
			continue;
		if (!pattern_check(ring[i], tags[i], kmem_cache_size(w->s)))
			w->bad++;
		kmem_cache_free(w->s, ring[i]);
	}
	return NULL;
}

START_TEST(test_threads_on_cpus_going_down_and_up)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-threads", 96);
	volatile int stop = 0;
	struct cpu_worker w[4];
	pthread_t t[4];
	struct uslab_hotplug_stats st0, st1;
	const int rounds = 150;

	ck_assert_int_eq(uslab_hotplug_stats(&st0), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct cpu_worker){ .s = s, .cpu = 2 + i, .stop = &stop };
		ck_assert_int_eq(pthread_create(&t[i], NULL, cpu_worker_main, &w[i]), 0);
	}
	act_as(0);
	for (int r = 0; r < rounds; r++) {
		unsigned long seen[4];

		for (int i = 0; i < 4; i++)
			seen[i] = __atomic_load_n(&w[i].ops, __ATOMIC_ACQUIRE);
		/* CPUs 2..5: nodes 1 and 2 lose and regain all their CPUs. */
		for (int c = 2; c <= 5; c++)
			ck_assert_int_eq(cpu_down((unsigned int)c), 0);
		ck_assert_uint_eq(num_online_cpus(), 4);
		/* Let every worker run some operations on its dead CPU. */
		for (int i = 0; i < 4; i++)
			WAIT_UNTIL(__atomic_load_n(&w[i].ops, __ATOMIC_ACQUIRE) > seen[i] + 20);
		for (int c = 5; c >= 2; c--)
			ck_assert_int_eq(cpu_up((unsigned int)c), 0);
		ck_assert_uint_eq(num_online_cpus(), 8);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_uint_eq(w[i].bad, 0);
	}
	ck_assert_int_eq(uslab_hotplug_stats(&st1), 0);
	ck_assert_uint_eq(st1.cpu_down - st0.cpu_down, 4ul * rounds);
	ck_assert_uint_eq(st1.cpu_up - st0.cpu_up, 4ul * rounds);
	ck_assert_int_eq(live(s), 0);
	VALIDATE(s);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_eq(info_all(s).active_objs, 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ---- cpu_up failure --------------------------------------------------------------- */

static int fail_cpu = -1;
static int fail_err = -EIO;
static int fail_startups, fail_teardowns;

static int failing_startup(unsigned int cpu)
{
	if ((int)cpu == fail_cpu) {
		fail_startups++;
		return fail_err;
	}
	return 0;
}

static int failing_teardown(unsigned int cpu)
{
	(void)cpu;
	fail_teardowns++;
	return 0;
}

START_TEST(test_cpu_up_failure_tears_slab_arrays_down)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-fail", 64);
	struct uslab_hotplug_stats st0, st1;
	struct uslab_cache_info b, a;
	void *p[50];
	int handle;

	act_as(0);
	ck_assert_int_eq(cpu_down(4), 0);
	ck_assert_int_eq(cpu_down(5), 0);
	ck_assert_ptr_null(s->node[2]->shared);
	/* Registered after slab's PREPARE callback: it runs after slab built CPU 5's arrays. */
	handle = cpuhp_setup_state(CPUHP_BP_PREPARE_DYN, "test:fail", failing_startup,
				   failing_teardown);
	ck_assert_int_ge(handle, 0);
	fail_cpu = 5;

	ck_assert_int_eq(uslab_hotplug_stats(&st0), 0);
	ck_assert_int_eq(cpu_up(5), -EIO);
	ck_assert_int_eq(uslab_hotplug_stats(&st1), 0);
	ck_assert_int_eq(fail_startups, 1);
	ck_assert_int_eq(fail_teardowns, 0); /* the failing state itself is not torn down */
	ck_assert(!cpu_online(5));
	ck_assert_uint_eq(num_online_cpus(), 6);
	ck_assert_uint_eq(st1.cpu_failed, st0.cpu_failed + 1);
	ck_assert_uint_eq(st1.cpu_up, st0.cpu_up);
	/* Slab's arrays for CPU 5 were torn down again, and node 2's shared array. */
	ck_assert_ptr_null(s->cpu_slot[5].ac.entry); /* the CPU has no array */
	ck_assert_ptr_null(cpu_cold(s, 5)->alien);
	ck_assert_ptr_null(s->node[2]->shared);
	ck_assert_uint_eq(info_node(s, 2).free_limit, (unsigned long)s->batchcount + s->num);
	VALIDATE(s);

	/* A thread acting as CPU 5 takes the slow path. */
	act_as(5);
	b = info_all(s);
	for (int i = 0; i < 50; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_int_eq(uslab_obj_node(p[i]), 2);
	}
	for (int i = 0; i < 50; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(s);
	a = info_all(s);
	ck_assert_uint_eq(a.alloc_hits, b.alloc_hits);
	ck_assert_uint_eq(a.free_hits, b.free_hits);
	ck_assert_uint_eq(a.node_frees, b.node_frees + 50);
	ck_assert_uint_eq(a.cpu_avail, 0);
	ck_assert_int_eq(live(s), 0);
	VALIDATE(s);

	/* Without the failure the CPU comes up with its arrays. */
	fail_cpu = -1;
	act_as(0);
	ck_assert_int_eq(cpu_up(5), 0);
	ck_assert(cpu_online(5));
	ck_assert_ptr_nonnull(s->cpu_slot[5].ac.entry);
	ck_assert_ptr_nonnull(s->node[2]->shared);
	act_as(5);
	b = info_all(s);
	p[0] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, 1);
	p[1] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, 2);
	a = info_all(s);
	ck_assert_uint_ge(a.alloc_hits, b.alloc_hits + 1);
	free_checked(s, p[0], 1);
	free_checked(s, p[1], 2);
	cpuhp_remove_state(handle);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ---- memory nodes ------------------------------------------------------------------ */

START_TEST(test_node_offline_vetoed_while_objects_live)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-veto", 128);
	struct uslab_hotplug_stats st0, st1;
	enum { N = 300 };
	void *p[N];
	long before;

	/* Objects on node 3 from a CPU of node 0, some freed into CPU 6's array (node 3). */
	act_as(0);
	for (int i = 0; i < N; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL | __GFP_THISNODE, 3, tag_of(i));
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_int_eq(uslab_obj_node(p[i]), 3);
	}
	act_as(6);
	for (int i = 0; i < N / 3; i++) {
		free_checked(s, p[i], tag_of(i));
		p[i] = NULL;
	}
	flush_quarantine(s);
	ck_assert_uint_gt(info_node(s, 3).cpu_avail, 0);
	before = live(s);
	ck_assert_int_eq(before, N - N / 3);

	act_as(0);
	ck_assert_int_eq(uslab_hotplug_stats(&st0), 0);
	ck_assert_int_eq(mem_node_offline(3), -EBUSY);
	ck_assert_int_eq(uslab_hotplug_stats(&st1), 0);
	ck_assert(node_online(3));
	ck_assert_uint_eq(num_online_nodes(), 4);
	ck_assert_uint_eq(st1.node_vetoed, st0.node_vetoed + 1);
	ck_assert_uint_eq(st1.node_offline, st0.node_offline);
	/* Nothing lost or changed: objects readable, counts as they were. */
	ck_assert_int_eq(live(s), before);
	for (int i = N / 3; i < N; i++)
		ck_assert(pattern_check(p[i], tag_of(i), 128));
	VALIDATE(s);
	/* The isolation was lifted: node 3 serves allocations again. */
	void *x = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_THISNODE, 3);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(uslab_obj_node(x), 3);
	act_as(7);
	void *y = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_nonnull(y);
	ck_assert_int_eq(uslab_obj_node(y), 3);
	kmem_cache_free(s, x);
	kmem_cache_free(s, y);

	for (int i = N / 3; i < N; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(NULL);
	ck_assert_int_eq(live(s), 0);
	act_as(0);
	ck_assert_int_eq(mem_node_offline(3), 0);
	ck_assert(!node_online(3));
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_node_offline_then_online)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-offline", 128);
	struct uslab_hotplug_stats st0, st1;
	enum { N = 400 };
	void *p[N];

	act_as(6);
	for (int i = 0; i < N; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
		ck_assert_int_eq(uslab_obj_node(p[i]), 3);
	}
	for (int i = 0; i < N; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(NULL);
	ck_assert_uint_gt(info_node(s, 3).num_slabs, 0);

	act_as(0);
	ck_assert_int_eq(uslab_hotplug_stats(&st0), 0);
	ck_assert_int_eq(mem_node_offline(3), 0);
	ck_assert_int_eq(uslab_hotplug_stats(&st1), 0);
	ck_assert(!node_online(3));
	ck_assert_uint_eq(num_online_nodes(), 3);
	ck_assert_uint_eq(st1.node_offline, st0.node_offline + 1);
	/* The node's CPUs stay online; its free slabs and cached objects are gone. */
	ck_assert(cpu_online(6) && cpu_online(7));
	struct uslab_cache_info i3 = info_node(s, 3);
	ck_assert_uint_eq(i3.num_slabs, 0);
	ck_assert_uint_eq(i3.cpu_avail + i3.shared_avail + i3.alien_avail, 0);
	VALIDATE(s);

	/* Asked for node 3: falls back; with __GFP_THISNODE: fails. */
	for (int i = 0; i < N; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL, 3, tag_of(i));
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_int_ne(uslab_obj_node(p[i]), 3);
		ck_assert(node_online(uslab_obj_node(p[i])));
	}
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_THISNODE, 3));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmalloc_node(64, GFP_KERNEL | __GFP_THISNODE, 3));
	ck_assert_int_eq(errno, ENOMEM);
	for (int i = 0; i < N; i++)
		free_checked(s, p[i], tag_of(i));

	/* Threads on CPUs of node 3 take memory from the nearest online node, through arrays. */
	for (int cpu = 6; cpu <= 7; cpu++) {
		act_as(cpu);
		struct uslab_cache_info b = info_all(s);
		for (int i = 0; i < N; i++) {
			p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
			ck_assert_ptr_nonnull(p[i]);
			int nid = uslab_obj_node(p[i]);
			ck_assert_int_ne(nid, 3);
			ck_assert_int_eq(node_distance(3, nid), nearest_online_distance(3));
		}
		ck_assert_uint_gt(info_all(s).alloc_hits, b.alloc_hits);
		char *k = kmalloc(100, GFP_KERNEL);
		ck_assert_ptr_nonnull(k);
		ck_assert_int_ne(uslab_obj_node(k), 3);
		kfree(k);
		for (int i = 0; i < N; i++)
			free_checked(s, p[i], tag_of(i));
		flush_quarantine(s);
		ck_assert_uint_eq(info_node(s, 3).num_slabs, 0);
		VALIDATE(s);
	}

	/* Back online: allocations land there again. */
	act_as(0);
	ck_assert_int_eq(mem_node_online(3), 0);
	ck_assert(node_online(3));
	ck_assert_uint_eq(num_online_nodes(), 4);
	act_as(6);
	for (int i = 0; i < N; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
		ck_assert_int_eq(uslab_obj_node(p[i]), 3);
	}
	act_as(0);
	void *x = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_THISNODE, 3);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(uslab_obj_node(x), 3);
	kmem_cache_free(s, x);
	for (int i = 0; i < N; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(s);
	ck_assert_int_eq(live(s), 0);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* A CPU coming up while its memory node is offline gets arrays on the nearest node. */
START_TEST(test_cpu_up_on_memoryless_node)
{
	machine();
	struct kmem_cache *s = mk_cache("hp-memless", 64);
	void *p[100];

	act_as(0);
	ck_assert_int_eq(cpu_down(6), 0);
	ck_assert_int_eq(mem_node_offline(3), 0);
	ck_assert_int_eq(cpu_up(6), 0);
	ck_assert_ptr_nonnull(s->cpu_slot[6].ac.entry);
	ck_assert_int_ne(s->cpu_slot[6].ac.nid, 3);
	ck_assert(node_online(s->cpu_slot[6].ac.nid));

	act_as(6);
	for (int i = 0; i < 100; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_int_eq(node_distance(3, uslab_obj_node(p[i])), nearest_online_distance(3));
	}
	for (int i = 0; i < 100; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(s);
	ck_assert_uint_gt(info_all(s).cpu_avail, 0);
	VALIDATE(s);

	/* Node back: CPU 6's array moves home, emptied of the other node's objects. */
	act_as(0);
	ck_assert_int_eq(mem_node_online(3), 0);
	ck_assert_int_eq(s->cpu_slot[6].ac.nid, 3);
	VALIDATE(s);
	act_as(6);
	p[0] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_int_eq(uslab_obj_node(p[0]), 3);
	kmem_cache_free(s, p[0]);
	flush_quarantine(s);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/*
 * A cache created while node 3 is offline has no node-3 structure; when the
 * node comes back (its CPUs online) the node's free_limit should count them,
 * as the kernel's init_cache_node() does on MEM_GOING_ONLINE.
 */
START_TEST(test_cache_created_while_node_offline)
{
	machine();
	struct kmem_cache *s;
	void *p[64];

	act_as(0);
	ck_assert_int_eq(mem_node_offline(3), 0);
	s = mk_cache("hp-born-offline", 64);
	ck_assert_ptr_null(s->node[3]);
	act_as(6);
	for (int i = 0; i < 64; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
		ck_assert_int_ne(uslab_obj_node(p[i]), 3);
	}
	for (int i = 0; i < 64; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(s);
	VALIDATE(s);

	act_as(0);
	ck_assert_int_eq(mem_node_online(3), 0);
	ck_assert_ptr_nonnull(s->node[3]);
	act_as(6);
	for (int i = 0; i < 64; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
		ck_assert_int_eq(uslab_obj_node(p[i]), 3);
	}
	/* Frees of node-3 objects by a CPU of another node (alien path) too. */
	act_as(0);
	for (int i = 0; i < 64; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(s);
	ck_assert_int_eq(live(s), 0);
	VALIDATE(s);
	ck_assert_uint_eq(info_node(s, 3).free_limit, expected_free_limit(s, 3));
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/*
 * The moment between "node marked online" and slab's MEM_ONLINE work: a
 * notifier of higher priority than slab's runs exactly there, as a thread
 * acting as CPU 6 (node 3, still pointed at another node) would, and
 * allocates a node-3 object of a cache created while the node was offline,
 * then frees it. The free must not crash and nothing may be lost.
 */
static struct kmem_cache *window_cache;
static int window_node = -2;

static int window_notifier(struct notifier_block *nb, unsigned long action, void *data)
{
	int nid = ((struct memory_notify *)data)->status_change_nid;

	(void)nb;
	if (action == MEM_ONLINE && nid == 3) {
		void *p = kmem_cache_alloc_node(window_cache, GFP_KERNEL, 3);

		window_node = p ? uslab_obj_node(p) : -1;
		kmem_cache_free(window_cache, p);
		flush_quarantine(window_cache); /* ASan: the free really happens here, on CPU 6 */
	}
	return NOTIFY_OK;
}

static struct notifier_block window_nb = { .notifier_call = window_notifier, .priority = 200 };

START_TEST(test_free_of_home_object_before_mem_online_callback)
{
	machine();
	act_as(0);
	ck_assert_int_eq(mem_node_offline(3), 0);
	window_cache = mk_cache("hp-window", 64);
	ck_assert_int_eq(register_memory_notifier(&window_nb), 0);
	act_as(6);
	ck_assert_int_eq(mem_node_online(3), 0);
	ck_assert_int_ge(window_node, 0);
	unregister_memory_notifier(&window_nb);
	flush_quarantine(window_cache);
	ck_assert_int_eq(live(window_cache), 0);
	VALIDATE(window_cache);
	ck_assert_int_eq(uslab_cache_destroy(window_cache), 0);
}
END_TEST

/* ---- management calls racing with hotplug ----------------------------------------- */

struct hp_driver {
	volatile int *stop;
	unsigned long cpu_transitions, node_transitions, vetoed;
	unsigned int seed;
};

static void *hp_driver_main(void *arg)
{
	struct hp_driver *d = arg;

	while (!__atomic_load_n(d->stop, __ATOMIC_ACQUIRE)) {
		int r = rand_r(&d->seed) % 10;

		if (r < 8) {
			unsigned int cpu = 1 + (unsigned int)rand_r(&d->seed) % 7; /* keep CPU 0 */
			int err = cpu_online((int)cpu) ? cpu_down(cpu) : cpu_up(cpu);

			if (err == 0)
				d->cpu_transitions++;
		} else {
			int nid = 1 + rand_r(&d->seed) % 3; /* keep node 0 */
			int err = node_online(nid) ? mem_node_offline(nid) : mem_node_online(nid);

			if (err == 0)
				d->node_transitions++;
			else if (err == -EBUSY)
				d->vetoed++;
		}
		sched_yield(); /* pacing only */
	}
	return NULL;
}

struct mgmt_worker {
	int id;
	int iterations;
	unsigned long bad;
	struct kmem_cache *keep;   /* last cache, kept for validation at the end */
};

static void *mgmt_worker_main(void *arg)
{
	struct mgmt_worker *w = arg;
	unsigned int seed = 17u + (unsigned int)w->id;
	enum { NOBJ = 40 };
	void *p[NOBJ];
	char name[32];

	for (int it = 0; it < w->iterations; it++) {
		unsigned int size = 16u << (rand_r(&seed) % 8); /* 16 .. 2048 */
		struct kmem_cache *s;

		snprintf(name, sizeof(name), "hp-mgmt-%d-%d", w->id, it);
		uslab_thread_set_cpu(rand_r(&seed) % 8);
		s = kmem_cache_create(name, size, 0, 0, NULL);
		if (!s) {
			w->bad++;
			continue;
		}
		for (int i = 0; i < NOBJ; i++) {
			p[i] = alloc_filled(s, GFP_KERNEL, i % 5 == 0 ? i % 4 : NUMA_NO_NODE,
					    tag_of(i));
			if (!p[i])
				w->bad++;
		}
		if (uslab_cache_tune(s, 1 + rand_r(&seed) % 200, 1, rand_r(&seed) % 9) != 0)
			w->bad++;
		uslab_thread_set_cpu(rand_r(&seed) % 8);
		for (int i = 0; i < NOBJ; i += 2) {
			if (p[i] && !pattern_check(p[i], tag_of(i), size))
				w->bad++;
			kmem_cache_free(s, p[i]);
		}
		if (kmem_cache_shrink(s) != 1) /* odd objects are still allocated */
			w->bad++;
		uslab_thread_set_cpu(rand_r(&seed) % 8);
		for (int i = 1; i < NOBJ; i += 2) {
			if (p[i] && !pattern_check(p[i], tag_of(i), size))
				w->bad++;
			kmem_cache_free(s, p[i]);
		}
		if (kmem_cache_shrink(s) != 0)
			w->bad++;
		if (it == w->iterations - 1) {
			w->keep = s;
			break;
		}
		if (uslab_cache_destroy(s) != 0)
			w->bad++;
	}
	return NULL;
}

START_TEST(test_management_while_cpus_and_nodes_change)
{
	machine();
	volatile int stop = 0;
	struct hp_driver d = { .stop = &stop, .seed = 4242 };
	struct mgmt_worker w[3];
	pthread_t hp, t[3];

	ck_assert_int_eq(pthread_create(&hp, NULL, hp_driver_main, &d), 0);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct mgmt_worker){ .id = i, .iterations = 150 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, mgmt_worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(hp, NULL), 0);
	fprintf(stderr, "%s: %lu CPU and %lu node transitions, %lu vetoed\n", __func__,
		d.cpu_transitions, d.node_transitions, d.vetoed);
	ck_assert_uint_gt(d.cpu_transitions, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(w[i].bad, 0);
		ck_assert_ptr_nonnull(w[i].keep);
		VALIDATE(w[i].keep);
	}
	act_as(0);
	all_online();
	for (int i = 0; i < 3; i++) {
		VALIDATE(w[i].keep);
		ck_assert_int_eq(live(w[i].keep), 0);
		ck_assert_int_eq(uslab_cache_destroy(w[i].keep), 0);
	}
}
END_TEST

/* ---- the real machine: rseq and locked per-CPU modes ----------------------------- */

static int pin_to_os_cpu(int os_cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(os_cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Two OS CPUs this process may run on, or -1. */
static void two_os_cpus(int *a, int *b)
{
	cpu_set_t set;

	*a = *b = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (*a < 0)
			*a = c;
		else if (*b < 0)
			*b = c;
	}
}

static bool real_machine(int mode, int *c0, int *c1, int *os0, int *os1)
{
	two_os_cpus(os0, os1);
	if (*os1 < 0) {
		fprintf(stderr, "skipped: needs two CPUs\n");
		return false;
	}
	if (mode == 1)
		setenv("USLAB_RSEQ", "0", 1); /* mode 0 keeps the environment's choice */
	ck_assert_int_eq(uslab_init(&(struct uslab_config){ .nomerge = true }), 0);
	ck_assert(!uslab_topology_is_synthetic());
	if (mode == 1)
		ck_assert(!slab_rseq_mode);
	ck_assert_int_eq(pin_to_os_cpu(*os0), 0);
	*c0 = smp_processor_id();
	ck_assert_int_eq(pin_to_os_cpu(*os1), 0);
	*c1 = smp_processor_id();
	ck_assert_int_ne(*c0, *c1);
	fprintf(stderr, "real machine, %s mode, CPUs %d and %d\n",
		slab_rseq_mode ? "rseq" : "locked", *c0, *c1);
	return true;
}

/* The calling thread runs on @cpu, which goes down under it and comes back. */
START_TEST(test_real_cpu_down_under_running_thread)
{
	int c0, c1, os0, os1;

	if (!real_machine(_i, &c0, &c1, &os0, &os1))
		return;
	struct kmem_cache *s = mk_cache("hp-real", 64);
	struct uslab_cache_info b, a;
	void *p[200];

	/* Warm the array of c1: the second allocation is a hit. */
	for (int i = 0; i < 200; i++)
		p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
	for (int i = 0; i < 200; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(s);
	ck_assert_uint_gt(info_all(s).cpu_avail, 0);

	ck_assert_int_eq(cpu_down((unsigned int)c1), 0); /* from c1 itself */
	ck_assert(!cpu_online(c1));
	ck_assert_int_eq(smp_processor_id(), c1);
	ck_assert_ptr_null(s->cpu_slot[c1].ac.entry); /* the CPU has no array */
	b = info_all(s);
	ck_assert_uint_eq(b.cpu_avail, 0); /* c0's array was never used */
	for (int i = 0; i < 200; i++) {
		p[i] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, tag_of(i));
		ck_assert_ptr_nonnull(p[i]);
	}
	for (int i = 0; i < 200; i++)
		free_checked(s, p[i], tag_of(i));
	flush_quarantine(s);
	a = info_all(s);
	ck_assert_uint_eq(a.alloc_hits, b.alloc_hits);
	ck_assert_uint_eq(a.free_hits, b.free_hits);
	ck_assert_uint_eq(a.node_frees, b.node_frees + 200);
	ck_assert_uint_eq(a.cpu_avail, 0);
	ck_assert_int_eq(live(s), 0);
	VALIDATE(s);

	ck_assert_int_eq(cpu_up((unsigned int)c1), 0);
	ck_assert_ptr_nonnull(s->cpu_slot[c1].ac.entry);
	b = info_all(s);
	p[0] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, 1);
	p[1] = alloc_filled(s, GFP_KERNEL, NUMA_NO_NODE, 2);
	a = info_all(s);
	ck_assert_uint_ge(a.alloc_hits, b.alloc_hits + 1);
	free_checked(s, p[0], 1);
	free_checked(s, p[1], 2);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

struct real_worker {
	struct kmem_cache *s;
	int os_cpu;
	volatile int stop;
	unsigned long ops, bad;
};

static void *real_worker_main(void *arg)
{
	struct real_worker *w = arg;
	enum { RING = 128 };
	void *ring[RING] = { 0 };
	uint32_t tags[RING] = { 0 };
	unsigned int seed = 99;

	if (pin_to_os_cpu(w->os_cpu))
		w->bad++;
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		int i = rand_r(&seed) % RING;

		if (ring[i]) {
			if (!pattern_check(ring[i], tags[i], 64))
				w->bad++;
			kmem_cache_free(w->s, ring[i]);
			ring[i] = NULL;
		} else {
			tags[i] = (uint32_t)rand_r(&seed);
			ring[i] = alloc_filled(w->s, GFP_KERNEL, NUMA_NO_NODE, tags[i]);
			if (!ring[i])
				w->bad++;
		}
		__atomic_add_fetch(&w->ops, 1, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < RING; i++) {
		if (ring[i] && !pattern_check(ring[i], tags[i], 64))
			w->bad++;
		kmem_cache_free(w->s, ring[i]);
	}
	return NULL;
}

/* A thread hammers the fast path on c1 while c0 takes c1 down and up (membarrier fences in rseq mode). */
START_TEST(test_real_cpu_toggled_under_busy_thread)
{
	int c0, c1, os0, os1;

	if (!real_machine(_i, &c0, &c1, &os0, &os1))
		return;
	struct kmem_cache *s = mk_cache("hp-real-busy", 64);
	struct real_worker w = { .s = s, .os_cpu = os1 };
	pthread_t t;

	ck_assert_int_eq(pin_to_os_cpu(os0), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, real_worker_main, &w), 0);
	for (int r = 0; r < 200; r++) {
		unsigned long seen = __atomic_load_n(&w.ops, __ATOMIC_ACQUIRE);

		ck_assert_int_eq(cpu_down((unsigned int)c1), 0);
		WAIT_UNTIL(__atomic_load_n(&w.ops, __ATOMIC_ACQUIRE) > seen + 50);
		seen = __atomic_load_n(&w.ops, __ATOMIC_ACQUIRE);
		ck_assert_int_eq(cpu_up((unsigned int)c1), 0);
		WAIT_UNTIL(__atomic_load_n(&w.ops, __ATOMIC_ACQUIRE) > seen + 50);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_eq(w.bad, 0);
	flush_quarantine(s);
	ck_assert_int_eq(live(s), 0);
	VALIDATE(s);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ---- suite ---------------------------------------------------------------------- */

static Suite *slab_hotplug_suite(void)
{
	Suite *s = suite_create("slab-hotplug");
	TCase *tc;

	tc = tcase_create("cpu");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_cpu_down_drains_array_and_lowers_free_limit);
	tcase_add_test(tc, test_last_cpu_of_node_frees_shared_array);
	tcase_add_test(tc, test_thread_on_dead_cpu_uses_node_lists);
	tcase_add_test(tc, test_cpu_up_recreates_arrays);
	tcase_add_test(tc, test_cpu_up_restores_free_limit);
	tcase_add_test(tc, test_threads_on_cpus_going_down_and_up);
	tcase_add_test(tc, test_cpu_up_failure_tears_slab_arrays_down);
	suite_add_tcase(s, tc);

	tc = tcase_create("node");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_node_offline_vetoed_while_objects_live);
	tcase_add_test(tc, test_node_offline_then_online);
	tcase_add_test(tc, test_cpu_up_on_memoryless_node);
	tcase_add_test(tc, test_cache_created_while_node_offline);
	tcase_add_test(tc, test_free_of_home_object_before_mem_online_callback);
	suite_add_tcase(s, tc);

	tc = tcase_create("management");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_management_while_cpus_and_nodes_change);
	suite_add_tcase(s, tc);

	tc = tcase_create("real");
	tcase_set_timeout(tc, 120);
	/* _i == 0: the default (rseq where available); _i == 1: USLAB_RSEQ=0 (locked mode). */
	tcase_add_loop_test(tc, test_real_cpu_down_under_running_thread, 0, 2);
	tcase_add_loop_test(tc, test_real_cpu_toggled_under_busy_thread, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(slab_hotplug_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
