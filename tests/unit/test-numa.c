// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-numa.c - the allocator on machines with several NUMA nodes.
 * On emulated machines of 1, 2, 4 and 8 nodes (hwloc synthetic strings) and
 * on tests/data/numa4-asym.xml (asymmetric SLIT distances) it checks that
 * kmem_cache_alloc_node() and kmalloc_node() give memory of the node asked
 * for, at every object size class (on-slab, off-slab, multi-page slabs,
 * kmalloc_large); that a thread acting as a CPU of node k gets node-k
 * objects; that frees of another node's objects go home through the per-CPU
 * alien arrays (ALIEN_LIMIT entries, drained whole when full, drained round
 * robin by the reaper, bypassed with noaliencache, absent on one node); that
 * allocation falls back to the nearest node by node_distance() when a node
 * cannot give pages (topology's page fail hook), unless __GFP_THISNODE; that
 * bad node ids are EINVAL; that the real machine places objects on the OS
 * node uslab_obj_node() names (get_mempolicy); and that slabinfo totals are
 * the sums of the per-node uslab_cache_info() snapshots.
 *
 * check runs each test in a forked child (forced in main()), so each test
 * picks its machine with uslab_init() first. Threads act as a CPU with
 * uslab_thread_set_cpu(). Tests include lib/slab.h to look at the per-CPU
 * alien arrays and the node lists directly, and end every scenario with
 * uslab_cache_validate() on a quiescent cache. Under ASan, frees wait in a
 * quarantine; settle() releases them through the calling thread's CPU so
 * that counts are exact there too.
 */
#include "lib/slab.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <numaif.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/testutil.h"

/* ---- machines ---------------------------------------------------------------------- */

static const struct {
	const char *spec;
	unsigned int nodes;
} machines[] = {
	{ "node:1 core:2 pu:1", 1 },
	{ "node:2 core:2 pu:1", 2 },
	{ "node:4 core:2 pu:1", 4 },
	{ "node:8 core:2 pu:1", 8 },
};
#define SPEC_4NODES "node:4 core:2 pu:1"
#define CPUS_PER_NODE 2

static void init_machine(const char *topology, bool noalien)
{
	struct uslab_config cfg = { .topology = topology, .nomerge = true, .noaliencache = noalien };

	ck_assert_int_eq(uslab_init(&cfg), 0);
}

/* Path of a file of tests/data, from $top_srcdir (make check) or this source's place. */
static const char *data_path(const char *name)
{
	static char path[4096];
	const char *top = getenv("top_srcdir");

	if (top) {
		snprintf(path, sizeof(path), "%s/tests/data/%s", top, name);
		if (access(path, R_OK) == 0)
			return path;
	}
	snprintf(path, sizeof(path), "%s", __FILE__);
	char *slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, sizeof(path) - (size_t)(slash ? slash + 1 - path : 0),
		 "../data/%s", name);
	ck_assert_msg(access(path, R_OK) == 0,
		      "%s not found: run from the source tree or set top_srcdir", path);
	return path;
}

static void set_cpu(int cpu)
{
	ck_assert_int_eq(uslab_thread_set_cpu(cpu), 0);
}

/* The @k-th CPU of @node. */
static int node_cpu(int node, int k)
{
	int cpu;

	for_each_cpu_of_node(cpu, node)
		if (k-- == 0)
			return cpu;
	ck_abort_msg("node %d has no CPU %d", node, k);
	return -1;
}

/* Release what the ASan quarantine holds, through the calling thread's CPU (no-op otherwise). */
static void settle(void)
{
	quarantine_flush(NULL);
}

static struct uslab_cache_info info_of(struct kmem_cache *s, int node)
{
	struct uslab_cache_info i;

	ck_assert_int_eq(uslab_cache_info(s, node, &i), 0);
	return i;
}

#define VALIDATE(s) ck_assert_int_eq(uslab_cache_validate(s), 0)

static struct kmem_cache *make_cache(const char *name, unsigned int size)
{
	struct kmem_cache *s = kmem_cache_create(name, size, 0, 0, NULL);

	ck_assert_msg(s != NULL, "kmem_cache_create(%s, %u): errno %d", name, size, errno);
	return s;
}

static void destroy_cache(struct kmem_cache *s)
{
	settle();
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}

/* The kmalloc cache serving @size-byte requests. */
static struct kmem_cache *kmalloc_cache_of(size_t size)
{
	void *p = kmalloc(size, GFP_KERNEL);
	struct kmem_cache *kc;

	ck_assert_ptr_nonnull(p);
	kc = uslab_obj_cache(p);
	ck_assert_ptr_nonnull(kc);
	kfree(p);
	return kc;
}

/* ---- invariants ------------------------------------------------------------------------ */

/* The object and slab counts of two snapshots are equal (statistics may differ). */
static void assert_counts_equal(const struct uslab_cache_info *a, const struct uslab_cache_info *b,
				int node)
{
#define SAME(f) ck_assert_msg(a->f == b->f, "node %d: " #f " %lu != %lu", node, \
			      (unsigned long)a->f, (unsigned long)b->f)
	SAME(num_objs);
	SAME(active_objs);
	SAME(num_slabs);
	SAME(active_slabs);
	SAME(full_slabs);
	SAME(partial_slabs);
	SAME(free_slabs);
	SAME(free_objects);
	SAME(shared_avail);
	SAME(cpu_avail);
	SAME(alien_avail);
#undef SAME
}

/*
 * Every count of the NUMA_NO_NODE snapshot is the sum of the per-node ones,
 * and each node's counts are consistent in themselves.
 */
static void check_node_sums(struct kmem_cache *s)
{
	struct uslab_cache_info all = info_of(s, NUMA_NO_NODE), sum;
	int node;

	memset(&sum, 0, sizeof(sum));
	for_each_node(node) {
		struct uslab_cache_info i = info_of(s, node);

		ck_assert_uint_eq(i.num_objs, i.num_slabs * i.objs_per_slab);
		ck_assert_uint_eq(i.active_objs, i.num_objs - i.free_objects);
		ck_assert_uint_eq(i.num_slabs, i.full_slabs + i.partial_slabs + i.free_slabs);
		ck_assert_uint_eq(i.active_slabs, i.num_slabs - i.free_slabs);
		ck_assert_uint_le(i.free_objects,
				  i.partial_slabs * i.objs_per_slab + i.free_slabs * i.objs_per_slab);
		/* Kernel: (1 + CPUs of the node) * batchcount + objects per slab (all CPUs online). */
		ck_assert_uint_eq(i.free_limit,
				  (1 + uslab_nr_cpus_node(node)) * i.batchcount + i.objs_per_slab);
		/* free_block keeps at most free_limit free objects while it has free slabs to give. */
		ck_assert_msg(i.free_slabs == 0 || i.free_objects <= i.free_limit,
			      "%s node %d: %lu free objects > free_limit %lu with %lu free slabs",
			      i.name, node, i.free_objects, i.free_limit, i.free_slabs);
#define ADD(f) sum.f += i.f
		ADD(num_objs);
		ADD(active_objs);
		ADD(num_slabs);
		ADD(active_slabs);
		ADD(full_slabs);
		ADD(partial_slabs);
		ADD(free_slabs);
		ADD(free_objects);
		ADD(free_limit);
		ADD(shared_avail);
		ADD(cpu_avail);
		ADD(alien_avail);
#undef ADD
	}
	assert_counts_equal(&all, &sum, NUMA_NO_NODE);
	ck_assert_uint_eq(all.free_limit, sum.free_limit);
}

/*
 * Walk the node lists and every array of @s (independently of
 * uslab_cache_validate): no slab or cached object of node A is anywhere that
 * belongs to node B. Also counts, per node, the objects held in arrays.
 */
static void check_homes(struct kmem_cache *s, unsigned long *cached_per_node)
{
	unsigned long bad = 0, cached[USLAB_MAX_NUMNODES] = { 0 };
	char first[160] = "";
	int node, cpu;

#define BAD(...) do { if (!bad++) snprintf(first, sizeof(first), __VA_ARGS__); } while (0)
	for_each_node(node) {
		struct kmem_cache_node *n = s->node[node];
		struct list_head *lists[3];
		struct slab *slab;

		if (!n) {
			BAD("node %d has no kmem_cache_node", node);
			continue;
		}
		lists[0] = &n->slabs_full;
		lists[1] = &n->slabs_partial;
		lists[2] = &n->slabs_free;
		umutex_lock(&n->list_lock);
		for (int l = 0; l < 3; l++)
			list_for_each_entry(slab, lists[l], list)
				if (slab->nid != node || uslab_obj_node(slab->s_mem) != node)
					BAD("slab %p of node %d on node %d's list", slab->pages,
					    slab->nid, node);
		if (n->shared) {
			for (unsigned int i = 0; i < n->shared->avail; i++)
				if (uslab_obj_node(n->shared->entry[i]) != node)
					BAD("object %p of node %d in node %d's shared array",
					    n->shared->entry[i], uslab_obj_node(n->shared->entry[i]),
					    node);
			cached[node] += n->shared->avail;
		}
		umutex_unlock(&n->list_lock);
	}
	for_each_possible_cpu(cpu) {
		struct cpu_cache_cold *slot = cpu_cold(s, cpu);
		struct array_cache *ac = cpu_cache_own(s, cpu);

		if (ac) {
			if (ac->nid != cpu_to_node(cpu))
				BAD("cpu %d's array is on node %d", cpu, ac->nid);
			for (unsigned int i = 0; i < ac->avail; i++)
				if (uslab_obj_node(ac->entry[i]) != ac->nid)
					BAD("object %p of node %d in cpu %d's array", ac->entry[i],
					    uslab_obj_node(ac->entry[i]), cpu);
			cached[ac->nid] += ac->avail;
		}
		for (node = 0; slot->alien && node < (int)nr_node_ids; node++) {
			struct array_cache *alien = slot->alien[node];

			if (!alien)
				continue;
			if (node == cpu_to_node(cpu))
				BAD("cpu %d has an alien array for its own node", cpu);
			for (unsigned int i = 0; i < alien->avail; i++)
				if (uslab_obj_node(alien->entry[i]) != node)
					BAD("object %p of node %d in cpu %d's alien array for node %d",
					    alien->entry[i], uslab_obj_node(alien->entry[i]), cpu,
					    node);
			cached[node] += alien->avail;
		}
		cpu_cache_release(s, cpu);
	}
#undef BAD
	ck_assert_msg(bad == 0, "%s: %lu misplaced: first: %s", uslab_cache_name(s), bad, first);
	if (cached_per_node)
		memcpy(cached_per_node, cached, sizeof(cached));
}

/*
 * With @live[n] objects of node n allocated, each node's active objects
 * (outside the lists' free space) are exactly those plus the ones cached in
 * CPU, shared and alien arrays of that node.
 */
static void check_active_is_live_plus_cached(struct kmem_cache *s, const unsigned long *live)
{
	unsigned long cached[USLAB_MAX_NUMNODES];
	int node;

	check_homes(s, cached);
	for_each_node(node) {
		struct uslab_cache_info i = info_of(s, node);

		ck_assert_uint_eq(cached[node], i.cpu_avail + i.shared_avail + i.alien_avail);
		ck_assert_msg(i.active_objs == live[node] + cached[node],
			      "%s node %d: active %lu != %lu live + %lu cached", uslab_cache_name(s),
			      node, i.active_objs, live[node], cached[node]);
	}
}

/* Shrink @s (objects still allocated: @live per node) and check nothing is cached any more. */
static void shrink_and_check(struct kmem_cache *s, const unsigned long *live)
{
	unsigned long total = 0;
	int node;

	settle();
	for_each_node(node)
		total += live[node];
	ck_assert_int_eq(kmem_cache_shrink(s), total ? 1 : 0);
	ck_assert_int_eq(uslab_cache_leaks(s, NULL), (long)total);
	for_each_node(node) {
		struct uslab_cache_info i = info_of(s, node);

		ck_assert_uint_eq(i.cpu_avail, 0);
		ck_assert_uint_eq(i.shared_avail, 0);
		ck_assert_uint_eq(i.alien_avail, 0);
		ck_assert_uint_eq(i.free_slabs, 0);
		ck_assert_msg(i.active_objs == live[node], "%s node %d: active %lu != live %lu",
			      uslab_cache_name(s), node, i.active_objs, live[node]);
		if (!live[node])
			ck_assert_uint_eq(i.num_objs, 0);
	}
	check_node_sums(s);
	check_homes(s, NULL);
	VALIDATE(s);
}

/* ---- page fail hook ---------------------------------------------------------------------- */

static unsigned int fail_mask; /* atomic: nodes whose page provider fails */

static bool fail_nodes(int nid, size_t size)
{
	(void)size;
	return __atomic_load_n(&fail_mask, __ATOMIC_ACQUIRE) & (1u << nid);
}

static void set_fail_mask(unsigned int mask)
{
	__atomic_store_n(&fail_mask, mask, __ATOMIC_RELEASE);
	topology_set_page_fail_hook(mask ? fail_nodes : NULL);
}

/* The node nearest to @from by node_distance() outside @mask, ties to the lowest id. */
static int nearest_outside(int from, unsigned int mask)
{
	int best = -1, bestd = INT_MAX, node;

	for_each_node(node) {
		int d = node_distance(from, node);

		if (mask & (1u << node))
			continue;
		ck_assert_int_gt(d, 0);
		if (d < bestd) {
			best = node;
			bestd = d;
		}
	}
	return best;
}

/* ---- allocation on the node asked for ---------------------------------------------------- */

static const unsigned int cache_sizes[] = { 32, 200, 512, 1000, 5000, 20000 };

/*
 * kmem_cache_alloc_node(s, GFP_KERNEL, n) gives node-n objects, whichever CPU
 * the caller acts as, at every size; twice, the second time with objects
 * recycled through cross-node frees. Per-node counts add up to the totals.
 */
START_TEST(test_alloc_node_sizes)
{
	unsigned int nodes = machines[_i].nodes;

	init_machine(machines[_i].spec, false);
	ck_assert_uint_eq(nr_node_ids, nodes);
	for (size_t z = 0; z < ARRAY_SIZE(cache_sizes); z++) {
		unsigned int size = cache_sizes[z];
		unsigned int per = size <= 1024 ? 150 : 24;
		unsigned long live[USLAB_MAX_NUMNODES] = { 0 };
		void **objs = calloc((size_t)nodes * per, sizeof(void *));
		char name[32];
		struct kmem_cache *s;
		unsigned int j = 0;

		snprintf(name, sizeof(name), "node-%u", size);
		s = make_cache(name, size);
		/* The sizes cover both management placements. */
		ck_assert_int_eq(!!(s->flags & CFLGS_OFF_SLAB), size >= SLAB_OFF_SLAB_MIN);
		for (int round = 0; round < 2; round++) {
			/* Interleave the nodes and rotate the calling CPU. */
			for (unsigned int i = 0; i < per; i++) {
				for (int n = 0; n < (int)nodes; n++, j++) {
					void *p;

					set_cpu((int)(j % nr_cpu_ids));
					p = kmem_cache_alloc_node(s, GFP_KERNEL, n);
					ck_assert_msg(p != NULL, "%s node %d: errno %d", name, n, errno);
					ck_assert_int_eq(uslab_obj_node(p), n);
					ck_assert_ptr_eq(uslab_obj_cache(p), s);
					pattern_fill(p, (uint32_t)(n * 100000 + i), size);
					objs[(size_t)n * per + i] = p;
					live[n]++;
				}
			}
			settle();
			check_node_sums(s);
			check_active_is_live_plus_cached(s, live);
			VALIDATE(s);
			for (unsigned int i = 0; i < per; i++) {
				for (int n = 0; n < (int)nodes; n++, j++) {
					void *p = objs[(size_t)n * per + i];

					ck_assert(pattern_check(p, (uint32_t)(n * 100000 + i), size));
					set_cpu((int)(j % nr_cpu_ids));
					kmem_cache_free(s, p);
					live[n]--;
				}
			}
			settle();
			check_node_sums(s);
			check_active_is_live_plus_cached(s, live);
			VALIDATE(s);
		}
		shrink_and_check(s, live);
		destroy_cache(s);
		free(objs);
	}
}
END_TEST

/* A thread acting as a CPU of node k gets node-k objects from every local API. */
START_TEST(test_alloc_local_node)
{
	static const size_t kmalloc_sizes[] = { 8, 96, 192, 700, 4096, 8192, 8193, 65536 };
	struct kmem_cache *caches[3];
	unsigned int nodes = machines[_i].nodes;
	unsigned long live[3][USLAB_MAX_NUMNODES] = { { 0 } };
	void *objs[16][3][130];
	int cpu;

	init_machine(machines[_i].spec, false);
	ck_assert_uint_eq(nr_node_ids, nodes);
	ck_assert_uint_le(nr_cpu_ids, 16);
	caches[0] = make_cache("local-64", 64);
	caches[1] = make_cache("local-700", 700);
	caches[2] = make_cache("local-5000", 5000);
	for_each_possible_cpu(cpu) {
		int node = cpu_to_node(cpu);

		set_cpu(cpu);
		ck_assert_int_eq(smp_processor_id(), cpu);
		ck_assert_int_eq(numa_node_id(), node);
		for (int c = 0; c < 3; c++) {
			for (int i = 0; i < 130; i++) {
				void *p = (i % 3 == 0) ? kmem_cache_alloc(caches[c], GFP_KERNEL)
				       : (i % 3 == 1) ? kmem_cache_zalloc(caches[c], GFP_KERNEL)
						      : kmem_cache_alloc_node(caches[c], GFP_KERNEL,
									      NUMA_NO_NODE);

				ck_assert_ptr_nonnull(p);
				ck_assert_msg(uslab_obj_node(p) == node,
					      "cpu %d (node %d) got an object of node %d", cpu, node,
					      uslab_obj_node(p));
				objs[cpu][c][i] = p;
				live[c][node]++;
			}
		}
		for (size_t k = 0; k < ARRAY_SIZE(kmalloc_sizes); k++) {
			void *p = kmalloc(kmalloc_sizes[k], GFP_KERNEL);
			void *q = kmalloc_node(kmalloc_sizes[k], GFP_KERNEL, NUMA_NO_NODE);
			void *r = kzalloc(kmalloc_sizes[k], GFP_KERNEL);

			ck_assert(p && q && r);
			ck_assert_int_eq(uslab_obj_node(p), node);
			ck_assert_int_eq(uslab_obj_node(q), node);
			ck_assert_int_eq(uslab_obj_node(r), node);
			kfree(p);
			kfree(q);
			kfree(r);
		}
	}
	for (int c = 0; c < 3; c++) {
		settle();
		check_node_sums(caches[c]);
		check_active_is_live_plus_cached(caches[c], live[c]);
		VALIDATE(caches[c]);
	}
	/* Free everything from CPU 0: the other nodes' objects go home. */
	set_cpu(0);
	for_each_possible_cpu(cpu)
		for (int c = 0; c < 3; c++)
			for (int i = 0; i < 130; i++) {
				kmem_cache_free(caches[c], objs[cpu][c][i]);
				live[c][cpu_to_node(cpu)]--;
			}
	for (int c = 0; c < 3; c++) {
		settle();
		check_active_is_live_plus_cached(caches[c], live[c]);
		shrink_and_check(caches[c], live[c]);
		destroy_cache(caches[c]);
	}
}
END_TEST

/* Above the largest kmalloc class: whole pages from kvmalloc (kmalloc_large). */
#define LARGE_BYTES (KMALLOC_MAX_SIZE + ((size_t)1 << 20))

/* kmalloc_node() and kzalloc_node() give memory of the node asked for, at every size. */
START_TEST(test_kmalloc_node_sizes)
{
	static const size_t sizes[] = { 8,    16,   96,    192,     256,     700,
					1024, 2048, 4096,  8192,    8193,    65536,
					(size_t)1 << 20,   KMALLOC_MAX_SIZE };
	unsigned int nodes = machines[_i].nodes;
	unsigned int j = 0;
	int node;

	init_machine(machines[_i].spec, false);
	ck_assert_uint_eq(nr_node_ids, nodes);
	for (size_t z = 0; z < ARRAY_SIZE(sizes); z++) {
		size_t size = sizes[z];
		unsigned int per = size > 65536 ? 1 : 8;

		for_each_node(node) {
			void *objs[8];

			for (unsigned int i = 0; i < per; i++, j++) {
				void *p;

				set_cpu((int)(j % nr_cpu_ids));
				p = (i & 1) ? kzalloc_node(size, GFP_KERNEL, node)
					    : kmalloc_node(size, GFP_KERNEL, node);
				ck_assert_msg(p != NULL, "kmalloc_node(%zu, %d): errno %d", size, node,
					      errno);
				ck_assert_msg(uslab_obj_node(p) == node,
					      "kmalloc_node(%zu, %d) gave node %d", size, node,
					      uslab_obj_node(p));
				ck_assert_uint_ge(ksize(p), size);
				if (i & 1) {
					ck_assert(bytes_all(p, 0, size > 4096 ? 4096 : size));
					ck_assert(bytes_all((char *)p + size - 1, 0, 1));
				}
				((char *)p)[0] = 1;
				((char *)p)[size - 1] = 1;
				if (size > KMALLOC_MAX_CACHE_SIZE)
					ck_assert_ptr_null(uslab_obj_cache(p));
				objs[i] = p;
			}
			for (unsigned int i = 0; i < per; i++, j++) {
				set_cpu((int)(j % nr_cpu_ids));
				kfree(objs[i]);
			}
		}
		if (size <= KMALLOC_MAX_CACHE_SIZE) {
			struct kmem_cache *kc = kmalloc_cache_of(size);

			settle();
			check_node_sums(kc);
			check_homes(kc, NULL);
			VALIDATE(kc);
		}
	}

	/* A large block takes its pages from the node asked for, and only from it. */
	if (nodes > 1) {
		set_cpu(0);
		for (node = 1; node < (int)nodes; node++) {
			unsigned long before[USLAB_MAX_NUMNODES], now;
			void *p;
			int m;

			settle();
			for_each_node(m)
				ck_assert_int_eq(uslab_node_pages(m, NULL, &before[m]), 0);
			p = kvmalloc_node(LARGE_BYTES, GFP_KERNEL, node);
			ck_assert_ptr_nonnull(p);
			for_each_node(m) {
				ck_assert_int_eq(uslab_node_pages(m, NULL, &now), 0);
				if (m == node)
					ck_assert_uint_eq(now, before[m] + (LARGE_BYTES >> PAGE_SHIFT));
				else if (m != cpu_to_node(0))
					ck_assert_uint_eq(now, before[m]);
			}
			kvfree(p);
			ck_assert_int_eq(uslab_node_pages(node, NULL, &now), 0);
			ck_assert_uint_eq(now, before[node]);
		}
	}
}
END_TEST

/* ---- cross-node frees ---------------------------------------------------------------------- */

#define XN_ROUNDS 300
#define XN_BATCH  40

struct xn_ctx {
	struct kmem_cache *caches[2];
	unsigned int nthreads;
	pthread_barrier_t barrier;
	void **mbox;             /* [2][nthreads][XN_BATCH], double-buffered by round */
	unsigned long errors;    /* atomic */
	char first_error[160];
	bool done;               /* atomic: the workers have finished */
	unsigned long reaps;     /* passes of the maintenance thread */
};

struct xn_thread {
	struct xn_ctx *ctx;
	int cpu;
	pthread_t tid;
};

static void **xn_box(struct xn_ctx *c, unsigned int round, int t)
{
	return &c->mbox[((size_t)(round & 1) * c->nthreads + (size_t)t) * XN_BATCH];
}

static uint32_t xn_tag(int t, unsigned int round, unsigned int b)
{
	return ((uint32_t)t << 24) ^ (round << 8) ^ b;
}

static void xn_error(struct xn_ctx *c, const char *what, int cpu, const void *p)
{
	if (__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED) == 0)
		snprintf(c->first_error, sizeof(c->first_error), "cpu %d: %s (%p)", cpu, what, p);
}

/*
 * Each round, thread t (acting as CPU t) fills its box with objects of its
 * own node or of a random node, then frees the box of the thread
 * CPUS_PER_NODE further on, which acts as a CPU of another node. The last
 * round's objects stay allocated.
 */
static void *xn_thread_main(void *arg)
{
	struct xn_thread *me = arg;
	struct xn_ctx *c = me->ctx;
	int partner = (me->cpu + CPUS_PER_NODE) % (int)c->nthreads;
	unsigned int seed = (unsigned int)me->cpu * 7919u + 1;
	int mynode;

	if (uslab_thread_set_cpu(me->cpu) != 0)
		xn_error(c, "uslab_thread_set_cpu failed", me->cpu, NULL);
	mynode = cpu_to_node(me->cpu);
	for (unsigned int r = 0; r < XN_ROUNDS; r++) {
		void **mine = xn_box(c, r, me->cpu);

		for (unsigned int b = 0; b < XN_BATCH; b++) {
			struct kmem_cache *s = c->caches[b & 1];
			int want = (b % 3 == 0) ? NUMA_NO_NODE : (int)(rand_r(&seed) % nr_node_ids);
			void *p = want == NUMA_NO_NODE ? kmem_cache_alloc(s, GFP_KERNEL)
						       : kmem_cache_alloc_node(s, GFP_KERNEL, want);

			if (!p) {
				xn_error(c, "allocation failed", me->cpu, NULL);
				mine[b] = NULL;
				continue;
			}
			if (uslab_obj_node(p) != (want == NUMA_NO_NODE ? mynode : want))
				xn_error(c, "object of the wrong node", me->cpu, p);
			pattern_fill(p, xn_tag(me->cpu, r, b), 64);
			mine[b] = p;
		}
		pthread_barrier_wait(&c->barrier);
		if (r == XN_ROUNDS - 1)
			break;
		void **theirs = xn_box(c, r, partner);
		for (unsigned int b = 0; b < XN_BATCH; b++) {
			if (!theirs[b])
				continue;
			if (!pattern_check(theirs[b], xn_tag(partner, r, b), 64))
				xn_error(c, "object overwritten", me->cpu, theirs[b]);
			kmem_cache_free(c->caches[b & 1], theirs[b]);
		}
	}
	return NULL;
}

/*
 * Meanwhile, a maintenance thread (acting as no CPU in particular) runs the
 * reaper, shrinks, snapshots and slabinfo over and over until the workers are
 * done: alien arrays are drained under the workers' feet.
 */
static void *xn_maint_main(void *arg)
{
	struct xn_ctx *c = arg;

	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
		struct uslab_cache_info i;
		char *text = NULL;
		size_t len = 0;
		FILE *f;

		uslab_reap();
		for (int k = 0; k < 2; k++) {
			if (uslab_cache_info(c->caches[k], (int)(c->reaps % nr_node_ids), &i) != 0)
				xn_error(c, "uslab_cache_info failed", -1, NULL);
			if (c->reaps % 8 == 0 && kmem_cache_shrink(c->caches[k]) < 0)
				xn_error(c, "kmem_cache_shrink failed", -1, NULL);
		}
		f = open_memstream(&text, &len);
		if (!f || uslab_slabinfo(f) != 0)
			xn_error(c, "uslab_slabinfo failed", -1, NULL);
		if (f)
			fclose(f);
		free(text);
		c->reaps++;
	}
	return NULL;
}

/*
 * Threads on CPUs of different nodes free each other's objects; afterwards
 * every object is back on its home node: per node, the active objects are the
 * live ones plus those cached in that node's arrays, and after a shrink the
 * live ones alone.
 */
START_TEST(test_cross_node_frees)
{
	/* 2, 4 and 8 nodes; 4 nodes without alien arrays. */
	static const struct {
		unsigned int machine;
		bool noalien;
	} which[] = { { 1, false }, { 2, false }, { 3, false }, { 2, true } };
	const char *spec = machines[which[_i].machine].spec;
	const bool noalien = which[_i].noalien;
	struct xn_ctx c;
	struct xn_thread *th;
	pthread_t maint;
	unsigned long live[2][USLAB_MAX_NUMNODES] = { { 0 } };

	init_machine(spec, noalien);
	ck_assert_uint_ge(nr_node_ids, 2);
	ck_assert_uint_eq(nr_cpu_ids, nr_node_ids * CPUS_PER_NODE);
	memset(&c, 0, sizeof(c));
	c.caches[0] = make_cache("xnode-96", 96);
	c.caches[1] = make_cache("xnode-700", 700);
	c.nthreads = nr_cpu_ids;
	c.mbox = calloc(2 * (size_t)c.nthreads * XN_BATCH, sizeof(void *));
	th = calloc(c.nthreads, sizeof(*th));
	ck_assert(c.mbox && th);
	ck_assert_int_eq(pthread_barrier_init(&c.barrier, NULL, c.nthreads), 0);
	for (unsigned int t = 0; t < c.nthreads; t++) {
		th[t].ctx = &c;
		th[t].cpu = (int)t;
		ck_assert_int_eq(pthread_create(&th[t].tid, NULL, xn_thread_main, &th[t]), 0);
	}
	ck_assert_int_eq(pthread_create(&maint, NULL, xn_maint_main, &c), 0);
	for (unsigned int t = 0; t < c.nthreads; t++)
		pthread_join(th[t].tid, NULL);
	__atomic_store_n(&c.done, true, __ATOMIC_RELEASE);
	pthread_join(maint, NULL);
	pthread_barrier_destroy(&c.barrier);
	ck_assert_uint_gt(c.reaps, 0);
	ck_assert_msg(c.errors == 0, "%lu errors, first: %s", c.errors, c.first_error);

	set_cpu(0);
	settle();
	for (unsigned int t = 0; t < c.nthreads; t++) {
		void **box = xn_box(&c, XN_ROUNDS - 1, (int)t);

		for (unsigned int b = 0; b < XN_BATCH; b++)
			live[b & 1][uslab_obj_node(box[b])]++;
	}
	for (int k = 0; k < 2; k++) {
		struct uslab_cache_info i = info_of(c.caches[k], NUMA_NO_NODE);

		if (noalien)
			ck_assert_uint_eq(i.alien_avail, 0);
		else
			ck_assert_msg(i.alien_frees > 0, "%s: no alien frees counted", i.name);
		VALIDATE(c.caches[k]);
		check_node_sums(c.caches[k]);
		check_active_is_live_plus_cached(c.caches[k], live[k]);
		shrink_and_check(c.caches[k], live[k]);
	}
	/* The survivors, freed from node 0, also go home. */
	for (unsigned int t = 0; t < c.nthreads; t++) {
		void **box = xn_box(&c, XN_ROUNDS - 1, (int)t);

		for (unsigned int b = 0; b < XN_BATCH; b++) {
			ck_assert(pattern_check(box[b], xn_tag((int)t, XN_ROUNDS - 1, b), 64));
			live[b & 1][uslab_obj_node(box[b])]--;
			kmem_cache_free(c.caches[b & 1], box[b]);
		}
	}
	for (int k = 0; k < 2; k++) {
		settle();
		check_active_is_live_plus_cached(c.caches[k], live[k]);
		shrink_and_check(c.caches[k], live[k]);
		destroy_cache(c.caches[k]);
	}
	free(c.mbox);
	free(th);
}
END_TEST

/* ---- alien arrays -------------------------------------------------------------------------- */

/*
 * A thread on node 1 frees node-0 objects one by one: the first ALIEN_LIMIT
 * wait in its alien array for node 0 and node 0's lists do not change; the
 * next free sends those ALIEN_LIMIT home at once (to node 0's shared array,
 * or to its slabs when the cache has none) and parks itself.
 */
START_TEST(test_alien_threshold)
{
	const bool with_shared = _i == 0;
	const unsigned int nfree = 3 * ALIEN_LIMIT + 2;
	struct uslab_cache_info before0, before1, base;
	struct kmem_cache *s;
	void *objs[3 * ALIEN_LIMIT + 2];

	init_machine(SPEC_4NODES, false);
	s = make_cache("alien-64", 64);
	if (!with_shared)
		ck_assert_int_eq(uslab_cache_tune(s, 120, 60, 0), 0);
	ck_assert_uint_eq(info_of(s, NUMA_NO_NODE).shared, with_shared ? 8 : 0);

	set_cpu(node_cpu(0, 0));
	for (unsigned int i = 0; i < nfree; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(objs[i]);
		ck_assert_int_eq(uslab_obj_node(objs[i]), 0);
	}
	set_cpu(node_cpu(1, 0));
	settle();
	before0 = info_of(s, 0);
	before1 = info_of(s, 1);
	base = info_of(s, NUMA_NO_NODE);
	ck_assert_uint_eq(base.alien_avail, 0);
	ck_assert_uint_eq(before0.shared_avail, 0);

	for (unsigned int k = 1; k <= nfree; k++) {
		unsigned long parked = (k - 1) % ALIEN_LIMIT + 1;
		unsigned long drained = (k - 1) / ALIEN_LIMIT * ALIEN_LIMIT;
		struct uslab_cache_info n0, n1, all;

		kmem_cache_free(s, objs[k - 1]);
		settle();
		n0 = info_of(s, 0);
		n1 = info_of(s, 1);
		all = info_of(s, NUMA_NO_NODE);
		ck_assert_msg(n0.alien_avail == parked, "after %u frees: alien_avail %lu, expected %lu",
			      k, n0.alien_avail, parked);
		ck_assert_uint_eq(all.alien_avail, parked);
		ck_assert_uint_eq(all.alien_frees, base.alien_frees + k);
		ck_assert_uint_eq(n0.num_objs, before0.num_objs);
		ck_assert_uint_eq(n0.num_slabs, before0.num_slabs);
		ck_assert_uint_eq(n0.cpu_avail, before0.cpu_avail);
		if (with_shared) {
			ck_assert_msg(n0.shared_avail == before0.shared_avail + drained,
				      "after %u frees: node 0 shared_avail %lu, expected %lu", k,
				      n0.shared_avail, before0.shared_avail + drained);
			ck_assert_uint_eq(n0.free_objects, before0.free_objects);
			ck_assert_uint_eq(n0.active_objs, before0.active_objs);
		} else {
			ck_assert_uint_eq(n0.shared_avail, 0);
			ck_assert_msg(n0.free_objects == before0.free_objects + drained,
				      "after %u frees: node 0 free_objects %lu, expected %lu", k,
				      n0.free_objects, before0.free_objects + drained);
			ck_assert_uint_eq(n0.active_objs, before0.active_objs - drained);
		}
		/* Node 1 sees none of it. */
		assert_counts_equal(&n1, &before1, 1);
	}
	check_homes(s, NULL);
	check_node_sums(s);
	VALIDATE(s);

	/* The freeing CPU's own node's objects go to its CPU array, never to an alien array. */
	{
		void *p = kmem_cache_alloc(s, GFP_KERNEL);
		unsigned long cpu_before;

		ck_assert_int_eq(uslab_obj_node(p), 1);
		cpu_before = info_of(s, 1).cpu_avail;
		kmem_cache_free(s, p);
		settle();
		ck_assert_uint_eq(info_of(s, 1).cpu_avail, cpu_before + 1);
		ck_assert_uint_eq(info_of(s, 1).alien_avail, 0);
	}
	shrink_and_check(s, (unsigned long[USLAB_MAX_NUMNODES]){ 0 });
	destroy_cache(s);
}
END_TEST

/* Without alien caches (option or USLAB_NOALIENCACHE=1) another node's object goes home at once. */
START_TEST(test_noaliencache)
{
	struct uslab_cache_info before0, before1;
	struct kmem_cache *s;
	void *objs[40];
	int cpu;

	if (_i == 1)
		ck_assert_int_eq(setenv("USLAB_NOALIENCACHE", "1", 1), 0);
	init_machine(SPEC_4NODES, _i == 0);
	s = make_cache("noalien-64", 64);
	for_each_possible_cpu(cpu)
		ck_assert_ptr_null(cpu_cold(s, cpu)->alien);

	set_cpu(node_cpu(0, 1));
	for (int i = 0; i < 40; i++) {
		objs[i] = kmem_cache_alloc_node(s, GFP_KERNEL, 0);
		ck_assert_int_eq(uslab_obj_node(objs[i]), 0);
	}
	set_cpu(node_cpu(1, 1));
	settle();
	before0 = info_of(s, 0);
	before1 = info_of(s, 1);
	for (int k = 1; k <= 40; k++) {
		struct uslab_cache_info n0, n1;

		kmem_cache_free(s, objs[k - 1]);
		settle();
		n0 = info_of(s, 0);
		n1 = info_of(s, 1);
		ck_assert_uint_eq(info_of(s, NUMA_NO_NODE).alien_avail, 0);
		/* Home: node 0's shared array or its slabs, one object per free. */
		ck_assert_msg(n0.shared_avail + n0.free_objects ==
				      before0.shared_avail + before0.free_objects + (unsigned long)k,
			      "after %d frees node 0 holds %lu + %lu, expected %lu more than %lu + %lu",
			      k, n0.shared_avail, n0.free_objects, (unsigned long)k,
			      before0.shared_avail, before0.free_objects);
		ck_assert_uint_eq(n0.cpu_avail, before0.cpu_avail);
		assert_counts_equal(&n1, &before1, 1);
	}
	check_homes(s, NULL);
	check_node_sums(s);
	shrink_and_check(s, (unsigned long[USLAB_MAX_NUMNODES]){ 0 });
	destroy_cache(s);
}
END_TEST

/* One node: no alien arrays exist and no free is counted as alien. Two nodes: they exist. */
START_TEST(test_alien_arrays_by_node_count)
{
	const bool one = _i == 0;
	struct uslab_cache_info before, after;
	struct kmem_cache *s;
	void *objs[50];
	int cpu;

	init_machine(one ? machines[0].spec : machines[1].spec, false);
	s = make_cache("aliens", 64);
	for_each_possible_cpu(cpu) {
		struct array_cache **alien = cpu_cold(s, cpu)->alien;

		if (one) {
			ck_assert_ptr_null(alien);
			continue;
		}
		ck_assert_ptr_nonnull(alien);
		for (int node = 0; node < (int)nr_node_ids; node++) {
			if (node == cpu_to_node(cpu)) {
				ck_assert_ptr_null(alien[node]);
			} else {
				ck_assert_ptr_nonnull(alien[node]);
				ck_assert_uint_eq(alien[node]->limit, ALIEN_LIMIT);
				ck_assert_int_eq(alien[node]->nid, node);
			}
		}
	}
	set_cpu(0);
	for (int i = 0; i < 50; i++)
		ck_assert_ptr_nonnull(objs[i] = kmem_cache_alloc(s, GFP_KERNEL));
	before = info_of(s, NUMA_NO_NODE);
	set_cpu((int)nr_cpu_ids - 1); /* the other core of node 0, or a CPU of node 1 */
	for (int i = 0; i < 50; i++)
		kmem_cache_free(s, objs[i]);
	settle();
	after = info_of(s, NUMA_NO_NODE);
	if (one) {
		ck_assert_uint_eq(after.alien_frees, 0);
		ck_assert_uint_eq(after.alien_avail, 0);
		ck_assert_uint_eq(after.cpu_avail, before.cpu_avail + 50);
	} else {
		ck_assert_uint_eq(after.alien_frees, before.alien_frees + 50);
		ck_assert_uint_eq(after.alien_avail, 50 % ALIEN_LIMIT);
		ck_assert_uint_eq(after.cpu_avail, before.cpu_avail);
	}
	check_homes(s, NULL);
	check_node_sums(s);
	shrink_and_check(s, (unsigned long[USLAB_MAX_NUMNODES]){ 0 });
	destroy_cache(s);
}
END_TEST

/*
 * uslab_reap() drains the alien arrays of one node per pass, the next node
 * on the next pass (kernel reap_alien round robin): after nr_node_ids passes
 * every alien array is empty.
 */
START_TEST(test_reap_aliens_round_robin)
{
	enum { PER = 5 };
	unsigned long live[USLAB_MAX_NUMNODES] = { 0 };
	bool drained[USLAB_MAX_NUMNODES] = { false };
	struct kmem_cache *s;
	int cpu, node, first = -1;

	init_machine(SPEC_4NODES, false);
	s = make_cache("reap-aliens", 64);
	for_each_possible_cpu(cpu) {
		for_each_node(node) {
			void *objs[PER];

			if (node == cpu_to_node(cpu))
				continue;
			set_cpu(node_cpu(node, 0));
			for (int i = 0; i < PER; i++)
				ck_assert_ptr_nonnull(objs[i] = kmem_cache_alloc_node(s, GFP_KERNEL, node));
			set_cpu(cpu);
			for (int i = 0; i < PER; i++)
				kmem_cache_free(s, objs[i]);
			settle();
		}
	}
	settle();
	for_each_node(node)
		ck_assert_uint_eq(info_of(s, node).alien_avail,
				  PER * (nr_cpu_ids - uslab_nr_cpus_node(node)));
	check_active_is_live_plus_cached(s, live);

	for (int pass = 0; pass < (int)nr_node_ids; pass++) {
		unsigned long before[USLAB_MAX_NUMNODES];
		int emptied = -1;

		for_each_node(node)
			before[node] = info_of(s, node).alien_avail;
		uslab_reap();
		for_each_node(node) {
			unsigned long now = info_of(s, node).alien_avail;

			if (now == before[node])
				continue;
			ck_assert_msg(now == 0, "pass %d: node %d alien_avail %lu -> %lu", pass, node,
				      before[node], now);
			ck_assert_msg(emptied < 0, "pass %d drained nodes %d and %d", pass, emptied,
				      node);
			emptied = node;
		}
		ck_assert_msg(emptied >= 0, "pass %d drained no alien array", pass);
		ck_assert(!drained[emptied]);
		drained[emptied] = true;
		if (first < 0)
			first = emptied;
		ck_assert_int_eq(emptied, (first + pass) % (int)nr_node_ids);
		check_active_is_live_plus_cached(s, live);
		VALIDATE(s);
	}
	ck_assert_uint_eq(info_of(s, NUMA_NO_NODE).alien_avail, 0);
	check_node_sums(s);
	shrink_and_check(s, live);
	destroy_cache(s);
}
END_TEST

/* ---- fallback and __GFP_THISNODE ------------------------------------------------------------ */

/* Nearest node outside a failing set, from the latency matrix of tests/data/README. */
static const struct {
	int from;
	unsigned int failing;
	int expect;
} asym_cases[] = {
	{ 0, 0x1, 1 },  /* 16 */
	{ 0, 0x3, 3 },  /* 22 before 30 */
	{ 1, 0x2, 0 },  /* 18 */
	{ 1, 0x3, 2 },  /* 22 before 34 */
	{ 2, 0x4, 3 },  /* 16 */
	{ 2, 0xc, 1 },  /* 22 before 30 */
	{ 3, 0x8, 2 },  /* 16 */
	{ 3, 0xc, 0 },  /* 22 tie with node 1: lowest id */
	{ 3, 0xd, 1 },
};

/*
 * With the asymmetric XML machine, when the preferred node's page provider
 * fails, kmem_cache_alloc_node() (from a CPU of that node and from a CPU of
 * another node) and kmem_cache_alloc() on that node fall back to the nearest
 * node by node_distance(), for every set of failing nodes.
 */
START_TEST(test_fallback_by_distance)
{
	static const unsigned int sizes[] = { 64, 700, 5000 };
	unsigned int all, nodes;
	int n;

	init_machine(data_path("numa4-asym.xml"), false);
	nodes = nr_node_ids;
	ck_assert_uint_eq(nodes, 4);
	ck_assert_int_eq(node_distance(0, 1), 16);
	ck_assert_int_eq(node_distance(1, 0), 18);
	for (size_t k = 0; k < ARRAY_SIZE(asym_cases); k++)
		ck_assert_int_eq(nearest_outside(asym_cases[k].from, asym_cases[k].failing),
				 asym_cases[k].expect);
	all = (1u << nodes) - 1;

	for (size_t z = 0; z < ARRAY_SIZE(sizes); z++) {
		for (n = 0; n < (int)nodes; n++) {
			for (unsigned int mask = 1; mask < all; mask++) {
				int expect = nearest_outside(n, mask);
				int other = node_cpu((n + 1) % (int)nodes, 1);
				struct kmem_cache *s;
				void *p[3];
				char name[48];

				if (!(mask & (1u << n)))
					continue;
				snprintf(name, sizeof(name), "fb-%u-%d-%x", sizes[z], n, mask);
				s = make_cache(name, sizes[z]);
				set_fail_mask(mask);
				set_cpu(node_cpu(n, 0));
				p[0] = kmem_cache_alloc_node(s, GFP_KERNEL, n);
				p[1] = kmem_cache_alloc(s, GFP_KERNEL);
				set_cpu(other);
				p[2] = kmem_cache_alloc_node(s, GFP_KERNEL, n);
				set_fail_mask(0);
				for (int i = 0; i < 3; i++) {
					ck_assert_msg(p[i] != NULL, "%s: call %d failed: errno %d", name,
						      i, errno);
					ck_assert_msg(uslab_obj_node(p[i]) == expect,
						      "%s: call %d gave node %d, nearest is %d", name, i,
						      uslab_obj_node(p[i]), expect);
				}
				ck_assert_uint_eq(info_of(s, n).num_objs, 0);
				check_node_sums(s);
				check_homes(s, NULL);
				VALIDATE(s);
				for (int i = 0; i < 3; i++)
					kmem_cache_free(s, p[i]);
				destroy_cache(s);
			}
		}
	}
}
END_TEST

/* kmalloc_node() falls back by distance too: slab classes and kmalloc_large. */
START_TEST(test_kmalloc_fallback_by_distance)
{
	static const size_t sizes[] = { 3000, 8192, 65536, (size_t)1 << 20 };
	unsigned int all;
	int n;

	init_machine(data_path("numa4-asym.xml"), false);
	ck_assert_uint_eq(nr_node_ids, 4);
	all = (1u << nr_node_ids) - 1;
	for (size_t z = 0; z < ARRAY_SIZE(sizes); z++) {
		size_t size = sizes[z];
		struct kmem_cache *kc = size <= KMALLOC_MAX_CACHE_SIZE ? kmalloc_cache_of(size) : NULL;

		for (n = 0; n < (int)nr_node_ids; n++) {
			for (unsigned int mask = 1; mask < all; mask++) {
				int expect = nearest_outside(n, mask);
				void *p[2];

				if (!(mask & (1u << n)))
					continue;
				if (kc) {
					/* The class must have nothing left on node n to hand out. */
					settle();
					kmem_cache_shrink(kc);
					ck_assert_uint_eq(info_of(kc, n).num_objs, 0);
				}
				set_fail_mask(mask);
				set_cpu(node_cpu(n, 1));
				p[0] = kmalloc_node(size, GFP_KERNEL, n);
				set_cpu(node_cpu((n + 2) % (int)nr_node_ids, 0));
				p[1] = kmalloc_node(size, GFP_KERNEL, n);
				set_fail_mask(0);
				for (int i = 0; i < 2; i++) {
					ck_assert_msg(p[i] != NULL, "kmalloc_node(%zu, %d) mask %x: errno %d",
						      size, n, mask, errno);
					ck_assert_msg(uslab_obj_node(p[i]) == expect,
						      "kmalloc_node(%zu, %d) mask %x gave node %d, nearest is %d",
						      size, n, mask, uslab_obj_node(p[i]), expect);
					kfree(p[i]);
				}
			}
		}
		if (kc) {
			settle();
			check_node_sums(kc);
			check_homes(kc, NULL);
			VALIDATE(kc);
		}
	}
}
END_TEST

/*
 * __GFP_THISNODE on a node that cannot give memory: NULL with ENOMEM and
 * nothing changed, from a CPU of that node and from another one; without it
 * the same call falls back. Once the node can give memory again, THISNODE
 * allocations are served there.
 */
START_TEST(test_thisnode)
{
	static const unsigned int sizes[] = { 64, 700, 5000 };
	const int bad = 2;
	int node;

	init_machine(_i == 0 ? SPEC_4NODES : data_path("numa4-asym.xml"), false);
	for (size_t z = 0; z < ARRAY_SIZE(sizes); z++) {
		struct uslab_cache_info before[USLAB_MAX_NUMNODES + 1], now;
		struct kmem_cache *s;
		unsigned long pages_before, pages_now;
		void *keep[2], *p;
		char name[32];

		snprintf(name, sizeof(name), "thisnode-%u", sizes[z]);
		s = make_cache(name, sizes[z]);
		/* Some state on every node, so that "nothing changed" means something. */
		set_cpu(0);
		keep[0] = kmem_cache_alloc_node(s, GFP_KERNEL, 0);
		keep[1] = kmem_cache_alloc_node(s, GFP_KERNEL, 3);
		ck_assert(keep[0] && keep[1]);
		settle();
		for_each_node(node)
			before[node] = info_of(s, node);
		before[nr_node_ids] = info_of(s, NUMA_NO_NODE);
		ck_assert_int_eq(uslab_node_pages(bad, NULL, &pages_before), 0);

		set_fail_mask(1u << bad);
		for (int from = 0; from < 2; from++) {
			set_cpu(from == 0 ? node_cpu(bad, 0) : node_cpu(1, 0));
			errno = 0;
			p = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_THISNODE, bad);
			ck_assert_ptr_null(p);
			ck_assert_int_eq(errno, ENOMEM);
			if (from == 0) {
				errno = 0;
				p = kmem_cache_alloc(s, GFP_KERNEL | __GFP_THISNODE);
				ck_assert_ptr_null(p);
				ck_assert_int_eq(errno, ENOMEM);
			}
			errno = 0;
			p = kvmalloc_node(LARGE_BYTES, GFP_KERNEL | __GFP_THISNODE, bad);
			ck_assert_ptr_null(p);
			ck_assert_int_eq(errno, ENOMEM);
			errno = 0;
			p = kvmalloc_node(LARGE_BYTES, GFP_KERNEL | __GFP_THISNODE, bad);
			ck_assert_ptr_null(p);
			ck_assert_int_eq(errno, ENOMEM);
			settle();
			for_each_node(node) {
				now = info_of(s, node);
				assert_counts_equal(&now, &before[node], node);
			}
			now = info_of(s, NUMA_NO_NODE);
			assert_counts_equal(&now, &before[nr_node_ids], NUMA_NO_NODE);
			ck_assert_int_eq(uslab_node_pages(bad, NULL, &pages_now), 0);
			ck_assert_uint_eq(pages_now, pages_before);
			VALIDATE(s);
		}
		/* Without THISNODE: the nearest node gives it. */
		set_cpu(node_cpu(bad, 1));
		p = kmem_cache_alloc_node(s, GFP_KERNEL, bad);
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(uslab_obj_node(p), nearest_outside(bad, 1u << bad));
		kmem_cache_free(s, p);
		p = kvmalloc_node(LARGE_BYTES, GFP_KERNEL, bad);
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(uslab_obj_node(p), nearest_outside(bad, 1u << bad));
		kfree(p);
		set_fail_mask(0);

		/* The node can give memory again. */
		for (int from = 0; from < 2; from++) {
			set_cpu(from == 0 ? node_cpu(bad, 0) : node_cpu(0, 0));
			p = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_THISNODE, bad);
			ck_assert_ptr_nonnull(p);
			ck_assert_int_eq(uslab_obj_node(p), bad);
			kmem_cache_free(s, p);
			p = kvmalloc_node(LARGE_BYTES, GFP_KERNEL | __GFP_THISNODE, bad);
			ck_assert_ptr_nonnull(p);
			ck_assert_int_eq(uslab_obj_node(p), bad);
			kfree(p);
		}
		set_cpu(0);
		kmem_cache_free(s, keep[0]);
		kmem_cache_free(s, keep[1]);
		settle();
		check_homes(s, NULL);
		check_node_sums(s);
		shrink_and_check(s, (unsigned long[USLAB_MAX_NUMNODES]){ 0 });
		destroy_cache(s);
	}
}
END_TEST

/*
 * __GFP_THISNODE names the node of the returned memory: a kmalloc_large
 * block asked of node 1 succeeds while node 1 can give pages, even when the
 * caller's own node cannot give memory for the block's bookkeeping.
 */
START_TEST(test_thisnode_large_bookkeeping)
{
	struct kmem_cache *meta;
	uintptr_t v;
	void *p;

	init_machine(SPEC_4NODES, false);
	set_cpu(node_cpu(0, 0));
	/* Find the cache of the bookkeeping record through the page map, then empty node 0 of it. */
	p = kvmalloc_node(LARGE_BYTES, GFP_KERNEL, 1);
	ck_assert_ptr_nonnull(p);
	v = pagemap_lookup(p);
	ck_assert(v & PAGEMAP_LARGE);
	meta = uslab_obj_cache((void *)(v & ~PAGEMAP_LARGE));
	ck_assert_ptr_nonnull(meta);
	kfree(p);
	settle();
	kmem_cache_shrink(meta);
	ck_assert_uint_eq(info_of(meta, 0).num_objs, 0);

	set_fail_mask(1u << 0);
	errno = 0;
	p = kvmalloc_node(LARGE_BYTES, GFP_KERNEL | __GFP_THISNODE, 1);
	set_fail_mask(0);
	ck_assert_msg(p != NULL,
		      "kvmalloc_node(LARGE_BYTES, __GFP_THISNODE, 1) from a CPU of node 0 failed (errno %d) "
		      "while node 1 can give pages: only node 0 (the caller's) cannot give memory",
		      errno);
	ck_assert_int_eq(uslab_obj_node(p), 1);
	kfree(p);
	settle();
	VALIDATE(meta);
}
END_TEST

/* ---- bad node ids ---------------------------------------------------------------------------- */

START_TEST(test_bad_node_ids)
{
	static const size_t kmalloc_sizes[] = { 64, 5000, 65536 };
	struct uslab_cache_info before, after;
	struct kmem_cache *s;
	int bad[7];

	init_machine(_i == 0 ? machines[0].spec : SPEC_4NODES, false);
	bad[0] = -2;
	bad[1] = -100;
	bad[2] = INT_MIN;
	bad[3] = (int)nr_node_ids;
	bad[4] = (int)nr_node_ids + 1;
	bad[5] = USLAB_MAX_NUMNODES;
	bad[6] = INT_MAX;
	s = make_cache("badnode", 128);
	set_cpu(0);
	before = info_of(s, NUMA_NO_NODE);
	for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
		for (int thisnode = 0; thisnode < 2; thisnode++) {
			gfp_t gfp = GFP_KERNEL | (thisnode ? __GFP_THISNODE : 0);

			errno = 0;
			ck_assert_ptr_null(kmem_cache_alloc_node(s, gfp, bad[k]));
			ck_assert_msg(errno == EINVAL, "kmem_cache_alloc_node(node %d): errno %d",
				      bad[k], errno);
			for (size_t z = 0; z < ARRAY_SIZE(kmalloc_sizes); z++) {
				errno = 0;
				ck_assert_ptr_null(kmalloc_node(kmalloc_sizes[z], gfp, bad[k]));
				ck_assert_msg(errno == EINVAL, "kmalloc_node(%zu, node %d): errno %d",
					      kmalloc_sizes[z], bad[k], errno);
				errno = 0;
				ck_assert_ptr_null(kzalloc_node(kmalloc_sizes[z], gfp, bad[k]));
				ck_assert_int_eq(errno, EINVAL);
			}
		}
	}
	after = info_of(s, NUMA_NO_NODE);
	assert_counts_equal(&after, &before, NUMA_NO_NODE);
	ck_assert_uint_eq(after.allocs, before.allocs);
	/* uslab_cache_info() refuses the same ids. */
	{
		struct uslab_cache_info i;

		ck_assert_int_eq(uslab_cache_info(s, -2, &i), -EINVAL);
		ck_assert_int_eq(uslab_cache_info(s, (int)nr_node_ids, &i), -EINVAL);
	}
	/* NUMA_NO_NODE is no bad id: the local node. */
	{
		void *p = kmem_cache_alloc_node(s, GFP_KERNEL, NUMA_NO_NODE);
		void *q = kmalloc_node(65536, GFP_KERNEL, NUMA_NO_NODE);

		ck_assert(p && q);
		ck_assert_int_eq(uslab_obj_node(p), cpu_to_node(0));
		ck_assert_int_eq(uslab_obj_node(q), cpu_to_node(0));
		kmem_cache_free(s, p);
		kfree(q);
	}
	destroy_cache(s);
}
END_TEST

/* ---- the real machine ------------------------------------------------------------------------ */

/* The OS node holding the page at @p (touched first), or -1 with a skip message. */
static int os_node_of(const char *test, void *p)
{
	int where = -1;

	*(volatile char *)p = 1;
	if (get_mempolicy(&where, NULL, 0, p, MPOL_F_NODE | MPOL_F_ADDR) != 0) {
		printf("%s: skipped: get_mempolicy: %s\n", test, strerror(errno));
		return -1;
	}
	return where;
}

/*
 * Without a synthetic topology, objects of kmem_cache_alloc_node(s, .., n) and
 * kmalloc_node(.., n) live on the OS node of uslab node n.
 */
START_TEST(test_real_machine_placement)
{
	static const size_t sizes[] = { 64, 700, 8192, 65536, (size_t)1 << 20 };
	struct kmem_cache *s;
	int node;

	init_machine(NULL, false);
	ck_assert(!uslab_topology_is_synthetic());
	s = make_cache("real-256", 256);
	for_each_node(node) {
		int os = topology_node_os_index(node);
		void *p = kmem_cache_alloc_node(s, GFP_KERNEL, node);
		int where;

		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(uslab_obj_node(p), node);
		memset(p, 0x5a, 256);
		where = os_node_of("test_real_machine_placement", p);
		if (where < 0) {
			kmem_cache_free(s, p);
			break;
		}
		ck_assert_msg(where == topology_node_os_index(uslab_obj_node(p)),
			      "object of node %d (OS node %d) is on OS node %d", node, os, where);
		kmem_cache_free(s, p);
		for (size_t z = 0; z < ARRAY_SIZE(sizes); z++) {
			char *q = kmalloc_node(sizes[z], GFP_KERNEL, node);

			ck_assert_ptr_nonnull(q);
			ck_assert_int_eq(uslab_obj_node(q), node);
			ck_assert_int_eq(os_node_of("test_real_machine_placement", q), os);
			ck_assert_int_eq(os_node_of("test_real_machine_placement", q + sizes[z] - 1), os);
			kfree(q);
		}
	}
	destroy_cache(s);
}
END_TEST

/* Needs two real nodes: objects of different nodes land on different OS nodes. */
START_TEST(test_real_machine_multinode)
{
	struct kmem_cache *s;
	void *p[2];
	int where[2];

	init_machine(NULL, false);
	if (nr_node_ids < 2 || !topology_pages_are_bound()) {
		printf("test_real_machine_multinode: skipped: needs more than one real NUMA node "
		       "and mbind (this machine: %u node%s)\n",
		       nr_node_ids, nr_node_ids == 1 ? "" : "s");
		return;
	}
	s = make_cache("real-multi", 128);
	for (int n = 0; n < 2; n++) {
		p[n] = kmem_cache_alloc_node(s, GFP_KERNEL, n);
		ck_assert_ptr_nonnull(p[n]);
		where[n] = os_node_of("test_real_machine_multinode", p[n]);
		ck_assert_int_eq(where[n], topology_node_os_index(n));
	}
	ck_assert_int_ne(where[0], where[1]);
	kmem_cache_free(s, p[0]);
	kmem_cache_free(s, p[1]);
	destroy_cache(s);
}
END_TEST

/* ---- slabinfo -------------------------------------------------------------------------------- */

#define SLABINFO_ROW "%-17s %6lu %6lu %6u %4u %4u : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu"

/*
 * Of a 4-node run: the slabinfo 2.1 text is well formed, lists every cache
 * once, newest first, and each row's totals are the sums of the per-node
 * uslab_cache_info() snapshots. The text of this small scenario is printed.
 */
START_TEST(test_slabinfo_4nodes)
{
	struct kmem_cache *demo[2];
	void *objs[2][4][40];
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f;
	int row = 0, seen_demo[2] = { -1, -1 };
	int node;

	init_machine(SPEC_4NODES, false);
	demo[0] = make_cache("numa-demo", 192);
	demo[1] = make_cache("numa-demo-700", 700);
	/* Scenario: 40 objects per node and cache, allocated from rotating CPUs;
	 * then every other object freed from CPU 0 (node 0), through the alien arrays. */
	for (int c = 0; c < 2; c++)
		for_each_node(node)
			for (int i = 0; i < 40; i++) {
				set_cpu((node + i) % (int)nr_cpu_ids);
				objs[c][node][i] = kmem_cache_alloc_node(demo[c], GFP_KERNEL, node);
				ck_assert_ptr_nonnull(objs[c][node][i]);
			}
	set_cpu(0);
	for (int c = 0; c < 2; c++)
		for_each_node(node)
			for (int i = 0; i < 40; i += 2)
				kmem_cache_free(demo[c], objs[c][node][i]);
	settle();
	ck_assert_uint_gt(info_of(demo[0], NUMA_NO_NODE).alien_avail, 0);

	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(uslab_slabinfo(f), 0);
	ck_assert_int_eq(fclose(f), 0);

	printf("--- uslab_slabinfo(), %s, after the numa-demo scenario ---\n%s", SPEC_4NODES, text);
	for (int c = 0; c < 2; c++)
		for_each_node(node) {
			struct uslab_cache_info i = info_of(demo[c], node);

			printf("%-17s node %d: active_objs %lu num_objs %lu slabs %lu/%lu "
			       "free_objects %lu cpu_avail %lu shared_avail %lu alien_avail %lu\n",
			       i.name, node, i.active_objs, i.num_objs, i.active_slabs, i.num_slabs,
			       i.free_objects, i.cpu_avail, i.shared_avail, i.alien_avail);
		}
	fflush(stdout);

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), row++) {
		char name[64], again[256];
		unsigned long active, num, aslabs, nslabs, savail;
		unsigned int objsize, per, pages, limit, batch, shared;
		struct uslab_cache_info sum, tot;
		struct kmem_cache *s;
		int end = -1;

		if (row == 0) {
			ck_assert_str_eq(line, "slabinfo - version: 2.1");
			continue;
		}
		if (row == 1) {
			ck_assert_str_eq(line, "# name            <active_objs> <num_objs> <objsize> "
					       "<objperslab> <pagesperslab> : tunables <limit> "
					       "<batchcount> <sharedfactor> : slabdata <active_slabs> "
					       "<num_slabs> <sharedavail>");
			continue;
		}
		ck_assert_int_eq(sscanf(line,
					"%63s %lu %lu %u %u %u : tunables %u %u %u : slabdata %lu %lu %lu%n",
					name, &active, &num, &objsize, &per, &pages, &limit, &batch,
					&shared, &aslabs, &nslabs, &savail, &end),
				 12);
		ck_assert_msg(end == (int)strlen(line), "trailing text in row: %s", line);
		snprintf(again, sizeof(again), SLABINFO_ROW, name, active, num, objsize, per, pages,
			 limit, batch, shared, aslabs, nslabs, savail);
		ck_assert_str_eq(line, again);

		s = uslab_cache_find(name);
		ck_assert_msg(s != NULL, "slabinfo row of unknown cache %s", name);
		for (int c = 0; c < 2; c++)
			if (s == demo[c]) {
				ck_assert_int_eq(seen_demo[c], -1);
				seen_demo[c] = row;
			}
		memset(&sum, 0, sizeof(sum));
		for_each_node(node) {
			struct uslab_cache_info i = info_of(s, node);

			sum.active_objs += i.active_objs;
			sum.num_objs += i.num_objs;
			sum.active_slabs += i.active_slabs;
			sum.num_slabs += i.num_slabs;
			sum.shared_avail += i.shared_avail;
		}
		tot = info_of(s, NUMA_NO_NODE);
		ck_assert_msg(active == sum.active_objs && num == sum.num_objs &&
				      aslabs == sum.active_slabs && nslabs == sum.num_slabs &&
				      savail == sum.shared_avail,
			      "%s: slabinfo %lu %lu %lu %lu %lu != per-node sums %lu %lu %lu %lu %lu",
			      name, active, num, aslabs, nslabs, savail, sum.active_objs, sum.num_objs,
			      sum.active_slabs, sum.num_slabs, sum.shared_avail);
		ck_assert_uint_eq(objsize, tot.size);
		ck_assert_uint_eq(per, tot.objs_per_slab);
		ck_assert_uint_eq(pages, tot.pages_per_slab);
		ck_assert_uint_eq(limit, tot.limit);
		ck_assert_uint_eq(batch, tot.batchcount);
		ck_assert_uint_eq(shared, tot.shared);
	}
	/* Both demo caches listed, the newer one first. */
	ck_assert_int_gt(seen_demo[0], 1);
	ck_assert_int_gt(seen_demo[1], 1);
	ck_assert_int_lt(seen_demo[1], seen_demo[0]);
	free(text);

	/* The demo totals themselves: 160 live objects per cache, 40 on each node. */
	for (int c = 0; c < 2; c++) {
		unsigned long live[USLAB_MAX_NUMNODES] = { 0 };

		for_each_node(node)
			live[node] = 20;
		check_node_sums(demo[c]);
		check_active_is_live_plus_cached(demo[c], live);
		ck_assert_int_eq(uslab_cache_leaks(demo[c], NULL), 80);
		for_each_node(node)
			for (int i = 1; i < 40; i += 2) {
				kmem_cache_free(demo[c], objs[c][node][i]);
				live[node]--;
			}
		shrink_and_check(demo[c], live);
		destroy_cache(demo[c]);
	}
}
END_TEST

/* ---- suite ------------------------------------------------------------------------------------ */

static Suite *numa_suite(void)
{
	Suite *s = suite_create("numa");
	TCase *tc;

	tc = tcase_create("placement");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_alloc_node_sizes, 0, ARRAY_SIZE(machines));
	tcase_add_loop_test(tc, test_alloc_local_node, 0, ARRAY_SIZE(machines));
	tcase_add_loop_test(tc, test_kmalloc_node_sizes, 0, ARRAY_SIZE(machines));
	tcase_add_loop_test(tc, test_bad_node_ids, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("frees");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cross_node_frees, 0, 4);
	tcase_add_loop_test(tc, test_alien_threshold, 0, 2);
	tcase_add_loop_test(tc, test_noaliencache, 0, 2);
	tcase_add_loop_test(tc, test_alien_arrays_by_node_count, 0, 2);
	tcase_add_test(tc, test_reap_aliens_round_robin);
	suite_add_tcase(s, tc);

	tc = tcase_create("fallback");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fallback_by_distance);
	tcase_add_test(tc, test_kmalloc_fallback_by_distance);
	tcase_add_loop_test(tc, test_thisnode, 0, 2);
	tcase_add_test(tc, test_thisnode_large_bookkeeping);
	suite_add_tcase(s, tc);

	tc = tcase_create("real");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_real_machine_placement);
	tcase_add_test(tc, test_real_machine_multinode);
	suite_add_tcase(s, tc);

	tc = tcase_create("slabinfo");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_slabinfo_4nodes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* Every test picks its own machine and options: each must run in its own process. */
	unsetenv("USLAB_TOPOLOGY");
	unsetenv("USLAB_NOALIENCACHE");
	unsetenv("USLAB_NOMERGE");
	/* The tests count what arrays and free slabs hold: no periodic reaper moving it meanwhile. */
	setenv("USLAB_REAP_MS", "0", 1);
	unsetenv("USLAB_DEBUG");
	unsetenv("USLAB_FAIL");
	sr = srunner_create(numa_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
