// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-memcg.c - the memcg room's unit suite, modelled on the
 * kernel's cgroup selftests (test_memcontrol.c): tree rules, hierarchical
 * all-or-nothing charges, memory.max/high and their events, the file
 * interface, the per-CPU stock, the thread's tenant, reparenting, and
 * concurrent charging against tenant churn. lib/ is not linked: charges are
 * driven through obj_cgroup handles and lib/'s callbacks are stand-ins
 * registered by the tests. Every test pins its thread to emulated CPU 0 so
 * stock behaviour is deterministic, and ends by checking that nothing is
 * left charged to the root.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memcg/internal.h"
#include "topology/internal.h"

#define PG 4096ul

/* ---- helpers ------------------------------------------------------------ */

static unsigned long read_ul(struct mem_cgroup *memcg, const char *file)
{
	char buf[64];
	ssize_t n = mem_cgroup_read(memcg, file, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	if (strcmp(buf, "max\n") == 0)
		return MEMCG_LIMIT_MAX;
	return strtoul(buf, NULL, 10);
}

static unsigned long pages(struct mem_cgroup *memcg)
{
	unsigned long bytes = read_ul(memcg, "memory.current");

	ck_assert_uint_eq(bytes % PG, 0);
	ck_assert_uint_eq(bytes, mem_cgroup_usage(memcg));
	return bytes / PG;
}

/* Value of "key N" in a multi-line file, or -1 when the key is missing. */
static long read_key(struct mem_cgroup *memcg, const char *file, const char *key)
{
	char buf[4096], *line;
	size_t klen = strlen(key);

	ck_assert_int_gt(mem_cgroup_read(memcg, file, buf, sizeof(buf)), 0);
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtol(line + klen + 1, NULL, 10);
	return -1;
}

static long event(struct mem_cgroup *memcg, const char *key, bool local)
{
	return read_key(memcg, local ? "memory.events.local" : "memory.events", key);
}

static struct mem_cgroup *create(struct mem_cgroup *parent, const char *name)
{
	struct mem_cgroup *memcg = mem_cgroup_create(parent, name);

	ck_assert_msg(memcg != NULL, "create %s: %s", name, strerror(errno));
	return memcg;
}

/* Stand-ins for lib/'s callbacks; atomics, as the stress test runs them
 * from several threads. */
static struct {
	int offline_calls;
	struct mem_cgroup *offline_last;
	bool offline_saw_offline;
	int reclaim_calls;
	struct mem_cgroup *reclaim_last;
	struct obj_cgroup *reclaim_objcg; /* what "free slabs" gives back */
	unsigned int reclaim_free;        /* pages per reclaim call */
} tops;

static void test_offline(struct mem_cgroup *memcg)
{
	struct mem_cgroup *root;

	__atomic_add_fetch(&tops.offline_calls, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&tops.offline_last, memcg, __ATOMIC_RELAXED);
	__atomic_store_n(&tops.offline_saw_offline, !memcg_online(memcg), __ATOMIC_RELAXED);
	/* Called without the tree lock: taking it here must work. */
	root = mem_cgroup_lookup("/");
	ck_assert_ptr_eq(root, root_mem_cgroup);
}

static unsigned long test_reclaim(struct mem_cgroup *memcg)
{
	unsigned int nr = __atomic_exchange_n(&tops.reclaim_free, 0, __ATOMIC_RELAXED);

	__atomic_add_fetch(&tops.reclaim_calls, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&tops.reclaim_last, memcg, __ATOMIC_RELAXED);
	if (nr && tops.reclaim_objcg)
		obj_cgroup_uncharge_pages(tops.reclaim_objcg, nr);
	return nr;
}

static void test_stat_show(struct mem_cgroup *memcg, FILE *out)
{
	fprintf(out, "kmalloc-cg-64(%u:%s) 8192\n", mem_cgroup_id(memcg), mem_cgroup_name(memcg));
}

static const struct memcg_kmem_ops test_ops = {
	.offline = test_offline,
	.reclaim = test_reclaim,
	.stat_show = test_stat_show,
};

static void setup(void)
{
	memset(&tops, 0, sizeof(tops));
	memcg_register_kmem_ops(&test_ops);
	ck_assert_int_eq(uslab_thread_set_cpu(0), 0);
}

static void teardown(void)
{
	memcg_register_kmem_ops(NULL);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(mem_cgroup_usage(root_mem_cgroup), 0);
}

/* ---- tree --------------------------------------------------------------- */

START_TEST(test_tree_create_lookup)
{
	struct mem_cgroup *a, *b, *m;

	ck_assert(memcg_is_root(NULL));
	ck_assert(memcg_is_root(root_mem_cgroup));
	ck_assert_ptr_eq(memcg_current(), root_mem_cgroup);
	ck_assert_uint_eq(mem_cgroup_id(root_mem_cgroup), 1);
	ck_assert_str_eq(mem_cgroup_name(root_mem_cgroup), "/");
	ck_assert_ptr_null(mem_cgroup_parent(root_mem_cgroup));
	ck_assert_ptr_null(memcg_get_obj_cgroup(root_mem_cgroup));
	ck_assert_int_eq(memcg_kmem_id(root_mem_cgroup), 0);
	ck_assert_int_eq(mem_cgroup_destroy(root_mem_cgroup), -EINVAL);
	ck_assert_int_eq(mem_cgroup_destroy(NULL), -EINVAL);

	a = create(NULL, "a");
	b = create(a, "b");
	ck_assert(!memcg_is_root(a));
	ck_assert_ptr_eq(mem_cgroup_parent(a), root_mem_cgroup);
	ck_assert_ptr_eq(mem_cgroup_parent(b), a);
	ck_assert_str_eq(mem_cgroup_name(b), "b");
	ck_assert_uint_ne(mem_cgroup_id(a), mem_cgroup_id(b));
	ck_assert_uint_gt(mem_cgroup_id(a), 1);

	errno = 0;
	ck_assert_ptr_null(mem_cgroup_create(root_mem_cgroup, "a"));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_ptr_null(mem_cgroup_create(a, "b"));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_ptr_null(mem_cgroup_create(a, ""));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(mem_cgroup_create(a, "x/y"));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(mem_cgroup_create(a, NULL));
	ck_assert_int_eq(errno, EINVAL);
	/* Same name under another parent is fine. */
	m = create(b, "a");

	ck_assert_ptr_eq(mem_cgroup_lookup("/a/b"), b);
	mem_cgroup_put(b);
	ck_assert_ptr_eq(mem_cgroup_lookup("/a/b/a"), m);
	mem_cgroup_put(m);
	ck_assert_ptr_eq(mem_cgroup_lookup("/a/"), a);
	mem_cgroup_put(a);
	ck_assert_ptr_eq(mem_cgroup_lookup("/"), root_mem_cgroup);
	ck_assert_ptr_null(mem_cgroup_lookup("/a/c"));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(mem_cgroup_lookup("a/b"));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_eq(mem_cgroup_from_id(mem_cgroup_id(b)), b);
	mem_cgroup_put(b);
	ck_assert_ptr_eq(mem_cgroup_from_id(1), root_mem_cgroup);
	ck_assert_ptr_null(mem_cgroup_from_id(999999));
	ck_assert_int_eq(errno, ENOENT);

	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_descendants"), 3);
	ck_assert_int_eq(read_key(a, "cgroup.stat", "nr_descendants"), 2);
	ck_assert_int_eq(mem_cgroup_destroy(m), 0);
	ck_assert_int_eq(mem_cgroup_destroy(b), 0);
	ck_assert_int_eq(mem_cgroup_destroy(a), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_descendants"), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 0);
}
END_TEST

START_TEST(test_tree_destroy_rules)
{
	struct mem_cgroup *a = create(NULL, "a"), *b = create(a, "b"), *b2;
	unsigned int bid = mem_cgroup_id(b);
	char buf[256];

	ck_assert_int_eq(mem_cgroup_destroy(a), -EBUSY);
	ck_assert(mem_cgroup_online(a));

	mem_cgroup_get(b);
	ck_assert_int_eq(mem_cgroup_destroy(b), 0);
	ck_assert_int_eq(tops.offline_calls, 1);
	ck_assert_ptr_eq(tops.offline_last, b);
	ck_assert(tops.offline_saw_offline);
	ck_assert(!mem_cgroup_online(b));
	ck_assert_int_eq(mem_cgroup_destroy(b), -ENOENT);

	/* Dying: readable, counted as dying up the tree, not found by path. */
	ck_assert_int_eq(mem_cgroup_read(b, "memory.current", buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "0\n");
	ck_assert_int_gt(mem_cgroup_read(b, "memory.stat", buf, sizeof(buf)), 0);
	ck_assert_int_eq(read_key(a, "cgroup.stat", "nr_descendants"), 0);
	ck_assert_int_eq(read_key(a, "cgroup.stat", "nr_dying_descendants"), 1);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 1);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_descendants"), 1);
	ck_assert_ptr_null(mem_cgroup_lookup("/a/b"));
	ck_assert_ptr_null(mem_cgroup_create(b, "c"));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(mem_cgroup_attach_thread(b), -ENOENT);
	ck_assert_int_eq(mem_cgroup_write(b, "memory.max", "1M"), -EINVAL);
	ck_assert_ptr_eq(mem_cgroup_from_id(bid), b);
	mem_cgroup_put(b);

	/* The name is free again while the old one is dying. */
	b2 = create(a, "b");
	ck_assert_ptr_ne(b2, b);
	ck_assert_int_eq(mem_cgroup_destroy(b2), 0);

	/* A parent with only dying children may go. */
	mem_cgroup_get(a);
	ck_assert_int_eq(mem_cgroup_destroy(a), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 2);
	mem_cgroup_put(b); /* last reference: b released, then a is only ours */
	ck_assert_ptr_null(mem_cgroup_from_id(bid));
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 1);
	ck_assert_int_eq(read_key(a, "cgroup.stat", "nr_dying_descendants"), 0);
	mem_cgroup_put(a);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_descendants"), 0);
}
END_TEST

START_TEST(test_kmem_ids)
{
	struct mem_cgroup *a = create(NULL, "a"), *b = create(a, "b"), *c;
	int ia = memcg_kmem_id(a), ib = memcg_kmem_id(b);

	ck_assert_int_ge(ia, 1);
	ck_assert_int_lt(ia, MEMCG_MAX_KMEM_IDS);
	ck_assert_int_ge(ib, 1);
	ck_assert_int_ne(ia, ib);
	mem_cgroup_get(b);
	ck_assert_int_eq(mem_cgroup_destroy(b), 0);
	/* A dying tenant answers with its parent's id (kernel behaviour). */
	ck_assert_int_eq(memcg_kmem_id(b), ia);
	c = create(a, "c");
	ck_assert_int_eq(memcg_kmem_id(c), ib); /* the released id is reused */
	mem_cgroup_put(b);
	ck_assert_int_eq(mem_cgroup_destroy(c), 0);
	ck_assert_int_eq(mem_cgroup_destroy(a), 0);
}
END_TEST

/* ---- charging ----------------------------------------------------------- */

START_TEST(test_charge_all_or_nothing)
{
	struct mem_cgroup *p = create(NULL, "p"), *c = create(p, "c"), *g = create(c, "g");
	struct obj_cgroup *og = memcg_get_obj_cgroup(g);

	ck_assert_int_eq(mem_cgroup_write(p, "memory.max", "400K"), 0); /* 100 pages */
	ck_assert_int_eq(obj_cgroup_charge_pages(og, 0, 90), 0);
	ck_assert_uint_eq(pages(g), 90);
	ck_assert_uint_eq(pages(c), 90);
	ck_assert_uint_eq(pages(p), 90);

	ck_assert_int_eq(obj_cgroup_charge_pages(og, 0, 20), -ENOMEM);
	ck_assert_uint_eq(pages(g), 90);
	ck_assert_uint_eq(pages(c), 90);
	ck_assert_uint_eq(pages(p), 90);
	ck_assert_uint_eq(pages(root_mem_cgroup), 90);
	/* Reclaim was asked of the tenant whose limit was hit. */
	ck_assert_int_eq(tops.reclaim_calls, 1);
	ck_assert_ptr_eq(tops.reclaim_last, p);
	/* Events at p, hierarchical to the root, not in the children. */
	ck_assert_int_eq(event(p, "max", true), 1);
	ck_assert_int_eq(event(p, "oom", true), 1);
	ck_assert_int_eq(event(p, "max", false), 1);
	ck_assert_int_eq(event(root_mem_cgroup, "oom", false), 1);
	ck_assert_int_eq(event(root_mem_cgroup, "oom", true), 0);
	ck_assert_int_eq(event(c, "max", false), 0);
	ck_assert_int_eq(event(g, "oom", false), 0);
	ck_assert_uint_eq(mem_cgroup_events(p, MEMCG_OOM, true), 1);

	obj_cgroup_uncharge_pages(og, 90);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(p), 0);
	ck_assert_uint_eq(pages(g), 0);
	obj_cgroup_put(og);
	ck_assert_int_eq(mem_cgroup_destroy(g), 0);
	ck_assert_int_eq(mem_cgroup_destroy(c), 0);
	ck_assert_int_eq(mem_cgroup_destroy(p), 0);
}
END_TEST

START_TEST(test_max_until_enomem)
{
	struct mem_cgroup *p = create(NULL, "p"), *t = create(p, "t");
	struct obj_cgroup *o = memcg_get_obj_cgroup(t);
	unsigned long ok = 0;

	ck_assert_int_eq(mem_cgroup_set_max(t, 1ul << 20), 0); /* 256 pages */
	ck_assert_uint_eq(read_ul(t, "memory.max"), 1ul << 20);
	while (obj_cgroup_charge_pages(o, 0, 1) == 0) {
		ok++;
		ck_assert_uint_le(pages(t), 256);
		ck_assert(ok <= 256);
	}
	ck_assert_uint_eq(ok, 256);
	ck_assert_uint_eq(pages(t), 256);
	ck_assert_uint_eq(read_ul(t, "memory.peak"), 256 * PG);
	ck_assert_int_eq(event(t, "max", true), 1);
	ck_assert_int_eq(event(t, "oom", true), 1);
	ck_assert_int_eq(event(p, "oom", false), 1);
	ck_assert_int_eq(event(p, "oom", true), 0);

	/* Freeing makes room. */
	obj_cgroup_uncharge_pages(o, 10);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(t), 246);
	ck_assert_int_eq(obj_cgroup_charge_pages(o, 0, 10), 0);
	ck_assert_int_eq(obj_cgroup_charge_pages(o, 0, 1), -ENOMEM);
	ck_assert_int_eq(event(t, "oom", true), 2);

	/* __GFP_NOFAIL goes over the limit and counts a max event, no oom. */
	ck_assert_int_eq(obj_cgroup_charge_pages(o, __GFP_NOFAIL, 5), 0);
	ck_assert_uint_eq(pages(t), 261);
	ck_assert_int_eq(event(t, "max", true), 3);
	ck_assert_int_eq(event(t, "oom", true), 2);

	obj_cgroup_uncharge_pages(o, 261);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(t), 0);
	ck_assert_uint_eq(pages(p), 0);
	obj_cgroup_put(o);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
	ck_assert_int_eq(mem_cgroup_destroy(p), 0);
}
END_TEST

START_TEST(test_set_max_below_usage)
{
	struct mem_cgroup *t = create(NULL, "t");
	struct obj_cgroup *o = memcg_get_obj_cgroup(t);

	ck_assert_int_eq(obj_cgroup_charge_pages(o, 0, 100), 0);
	ck_assert_uint_eq(pages(t), 100);
	tops.reclaim_objcg = o;

	/* Reclaim frees nothing: refused, limit unchanged. */
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "200K"), -EBUSY);
	ck_assert_int_eq(tops.reclaim_calls, 1);
	ck_assert_ptr_eq(tops.reclaim_last, t);
	ck_assert_uint_eq(read_ul(t, "memory.max"), MEMCG_LIMIT_MAX);
	ck_assert_uint_eq(pages(t), 100);

	/* Reclaim frees enough: accepted. */
	tops.reclaim_free = 60;
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "200K"), 0);
	ck_assert_int_eq(tops.reclaim_calls, 2);
	ck_assert_uint_eq(read_ul(t, "memory.max"), 200 * 1024);
	ck_assert_uint_le(pages(t), 50);

	/* Above usage: no reclaim needed. */
	ck_assert_int_eq(mem_cgroup_set_max(t, MEMCG_LIMIT_MAX), 0);
	ck_assert_int_eq(tops.reclaim_calls, 2);
	ck_assert_uint_eq(mem_cgroup_max(t), MEMCG_LIMIT_MAX);

	obj_cgroup_uncharge_pages(o, 40);
	obj_cgroup_put(o);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
}
END_TEST

START_TEST(test_high)
{
	struct mem_cgroup *p = create(NULL, "p"), *t = create(p, "t");
	struct obj_cgroup *o = memcg_get_obj_cgroup(t);

	ck_assert_int_eq(mem_cgroup_write(t, "memory.high", "512K"), 0); /* 128 pages */
	ck_assert_int_eq(tops.reclaim_calls, 0);
	ck_assert_int_eq(event(t, "high", true), 0);
	ck_assert_int_eq(obj_cgroup_charge_pages(o, 0, 100), 0);
	ck_assert_int_eq(event(t, "high", true), 0);
	ck_assert_int_eq(tops.reclaim_calls, 0);

	/* Over high: an event, a reclaim request, and the charge succeeds. */
	ck_assert_int_eq(obj_cgroup_charge_pages(o, 0, 50), 0);
	ck_assert_uint_eq(pages(t), 164); /* a batch of 64: 14 in the stock */
	ck_assert_int_eq(event(t, "high", true), 1);
	ck_assert_int_eq(event(p, "high", false), 1);
	ck_assert_int_eq(event(p, "high", true), 0);
	ck_assert_int_eq(tops.reclaim_calls, 1);
	ck_assert_ptr_eq(tops.reclaim_last, t);

	/* Setting high below usage reclaims and counts too. */
	ck_assert_int_eq(mem_cgroup_set_high(t, 64 * PG), 0);
	ck_assert_uint_eq(mem_cgroup_high(t), 64 * PG);
	ck_assert_int_eq(event(t, "high", true), 2);
	ck_assert_int_eq(tops.reclaim_calls, 2);

	obj_cgroup_uncharge_pages(o, 150);
	obj_cgroup_put(o);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
	ck_assert_int_eq(mem_cgroup_destroy(p), 0);
}
END_TEST

START_TEST(test_files)
{
	struct mem_cgroup *t = create(NULL, "t");
	char buf[512], small[8];
	ssize_t n;

	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "64M"), 0);
	ck_assert_int_eq(mem_cgroup_read(t, "memory.max", buf, sizeof(buf)), 9);
	ck_assert_str_eq(buf, "67108864\n");
	ck_assert_uint_eq(mem_cgroup_max(t), 64ul << 20);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "max"), 0);
	ck_assert_int_eq(mem_cgroup_read(t, "memory.max", buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "max\n");
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "1G\n"), 0);
	ck_assert_uint_eq(read_ul(t, "memory.max"), 1ul << 30);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", " 4k "), 0);
	ck_assert_uint_eq(read_ul(t, "memory.max"), 4096);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "6000"), 0); /* pages, rounded down */
	ck_assert_uint_eq(read_ul(t, "memory.max"), 4096);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.high", "2T"), 0);
	ck_assert_uint_eq(read_ul(t, "memory.high"), 2ul << 40);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.high", "max"), 0);
	ck_assert_uint_eq(read_ul(t, "memory.high"), MEMCG_LIMIT_MAX);

	const char *bad[] = { "", "abc", "-1", "64X", "1M1", "max1", "99999999999999999999",
			      "16777216T", "1 M" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mem_cgroup_write(t, "memory.max", bad[i]) == -EINVAL, "%s", bad[i]);
	ck_assert_uint_eq(read_ul(t, "memory.max"), 4096);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", NULL), -EINVAL);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.nope", "1"), -ENOENT);
	ck_assert_int_eq(mem_cgroup_read(t, "memory.nope", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(mem_cgroup_read(t, NULL, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(mem_cgroup_write(t, "memory.current", "1"), -EACCES);
	ck_assert_int_eq(mem_cgroup_write(root_mem_cgroup, "memory.max", "1M"), -EINVAL);
	ck_assert_int_eq(mem_cgroup_read(root_mem_cgroup, "memory.max", buf, sizeof(buf)), 4);

	const char *events = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n";
	ssize_t elen = (ssize_t)strlen(events);

	ck_assert_int_eq(mem_cgroup_read(t, "memory.events", buf, sizeof(buf)), elen);
	ck_assert_str_eq(buf, events);
	ck_assert_int_eq(mem_cgroup_read(t, "memory.events.local", buf, sizeof(buf)), elen);
	ck_assert_str_eq(buf, events);
	ck_assert_int_eq(mem_cgroup_read(t, "cgroup.stat", buf, sizeof(buf)),
			 strlen("nr_descendants 0\nnr_dying_descendants 0\n"));
	ck_assert_str_eq(buf, "nr_descendants 0\nnr_dying_descendants 0\n");
	ck_assert_int_eq(mem_cgroup_read(t, "memory.peak", buf, sizeof(buf)), 2);

	/* Size query, then too small: -ENOSPC and the buffer untouched. */
	n = mem_cgroup_read(t, "memory.events", NULL, 0);
	ck_assert_int_eq(n, elen);
	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(mem_cgroup_read(t, "memory.events", small, sizeof(small)), -ENOSPC);
	ck_assert_int_eq(small[0], 'x');
	ck_assert_int_eq(mem_cgroup_read(t, "memory.events", buf, (size_t)elen), -ENOSPC);
	ck_assert_int_eq(mem_cgroup_read(t, "memory.events", buf, (size_t)elen + 1), elen);
	n = mem_cgroup_read(t, "memory.stat", buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "slab 0\nslab_reclaimable 0\nslab_unreclaimable 0\n"
				    "kmalloc_large 0\n"));
	ck_assert_ptr_nonnull(strstr(buf, "kmalloc-cg-64("));
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
}
END_TEST

START_TEST(test_stats)
{
	struct mem_cgroup *p = create(NULL, "p"), *c = create(p, "c");
	struct obj_cgroup *oc = memcg_get_obj_cgroup(c), *op = memcg_get_obj_cgroup(p);

	obj_cgroup_mod_stat(oc, MEMCG_SLAB_RECLAIMABLE, 3);
	obj_cgroup_mod_stat(oc, MEMCG_SLAB_UNRECLAIMABLE, 2);
	obj_cgroup_mod_stat(oc, MEMCG_KMALLOC_LARGE, 1);
	obj_cgroup_mod_stat(op, MEMCG_SLAB_UNRECLAIMABLE, 4);
	ck_assert_int_eq(read_key(c, "memory.stat", "slab"), 5 * PG);
	ck_assert_int_eq(read_key(c, "memory.stat", "slab_reclaimable"), 3 * PG);
	ck_assert_int_eq(read_key(c, "memory.stat", "slab_unreclaimable"), 2 * PG);
	ck_assert_int_eq(read_key(c, "memory.stat", "kmalloc_large"), 1 * PG);
	ck_assert_int_eq(read_key(p, "memory.stat", "slab"), 9 * PG);
	ck_assert_int_eq(read_key(p, "memory.stat", "slab_unreclaimable"), 6 * PG);
	ck_assert_int_eq(read_key(root_mem_cgroup, "memory.stat", "slab"), 9 * PG);

	/* Offline moves c's statistics to p: p's view is unchanged. */
	mem_cgroup_get(c);
	ck_assert_int_eq(mem_cgroup_destroy(c), 0);
	ck_assert_int_eq(read_key(c, "memory.stat", "slab"), 0);
	ck_assert_int_eq(read_key(p, "memory.stat", "slab"), 9 * PG);
	ck_assert_int_eq(read_key(p, "memory.stat", "kmalloc_large"), 1 * PG);
	/* Later updates through c's handle land in p. */
	obj_cgroup_mod_stat(oc, MEMCG_SLAB_RECLAIMABLE, -3);
	obj_cgroup_mod_stat(oc, MEMCG_SLAB_UNRECLAIMABLE, -2);
	obj_cgroup_mod_stat(oc, MEMCG_KMALLOC_LARGE, -1);
	obj_cgroup_mod_stat(op, MEMCG_SLAB_UNRECLAIMABLE, -4);
	ck_assert_int_eq(read_key(p, "memory.stat", "slab"), 0);
	ck_assert_int_eq(read_key(c, "memory.stat", "slab"), 0);
	mem_cgroup_put(c);
	obj_cgroup_put(oc);
	obj_cgroup_put(op);
	ck_assert_int_eq(mem_cgroup_destroy(p), 0);
}
END_TEST

START_TEST(test_stock)
{
	struct mem_cgroup *p = create(NULL, "p"), *a = create(p, "a"), *b = create(p, "b");
	struct obj_cgroup *oa = memcg_get_obj_cgroup(a), *ob = memcg_get_obj_cgroup(b);

	/* One page charges a batch; the rest waits in this CPU's stock. */
	ck_assert_int_eq(obj_cgroup_charge_pages(oa, 0, 1), 0);
	ck_assert_uint_eq(pages(a), 64);
	ck_assert_uint_eq(pages(p), 64);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(a), 1);
	ck_assert_uint_eq(pages(p), 1);
	obj_cgroup_uncharge_pages(oa, 1); /* stock empty: straight to the counters */
	ck_assert_uint_eq(pages(a), 0);

	/* 64 charges of one page: one counter walk. */
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(obj_cgroup_charge_pages(oa, 0, 1), 0);
	ck_assert_uint_eq(pages(a), 64);
	ck_assert_uint_eq(read_ul(a, "memory.peak"), 64 * PG);
	ck_assert_int_eq(obj_cgroup_charge_pages(oa, 0, 1), 0);
	ck_assert_uint_eq(pages(a), 128);
	/* Uncharges go back to the stock; beyond a batch it is drained. */
	obj_cgroup_uncharge_pages(oa, 1);
	ck_assert_uint_eq(pages(a), 128);
	obj_cgroup_uncharge_pages(oa, 64);
	ck_assert_uint_eq(pages(a), 0);

	/* Another tenant on the same CPU replaces the stock. */
	ck_assert_int_eq(obj_cgroup_charge_pages(oa, 0, 1), 0);
	ck_assert_int_eq(obj_cgroup_charge_pages(ob, 0, 1), 0);
	ck_assert_uint_eq(pages(a), 1);
	ck_assert_uint_eq(pages(b), 64);
	ck_assert_uint_eq(pages(p), 65);
	/* The slot holds b: a's uncharge goes to the counters. */
	obj_cgroup_uncharge_pages(oa, 1);
	ck_assert_uint_eq(pages(a), 0);

	/* Another CPU has its own stock. */
	if (nr_cpu_ids > 1) {
		ck_assert_int_eq(uslab_thread_set_cpu(1), 0);
		ck_assert_int_eq(obj_cgroup_charge_pages(oa, 0, 1), 0);
		ck_assert_uint_eq(pages(a), 64);
		ck_assert_uint_eq(pages(b), 64);
		ck_assert_int_eq(uslab_thread_set_cpu(0), 0);
		obj_cgroup_uncharge_pages(oa, 1); /* CPU 0 holds b: direct */
		ck_assert_uint_eq(pages(a), 63);
	}
	/* Near the limit the stock does not push usage over max. */
	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(a), 0);
	ck_assert_uint_eq(pages(b), 1);
	ck_assert_int_eq(mem_cgroup_set_max(a, 10 * PG), 0);
	ck_assert_int_eq(obj_cgroup_charge_pages(oa, 0, 3), 0);
	ck_assert_uint_eq(pages(a), 3);
	/* Only the batch missed: not a max event (kernel behaviour). */
	ck_assert_int_eq(event(a, "max", true), 0);
	obj_cgroup_uncharge_pages(oa, 3);
	obj_cgroup_uncharge_pages(ob, 1);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(p), 0);
	obj_cgroup_put(oa);
	obj_cgroup_put(ob);
	ck_assert_int_eq(mem_cgroup_destroy(a), 0);
	ck_assert_int_eq(mem_cgroup_destroy(b), 0);
	ck_assert_int_eq(mem_cgroup_destroy(p), 0);
}
END_TEST

/* ---- which tenant pays -------------------------------------------------- */

static void *attach_and_exit(void *arg)
{
	ck_assert_int_eq(mem_cgroup_attach_thread(arg), 0);
	ck_assert_ptr_eq(memcg_current(), arg);
	return NULL;
}

START_TEST(test_active_and_attached)
{
	struct mem_cgroup *a = create(NULL, "a"), *b = create(NULL, "b");
	struct mem_cgroup *c = create(a, "c"), *d;
	pthread_t thr;

	ck_assert_ptr_null(set_active_memcg(a));
	ck_assert_ptr_eq(memcg_current(), a);
	ck_assert_ptr_eq(set_active_memcg(b), a);
	ck_assert_ptr_eq(memcg_current(), b);
	ck_assert_ptr_eq(set_active_memcg(NULL), b);
	ck_assert_ptr_eq(memcg_current(), root_mem_cgroup);
	ck_assert(memcg_is_root(memcg_current()));

	ck_assert_int_eq(mem_cgroup_attach_thread(c), 0);
	ck_assert_ptr_eq(memcg_current(), c);
	ck_assert_ptr_null(set_active_memcg(b)); /* active wins over attached */
	ck_assert_ptr_eq(memcg_current(), b);
	ck_assert_ptr_eq(set_active_memcg(root_mem_cgroup), b);
	ck_assert_ptr_eq(memcg_current(), root_mem_cgroup);
	ck_assert_ptr_eq(set_active_memcg(NULL), root_mem_cgroup);
	ck_assert_ptr_eq(memcg_current(), c);

	/* The attached tenant goes offline: the thread charges the parent. */
	ck_assert_int_eq(mem_cgroup_destroy(c), 0); /* our attachment keeps it */
	ck_assert_int_eq(read_key(a, "cgroup.stat", "nr_dying_descendants"), 1);
	ck_assert_ptr_eq(memcg_current(), a);
	ck_assert_int_eq(mem_cgroup_attach_thread(NULL), 0); /* drops c */
	ck_assert_int_eq(read_key(a, "cgroup.stat", "nr_dying_descendants"), 0);
	ck_assert_ptr_eq(memcg_current(), root_mem_cgroup);

	/* A thread's attachment is dropped when it exits. */
	d = create(a, "d");
	ck_assert_int_eq(pthread_create(&thr, NULL, attach_and_exit, d), 0);
	ck_assert_int_eq(pthread_join(thr, NULL), 0);
	ck_assert_ptr_eq(memcg_current(), root_mem_cgroup); /* not ours */
	ck_assert_int_eq(mem_cgroup_destroy(d), 0);
	ck_assert_int_eq(read_key(a, "cgroup.stat", "nr_dying_descendants"), 0);

	ck_assert_int_eq(mem_cgroup_destroy(a), 0);
	ck_assert_int_eq(mem_cgroup_destroy(b), 0);
}
END_TEST

/* ---- reparenting -------------------------------------------------------- */

START_TEST(test_reparent)
{
	struct mem_cgroup *p = create(NULL, "p"), *c = create(p, "c"), *g = create(c, "g");
	struct obj_cgroup *oc = memcg_get_obj_cgroup(c), *op = memcg_get_obj_cgroup(p);
	struct obj_cgroup *og = memcg_get_obj_cgroup(g), *o2;

	ck_assert_ptr_eq(obj_cgroup_memcg(oc), c);
	ck_assert_int_eq(obj_cgroup_charge_pages(oc, 0, 100), 0);
	ck_assert_int_eq(obj_cgroup_charge_pages(og, 0, 80), 0);
	ck_assert_int_eq(obj_cgroup_charge_pages(op, 0, 70), 0);
	ck_assert_uint_eq(pages(g), 80);
	ck_assert_uint_eq(pages(c), 180);
	ck_assert_uint_eq(pages(p), 250);

	/* g goes: its charges belong to c now; c and p unchanged. */
	mem_cgroup_get(g);
	ck_assert_int_eq(mem_cgroup_destroy(g), 0);
	ck_assert_uint_eq(pages(g), 0);
	ck_assert_uint_eq(pages(c), 180);
	ck_assert_uint_eq(pages(p), 250);
	ck_assert_ptr_eq(obj_cgroup_memcg(og), c);
	mem_cgroup_put(g);

	/* c goes: both handles move on to p; nothing lost, nothing doubled. */
	mem_cgroup_get(c);
	ck_assert_int_eq(mem_cgroup_destroy(c), 0);
	ck_assert_uint_eq(pages(c), 0);
	ck_assert_uint_eq(pages(p), 250);
	ck_assert_uint_eq(pages(root_mem_cgroup), 250);
	ck_assert_ptr_eq(obj_cgroup_memcg(oc), p);
	ck_assert_ptr_eq(obj_cgroup_memcg(og), p);
	o2 = memcg_get_obj_cgroup(c); /* an offline tenant hands out p's handle */
	ck_assert_ptr_eq(o2, op);
	obj_cgroup_put(o2);

	/* Uncharges and charges through the old handles hit p. */
	obj_cgroup_uncharge_pages(oc, 100);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(p), 150);
	ck_assert_uint_eq(pages(c), 0);
	ck_assert_int_eq(mem_cgroup_set_max(p, 200 * PG), 0);
	ck_assert_int_eq(obj_cgroup_charge_pages(og, 0, 60), -ENOMEM);
	ck_assert_int_eq(event(p, "oom", true), 1);
	ck_assert_int_eq(event(c, "oom", false), 0);
	ck_assert_int_eq(obj_cgroup_charge_pages(og, 0, 50), 0);
	ck_assert_uint_eq(pages(p), 200);
	ck_assert_uint_eq(pages(c), 0);
	obj_cgroup_uncharge_pages(og, 130);
	obj_cgroup_uncharge_pages(op, 70);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(p), 0);

	ck_assert_int_eq(read_key(p, "cgroup.stat", "nr_dying_descendants"), 1);
	mem_cgroup_put(c);
	ck_assert_int_eq(read_key(p, "cgroup.stat", "nr_dying_descendants"), 0);
	obj_cgroup_put(oc);
	obj_cgroup_put(og);
	obj_cgroup_put(op);
	ck_assert_int_eq(mem_cgroup_destroy(p), 0);
}
END_TEST

START_TEST(test_hierarchy_sum)
{
	struct mem_cgroup *p = create(NULL, "p"), *k[3];
	struct obj_cgroup *op = memcg_get_obj_cgroup(p), *ok[3];
	unsigned long sum = 0, own = 0, mine[3] = { 0 };
	unsigned int seed = 42;

	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "k%d", i);
		k[i] = create(p, name);
		ok[i] = memcg_get_obj_cgroup(k[i]);
	}
	for (int round = 0; round < 300; round++) {
		int who = rand_r(&seed) % 4;
		unsigned int nr = 1 + rand_r(&seed) % 100;
		struct obj_cgroup *o = who == 3 ? op : ok[who];
		unsigned long *acct = who == 3 ? &own : &mine[who];

		ck_assert_int_eq(uslab_thread_set_cpu(rand_r(&seed) % nr_cpu_ids), 0);
		if (rand_r(&seed) % 2 && *acct >= nr) {
			obj_cgroup_uncharge_pages(o, nr);
			*acct -= nr;
		} else {
			ck_assert_int_eq(obj_cgroup_charge_pages(o, 0, nr), 0);
			*acct += nr;
		}
	}
	memcg_drain_all_stocks();
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(pages(k[i]), mine[i]);
		sum += mine[i];
	}
	ck_assert_uint_eq(pages(p), sum + own);
	ck_assert_uint_eq(pages(root_mem_cgroup), sum + own);
	for (int i = 0; i < 3; i++) {
		obj_cgroup_uncharge_pages(ok[i], mine[i]);
		obj_cgroup_put(ok[i]);
		ck_assert_int_eq(mem_cgroup_destroy(k[i]), 0);
	}
	obj_cgroup_uncharge_pages(op, own);
	obj_cgroup_put(op);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(p), 0);
	ck_assert_int_eq(mem_cgroup_destroy(p), 0);
}
END_TEST

/* ---- concurrency -------------------------------------------------------- */

#define RACE_THREADS 4
#define RACE_ROUNDS 30

struct race {
	struct obj_cgroup *objcg;
	long done;              /* atomic: iterations done by all threads */
	int stop;               /* atomic */
	unsigned long left[RACE_THREADS];
};

struct race_arg {
	struct race *race;
	int idx;
};

static void *race_worker(void *p)
{
	struct race_arg *arg = p;
	struct race *r = arg->race;
	unsigned int seed = (unsigned int)arg->idx * 7919u + 1;
	unsigned long mine = 0;

	uslab_thread_set_cpu(arg->idx % (int)nr_cpu_ids);
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		unsigned int nr = 1 + rand_r(&seed) % 70;

		if (mine >= nr && rand_r(&seed) % 2) {
			obj_cgroup_uncharge_pages(r->objcg, nr);
			mine -= nr;
		} else if (obj_cgroup_charge_pages(r->objcg, 0, nr) == 0) {
			mine += nr;
		}
		__atomic_add_fetch(&r->done, 1, __ATOMIC_RELAXED);
	}
	r->left[arg->idx] = mine;
	return NULL;
}

static void race_wait(struct race *r, long until)
{
	while (__atomic_load_n(&r->done, __ATOMIC_RELAXED) < until)
		;
}

/*
 * Charges and uncharges racing with the handle switch of an offline
 * neither lose nor double a page: afterwards the dying tenant's counter is
 * 0 and the parent holds exactly what the threads still own.
 */
START_TEST(test_reparent_race)
{
	struct mem_cgroup *p = create(NULL, "p");

	ck_assert_int_eq(mem_cgroup_set_max(p, 3000 * PG), 0);
	for (int round = 0; round < RACE_ROUNDS; round++) {
		struct mem_cgroup *c = create(p, "c");
		struct race r = { .objcg = memcg_get_obj_cgroup(c) };
		struct race_arg args[RACE_THREADS];
		pthread_t thr[RACE_THREADS];
		unsigned long total = 0;

		mem_cgroup_get(c);
		for (int i = 0; i < RACE_THREADS; i++) {
			args[i] = (struct race_arg){ &r, i };
			ck_assert_int_eq(pthread_create(&thr[i], NULL, race_worker, &args[i]), 0);
		}
		race_wait(&r, 300);
		ck_assert_int_eq(mem_cgroup_destroy(c), 0);
		race_wait(&r, __atomic_load_n(&r.done, __ATOMIC_RELAXED) + 300);
		__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
		for (int i = 0; i < RACE_THREADS; i++)
			ck_assert_int_eq(pthread_join(thr[i], NULL), 0);
		memcg_drain_all_stocks();
		for (int i = 0; i < RACE_THREADS; i++)
			total += r.left[i];
		ck_assert_uint_eq(pages(c), 0);
		ck_assert_uint_eq(pages(p), total);
		ck_assert_uint_eq(pages(root_mem_cgroup), total);
		for (int i = 0; i < RACE_THREADS; i++)
			obj_cgroup_uncharge_pages(r.objcg, r.left[i]);
		memcg_drain_all_stocks();
		ck_assert_uint_eq(pages(p), 0);
		ck_assert_uint_eq(pages(c), 0);
		obj_cgroup_put(r.objcg);
		mem_cgroup_put(c);
	}
	ck_assert_uint_le(mem_cgroup_peak(p), 3000 * PG);
	ck_assert_int_eq(mem_cgroup_destroy(p), 0);
}
END_TEST

/* Tenant pool shared by the stress workers and churners. */
#define POOL 8
#define ORPHANS 1024
#define LEDGER 64

static struct {
	pthread_mutex_t lock;
	struct mem_cgroup *slot[POOL];   /* lock; each holds a reference */
	struct mem_cgroup *orphan[ORPHANS]; /* lock; destroy said -EBUSY */
	int nr_orphans;                  /* lock */
	struct mem_cgroup *top[2];
	int stop;                        /* atomic */
	int churn_rounds;                /* atomic */
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct obj_cgroup *pool_pick(unsigned int *seed)
{
	struct obj_cgroup *objcg = NULL;
	struct mem_cgroup *memcg;

	pthread_mutex_lock(&pool.lock);
	memcg = pool.slot[rand_r(seed) % POOL];
	if (!memcg)
		memcg = pool.top[rand_r(seed) % 2];
	mem_cgroup_get(memcg);
	pthread_mutex_unlock(&pool.lock);
	objcg = memcg_get_obj_cgroup(memcg);
	mem_cgroup_put(memcg);
	return objcg;
}

static void *stress_worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg * 31u + 5;
	struct { struct obj_cgroup *objcg; unsigned int nr; } led[LEDGER] = { { 0 } };

	uslab_thread_set_cpu((int)((uintptr_t)arg % nr_cpu_ids));
	for (int i = 0; i < 6000; i++) {
		int s = rand_r(&seed) % LEDGER;

		if (led[s].objcg) {
			obj_cgroup_uncharge_pages(led[s].objcg, led[s].nr);
			obj_cgroup_mod_stat(led[s].objcg, MEMCG_SLAB_UNRECLAIMABLE, -(long)led[s].nr);
			obj_cgroup_put(led[s].objcg);
			led[s].objcg = NULL;
		} else {
			struct obj_cgroup *o = pool_pick(&seed);
			unsigned int nr = 1 + rand_r(&seed) % 100;

			ck_assert_ptr_nonnull(o);
			if (obj_cgroup_charge_pages(o, 0, nr) == 0) {
				obj_cgroup_mod_stat(o, MEMCG_SLAB_UNRECLAIMABLE, nr);
				led[s].objcg = o;
				led[s].nr = nr;
			} else {
				obj_cgroup_put(o);
			}
		}
		if (i % 500 == 0)
			uslab_thread_set_cpu(rand_r(&seed) % (int)nr_cpu_ids);
	}
	for (int s = 0; s < LEDGER; s++) {
		if (led[s].objcg) {
			obj_cgroup_uncharge_pages(led[s].objcg, led[s].nr);
			obj_cgroup_mod_stat(led[s].objcg, MEMCG_SLAB_UNRECLAIMABLE, -(long)led[s].nr);
			obj_cgroup_put(led[s].objcg);
		}
	}
	return NULL;
}

/* Destroy @memcg and drop the pool's reference, or park it as an orphan. */
static void pool_retire(struct mem_cgroup *memcg)
{
	int err = mem_cgroup_destroy(memcg);

	if (err == -EBUSY) { /* online children: try again later */
		pthread_mutex_lock(&pool.lock);
		ck_assert_int_lt(pool.nr_orphans, ORPHANS);
		pool.orphan[pool.nr_orphans++] = memcg;
		pthread_mutex_unlock(&pool.lock);
		return;
	}
	ck_assert_int_eq(err, 0);
	mem_cgroup_put(memcg);
}

static void *churner(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg * 17u + 3;
	int n = 0;

	while (!__atomic_load_n(&pool.stop, __ATOMIC_RELAXED)) {
		int s = rand_r(&seed) % POOL;
		struct mem_cgroup *old, *orphan[2] = { NULL, NULL }, *parent, *fresh;
		char name[32];

		pthread_mutex_lock(&pool.lock);
		old = pool.slot[s];
		pool.slot[s] = NULL;
		/* Retry parked ones oldest first: their children went before. */
		for (int i = 0; i < 2 && pool.nr_orphans; i++) {
			orphan[i] = pool.orphan[0];
			memmove(pool.orphan, pool.orphan + 1, --pool.nr_orphans * sizeof(pool.orphan[0]));
		}
		/* Sometimes nest under another pooled tenant. */
		parent = pool.slot[rand_r(&seed) % POOL];
		if (!parent)
			parent = pool.top[rand_r(&seed) % 2];
		mem_cgroup_get(parent);
		pthread_mutex_unlock(&pool.lock);

		if (old)
			pool_retire(old);
		for (int i = 0; i < 2; i++)
			if (orphan[i])
				pool_retire(orphan[i]);
		snprintf(name, sizeof(name), "t%lu-%d", (unsigned long)(uintptr_t)arg, n++);
		fresh = mem_cgroup_create(parent, name);
		/* The only possible failure: the parent went offline meanwhile. */
		ck_assert(fresh || errno == ENOENT);
		mem_cgroup_put(parent);
		if (fresh) {
			if (rand_r(&seed) % 3 == 0)
				mem_cgroup_set_max(fresh, (50 + rand_r(&seed) % 400) * PG);
			mem_cgroup_get(fresh); /* the pool's reference */
			pthread_mutex_lock(&pool.lock);
			if (!pool.slot[s]) {
				pool.slot[s] = fresh;
				fresh = NULL;
			}
			pthread_mutex_unlock(&pool.lock);
			if (fresh)
				pool_retire(fresh);
		}
		__atomic_add_fetch(&pool.churn_rounds, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Destroy what is left in the pool (single-threaded by then). */
static void pool_drain(void)
{
	for (int i = 0; i < POOL; i++) {
		if (pool.slot[i])
			pool_retire(pool.slot[i]);
		pool.slot[i] = NULL;
	}
	while (pool.nr_orphans) {
		int n = pool.nr_orphans;

		pool.nr_orphans = 0;
		for (int i = 0; i < n; i++)
			pool_retire(pool.orphan[i]);
		ck_assert_int_lt(pool.nr_orphans, n); /* progress: leaves go first */
	}
}

START_TEST(test_stress)
{
	pthread_t w[4], ch[2];

	pool.top[0] = create(NULL, "A");
	pool.top[1] = create(NULL, "B");
	ck_assert_int_eq(mem_cgroup_set_max(pool.top[0], 2000 * PG), 0);
	for (uintptr_t i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&ch[i], NULL, churner, (void *)i), 0);
	for (uintptr_t i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&w[i], NULL, stress_worker, (void *)i), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(w[i], NULL), 0);
	__atomic_store_n(&pool.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(ch[i], NULL), 0);
	ck_assert_int_gt(pool.churn_rounds, 0);

	memcg_drain_all_stocks();
	ck_assert_uint_eq(pages(pool.top[0]), 0);
	ck_assert_uint_eq(pages(pool.top[1]), 0);
	ck_assert_uint_eq(pages(root_mem_cgroup), 0);
	ck_assert_uint_le(mem_cgroup_peak(pool.top[0]), 2000 * PG);
	ck_assert_int_eq(read_key(root_mem_cgroup, "memory.stat", "slab"), 0);
	pool_drain();
	ck_assert_int_eq(read_key(pool.top[0], "cgroup.stat", "nr_descendants"), 0);
	ck_assert_int_eq(read_key(pool.top[1], "cgroup.stat", "nr_descendants"), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 0);
	ck_assert_int_eq(mem_cgroup_destroy(pool.top[0]), 0);
	ck_assert_int_eq(mem_cgroup_destroy(pool.top[1]), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_descendants"), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 0);
}
END_TEST

static Suite *memcg_suite(void)
{
	Suite *s = suite_create("memcg");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tree_create_lookup);
	tcase_add_test(tc, test_tree_destroy_rules);
	tcase_add_test(tc, test_kmem_ids);
	tcase_add_test(tc, test_charge_all_or_nothing);
	tcase_add_test(tc, test_max_until_enomem);
	tcase_add_test(tc, test_set_max_below_usage);
	tcase_add_test(tc, test_high);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_stats);
	tcase_add_test(tc, test_stock);
	tcase_add_test(tc, test_active_and_attached);
	tcase_add_test(tc, test_reparent);
	tcase_add_test(tc, test_hierarchy_sum);
	tcase_add_test(tc, test_reparent_race);
	tcase_add_test(tc, test_stress);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(memcg_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
