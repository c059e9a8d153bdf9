// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/reliability/test-reliability.c - how uslab behaves when something
 * goes wrong around the allocation paths rather than inside them: what a
 * failure counts and says, what it leaves behind, and how fast it comes.
 * Each section below starts with what it checks.
 *
 * Each test runs in its own process (CK_FORK=yes): those that set USLAB_*
 * variables do it before anything initialises the library. What the
 * library prints is captured by redirecting fd 2 (tests/unit/testutil.h).
 * Threads are sequenced with flags, never with sleeps.
 */
#include "lib/slab.h"
#include "private/env.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/testutil.h"

/* ---- helpers ------------------------------------------------------------------- */

#define SPEC_8x4 "node:4 core:2 pu:1"
#define VALIDATE(s) ck_assert_int_eq(uslab_cache_validate(s), 0)

/* 8 CPUs on 4 nodes (CPUs 2n and 2n+1 on node n), acting as CPU 0. */
static void machine(void)
{
	struct uslab_config cfg = { .topology = SPEC_8x4, .nomerge = true };

	ck_assert_int_eq(uslab_init(&cfg), 0);
	ck_assert_uint_eq(uslab_nr_node_ids(), 4);
	ck_assert_int_eq(uslab_thread_set_cpu(0), 0);
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How many times @needle occurs in @hay. */
static inline int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* "key N" of a tenant file, or -1. */
static inline long read_key(struct mem_cgroup *memcg, const char *file, const char *key)
{
	char buf[4096];
	size_t klen = strlen(key);

	ck_assert_int_gt(mem_cgroup_read(memcg, file, buf, sizeof(buf)), 0);
	for (char *line = buf; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtol(line + klen + 1, NULL, 10);
		if (!strchr(line, '\n'))
			break;
	}
	return -1;
}

/* memory.events of @t says @max and @oom, through the call and the file. */
static inline void expect_events(struct mem_cgroup *t, long max, long oom)
{
	ck_assert_int_eq((long)mem_cgroup_events(t, MEMCG_MAX, true), max);
	ck_assert_int_eq((long)mem_cgroup_events(t, MEMCG_OOM, true), oom);
	ck_assert_int_eq(read_key(t, "memory.events", "max"), max);
	ck_assert_int_eq(read_key(t, "memory.events", "oom"), oom);
}

/* ================================================================================ */
/* memory.events: one failed allocation, one event                                  */
/* ================================================================================ */

/*
 * A tenant at its limit refuses an accounted allocation once, however many
 * nodes the allocation could fall back to: one max and one oom event, as the
 * kernel charges once per allocation.
 */

/* Allocate as tenant @t and expect NULL with ENOMEM. */
#define EXPECT_REFUSED(t, call)                                                      \
	do {                                                                         \
		void *p_;                                                            \
		set_active_memcg(t);                                                 \
		errno = 0;                                                           \
		p_ = (call);                                                         \
		set_active_memcg(NULL);                                              \
		ck_assert_ptr_null(p_);                                              \
		ck_assert_int_eq(errno, ENOMEM);                                     \
	} while (0)

START_TEST(test_failed_charge_counts_one_event)
{
	struct kmem_cache *s;
	struct mem_cgroup *t;

	machine();
	s = kmem_cache_create("rel-account", 256, 0, SLAB_ACCOUNT, NULL);
	ck_assert_ptr_nonnull(s);
	t = mem_cgroup_create(NULL, "rel-full");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(mem_cgroup_set_max(t, 0), 0);
	expect_events(t, 0, 0);

	/* Every node could be tried; the tenant is charged (and refuses) once. */
	EXPECT_REFUSED(t, kmem_cache_alloc(s, GFP_KERNEL));
	expect_events(t, 1, 1);
	EXPECT_REFUSED(t, kmalloc(100, GFP_KERNEL_ACCOUNT));
	expect_events(t, 2, 2);
	EXPECT_REFUSED(t, kmem_cache_alloc_node(s, GFP_KERNEL, 2));
	expect_events(t, 3, 3);
	EXPECT_REFUSED(t, kmalloc_node(3000, GFP_KERNEL_ACCOUNT, 3));
	expect_events(t, 4, 4);
	EXPECT_REFUSED(t, kmem_cache_alloc(s, GFP_KERNEL | __GFP_THISNODE));
	expect_events(t, 5, 5);
	EXPECT_REFUSED(t, kmalloc(64 * 1024, GFP_KERNEL_ACCOUNT));
	expect_events(t, 6, 6);

	/* The limit lifted, the same calls succeed and count nothing more. */
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "max"), 0);
	set_active_memcg(t);
	void *a = kmem_cache_alloc(s, GFP_KERNEL);
	void *b = kmalloc_node(3000, GFP_KERNEL_ACCOUNT, 3);
	set_active_memcg(NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	expect_events(t, 6, 6);
	kmem_cache_free(s, a);
	kfree(b);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
	quarantine_flush(NULL);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* kmalloc_large blocks and memory-node offline                                      */
/* ================================================================================ */

/* A live page-backed block vetoes its node's offline, as a live slab object does. */

START_TEST(test_large_block_vetoes_node_offline)
{
	struct uslab_hotplug_stats st0, st1;
	void *big, *huge;

	machine();
	big = kmalloc_node(64 * 1024, GFP_KERNEL | __GFP_THISNODE, 3);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(uslab_obj_node(big), 3);
	memset(big, 0x5c, 64 * 1024);

	ck_assert_int_eq(uslab_hotplug_stats(&st0), 0);
	ck_assert_int_eq(mem_node_offline(3), -EBUSY);
	ck_assert_int_eq(uslab_hotplug_stats(&st1), 0);
	ck_assert(node_online(3));
	ck_assert_uint_eq(st1.node_vetoed, st0.node_vetoed + 1);
	ck_assert(bytes_all(big, 0x5c, 64 * 1024));
	/* The veto lifted the isolation: node 3 serves blocks again. */
	huge = kmalloc_node(128 * 1024, GFP_KERNEL | __GFP_THISNODE, 3);
	ck_assert_ptr_nonnull(huge);
	ck_assert_int_eq(uslab_obj_node(huge), 3);
	kfree(huge);
	ck_assert_int_eq(mem_node_offline(3), -EBUSY);

	/* A kvmalloc block beyond KMALLOC_MAX_SIZE is a large block as well. */
	kfree(big);
	ck_assert_int_eq(uslab_thread_set_cpu(6), 0);
	huge = kvmalloc(8ul << 20, GFP_KERNEL);
	ck_assert_ptr_nonnull(huge);
	ck_assert_int_eq(uslab_obj_node(huge), 3);
	ck_assert_int_eq(mem_node_offline(3), -EBUSY);
	kvfree(huge);

	/* Nothing left there: the node goes, and nothing lands on it any more. */
	quarantine_flush(NULL);
	ck_assert_int_eq(uslab_thread_set_cpu(0), 0);
	ck_assert_int_eq(mem_node_offline(3), 0);
	ck_assert(!node_online(3));
	errno = 0;
	ck_assert_ptr_null(kmalloc_node(64 * 1024, GFP_KERNEL | __GFP_THISNODE, 3));
	ck_assert_int_eq(errno, ENOMEM);
	big = kmalloc_node(64 * 1024, GFP_KERNEL, 3);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_ne(uslab_obj_node(big), 3);
	kfree(big);
	ck_assert_int_eq(mem_node_online(3), 0);
	big = kmalloc_node(64 * 1024, GFP_KERNEL | __GFP_THISNODE, 3);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(uslab_obj_node(big), 3);
	kfree(big);
}
END_TEST

/*
 * One thread allocates and frees blocks on node 3 while another takes the node
 * offline and back: while the first holds a block of node 3, the node must be
 * online (an offline that succeeded under a live block is the bug).
 */
static struct {
	int stop;             /* atomic */
	unsigned long held;   /* atomic: blocks held */
	unsigned long bad;    /* allocator thread: node 3 seen offline under a held block */
} race;

static void *large_allocator(void *arg)
{
	(void)arg;
	ck_assert_int_eq(uslab_thread_set_cpu(6), 0);
	while (!__atomic_load_n(&race.stop, __ATOMIC_ACQUIRE)) {
		void *p = kmalloc_node(16 * 1024, GFP_KERNEL | __GFP_THISNODE, 3);

		if (!p)
			continue; /* the node is offline, or going */
		__atomic_add_fetch(&race.held, 1, __ATOMIC_RELAXED);
		if (uslab_obj_node(p) != 3)
			race.bad++;
		/* Keep it a while, looking: an offline may complete meanwhile. */
		for (int i = 0; i < 64; i++) {
			((volatile char *)p)[i * 256] = (char)i;
			if (!node_online(3))
				race.bad++;
		}
		kfree(p);
	}
	return NULL;
}

START_TEST(test_large_blocks_race_node_offline)
{
	pthread_t th;

	machine();
	ck_assert_int_eq(pthread_create(&th, NULL, large_allocator, NULL), 0);
	for (int i = 0; i < 400; i++) {
		if (mem_node_offline(3) == 0)
			ck_assert_int_eq(mem_node_online(3), 0);
		/* Let the allocator run between two attempts. */
		unsigned long seen = __atomic_load_n(&race.held, __ATOMIC_RELAXED);
		for (int spin = 0; spin < 1000 && __atomic_load_n(&race.held, __ATOMIC_RELAXED) == seen;
		     spin++)
			sched_yield();
	}
	__atomic_store_n(&race.stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(race.bad == 0, "node 3 went offline under %lu live blocks", race.bad);
	ck_assert_uint_gt(race.held, 0);
	/* Quiet now (the blocks' descriptors out of the ASan quarantine too): the node goes. */
	quarantine_flush(NULL);
	ck_assert_int_eq(mem_node_offline(3), 0);
	ck_assert_int_eq(mem_node_online(3), 0);
}
END_TEST

/* ================================================================================ */
/* memory.reclaim of an offline tenant                                              */
/* ================================================================================ */

/* -EINVAL, as memory.max and memory.high answer, not -EAGAIN. */

START_TEST(test_reclaim_of_offline_tenant_is_einval)
{
	struct mem_cgroup *t;

	machine();
	t = mem_cgroup_create(NULL, "rel-gone");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.reclaim", "0"), 0);
	mem_cgroup_get(t);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
	ck_assert(!mem_cgroup_online(t));
	/* As memory.max and memory.high answer for an offline tenant. */
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "1M"), -EINVAL);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.high", "1M"), -EINVAL);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.reclaim", "1M"), -EINVAL);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.reclaim", "0"), -EINVAL);
	/* The root is the whole process: its memory.reclaim is uslab_trim() (test-pagecache). */
	ck_assert_int_eq(mem_cgroup_write(root_mem_cgroup, "memory.reclaim", "1M"), 0);
	mem_cgroup_put(t);
}
END_TEST

/* ================================================================================ */
/* a failed initialisation                                                           */
/* ================================================================================ */

/*
 * Said once, and final: every later call fails the same way (NULL with
 * errno EINVAL, or -EINVAL), whatever the size asked for.
 */

/* Expect NULL with errno EINVAL from @call. */
#define EXPECT_EINVAL(call)                                                          \
	do {                                                                         \
		errno = 0;                                                           \
		ck_assert_msg((call) == NULL && errno == EINVAL, "%s: errno %d", #call, errno); \
	} while (0)

START_TEST(test_failed_init_is_sticky)
{
	struct stderr_capture cap;
	char *text;
	FILE *f;

	ck_assert_int_eq(setenv("USLAB_FAIL", "nonsense=1", 1), 0);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	/* Every size and every entry point, twice, in an order that mixes them. */
	for (int round = 0; round < 2; round++) {
		EXPECT_EINVAL(kmalloc(64, GFP_KERNEL));
		EXPECT_EINVAL(kmalloc(4096, GFP_KERNEL));
		EXPECT_EINVAL(kmalloc(16 * 1024, GFP_KERNEL));
		EXPECT_EINVAL(kmalloc(1 << 20, GFP_KERNEL));
		EXPECT_EINVAL(kvmalloc(8ul << 20, GFP_KERNEL));
		EXPECT_EINVAL(kzalloc(8, GFP_KERNEL));
		EXPECT_EINVAL(kmalloc_node(200, GFP_KERNEL, 0));
		EXPECT_EINVAL(kcalloc(4, 30, GFP_KERNEL));
		EXPECT_EINVAL(kmalloc(100, GFP_KERNEL_ACCOUNT));
		EXPECT_EINVAL(krealloc(NULL, 100, GFP_KERNEL));
		EXPECT_EINVAL(kstrdup("uslab", GFP_KERNEL));
		EXPECT_EINVAL(kmemdup("abc", 3, GFP_KERNEL));
		EXPECT_EINVAL(kmem_cache_create("rel-after-failure", 64, 0, 0, NULL));
		EXPECT_EINVAL(kmem_cache_create("rel-after-failure-2", 64, 0, SLAB_ACCOUNT, NULL));
		EXPECT_EINVAL(uslab_cache_find("kmalloc-64"));
		ck_assert_int_eq(uslab_init(NULL), -EINVAL);
		ck_assert_int_eq(uslab_reaper_start(100), -EINVAL);
		f = tmpfile();
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(uslab_slabinfo(f), -EINVAL);
		ck_assert_int_eq(uslab_slabinfo_nodes(f), -EINVAL);
		fclose(f);
		ck_assert_uint_eq(uslab_reap(), 0);
	}
	text = stderr_capture_end(&cap);
	/* Said once, naming the variable and the key. */
	ck_assert_msg(count_of(text, "USLAB_FAIL") == 1 && strstr(text, "nonsense"),
		      "stderr: %s", text);
	ck_assert_msg(count_of(text, "initialisation failed") == 1, "stderr: %s", text);
	free(text);
	/* Nothing needing the allocator was left behind half made. */
	kfree(NULL);
	ck_assert_uint_ge(uslab_nr_cpu_ids(), 1);
}
END_TEST

/* uslab_init() first: the same error, said once, and kept. */
START_TEST(test_failed_uslab_init_is_sticky)
{
	struct uslab_config cfg = { .topology = SPEC_8x4 };
	struct stderr_capture cap;
	char *text;

	ck_assert_int_eq(setenv("USLAB_REAP_MS", "10ms", 1), 0);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(uslab_init(&cfg), -EINVAL);
	ck_assert_int_eq(uslab_init(&cfg), -EINVAL);
	EXPECT_EINVAL(kmalloc(64, GFP_KERNEL));
	EXPECT_EINVAL(kmalloc(1 << 20, GFP_KERNEL));
	EXPECT_EINVAL(kmem_cache_create("rel-after-failure", 64, 0, 0, NULL));
	text = stderr_capture_end(&cap);
	ck_assert_msg(count_of(text, "USLAB_REAP_MS=10ms") == 1, "stderr: %s", text);
	ck_assert_msg(count_of(text, "initialisation failed") == 1, "stderr: %s", text);
	free(text);
}
END_TEST

/* A bad explicit option is the caller's to correct: nothing is kept. */
START_TEST(test_bad_option_can_be_corrected)
{
	struct uslab_config bad = { .topology = "nonsense:9" }, good = { .topology = SPEC_8x4 };
	void *p;

	ck_assert_int_eq(uslab_init(&bad), -EINVAL);
	ck_assert_int_eq(uslab_init(&good), 0);
	ck_assert_uint_eq(uslab_nr_node_ids(), 4);
	p = kmalloc(64, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kfree(p);
}
END_TEST

/* ================================================================================ */
/* numbers from the environment                                                      */
/* ================================================================================ */

/*
 * One parser (private/env.h) with an end and a range check for every number
 * of every USLAB_* variable; a refusal names the variable and the value.
 */

START_TEST(test_env_number_parser)
{
	struct stderr_capture cap;
	unsigned long u = 7;
	long l = 7;
	char *text;

	ck_assert_int_eq(env_parse_ulong("V", "0", 0, 10, &u), 0);
	ck_assert_uint_eq(u, 0);
	ck_assert_int_eq(env_parse_ulong("V", "10", 0, 10, &u), 0);
	ck_assert_uint_eq(u, 10);
	ck_assert_int_eq(env_parse_ulong("V", "18446744073709551615", 0, ULONG_MAX, &u), 0);
	ck_assert_uint_eq(u, ULONG_MAX);
	ck_assert_int_eq(env_parse_long("V", "-1", -1, LONG_MAX, &l), 0);
	ck_assert_int_eq(l, -1);
	ck_assert_int_eq(env_parse_long("V", "42", -1, LONG_MAX, &l), 0);
	ck_assert_int_eq(l, 42);

	static const char *const bad_u[] = {
		"", "abc", "1x", "10 ", " 10", "+1", "-1", "0x10", "11", "1e3", "99999999999999999999",
		"18446744073709551616",
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_u); i++) {
		u = 7;
		ck_assert_int_eq(stderr_capture_begin(&cap), 0);
		int err = env_parse_ulong("USLAB_X: key", bad_u[i], 0, 10, &u);
		text = stderr_capture_end(&cap);
		ck_assert_msg(err == -EINVAL, "'%s' accepted", bad_u[i]);
		ck_assert_uint_eq(u, 7);
		/* One line naming the variable and the value. */
		char want[80];
		snprintf(want, sizeof(want), "USLAB_X: key=%s:", bad_u[i]);
		ck_assert_msg(strstr(text, want) && count_of(text, "\n") == 1, "'%s' said: %s",
			      bad_u[i], text);
		free(text);
	}
	static const char *const bad_l[] = { "", "-", "--1", "-2", "abc", "9223372036854775808" };
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_l); i++) {
		ck_assert_int_eq(stderr_capture_begin(&cap), 0);
		int err = env_parse_long("USLAB_X: times", bad_l[i], -1, LONG_MAX, &l);
		text = stderr_capture_end(&cap);
		ck_assert_msg(err == -EINVAL, "'%s' accepted", bad_l[i]);
		ck_assert_msg(strstr(text, "USLAB_X: times="), "'%s' said: %s", bad_l[i], text);
		free(text);
	}
	/* The out-of-range message gives the range. */
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(env_parse_ulong("USLAB_FAIL: probability", "200", 0, 100, &u), -EINVAL);
	text = stderr_capture_end(&cap);
	ck_assert_msg(strstr(text, "probability=200") && strstr(text, "0 to 100"), "said: %s", text);
	free(text);

	/* Variables: unset or empty is "not given"; set is checked. */
	unsetenv("USLAB_REL_TEST");
	ck_assert_int_eq(env_get_ulong("USLAB_REL_TEST", 0, 5, &u), 0);
	setenv("USLAB_REL_TEST", "", 1);
	ck_assert_int_eq(env_get_ulong("USLAB_REL_TEST", 0, 5, &u), 0);
	setenv("USLAB_REL_TEST", "4", 1);
	ck_assert_int_eq(env_get_ulong("USLAB_REL_TEST", 0, 5, &u), 1);
	ck_assert_uint_eq(u, 4);
	setenv("USLAB_REL_TEST", "6", 1);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(env_get_ulong("USLAB_REL_TEST", 0, 5, &u), -EINVAL);
	text = stderr_capture_end(&cap);
	ck_assert_msg(strstr(text, "USLAB_REL_TEST=6"), "said: %s", text);
	free(text);
}
END_TEST

/* Values every USLAB_* variable with numbers must refuse, with what the message names. */
static const struct bad_env {
	const char *var, *value, *says;
} bad_envs[] = {
	{ "USLAB_FAIL", "probability=abc", "probability=abc" },
	{ "USLAB_FAIL", "probability=200", "probability=200" },
	{ "USLAB_FAIL", "probability=", "probability=" },
	{ "USLAB_FAIL", "interval=99999999999999999999", "interval=99999999999999999999" },
	{ "USLAB_FAIL", "interval=-1", "interval=-1" },
	{ "USLAB_FAIL", "times=abc", "times=abc" },
	{ "USLAB_FAIL", "times=-5", "times=-5" },
	{ "USLAB_FAIL", "seed=1.5", "seed=1.5" },
	{ "USLAB_FAIL", "slab=2", "slab=2" },
	{ "USLAB_FAIL", "pages=yes", "pages=yes" },
	{ "USLAB_FAIL", "failslab_only=01x", "failslab_only=01x" },
	{ "USLAB_FAIL", "probability=5,cache=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "cache=" },
	{ "USLAB_REAP_MS", "abc", "USLAB_REAP_MS=abc" },
	{ "USLAB_REAP_MS", "10ms", "USLAB_REAP_MS=10ms" },
	{ "USLAB_REAP_MS", "-5", "USLAB_REAP_MS=-5" },
	{ "USLAB_REAP_MS", "99999999999999999999", "USLAB_REAP_MS=99999999999999999999" },
};

START_TEST(test_env_bad_value_fails_init)
{
	const struct bad_env *b = &bad_envs[_i];
	struct stderr_capture cap;
	char *text;

	ck_assert_int_eq(setenv(b->var, b->value, 1), 0);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	int err = uslab_init(NULL);
	text = stderr_capture_end(&cap);
	ck_assert_msg(err == -EINVAL, "%s=%s: uslab_init gave %d", b->var, b->value, err);
	ck_assert_msg(strstr(text, b->var) && strstr(text, b->says), "%s=%s said: %s", b->var,
		      b->value, text);
	free(text);
}
END_TEST

/* Good values keep working, the edges of each range included. */
static const struct good_env {
	const char *var, *value;
} good_envs[] = {
	{ "USLAB_FAIL", "probability=0,interval=4294967295,times=-1,seed=4294967295,slab=1,pages=0" },
	{ "USLAB_FAIL", "probability=100,times=0,slab=0,pages=1,failslab_only=1" },
	{ "USLAB_FAIL", "probability=1,slab,cache=rel*" },
	{ "USLAB_REAP_MS", "0" },
	{ "USLAB_REAP_MS", "" },
	{ "USLAB_REAP_MS", "100000" },
};

START_TEST(test_env_good_value_accepted)
{
	const struct good_env *g = &good_envs[_i];
	struct stderr_capture cap;
	char *text;

	ck_assert_int_eq(setenv(g->var, g->value, 1), 0);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	int err = uslab_init(NULL);
	text = stderr_capture_end(&cap);
	ck_assert_msg(err == 0, "%s=%s: uslab_init gave %d: %s", g->var, g->value, err, text);
	ck_assert_msg(text[0] == '\0', "%s=%s said: %s", g->var, g->value, text);
	free(text);
	uslab_reaper_stop();
}
END_TEST

/* USLAB_STATS_MS: documented as ignored when bad; now the rejection is said. */
START_TEST(test_env_stats_ms_rejection_is_said)
{
	struct stderr_capture cap;
	unsigned long ms = 0;
	char *text;

	setenv("USLAB_STATS_MS", "0", 1);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(env_get_ulong("USLAB_STATS_MS", 1, 3600000, &ms), -EINVAL);
	text = stderr_capture_end(&cap);
	ck_assert_msg(strstr(text, "USLAB_STATS_MS=0") && strstr(text, "1 to 3600000"), "said: %s",
		      text);
	free(text);
}
END_TEST

/* ================================================================================ */
/* synthetic topologies too big for uslab                                            */
/* ================================================================================ */

/*
 * Measured from the string and refused before hwloc builds anything (hwloc
 * spends minutes on 262,144 PUs); what fits is still built.
 */

/* Descriptions above USLAB_NR_CPUS CPUs or USLAB_MAX_NUMNODES nodes. */
static const char *const huge_specs[] = {
	"node:64 core:64 pu:64",                  /* 262,144 PUs: minutes of hwloc work */
	"pack:16 [numa] core:128 pu:128",
	"node:2 pu:513",                          /* one PU over the limit */
	"node:65 pu:1",                           /* one node over the limit */
	"pack:65 [numa] pu:1",
	"4096 4096",
	"node:0x40 core:0x40 pu:0x40",
	"node:4294967295 pu:4294967295",
};

START_TEST(test_huge_topology_refused_fast)
{
	struct uslab_config cfg = { .topology = huge_specs[_i] };
	double t0 = now_s();

	ck_assert_int_eq(uslab_init(&cfg), -EINVAL);
	ck_assert_msg(now_s() - t0 < 5.0, "'%s' took %.1f s", huge_specs[_i], now_s() - t0);
	ck_assert_int_eq(topology_init(huge_specs[_i]), -EINVAL);
}
END_TEST

/* Through the variable: the first call falls back to the real machine, quickly. */
START_TEST(test_huge_topology_env_falls_back_fast)
{
	struct stderr_capture cap;
	double t0;
	char *text;
	void *p;

	ck_assert_int_eq(setenv("USLAB_TOPOLOGY", "node:64 core:64 pu:64", 1), 0);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	t0 = now_s();
	p = kmalloc(64, GFP_KERNEL);
	text = stderr_capture_end(&cap);
	ck_assert_msg(now_s() - t0 < 5.0, "first call took %.1f s", now_s() - t0);
	ck_assert_ptr_nonnull(p);
	kfree(p);
	ck_assert(!uslab_topology_is_synthetic());
	ck_assert_msg(strstr(text, "node:64 core:64 pu:64") && strstr(text, "262144"),
		      "said: %s", text);
	free(text);
}
END_TEST

/* Descriptions within the limits, in every form hwloc reads, are still built. */
static const struct {
	const char *spec;
	unsigned int cpus, nodes;
} ok_specs[] = {
	{ "node:64 core:4 pu:4", USLAB_NR_CPUS, USLAB_MAX_NUMNODES },  /* the largest */
	{ "pack:2 [numa] core:2 pu:2", 8, 2 },
	{ "pack:2 [numa(memory=1GB)] [numa] core:2 pu:2", 8, 4 },
	{ "(memory=2GB) node:2 pu:2", 4, 2 },
	{ "node:4 core:2 pu:1(indexes=0,1,2,3,4,5,6,7)", 8, 4 },
	{ "  node:2   pu:0x2 ", 4, 2 },
	{ "NUMANode:2 Core:4 PU:2", 16, 2 },
};

START_TEST(test_topology_within_limits_accepted)
{
	ck_assert_int_eq(topology_init(ok_specs[_i].spec), 0);
	ck_assert_uint_eq(uslab_nr_cpu_ids(), ok_specs[_i].cpus);
	ck_assert_uint_eq(uslab_nr_node_ids(), ok_specs[_i].nodes);
}
END_TEST

/* ================================================================================ */
/* USLAB_DEBUG: the slack of a kmalloc object is a red zone                           */
/* ================================================================================ */

/*
 * Under USLAB_DEBUG=Z the bytes of a kmalloc object past the size asked for
 * are checked like a red zone (Linux 6.2+ SLUB's orig_size), while ksize()
 * hands the whole class out.
 */

static struct {
	unsigned int count;
	char cache[128];
	const void *object;
	char text[2048];
} rep;

static void record_report(const char *cache, const void *object, const char *text)
{
	rep.count++;
	snprintf(rep.cache, sizeof(rep.cache), "%s", cache ? cache : "(null)");
	rep.object = object;
	snprintf(rep.text, sizeof(rep.text), "%s", text);
}

static void debug_machine(const char *letters)
{
	ck_assert_int_eq(setenv("USLAB_DEBUG", letters, 1), 0);
	machine();
	memset(&rep, 0, sizeof(rep));
	uslab_set_report_handler(record_report);
}

static void expect_slack_report(unsigned int count, const char *cache, const void *obj,
				const char *what)
{
	char addr[32];

	snprintf(addr, sizeof(addr), "%p", obj);
	ck_assert_msg(rep.count == count, "expected %u reports, got %u (last: %s)", count,
		      rep.count, rep.text);
	ck_assert_ptr_eq(rep.object, obj);
	ck_assert_str_eq(rep.cache, cache);
	ck_assert_msg(strstr(rep.text, addr) && strstr(rep.text, cache) && strstr(rep.text, what),
		      "report lacks %s / %s / \"%s\": %s", addr, cache, what, rep.text);
}

START_TEST(test_kmalloc_slack_is_red_zone)
{
	struct kmem_cache *k32;
	unsigned char *p;

	debug_machine(_i == 0 ? "Z" : "FZPU");
	k32 = uslab_cache_find("kmalloc-32");
	ck_assert_ptr_nonnull(k32);

	/* One byte past 24 requested bytes, inside kmalloc-32. */
	p = kmalloc(24, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(uslab_obj_cache(p), k32);
	memset(p, 0x11, 24);
	p[24] = 0x41;
	ck_assert_int_ne(uslab_cache_validate(k32), 0);
	kfree(p);
	expect_slack_report(1, "kmalloc-32", p, "red zone overwritten");
	ck_assert_msg(strstr(rep.text, "24"), "report does not give the requested size: %s",
		      rep.text);
	VALIDATE(k32);

	/* The last byte of the class, and a kmalloc_node object. */
	p = kmalloc_node(17, GFP_KERNEL, 1);
	ck_assert_ptr_nonnull(p);
	p[31] = 0;
	kfree(p);
	expect_slack_report(2, "kmalloc-32", p, "red zone overwritten");

	/* Writing exactly what was asked for is fine, for every size of the class. */
	for (size_t n = 17; n <= 32; n++) {
		p = kmalloc(n, GFP_KERNEL);
		memset(p, 0x22, n);
		VALIDATE(k32);
		kfree(p);
	}
	ck_assert_uint_eq(rep.count, 2);

	/* ksize() hands the whole class out, as the kernel's does. */
	p = kmalloc(20, GFP_KERNEL);
	ck_assert_uint_eq(ksize(p), 32);
	memset(p, 0x33, 32);
	VALIDATE(k32);
	kfree(p);
	ck_assert_uint_eq(rep.count, 2);

	/* kzalloc: zeroes where asked, and in what ksize() hands out. */
	p = kzalloc(20, GFP_KERNEL);
	ck_assert(bytes_all(p, 0, 20));
	ck_assert_uint_eq(ksize(p), 32);
	ck_assert(bytes_all(p, 0, 32));
	kfree(p);

	/* krealloc within the class keeps the object (its ksize() is the class). */
	p = kmalloc(24, GFP_KERNEL);
	memset(p, 0x44, 24);
	unsigned char *q = krealloc(p, 30, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);
	memset(q, 0x44, 30);
	kfree(q);
	ck_assert_uint_eq(rep.count, 2);

	/* An accounted kmalloc lands in a tenant's child of kmalloc-cg-32: checked too. */
	struct mem_cgroup *t = mem_cgroup_create(NULL, "rel-debug");
	ck_assert_ptr_nonnull(t);
	set_active_memcg(t);
	p = kmalloc(24, GFP_KERNEL_ACCOUNT);
	set_active_memcg(NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_ne(uslab_obj_cache(p), k32);
	p[24] = 0;
	kfree(p);
	ck_assert_uint_eq(rep.count, 3);
	ck_assert_msg(strstr(rep.text, "red zone overwritten"), "report: %s", rep.text);
	quarantine_flush(NULL);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);

	/* kmem_cache_alloc() from a kmalloc cache asks for the whole object. */
	p = kmem_cache_alloc(k32, GFP_KERNEL);
	memset(p, 0x55, 32);
	kmem_cache_free(k32, p);
	ck_assert_uint_eq(rep.count, 3);
	VALIDATE(k32);
}
END_TEST

/* Without the red zone letter nothing changes: the slack is the program's. */
START_TEST(test_kmalloc_slack_free_without_red_zone)
{
	unsigned char *p;

	debug_machine("P");
	p = kmalloc(24, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	memset(p, 0x66, 32);
	kfree(p);
	ck_assert_uint_eq(rep.count, 0);
	VALIDATE(uslab_cache_find("kmalloc-32"));
}
END_TEST

/* ================================================================================ */

static Suite *reliability_suite(void)
{
	Suite *s = suite_create("reliability");
	TCase *tc;

	tc = tcase_create("memcg-events");
	tcase_add_test(tc, test_failed_charge_counts_one_event);
	suite_add_tcase(s, tc);

	tc = tcase_create("memcg-reclaim");
	tcase_add_test(tc, test_reclaim_of_offline_tenant_is_einval);
	suite_add_tcase(s, tc);

	tc = tcase_create("large-offline");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_large_block_vetoes_node_offline);
	tcase_add_test(tc, test_large_blocks_race_node_offline);
	suite_add_tcase(s, tc);

	tc = tcase_create("failed-init");
	tcase_add_test(tc, test_failed_init_is_sticky);
	tcase_add_test(tc, test_failed_uslab_init_is_sticky);
	tcase_add_test(tc, test_bad_option_can_be_corrected);
	suite_add_tcase(s, tc);

	tc = tcase_create("env-numbers");
	tcase_add_test(tc, test_env_number_parser);
	tcase_add_loop_test(tc, test_env_bad_value_fails_init, 0, (int)ARRAY_SIZE(bad_envs));
	tcase_add_loop_test(tc, test_env_good_value_accepted, 0, (int)ARRAY_SIZE(good_envs));
	tcase_add_test(tc, test_env_stats_ms_rejection_is_said);
	suite_add_tcase(s, tc);

	/* The old code spent minutes here: fail in one, not in the default two. */
	tc = tcase_create("topology-size");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_huge_topology_refused_fast, 0, (int)ARRAY_SIZE(huge_specs));
	tcase_add_test(tc, test_huge_topology_env_falls_back_fast);
	tcase_add_loop_test(tc, test_topology_within_limits_accepted, 0, (int)ARRAY_SIZE(ok_specs));
	suite_add_tcase(s, tc);

	tc = tcase_create("kmalloc-slack");
	tcase_add_loop_test(tc, test_kmalloc_slack_is_red_zone, 0, 2);
	tcase_add_test(tc, test_kmalloc_slack_free_without_red_zone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(reliability_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
