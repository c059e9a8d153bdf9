// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/stress/stress-hotplug.c - the allocator under CPU and memory-node
 * hotplug, through the public API only.
 *
 * A synthetic machine of 4 nodes and 8 CPUs. N worker threads (6 by default)
 * each act as a random CPU (online or not, re-picked now and then) and
 * allocate and free objects of several caches (32 B .. 5000 B, one of them
 * SLAB_ACCOUNT, allocated by the workers attached to a tenant), some with
 * kmem_cache_alloc_node() on a random node, with or without __GFP_THISNODE.
 * A third of their frees are cross-thread: objects pass through a shared
 * exchange buffer. Meanwhile one hotplug thread takes random CPUs and memory
 * nodes down and up. Before half of its node offlines it asks the workers to
 * give back their objects of that node (they acknowledge through a counter,
 * no sleeping), so that both vetoed (-EBUSY) and successful offlines happen;
 * a veto is counted, never an error. It also shrinks a cache and runs a
 * reaper pass now and then.
 *
 * Every object starts with a header (magic, cache, owner thread, id, a check
 * word tied to the address) and ends with the complement of the check word;
 * both are verified on every free and at the end. At the end, with every
 * thread stopped and everything back online: for each cache, allocations
 * minus frees must equal both the objects the threads still hold and the
 * objects the cache itself counts as allocated (uslab_cache_leaks); every
 * cache must validate; after freeing what is held no object may remain and
 * every cache must be destroyed successfully. The hotplug counters of the
 * library must match the transitions this program counted.
 *
 * Prints: "transitions done: X (cpu downs A, ups B, node offlines C (vetoed
 * D), onlines E), ops done: Y, objects lost: Z" and exits non-zero on any
 * loss, corruption, failed validation or failed destroy.
 *
 * Options: --transitions N (default 2000), --threads N (6), --seconds S
 * (stop the hotplug thread after S seconds even if N transitions were not
 * reached; default 0 = no limit), --seed N (default: from the clock),
 * --quiet. make stress runs the
 * long version; make check runs test-stress-short.sh (--transitions 400
 * --seconds 8). The seed is printed first; thread interleavings are not
 * reproducible, the random choices are.
 */
#define _GNU_SOURCE
#include <uslab.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TRANSITIONS 2000
#define DEFAULT_SECONDS 0

#define MAX_THREADS 64
#define NSLOTS 512          /* objects a worker holds at most */
#define XCHG_SIZE 256       /* the cross-thread exchange buffer */
#define OBJ_MAGIC 0x53545253u

/* ---- caches ------------------------------------------------------------------------ */

static const struct cache_def {
	const char *name;
	unsigned int size;
	slab_flags_t flags;
} cache_defs[] = {
	{ "stress-32", 32, 0 },
	{ "stress-96", 96, SLAB_HWCACHE_ALIGN },
	{ "stress-256", 256, 0 },
	{ "stress-700", 700, 0 },
	{ "stress-2100", 2100, 0 },
	{ "stress-5000", 5000, 0 },
	{ "stress-acct", 128, SLAB_ACCOUNT },
};
#define NCACHES (sizeof(cache_defs) / sizeof(cache_defs[0]))
#define ACCT_CACHE (NCACHES - 1)

static struct kmem_cache *caches[NCACHES];
static struct mem_cgroup *tenant;

/* 24 bytes: the smallest cache (32 B) still has room for the 8-byte tail. */
struct objhdr {
	uint32_t magic;
	uint16_t cache;
	uint16_t owner;
	uint64_t id;
	uint64_t check;
};
_Static_assert(sizeof(struct objhdr) + sizeof(uint64_t) <= 32, "header and tail fit 32 bytes");

static uint64_t obj_check(const void *p, uint64_t id, uint32_t cache)
{
	uint64_t x = (uintptr_t)p ^ (id * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)cache << 56);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 29);
}

static void obj_init(void *p, uint32_t cache, uint32_t owner, uint64_t id)
{
	struct objhdr *h = p;
	uint64_t tail;

	h->magic = OBJ_MAGIC;
	h->cache = (uint16_t)cache;
	h->owner = (uint16_t)owner;
	h->id = id;
	h->check = obj_check(p, id, cache);
	tail = ~h->check;
	memcpy((char *)p + cache_defs[cache].size - sizeof(tail), &tail, sizeof(tail));
}

/* True when @p is a sound object of cache @cache. */
static bool obj_ok(const void *p, uint32_t cache)
{
	const struct objhdr *h = p;
	uint64_t tail;

	memcpy(&tail, (const char *)p + cache_defs[cache].size - sizeof(tail), sizeof(tail));
	return h->magic == OBJ_MAGIC && h->cache == cache && h->check == obj_check(p, h->id, cache) &&
	       tail == ~h->check;
}

/* ---- shared state -------------------------------------------------------------------- */

struct held {
	void *p;
	uint32_t cache;
};

static struct {
	pthread_mutex_t lock;
	struct held e[XCHG_SIZE];
	unsigned int n;
} xchg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int stop;                  /* atomic: workers stop */
static unsigned int drain_epoch;  /* atomic: bumped for each drain request */
static int drain_node = -1;       /* atomic: node the workers should leave, or -1 */
static unsigned int nr_threads = 6;
static unsigned long opt_transitions = DEFAULT_TRANSITIONS;
static unsigned long opt_seconds = DEFAULT_SECONDS;
static unsigned int opt_seed;      /* 0: from the clock; printed for re-runs */
static bool opt_quiet;

struct worker {
	pthread_t thread;
	unsigned int id;
	unsigned int seed;
	unsigned int acked_epoch;     /* atomic: last drain request handled */
	int cpu;
	struct held slot[NSLOTS];
	unsigned long allocs[NCACHES], frees[NCACHES];
	unsigned long ops;            /* atomic: progress */
	unsigned long corrupt, alloc_failed, thisnode_failed, cpu_moves;
	uint64_t next_id;
};

static struct worker workers[MAX_THREADS];

/* Frees by the hotplug thread (exchange buffer drains) and the final cleanup. */
static unsigned long main_frees[NCACHES];
static unsigned long main_corrupt;

static unsigned int rnd(unsigned int *seed)
{
	return (unsigned int)rand_r(seed);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- workers ------------------------------------------------------------------------- */

static void worker_free(struct worker *w, struct held *h, unsigned long *frees,
			unsigned long *corrupt)
{
	if (!obj_ok(h->p, h->cache)) {
		if ((*corrupt)++ < 10)
			fprintf(stderr, "stress: corrupt object %p of %s\n", h->p,
				cache_defs[h->cache].name);
	}
	memset(h->p, 0, sizeof(struct objhdr)); /* a stale pointer would now fail the check */
	kmem_cache_free(caches[h->cache], h->p);
	frees[h->cache]++;
	h->p = NULL;
	(void)w;
}

static void worker_pick_cpu(struct worker *w, int avoid_node)
{
	int cpu;

	do
		cpu = (int)(rnd(&w->seed) % uslab_nr_cpu_ids());
	while (avoid_node >= 0 && cpu_to_node(cpu) == avoid_node);
	w->cpu = cpu;
	uslab_thread_set_cpu(cpu);
	w->cpu_moves++;
}

/* The hotplug thread wants node @nid empty: give back what this thread holds there. */
static void worker_drain(struct worker *w, unsigned int epoch)
{
	int nid = __atomic_load_n(&drain_node, __ATOMIC_ACQUIRE);

	if (nid >= 0) {
		for (int i = 0; i < NSLOTS; i++)
			if (w->slot[i].p && uslab_obj_node(w->slot[i].p) == nid)
				worker_free(w, &w->slot[i], w->frees, &w->corrupt);
		if (cpu_to_node(w->cpu) == nid)
			worker_pick_cpu(w, nid);
	}
	__atomic_store_n(&w->acked_epoch, epoch, __ATOMIC_RELEASE);
}

static void worker_alloc(struct worker *w, struct held *h, int avoid_node)
{
	uint32_t c = rnd(&w->seed) % NCACHES;
	unsigned int r = rnd(&w->seed) % 100;
	void *p;

	if (r < 15) {
		int nid = (int)(rnd(&w->seed) % uslab_nr_node_ids());
		gfp_t gfp = GFP_KERNEL | (r < 5 ? __GFP_THISNODE : 0);

		if (nid == avoid_node)
			nid = NUMA_NO_NODE;
		p = kmem_cache_alloc_node(caches[c], gfp, nid);
		if (!p && (gfp & __GFP_THISNODE)) {
			/* The node may be offline (or going): allowed to fail, nothing else. */
			w->thisnode_failed++;
			return;
		}
	} else {
		p = kmem_cache_alloc(caches[c], GFP_KERNEL);
	}
	if (!p) {
		w->alloc_failed++;
		fprintf(stderr, "stress: allocation from %s failed: %s\n", cache_defs[c].name,
			strerror(errno));
		return;
	}
	obj_init(p, c, w->id, w->next_id++);
	h->p = p;
	h->cache = c;
	w->allocs[c]++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int epoch = 0;

	if (w->id % 2 == 0 && mem_cgroup_attach_thread(tenant) != 0)
		w->alloc_failed++;
	worker_pick_cpu(w, -1);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		unsigned int e = __atomic_load_n(&drain_epoch, __ATOMIC_ACQUIRE);
		int avoid = -1;

		if (e != epoch) {
			epoch = e;
			worker_drain(w, e);
		}
		avoid = __atomic_load_n(&drain_node, __ATOMIC_ACQUIRE);
		if (rnd(&w->seed) % 512 == 0)
			worker_pick_cpu(w, avoid);

		struct held *h = &w->slot[rnd(&w->seed) % NSLOTS];
		unsigned int r = rnd(&w->seed) % 100;

		if (r < 70) {
			/* Own alloc or free, whichever the slot allows. */
			if (h->p)
				worker_free(w, h, w->frees, &w->corrupt);
			else
				worker_alloc(w, h, avoid);
		} else if (h->p) {
			/* Give it to another thread, or free it if the buffer is full. */
			pthread_mutex_lock(&xchg.lock);
			if (xchg.n < XCHG_SIZE) {
				xchg.e[xchg.n++] = *h;
				h->p = NULL;
			}
			pthread_mutex_unlock(&xchg.lock);
			if (h->p)
				worker_free(w, h, w->frees, &w->corrupt);
		} else {
			/* Free one another thread allocated (cross-thread free). */
			struct held got = { NULL, 0 };

			pthread_mutex_lock(&xchg.lock);
			if (xchg.n)
				got = xchg.e[--xchg.n];
			pthread_mutex_unlock(&xchg.lock);
			if (got.p)
				worker_free(w, &got, w->frees, &w->corrupt);
		}
		__atomic_add_fetch(&w->ops, 1, __ATOMIC_RELAXED);
	}
	if (w->id % 2 == 0)
		mem_cgroup_attach_thread(NULL);
	return NULL;
}

/* ---- the hotplug thread ------------------------------------------------------------- */

static struct hp_counts {
	unsigned long cpu_down, cpu_up, node_offline, node_vetoed, node_online;
	unsigned long drained_offlines, failed, shrinks, reaps;
} hp;

static unsigned long hp_transitions(void)
{
	return hp.cpu_down + hp.cpu_up + hp.node_offline + hp.node_online;
}

/* Ask every worker to leave node @nid and wait until all have (they never block on us). */
static void request_drain(int nid)
{
	unsigned int e;

	__atomic_store_n(&drain_node, nid, __ATOMIC_RELEASE);
	e = __atomic_add_fetch(&drain_epoch, 1, __ATOMIC_ACQ_REL);
	for (unsigned int i = 0; i < nr_threads; i++)
		while (__atomic_load_n(&workers[i].acked_epoch, __ATOMIC_ACQUIRE) != e)
			sched_yield();
	/* And the exchange buffer's objects of that node. */
	pthread_mutex_lock(&xchg.lock);
	for (unsigned int i = 0; i < xchg.n;) {
		if (uslab_obj_node(xchg.e[i].p) == nid) {
			struct held h = xchg.e[i];

			xchg.e[i] = xchg.e[--xchg.n];
			worker_free(NULL, &h, main_frees, &main_corrupt);
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&xchg.lock);
	/* Objects freed but parked (ASan builds keep a quarantine) leave with a shrink. */
	for (unsigned int c = 0; c < NCACHES; c++)
		kmem_cache_shrink(caches[c]);
}

static void end_drain(void)
{
	__atomic_store_n(&drain_node, -1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&drain_epoch, 1, __ATOMIC_ACQ_REL);
}

static void *hotplug_main(void *arg)
{
	unsigned int seed = opt_seed * 2654435761u + 7;
	double deadline = opt_seconds ? now() + (double)opt_seconds : 0;
	const struct timespec pace = { 0, 20000 }; /* 20 us between transitions: pacing only */

	(void)arg;
	uslab_thread_set_cpu(0);
	while (hp_transitions() < opt_transitions && !(deadline && now() > deadline)) {
		unsigned int r = rnd(&seed) % 100;
		int err;

		if (r < 60) {
			unsigned int cpu = rnd(&seed) % uslab_nr_cpu_ids();

			if (cpu_online((int)cpu)) {
				if (num_online_cpus() <= 2)
					continue;
				err = cpu_down(cpu);
				if (err == 0)
					hp.cpu_down++;
			} else {
				err = cpu_up(cpu);
				if (err == 0)
					hp.cpu_up++;
			}
			if (err) {
				hp.failed++;
				fprintf(stderr, "stress: CPU %u change failed: %d\n", cpu, err);
			}
		} else {
			int nid = (int)(rnd(&seed) % uslab_nr_node_ids());

			if (node_online(nid)) {
				bool drained = rnd(&seed) % 2;

				if (num_online_nodes() <= 1)
					continue;
				if (drained)
					request_drain(nid);
				err = mem_node_offline(nid);
				if (drained)
					end_drain();
				if (err == 0) {
					hp.node_offline++;
					hp.drained_offlines += drained;
				} else if (err == -EBUSY) {
					hp.node_vetoed++;
				} else {
					hp.failed++;
					fprintf(stderr, "stress: node %d offline failed: %d\n", nid, err);
				}
			} else {
				err = mem_node_online(nid);
				if (err == 0) {
					hp.node_online++;
				} else {
					hp.failed++;
					fprintf(stderr, "stress: node %d online failed: %d\n", nid, err);
				}
			}
		}
		if (r % 23 == 0) {
			kmem_cache_shrink(caches[rnd(&seed) % NCACHES]);
			hp.shrinks++;
		} else if (r % 11 == 0) {
			uslab_reap();
			hp.reaps++;
		}
		nanosleep(&pace, NULL);
	}
	return NULL;
}

/* ---- the end -------------------------------------------------------------------------- */

static struct kmem_cache *acct_child(void)
{
	char name[160];

	snprintf(name, sizeof(name), "%s(%u:%s)", cache_defs[ACCT_CACHE].name,
		 mem_cgroup_id(tenant), mem_cgroup_name(tenant));
	return uslab_cache_find(name);
}

/* Objects cache @c counts as allocated (its tenant child included). */
static long cache_allocated(unsigned int c)
{
	long n = uslab_cache_leaks(caches[c], NULL);

	if (c == ACCT_CACHE) {
		struct kmem_cache *child = acct_child();

		if (child)
			n += uslab_cache_leaks(child, NULL);
	}
	return n;
}

static int cache_validate(unsigned int c)
{
	int err = uslab_cache_validate(caches[c]);

	if (c == ACCT_CACHE) {
		struct kmem_cache *child = acct_child();

		if (child && uslab_cache_validate(child))
			err = -EUCLEAN;
	}
	return err;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--transitions N] [--threads N] [--seconds S] [--seed N] [--quiet]\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	struct uslab_hotplug_stats st0, st1;
	unsigned long ops = 0, lost = 0, corrupt = 0, alloc_failed = 0, thisnode_failed = 0;
	int failures = 0;
	pthread_t hp_thread;
	double t0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--transitions") && i + 1 < argc)
			opt_transitions = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nr_threads = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			opt_seconds = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			opt_seed = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--quiet"))
			opt_quiet = true;
		else
			usage(argv[0]);
	}
	if (nr_threads < 1 || nr_threads > MAX_THREADS)
		usage(argv[0]);
	if (!opt_seed)
		opt_seed = (unsigned int)time(NULL) * 2654435761u ^ (unsigned int)clock();
	if (!opt_seed)
		opt_seed = 1;
	if (!opt_quiet)
		fprintf(stderr, "stress: seed %u (--seed %u repeats the random choices)\n", opt_seed,
			opt_seed);

	int err = uslab_init(&(struct uslab_config){ .topology = "node:4 core:2 pu:1",
						     .nomerge = true });
	if (err) {
		fprintf(stderr, "stress: uslab_init: %d\n", err);
		return 1;
	}
	tenant = mem_cgroup_create(NULL, "stress");
	if (!tenant) {
		fprintf(stderr, "stress: mem_cgroup_create: %s\n", strerror(errno));
		return 1;
	}
	for (unsigned int c = 0; c < NCACHES; c++) {
		caches[c] = kmem_cache_create(cache_defs[c].name, cache_defs[c].size, 0,
					      cache_defs[c].flags, NULL);
		if (!caches[c]) {
			fprintf(stderr, "stress: cannot create %s\n", cache_defs[c].name);
			return 1;
		}
	}
	uslab_hotplug_stats(&st0);
	t0 = now();

	for (unsigned int i = 0; i < nr_threads; i++) {
		workers[i].id = i;
		workers[i].seed = opt_seed * 7919u + i * 104729u + 1;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i])) {
			fprintf(stderr, "stress: pthread_create failed\n");
			return 1;
		}
	}
	if (pthread_create(&hp_thread, NULL, hotplug_main, NULL)) {
		fprintf(stderr, "stress: pthread_create failed\n");
		return 1;
	}
	pthread_join(hp_thread, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < nr_threads; i++)
		pthread_join(workers[i].thread, NULL);
	double elapsed = now() - t0;

	/* Everything back online, then count: nobody allocates or frees any more. */
	for (int nid = 0; nid < (int)uslab_nr_node_ids(); nid++)
		if (!node_online(nid) && mem_node_online(nid) == 0)
			hp.node_online++;
	for (int cpu = 0; cpu < (int)uslab_nr_cpu_ids(); cpu++)
		if (!cpu_online(cpu) && cpu_up((unsigned int)cpu) == 0)
			hp.cpu_up++;
	uslab_hotplug_stats(&st1);
	if (st1.cpu_down - st0.cpu_down != hp.cpu_down || st1.cpu_up - st0.cpu_up != hp.cpu_up ||
	    st1.node_offline - st0.node_offline != hp.node_offline ||
	    st1.node_online - st0.node_online != hp.node_online ||
	    st1.node_vetoed - st0.node_vetoed != hp.node_vetoed) {
		fprintf(stderr, "stress: uslab_hotplug_stats disagree with the transitions done\n");
		failures++;
	}
	if (hp.failed)
		failures++;

	for (unsigned int c = 0; c < NCACHES; c++) {
		unsigned long allocs = 0, frees = main_frees[c], held = 0;
		long found;

		for (unsigned int i = 0; i < nr_threads; i++) {
			allocs += workers[i].allocs[c];
			frees += workers[i].frees[c];
			for (int k = 0; k < NSLOTS; k++)
				if (workers[i].slot[k].p && workers[i].slot[k].cache == c)
					held++;
		}
		for (unsigned int k = 0; k < xchg.n; k++)
			held += xchg.e[k].cache == c;
		found = cache_allocated(c);
		if (allocs - frees != held || (long)held != found) {
			fprintf(stderr, "stress: %s: %lu allocs - %lu frees = %lu, held %lu, cache counts %ld\n",
				cache_defs[c].name, allocs, frees, allocs - frees, held, found);
			lost += (unsigned long)labs((long)(allocs - frees) - found);
			if (allocs - frees != held)
				lost += (unsigned long)labs((long)(allocs - frees) - (long)held);
			if (!lost)
				lost = 1;
		}
		if (cache_validate(c)) {
			fprintf(stderr, "stress: %s does not validate\n", cache_defs[c].name);
			failures++;
		}
	}

	/* Free what is held (checking every header), then nothing may remain. */
	for (unsigned int i = 0; i < nr_threads; i++)
		for (int k = 0; k < NSLOTS; k++)
			if (workers[i].slot[k].p)
				worker_free(NULL, &workers[i].slot[k], main_frees, &main_corrupt);
	for (unsigned int k = 0; k < xchg.n; k++)
		worker_free(NULL, &xchg.e[k], main_frees, &main_corrupt);
	xchg.n = 0;
	for (unsigned int c = 0; c < NCACHES; c++) {
		long left = cache_allocated(c);

		if (left != 0) {
			fprintf(stderr, "stress: %s still has %ld objects after the final frees\n",
				cache_defs[c].name, left);
			lost += (unsigned long)labs(left);
		}
		if (cache_validate(c)) {
			fprintf(stderr, "stress: %s does not validate after the final frees\n",
				cache_defs[c].name);
			failures++;
		}
		err = uslab_cache_destroy(caches[c]);
		if (err) {
			fprintf(stderr, "stress: destroying %s: %d\n", cache_defs[c].name, err);
			failures++;
		}
	}
	if (mem_cgroup_destroy(tenant) != 0) {
		fprintf(stderr, "stress: mem_cgroup_destroy failed\n");
		failures++;
	}

	unsigned long cpu_moves = 0;
	for (unsigned int i = 0; i < nr_threads; i++) {
		ops += workers[i].ops;
		corrupt += workers[i].corrupt;
		alloc_failed += workers[i].alloc_failed;
		thisnode_failed += workers[i].thisnode_failed;
		cpu_moves += workers[i].cpu_moves;
	}
	corrupt += main_corrupt;
	if (corrupt || alloc_failed)
		failures++;
	if (hp_transitions() == 0)
		failures++;

	if (!opt_quiet)
		fprintf(stderr,
			"stress: %u threads, %.1f s, %lu node offlines after a drain request, "
			"%lu __GFP_THISNODE misses, %lu CPU re-picks, %lu shrinks, %lu reaps, "
			"%lu corrupt, %lu failed allocations\n",
			nr_threads, elapsed, hp.drained_offlines, thisnode_failed, cpu_moves, hp.shrinks,
			hp.reaps, corrupt, alloc_failed);
	printf("transitions done: %lu (cpu downs %lu, ups %lu, node offlines %lu (vetoed %lu), "
	       "onlines %lu), ops done: %lu, objects lost: %lu\n",
	       hp_transitions(), hp.cpu_down, hp.cpu_up, hp.node_offline, hp.node_vetoed,
	       hp.node_online, ops, lost);
	return (lost || failures) ? 1 : 0;
}
