// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench/workloads.c - the child side of uslab-bench: one process times one
 * workload with one allocator and prints one result line (bench/bench.h).
 *
 * The loops live in bench/workloads.inc.h and are instantiated twice here:
 * for uslab (kmem_cache_alloc/free on a 64-byte cache, kmalloc/kfree) and for
 * libc (malloc/free), which is whichever malloc the parent preloaded into
 * this process (glibc when nothing is). Each workload runs one untimed
 * warm-up pass before the timed one; single-threaded workloads run pinned to
 * one CPU. After timing, uslab runs are checked: the cache validates and
 * holds no allocated object (kmem_cache_shrink() returns 0), and the
 * thread-scaling run counts that every allocation was freed.
 *
 * The memory workloads (burst, burst-1k, large, large-1m) also report RSS
 * before, at the peak, after the last free, after two decay periods and
 * after the allocator's explicit release call, the page faults of the
 * steady-state rounds (getrusage) and, from extra untimed rounds, the
 * madvise and other memory-management calls (bench/syscount.c).
 */
#define _GNU_SOURCE
#include "bench/bench.h"

#include <uslab/slab.h>
#ifdef USLAB_BENCH_MEMCG
#include <uslab/memcg.h>
#endif

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define USLAB_BENCH_NOINLINE __attribute__((noinline))
#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define BENCH_OBJ_SIZE 64
#define BATCH          1000    /* objects per batch round (issue: 1000) */
#define RING_SLOTS     4096    /* live set of the mixed workload */
#define SPSC_SIZE      1024    /* producer/consumer ring, a power of two */
#define SPSC_PUBLISH   32      /* ring indices published every 32 objects */
#define PC_PASSES      5       /* producer/consumer: best of 5 timed passes */
#define SCALE_BATCH    1000    /* thread scaling: LIFO pairs and batch per round */
#define MIXED_SEQ_LEN  (1u << 20)
#define PAGE_STRIDE    4096    /* wl_fill writes one byte per page */

/* Work per timed pass; --quick divides by QUICK_DIV. */
static const struct {
	uint64_t lifo_pairs, batch_rounds, mixed_steps, pc_pairs, rss_objs, scale_pairs;
} full_counts = {
	.lifo_pairs = 10000000, .batch_rounds = 8000, .mixed_steps = 2u << 20,
	.pc_pairs = 3000000, .rss_objs = 1000000, .scale_pairs = 8000000,
};
#define QUICK_DIV 10

/* ---- helpers the loops use ------------------------------------------------ */

static void wl_oom(const char *where)
{
	fprintf(stderr, "uslab-bench: allocation failed in %s: %s\n", where, strerror(errno));
	exit(3);
}

/* Write through @p and let @p escape: the allocation must really happen. */
static inline void wl_touch(void *p, uint64_t v)
{
	*(uint64_t *)p = v;
	__asm__ volatile("" : : "r"(p) : "memory");
}

/*
 * Write block @p of @n bytes as a server filling a buffer would touch it:
 * the first byte, one byte in every page, and the last byte. An allocator
 * that hands out fresh (unfaulted) memory pays its page faults here.
 */
static inline void wl_fill(void *p, size_t n, uint64_t v)
{
	unsigned char *c = p;

	for (size_t off = PAGE_STRIDE; off < n; off += PAGE_STRIDE)
		c[off] = (unsigned char)v;
	c[n - 1] = (unsigned char)v;
	wl_touch(p, v);
}

static inline void wl_spin_wait(unsigned int spins)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
	/* Beyond a short spin, let the other side run (the machine may be shared). */
	if (spins > 256)
		sched_yield();
}

static void wl_pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The CPUs this process may run on, lowest and highest (-1 when unknown). */
static void allowed_cpus(int *first, int *last)
{
	cpu_set_t set;

	*first = *last = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (*first < 0)
			*first = c;
		*last = c;
	}
}

struct mixed_seq {
	uint32_t len;
	uint16_t *size;   /* 8 .. 8192 */
	uint16_t *slot;   /* 0 .. RING_SLOTS-1 */
};

struct spsc_ring {
	_Alignas(64) atomic_uint_fast64_t head;   /* written by the consumer */
	_Alignas(64) atomic_uint_fast64_t tail;   /* written by the producer */
	_Alignas(64) void *slot[SPSC_SIZE];
};

struct pc_args {
	struct spsc_ring *ring;
	uint64_t pairs;
	int cpu, cpu2;                /* producer's and consumer's CPU, -1: any */
	pthread_barrier_t start;
	uint64_t t_start[2], t_end[2]; /* each thread's own clock readings */
	uint64_t bad;                 /* consumer: objects that lost their contents */
};

struct scale_thread {
	pthread_barrier_t *start;
	uint64_t warm_rounds, rounds;
	uint64_t t_start, t_end;      /* own clock readings around the timed rounds */
	uint64_t allocs, frees, bad;
} __attribute__((aligned(64)));

/* ---- the two instantiations ------------------------------------------------ */

static struct kmem_cache *bench_cache;

#define WL_NAME(x)   x##_uslab
#define WL_LOCALS    struct kmem_cache *const wl_cache = bench_cache
#define WL_ALLOC64() kmem_cache_alloc(wl_cache, GFP_KERNEL)
#define WL_FREE64(p) kmem_cache_free(wl_cache, (p))
#define WL_ALLOC(n)  kmalloc((n), GFP_KERNEL)
#define WL_FREE(p)   kfree(p)
#include "bench/workloads.inc.h"
#undef WL_NAME
#undef WL_LOCALS
#undef WL_ALLOC64
#undef WL_FREE64
#undef WL_ALLOC
#undef WL_FREE

#define WL_NAME(x)   x##_libc
#define WL_LOCALS    (void)0
#define WL_ALLOC64() malloc(BENCH_OBJ_SIZE)
#define WL_FREE64(p) free(p)
#define WL_ALLOC(n)  malloc(n)
#define WL_FREE(p)   free(p)
#include "bench/workloads.inc.h"
#undef WL_NAME
#undef WL_LOCALS
#undef WL_ALLOC64
#undef WL_FREE64
#undef WL_ALLOC
#undef WL_FREE

/* ---- the workload list ------------------------------------------------------ */

const struct bench_workload bench_workloads[] = {
	{ "lifo", "64 B alloc+free, LIFO pairs, 1 thread", UNIT_NS_PER_PAIR,
	  false, true, TARGET_AT_MOST, 0.80, false, false },
	{ "batch", "64 B alloc 1000 then free 1000, 1 thread", UNIT_NS_PER_PAIR,
	  false, true, TARGET_AT_MOST, 0.80, false, false },
	{ "mixed", "kmalloc/kfree 8..8192 B, ring of 4096 live", UNIT_NS_PER_PAIR,
	  false, true, TARGET_AT_MOST, 1.00, false, false },
	{ "prodcons", "64 B alloc on one thread, free on another", UNIT_MPAIRS_PER_S,
	  false, false, TARGET_AT_LEAST, 1.00, false, false },
#ifdef USLAB_BENCH_MEMCG
	{ "acct-lifo-root", "SLAB_ACCOUNT cache, root tenant, LIFO", UNIT_NS_PER_PAIR,
	  true, true, TARGET_NONE, 0, false, false },
	{ "acct-lifo-tenant", "same cache, non-root tenant, LIFO", UNIT_NS_PER_PAIR,
	  true, true, TARGET_AT_MOST, 1.15, false, false },
	{ "acct-batch-root", "SLAB_ACCOUNT cache, root tenant, batch", UNIT_NS_PER_PAIR,
	  true, true, TARGET_NONE, 0, false, false },
	{ "acct-batch-tenant", "same cache, non-root tenant, batch", UNIT_NS_PER_PAIR,
	  true, true, TARGET_AT_MOST, 1.15, false, false },
#endif
	{ "rss", "RSS growth / live bytes, 1M live 64 B", UNIT_RSS_RATIO,
	  false, true, TARGET_NONE, 0, false, false },
	{ "threads-1", "shared cache, LIFO+batch, 1 thread", UNIT_MPAIRS_PER_S,
	  false, false, TARGET_NONE, 0, false, false },
	{ "threads-2", "shared cache, LIFO+batch, 2 threads", UNIT_MPAIRS_PER_S,
	  false, false, TARGET_NONE, 0, false, false },
	{ "threads-4", "shared cache, LIFO+batch, 4 threads", UNIT_MPAIRS_PER_S,
	  false, false, TARGET_NONE, 0, false, false },
	{ "threads-8", "shared cache, LIFO+batch, 8 threads", UNIT_MPAIRS_PER_S,
	  false, false, TARGET_NONE, 0, false, false },
	{ "burst", "kmalloc 20000 of 32..4096 B (17.5 MB), free all, repeat",
	  UNIT_NS_PER_PAIR, false, true, TARGET_AT_MOST, 1.00, true, true },
	{ "burst-1k", "the same burst with 1000 objects", UNIT_NS_PER_PAIR,
	  false, true, TARGET_NONE, 0, true, false },
	{ "large", "16..256 KiB buffers, four live, oldest replaced", UNIT_NS_PER_PAIR,
	  false, true, TARGET_AT_MOST, 1.00, true, true },
	{ "large-1m", "1 MiB buffer alloc+free", UNIT_NS_PER_PAIR,
	  false, true, TARGET_NONE, 0, true, false },
	/* Hidden: a fixed loop for bench/callgrind.sh, not in the table. */
	{ "lifo-callgrind", NULL, UNIT_NS_PER_PAIR, false, true, TARGET_NONE, 0, false, false },
};
const unsigned int bench_nr_workloads = sizeof(bench_workloads) / sizeof(bench_workloads[0]);

/* ---- child ------------------------------------------------------------------- */

struct child_result {
	double value, aux[BENCH_NR_AUX];
	char status[96];
};

static bool is_uslab;

static void fail(struct child_result *r, const char *why)
{
	if (strcmp(r->status, "ok") == 0)
		snprintf(r->status, sizeof(r->status), "fail:%s", why);
}

/* A fresh 64-byte cache; never merged, so validation and RSS see only ours. */
static int make_cache(slab_flags_t extra)
{
	bench_cache = kmem_cache_create(extra ? "bench-acct64" : "bench64", BENCH_OBJ_SIZE, 0,
					SLAB_NO_MERGE | extra, NULL);
	if (!bench_cache) {
		fprintf(stderr, "uslab-bench: kmem_cache_create: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* After timing: the cache is consistent and every object came back. */
static void check_cache(struct kmem_cache *s, struct child_result *r)
{
	if (uslab_cache_validate(s) != 0)
		fail(r, "uslab_cache_validate");
	if (kmem_cache_shrink(s) != 0)
		fail(r, "objects-still-allocated");
}

/* After a kmalloc workload: every kmalloc class must still be consistent. */
static void check_kmalloc_caches(struct child_result *r)
{
	static const unsigned int cls[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512,
					    1024, 2048, 4096, 8192 };

	for (size_t i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
		char name[32];
		struct kmem_cache *s;

		snprintf(name, sizeof(name), "kmalloc-%u", cls[i]);
		s = uslab_cache_find(name);
		if (!s || uslab_cache_validate(s) != 0)
			fail(r, "kmalloc-cache-validate");
	}
}

static void *map_array(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		wl_oom("mmap");
	memset(p, 0, bytes);   /* fault it in before any RSS baseline */
	return p;
}

static double ns_per(uint64_t ns, uint64_t n)
{
	return (double)ns / (double)n;
}

/* Keep checksums alive without printing them. */
static volatile uint64_t sink;

static void run_lifo(uint64_t pairs, struct child_result *r)
{
	uint64_t t0, t1;

	if (is_uslab) {
		lifo_uslab(pairs / 10);
		t0 = bench_now_ns();
		sink += lifo_uslab(pairs);
		t1 = bench_now_ns();
	} else {
		lifo_libc(pairs / 10);
		t0 = bench_now_ns();
		sink += lifo_libc(pairs);
		t1 = bench_now_ns();
	}
	r->value = ns_per(t1 - t0, pairs);
}

static void run_batch(uint64_t rounds, struct child_result *r)
{
	void *slot[BATCH];
	uint64_t t0, t1;

	if (is_uslab) {
		batch_uslab(rounds / 10 + 1, slot, BATCH);
		t0 = bench_now_ns();
		sink += batch_uslab(rounds, slot, BATCH);
		t1 = bench_now_ns();
	} else {
		batch_libc(rounds / 10 + 1, slot, BATCH);
		t0 = bench_now_ns();
		sink += batch_libc(rounds, slot, BATCH);
		t1 = bench_now_ns();
	}
	r->value = ns_per(t1 - t0, rounds * BATCH);
}

/*
 * The mixed sequence: fixed seed, sizes skewed to small ones (per mille:
 * 8-32: 350, 33-64: 250, 65-128: 150, 129-256: 100, 257-512: 60,
 * 513-1024: 40, 1025-2048: 25, 2049-4096: 15, 4097-8192: 10), uniform inside
 * each band; slots uniform over the ring.
 */
static uint64_t xorshift64s(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

static void mixed_seq_init(struct mixed_seq *seq)
{
	static const struct { unsigned int lo, hi, permille; } band[] = {
		{ 8, 32, 350 }, { 33, 64, 250 }, { 65, 128, 150 }, { 129, 256, 100 },
		{ 257, 512, 60 }, { 513, 1024, 40 }, { 1025, 2048, 25 },
		{ 2049, 4096, 15 }, { 4097, 8192, 10 },
	};
	uint64_t x = 0x9e3779b97f4a7c15ull;

	seq->len = MIXED_SEQ_LEN;
	seq->size = map_array(seq->len * sizeof(*seq->size));
	seq->slot = map_array(seq->len * sizeof(*seq->slot));
	for (uint32_t i = 0; i < seq->len; i++) {
		unsigned int pick = (unsigned int)(xorshift64s(&x) % 1000), b = 0;

		while (pick >= band[b].permille) {
			pick -= band[b].permille;
			b++;
		}
		seq->size[i] = (uint16_t)(band[b].lo +
					  xorshift64s(&x) % (band[b].hi - band[b].lo + 1));
		seq->slot[i] = (uint16_t)(xorshift64s(&x) % RING_SLOTS);
	}
}

static void run_mixed(uint64_t steps, struct child_result *r)
{
	struct mixed_seq seq;
	void **ring = map_array(RING_SLOTS * sizeof(void *));
	uint64_t t0, t1;

	mixed_seq_init(&seq);
	/* Warm-up: one pass over the sequence, which also fills the ring. */
	if (is_uslab) {
		mixed_uslab(&seq, seq.len, ring);
		t0 = bench_now_ns();
		sink += mixed_uslab(&seq, steps, ring);
		t1 = bench_now_ns();
	} else {
		mixed_libc(&seq, seq.len, ring);
		t0 = bench_now_ns();
		sink += mixed_libc(&seq, steps, ring);
		t1 = bench_now_ns();
	}
	for (unsigned int i = 0; i < RING_SLOTS; i++) {
		if (is_uslab)
			kfree(ring[i]);
		else
			free(ring[i]);
	}
	r->value = ns_per(t1 - t0, steps);
	if (is_uslab)
		check_kmalloc_caches(r);
}

/*
 * Timed from the first worker's start to the last one's end, read by the
 * workers themselves: the main thread may not get a CPU back for a while.
 */
static void pc_pass(struct pc_args *a, uint64_t pairs, uint64_t *ns)
{
	pthread_t prod, cons;
	void *(*pf)(void *) = is_uslab ? producer_uslab : producer_libc;
	void *(*cf)(void *) = is_uslab ? consumer_uslab : consumer_libc;

	atomic_store(&a->ring->head, 0);
	atomic_store(&a->ring->tail, 0);
	a->pairs = pairs;
	pthread_barrier_init(&a->start, NULL, 2);
	if (pthread_create(&prod, NULL, pf, a) || pthread_create(&cons, NULL, cf, a)) {
		fprintf(stderr, "uslab-bench: pthread_create failed\n");
		exit(3);
	}
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	*ns = MAX(a->t_end[0], a->t_end[1]) - MIN(a->t_start[0], a->t_start[1]);
	pthread_barrier_destroy(&a->start);
}

static void run_prodcons(uint64_t pairs, struct child_result *r)
{
	static struct spsc_ring ring;
	struct pc_args a = { .ring = &ring };
	uint64_t ns;
	int first, last;

	allowed_cpus(&first, &last);
	/* One CPU each when there are two; otherwise let the scheduler place them. */
	a.cpu = first != last ? first : -1;
	a.cpu2 = first != last ? last : -1;
	pc_pass(&a, pairs / 10, &ns);   /* warm-up */
	/*
	 * Two threads that must run at the same time suffer most from other
	 * load on the machine: the pass is split into PC_PASSES, and the
	 * fastest counts (the same for every allocator).
	 */
	for (unsigned int i = 0; i < PC_PASSES; i++) {
		uint64_t n = pairs / PC_PASSES;
		double mps;

		pc_pass(&a, n, &ns);
		mps = (double)n / ((double)ns / 1e9) / 1e6;
		r->value = MAX(r->value, mps);
	}
	if (a.bad)
		fail(r, "object-contents-changed");
}

static long rss_kib(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * RSS: baseline after the allocator is initialised and the pointer array is
 * faulted in; peak with @n live objects; after freeing them all and
 * kmem_cache_shrink (uslab) or malloc_trim(0) (glibc only; other mallocs get
 * no call, they return memory on their own schedule).
 */
static void run_rss(uint64_t n, const char *alloc, struct child_result *r)
{
	void **ptr = map_array(n * sizeof(void *));
	long before, peak, after;

	if (is_uslab) {
		kmem_cache_free(bench_cache, kmem_cache_alloc(bench_cache, GFP_KERNEL));
		kmem_cache_shrink(bench_cache);
	} else {
		free(malloc(BENCH_OBJ_SIZE));
	}
	before = rss_kib();
	if (is_uslab)
		rss_fill_uslab(ptr, n);
	else
		rss_fill_libc(ptr, n);
	peak = rss_kib();
	if (is_uslab) {
		rss_drain_uslab(ptr, n);
		kmem_cache_shrink(bench_cache);
	} else {
		rss_drain_libc(ptr, n);
		if (strcmp(alloc, "glibc") == 0)
			malloc_trim(0);
	}
	after = rss_kib();
	if (before < 0 || peak < 0 || after < 0) {
		fail(r, "no-/proc/self/statm");
		return;
	}
	r->value = (double)(peak - before) * 1024.0 / ((double)n * BENCH_OBJ_SIZE);
	r->aux[0] = (double)before;
	r->aux[1] = (double)peak;
	r->aux[2] = (double)after;
}

static void run_threads(unsigned int nthreads, uint64_t pairs, struct child_result *r)
{
	struct scale_thread t[8];
	pthread_t tid[8];
	pthread_barrier_t start;
	uint64_t rounds = nthreads ? pairs / (2 * SCALE_BATCH) / nthreads : 0, t0, t1;
	uint64_t allocs = 0, frees = 0, bad = 0;
	void *(*fn)(void *) = is_uslab ? scale_thread_uslab : scale_thread_libc;

	if (nthreads < 1 || nthreads > 8) {
		fail(r, "threads-1..8-only");
		return;
	}
	if (rounds == 0)
		rounds = 1;
	pthread_barrier_init(&start, NULL, nthreads);
	for (unsigned int i = 0; i < nthreads; i++) {
		t[i] = (struct scale_thread){ .start = &start, .rounds = rounds,
					      .warm_rounds = rounds / 10 + 1 };
		if (pthread_create(&tid[i], NULL, fn, &t[i])) {
			fprintf(stderr, "uslab-bench: pthread_create failed\n");
			exit(3);
		}
	}
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	/* From the first thread's start to the last one's end (see pc_pass). */
	t0 = UINT64_MAX;
	t1 = 0;
	for (unsigned int i = 0; i < nthreads; i++) {
		t0 = MIN(t0, t[i].t_start);
		t1 = MAX(t1, t[i].t_end);
	}
	for (unsigned int i = 0; i < nthreads; i++) {
		allocs += t[i].allocs;
		frees += t[i].frees;
		bad += t[i].bad;
	}
	r->value = (double)(rounds * 2 * SCALE_BATCH * nthreads) / ((double)(t1 - t0) / 1e9) / 1e6;
	r->aux[0] = (double)allocs;
	r->aux[1] = (double)frees;
	if (allocs != frees)
		fail(r, "allocs!=frees");
	if (bad)
		fail(r, "object-contents-changed");
}

/* ---- memory workloads: burst, burst-1k, large, large-1m -------------------- */

#define BURST_OBJS       20000   /* issue 12: 20,000 objects per burst */
#define BURST_SMALL_OBJS 1000
#define LARGE_LIVE       4       /* four buffers live, the oldest replaced */
#define LARGE_SEQ_LEN    4096
#define LARGE_MIN        (16u << 10)
#define LARGE_MAX        (256u << 10)
#define LARGE_1M         (1u << 20)
#define LARGE_ROUND      1000    /* large, large-1m: pairs per "round" */
#define MEM_WARM_ROUNDS  2       /* the steady state starts after these */
#define MEM_MIN_ROUNDS   5       /* timed rounds at least ... */
#define MEM_TIME_CAP_NS  3000000000ull   /* ... then at most about 3 s of them */

/* Timed rounds per full run (--quick: a tenth). */
static const struct {
	const char *name;
	uint64_t rounds;
} mem_rounds[] = {
	{ "burst", 100 }, { "burst-1k", 2000 }, { "large", 50 }, { "large-1m", 10 },
};

struct mem_run {
	bool burst;
	uint32_t n;            /* burst: objects per round; large: live buffers */
	uint32_t per_round;    /* alloc+free pairs per round */
	uint32_t *size;        /* burst: n sizes; large: len sizes */
	uint32_t len;
	void **ptr;            /* burst: n blocks; large: the ring */
	uint64_t step;         /* large: the next step of the sequence */
};

/*
 * Burst sizes, a fixed server-like mix: an octave picked uniformly among
 * 32-64, 64-128, ..., 2048-4096 B, then a size uniform inside it (small
 * blocks are as frequent per octave as big ones: mean 871 B, 17.4 MB live
 * at the peak of a 20,000-object burst). Large sizes: uniform 16..256 KiB.
 */
static void mem_sizes(struct mem_run *m, const char *wl)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	if (m->burst) {
		m->len = m->n;
		m->size = map_array(m->len * sizeof(*m->size));
		for (uint32_t i = 0; i < m->len; i++) {
			unsigned int k = (unsigned int)(xorshift64s(&x) % 7);
			uint32_t lo = 32u << k;

			m->size[i] = lo + (uint32_t)(xorshift64s(&x) % (lo + 1));
		}
	} else if (strcmp(wl, "large-1m") == 0) {
		m->len = 1;
		m->size = map_array(sizeof(*m->size));
		m->size[0] = LARGE_1M;
	} else {
		m->len = LARGE_SEQ_LEN;
		m->size = map_array(m->len * sizeof(*m->size));
		for (uint32_t i = 0; i < m->len; i++)
			m->size[i] = LARGE_MIN +
				     (uint32_t)(xorshift64s(&x) % (LARGE_MAX - LARGE_MIN + 1));
	}
}

static void mem_rounds_run(struct mem_run *m, uint64_t rounds)
{
	if (m->burst) {
		if (is_uslab)
			sink += burst_uslab(m->ptr, m->size, m->n, rounds);
		else
			sink += burst_libc(m->ptr, m->size, m->n, rounds);
		return;
	}
	if (is_uslab)
		sink += large_uslab(m->ptr, m->n, m->size, m->len, m->step, rounds * m->per_round);
	else
		sink += large_libc(m->ptr, m->n, m->size, m->len, m->step, rounds * m->per_round);
	m->step += rounds * m->per_round;
}

static uint64_t faults_now(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/*
 * The allocator's call that gives free memory back to the OS at once:
 * uslab_trim() (looked up at run time, so the bench builds before the
 * library has it), glibc's and the shim's malloc_trim(0), jemalloc's
 * "arena.<all>.purge", tcmalloc's MallocExtension_ReleaseFreeMemory(),
 * mimalloc's mi_collect(true). Return: false when there is none.
 */
static bool allocator_trim(const char *alloc)
{
	void *fn;

	if (is_uslab) {
		fn = dlsym(RTLD_DEFAULT, "uslab_trim");
		if (!fn)
			return false;
		sink += ((unsigned long (*)(void))fn)();
	} else if (strcmp(alloc, "glibc") == 0 || strcmp(alloc, "shim") == 0) {
		malloc_trim(0);
	} else if (strcmp(alloc, "jemalloc") == 0) {
		fn = dlsym(RTLD_DEFAULT, "mallctl");
		if (!fn)
			return false;
		/* 4096: MALLCTL_ARENAS_ALL */
		((int (*)(const char *, void *, size_t *, void *, size_t))fn)(
			"arena.4096.purge", NULL, NULL, NULL, 0);
	} else if (strcmp(alloc, "tcmalloc") == 0) {
		fn = dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory");
		if (!fn)
			return false;
		((void (*)(void))fn)();
	} else if (strcmp(alloc, "mimalloc") == 0) {
		fn = dlsym(RTLD_DEFAULT, "mi_collect");
		if (!fn)
			return false;
		((void (*)(bool))fn)(true);
	} else {
		return false;
	}
	return true;
}

/*
 * One memory workload: two warm-up rounds; the timed steady-state rounds
 * (ns per pair; page faults per round from getrusage); a few more untimed
 * rounds with madvise and mm calls counted (bench/syscount.c); a last
 * untimed round for the RSS at its peak and after its last free; then, for
 * burst and large, two decay periods of waiting (untimed, the same for
 * every allocator) and the RSS again; finally the allocator's trim call.
 */
static void run_memory(const struct bench_workload *w, const char *alloc, bool quick,
		       unsigned int decay_ms, struct child_result *r)
{
	struct mem_run m = { .burst = strncmp(w->name, "burst", 5) == 0 };
	uint64_t rounds = 0, counted, f0, f1, t0, t1;
	unsigned long c0[SYSCOUNT_NR], c1[SYSCOUNT_NR];
	long before, peak, after_free;

	for (size_t i = 0; i < sizeof(mem_rounds) / sizeof(mem_rounds[0]); i++)
		if (strcmp(mem_rounds[i].name, w->name) == 0)
			rounds = mem_rounds[i].rounds / (quick ? QUICK_DIV : 1);
	if (rounds < 1)
		rounds = 1;
	if (m.burst) {
		m.n = strcmp(w->name, "burst") == 0 ? BURST_OBJS : BURST_SMALL_OBJS;
		m.per_round = m.n;
	} else {
		m.n = strcmp(w->name, "large") == 0 ? LARGE_LIVE : 1;
		m.per_round = LARGE_ROUND;
	}
	/* Untimed rounds with syscalls counted: at least 10,000 pairs. */
	counted = MAX(2u, 10000u / m.per_round);
	mem_sizes(&m, w->name);
	m.ptr = map_array(m.n * sizeof(void *));
	for (int i = 0; i < MEM_NR_AUX; i++)
		r->aux[i] = NAN;

	/* Initialise the allocator before the baseline. */
	if (is_uslab)
		kfree(kmalloc(64, GFP_KERNEL));
	else
		free(malloc(64));
	before = rss_kib();

	mem_rounds_run(&m, MEM_WARM_ROUNDS);
	f0 = faults_now();
	t0 = bench_now_ns();
	/*
	 * In chunks, so that a very slow allocator stops after MEM_TIME_CAP_NS
	 * (and at least MEM_MIN_ROUNDS) instead of stalling make bench: the
	 * figures are per pair and per round, whatever the count.
	 */
	for (uint64_t done = 0; done < rounds;) {
		uint64_t k = MIN(rounds - done, MAX(rounds / 10, 1));

		mem_rounds_run(&m, k);
		done += k;
		if (done >= MEM_MIN_ROUNDS && bench_now_ns() - t0 > MEM_TIME_CAP_NS)
			rounds = done;
	}
	t1 = bench_now_ns();
	f1 = faults_now();
	r->value = ns_per(t1 - t0, rounds * m.per_round);
	r->aux[MEM_FAULTS] = (double)(f1 - f0) / (double)rounds;

	if (bench_syscount_start() == 0) {
		/* The counter must see a libc call and a raw one. */
		bench_syscount_read(c0);
		madvise(m.ptr, 1, MADV_NORMAL);
		syscall(SYS_madvise, m.ptr, 1, MADV_NORMAL);
		bench_syscount_read(c1);
		if (c1[SYSCOUNT_MADVISE] - c0[SYSCOUNT_MADVISE] != 2)
			fail(r, "syscount-selfcheck");
		bench_syscount_read(c0);
		mem_rounds_run(&m, counted);
		bench_syscount_read(c1);
		r->aux[MEM_MADVISE] = (double)(c1[SYSCOUNT_MADVISE] - c0[SYSCOUNT_MADVISE]) /
				      (double)counted;
		r->aux[MEM_MMCALLS] = (double)(c1[SYSCOUNT_MM] - c0[SYSCOUNT_MM]) /
				      (double)counted;
	}

	/* The last round, stopped at its peak. */
	if (m.burst) {
		sink += is_uslab ? burst_fill_uslab(m.ptr, m.size, m.n)
				 : burst_fill_libc(m.ptr, m.size, m.n);
		peak = rss_kib();
		sink += is_uslab ? burst_drain_uslab(m.ptr, m.n) : burst_drain_libc(m.ptr, m.n);
	} else {
		mem_rounds_run(&m, 1);   /* the ring stays full: n live */
		peak = rss_kib();
		for (uint32_t i = 0; i < m.n; i++) {
			if (is_uslab)
				kfree(m.ptr[i]);
			else
				free(m.ptr[i]);
			m.ptr[i] = NULL;
		}
	}
	after_free = rss_kib();
	if (before < 0 || peak < 0 || after_free < 0) {
		fail(r, "no-/proc/self/statm");
		return;
	}
	r->aux[MEM_BEFORE] = (double)before;
	r->aux[MEM_PEAK] = (double)peak;
	r->aux[MEM_AFTER_FREE] = (double)after_free;
	if (w->decay) {
		sleep_ms(2 * decay_ms);
		r->aux[MEM_AFTER_DECAY] = (double)rss_kib();
	}
	if (allocator_trim(alloc))
		r->aux[MEM_AFTER_TRIM] = (double)rss_kib();
	if (is_uslab)
		check_kmalloc_caches(r);
}

#ifdef USLAB_BENCH_MEMCG
/*
 * Accounted allocation: the same SLAB_ACCOUNT cache from the root tenant
 * (not accounted) or from a fresh non-root tenant without limit. In the
 * tenant run the objects must come from a child cache, not the root cache.
 */
static void run_acct(bool tenant, bool batch, uint64_t lifo_pairs, uint64_t batch_rounds,
		     struct child_result *r)
{
	struct kmem_cache *root = bench_cache, *used;
	struct mem_cgroup *memcg = NULL, *prev = NULL;
	void *probe;

	if (tenant) {
		memcg = mem_cgroup_create(NULL, "bench-tenant");
		if (!memcg) {
			fail(r, "mem_cgroup_create");
			return;
		}
		prev = set_active_memcg(memcg);
	}
	probe = kmem_cache_alloc(root, GFP_KERNEL);
	if (!probe)
		wl_oom("acct");
	used = uslab_obj_cache(probe);
	kmem_cache_free(root, probe);
	if (tenant ? used == root : used != root)
		fail(r, tenant ? "not-routed-to-child-cache" : "root-alloc-routed");
	if (batch)
		run_batch(batch_rounds, r);
	else
		run_lifo(lifo_pairs, r);
	if (tenant)
		set_active_memcg(prev);
	if (used && used != root)
		check_cache(used, r);
}
#endif

/* The malloc in effect must be the one the parent meant to preload. */
static void check_malloc_provider(const char *alloc, struct child_result *r)
{
	static const struct { const char *alloc, *lib; } expect[] = {
		{ "uslab", "libc.so" }, { "glibc", "libc.so" }, { "jemalloc", "jemalloc" },
		{ "tcmalloc", "tcmalloc" }, { "mimalloc", "mimalloc" },
		{ "shim", "libuslab-malloc" },
	};
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info info;

	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		if (strcmp(alloc, expect[i].alloc) != 0)
			continue;
		if (!m || !dladdr(m, &info) || !info.dli_fname ||
		    !strstr(info.dli_fname, expect[i].lib))
			fail(r, "malloc-not-from-expected-library");
	}
}

/*
 * The loop bench/callgrind.sh counts: callgrind collects only inside this
 * function (--toggle-collect), so start-up and warm-up are left out. The
 * count is read from a volatile so that the compiler cannot specialise it.
 */
static volatile uint64_t callgrind_pairs = BENCH_CALLGRIND_PAIRS;

USLAB_BENCH_NOINLINE void bench_callgrind_pairs(uint64_t pairs)
{
	if (is_uslab)
		sink += lifo_uslab(pairs);
	else
		sink += lifo_libc(pairs);
}

static void run_callgrind_loop(void)
{
	if (is_uslab)
		lifo_uslab(BENCH_CALLGRIND_PAIRS / 10);
	else
		lifo_libc(BENCH_CALLGRIND_PAIRS / 10);
	bench_callgrind_pairs(callgrind_pairs);
}

int bench_child_main(const char *alloc, const char *wl, bool quick, unsigned int decay_ms)
{
	const struct bench_workload *w = NULL;
	struct child_result r = { .status = "ok" };
	uint64_t div = quick ? QUICK_DIV : 1;
	int first, last;

	for (unsigned int i = 0; i < bench_nr_workloads; i++)
		if (strcmp(bench_workloads[i].name, wl) == 0)
			w = &bench_workloads[i];
	if (!w) {
		fprintf(stderr, "uslab-bench: unknown workload '%s'\n", wl);
		return 2;
	}
	is_uslab = strcmp(alloc, "uslab") == 0;
	if (w->uslab_only && !is_uslab) {
		fprintf(stderr, "uslab-bench: workload '%s' is uslab only\n", wl);
		return 2;
	}
	/* A hung child must not hang the whole run. */
	alarm(300);
	if (w->single_thread) {
		allowed_cpus(&first, &last);
		wl_pin_self(last);
	}
	check_malloc_provider(alloc, &r);
	if (is_uslab && make_cache(strncmp(wl, "acct-", 5) == 0 ? SLAB_ACCOUNT : 0))
		return 3;

	if (strcmp(wl, "lifo") == 0)
		run_lifo(full_counts.lifo_pairs / div, &r);
	else if (strcmp(wl, "batch") == 0)
		run_batch(full_counts.batch_rounds / div, &r);
	else if (strcmp(wl, "mixed") == 0)
		run_mixed(full_counts.mixed_steps / div, &r);
	else if (strcmp(wl, "prodcons") == 0)
		run_prodcons(full_counts.pc_pairs / div, &r);
	else if (strcmp(wl, "rss") == 0)
		run_rss(full_counts.rss_objs / (quick ? 4 : 1), alloc, &r);
	else if (strncmp(wl, "threads-", 8) == 0)
		run_threads((unsigned int)atoi(wl + 8), full_counts.scale_pairs / div, &r);
	else if (strcmp(wl, "lifo-callgrind") == 0)
		run_callgrind_loop();
	else if (w->memory)
		run_memory(w, alloc, quick, decay_ms, &r);
#ifdef USLAB_BENCH_MEMCG
	else if (strncmp(wl, "acct-", 5) == 0)
		run_acct(strstr(wl, "tenant") != NULL, strstr(wl, "batch") != NULL,
			 full_counts.lifo_pairs / div, full_counts.batch_rounds / div, &r);
#endif

	if (is_uslab && strcmp(wl, "mixed") != 0)
		check_cache(bench_cache, &r);
	printf("%s %s %s %.6g", BENCH_RESULT_TAG, wl, alloc, r.value);
	for (int i = 0; i < BENCH_NR_AUX; i++)
		printf(" %.6g", r.aux[i]);
	printf(" %s\n", r.status);
	fflush(stdout);
	return strcmp(r.status, "ok") == 0 ? 0 : 1;
}
