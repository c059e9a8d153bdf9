// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-pagecache.c - the page cache under the slabs, through the
 * library: a repeated kmalloc burst reuses its pages with no system call;
 * the background worker gives idle memory back after the decay period
 * (RSS and mincore fall) and uslab_trim() at once; a decay of 0 returns
 * pages on free; memory.reclaim on the root trims; a node going offline
 * gives its cached pages back whatever the decay; a 1 MiB accounted block
 * is charged against memory.max and uncharged when its slab goes; page
 * fault injection also fails grabs the page cache could serve; and a forked
 * child's worker starts again.
 *
 * Tests that measure decay let real time pass: they poll the clock against
 * a deadline that is generous for a loaded machine, and fail only when the
 * memory never comes back.
 */
#define _GNU_SOURCE
#include <uslab.h>
#include <uslab/memcg.h>

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define PG 4096ul

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct uslab_page_stats node_stats(int node)
{
	struct uslab_page_stats st;

	ck_assert_int_eq(uslab_node_page_stats(node, &st), 0);
	return st;
}

/* Sum of the page stats over every node. */
static struct uslab_page_stats all_stats(void)
{
	struct uslab_page_stats sum = { 0 };

	for (int n = 0; n < (int)uslab_nr_node_ids(); n++) {
		struct uslab_page_stats st = node_stats(n);

		sum.mapped += st.mapped;
		sum.in_use += st.in_use;
		sum.pooled += st.pooled;
		sum.purged += st.purged;
		sum.nr_mmap += st.nr_mmap;
		sum.nr_munmap += st.nr_munmap;
		sum.nr_madvise += st.nr_madvise;
	}
	return sum;
}

/* Pages of [p, p + len) in memory (0 once unmapped). */
static unsigned long resident_in(const void *p, size_t len)
{
	size_t n = (len + PG - 1) / PG;
	unsigned char *vec = malloc(n);
	unsigned long count = 0;

	ck_assert_ptr_nonnull(vec);
	if (mincore((void *)((uintptr_t)p & ~(PG - 1)), n * PG, vec) == 0)
		for (size_t i = 0; i < n; i++)
			count += vec[i] & 1;
	free(vec);
	return count;
}

static long rss_pages(void)
{
	long size = 0, resident = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident;
}

/* The burst of the issue: 20,000 kmalloc objects of 32 .. 4096 bytes, fixed seed. */
enum { BURST = 20000 };
static void *burst_obj[BURST];

static void burst_alloc(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < BURST; i++) {
		size_t size;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size = 32 + x % (4096 - 32 + 1);
		burst_obj[i] = kmalloc(size, GFP_KERNEL);
		ck_assert_ptr_nonnull(burst_obj[i]);
		memset(burst_obj[i], 0xa5, size);
	}
}

static void burst_free(void)
{
	for (int i = 0; i < BURST; i++)
		kfree(burst_obj[i]);
}

/*
 * Steady state of a repeated burst: after the first round, no mmap, no
 * munmap, no madvise (the page provider's own counters) and no page faults
 * of the slab pages (the first round touched them all).
 */
START_TEST(test_repeated_burst_no_syscalls)
{
	struct uslab_page_stats st0, st1;

	ck_assert_int_eq(uslab_init(NULL), 0);
	if (TEST_UNDER_ASAN)
		return; /* the quarantine holds freed objects back: every round grows */
	/*
	 * Pages the rounds do not reuse would go back to the OS after the decay
	 * period: on a loaded machine the rounds may take longer than the default
	 * second. The decay is another test's subject; here it stays out of the way.
	 */
	ck_assert_int_eq(uslab_decay_set(600000), 0);
	burst_alloc();
	burst_free();
	burst_alloc();
	burst_free();
	st0 = all_stats();
	ck_assert_uint_gt(st0.pooled + st0.in_use, 0);
	for (int round = 0; round < 5; round++) {
		burst_alloc();
		burst_free();
	}
	st1 = all_stats();
	ck_assert_uint_eq(st1.nr_mmap, st0.nr_mmap);
	ck_assert_uint_eq(st1.nr_munmap, st0.nr_munmap);
	ck_assert_uint_eq(st1.nr_madvise, st0.nr_madvise);
	ck_assert_uint_eq(st1.purged, st0.purged);
	ck_assert_uint_eq(st1.mapped, st0.mapped);
}
END_TEST

/*
 * The background worker, untouched by the test: after a burst is freed the
 * arrays and free slabs drain and the pages go back to the OS within a few
 * decay periods (RSS falls back near where it was), without any call.
 */
START_TEST(test_decay_returns_memory)
{
	enum { DECAY = 100 };
	long before, peak, after = 0;
	uint64_t t0, deadline;
	void *probe;

	/* The defaults (reaper period from the decay), only a shorter decay. */
	unsetenv("USLAB_REAP_MS");
	setenv("USLAB_DECAY_MS", "100", 1);
	ck_assert_int_eq(uslab_init(NULL), 0);
	ck_assert_uint_eq(uslab_decay_get(), DECAY);
	/* Warm up the library itself (kmalloc caches' own metadata). */
	burst_alloc();
	burst_free();
	uslab_trim();
	before = rss_pages();
	burst_alloc();
	peak = rss_pages();
	probe = burst_obj[BURST / 2];
	ck_assert_int_gt(peak - before, 2000);	/* about 40 MB of objects' pages */
	burst_free();
	t0 = mono_ms();
	/* Generous for a loaded machine; today it takes about 1.5 decay periods. */
	deadline = t0 + 100 * DECAY;
	while (mono_ms() < deadline) {
		after = rss_pages();
		if ((TEST_UNDER_SANITIZER || after - before < (peak - before) / 20) &&
		    all_stats().pooled == 0)
			break;
		sched_yield();
	}
	/* Sanitizer runtimes keep shadow and their own heap resident: the page cache only. */
	if (!TEST_UNDER_SANITIZER)
		ck_assert_msg(after - before < (peak - before) / 20,
			      "RSS %ld -> %ld -> %ld pages: not back within %d ms", before, peak,
			      after, 100 * DECAY);
	ck_assert_uint_eq(all_stats().pooled, 0);
	ck_assert_uint_eq(resident_in(probe, 64), 0);
	printf("decay: RSS %ld -> %ld -> %ld pages, back after %llu ms (decay %d ms)\n", before,
	       peak, after, (unsigned long long)(mono_ms() - t0), DECAY);
}
END_TEST

/* uslab_trim(): arrays, free slabs and the page cache, all at once. */
START_TEST(test_trim_returns_everything_now)
{
	long before, peak, after;
	unsigned long bytes;

	ck_assert_int_eq(uslab_init(NULL), 0);
	ck_assert_int_eq(uslab_decay_set(USLAB_DECAY_MS_MAX), 0);
	burst_alloc();
	burst_free();
	uslab_trim();
	before = rss_pages();
	burst_alloc();
	peak = rss_pages();
	burst_free();
	/* Nothing returned by itself: the decay is an hour. */
	ck_assert_int_gt(rss_pages() - before, (peak - before) / 2);
	/* slabinfo_nodes shows the page cache of node 0. */
	{
		char *text = NULL, *line;
		size_t len = 0;
		unsigned long mapped, in_use, pooled;
		FILE *f = open_memstream(&text, &len);

		ck_assert_int_eq(uslab_slabinfo_nodes(f), 0);
		fclose(f);
		line = strstr(text, "\n  pages");
		ck_assert_msg(line != NULL, "no pages line in:\n%s", text);
		ck_assert_int_eq(sscanf(line, " pages 0 %lu %lu %lu", &mapped, &in_use, &pooled), 3);
		ck_assert_uint_eq(pooled, node_stats(0).pooled);
		ck_assert_uint_gt(pooled, (unsigned long)(peak - before) / 2);
		free(text);
	}
	bytes = uslab_trim();
	after = rss_pages();
	ck_assert_uint_gt(bytes, (unsigned long)(peak - before) * PG / 2);
	if (!TEST_UNDER_SANITIZER)
		ck_assert_msg(after - before < (peak - before) / 20, "RSS %ld -> %ld -> %ld pages",
			      before, peak, after);
	ck_assert_uint_eq(all_stats().pooled, 0);
	/* Nothing left to give (ASan's quarantine may still hand objects back meanwhile). */
	if (!TEST_UNDER_ASAN)
		ck_assert_uint_eq(uslab_trim(), 0);
	ck_assert_int_eq(uslab_decay_set(USLAB_DECAY_MS_MAX + 1), -EINVAL);
	ck_assert_uint_eq(uslab_decay_get(), USLAB_DECAY_MS_MAX);
}
END_TEST

/* memory.reclaim written to the root tenant trims as uslab_trim() does. */
START_TEST(test_root_reclaim_trims)
{
	ck_assert_int_eq(uslab_init(NULL), 0);
	burst_alloc();
	burst_free();
	ck_assert_uint_gt(all_stats().pooled, 0);
	ck_assert_int_eq(mem_cgroup_write(uslab_root_mem_cgroup(), "memory.reclaim", "1G"), 0);
	ck_assert_uint_eq(all_stats().pooled, 0);
}
END_TEST

/* A decay of 0: no page cache; freed slab pages go back before kfree returns. */
START_TEST(test_no_decay_returns_on_free)
{
	void *big;

	setenv("USLAB_DECAY_MS", "0", 1);
	ck_assert_int_eq(uslab_init(NULL), 0);
	ck_assert_uint_eq(uslab_decay_get(), 0);
	burst_alloc();
	burst_free();
	ck_assert_uint_eq(all_stats().pooled, 0);
	big = kvmalloc(KMALLOC_MAX_SIZE + PG, GFP_KERNEL);
	ck_assert_ptr_nonnull(big);
	memset(big, 1, KMALLOC_MAX_SIZE + PG);
	kvfree(big);
	ck_assert_uint_eq(resident_in(big, KMALLOC_MAX_SIZE + PG), 0);
	ck_assert_uint_eq(all_stats().pooled, 0);
	/* Switching the cache on later works too. */
	ck_assert_int_eq(uslab_decay_set(1000), 0);
	big = kvmalloc(KMALLOC_MAX_SIZE + PG, GFP_KERNEL);
	memset(big, 1, KMALLOC_MAX_SIZE + PG);
	kvfree(big);
	ck_assert_uint_eq(all_stats().pooled, (KMALLOC_MAX_SIZE + PG) / PG);
	/* And off again: the cache is emptied. */
	ck_assert_int_eq(uslab_decay_set(0), 0);
	ck_assert_uint_eq(all_stats().pooled, 0);
}
END_TEST

/* A node going offline gives its cached pages back, whatever the decay. */
START_TEST(test_node_offline_gives_pool_back)
{
	struct uslab_config cfg = { .topology = "node:2 core:1 pu:1" };
	struct kmem_cache *s;
	static void *objs[4096];

	setenv("USLAB_DECAY_MS", "3600000", 1);
	ck_assert_int_eq(uslab_init(&cfg), 0);
	s = kmem_cache_create("pc-node", 700, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 4096; i++) {
		objs[i] = kmem_cache_alloc_node(s, GFP_KERNEL, 1);
		ck_assert_ptr_nonnull(objs[i]);
		ck_assert_int_eq(uslab_obj_node(objs[i]), 1);
	}
	for (int i = 0; i < 4096; i++)
		kmem_cache_free(s, objs[i]);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_gt(node_stats(1).pooled, 500);
	ck_assert_int_eq(mem_node_offline(1), 0);
	ck_assert_uint_eq(node_stats(1).pooled, 0);
	ck_assert_uint_eq(node_stats(1).in_use, 0);
	ck_assert_int_eq(mem_node_online(1), 0);
	/* And the node serves again. */
	objs[0] = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_THISNODE, 1);
	ck_assert_ptr_nonnull(objs[0]);
	kmem_cache_free(s, objs[0]);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/*
 * A 1 MiB accounted block is charged to the tenant (one slab of kmalloc-cg-1M's
 * child), fails cleanly against memory.max, and is uncharged when its slab
 * is released, whether or not the pages stay in the page cache.
 */
START_TEST(test_accounted_1m_against_max)
{
	struct mem_cgroup *t;
	void *a, *b, *c;

	ck_assert_int_eq(uslab_init(NULL), 0);
	t = mem_cgroup_create(NULL, "pc-1m");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "3M"), 0);
	set_active_memcg(t);
	a = kmalloc(1u << 20, GFP_KERNEL_ACCOUNT);
	b = kmalloc(1u << 20, GFP_KERNEL_ACCOUNT);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_ge(mem_cgroup_usage(t), 2u << 20);
	errno = 0;
	c = kmalloc(3u << 19, GFP_KERNEL_ACCOUNT);	/* 1.5 MiB: the 2 MiB class */
	ck_assert_ptr_null(c);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_le(mem_cgroup_usage(t), 3u << 20);
	ck_assert_uint_ge(mem_cgroup_events(t, MEMCG_MAX, true), 1);
	set_active_memcg(NULL);
	kfree(a);
	kfree(b);
	/* Cached in the child's arrays until shrunk; then uncharged, pages still pooled. */
	ck_assert_int_eq(kmem_cache_shrink(uslab_cache_find("kmalloc-cg-1M")), 0);
	mem_cgroup_drain_stocks();
	ck_assert_uint_eq(mem_cgroup_usage(t), 0);
	ck_assert_uint_ge(all_stats().pooled, 2 * 256);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
}
END_TEST

/* Page fault injection fails a grab even when the page cache could serve it. */
START_TEST(test_fault_injection_on_pool)
{
	struct kmem_cache *s;
	void *p;

	ck_assert_int_eq(uslab_init(NULL), 0);
	s = kmem_cache_create("pc-fail", 2048, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	kmem_cache_free(s, p);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_gt(all_stats().pooled, 0);	/* a page to reuse is there */
	ck_assert_int_eq(uslab_fail_setup(&(struct uslab_fail_attr){
				 .probability = 100, .times = -1, .pages = true }),
			 0);
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc(s, GFP_KERNEL));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_null(kvmalloc(KMALLOC_MAX_SIZE + PG, GFP_KERNEL));
	ck_assert_int_eq(uslab_fail_setup(NULL), 0);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kmem_cache_free(s, p);
	ck_assert_int_eq(uslab_cache_validate(s), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/*
 * fork: the child has no worker thread of its parent's, starts its own on
 * the first kick, and its decay returns what it freed.
 */
START_TEST(test_fork_child_decays)
{
	pid_t pid;
	int status;

	setenv("USLAB_DECAY_MS", "50", 1);
	ck_assert_int_eq(uslab_init(NULL), 0);
	burst_alloc();
	burst_free();	/* the parent's worker is running now */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint64_t deadline;

		burst_alloc();
		burst_free();
		deadline = mono_ms() + 10000;
		while (all_stats().pooled && mono_ms() < deadline)
			sched_yield();
		_exit(all_stats().pooled == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %#x: its page cache never decayed", status);
}
END_TEST

static Suite *pagecache_suite(void)
{
	Suite *s = suite_create("pagecache");
	TCase *tc = tcase_create("pagecache");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_repeated_burst_no_syscalls);
	tcase_add_test(tc, test_decay_returns_memory);
	tcase_add_test(tc, test_trim_returns_everything_now);
	tcase_add_test(tc, test_root_reclaim_trims);
	tcase_add_test(tc, test_no_decay_returns_on_free);
	tcase_add_test(tc, test_node_offline_gives_pool_back);
	tcase_add_test(tc, test_accounted_1m_against_max);
	tcase_add_test(tc, test_fault_injection_on_pool);
	tcase_add_test(tc, test_fork_child_decays);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pagecache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
