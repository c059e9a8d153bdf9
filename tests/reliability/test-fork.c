// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/reliability/test-fork.c - fork() while the library is in use, as a
 * careless program does it: from a process whose threads allocate and free
 * through every path (per-CPU arrays, refills and flushes through tiny
 * arrays, node lists, cross-thread frees, tenant child caches, kfree_rcu),
 * and from a thread attached to a tenant. Every child allocates and frees
 * through the arrays and the node lists; every tenth of the load test's,
 * and every child of the other tests, also does kfree_rcu and waits on the
 * barrier, creates and destroys a cache and a tenant. A child that hangs is
 * killed by its own alarm and counted. Public headers only.
 *
 * FORKS=N in the environment changes the number of forks of the load test
 * (default 1000; the sanitizer builds use 200).
 */
#define _GNU_SOURCE
#include <uslab.h>
#include <uslab/memcg.h>
#include <urcu/urcu-memb.h> /* struct rcu_head */

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/testutil.h"

#define CHILD_ALARM_S 20	/* a child still running after this is hung */
#define LOAD_THREADS  4

struct rcu_obj {
	struct rcu_head rcu;
	unsigned long payload[6];
};

static struct kmem_cache *tiny;		/* arrays of 4: every few calls reach the node lists */
static struct kmem_cache *rcu_cache;
static struct mem_cgroup *load_tenant;
static atomic_bool stop_load;
static atomic_ulong load_ops;

/* A ring the load threads hand objects through: frees on another thread than the allocation. */
#define XCHG 256
static struct {
	pthread_mutex_t lock;
	void *slot[XCHG];
	unsigned int n;
} xchg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void xchg_put(void *p)
{
	void *out = NULL;

	pthread_mutex_lock(&xchg.lock);
	if (xchg.n == XCHG)
		out = xchg.slot[--xchg.n];
	xchg.slot[xchg.n++] = p;
	pthread_mutex_unlock(&xchg.lock);
	kfree(out);
}

static void *xchg_get(void)
{
	void *p = NULL;

	pthread_mutex_lock(&xchg.lock);
	if (xchg.n)
		p = xchg.slot[--xchg.n];
	pthread_mutex_unlock(&xchg.lock);
	return p;
}

static void *load_thread(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg * 2654435761u + 1;
	void *live[64] = { 0 };
	void *tv[16] = { 0 };

	if ((uintptr_t)arg == 1)
		ck_assert_int_eq(mem_cgroup_attach_thread(load_tenant), 0);
	while (!atomic_load_explicit(&stop_load, memory_order_relaxed)) {
		unsigned int r = (unsigned int)rand_r(&seed);
		unsigned int i = r % 64;
		size_t size = 16u << (r / 64 % 13);	/* 16 B .. 64 KiB */

		kfree(live[i]);
		live[i] = kmalloc(size, (r & 1) ? GFP_KERNEL : GFP_KERNEL_ACCOUNT);
		if (live[i])
			memset(live[i], (int)r, 16);
		i = r % 16;
		if (tv[i])
			kmem_cache_free(tiny, tv[i]);
		tv[i] = kmem_cache_alloc(tiny, GFP_KERNEL);
		if (r % 7 == 0) {
			xchg_put(kmalloc(200, GFP_KERNEL));
			kfree(xchg_get());
		}
		if (r % 61 == 0) {
			struct rcu_obj *o = kmem_cache_alloc(rcu_cache, GFP_KERNEL);

			if (o)
				kfree_rcu(o, rcu);
		}
		atomic_fetch_add_explicit(&load_ops, 1, memory_order_relaxed);
	}
	for (int i = 0; i < 64; i++)
		kfree(live[i]);
	for (int i = 0; i < 16; i++)
		if (tv[i])
			kmem_cache_free(tiny, tv[i]);
	if ((uintptr_t)arg == 1)
		ck_assert_int_eq(mem_cgroup_attach_thread(NULL), 0);
	return NULL;
}

/*
 * What every child does: allocate and free through the arrays and the node
 * lists; with @full, also kfree_rcu and the barrier, a cache and a tenant
 * created and destroyed, a trim. Exit status 0 only if all of it worked.
 */
static int child_work(struct mem_cgroup *tenant, bool full)
{
	struct kmem_cache *s;
	struct mem_cgroup *t;
	void *p[32];

	alarm(CHILD_ALARM_S);
	for (int i = 0; i < 32; i++) {
		p[i] = kmalloc((size_t)16 << (i % 14), GFP_KERNEL);
		if (!p[i])
			return 10;
	}
	for (int i = 0; i < 32; i++)
		kfree(p[i]);
	for (int i = 0; i < 32; i++)
		if (!(p[i] = kmem_cache_alloc(tiny, GFP_KERNEL)))
			return 11;
	for (int i = 0; i < 32; i++)
		kmem_cache_free(tiny, p[i]);
	if (!full)
		return 0;
	for (int i = 0; i < 8; i++) {
		struct rcu_obj *o = kmem_cache_alloc(rcu_cache, GFP_KERNEL);

		if (!o)
			return 12;
		kfree_rcu(o, rcu);
	}
	kvfree_rcu_barrier();
	s = kmem_cache_create("fork-child", 72, 0, SLAB_NO_MERGE, NULL);
	if (!s)
		return 13;
	p[0] = kmem_cache_alloc(s, GFP_KERNEL);
	kmem_cache_free(s, p[0]);
	if (uslab_cache_destroy(s) != 0)
		return 14;
	t = mem_cgroup_create(tenant, "fork-child-tenant");
	if (!t)
		return 15;
	set_active_memcg(t);
	p[0] = kmalloc(100, GFP_KERNEL_ACCOUNT);
	set_active_memcg(NULL);
	if (!p[0] || mem_cgroup_usage(t) == 0)
		return 16;
	kfree(p[0]);
	if (mem_cgroup_destroy(t) != 0)
		return 17;
	uslab_trim();
	return 0;
}

/* Wait for @pid; count it in *@hung when its alarm killed it, in *@failed for anything else. */
static void reap_child(pid_t pid, int *hung, int *failed)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		(*hung)++;
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child %d: status %#x\n", (int)pid, status);
		(*failed)++;
	}
}

static void setup_caches(void)
{
	int err = uslab_init(NULL);

	ck_assert(err == 0 || err == -EBUSY); /* -EBUSY: CK_FORK=no runs every test in one process */
	tiny = kmem_cache_create("fork-tiny", 48, 0, SLAB_NO_MERGE, NULL);
	ck_assert_ptr_nonnull(tiny);
	ck_assert_int_eq(uslab_cache_tune(tiny, 4, 2, 1), 0);
	rcu_cache = kmem_cache_create("fork-rcu", sizeof(struct rcu_obj), 0, SLAB_NO_MERGE, NULL);
	ck_assert_ptr_nonnull(rcu_cache);
	load_tenant = mem_cgroup_create(NULL, "fork-load");
	ck_assert_ptr_nonnull(load_tenant);
}

/* Many forks while four threads allocate and free through every path. */
START_TEST(test_fork_under_load)
{
	pthread_t th[LOAD_THREADS];
	int forks = TEST_UNDER_SANITIZER ? 200 : 1000, hung = 0, failed = 0;
	const char *env = getenv("FORKS");
	unsigned long ops_before;

	if (env && atoi(env) > 0)
		forks = atoi(env);
	setup_caches();
	for (uintptr_t i = 0; i < LOAD_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, load_thread, (void *)i), 0);
	for (int f = 0; f < forks; f++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			_exit(child_work(NULL, f % 10 == 0));
		reap_child(pid, &hung, &failed);
	}
	ops_before = atomic_load(&load_ops);
	atomic_store(&stop_load, true);
	for (int i = 0; i < LOAD_THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	kvfree_rcu_barrier();
	while (xchg.n)
		kfree(xchg.slot[--xchg.n]);
	printf("fork: %d forks while %d threads made %lu operations: %d hung, %d failed\n", forks,
	       LOAD_THREADS, ops_before, hung, failed);
	ck_assert_int_eq(hung, 0);
	ck_assert_int_eq(failed, 0);
	ck_assert_uint_gt(ops_before, (unsigned long)forks);
	/* The parent is intact too. */
	ck_assert_int_eq(uslab_cache_validate(tiny), 0);
	ck_assert_int_eq(uslab_cache_destroy(tiny), 0);
	ck_assert_int_eq(uslab_cache_destroy(rcu_cache), 0);
	ck_assert_int_eq(mem_cgroup_destroy(load_tenant), 0);
}
END_TEST

/*
 * After kfree_rcu() has been used (the batch monitor and liburcu's call_rcu
 * thread run in the parent), children still get their kfree_rcu() done and
 * their kvfree_rcu_barrier() returns.
 */
START_TEST(test_fork_after_kfree_rcu)
{
	int hung = 0, failed = 0;

	setup_caches();
	for (int i = 0; i < 1000; i++) {
		struct rcu_obj *o = kmem_cache_alloc(rcu_cache, GFP_KERNEL);

		ck_assert_ptr_nonnull(o);
		kfree_rcu(o, rcu);
	}
	for (int f = 0; f < 20; f++) {
		pid_t pid;

		/* Some batches are in flight at every fork. */
		for (int i = 0; i < 300; i++) {
			struct rcu_obj *o = kmem_cache_alloc(rcu_cache, GFP_KERNEL);

			ck_assert_ptr_nonnull(o);
			kfree_rcu(o, rcu);
		}
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			_exit(child_work(NULL, true));
		reap_child(pid, &hung, &failed);
	}
	kvfree_rcu_barrier();
	ck_assert_int_eq(hung, 0);
	ck_assert_int_eq(failed, 0);
	ck_assert_int_eq(uslab_cache_destroy(rcu_cache), 0);
}
END_TEST

/* The forking thread is attached to a tenant: so is the child's, and it is charged. */
START_TEST(test_fork_from_tenant_thread)
{
	int hung = 0, failed = 0;
	void *keep;

	setup_caches();
	ck_assert_int_eq(mem_cgroup_attach_thread(load_tenant), 0);
	keep = kmalloc(3000, GFP_KERNEL_ACCOUNT);
	ck_assert_ptr_nonnull(keep);
	for (int f = 0; f < 10; f++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			unsigned long before = mem_cgroup_usage(load_tenant);
			void *p[64];
			int rc;

			alarm(CHILD_ALARM_S);
			for (int i = 0; i < 64; i++)
				p[i] = kmalloc(4096, GFP_KERNEL_ACCOUNT);
			rc = mem_cgroup_usage(load_tenant) > before ? 0 : 20;
			for (int i = 0; i < 64; i++)
				kfree(p[i]);
			kfree(keep);
			if (!rc)
				rc = child_work(load_tenant, true);
			_exit(rc);
		}
		reap_child(pid, &hung, &failed);
	}
	ck_assert_int_eq(hung, 0);
	ck_assert_int_eq(failed, 0);
	kfree(keep);
	ck_assert_int_eq(mem_cgroup_attach_thread(NULL), 0);
}
END_TEST

static Suite *fork_suite(void)
{
	Suite *s = suite_create("fork");
	TCase *tc = tcase_create("fork");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_fork_under_load);
	tcase_add_test(tc, test_fork_after_kfree_rcu);
	tcase_add_test(tc, test_fork_from_tenant_thread);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fork_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
