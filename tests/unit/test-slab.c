// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-slab.c - the allocator room's unit suite (lib/). It checks
 * cache creation (alignment of every power of two, argument checking,
 * SLAB_PANIC), constructors and the rule that the allocator never writes a
 * free object, the per-CPU arrays against mm/slab.c (flusharray moves the
 * batchcount oldest entries, refill takes a batch from the shared array then
 * the slabs, free_block keeps at most free_limit free objects per node, the
 * reaper drains untouched arrays by (limit + 4) / 5), bulk calls, every
 * kmalloc class boundary and kmalloc_large, krealloc and the k*dup helpers,
 * destroy with live objects, merging and its refcount, the slabinfo 2.1
 * text, shrink, misuse reports, node arguments, and a multi-threaded run
 * with cross-thread frees. It includes lib/slab.h to look at a CPU's array
 * and a node's shared array; each test runs in its own forked child
 * (CK_FORK=yes), initialises the library with its own options and ends with
 * uslab_cache_validate() on a quiescent cache.
 */
#include "lib/slab.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tests/unit/testutil.h"

/* ---- helpers ------------------------------------------------------------------- */

static void lib_init(bool nomerge)
{
	struct uslab_config cfg = { .nomerge = nomerge };

	ck_assert_int_eq(uslab_init(&cfg), 0);
}

/* Make this thread act as CPU 0 so that per-CPU array contents are predictable. */
static void pin_cpu0(void)
{
	ck_assert_int_eq(uslab_thread_set_cpu(0), 0);
}

static struct uslab_cache_info info_of(struct kmem_cache *s)
{
	struct uslab_cache_info i;

	ck_assert_int_eq(uslab_cache_info(s, NUMA_NO_NODE, &i), 0);
	return i;
}

#define VALIDATE(s) ck_assert_int_eq(uslab_cache_validate(s), 0)

/*
 * Tests of exact per-CPU array contents and reuse order do not apply when
 * frees go through the ASan quarantine; the plain build runs them.
 */
#define SKIP_UNDER_ASAN_QUARANTINE()                                                     \
	do {                                                                             \
		if (TEST_UNDER_ASAN) {                                                   \
			fprintf(stderr, "%s: skipped: ASan quarantine delays reuse\n", __func__); \
			return;                                                          \
		}                                                                        \
	} while (0)

/* p == q where reuse is immediate (LIFO), not under the ASan quarantine. */
#define ASSERT_REUSED(q, p)                  \
	do {                                 \
		if (!TEST_UNDER_ASAN)        \
			ck_assert_ptr_eq(q, p); \
	} while (0)

static struct array_cache *cpu0_array(struct kmem_cache *s)
{
	return s->cpu_slot[0].ac.entry ? &s->cpu_slot[0].ac : NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort a copy of @p and check the @n objects of @len bytes are distinct and do not overlap. */
static void assert_disjoint(void *const *p, size_t n, size_t len)
{
	void **q = malloc(n * sizeof(*q));

	ck_assert_ptr_nonnull(q);
	memcpy(q, p, n * sizeof(*q));
	qsort(q, n, sizeof(*q), cmp_ptr);
	for (size_t i = 1; i < n; i++)
		ck_assert_msg((uintptr_t)q[i] - (uintptr_t)q[i - 1] >= len,
			      "objects %p and %p overlap (size %zu)", q[i - 1], q[i], len);
	free(q);
}

/* Reports received by the test handler. */
static struct {
	unsigned int count;
	char cache[64];
	const void *object;
	char text[1024];
} rep;

static void record_report(const char *cache, const void *object, const char *text)
{
	rep.count++;
	snprintf(rep.cache, sizeof(rep.cache), "%s", cache ? cache : "(null)");
	rep.object = object;
	snprintf(rep.text, sizeof(rep.text), "%s", text ? text : "");
}

static void report_reset(void)
{
	memset(&rep, 0, sizeof(rep));
}

/* ================================================================================ */
/* creation                                                                          */
/* ================================================================================ */

/* Create a cache, fill two slabs and more, and check every object's alignment. */
static void check_alignment(unsigned int size, unsigned int align, slab_flags_t flags,
			    unsigned int want_align)
{
	char name[64];
	struct kmem_cache *s;
	struct uslab_cache_info info;
	void **p;
	size_t n;

	snprintf(name, sizeof(name), "align-%u-%u-%x", size, align, flags);
	s = kmem_cache_create(name, size, align, flags | SLAB_NO_MERGE, NULL);
	ck_assert_msg(s != NULL, "create %s failed: %s", name, strerror(errno));
	info = info_of(s);
	ck_assert_uint_ge(info.size, size);
	ck_assert_uint_eq(info.object_size, size);
	ck_assert_msg(info.align >= want_align && info.size % want_align == 0,
		      "%s: align %u size %u, want alignment %u", name, info.align, info.size,
		      want_align);
	n = MIN(2 * (size_t)info.objs_per_slab + 1, (size_t)1024);
	p = calloc(n, sizeof(*p));
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_msg((uintptr_t)p[i] % want_align == 0, "%s: object %p not aligned to %u",
			      name, p[i], want_align);
		memset(p[i], (int)(i & 0xff), size);
	}
	assert_disjoint(p, n, size);
	for (size_t i = 0; i < n; i++)
		ck_assert(bytes_all(p[i], (unsigned char)(i & 0xff), size));
	VALIDATE(s);
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(s, p[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	free(p);
}

START_TEST(test_create_aligns_every_power_of_two)
{
	lib_init(true);
	for (unsigned int align = 1; align <= 4096; align *= 2) {
		if (align > 1)
			check_alignment(align / 2, align, 0, align); /* below */
		if (align > 2)
			check_alignment(align - 1, align, 0, align);
		check_alignment(align, align, 0, align);         /* at */
		check_alignment(align + 1, align, 0, align);     /* above */
		check_alignment(3 * align, align, 0, align);
	}
}
END_TEST

START_TEST(test_create_hwcache_align_uses_cache_lines)
{
	static const unsigned int big[] = { 33, 48, 64, 65, 100, 200, 1000, 3000, 5000 };

	lib_init(true);
	for (size_t i = 0; i < ARRAY_SIZE(big); i++)
		check_alignment(big[i], 0, SLAB_HWCACHE_ALIGN, 64);
	/* Kernel calculate_alignment(): small objects share a line, halving the alignment. */
	check_alignment(20, 0, SLAB_HWCACHE_ALIGN, 32);
	check_alignment(16, 0, SLAB_HWCACHE_ALIGN, 16);
	check_alignment(8, 0, SLAB_HWCACHE_ALIGN, 8);
	/* An explicit larger alignment wins. */
	check_alignment(40, 256, SLAB_HWCACHE_ALIGN, 256);
}
END_TEST

START_TEST(test_create_rejects_bad_arguments)
{
	static const struct {
		const char *name;
		unsigned int size, align;
		slab_flags_t flags;
	} bad[] = {
		{ "bad-align-3", 64, 3, 0 },
		{ "bad-align-6", 64, 6, 0 },
		{ "bad-align-48", 64, 48, 0 },
		{ "bad-align-8192", 64, 8192, 0 },
		{ "bad-align-2^31", 64, 1u << 31, 0 },
		{ "bad-size-0", 0, 0, 0 },
		{ "bad-size-4M+1", (4u << 20) + 1, 0, 0 },
		{ "bad-flag-0x1", 64, 0, 0x1 },
		{ "bad-flag-0x200", 64, 0, 0x200 },
		{ "bad-flag-0x1000", 64, 0, 0x1000 },
		{ "bad-flag-0x20000000", 64, 0, 0x20000000u },
		{ "bad-flag-0x40000000", 64, 0, 0x40000000u },
		{ "bad-flag-0x80000000", 64, 0, 0x80000000u },
		{ NULL, 64, 0, 0 },
	};

	lib_init(true);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		ck_assert_msg(kmem_cache_create(bad[i].name, bad[i].size, bad[i].align, bad[i].flags,
						NULL) == NULL,
			      "case %zu (%s) was accepted", i, bad[i].name ? bad[i].name : "NULL");
		ck_assert_msg(errno == EINVAL, "case %zu: errno %d", i, errno);
		if (bad[i].name)
			ck_assert_ptr_null(uslab_cache_find(bad[i].name));
	}
	/* The limits themselves are fine. */
	struct kmem_cache *s = kmem_cache_create("align-4096", 1, 4096, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_create_panic_aborts_on_failure)
{
	lib_init(true);
	/* SLAB_PANIC with a bad alignment: the default report handler aborts. */
	kmem_cache_create("panic", 64, 3, SLAB_PANIC, NULL);
}
END_TEST

START_TEST(test_create_panic_success_returns_cache)
{
	lib_init(true);
	struct kmem_cache *s = kmem_cache_create("panic-ok", 64, 0, SLAB_PANIC, NULL);

	ck_assert_ptr_nonnull(s);
	ck_assert(info_of(s).flags & SLAB_PANIC);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* constructors and object contents                                                  */
/* ================================================================================ */

#define CTOR_MAGIC 0xc0ffee0ddba11ull

struct ctor_obj {
	uint64_t magic;
	uint32_t seq;          /* 0 as constructed; the test numbers objects from 1 */
	unsigned char body[84];
};

static unsigned long ctor_calls;

static void ctor_count(void *p)
{
	struct ctor_obj *o = p;

	__atomic_add_fetch(&ctor_calls, 1, __ATOMIC_RELAXED);
	o->magic = CTOR_MAGIC;
	o->seq = 0;
	memset(o->body, 0xc7, sizeof(o->body));
}

static unsigned long ctor_count_now(void)
{
	return __atomic_load_n(&ctor_calls, __ATOMIC_RELAXED);
}

/* _i: 0 plain cache, 1 SLAB_TYPESAFE_BY_RCU (ctor once per object per slab there too). */
START_TEST(test_ctor_runs_once_per_object)
{
	slab_flags_t flags = _i ? SLAB_TYPESAFE_BY_RCU : 0;
	struct kmem_cache *s;
	struct uslab_cache_info info;
	struct ctor_obj **p;
	size_t n;
	unsigned char *seen;

	lib_init(false);
	/* One CPU's array: a migration would leave freed objects on another CPU. */
	uslab_thread_set_cpu(0);
	ctor_calls = 0;
	s = kmem_cache_create("ctor", sizeof(struct ctor_obj), 0, flags, ctor_count);
	ck_assert_ptr_nonnull(s);
	info = info_of(s);
	ck_assert_uint_eq(info.grown, 0);
	ck_assert_uint_eq(ctor_count_now(), 0);

	n = 3 * (size_t)info.objs_per_slab + 5;
	p = calloc(n, sizeof(*p));
	seen = calloc(n + 1, 1);
	for (size_t i = 0; i < n; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert(p[i]->magic == CTOR_MAGIC && p[i]->seq == 0);
		ck_assert(bytes_all(p[i]->body, 0xc7, sizeof(p[i]->body)));
	}
	info = info_of(s);
	ck_assert_uint_ge(info.grown, 4);
	ck_assert_uint_eq(ctor_count_now(), (unsigned long)info.objs_per_slab * info.grown);

	/* The user's writes survive free and reallocation: the ctor does not run again. */
	for (size_t i = 0; i < n; i++) {
		p[i]->seq = (uint32_t)(i + 1);
		pattern_fill(p[i]->body, p[i]->seq, sizeof(p[i]->body));
	}
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(s, p[i]);
	VALIDATE(s);
	info = info_of(s);
	ck_assert_uint_eq(info.reaped, 0); /* below free_limit: every slab stays */
	for (size_t i = 0; i < n; i++) {
		struct ctor_obj *o = kmem_cache_alloc(s, GFP_KERNEL);

		ck_assert_ptr_nonnull(o);
		ck_assert(o->magic == CTOR_MAGIC);
		if (TEST_UNDER_ASAN && !flags) {
			/* ASan's quarantine holds the freed objects back: fresh ones come. */
			ck_assert(o->seq == 0 || (o->seq <= n && !seen[o->seq]));
			seen[o->seq] = o->seq != 0;
			p[i] = o;
			continue;
		}
		ck_assert_msg(o->seq >= 1 && o->seq <= n && !seen[o->seq],
			      "object %p seq %u: not one of ours or returned twice", (void *)o, o->seq);
		seen[o->seq] = 1;
		ck_assert_msg(pattern_check(o->body, o->seq, sizeof(o->body)),
			      "contents of object %p changed while it was free", (void *)o);
		p[i] = o;
	}
	ck_assert_uint_eq(ctor_count_now(), (unsigned long)info.objs_per_slab * info_of(s).grown);

	/* Released slabs come back constructed, once per object again. */
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(s, p[i]);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_eq(info_of(s).num_slabs, 0);
	for (size_t i = 0; i < n; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert(p[i]->magic == CTOR_MAGIC);
	}
	info = info_of(s);
	ck_assert_uint_eq(ctor_count_now(), (unsigned long)info.objs_per_slab * info.grown);
	VALIDATE(s);
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(s, p[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	free(p);
	free(seen);
}
END_TEST

START_TEST(test_free_objects_are_never_written)
{
	struct kmem_cache *s;
	struct uslab_cache_info info;
	void **p;
	size_t n;

	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("untouched", 24, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	/* Small arrays so that objects also travel through the shared array and the slabs. */
	ck_assert_int_eq(uslab_cache_tune(s, 8, 4, 2), 0);
	info = info_of(s);
	/* Few enough that the node never holds more than free_limit free objects. */
	n = 2 * (size_t)info.objs_per_slab / 3;
	p = calloc(n, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
		pattern_fill(p[i], 0x5eed, 24);
	}
	/*
	 * Several rounds of free-all/alloc-all in different orders. What comes
	 * back is one of ours with its pattern intact, or (a refill may hand out
	 * a few never-used objects) untouched zeroed memory: never anything else.
	 */
	for (int round = 0; round < 4; round++) {
		size_t ours = 0;

		ck_assert_int_eq(kmem_cache_shrink(s), 1); /* spare objects back to the slab */
		for (size_t i = 0; i < n; i++)
			kmem_cache_free(s, p[round & 1 ? n - 1 - i : i]);
		info = info_of(s);
		/* (Under ASan the quarantine makes allocations grow slabs that shrink frees.) */
		ck_assert_msg(info.reaped == 0 || TEST_UNDER_ASAN,
			      "a slab was released (free_limit %lu)", info.free_limit);
		for (size_t i = 0; i < n; i++) {
			p[i] = kmem_cache_alloc(s, GFP_KERNEL);
			ck_assert_ptr_nonnull(p[i]);
			if (pattern_check(p[i], 0x5eed, 24))
				ours++;
			else
				ck_assert_msg(bytes_all(p[i], 0, 24),
					      "round %d: free object %p was written", round, p[i]);
			pattern_fill(p[i], 0x5eed, 24);
		}
		if (!TEST_UNDER_ASAN)
			ck_assert_uint_ge(ours, n - 4);
		assert_disjoint(p, n, 24);
	}
	VALIDATE(s);
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(s, p[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	free(p);
}
END_TEST

START_TEST(test_zalloc_zeroes_whole_object)
{
	struct kmem_cache *s;
	void *p, *q, *b[10];

	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("zero", 200, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	memset(p, 0xff, 200);
	kmem_cache_free(s, p);
	q = kmem_cache_zalloc(s, GFP_KERNEL);
	ASSERT_REUSED(q, p); /* LIFO: the dirty object comes back */
	ck_assert(bytes_all(q, 0, 200));

	memset(q, 0xff, 200);
	kmem_cache_free(s, q);
	q = kmem_cache_alloc(s, GFP_KERNEL | __GFP_ZERO);
	ASSERT_REUSED(q, p);
	ck_assert(bytes_all(q, 0, 200));

	memset(q, 0xff, 200);
	kmem_cache_free(s, q);
	q = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_ZERO, 0);
	ASSERT_REUSED(q, p);
	ck_assert(bytes_all(q, 0, 200));
	kmem_cache_free(s, q);

	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 10, b), 10);
	for (int i = 0; i < 10; i++)
		memset(b[i], 0xee, 200);
	kmem_cache_free_bulk(s, 10, b);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL | __GFP_ZERO, 10, b), 10);
	for (int i = 0; i < 10; i++)
		ck_assert_msg(bytes_all(b[i], 0, 200), "bulk object %d not zeroed", i);
	kmem_cache_free_bulk(s, 10, b);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* per-CPU arrays, shared array, node lists                                          */
/* ================================================================================ */

/*
 * A cache tuned to (8, 4, @shared) with 16 live objects and every array empty:
 * the objects come from one slab that stays partial.
 */
static struct kmem_cache *small_array_cache(const char *name, unsigned int shared, void **o,
					    size_t n)
{
	struct kmem_cache *s = kmem_cache_create(name, 64, 0, 0, NULL);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_cache_tune(s, 8, 4, shared), 0);
	for (size_t i = 0; i < n; i++) {
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(o[i]);
	}
	/* Shrink empties every array; the live objects keep their slab. */
	ck_assert_int_eq(kmem_cache_shrink(s), 1);
	ck_assert_uint_eq(cpu0_array(s)->avail, 0);
	if (s->node[0]->shared)
		ck_assert_uint_eq(s->node[0]->shared->avail, 0);
	return s;
}

START_TEST(test_flusharray_moves_oldest_batch_to_shared)
{
	struct kmem_cache *s;
	struct array_cache *ac, *shared;
	struct uslab_cache_info before, after;
	void *o[16];

	SKIP_UNDER_ASAN_QUARANTINE();
	lib_init(true);
	pin_cpu0();
	s = small_array_cache("fifo-shared", 1, o, 16);
	ac = cpu0_array(s);
	shared = s->node[0]->shared;
	ck_assert_ptr_nonnull(shared);
	ck_assert_uint_eq(ac->limit, 8);
	ck_assert_uint_eq(ac->batchcount, 4);
	ck_assert_uint_eq(shared->limit, 4); /* shared factor 1 x batchcount */
	before = info_of(s);

	for (int i = 0; i < 8; i++)
		kmem_cache_free(s, o[i]);
	ck_assert_uint_eq(ac->avail, 8);
	kmem_cache_free(s, o[8]); /* array full: flush */
	after = info_of(s);
	ck_assert_uint_eq(after.free_misses - before.free_misses, 1);
	ck_assert_uint_eq(after.free_hits - before.free_hits, 8);
	/* The four oldest went to the shared array, in order. */
	ck_assert_uint_eq(shared->avail, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_eq(shared->entry[i], o[i]);
	/* The newest stay, in order, with the new object on top. */
	ck_assert_uint_eq(ac->avail, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_eq(ac->entry[i], o[4 + i]);
	ck_assert_uint_eq(after.shared_avail, 4);
	ck_assert_uint_eq(after.cpu_avail, 5);
	ck_assert_uint_eq(after.free_objects, before.free_objects); /* nothing back on slabs */
	VALIDATE(s);

	/* Shared array full: the next flush goes back to the slabs. */
	for (int i = 9; i < 12; i++)
		kmem_cache_free(s, o[i]);
	ck_assert_uint_eq(ac->avail, 8);
	kmem_cache_free(s, o[12]);
	after = info_of(s);
	ck_assert_uint_eq(shared->avail, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_eq(shared->entry[i], o[i]);
	ck_assert_uint_eq(ac->avail, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_eq(ac->entry[i], o[8 + i]);
	ck_assert_uint_eq(after.free_objects, before.free_objects + 4);
	VALIDATE(s);

	/* LIFO: the newest free object is allocated first. */
	ck_assert_ptr_eq(kmem_cache_alloc(s, GFP_KERNEL), o[12]);
	kmem_cache_free(s, o[12]);
	for (int i = 13; i < 16; i++)
		kmem_cache_free(s, o[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_flusharray_without_shared_goes_to_slabs)
{
	struct kmem_cache *s;
	struct array_cache *ac;
	struct uslab_cache_info before, after;
	void *o[16];

	SKIP_UNDER_ASAN_QUARANTINE();
	lib_init(true);
	pin_cpu0();
	s = small_array_cache("fifo-noshared", 0, o, 16);
	ac = cpu0_array(s);
	ck_assert_ptr_null(s->node[0]->shared);
	before = info_of(s);
	for (int i = 0; i < 9; i++)
		kmem_cache_free(s, o[i]);
	after = info_of(s);
	ck_assert_uint_eq(ac->avail, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_eq(ac->entry[i], o[4 + i]);
	ck_assert_uint_eq(after.shared_avail, 0);
	ck_assert_uint_eq(after.free_objects, before.free_objects + 4);
	ck_assert_uint_eq(after.free_misses - before.free_misses, 1);
	/* The oldest four are free in their slab again: the next ones allocated after the array. */
	for (int i = 8; i >= 4; i--)
		ck_assert_ptr_eq(kmem_cache_alloc(s, GFP_KERNEL), o[i]);
	VALIDATE(s);
	for (int i = 4; i < 16; i++)
		kmem_cache_free(s, o[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_refill_takes_batch_from_shared_then_slabs)
{
	struct kmem_cache *s;
	struct array_cache *ac, *shared;
	struct uslab_cache_info before, after;
	void *o[16], *x, *y[4];

	SKIP_UNDER_ASAN_QUARANTINE();
	lib_init(true);
	pin_cpu0();
	s = small_array_cache("refill", 1, o, 16);
	ac = cpu0_array(s);
	shared = s->node[0]->shared;
	for (int i = 0; i < 9; i++)
		kmem_cache_free(s, o[i]); /* shared [o0..o3], array [o4..o8] */
	before = info_of(s);
	for (int i = 8; i >= 4; i--)
		ck_assert_ptr_eq(kmem_cache_alloc(s, GFP_KERNEL), o[i]);
	ck_assert_uint_eq(ac->avail, 0);
	after = info_of(s);
	ck_assert_uint_eq(after.alloc_hits - before.alloc_hits, 5);
	ck_assert_uint_eq(after.alloc_misses, before.alloc_misses);

	/* Empty array: one miss moves batchcount objects from the shared array. */
	x = kmem_cache_alloc(s, GFP_KERNEL);
	after = info_of(s);
	ck_assert_ptr_eq(x, o[3]);
	ck_assert_uint_eq(after.alloc_misses - before.alloc_misses, 1);
	ck_assert_uint_eq(shared->avail, 0);
	ck_assert_uint_eq(after.shared_avail, 0);
	ck_assert_uint_eq(ac->avail, 3);
	ck_assert_uint_eq(after.cpu_avail, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_eq(ac->entry[i], o[i]);
	ck_assert_uint_eq(after.free_objects, before.free_objects);
	for (int i = 2; i >= 0; i--)
		ck_assert_ptr_eq(kmem_cache_alloc(s, GFP_KERNEL), o[i]);

	/* Shared array empty: the next miss takes batchcount objects from the slabs. */
	before = info_of(s);
	ck_assert_uint_ge(before.free_objects, 4);
	y[0] = kmem_cache_alloc(s, GFP_KERNEL);
	after = info_of(s);
	ck_assert_ptr_nonnull(y[0]);
	ck_assert_uint_eq(after.alloc_misses - before.alloc_misses, 1);
	ck_assert_uint_eq(after.cpu_avail, 3);
	ck_assert_uint_eq(after.free_objects, before.free_objects - 4);
	for (int i = 0; i < 16; i++)
		ck_assert_ptr_ne(y[0], o[i]);
	for (int i = 1; i < 4; i++)
		y[i] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_uint_eq(info_of(s).alloc_misses, after.alloc_misses);
	VALIDATE(s);
	for (int i = 0; i < 16; i++)
		kmem_cache_free(s, o[i]);
	for (int i = 0; i < 4; i++)
		kmem_cache_free(s, y[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_refill_default_tunables_and_batchrefill_limit)
{
	struct kmem_cache *s;
	struct uslab_cache_info info, before;
	void *p[80];

	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("refill-default", 32, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	info = info_of(s);
	/* Kernel enable_cpucache() for objects <= 256 bytes. */
	ck_assert_uint_eq(info.limit, 120);
	ck_assert_uint_eq(info.batchcount, 60);
	ck_assert_uint_eq(info.shared, uslab_nr_cpu_ids() > 1 ? 8 : 0);
	ck_assert_uint_eq(info.free_limit,
			  (1 + uslab_nr_cpus_node(0)) * info.batchcount + info.objs_per_slab);

	/* A fresh (untouched) array is refilled with BATCHREFILL_LIMIT (16) objects only. */
	p[0] = kmem_cache_alloc(s, GFP_KERNEL);
	info = info_of(s);
	ck_assert_uint_eq(info.alloc_misses, 1);
	ck_assert_uint_eq(info.cpu_avail, 15);
	for (int i = 1; i < 16; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	info = info_of(s);
	ck_assert_uint_eq(info.alloc_hits, 15);
	ck_assert_uint_eq(info.cpu_avail, 0);

	/* A used array gets a full batch (as much as the partial slab holds). */
	before = info_of(s);
	ck_assert_uint_gt(before.free_objects, 0);
	p[16] = kmem_cache_alloc(s, GFP_KERNEL);
	info = info_of(s);
	ck_assert_uint_eq(info.alloc_misses, 2);
	ck_assert_uint_eq(info.cpu_avail, MIN(60ul, before.free_objects) - 1);
	for (int i = 0; i <= 16; i++)
		kmem_cache_free(s, p[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* Kernel cache_alloc_refill() ends with ac->touched = 1: a refilled array is busy. */
START_TEST(test_refill_marks_array_touched)
{
	struct kmem_cache *s;
	void *p;

	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("refill-touched", 32, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_uint_eq(cpu0_array(s)->avail, 15);
	ck_assert_uint_eq(cpu0_array(s)->touched, 1);
	/* So the next reaper pass only clears the mark. */
	uslab_reap();
	ck_assert_uint_eq(cpu0_array(s)->avail, 15);
	kmem_cache_free(s, p);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_free_block_keeps_at_most_free_limit)
{
	struct kmem_cache *s;
	struct uslab_cache_info info;
	enum { N = 64 };
	void *p[N];

	SKIP_UNDER_ASAN_QUARANTINE();
	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("free-limit", 1024, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_cache_tune(s, 8, 4, 0), 0);
	info = info_of(s);
	ck_assert_uint_eq(info.free_limit, (1 + uslab_nr_cpus_node(0)) * 4 + info.objs_per_slab);
	for (int i = 0; i < N; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	info = info_of(s);
	ck_assert_uint_ge(info.num_slabs, (unsigned long)N / info.objs_per_slab);
	ck_assert_uint_eq(info.reaped, 0);

	for (int i = 0; i < N; i++) {
		kmem_cache_free(s, p[i]);
		info = info_of(s);
		ck_assert_msg(info.free_objects <= info.free_limit || info.free_slabs == 0,
			      "after %d frees: %lu free objects > free_limit %lu with %lu free slabs",
			      i + 1, info.free_objects, info.free_limit, info.free_slabs);
	}
	info = info_of(s);
	ck_assert_uint_le(info.free_objects, info.free_limit);
	ck_assert_uint_gt(info.reaped, 0);
	ck_assert_uint_lt(info.num_slabs, (unsigned long)N / info.objs_per_slab);
	/* Every object not free on the node lists sits in the CPU array. */
	ck_assert_uint_eq(info.active_objs, info.cpu_avail);
	ck_assert_uint_eq(info.free_slabs + info.partial_slabs + info.full_slabs, info.num_slabs);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_tune_rejects_bad_values)
{
	struct kmem_cache *s;
	struct uslab_cache_info info;

	lib_init(true);
	s = kmem_cache_create("tune", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_cache_tune(s, 0, 1, 0), -EINVAL);
	ck_assert_int_eq(uslab_cache_tune(s, 8, 0, 0), -EINVAL);
	ck_assert_int_eq(uslab_cache_tune(s, 8, 9, 0), -EINVAL);
	ck_assert_int_eq(uslab_cache_tune(s, 8, 4, 65), -EINVAL);
	ck_assert_int_eq(uslab_cache_tune(s, 1025, 4, 0), -EINVAL);
	ck_assert_int_eq(uslab_cache_tune(s, 1024, 257, 0), -EINVAL);
	ck_assert_int_eq(uslab_cache_tune(NULL, 8, 4, 0), -EINVAL);
	info = info_of(s);
	ck_assert_uint_eq(info.limit, 120); /* unchanged */
	ck_assert_int_eq(uslab_cache_tune(s, 1, 1, 0), 0);
	ck_assert_int_eq(uslab_cache_tune(s, 64, 32, 64), 0);
	info = info_of(s);
	ck_assert_uint_eq(info.limit, 64);
	ck_assert_uint_eq(info.batchcount, 32);
	ck_assert_uint_eq(info.shared, 64);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* uslab/slab.h documents limit 1..1024 and batchcount 1..min(limit, 256). */
START_TEST(test_tune_accepts_documented_range)
{
	struct kmem_cache *s;
	void *p[600];

	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("tune-big", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_cache_tune(s, 1024, 256, 1), 0);
	ck_assert_uint_eq(info_of(s).limit, 1024);
	ck_assert_uint_eq(info_of(s).batchcount, 256);
	ck_assert_uint_eq(s->node[0]->shared->limit, 256);
	ck_assert_int_eq(uslab_cache_tune(s, 300, 256, 0), 0);
	for (int i = 0; i < 600; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 0; i < 600; i++)
		kmem_cache_free(s, p[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* shrink and reap                                                                   */
/* ================================================================================ */

START_TEST(test_shrink_releases_free_slabs)
{
	struct kmem_cache *s;
	struct uslab_cache_info info;
	enum { N = 500 };
	void **p = calloc(N, sizeof(*p));

	lib_init(true);
	s = kmem_cache_create("shrink", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < N; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 0; i < N; i++)
		kmem_cache_free(s, p[i]);
	ck_assert_uint_gt(info_of(s).num_slabs, 0);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	info = info_of(s);
	ck_assert_uint_eq(info.num_slabs, 0);
	ck_assert_uint_eq(info.num_objs, 0);
	ck_assert_uint_eq(info.active_objs, 0);
	ck_assert_uint_eq(info.cpu_avail, 0);
	ck_assert_uint_eq(info.shared_avail, 0);
	ck_assert_uint_eq(info.free_objects, 0);
	VALIDATE(s);

	/* One live object keeps its slab and makes shrink return 1. */
	p[0] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 1; i < N; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 1; i < N; i++)
		kmem_cache_free(s, p[i]);
	ck_assert_int_eq(kmem_cache_shrink(s), 1);
	info = info_of(s);
	ck_assert_uint_eq(info.num_slabs, 1);
	ck_assert_uint_eq(info.active_objs, 1);
	ck_assert_uint_eq(info.cpu_avail + info.shared_avail, 0);
	VALIDATE(s);
	kmem_cache_free(s, p[0]);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_eq(info_of(s).num_slabs, 0);
	ck_assert_int_eq(kmem_cache_shrink(NULL), -EINVAL);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	free(p);
}
END_TEST

START_TEST(test_reap_drains_untouched_arrays_by_a_fifth)
{
	struct kmem_cache *s;
	struct array_cache *ac;
	void *o[30];

	SKIP_UNDER_ASAN_QUARANTINE();
	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("reap-array", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_cache_tune(s, 21, 10, 0), 0);
	ac = cpu0_array(s);
	for (int i = 0; i < 30; i++)
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_int_eq(kmem_cache_shrink(s), 1);
	for (int i = 0; i < 21; i++)
		kmem_cache_free(s, o[i]);
	/* Use the array so that it is touched. */
	ck_assert_ptr_eq(kmem_cache_alloc(s, GFP_KERNEL), o[20]);
	kmem_cache_free(s, o[20]);
	ck_assert_uint_eq(ac->avail, 21);

	uslab_reap(); /* first pass: clears touched only */
	ck_assert_uint_eq(ac->avail, 21);
	ck_assert_uint_eq(ac->touched, 0);
	uslab_reap(); /* untouched: the (21 + 4) / 5 = 5 oldest go */
	ck_assert_uint_eq(ac->avail, 16);
	for (int i = 0; i < 16; i++)
		ck_assert_ptr_eq(ac->entry[i], o[5 + i]);
	uslab_reap();
	ck_assert_uint_eq(ac->avail, 11);
	ck_assert_ptr_eq(ac->entry[0], o[10]);
	ck_assert_uint_eq(info_of(s).cpu_avail, 11);
	VALIDATE(s);

	/* Fewer than a fifth left: half of them (rounded up) go. */
	ck_assert_int_eq(kmem_cache_shrink(s), 1);
	ck_assert_uint_eq(ac->avail, 0);
	for (int i = 21; i < 24; i++)
		kmem_cache_free(s, o[i]);
	ck_assert_ptr_eq(kmem_cache_alloc(s, GFP_KERNEL), o[23]);
	kmem_cache_free(s, o[23]);
	uslab_reap();
	ck_assert_uint_eq(ac->avail, 3);
	uslab_reap();
	ck_assert_uint_eq(ac->avail, 1);
	ck_assert_ptr_eq(ac->entry[0], o[23]);
	VALIDATE(s);
	for (int i = 24; i < 30; i++)
		kmem_cache_free(s, o[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* Rounds of @n allocations then @n frees, in allocation order (a burst that comes and goes). */
static void burst_rounds(struct kmem_cache *s, void **o, int n, int rounds)
{
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < n; i++) {
			o[i] = kmem_cache_alloc(s, GFP_KERNEL);
			ck_assert_ptr_nonnull(o[i]);
		}
		for (int i = 0; i < n; i++)
			kmem_cache_free(s, o[i]);
	}
}

START_TEST(test_adaptive_array_grows_until_bursts_fit)
{
	static void *o[1000];
	struct kmem_cache *s;
	struct array_cache *ac;
	struct uslab_cache_info before, after;

	SKIP_UNDER_ASAN_QUARANTINE();
	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("adaptive", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ac = cpu0_array(s);
	ck_assert_uint_eq(ac->limit, 120); /* the kernel's size for 64 bytes */
	ck_assert_uint_eq(cache_array_max(s), SLAB_MAX_LIMIT);

	/* LIFO pairs never miss more than once: the array keeps its size. */
	for (int i = 0; i < 10000; i++)
		kmem_cache_free(s, kmem_cache_alloc(s, GFP_KERNEL));
	ck_assert_uint_eq(ac->limit, 120);

	/* Bursts of 1000 miss every batchcount objects: the limit doubles up to 1024. */
	burst_rounds(s, o, 1000, 8);
	ck_assert_uint_eq(ac->limit, SLAB_MAX_LIMIT);
	ck_assert_uint_eq(ac->batchcount, SLAB_MAX_BATCH);
	ck_assert_uint_ge(ac->capacity, ac->limit);
	ck_assert_uint_eq(s->limit, 120); /* the cache's own tunables stay the kernel's */
	VALIDATE(s);

	/* Now a burst of 1000 is served by the array alone. */
	before = info_of(s);
	burst_rounds(s, o, 1000, 3);
	after = info_of(s);
	ck_assert_uint_eq(after.alloc_misses, before.alloc_misses);
	ck_assert_uint_eq(after.free_misses, before.free_misses);
	ck_assert_uint_eq(after.alloc_hits - before.alloc_hits, 3000);
	VALIDATE(s);

	/* Shrinking the cache empties the array and gives it the cache's limit back. */
	ck_assert_int_ge(kmem_cache_shrink(s), 0);
	ck_assert_uint_eq(ac->avail, 0);
	ck_assert_uint_eq(ac->limit, 120);
	ck_assert_uint_eq(ac->batchcount, 60);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_adaptive_array_halves_when_idle)
{
	static void *o[1000];
	struct kmem_cache *s;
	struct array_cache *ac;
	unsigned int limit;

	SKIP_UNDER_ASAN_QUARANTINE();
	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("adaptive-idle", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ac = cpu0_array(s);
	burst_rounds(s, o, 1000, 8);
	ck_assert_uint_eq(ac->limit, SLAB_MAX_LIMIT);
	ck_assert_uint_gt(ac->avail, 120);

	/*
	 * A touched array keeps its size. An idle one halves at each pass (or
	 * less, when more than SLAB_MAX_BATCH objects would have to leave at once),
	 * never below 120, and never holds more than its limit.
	 */
	uslab_reap();
	ck_assert_uint_eq(ac->limit, SLAB_MAX_LIMIT);
	for (int pass = 0; ac->limit > 120; pass++) {
		limit = ac->limit;
		ck_assert_int_lt(pass, 8);
		uslab_reap();
		ck_assert_uint_lt(ac->limit, limit);
		ck_assert_uint_ge(ac->limit, MAX(limit / 2, 120u));
		ck_assert_uint_le(ac->avail, ac->limit);
		VALIDATE(s);
	}
	uslab_reap();
	ck_assert_uint_eq(ac->limit, 120);
	ck_assert_uint_eq(ac->batchcount, 60);
	VALIDATE(s);

	/* It grows again on demand, into the buffer it kept. */
	burst_rounds(s, o, 1000, 8);
	ck_assert_uint_eq(ac->limit, SLAB_MAX_LIMIT);
	ck_assert_int_ge(kmem_cache_shrink(s), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_adaptive_array_bounded_by_bytes_and_tuning)
{
	static void *o[1000];
	struct kmem_cache *s, *t;
	struct array_cache *ac;

	SKIP_UNDER_ASAN_QUARANTINE();
	lib_init(true);
	pin_cpu0();
	/* 4 KiB objects: at most ARRAY_ADAPT_BYTES of them in an array. */
	s = kmem_cache_create("adaptive-4k", 4096, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ac = cpu0_array(s);
	ck_assert_uint_eq(ac->limit, 24);
	burst_rounds(s, o, 400, 8);
	ck_assert_uint_eq(ac->limit, ARRAY_ADAPT_BYTES / s->size);
	VALIDATE(s);
	ck_assert_int_ge(kmem_cache_shrink(s), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);

	/* Tunables chosen by hand are kept, bursts or not. */
	t = kmem_cache_create("adaptive-tuned", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(uslab_cache_tune(t, 32, 16, 0), 0);
	ac = cpu0_array(t);
	burst_rounds(t, o, 1000, 8);
	ck_assert_uint_eq(ac->limit, 32);
	ck_assert_uint_eq(ac->batchcount, 16);
	VALIDATE(t);
	ck_assert_int_ge(kmem_cache_shrink(t), 0);
	ck_assert_int_eq(uslab_cache_destroy(t), 0);
}
END_TEST

START_TEST(test_reap_frees_idle_free_slabs)
{
	struct kmem_cache *s;
	struct uslab_cache_info info;
	unsigned long per_pass, slabs;
	void *p[16];

	SKIP_UNDER_ASAN_QUARANTINE();
	lib_init(true);
	pin_cpu0();
	s = kmem_cache_create("reap-slabs", 1024, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_cache_tune(s, 8, 4, 0), 0);
	info = info_of(s);
	ck_assert_uint_eq(info.objs_per_slab, 4);
	for (int i = 0; i < 16; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 0; i < 16; i++)
		kmem_cache_free(s, p[i]);
	/* Retuning returns the array's objects to the slabs (up to free_limit). */
	ck_assert_int_eq(uslab_cache_tune(s, 8, 4, 0), 0);
	info = info_of(s);
	ck_assert_uint_eq(info.cpu_avail, 0);
	ck_assert_uint_eq(info.active_objs, 0);
	ck_assert_uint_le(info.free_objects, info.free_limit);
	ck_assert_uint_ge(info.free_slabs, 2);
	slabs = info.num_slabs;

	/* Kernel cache_reap(): a node whose free slabs were not used loses
	 * ceil(free_limit / (5 * num)) of them per pass. */
	per_pass = (info.free_limit + 5 * info.objs_per_slab - 1) / (5 * info.objs_per_slab);
	uslab_reap(); /* clears free_touched (the slabs were just used) */
	ck_assert_uint_eq(info_of(s).num_slabs, slabs);
	ck_assert_uint_ge(uslab_reap(), per_pass);
	info = info_of(s);
	ck_assert_uint_eq(info.num_slabs, slabs - per_pass);
	/* Slabs released before the passes: grown - slabs; the pass released per_pass. */
	ck_assert_uint_eq(info.reaped, (info.grown - slabs) + per_pass);
	uslab_reap();
	ck_assert_uint_eq(info_of(s).num_slabs, slabs > 2 * per_pass ? slabs - 2 * per_pass : 0);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* bulk                                                                              */
/* ================================================================================ */

START_TEST(test_bulk_alloc_and_free_with_null_entries)
{
	struct kmem_cache *s;
	enum { N = 300 };
	void *p[N], *kept;

	lib_init(true);
	report_reset();
	uslab_set_report_handler(record_report);
	s = kmem_cache_create("bulk", 56, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, N, p), N);
	for (int i = 0; i < N; i++) {
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_ptr_eq(uslab_obj_cache(p[i]), s);
		pattern_fill(p[i], (uint32_t)i, 56);
	}
	assert_disjoint(p, N, 56);
	for (int i = 0; i < N; i++)
		ck_assert(pattern_check(p[i], (uint32_t)i, 56));
	ck_assert_uint_eq(info_of(s).active_objs - info_of(s).cpu_avail - info_of(s).shared_avail,
			  N);
	VALIDATE(s);

	kmem_cache_free(s, p[3]);
	p[3] = NULL;
	kmem_cache_free(s, p[N - 1]);
	p[N - 1] = NULL;
	kept = p[100];
	p[100] = NULL; /* skipped by the bulk free, freed alone below */
	kmem_cache_free_bulk(s, N, p);
	kmem_cache_free_bulk(s, 0, NULL);
	ck_assert_uint_eq(rep.count, 0);
	ck_assert(pattern_check(kept, 100, 56));
	ck_assert_int_eq(kmem_cache_shrink(s), 1);
	ck_assert_uint_eq(info_of(s).active_objs, 1);
	VALIDATE(s);
	kmem_cache_free(s, kept);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_eq(info_of(s).num_slabs, 0);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_bulk_alloc_rejects_unknown_gfp)
{
	struct kmem_cache *s;
	void *p[8] = { 0 };

	lib_init(true);
	s = kmem_cache_create("bulk-gfp", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	errno = 0;
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL | 0x10000000u, 8, p), 0);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc(s, 0x80000000u));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 8, NULL), 0);
	ck_assert_int_eq(errno, EINVAL);
	/* Nothing was taken. */
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_eq(info_of(s).num_slabs, 0);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

static unsigned long vm_bytes(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * (unsigned long)sysconf(_SC_PAGESIZE);
}

START_TEST(test_bulk_alloc_failure_is_all_or_nothing)
{
	struct kmem_cache *s;
	struct rlimit old, lim;
	void *p[64];
	int got, err;

	if (TEST_UNDER_SANITIZER)
		return; /* sanitizers reserve terabytes of address space: RLIMIT_AS unusable */
	lib_init(true);
	s = kmem_cache_create("bulk-huge", 1u << 20, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	/* Warm up: the kmalloc slab that holds off-slab management exists. */
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 2, p), 2);
	kmem_cache_free_bulk(s, 2, p);
	ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
	lim = old;
	lim.rlim_cur = vm_bytes() + (12ul << 20);
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
	errno = 0;
	got = kmem_cache_alloc_bulk(s, GFP_KERNEL, 64, p);
	err = errno;
	setrlimit(RLIMIT_AS, &old);
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(err, ENOMEM);
	/* Everything it had taken went back. */
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	VALIDATE(s);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 4, p), 4);
	kmem_cache_free_bulk(s, 4, p);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* kmalloc                                                                           */
/* ================================================================================ */

static const unsigned int kmalloc_classes[] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
	16u << 10, 32u << 10, 64u << 10, 128u << 10, 256u << 10, 512u << 10,
	1u << 20, 2u << 20, 4u << 20,
};

/* The kernel's names: kmalloc-8192, kmalloc-16k, kmalloc-4M. */
static void class_name(char *buf, size_t len, const char *prefix, unsigned int size)
{
	if (size >= (1u << 20))
		snprintf(buf, len, "%s%uM", prefix, size >> 20);
	else if (size > 8192)
		snprintf(buf, len, "%s%uk", prefix, size >> 10);
	else
		snprintf(buf, len, "%s%u", prefix, size);
}

static unsigned int expected_class(size_t size)
{
	for (size_t i = 0; i < ARRAY_SIZE(kmalloc_classes); i++) {
		unsigned int c = kmalloc_classes[i];

		if (size <= c)
			return c;
	}
	return 0;
}

static void check_kmalloc_size(size_t size, gfp_t gfp, const char *prefix)
{
	unsigned int cls = expected_class(size);
	char name[32];
	void *p = kmalloc(size, gfp);

	ck_assert_msg(p != NULL, "kmalloc(%zu) failed", size);
	class_name(name, sizeof(name), prefix, cls);
	ck_assert_msg(uslab_obj_cache(p) != NULL, "kmalloc(%zu): no cache", size);
	ck_assert_msg(strcmp(uslab_cache_name(uslab_obj_cache(p)), name) == 0,
		      "kmalloc(%zu, %#x) from %s, want %s", size, gfp,
		      uslab_cache_name(uslab_obj_cache(p)), name);
	ck_assert_msg(ksize(p) == cls, "ksize(kmalloc(%zu)) = %zu, want %u", size, ksize(p), cls);
	ck_assert_uint_eq((uintptr_t)p % 8, 0);
	memset(p, 0x3c, size);
	kfree(p);
}

START_TEST(test_kmalloc_class_boundaries)
{
	lib_init(true);
	for (size_t i = 0; i < ARRAY_SIZE(kmalloc_classes); i++) {
		unsigned int c = kmalloc_classes[i];

		check_kmalloc_size(c - 1, GFP_KERNEL, "kmalloc-");
		check_kmalloc_size(c, GFP_KERNEL, "kmalloc-");
		if (c < KMALLOC_MAX_CACHE_SIZE)
			check_kmalloc_size(c + 1, GFP_KERNEL, "kmalloc-");
	}
	/* And every size in between, up to where the classes are pages apart. */
	for (size_t size = 1; size <= 20000; size++)
		check_kmalloc_size(size, GFP_KERNEL, "kmalloc-");
	for (size_t size = 20000; size <= KMALLOC_MAX_CACHE_SIZE; size += 4093)
		check_kmalloc_size(size, GFP_KERNEL, "kmalloc-");
	VALIDATE(uslab_cache_find("kmalloc-64"));
	VALIDATE(uslab_cache_find("kmalloc-8192"));
	VALIDATE(uslab_cache_find("kmalloc-16k"));
	VALIDATE(uslab_cache_find("kmalloc-4M"));
}
END_TEST

START_TEST(test_kmalloc_gfp_selects_cg_and_rcl_caches)
{
	lib_init(true);
	for (size_t i = 0; i < ARRAY_SIZE(kmalloc_classes); i++) {
		unsigned int c = kmalloc_classes[i];

		check_kmalloc_size(c, GFP_KERNEL_ACCOUNT, "kmalloc-cg-");
		check_kmalloc_size(c - 1, GFP_KERNEL | __GFP_RECLAIMABLE, "kmalloc-rcl-");
	}
	ck_assert(info_of(uslab_cache_find("kmalloc-cg-64")).flags & SLAB_ACCOUNT);
	ck_assert(info_of(uslab_cache_find("kmalloc-rcl-64")).flags & SLAB_RECLAIM_ACCOUNT);
	VALIDATE(uslab_cache_find("kmalloc-cg-64"));
	VALIDATE(uslab_cache_find("kmalloc-rcl-64"));
}
END_TEST

START_TEST(test_kmalloc_zero_size_and_null)
{
	lib_init(true);
	report_reset();
	uslab_set_report_handler(record_report);
	ck_assert_ptr_eq(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_ptr_eq(kzalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_ptr_eq(kmalloc_array(0, 16, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_ptr_eq(kcalloc(16, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	kfree(ZERO_SIZE_PTR);
	kfree(NULL);
	ck_assert_uint_eq(ksize(ZERO_SIZE_PTR), 0);
	ck_assert_uint_eq(ksize(NULL), 0);
	ck_assert_uint_eq(rep.count, 0);
}
END_TEST

/*
 * The big classes (above a page) are slab caches like the small ones:
 * naturally aligned to the page, charged and counted per slab, their
 * objects cached per CPU, so freeing and allocating again costs no system
 * call. Above KMALLOC_MAX_SIZE, kvmalloc() gives whole pages (kmalloc_large).
 */
START_TEST(test_kmalloc_large_blocks)
{
	static const size_t sizes[] = { 8193, 12288, 12289, 100000, 1u << 20, KMALLOC_MAX_SIZE };
	static const size_t vsizes[] = { KMALLOC_MAX_SIZE + 1, KMALLOC_MAX_SIZE + 4096,
					 (6u << 20) + 123 };

	lib_init(true);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t want = expected_class(sizes[i]);
		unsigned char *p = kmalloc(sizes[i], GFP_KERNEL);

		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_nonnull(uslab_obj_cache(p));
		ck_assert_uint_eq(ksize(p), want);
		ck_assert_uint_eq((uintptr_t)p % 4096, 0);
		ck_assert_int_eq(uslab_obj_node(p), 0);
		ck_assert_int_eq(uslab_obj_node(p + want - 1), 0);
		memset(p, 0x77, want);
		kfree(p);
		ck_assert_uint_eq(ksize(p), 0); /* freed: not a block any more */
	}
	for (size_t i = 0; i < ARRAY_SIZE(vsizes); i++) {
		size_t want = (vsizes[i] + 4095) & ~(size_t)4095;
		unsigned char *p = kvmalloc(vsizes[i], GFP_KERNEL);

		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_null(uslab_obj_cache(p));
		ck_assert_uint_eq(ksize(p), want);
		ck_assert_uint_eq((uintptr_t)p % 4096, 0);
		ck_assert_int_eq(uslab_obj_node(p), 0);
		ck_assert_int_eq(uslab_obj_node(p + want - 1), 0);
		memset(p, 0x77, want);
		kvfree(p);
		ck_assert_int_eq(uslab_obj_node(p), -1); /* pages gone from the page map */
	}
	unsigned char *z = kzalloc(20000, GFP_KERNEL);
	ck_assert(bytes_all(z, 0, 20000));
	kfree(z);
	z = kmalloc_node(20000, GFP_KERNEL, 0);
	ck_assert_int_eq(uslab_obj_node(z), 0);
	kfree(z);
	z = kvzalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL);
	ck_assert(bytes_all(z, 0, KMALLOC_MAX_SIZE + 1));
	kvfree(z);
}
END_TEST

/*
 * Every boundary of the big classes, size - 1, size and size + 1, with ksize;
 * and a buffer freed and allocated again comes back from the per-CPU array
 * with no page-provider call at all.
 */
START_TEST(test_kmalloc_big_class_boundaries_and_reuse)
{
	struct uslab_page_stats st0, st1;

	lib_init(true);
	for (size_t i = 0; i < ARRAY_SIZE(kmalloc_classes); i++) {
		size_t c = kmalloc_classes[i];

		if (c <= 8192)
			continue;
		for (size_t size = c - 1; size <= c + 1 && size <= KMALLOC_MAX_SIZE; size++) {
			unsigned char *p = kmalloc(size, GFP_KERNEL);
			size_t cls = expected_class(size);

			ck_assert_ptr_nonnull(p);
			ck_assert_uint_eq(ksize(p), cls);
			ck_assert_uint_eq((uintptr_t)p % 4096, 0);
			p[0] = 1;
			p[cls - 1] = 2;
			kfree(p);
		}
	}
	if (TEST_UNDER_ASAN) {
		/* The quarantine holds freed buffers back: the reuse below is not immediate. */
		VALIDATE(uslab_cache_find("kmalloc-1M"));
		return;
	}
	for (int i = 0; i < 4; i++)
		kfree(kmalloc(1u << 20, GFP_KERNEL));
	ck_assert_int_eq(uslab_node_page_stats(0, &st0), 0);
	for (int i = 0; i < 1000; i++) {
		void *p = kmalloc(1u << 20, GFP_KERNEL);

		ck_assert_ptr_nonnull(p);
		kfree(p);
	}
	ck_assert_int_eq(uslab_node_page_stats(0, &st1), 0);
	ck_assert_uint_eq(st1.nr_mmap, st0.nr_mmap);
	ck_assert_uint_eq(st1.nr_munmap, st0.nr_munmap);
	ck_assert_uint_eq(st1.nr_madvise, st0.nr_madvise);
	ck_assert_uint_eq(st1.mapped, st0.mapped);
	VALIDATE(uslab_cache_find("kmalloc-1M"));
}
END_TEST

/* uslab/slab.h: kmalloc returns NULL with errno EINVAL above KMALLOC_MAX_SIZE. */
START_TEST(test_kmalloc_above_max_size_is_einval)
{
	lib_init(true);
	errno = 0;
	ck_assert_ptr_null(kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(kmalloc(SIZE_MAX, GFP_KERNEL));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_kmalloc_power_of_two_classes_naturally_aligned)
{
	lib_init(true);
	for (size_t i = 0; i < ARRAY_SIZE(kmalloc_classes); i++) {
		unsigned int c = kmalloc_classes[i];
		unsigned int align = c & (c - 1) ? 8 : MIN(c, 4096u);
		int n = c > (64u << 10) ? 3 : 40;
		void *p[40];

		for (int j = 0; j < n; j++) {
			p[j] = kmalloc(c, GFP_KERNEL);
			ck_assert_msg((uintptr_t)p[j] % align == 0, "kmalloc(%u) = %p", c, p[j]);
		}
		for (int j = 0; j < n; j++)
			kfree(p[j]);
	}
}
END_TEST

START_TEST(test_kzalloc_zeroes_dirty_memory)
{
	unsigned char *p, *q;

	lib_init(true);
	pin_cpu0();
	for (size_t i = 0; i < ARRAY_SIZE(kmalloc_classes); i++) {
		size_t size = kmalloc_classes[i] - 3;

		p = kmalloc(size, GFP_KERNEL);
		memset(p, 0xa5, ksize(p));
		kfree(p);
		q = kzalloc(size, GFP_KERNEL);
		ASSERT_REUSED(q, p); /* the dirty object itself */
		ck_assert_msg(bytes_all(q, 0, size), "kzalloc(%zu) not zeroed", size);
		memset(q, 0xa5, ksize(q));
		kfree(q);
		q = kcalloc(1, size, GFP_KERNEL);
		ASSERT_REUSED(q, p);
		ck_assert(bytes_all(q, 0, size));
		kfree(q);
	}
}
END_TEST

/*
 * Linux zeroes the whole object (object_size, which ksize() reports) for
 * __GFP_ZERO, and krealloc(__GFP_ZERO) relies on it when it grows in place.
 */
START_TEST(test_kzalloc_zeroes_whole_usable_size)
{
	unsigned char *p, *q;

	lib_init(true);
	pin_cpu0();
	p = kmalloc(100, GFP_KERNEL);
	memset(p, 0xa5, ksize(p));
	kfree(p);
	q = kzalloc(100, GFP_KERNEL);
	ASSERT_REUSED(q, p);
	ck_assert_uint_eq(ksize(q), 128);
	p = q;
	q = krealloc(q, 128, GFP_KERNEL | __GFP_ZERO);
	ck_assert_ptr_eq(q, p); /* grown in place */
	ck_assert_msg(bytes_all(q, 0, 128), "bytes 100..127 not zero after kzalloc + krealloc");
	kfree(q);
}
END_TEST

/* Position-only pattern: it must survive being copied to another address. */
static void fill_pos(unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 31 + 7);
}

static bool check_pos(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(i * 31 + 7))
			return false;
	return true;
}

START_TEST(test_krealloc_keeps_contents)
{
	static const size_t steps[] = { 10, 24, 100, 200, 1000, 5000, 8000, 8192, 8193, 20000,
					300000, KMALLOC_MAX_SIZE, 50, 7 };
	unsigned char *p, *q;
	size_t cur;

	lib_init(true);
	p = krealloc(NULL, 10, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(ksize(p), 10);
	fill_pos(p, 10);
	cur = 10;
	for (size_t i = 1; i < ARRAY_SIZE(steps); i++) {
		size_t keep = MIN(cur, steps[i]);

		q = krealloc(p, steps[i], GFP_KERNEL);
		ck_assert_ptr_nonnull(q);
		ck_assert_uint_ge(ksize(q), steps[i]);
		ck_assert_msg(check_pos(q, keep), "krealloc %zu -> %zu lost contents", cur, steps[i]);
		fill_pos(q, steps[i]);
		p = q;
		cur = steps[i];
		ck_assert_ptr_nonnull(uslab_obj_cache(p));
	}
	/* Shrunk in place, still the 4 MiB block; krealloc to 0 frees it. */
	p = krealloc(p, 30000, GFP_KERNEL);
	ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(p)), "kmalloc-4M");
	ck_assert_ptr_eq(krealloc(p, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_uint_eq(ksize(p), 0);
	/* From ZERO_SIZE_PTR. */
	p = krealloc(ZERO_SIZE_PTR, 40, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_ne(p, ZERO_SIZE_PTR);
	ck_assert_uint_ge(ksize(p), 40);
	ck_assert_ptr_eq(krealloc(p, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_ptr_eq(krealloc(NULL, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	/* Failure leaves the block alone. */
	p = kmalloc(64, GFP_KERNEL);
	pattern_fill(p, 7, 64);
	errno = 0;
	ck_assert_ptr_null(krealloc(p, KMALLOC_MAX_SIZE + 1, GFP_KERNEL));
	ck_assert_int_ne(errno, 0);
	ck_assert(pattern_check(p, 7, 64));
	kfree(p);
	VALIDATE(uslab_cache_find("kmalloc-64"));
}
END_TEST

START_TEST(test_kmalloc_array_and_kcalloc_overflow)
{
	lib_init(true);
	errno = 0;
	ck_assert_ptr_null(kmalloc_array(SIZE_MAX / 2, 3, GFP_KERNEL));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kcalloc(SIZE_MAX / 8 + 1, 8, GFP_KERNEL));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmalloc_array((size_t)1 << 33, (size_t)1 << 33, GFP_KERNEL));
	ck_assert_int_eq(errno, ENOMEM);

	unsigned char *p = kmalloc_array(10, 30, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(ksize(p), 300);
	kfree(p);
	p = kcalloc(100, 7, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert(bytes_all(p, 0, 700));
	kfree(p);
}
END_TEST

START_TEST(test_kstrdup_kstrndup_kmemdup)
{
	char *s;
	unsigned char buf[300], *m;

	lib_init(true);
	s = kstrdup("hello, slab", GFP_KERNEL);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "hello, slab");
	ck_assert_uint_ge(ksize(s), 12);
	ck_assert_ptr_nonnull(uslab_obj_cache(s));
	kfree(s);
	ck_assert_ptr_null(kstrdup(NULL, GFP_KERNEL));
	s = kstrdup("", GFP_KERNEL);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	kfree(s);

	s = kstrndup("hello world", 5, GFP_KERNEL);
	ck_assert_str_eq(s, "hello");
	kfree(s);
	s = kstrndup("hi", 10, GFP_KERNEL);
	ck_assert_str_eq(s, "hi");
	kfree(s);
	s = kstrndup("abc", 0, GFP_KERNEL);
	ck_assert_str_eq(s, "");
	kfree(s);
	ck_assert_ptr_null(kstrndup(NULL, 4, GFP_KERNEL));

	for (int i = 0; i < 300; i++)
		buf[i] = (unsigned char)(i * 7);
	m = kmemdup(buf, sizeof(buf), GFP_KERNEL);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_ne(m, buf);
	ck_assert_mem_eq(m, buf, sizeof(buf));
	kfree(m);
	/* A large copy comes from a big class. */
	unsigned char *big = malloc(20000);
	for (int i = 0; i < 20000; i++)
		big[i] = (unsigned char)(i * 13);
	m = kmemdup(big, 20000, GFP_KERNEL);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(m)), "kmalloc-32k");
	ck_assert_mem_eq(m, big, 20000);
	kfree(m);
	free(big);
}
END_TEST

/* ================================================================================ */
/* destroy                                                                           */
/* ================================================================================ */

START_TEST(test_destroy_with_live_objects_is_busy)
{
	struct stderr_capture cap;
	struct kmem_cache *s;
	void *p[3], *q;
	char *err;
	int ret;

	lib_init(true);
	s = kmem_cache_create("busy", 80, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 3; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		pattern_fill(p[i], (uint32_t)i, 80);
	}
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ret = uslab_cache_destroy(s);
	err = stderr_capture_end(&cap);
	ck_assert_int_eq(ret, -EBUSY);
	ck_assert_msg(strstr(err, "kmem_cache_destroy busy: Slab cache still has objects") != NULL,
		      "stderr was: %s", err);
	free(err);

	/* Nothing changed: the cache is listed, works and validates. */
	ck_assert_ptr_eq(uslab_cache_find("busy"), s);
	ck_assert_int_eq(info_of(s).refcount, 1);
	VALIDATE(s);
	for (int i = 0; i < 3; i++)
		ck_assert(pattern_check(p[i], (uint32_t)i, 80));
	q = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_nonnull(q);
	kmem_cache_free(s, q);
	VALIDATE(s);

	/* kmem_cache_destroy says the same and keeps the cache too. */
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	kmem_cache_destroy(s);
	err = stderr_capture_end(&cap);
	ck_assert_ptr_nonnull(strstr(err, "kmem_cache_destroy busy: Slab cache still has objects"));
	free(err);
	ck_assert_ptr_eq(uslab_cache_find("busy"), s);
	VALIDATE(s);

	for (int i = 0; i < 3; i++)
		kmem_cache_free(s, p[i]);
	VALIDATE(s);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ret = uslab_cache_destroy(s);
	err = stderr_capture_end(&cap);
	ck_assert_int_eq(ret, 0);
	ck_assert_str_eq(err, "");
	free(err);
	ck_assert_ptr_null(uslab_cache_find("busy"));
}
END_TEST

START_TEST(test_destroy_null_is_noop)
{
	lib_init(true);
	kmem_cache_destroy(NULL);
	ck_assert_int_eq(uslab_cache_destroy(NULL), -EINVAL);
	ck_assert_ptr_nonnull(uslab_cache_find("kmalloc-64"));
}
END_TEST

/* ================================================================================ */
/* merging                                                                           */
/* ================================================================================ */

static void dummy_ctor(void *p)
{
	memset(p, 0, 8);
}

START_TEST(test_merge_compatible_caches_share_one)
{
	struct kmem_cache *a, *b, *c, *k32, *m;
	void *p;

	lib_init(false);
	a = kmem_cache_create("merge-a", 24, 0, 0, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(info_of(a).refcount, 1);
	b = kmem_cache_create("merge-b", 24, 0, 0, NULL);
	ck_assert_ptr_eq(b, a);
	ck_assert_int_eq(info_of(a).refcount, 2);
	c = kmem_cache_create("merge-c", 20, 8, 0, NULL);
	ck_assert_ptr_eq(c, a);
	ck_assert_int_eq(info_of(a).refcount, 3);

	/* A kmalloc cache is a merge target, as in Linux. */
	k32 = uslab_cache_find("kmalloc-32");
	ck_assert_ptr_nonnull(k32);
	ck_assert_int_eq(info_of(k32).refcount, 1);
	m = kmem_cache_create("merge-32", 32, 0, 0, NULL);
	ck_assert_ptr_eq(m, k32);
	ck_assert_int_eq(info_of(k32).refcount, 2);
	p = kmem_cache_alloc(m, GFP_KERNEL);
	ck_assert_ptr_eq(uslab_obj_cache(p), k32);
	kmem_cache_free(m, p);
	kmem_cache_destroy(m);
	ck_assert_int_eq(info_of(k32).refcount, 1);
	ck_assert_ptr_eq(uslab_cache_find("kmalloc-32"), k32);

	/* Destroy drops one reference at a time; the cache works until the last. */
	ck_assert_int_eq(uslab_cache_destroy(b), 0);
	ck_assert_int_eq(info_of(a).refcount, 2);
	ck_assert_int_eq(uslab_cache_destroy(c), 0);
	ck_assert_int_eq(info_of(a).refcount, 1);
	p = kmem_cache_alloc(a, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kmem_cache_free(a, p);
	VALIDATE(a);
	ck_assert_ptr_eq(uslab_cache_find("merge-a"), a);
	ck_assert_int_eq(uslab_cache_destroy(a), 0);
	ck_assert_ptr_null(uslab_cache_find("merge-a"));
	VALIDATE(k32);
}
END_TEST

/* Kernel __kmem_cache_alias(): object_size = max(object_size, size) of the alias. */
START_TEST(test_merged_alias_object_size_covers_request)
{
	struct kmem_cache *a, *b;
	unsigned char *p;

	lib_init(false);
	pin_cpu0();
	a = kmem_cache_create("alias-20", 20, 0, 0, NULL);
	ck_assert_ptr_nonnull(a);
	b = kmem_cache_create("alias-24", 24, 0, 0, NULL);
	ck_assert_ptr_eq(b, a);
	ck_assert_uint_ge(kmem_cache_size(b), 24);
	p = kmem_cache_alloc(b, GFP_KERNEL);
	memset(p, 0xff, 24);
	kmem_cache_free(b, p);
	p = kmem_cache_zalloc(b, GFP_KERNEL);
	ck_assert_msg(bytes_all(p, 0, 24), "kmem_cache_zalloc of the 24-byte alias left bytes set");
	ck_assert_uint_ge(ksize(p), 24);
	kmem_cache_free(b, p);
	VALIDATE(a);
}
END_TEST

START_TEST(test_merge_never_for_ctor_nomerge_debug_rcu)
{
	static const slab_flags_t never[] = { SLAB_NO_MERGE,	   SLAB_RED_ZONE,
					      SLAB_POISON,	   SLAB_STORE_USER,
					      SLAB_CONSISTENCY_CHECKS, SLAB_TYPESAFE_BY_RCU };
	struct kmem_cache *k32, *x[ARRAY_SIZE(never)], *c1, *c2, *nm, *plain, *acc;

	lib_init(false);
	k32 = uslab_cache_find("kmalloc-32");
	for (size_t i = 0; i < ARRAY_SIZE(never); i++) {
		char name[32];

		snprintf(name, sizeof(name), "never-%zu", i);
		x[i] = kmem_cache_create(name, 32, 0, never[i], NULL);
		ck_assert_ptr_nonnull(x[i]);
		ck_assert_msg(x[i] != k32, "flags %#x merged with kmalloc-32", never[i]);
		ck_assert_int_eq(info_of(x[i]).refcount, 1);
		for (size_t j = 0; j < i; j++)
			ck_assert_ptr_ne(x[i], x[j]);
	}
	ck_assert_int_eq(info_of(k32).refcount, 1);
	c1 = kmem_cache_create("ctor-1", 32, 0, 0, dummy_ctor);
	c2 = kmem_cache_create("ctor-2", 32, 0, 0, dummy_ctor);
	ck_assert_ptr_nonnull(c1);
	ck_assert_ptr_ne(c1, k32);
	ck_assert_ptr_ne(c1, c2);
	/* A non-mergeable cache is no target either. */
	nm = kmem_cache_create("nomerge-24", 24, 0, SLAB_NO_MERGE, NULL);
	plain = kmem_cache_create("plain-24", 24, 0, 0, NULL);
	ck_assert_ptr_ne(nm, plain);
	ck_assert_int_eq(info_of(nm).refcount, 1);
	/* Accounted objects never share with unaccounted ones. */
	acc = kmem_cache_create("acc-32", 32, 0, SLAB_ACCOUNT, NULL);
	ck_assert_ptr_ne(acc, k32);
	ck_assert(info_of(acc).flags & SLAB_ACCOUNT);
	for (size_t i = 0; i < ARRAY_SIZE(never); i++) {
		void *p = kmem_cache_alloc(x[i], GFP_KERNEL);

		kmem_cache_free(x[i], p);
		VALIDATE(x[i]);
		ck_assert_int_eq(uslab_cache_destroy(x[i]), 0);
	}
	VALIDATE(c1);
	ck_assert_int_eq(uslab_cache_destroy(c1), 0);
	ck_assert_int_eq(uslab_cache_destroy(c2), 0);
	ck_assert_int_eq(uslab_cache_destroy(nm), 0);
	ck_assert_int_eq(uslab_cache_destroy(plain), 0);
	kmem_cache_destroy(acc);
}
END_TEST

START_TEST(test_nomerge_option_disables_merging)
{
	struct kmem_cache *k32, *a, *b;

	lib_init(true);
	k32 = uslab_cache_find("kmalloc-32");
	a = kmem_cache_create("nm-a", 32, 0, 0, NULL);
	b = kmem_cache_create("nm-b", 32, 0, 0, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, k32);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(info_of(a).refcount, 1);
	ck_assert_int_eq(info_of(b).refcount, 1);
	ck_assert_int_eq(info_of(k32).refcount, 1);
	ck_assert_str_eq(uslab_cache_name(a), "nm-a");
	ck_assert_str_eq(uslab_cache_name(b), "nm-b");
	ck_assert_int_eq(uslab_init(NULL), -EBUSY); /* options are fixed once initialised */
	ck_assert_int_eq(uslab_cache_destroy(a), 0);
	ck_assert_int_eq(uslab_cache_destroy(b), 0);
}
END_TEST

/* ================================================================================ */
/* slabinfo                                                                          */
/* ================================================================================ */

START_TEST(test_slabinfo_format_matches_kernel)
{
	struct kmem_cache *s;
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f;
	void *p[100];
	int rows = 0, caches = 0;
	bool seen_ours = false;

	lib_init(true);
	s = kmem_cache_create("slabinfo-test", 100, 0, 0, NULL);
	for (int i = 0; i < 100; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 0; i < 50; i++)
		kmem_cache_free(s, p[i]);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(uslab_slabinfo(f), 0);
	fclose(f);

	line = strtok_r(buf, "\n", &save);
	ck_assert_str_eq(line, "slabinfo - version: 2.1");
	line = strtok_r(NULL, "\n", &save);
	ck_assert_str_eq(line, "# name            <active_objs> <num_objs> <objsize> <objperslab> "
			       "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "
			       "slabdata <active_slabs> <num_slabs> <sharedavail>");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char name[128], again[512];
		unsigned long active, num, aslabs, nslabs, savail;
		unsigned int objsize, perslab, limit, batch, shared;
		int pages, end = -1;
		struct kmem_cache *c;
		struct uslab_cache_info i;

		rows++;
		ck_assert_msg(sscanf(line,
				     "%127s %lu %lu %u %u %d : tunables %u %u %u : slabdata %lu %lu "
				     "%lu%n",
				     name, &active, &num, &objsize, &perslab, &pages, &limit, &batch,
				     &shared, &aslabs, &nslabs, &savail, &end) == 12 &&
				      end == (int)strlen(line),
			      "bad slabinfo row: '%s'", line);
		snprintf(again, sizeof(again),
			 "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu",
			 name, active, num, objsize, perslab, pages, limit, batch, shared, aslabs,
			 nslabs, savail);
		ck_assert_str_eq(line, again);
		c = uslab_cache_find(name);
		ck_assert_msg(c != NULL, "row for unknown cache %s", name);
		caches++;
		i = info_of(c);
		ck_assert_uint_eq(active, i.active_objs);
		ck_assert_uint_eq(num, i.num_objs);
		ck_assert_uint_eq(objsize, i.size);
		ck_assert_uint_eq(perslab, i.objs_per_slab);
		ck_assert_int_eq(pages, (int)i.pages_per_slab);
		ck_assert_uint_eq(limit, i.limit);
		ck_assert_uint_eq(batch, i.batchcount);
		ck_assert_uint_eq(shared, i.shared);
		ck_assert_uint_eq(aslabs, i.active_slabs);
		ck_assert_uint_eq(nslabs, i.num_slabs);
		ck_assert_uint_eq(savail, i.shared_avail);
		ck_assert_uint_le(active, num);
		ck_assert_uint_le(aslabs, nslabs);
		if (c == s) {
			seen_ours = true;
			ck_assert_uint_ge(active, 50);
			ck_assert_uint_eq(objsize, 104);
		}
	}
	ck_assert(seen_ours);
	/* 3 kmalloc types x 22 classes, plus ours. */
	ck_assert_int_eq(rows, 3 * 22 + 1);
	ck_assert_int_eq(caches, rows);
	free(buf);
	ck_assert_int_eq(uslab_slabinfo(NULL), -EINVAL);
	for (int i = 50; i < 100; i++)
		kmem_cache_free(s, p[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* misuse reports                                                                    */
/* ================================================================================ */

START_TEST(test_misuse_is_reported_to_handler)
{
	struct kmem_cache *a, *b, *k64;
	int on_stack = 0;
	char *heap = malloc(64);
	unsigned char *obj, *large, *ob;

	lib_init(true);
	report_reset();
	ck_assert_ptr_null(uslab_set_report_handler(record_report));
	a = kmem_cache_create("misuse-a", 64, 0, 0, NULL);
	b = kmem_cache_create("misuse-b", 64, 0, 0, NULL);
	k64 = uslab_cache_find("kmalloc-64");

	kfree(&on_stack);
	ck_assert_uint_eq(rep.count, 1);
	ck_assert_ptr_eq(rep.object, &on_stack);

	kfree(heap);
	ck_assert_uint_eq(rep.count, 2);
	ck_assert_ptr_eq(rep.object, heap);

	obj = kmalloc(64, GFP_KERNEL);
	pattern_fill(obj, 64, 64);
	kfree(obj + 8);
	ck_assert_uint_eq(rep.count, 3);
	ck_assert_str_eq(rep.cache, "kmalloc-64");
	ck_assert_ptr_eq(rep.object, obj + 8);
	ck_assert(pattern_check(obj, 64, 64));

	large = kvmalloc(KMALLOC_MAX_SIZE + 3 * 4096 + 1, GFP_KERNEL);
	kfree(large + 4096);
	ck_assert_uint_eq(rep.count, 4);
	ck_assert_ptr_eq(rep.object, large + 4096);
	ck_assert_int_eq(uslab_obj_node(large), 0); /* still allocated */
	kmem_cache_free(a, large);
	ck_assert_uint_eq(rep.count, 5);
	ck_assert_ptr_eq(rep.object, large);

	ob = kmem_cache_alloc(b, GFP_KERNEL);
	kmem_cache_free(a, ob);
	ck_assert_uint_eq(rep.count, 6);
	ck_assert_ptr_eq(rep.object, ob);
	ck_assert_str_eq(rep.cache, "misuse-a");
	ck_assert_msg(strstr(rep.text, "misuse-b") != NULL, "report does not name the owner: %s",
		      rep.text);

	kmem_cache_free(a, &on_stack);
	ck_assert_uint_eq(rep.count, 7);
	ck_assert_str_eq(rep.cache, "misuse-a");
	kmem_cache_free(b, ob + 1);
	ck_assert_uint_eq(rep.count, 8);
	ck_assert_str_eq(rep.cache, "misuse-b");

	/* Nothing was freed by the bad calls: the caches are intact. */
	VALIDATE(a);
	VALIDATE(b);
	VALIDATE(k64);
	ck_assert_uint_eq(info_of(b).active_objs - info_of(b).cpu_avail - info_of(b).shared_avail, 1);
	kmem_cache_free(b, ob);
	kfree(obj);
	kfree(large);
	ck_assert_uint_eq(rep.count, 8);
	ck_assert_int_eq(uslab_obj_node(large), -1);
	ck_assert_int_eq(kmem_cache_shrink(b), 0);
	VALIDATE(a);
	VALIDATE(b);
	VALIDATE(k64);
	ck_assert_ptr_eq(uslab_set_report_handler(NULL), record_report);
	free(heap);
}
END_TEST

/*
 * The fast paths of every slab shape (one-page on-slab, off-slab management,
 * several pages per slab) keep the checks of the full path: a double free, a
 * pointer inside an object and a free to the wrong cache are reported and
 * change nothing. The thread is not pinned, so on x86-64 this runs in rseq mode.
 */
START_TEST(test_fast_paths_report_misuse_of_every_slab_shape)
{
	static const size_t sizes[] = { 64, 256, 1024, 4096, 8192, 65536, 1u << 20 };
	struct kmem_cache *c[3], *other;
	unsigned int count;

	lib_init(true);
	report_reset();
	ck_assert_ptr_null(uslab_set_report_handler(record_report));
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned char *p = kmalloc(sizes[i], GFP_KERNEL), *q;

		ck_assert_ptr_nonnull(p);
		count = rep.count;
		kfree(p + 16);
		ck_assert_uint_eq(rep.count, count + 1);
		ck_assert_ptr_eq(rep.object, p + 16);
		kfree(p);
		ck_assert_uint_eq(rep.count, count + 1);
		kfree(p);
		ck_assert_uint_eq(rep.count, count + 2);
		ck_assert_ptr_eq(rep.object, p);
		ck_assert_msg(strstr(rep.text, "double free") != NULL, "size %zu: %s", sizes[i],
			      rep.text);
		/* The class still works: the freed object is handed out once. */
		q = kmalloc(sizes[i], GFP_KERNEL);
		ck_assert_ptr_nonnull(q);
		kfree(q);
		ck_assert_uint_eq(rep.count, count + 2);
	}
	c[0] = kmem_cache_create("shape-inline", 64, 0, 0, NULL);
	c[1] = kmem_cache_create("shape-offslab", 2000, 0, 0, NULL);
	c[2] = kmem_cache_create("shape-pages", 40000, 0, 0, NULL);
	other = kmem_cache_create("shape-other", 2000, 0, 0, NULL);
	for (int i = 0; i < 3; i++) {
		unsigned char *p = kmem_cache_alloc(c[i], GFP_KERNEL);

		ck_assert_ptr_nonnull(p);
		count = rep.count;
		kmem_cache_free(other, p);
		ck_assert_uint_eq(rep.count, count + 1);
		ck_assert_str_eq(rep.cache, "shape-other");
		kmem_cache_free(c[i], p + 8);
		ck_assert_uint_eq(rep.count, count + 2);
		kmem_cache_free(c[i], p);
		kmem_cache_free(c[i], p);
		ck_assert_uint_eq(rep.count, count + 3);
		ck_assert_str_eq(rep.cache, uslab_cache_name(c[i]));
		VALIDATE(c[i]);
		ck_assert_int_eq(kmem_cache_shrink(c[i]), 0);
		ck_assert_int_eq(uslab_cache_destroy(c[i]), 0);
	}
	ck_assert_int_eq(uslab_cache_destroy(other), 0);
	ck_assert_ptr_eq(uslab_set_report_handler(NULL), record_report);
}
END_TEST

START_TEST(test_misuse_default_handler_aborts)
{
	int on_stack;

	lib_init(true);
	kfree(&on_stack);
}
END_TEST

START_TEST(test_wrong_cache_free_default_handler_aborts)
{
	struct kmem_cache *a, *b;

	lib_init(true);
	a = kmem_cache_create("abort-a", 64, 0, 0, NULL);
	b = kmem_cache_create("abort-b", 64, 0, 0, NULL);
	kmem_cache_free(a, kmem_cache_alloc(b, GFP_KERNEL));
}
END_TEST

/* ================================================================================ */
/* nodes                                                                             */
/* ================================================================================ */

START_TEST(test_alloc_node_arguments)
{
	struct kmem_cache *s;
	void *p, *q;
	int bad = (int)uslab_nr_node_ids();

	lib_init(true);
	s = kmem_cache_create("node", 128, 0, 0, NULL);
	p = kmem_cache_alloc_node(s, GFP_KERNEL, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(uslab_obj_node(p), 0);
	q = kmem_cache_alloc_node(s, GFP_KERNEL, NUMA_NO_NODE);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(uslab_obj_node(q), numa_node_id());
	kmem_cache_free(s, q);
	q = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_THISNODE, 0);
	ck_assert_ptr_nonnull(q);
	kmem_cache_free(s, q);
	q = kmem_cache_alloc_lru(s, NULL, GFP_KERNEL);
	ck_assert_ptr_nonnull(q);
	kmem_cache_free(s, q);

	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc_node(s, GFP_KERNEL, bad));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc_node(s, GFP_KERNEL, -2));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc_node(s, GFP_KERNEL, 1000));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc_node(NULL, GFP_KERNEL, 0));
	ck_assert_int_eq(errno, EINVAL);

	q = kmalloc_node(100, GFP_KERNEL, 0);
	ck_assert_int_eq(uslab_obj_node(q), 0);
	kfree(q);
	q = kzalloc_node(100, GFP_KERNEL, NUMA_NO_NODE);
	ck_assert(bytes_all(q, 0, 100));
	kfree(q);
	errno = 0;
	ck_assert_ptr_null(kmalloc_node(100, GFP_KERNEL, bad));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(uslab_cache_info(s, bad, &(struct uslab_cache_info){ 0 }), -EINVAL);
	ck_assert_int_eq(uslab_cache_info(s, -2, &(struct uslab_cache_info){ 0 }), -EINVAL);
	ck_assert_int_eq(uslab_cache_info(s, 0, &(struct uslab_cache_info){ 0 }), 0);
	kmem_cache_free(s, p);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* A bad node is a bad argument for kmalloc_large as for the slab classes. */
START_TEST(test_kmalloc_node_large_bad_node)
{
	void *p;

	lib_init(true);
	errno = 0;
	p = kmalloc_node(20000, GFP_KERNEL, (int)uslab_nr_node_ids() + 5);
	ck_assert_msg(p == NULL, "kmalloc_node(20000, node %u) returned %p on node %d",
		      uslab_nr_node_ids() + 5, p, uslab_obj_node(p));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	p = kvmalloc_node(KMALLOC_MAX_SIZE + 1, GFP_KERNEL, (int)uslab_nr_node_ids() + 5);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ================================================================================ */
/* threads                                                                           */
/* ================================================================================ */

#define NTHREADS 4
#define ITERS 20000
#define XCHG_SIZE 256
#define LOCAL_MAX 64

struct tobj {
	void *p;
	struct kmem_cache *cache; /* NULL: kmalloc */
	uint32_t tag;
	uint32_t len;
};

static struct {
	pthread_mutex_t lock;
	struct tobj slot[XCHG_SIZE];
	unsigned int n;
} xchg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_barrier_t start_barrier;
static struct kmem_cache *thread_cache;
static unsigned long thread_errors;

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void tobj_free(struct tobj *o)
{
	if (!pattern_check(o->p, o->tag, o->len))
		__atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
	if (o->cache)
		kmem_cache_free(o->cache, o->p);
	else
		kfree(o->p);
}

static void *thread_main(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	uint32_t rnd = 0x9e3779b9u * (id + 1), seq = 0;
	struct tobj local[LOCAL_MAX];
	unsigned int nlocal = 0;

	/* Two threads act as CPU 0 and 1; the others run where the scheduler puts them. */
	if (id < 2)
		uslab_thread_set_cpu((int)id);
	pthread_barrier_wait(&start_barrier);
	for (unsigned int it = 0; it < ITERS; it++) {
		uint32_t r = xorshift(&rnd);

		switch (r % 8) {
		case 0: case 1: case 2: /* allocate */
			if (nlocal == LOCAL_MAX)
				tobj_free(&local[--nlocal]);
			{
				struct tobj *o = &local[nlocal];

				o->tag = (id << 24) | (++seq & 0xffffff);
				if (r & 0x100) {
					o->cache = thread_cache;
					o->len = 48;
					o->p = kmem_cache_alloc(thread_cache, GFP_KERNEL);
				} else {
					o->cache = NULL;
					o->len = 1 + (r >> 12) % 1500;
					o->p = kmalloc(o->len, GFP_KERNEL);
				}
				if (!o->p) {
					__atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
					break;
				}
				pattern_fill(o->p, o->tag, o->len);
				nlocal++;
			}
			break;
		case 3: case 4: /* free one of ours */
			if (nlocal) {
				unsigned int k = (r >> 8) % nlocal;

				tobj_free(&local[k]);
				local[k] = local[--nlocal];
			}
			break;
		case 5: /* hand one over */
			if (nlocal) {
				unsigned int k = (r >> 8) % nlocal;
				bool given = false;

				pthread_mutex_lock(&xchg.lock);
				if (xchg.n < XCHG_SIZE) {
					xchg.slot[xchg.n++] = local[k];
					given = true;
				}
				pthread_mutex_unlock(&xchg.lock);
				if (!given)
					tobj_free(&local[k]);
				local[k] = local[--nlocal];
			}
			break;
		case 6: { /* free one somebody else allocated */
			struct tobj o = { 0 };

			pthread_mutex_lock(&xchg.lock);
			if (xchg.n)
				o = xchg.slot[--xchg.n];
			pthread_mutex_unlock(&xchg.lock);
			if (o.p)
				tobj_free(&o);
			break;
		}
		default: { /* a small bulk round trip */
			void *b[16];
			int n = 1 + (int)((r >> 8) % 16);

			if (kmem_cache_alloc_bulk(thread_cache, GFP_KERNEL, (size_t)n, b) != n) {
				__atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
				break;
			}
			for (int i = 0; i < n; i++)
				pattern_fill(b[i], id, 48);
			for (int i = 0; i < n; i++)
				if (!pattern_check(b[i], id, 48))
					__atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
			kmem_cache_free_bulk(thread_cache, (size_t)n, b);
			break;
		}
		}
	}
	while (nlocal)
		tobj_free(&local[--nlocal]);
	return NULL;
}

START_TEST(test_threads_cross_free_keep_objects_private)
{
	pthread_t t[NTHREADS];

	lib_init(true);
	thread_errors = 0;
	thread_cache = kmem_cache_create("threads", 48, 0, 0, NULL);
	ck_assert_ptr_nonnull(thread_cache);
	/* Small arrays: many flushes and refills through the shared array and slabs. */
	ck_assert_int_eq(uslab_cache_tune(thread_cache, 16, 8, 2), 0);
	ck_assert_int_eq(pthread_barrier_init(&start_barrier, NULL, NTHREADS), 0);
	for (uintptr_t i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_main, (void *)i), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start_barrier);
	while (xchg.n)
		tobj_free(&xchg.slot[--xchg.n]);
	ck_assert_uint_eq(thread_errors, 0);
	VALIDATE(thread_cache);
	for (size_t i = 0; i < ARRAY_SIZE(kmalloc_classes); i++) {
		char name[32];

		class_name(name, sizeof(name), "kmalloc-", kmalloc_classes[i]);
		VALIDATE(uslab_cache_find(name));
	}
	ck_assert_int_eq(kmem_cache_shrink(thread_cache), 0);
	ck_assert_uint_eq(info_of(thread_cache).num_slabs, 0);
	ck_assert_int_eq(uslab_cache_destroy(thread_cache), 0);
}
END_TEST

/* ================================================================================ */

static Suite *slab_suite(void)
{
	Suite *s = suite_create("slab");
	TCase *tc;

	tc = tcase_create("create");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_create_aligns_every_power_of_two);
	tcase_add_test(tc, test_create_hwcache_align_uses_cache_lines);
	tcase_add_test(tc, test_create_rejects_bad_arguments);
	tcase_add_test_raise_signal(tc, test_create_panic_aborts_on_failure, SIGABRT);
	tcase_add_test(tc, test_create_panic_success_returns_cache);
	suite_add_tcase(s, tc);

	tc = tcase_create("objects");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_ctor_runs_once_per_object, 0, 2);
	tcase_add_test(tc, test_free_objects_are_never_written);
	tcase_add_test(tc, test_zalloc_zeroes_whole_object);
	suite_add_tcase(s, tc);

	tc = tcase_create("arrays");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_flusharray_moves_oldest_batch_to_shared);
	tcase_add_test(tc, test_flusharray_without_shared_goes_to_slabs);
	tcase_add_test(tc, test_refill_takes_batch_from_shared_then_slabs);
	tcase_add_test(tc, test_refill_default_tunables_and_batchrefill_limit);
	tcase_add_test(tc, test_refill_marks_array_touched);
	tcase_add_test(tc, test_free_block_keeps_at_most_free_limit);
	tcase_add_test(tc, test_tune_rejects_bad_values);
	tcase_add_test(tc, test_tune_accepts_documented_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("shrink-reap");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_shrink_releases_free_slabs);
	tcase_add_test(tc, test_reap_drains_untouched_arrays_by_a_fifth);
	tcase_add_test(tc, test_reap_frees_idle_free_slabs);
	suite_add_tcase(s, tc);

	tc = tcase_create("adaptive");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_adaptive_array_grows_until_bursts_fit);
	tcase_add_test(tc, test_adaptive_array_halves_when_idle);
	tcase_add_test(tc, test_adaptive_array_bounded_by_bytes_and_tuning);
	suite_add_tcase(s, tc);

	tc = tcase_create("bulk");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bulk_alloc_and_free_with_null_entries);
	tcase_add_test(tc, test_bulk_alloc_rejects_unknown_gfp);
	tcase_add_test(tc, test_bulk_alloc_failure_is_all_or_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("kmalloc");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kmalloc_class_boundaries);
	tcase_add_test(tc, test_kmalloc_gfp_selects_cg_and_rcl_caches);
	tcase_add_test(tc, test_kmalloc_zero_size_and_null);
	tcase_add_test(tc, test_kmalloc_large_blocks);
	tcase_add_test(tc, test_kmalloc_big_class_boundaries_and_reuse);
	tcase_add_test(tc, test_kmalloc_above_max_size_is_einval);
	tcase_add_test(tc, test_kmalloc_power_of_two_classes_naturally_aligned);
	tcase_add_test(tc, test_kzalloc_zeroes_dirty_memory);
	tcase_add_test(tc, test_kzalloc_zeroes_whole_usable_size);
	tcase_add_test(tc, test_krealloc_keeps_contents);
	tcase_add_test(tc, test_kmalloc_array_and_kcalloc_overflow);
	tcase_add_test(tc, test_kstrdup_kstrndup_kmemdup);
	suite_add_tcase(s, tc);

	tc = tcase_create("destroy-merge");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_destroy_with_live_objects_is_busy);
	tcase_add_test(tc, test_destroy_null_is_noop);
	tcase_add_test(tc, test_merge_compatible_caches_share_one);
	tcase_add_test(tc, test_merged_alias_object_size_covers_request);
	tcase_add_test(tc, test_merge_never_for_ctor_nomerge_debug_rcu);
	tcase_add_test(tc, test_nomerge_option_disables_merging);
	suite_add_tcase(s, tc);

	tc = tcase_create("slabinfo");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_slabinfo_format_matches_kernel);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_misuse_is_reported_to_handler);
	tcase_add_test(tc, test_fast_paths_report_misuse_of_every_slab_shape);
	tcase_add_test_raise_signal(tc, test_misuse_default_handler_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_wrong_cache_free_default_handler_aborts, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("nodes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_alloc_node_arguments);
	tcase_add_test(tc, test_kmalloc_node_large_bad_node);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads_cross_free_keep_objects_private);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(slab_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
