// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-memcg-caches.c - the tenant child caches (lib/memcg_caches.c)
 * against memcg/, modelled on the kernel's cgroup selftests
 * (test_memcontrol.c, test_kmem.c): routing to "root(id:tenant)" children,
 * memory.current against the slab pages the children own (within the per-CPU
 * stock while it is live, exact after memcg_drain_all_stocks()), memory.max
 * with its events, a hundred tenants on four threads created, filled, freed
 * and destroyed, destroying a root cache while a child holds objects, a
 * tenant going offline with live objects, isolation of tenants' slabs (walked
 * through the node lists of lib/slab.h), memory.stat, and tenants churned
 * while other threads allocate into them. Each test runs in its own forked
 * child, initialises the library with nomerge, and validates its caches at
 * quiescent points. Objects freed under ASan sit in lib/'s quarantine, so the
 * tests flush it (quarantine_flush(NULL), a no-op otherwise) before they
 * expect slabs or child caches to go.
 */
#include "lib/slab.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/testutil.h"

#define PG 4096ul
/* Pages a tenant's memory.current may hold beyond its slabs: one stock per CPU. */
#define STOCK_SLACK ((unsigned long)MEMCG_CHARGE_BATCH_PAGES * nr_cpu_ids)
#define MEMCG_CHARGE_BATCH_PAGES 64u

#define VALIDATE(s) ck_assert_msg(uslab_cache_validate(s) == 0, "validate %s", uslab_cache_name(s))

/* ---- helpers ------------------------------------------------------------------- */

static void lib_init(void)
{
	struct uslab_config cfg = { .nomerge = true };

	ck_assert_int_eq(uslab_init(&cfg), 0);
}

static void pin_cpu(int cpu)
{
	ck_assert_int_eq(uslab_thread_set_cpu(cpu % (int)nr_cpu_ids), 0);
}

static struct mem_cgroup *create(struct mem_cgroup *parent, const char *name)
{
	struct mem_cgroup *memcg = mem_cgroup_create(parent, name);

	ck_assert_msg(memcg != NULL, "create %s: %s", name, strerror(errno));
	return memcg;
}

static struct kmem_cache *cache(const char *name, unsigned int size, slab_flags_t flags)
{
	struct kmem_cache *s = kmem_cache_create(name, size, 0, flags, NULL);

	ck_assert_msg(s != NULL, "create cache %s: %s", name, strerror(errno));
	return s;
}

/* Value of "key N" in a tenant file, or -1 when the key is missing. */
static long read_key(struct mem_cgroup *memcg, const char *file, const char *key)
{
	char buf[16384], *line;
	size_t klen = strlen(key);

	ck_assert_int_gt(mem_cgroup_read(memcg, file, buf, sizeof(buf)), 0);
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtol(line + klen + 1, NULL, 10);
	return -1;
}

/* memory.current in pages, read through the file and checked against the call. */
static unsigned long cur_pages(struct mem_cgroup *memcg)
{
	char buf[64];
	unsigned long bytes;

	ck_assert_int_gt(mem_cgroup_read(memcg, "memory.current", buf, sizeof(buf)), 0);
	bytes = strtoul(buf, NULL, 10);
	ck_assert_uint_eq(bytes % PG, 0);
	ck_assert_uint_eq(bytes, mem_cgroup_usage(memcg));
	return bytes / PG;
}

static long event(struct mem_cgroup *memcg, const char *key, bool local)
{
	return read_key(memcg, local ? "memory.events.local" : "memory.events", key);
}

static void child_name(struct kmem_cache *root, struct mem_cgroup *memcg, char *buf, size_t len)
{
	snprintf(buf, len, "%s(%u:%s)", uslab_cache_name(root), mem_cgroup_id(memcg),
		 mem_cgroup_name(memcg));
}

/* @memcg's child cache of @root as listed among the caches, or NULL. */
static struct kmem_cache *child_of(struct kmem_cache *root, struct mem_cgroup *memcg)
{
	char name[200];

	child_name(root, memcg, name, sizeof(name));
	return uslab_cache_find(name);
}

/* Pages of every slab of @s (0 for NULL). */
static unsigned long slab_pages(struct kmem_cache *s)
{
	struct uslab_cache_info info;

	if (!s)
		return 0;
	ck_assert_int_eq(uslab_cache_info(s, NUMA_NO_NODE, &info), 0);
	return info.num_slabs * info.pages_per_slab;
}

/* Pages of @memcg's own children of @roots. */
static unsigned long children_pages(struct kmem_cache **roots, int nr, struct mem_cgroup *memcg)
{
	unsigned long pages = 0;

	for (int i = 0; i < nr; i++)
		pages += slab_pages(child_of(roots[i], memcg));
	return pages;
}

static char *slabinfo_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(uslab_slabinfo(f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* Number of slabinfo rows whose name starts with @prefix (exactly @prefix when @whole). */
static int slabinfo_rows(const char *prefix, bool whole)
{
	char *buf = slabinfo_text(), *line;
	size_t n = strlen(prefix);
	int rows = 0;

	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, prefix, n) == 0 && (!whole || line[n] == ' '))
			rows++;
	free(buf);
	return rows;
}

static bool slabinfo_has(const char *name)
{
	return slabinfo_rows(name, true) > 0;
}

/*
 * Rows of child caches (a '(' in the name) whose name starts with @prefix;
 * with @rows, a malloc'd copy of them for failure messages.
 */
static int slabinfo_children_rows(const char *prefix, char **rows)
{
	char *buf = slabinfo_text(), *line, *out = NULL;
	size_t n = strlen(prefix), outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	int nrows = 0;

	ck_assert_ptr_nonnull(f);
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *sp = strchr(line, ' '), *paren = strchr(line, '('), *nl = strchr(line, '\n');

		if (strncmp(line, prefix, n) == 0 && paren && sp && paren < sp) {
			nrows++;
			fprintf(f, "%.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
		}
	}
	fclose(f);
	free(buf);
	if (rows)
		*rows = out;
	else
		free(out);
	return nrows;
}

static int slabinfo_children(const char *prefix)
{
	return slabinfo_children_rows(prefix, NULL);
}

/* Let every freed object and queued child release go: quarantine, then grace periods. */
static void settle(void)
{
	kvfree_rcu_barrier();
	quarantine_flush(NULL);
	kvfree_rcu_barrier();
}

/* Validate @root and every child it has (live or dying); quiescent callers only. */
static void validate_family(struct kmem_cache *root)
{
	struct kmem_cache *children[512], *c;
	int nr = 0;

	VALIDATE(root);
	slab_lock_all();
	list_for_each_entry(c, &root->memcg_params.children_list, memcg_params.sibling)
		if (nr < (int)ARRAY_SIZE(children))
			children[nr++] = c;
	slab_unlock_all();
	for (int i = 0; i < nr; i++)
		VALIDATE(children[i]);
}

static long statm_resident(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident;
}

static unsigned long large_pages(size_t size)
{
	return size > KMALLOC_MAX_CACHE_SIZE ? (size + PG - 1) / PG : 0;
}

/* Above the largest kmalloc class: a kmalloc_large block from kvmalloc. */
#define LARGE_SIZE (KMALLOC_MAX_SIZE + 20000)

/* ---- routing ------------------------------------------------------------------- */

START_TEST(test_routing_names_child_per_tenant)
{
	struct kmem_cache *acc, *plain, *c;
	struct mem_cgroup *t, *u;
	void *root_obj, *obj, *uobj, *plain_obj, *acc_plain, *km, *km_plain;
	char name[200];

	lib_init();
	pin_cpu(0);
	acc = cache("mc-route", 100, SLAB_ACCOUNT);
	plain = cache("mc-plain", 100, 0);
	t = create(NULL, "t1");
	u = create(NULL, "u1");
	child_name(acc, t, name, sizeof(name));
	ck_assert_ptr_null(uslab_cache_find(name));
	ck_assert(!slabinfo_has(name));

	/* The root tenant charges nobody and uses the root cache itself. */
	root_obj = kmem_cache_alloc(acc, GFP_KERNEL);
	ck_assert_ptr_eq(uslab_obj_cache(root_obj), acc);
	ck_assert_uint_eq(cur_pages(t), 0);

	ck_assert_ptr_null(set_active_memcg(t));
	obj = kmem_cache_alloc(acc, GFP_KERNEL);
	ck_assert_ptr_nonnull(obj);
	c = uslab_obj_cache(obj);
	ck_assert_ptr_ne(c, acc);
	ck_assert_str_eq(uslab_cache_name(c), name);
	ck_assert_ptr_eq(uslab_cache_find(name), c);
	ck_assert(slabinfo_has(name));
	ck_assert_uint_eq(kmem_cache_size(c), kmem_cache_size(acc));
	{
		struct uslab_cache_info ri, ci;

		ck_assert_int_eq(uslab_cache_info(acc, NUMA_NO_NODE, &ri), 0);
		ck_assert_int_eq(uslab_cache_info(c, NUMA_NO_NODE, &ci), 0);
		ck_assert_uint_eq(ci.size, ri.size);
		ck_assert_uint_eq(ci.objs_per_slab, ri.objs_per_slab);
		ck_assert_uint_eq(ci.limit, ri.limit);
		ck_assert_uint_eq(ci.batchcount, ri.batchcount);
		ck_assert_uint_eq(ci.shared, ri.shared);
	}
	ck_assert_uint_gt(cur_pages(t), 0);
	/* The second allocation of the tenant goes to the same child. */
	{
		void *again = kmem_cache_alloc(acc, GFP_KERNEL);

		ck_assert_ptr_eq(uslab_obj_cache(again), c);
		kmem_cache_free(acc, again);
	}

	/* Not accounted: the root cache; __GFP_ACCOUNT makes any cache route. */
	plain_obj = kmem_cache_alloc(plain, GFP_KERNEL);
	ck_assert_ptr_eq(uslab_obj_cache(plain_obj), plain);
	acc_plain = kmem_cache_alloc(plain, GFP_KERNEL_ACCOUNT);
	child_name(plain, t, name, sizeof(name));
	ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(acc_plain)), name);

	/* kmalloc: __GFP_ACCOUNT uses the kmalloc-cg-N root's child. */
	km = kmalloc(64, GFP_KERNEL_ACCOUNT);
	snprintf(name, sizeof(name), "kmalloc-cg-64(%u:t1)", mem_cgroup_id(t));
	ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(km)), name);
	km_plain = kmalloc(64, GFP_KERNEL);
	ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(km_plain)), "kmalloc-64");

	/* Another tenant: another child; the root: the root cache again. */
	ck_assert_ptr_eq(set_active_memcg(u), t);
	uobj = kmem_cache_alloc(acc, GFP_KERNEL);
	child_name(acc, u, name, sizeof(name));
	ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(uobj)), name);
	ck_assert_ptr_eq(set_active_memcg(root_mem_cgroup), u);
	{
		void *r = kmem_cache_alloc(acc, GFP_KERNEL);

		ck_assert_ptr_eq(uslab_obj_cache(r), acc);
		kmem_cache_free(acc, r);
	}
	ck_assert_ptr_eq(set_active_memcg(NULL), root_mem_cgroup);

	/* An attached thread charges its tenant unless an active one overrides. */
	ck_assert_int_eq(mem_cgroup_attach_thread(t), 0);
	{
		void *a = kmem_cache_alloc(acc, GFP_KERNEL), *b;

		ck_assert_ptr_eq(uslab_obj_cache(a), c);
		set_active_memcg(u);
		b = kmem_cache_alloc(acc, GFP_KERNEL);
		ck_assert_ptr_eq(uslab_obj_cache(b), uslab_obj_cache(uobj));
		set_active_memcg(NULL);
		kmem_cache_free(acc, a);
		kmem_cache_free(acc, b);
	}
	ck_assert_int_eq(mem_cgroup_attach_thread(NULL), 0);

	kmem_cache_free(acc, obj);
	kmem_cache_free(acc, uobj);
	kmem_cache_free(acc, root_obj);
	kmem_cache_free(plain, plain_obj);
	kmem_cache_free(plain, acc_plain);
	kfree(km);
	kfree(km_plain);
	validate_family(acc);
	validate_family(plain);
	validate_family(uslab_cache_find("kmalloc-cg-64"));
}
END_TEST

/* ---- memory.current against slab pages -------------------------------------------- */

#define INV_CACHES 4

struct inv_set {
	struct kmem_cache *roots[INV_CACHES]; /* three caches and kmalloc-cg-192 */
};

/* Allocate @n objects of each cache and @nlarge kmalloc_large blocks as @memcg. */
static unsigned long inv_fill(struct inv_set *set, struct mem_cgroup *memcg, int n, int nlarge,
			      void **objs, int *nobjs)
{
	unsigned long large = 0;

	set_active_memcg(memcg);
	for (int i = 0; i < n; i++) {
		for (int c = 0; c < 3; c++) {
			objs[*nobjs] = kmem_cache_alloc(set->roots[c], GFP_KERNEL);
			ck_assert_ptr_nonnull(objs[*nobjs]);
			(*nobjs)++;
		}
		objs[*nobjs] = kmalloc(192, GFP_KERNEL_ACCOUNT);
		ck_assert_ptr_nonnull(objs[(*nobjs)++]);
	}
	for (int i = 0; i < nlarge; i++) {
		objs[*nobjs] = kvmalloc(LARGE_SIZE, GFP_KERNEL_ACCOUNT);
		ck_assert_ptr_nonnull(objs[(*nobjs)++]);
		large += large_pages(LARGE_SIZE);
	}
	set_active_memcg(NULL);
	return large;
}

/* usage is what the slabs and large blocks hold, plus at most the live stocks. */
static void check_within_stock(struct mem_cgroup *memcg, unsigned long expect)
{
	unsigned long cur = cur_pages(memcg);

	ck_assert_msg(cur >= expect && cur <= expect + STOCK_SLACK,
		      "%s: memory.current %lu pages, slabs and large blocks %lu, stock slack %lu",
		      mem_cgroup_name(memcg), cur, expect, STOCK_SLACK);
}

START_TEST(test_current_equals_slab_pages)
{
	static void *objs[3][8192];
	int nobjs[3] = { 0 };
	struct inv_set set;
	struct mem_cgroup *p, *a, *b, *m[3];
	unsigned long large[3], own[3];

	lib_init();
	pin_cpu(0);
	set.roots[0] = cache("mc-inv-small", 40, SLAB_ACCOUNT);
	set.roots[1] = cache("mc-inv-offslab", 700, SLAB_ACCOUNT);
	set.roots[2] = cache("mc-inv-rcl", 3000, SLAB_ACCOUNT | SLAB_RECLAIM_ACCOUNT);
	set.roots[3] = uslab_cache_find("kmalloc-cg-192");
	ck_assert_ptr_nonnull(set.roots[3]);
	p = create(NULL, "inv-p");
	a = create(p, "inv-a");
	b = create(p, "inv-b");
	m[0] = p, m[1] = a, m[2] = b;

	/* Different amounts per tenant, from two CPUs so that two stocks are live. */
	large[1] = inv_fill(&set, a, 700, 3, objs[1], &nobjs[1]);
	pin_cpu(1);
	large[2] = inv_fill(&set, b, 300, 1, objs[2], &nobjs[2]);
	large[0] = inv_fill(&set, p, 100, 2, objs[0], &nobjs[0]);
	pin_cpu(0);

	for (int i = 0; i < 3; i++)
		own[i] = children_pages(set.roots, INV_CACHES, m[i]) + large[i];
	ck_assert_uint_gt(own[1], own[2]);
	check_within_stock(a, own[1]);
	check_within_stock(b, own[2]);
	check_within_stock(p, own[0] + own[1] + own[2]);

	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(a), own[1]);
	ck_assert_uint_eq(cur_pages(b), own[2]);
	ck_assert_uint_eq(cur_pages(p), own[0] + cur_pages(a) + cur_pages(b));
	/* Nothing else is charged in this process: the root counts the same. */
	ck_assert_uint_eq(cur_pages(root_mem_cgroup), cur_pages(p));

	/* Free every other object of each tenant: still exact, slabs stay charged. */
	for (int t = 0; t < 3; t++) {
		for (int i = 0; i < nobjs[t]; i += 2) {
			if (ksize(objs[t][i]) > KMALLOC_MAX_CACHE_SIZE)
				large[t] -= large_pages(LARGE_SIZE);
			kfree(objs[t][i]);
			objs[t][i] = NULL;
		}
	}
	quarantine_flush(NULL);
	for (int i = 0; i < 3; i++)
		own[i] = children_pages(set.roots, INV_CACHES, m[i]) + large[i];
	check_within_stock(a, own[1]);
	check_within_stock(p, own[0] + own[1] + own[2]);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(a), own[1]);
	ck_assert_uint_eq(cur_pages(b), own[2]);
	ck_assert_uint_eq(cur_pages(p), own[0] + own[1] + own[2]);

	for (int c = 0; c < INV_CACHES; c++)
		validate_family(set.roots[c]);

	/* Free the rest and release the free slabs: every level back to 0. */
	for (int t = 0; t < 3; t++)
		for (int i = 0; i < nobjs[t]; i++)
			kfree(objs[t][i]);
	quarantine_flush(NULL);
	for (int c = 0; c < INV_CACHES; c++)
		for (int t = 0; t < 3; t++)
			if (child_of(set.roots[c], m[t]))
				ck_assert_int_eq(kmem_cache_shrink(child_of(set.roots[c], m[t])), 0);
	memcg_drain_all_stocks();
	for (int t = 0; t < 3; t++)
		ck_assert_uint_eq(cur_pages(m[t]), 0);
	ck_assert_uint_eq(cur_pages(root_mem_cgroup), 0);
	for (int c = 0; c < INV_CACHES; c++)
		validate_family(set.roots[c]);
}
END_TEST

/* ---- memory.max ------------------------------------------------------------------- */

START_TEST(test_max_fails_cleanly_and_frees_make_room)
{
	static void *objs[16384], *others[1024];
	struct mem_cgroup *p, *t, *o;
	struct kmem_cache *s;
	unsigned long max = 1ul << 20;
	long max_ev, oom_ev;
	int n = 0, no = 0, failures = 0;
	char buf[64];

	lib_init();
	pin_cpu(0);
	s = cache("mc-max", 256, SLAB_ACCOUNT);
	p = create(NULL, "max-p");
	t = create(p, "max-t");
	o = create(p, "max-o");
	ck_assert_int_eq(mem_cgroup_write(t, "memory.max", "1M"), 0);
	ck_assert_uint_eq(mem_cgroup_max(t), max);
	ck_assert_int_gt(mem_cgroup_read(t, "memory.max", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1048576\n");

	/* Allocate until the limit refuses; the other tenant keeps allocating. */
	for (;;) {
		void *obj;

		ck_assert_int_lt(n, (int)ARRAY_SIZE(objs));
		set_active_memcg(t);
		errno = 0;
		obj = kmem_cache_alloc(s, GFP_KERNEL);
		set_active_memcg(NULL);
		ck_assert_uint_le(mem_cgroup_usage(t), max);
		if (!obj) {
			ck_assert_int_eq(errno, ENOMEM);
			break;
		}
		objs[n++] = obj;
		if (n % 16 == 0) {
			set_active_memcg(o);
			others[no] = kmem_cache_alloc(s, GFP_KERNEL);
			set_active_memcg(NULL);
			ck_assert_ptr_nonnull(others[no++]);
		}
	}
	/* Most of a megabyte went into objects before the limit. */
	ck_assert_int_gt(n, (int)(max / 256) * 3 / 4);
	ck_assert_uint_le(mem_cgroup_peak(t), max);
	max_ev = event(t, "max", true);
	oom_ev = event(t, "oom", true);
	ck_assert_int_gt(max_ev, 0);
	ck_assert_int_gt(oom_ev, 0);
	ck_assert_int_ge(event(t, "max", false), max_ev);
	ck_assert_int_ge(event(p, "oom", false), oom_ev);
	ck_assert_int_eq(event(p, "oom", true), 0);
	ck_assert_int_eq(event(o, "max", false), 0);
	ck_assert_int_eq(event(o, "oom", false), 0);
	ck_assert_uint_eq(mem_cgroup_events(t, MEMCG_OOM, true), (unsigned long)oom_ev);

	/* Still full: a kmalloc_large block is refused too, and counted. */
	set_active_memcg(t);
	errno = 0;
	ck_assert_ptr_null(kmalloc(64 * 1024, GFP_KERNEL_ACCOUNT));
	ck_assert_int_eq(errno, ENOMEM);
	set_active_memcg(NULL);
	ck_assert_int_gt(event(t, "oom", true), oom_ev);
	ck_assert_uint_le(mem_cgroup_usage(t), max);

	/* Others are not limited by it. */
	set_active_memcg(o);
	for (int i = 0; i < 256; i++) {
		others[no] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(others[no++]);
	}
	set_active_memcg(NULL);

	/* Free the older half: the slabs it empties make room for a 64 KiB block. */
	for (int i = 0; i < n / 2; i++) {
		kmem_cache_free(s, objs[i]);
		objs[i] = NULL;
	}
	quarantine_flush(NULL);
	set_active_memcg(t);
	{
		void *big = kmalloc(64 * 1024, GFP_KERNEL_ACCOUNT);

		ck_assert_ptr_nonnull(big);
		ck_assert_uint_le(mem_cgroup_usage(t), max);
		kfree(big);
	}
	/* Fill again to the limit. */
	for (int i = 0; i < n / 2; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_uint_le(mem_cgroup_usage(t), max);
		if (!objs[i]) {
			ck_assert_int_eq(errno, ENOMEM);
			failures++;
		}
	}
	while (failures == 0) {
		ck_assert_int_lt(n, (int)ARRAY_SIZE(objs));
		objs[n] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_uint_le(mem_cgroup_usage(t), max);
		if (!objs[n])
			failures++;
		else
			n++;
	}

	/* __GFP_NOFAIL goes past the limit: a max event, no oom. */
	max_ev = event(t, "max", true);
	oom_ev = event(t, "oom", true);
	for (int i = 0; mem_cgroup_usage(t) <= max; i++) {
		ck_assert_int_lt(i, 4096);
		ck_assert_int_lt(n, (int)ARRAY_SIZE(objs));
		objs[n] = kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOFAIL);
		ck_assert_ptr_nonnull(objs[n++]);
	}
	{
		void *big = kmalloc(64 * 1024, GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);

		ck_assert_ptr_nonnull(big);
		ck_assert_uint_gt(mem_cgroup_usage(t), max);
		kfree(big);
	}
	set_active_memcg(NULL);
	ck_assert_uint_gt(mem_cgroup_usage(t), max);
	ck_assert_int_gt(event(t, "max", true), max_ev);
	ck_assert_int_eq(event(t, "oom", true), oom_ev);

	for (int i = 0; i < n; i++)
		kmem_cache_free(s, objs[i]);
	for (int i = 0; i < no; i++)
		kmem_cache_free(s, others[i]);
	quarantine_flush(NULL);
	ck_assert_int_eq(kmem_cache_shrink(child_of(s, t)), 0);
	ck_assert_int_eq(kmem_cache_shrink(child_of(s, o)), 0);
	/* The 64 KiB blocks came from kmalloc-cg-64k: its child keeps one cached until shrunk. */
	ck_assert_int_eq(kmem_cache_shrink(uslab_cache_find("kmalloc-cg-64k")), 0);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(t), 0);
	ck_assert_uint_eq(cur_pages(p), 0);
	validate_family(s);
}
END_TEST

/* ---- a hundred tenants ------------------------------------------------------------ */

#define HT_TENANTS 100
#define HT_THREADS 4
#define HT_A 100
#define HT_B 50
#define HT_C 20
#define HT_K 15

/* Objects one thread allocated for one tenant. */
struct ht_objs {
	void *a[HT_A], *b[HT_B], *c[HT_C], *k[HT_K];
};

static struct {
	struct kmem_cache *a, *b, *c;
	struct mem_cgroup *tenants[HT_TENANTS];
	struct ht_objs objs[HT_TENANTS][2]; /* [tenant][thread slot] */
	unsigned long large[HT_TENANTS][2];
	int phase; /* 0: allocate, 1: free odd tenants, 2: free even tenants */
} ht;

static const size_t ht_ksizes[3] = { 96, 1024, 20000 };

/* Tenant i is served by threads i % 2 and i % 2 + 2; slot = thread / 2. */
static void *ht_thread(void *arg)
{
	int tid = (int)(intptr_t)arg, slot = tid / 2;

	for (int i = tid % 2; i < HT_TENANTS; i += 2) {
		struct ht_objs *o = &ht.objs[i][slot];
		uint32_t tag = (uint32_t)(i * 4 + slot);

		if (ht.phase == 0) {
			/* Half the threads attach, half set the active tenant. */
			if (tid < 2)
				ck_assert_int_eq(mem_cgroup_attach_thread(ht.tenants[i]), 0);
			else
				set_active_memcg(ht.tenants[i]);
			for (int j = 0; j < HT_A; j++) {
				o->a[j] = kmem_cache_alloc(ht.a, GFP_KERNEL);
				ck_assert_ptr_nonnull(o->a[j]);
				pattern_fill(o->a[j], tag, 48);
			}
			for (int j = 0; j < HT_B; j++)
				ck_assert_ptr_nonnull(o->b[j] = kmem_cache_alloc(ht.b, GFP_KERNEL));
			for (int j = 0; j < HT_C; j++) {
				o->c[j] = kmem_cache_alloc(ht.c, GFP_KERNEL);
				ck_assert_ptr_nonnull(o->c[j]);
				pattern_fill(o->c[j], tag, 2048);
			}
			for (int j = 0; j < HT_K; j++) {
				size_t size = ht_ksizes[j % 3];

				o->k[j] = kmalloc(size, GFP_KERNEL_ACCOUNT);
				ck_assert_ptr_nonnull(o->k[j]);
				memset(o->k[j], 0x5a, size);
				ht.large[i][slot] += large_pages(size);
			}
			if (tid >= 2)
				set_active_memcg(NULL);
			continue;
		}
		if ((ht.phase == 1) != (i % 2 == 1))
			continue;
		/* Frees while another tenant (phase 1) or the root (phase 2) is active. */
		set_active_memcg(ht.phase == 1 ? ht.tenants[(i + 1) % HT_TENANTS] : root_mem_cgroup);
		for (int j = 0; j < HT_A; j++) {
			ck_assert(pattern_check(o->a[j], tag, 48));
			kmem_cache_free(ht.a, o->a[j]);
		}
		for (int j = 0; j < HT_B; j++)
			kmem_cache_free(ht.b, o->b[j]);
		for (int j = 0; j < HT_C; j++) {
			ck_assert(pattern_check(o->c[j], tag, 2048));
			kmem_cache_free(ht.c, o->c[j]);
		}
		for (int j = 0; j < HT_K; j++)
			kfree(o->k[j]);
		set_active_memcg(NULL);
	}
	if (tid < 2)
		ck_assert_int_eq(mem_cgroup_attach_thread(NULL), 0);
	return NULL;
}

static void ht_run_phase(int phase)
{
	pthread_t th[HT_THREADS];

	ht.phase = phase;
	for (int i = 0; i < HT_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, ht_thread, (void *)(intptr_t)i), 0);
	for (int i = 0; i < HT_THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
}

START_TEST(test_hundred_tenants_fill_free_destroy)
{
	struct kmem_cache *roots[6];
	static char names[HT_TENANTS][6][200];
	struct mem_cgroup *p;
	void *own[64];
	unsigned long own_pages, sum = 0;
	long rss0, rss1, rss2;

	lib_init();
	ht.a = cache("mc-h-a", 48, SLAB_ACCOUNT);
	ht.b = cache("mc-h-b", 600, SLAB_ACCOUNT | SLAB_RECLAIM_ACCOUNT);
	ht.c = cache("mc-h-c", 2048, SLAB_ACCOUNT);
	roots[0] = ht.a, roots[1] = ht.b, roots[2] = ht.c;
	roots[3] = uslab_cache_find("kmalloc-cg-96");
	roots[4] = uslab_cache_find("kmalloc-cg-1024");
	roots[5] = uslab_cache_find("kmalloc-cg-32k"); /* the 20000-byte blocks */
	ck_assert_ptr_nonnull(roots[3]);
	ck_assert_ptr_nonnull(roots[4]);
	ck_assert_ptr_nonnull(roots[5]);
	p = create(NULL, "hundred");

	/* The parent's own level: a few objects of its own. */
	set_active_memcg(p);
	for (int i = 0; i < 64; i++)
		ck_assert_ptr_nonnull(own[i] = kmem_cache_alloc(i % 2 ? ht.a : ht.c, GFP_KERNEL));
	set_active_memcg(NULL);
	memcg_drain_all_stocks();
	own_pages = cur_pages(p);
	ck_assert_uint_eq(own_pages, children_pages(roots, 6, p));
	ck_assert_uint_gt(own_pages, 0);

	for (int i = 0; i < HT_TENANTS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "h%d", i);
		ht.tenants[i] = create(p, name);
	}
	ck_assert_int_eq(read_key(p, "cgroup.stat", "nr_descendants"), HT_TENANTS);
	rss0 = statm_resident();

	ht_run_phase(0);

	rss1 = statm_resident();
	for (int i = 0; i < HT_TENANTS; i++) {
		unsigned long expect = children_pages(roots, 6, ht.tenants[i]) + ht.large[i][0] +
				       ht.large[i][1];

		sum += expect;
		for (int c = 0; c < 6; c++) {
			child_name(roots[c], ht.tenants[i], names[i][c], sizeof(names[i][c]));
			ck_assert_msg(slabinfo_has(names[i][c]), "%s not in slabinfo", names[i][c]);
		}
		check_within_stock(ht.tenants[i], expect);
		ck_assert_int_eq(read_key(ht.tenants[i], "memory.stat", "kmalloc_large"),
				 (long)((ht.large[i][0] + ht.large[i][1]) * PG));
		ck_assert_int_eq(read_key(ht.tenants[i], "memory.stat", "slab"),
				 (long)(children_pages(roots, 6, ht.tenants[i]) * PG));
	}
	check_within_stock(p, own_pages + sum);
	memcg_drain_all_stocks();
	for (int i = 0; i < HT_TENANTS; i++)
		ck_assert_uint_eq(cur_pages(ht.tenants[i]), children_pages(roots, 6, ht.tenants[i]) +
								    ht.large[i][0] + ht.large[i][1]);
	ck_assert_uint_eq(cur_pages(p), own_pages + sum);
	ck_assert_msg(rss1 - rss0 > (long)(sum / 2), "RSS grew by %ld pages for %lu charged",
		      rss1 - rss0, sum);
	for (int c = 0; c < 6; c++)
		validate_family(roots[c]);

	/* Odd tenants free first, then every tenant goes, then the even ones free. */
	ht_run_phase(1);
	for (int i = 0; i < HT_TENANTS; i++)
		ck_assert_int_eq(mem_cgroup_destroy(ht.tenants[i]), 0);
	ck_assert_int_eq(read_key(p, "cgroup.stat", "nr_descendants"), 0);
	ht_run_phase(2);
	settle();

	ck_assert_int_eq(read_key(p, "cgroup.stat", "nr_dying_descendants"), 0);
	for (int i = 0; i < HT_TENANTS; i++)
		for (int c = 0; c < 6; c++) {
			ck_assert_msg(!slabinfo_has(names[i][c]), "%s still in slabinfo", names[i][c]);
			ck_assert_ptr_null(uslab_cache_find(names[i][c]));
		}
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(p), own_pages);
	ck_assert_uint_eq(cur_pages(p), children_pages(roots, 6, p));
	ck_assert_int_eq(read_key(p, "memory.stat", "kmalloc_large"), 0);
	ck_assert_int_eq(read_key(p, "memory.stat", "slab"), (long)(own_pages * PG));
	/* Memory goes back to the OS after the decay period, or at once on a trim. */
	uslab_trim();
	rss2 = statm_resident();
	/*
	 * Sanitizer runtimes keep freed malloc memory (the cache structures) and
	 * shadow resident: measured in plain builds only.
	 */
	if (!TEST_UNDER_SANITIZER)
		ck_assert_msg(rss2 < rss1 - (rss1 - rss0) / 2, "RSS %ld -> %ld -> %ld pages", rss0,
			      rss1, rss2);

	for (int i = 0; i < 64; i++)
		kmem_cache_free(i % 2 ? ht.a : ht.c, own[i]);
	for (int c = 0; c < 6; c++)
		validate_family(roots[c]);
	ck_assert_int_eq(mem_cgroup_destroy(p), 0);
	settle();
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 0);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(root_mem_cgroup), 0);
	ck_assert_int_eq(slabinfo_children("mc-h-"), 0);
	for (int c = 0; c < 3; c++)
		ck_assert_int_eq(uslab_cache_destroy(roots[c]), 0);
}
END_TEST

/* ---- destroying a root cache -------------------------------------------------------- */

START_TEST(test_root_destroy_busy_while_child_has_objects)
{
	struct stderr_capture cap;
	struct kmem_cache *s, *c1, *c2;
	struct mem_cgroup *t1, *t2;
	void *objs[50], *root_obj;
	char n1[200], n2[200], *text;
	int rc;

	lib_init();
	pin_cpu(0);
	s = cache("mc-busy", 128, SLAB_ACCOUNT);
	t1 = create(NULL, "busy1");
	t2 = create(NULL, "busy2");
	set_active_memcg(t1);
	for (int i = 0; i < 50; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(objs[i]);
		pattern_fill(objs[i], (uint32_t)i, 128);
	}
	set_active_memcg(t2);
	kmem_cache_free(s, kmem_cache_alloc(s, GFP_KERNEL)); /* a child without objects */
	set_active_memcg(NULL);
	c1 = child_of(s, t1);
	c2 = child_of(s, t2);
	ck_assert_ptr_nonnull(c1);
	ck_assert_ptr_nonnull(c2);
	child_name(s, t1, n1, sizeof(n1));
	child_name(s, t2, n2, sizeof(n2));

	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	rc = uslab_cache_destroy(s);
	text = stderr_capture_end(&cap);
	ck_assert_int_eq(rc, -EBUSY);
	ck_assert_msg(strstr(text, "kmem_cache_destroy mc-busy: Slab cache still has objects"),
		      "report: %s", text);
	free(text);

	/* Every cache is still there and usable, as a tenant and as the root. */
	ck_assert_ptr_eq(uslab_cache_find("mc-busy"), s);
	ck_assert_ptr_eq(child_of(s, t1), c1);
	ck_assert_ptr_eq(child_of(s, t2), c2);
	ck_assert(slabinfo_has(n1) && slabinfo_has(n2));
	for (int i = 0; i < 50; i++)
		ck_assert(pattern_check(objs[i], (uint32_t)i, 128));
	VALIDATE(s);
	VALIDATE(c1);
	VALIDATE(c2);
	{
		void *a, *b, *r;

		set_active_memcg(t1);
		a = kmem_cache_alloc(s, GFP_KERNEL);
		set_active_memcg(t2);
		b = kmem_cache_alloc(s, GFP_KERNEL);
		set_active_memcg(NULL);
		r = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_eq(uslab_obj_cache(a), c1);
		ck_assert_ptr_eq(uslab_obj_cache(b), c2);
		ck_assert_ptr_eq(uslab_obj_cache(r), s);
		kmem_cache_free(s, a);
		kmem_cache_free(s, b);
		kmem_cache_free(s, r);
	}
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(t1), slab_pages(c1));
	ck_assert_uint_eq(cur_pages(t2), slab_pages(c2));
	validate_family(s);

	/* The root itself busy, the children empty: still -EBUSY, nothing lost. */
	for (int i = 0; i < 50; i++)
		kmem_cache_free(s, objs[i]);
	root_obj = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_eq(uslab_obj_cache(root_obj), s);
	quarantine_flush(NULL);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	rc = uslab_cache_destroy(s);
	free(stderr_capture_end(&cap));
	ck_assert_int_eq(rc, -EBUSY);
	set_active_memcg(t1);
	objs[0] = kmem_cache_alloc(s, GFP_KERNEL);
	set_active_memcg(NULL);
	ck_assert_ptr_eq(uslab_obj_cache(objs[0]), c1);
	kmem_cache_free(s, objs[0]);
	kmem_cache_free(s, root_obj);
	validate_family(s);

	/* Empty everywhere: destroyed, children with it, charges gone. */
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	ck_assert_ptr_null(uslab_cache_find("mc-busy"));
	ck_assert_ptr_null(uslab_cache_find(n1));
	ck_assert_ptr_null(uslab_cache_find(n2));
	ck_assert(!slabinfo_has(n1) && !slabinfo_has(n2) && !slabinfo_has("mc-busy"));
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(t1), 0);
	ck_assert_uint_eq(cur_pages(t2), 0);
	ck_assert_int_eq(read_key(t1, "memory.stat", "slab"), 0);
	ck_assert_int_eq(read_key(t1, "memory.stat", "slab.mc-busy"), -1);
}
END_TEST

/* ---- a tenant going offline with live objects -------------------------------------- */

struct free_job {
	struct kmem_cache *s;
	void **objs;
	int n;
	struct mem_cgroup *active;
};

static void *free_thread(void *arg)
{
	struct free_job *job = arg;

	set_active_memcg(job->active);
	for (int i = 0; i < job->n; i++)
		kmem_cache_free(job->s, job->objs[i]);
	set_active_memcg(NULL);
	return NULL;
}

START_TEST(test_offline_reparents_and_frees_child_with_last_object)
{
	struct kmem_cache *s, *s2, *ct, *cp;
	struct mem_cgroup *p, *t, *u, *t2;
	void *objs[300], *objs2[20], *q, *q2, *r2;
	char nt[200], nt2[200], nt2b[200];
	unsigned long p_before, t_pages;
	struct stderr_capture cap;
	pthread_t th;
	struct free_job job;

	lib_init();
	pin_cpu(0);
	s = cache("mc-off", 200, SLAB_ACCOUNT);
	s2 = cache("mc-off2", 64, SLAB_ACCOUNT);
	p = create(NULL, "off-p");
	t = create(p, "off-t");
	u = create(p, "off-u");

	/* The parent has a child of its own before the offline. */
	set_active_memcg(p);
	q = kmem_cache_alloc(s, GFP_KERNEL);
	set_active_memcg(NULL);
	cp = uslab_obj_cache(q);
	ck_assert_ptr_eq(cp, child_of(s, p));
	ck_assert_int_eq(mem_cgroup_attach_thread(t), 0);
	for (int i = 0; i < 300; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(objs[i]);
		pattern_fill(objs[i], 7, 200);
	}
	for (int i = 0; i < 20; i++)
		ck_assert_ptr_nonnull(objs2[i] = kmem_cache_alloc(s2, GFP_KERNEL));
	ct = child_of(s, t);
	ck_assert_ptr_nonnull(ct);
	child_name(s, t, nt, sizeof(nt));
	child_name(s2, t, nt2, sizeof(nt2));
	/* Exact numbers: no free slab or cached object that offline would release. */
	ck_assert_int_eq(kmem_cache_shrink(ct), 1);
	ck_assert_int_eq(kmem_cache_shrink(child_of(s2, t)), 1);
	ck_assert_int_eq(kmem_cache_shrink(cp), 1);
	memcg_drain_all_stocks();
	t_pages = cur_pages(t);
	p_before = cur_pages(p);
	ck_assert_uint_eq(t_pages, slab_pages(ct) + slab_pages(child_of(s2, t)));
	ck_assert_uint_eq(p_before, t_pages + slab_pages(cp));

	mem_cgroup_get(t);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
	ck_assert(!mem_cgroup_online(t));
	/* The tenant's children are deactivated, and only they. */
	ck_assert_msg(__atomic_load_n(&ct->memcg_params.dying, __ATOMIC_ACQUIRE),
		      "%s not deactivated by its tenant's offline", nt);
	ck_assert_msg(!__atomic_load_n(&cp->memcg_params.dying, __ATOMIC_ACQUIRE),
		      "%s (the parent's) deactivated by a child's offline", uslab_cache_name(cp));

	/* Charges and statistics moved up; the dying tenant reads 0. */
	ck_assert_uint_eq(cur_pages(t), 0);
	ck_assert_int_eq(read_key(t, "memory.stat", "slab"), 0);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(p), p_before);
	ck_assert_int_eq(read_key(p, "memory.stat", "slab"), (long)(p_before * PG));
	ck_assert_int_eq(read_key(p, "cgroup.stat", "nr_dying_descendants"), 1);

	/* The child stays listed while it has objects, and is consistent. */
	ck_assert_ptr_eq(uslab_cache_find(nt), ct);
	ck_assert(slabinfo_has(nt));
	VALIDATE(ct);
	for (int i = 0; i < 300; i++)
		ck_assert(pattern_check(objs[i], 7, 200));

	/* New allocations of the tenant's thread go to the parent's child. */
	q2 = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_nonnull(q2);
	ck_assert_ptr_eq(uslab_obj_cache(q2), cp);
	kmem_cache_free(s, q2);
	set_active_memcg(t); /* the same when it is the active tenant (we hold a reference) */
	q2 = kmem_cache_alloc(s, GFP_KERNEL);
	set_active_memcg(NULL);
	ck_assert_ptr_eq(uslab_obj_cache(q2), cp);
	ck_assert_uint_eq(cur_pages(t), 0);

	/* A new tenant (it may inherit the kmem id) gets a child of its own. */
	t2 = create(p, "off-t2");
	set_active_memcg(t2);
	r2 = kmem_cache_alloc(s, GFP_KERNEL);
	set_active_memcg(NULL);
	ck_assert_ptr_nonnull(r2);
	child_name(s, t2, nt2b, sizeof(nt2b));
	ck_assert_msg(uslab_obj_cache(r2) != ct, "new tenant %s allocates into %s",
		      mem_cgroup_name(t2), nt);
	ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(r2)), nt2b);
	ck_assert_uint_gt(cur_pages(t2), 0);
	kmem_cache_free(s, r2);
	ck_assert_int_eq(kmem_cache_shrink(child_of(s, t2)), 0);
	ck_assert_int_eq(mem_cgroup_destroy(t2), 0);

	/* A root destroyed while a dying child holds objects: -EBUSY, all kept. */
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(uslab_cache_destroy(s2), -EBUSY);
	free(stderr_capture_end(&cap));
	ck_assert_ptr_nonnull(uslab_cache_find(nt2));
	VALIDATE(uslab_cache_find(nt2));

	/* Frees of the old objects work whatever tenant the freeing thread has. */
	ck_assert_int_eq(mem_cgroup_attach_thread(NULL), 0);
	set_active_memcg(u);
	for (int i = 0; i < 100; i++)
		kmem_cache_free(s, objs[i]);
	set_active_memcg(root_mem_cgroup);
	for (int i = 100; i < 200; i++)
		kmem_cache_free(s, objs[i]);
	set_active_memcg(NULL);
	job = (struct free_job){ .s = s, .objs = objs + 200, .n = 99, .active = u };
	ck_assert_int_eq(pthread_create(&th, NULL, free_thread, &job), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	quarantine_flush(NULL);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(p), slab_pages(ct) + slab_pages(cp) +
					     slab_pages(uslab_cache_find(nt2)));
	ck_assert_uint_eq(slab_pages(ct), 1); /* one object left: one slab, nothing cached */
	kvfree_rcu_barrier();
	ck_assert_ptr_eq(uslab_cache_find(nt), ct); /* not released while it has an object */
	VALIDATE(ct);

	/* The last object goes: the child is released after a grace period. */
	kmem_cache_free(s, objs[299]);
	settle();
	ck_assert_ptr_null(uslab_cache_find(nt));
	ck_assert(!slabinfo_has(nt));
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(p), slab_pages(cp) + slab_pages(uslab_cache_find(nt2)));

	/* The busy root destroy succeeds once its dying child is empty. */
	for (int i = 0; i < 20; i++)
		kmem_cache_free(s2, objs2[i]);
	quarantine_flush(NULL);
	ck_assert_int_eq(uslab_cache_destroy(s2), 0);
	ck_assert_ptr_null(uslab_cache_find(nt2));
	ck_assert_ptr_null(uslab_cache_find("mc-off2"));

	kmem_cache_free(s, q);
	kmem_cache_free(s, q2);
	quarantine_flush(NULL);
	ck_assert_int_eq(kmem_cache_shrink(cp), 0);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(p), 0);
	ck_assert_int_eq(read_key(p, "memory.stat", "slab"), 0);
	mem_cgroup_put(t);
	ck_assert_int_eq(read_key(p, "cgroup.stat", "nr_dying_descendants"), 0);
	validate_family(s);
}
END_TEST

/*
 * A thread that picked a child just before its tenant went offline (the
 * window memcg_cache_alloc() and memcg_cache_free() cover with an RCU
 * read-side section) allocates into, or frees into the CPU array of, the
 * dying child; once its objects are freed that must not pin the child (and
 * its slab's charge) forever. Replays the two paths' steps around the
 * offline: _i == 0 the allocation, _i == 1 the free.
 */
START_TEST(test_offline_racing_path_does_not_pin_child)
{
	struct kmem_cache *s, *ct;
	struct mem_cgroup *p, *t;
	void *obj, *late = NULL;
	char nt[200];
	int id;

	lib_init();
	pin_cpu(0);
	s = cache("mc-race", 64, SLAB_ACCOUNT);
	p = create(NULL, "race-p");
	t = create(p, "race-t");
	set_active_memcg(t);
	obj = kmem_cache_alloc(s, GFP_KERNEL);
	set_active_memcg(NULL);
	ct = uslab_obj_cache(obj);
	child_name(s, t, nt, sizeof(nt));
	ck_assert_ptr_eq(uslab_cache_find(nt), ct);
	id = memcg_kmem_id(t);

	if (_i == 0) {
		/* memcg_cache_alloc(): read the child under RCU ... */
		slab_rcu_read_lock();
		ck_assert_ptr_eq(__atomic_load_n(&s->memcg_params.children[id], __ATOMIC_ACQUIRE), ct);
		/* ... the tenant goes offline meanwhile ... */
		ck_assert_int_eq(mem_cgroup_destroy(t), 0);
		/* ... and the allocation completes in the child it picked. */
		late = slab_post_alloc(ct, cache_alloc(ct, GFP_KERNEL), GFP_KERNEL, NULL);
		slab_rcu_read_unlock();
		ck_assert_ptr_nonnull(late);
		ck_assert_ptr_eq(uslab_obj_cache(late), ct);
		kmem_cache_free(s, obj);
		kmem_cache_free(s, late);
	} else {
		/* kmem_cache_free() -> memcg_cache_free(): not dying yet ... */
		struct slab *slab = free_check_object(s, obj, "kmem_cache_free", true, NULL);

		if (slab) { /* NULL under ASan: quarantined, released through the dying check */
			slab_rcu_read_lock();
			ck_assert(!__atomic_load_n(&ct->memcg_params.dying, __ATOMIC_ACQUIRE));
			/* ... the tenant goes offline meanwhile ... */
			ck_assert_int_eq(mem_cgroup_destroy(t), 0);
			/* ... and the free completes as for a live child. */
			cache_free(ct, obj, slab);
			slab_rcu_read_unlock();
		} else {
			ck_assert_int_eq(mem_cgroup_destroy(t), 0);
		}
	}
	settle();
	ck_assert_msg(uslab_cache_find(nt) == NULL,
		      "dying child %s outlives its last object (%lu slab pages, %ld objects)", nt,
		      slab_pages(uslab_cache_find(nt)), uslab_cache_leaks(ct, NULL));
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(p), 0);
	validate_family(s);
}
END_TEST

/* ---- isolation ---------------------------------------------------------------------- */

#define ISO_TENANTS 6
#define ISO_ROUNDS 400

struct iso_rec {
	void *obj;
	struct slab *slab;
	int owner; /* tenant index, ISO_TENANTS for the root */
};

static int iso_by_slab(const void *a, const void *b)
{
	const struct iso_rec *x = a, *y = b;

	return x->slab < y->slab ? -1 : x->slab > y->slab ? 1 : (x->obj > y->obj) - (x->obj < y->obj);
}

static int iso_by_obj(const void *a, const void *b)
{
	const struct iso_rec *x = a, *y = b;

	return (x->obj > y->obj) - (x->obj < y->obj);
}

START_TEST(test_isolation_no_slab_shared_between_tenants)
{
	static struct iso_rec recs[2 * ISO_ROUNDS * (ISO_TENANTS + 1)];
	struct kmem_cache *roots[2], *children[2][ISO_TENANTS];
	struct mem_cgroup *t[ISO_TENANTS];
	unsigned long nrec = 0, nslabs = 0, shared = 0, walked = 0, slabs_walked = 0;
	unsigned int seed = 1;

	lib_init();
	pin_cpu(0);
	roots[0] = cache("mc-iso", 40, SLAB_ACCOUNT);
	roots[1] = uslab_cache_find("kmalloc-cg-64");
	for (int i = 0; i < ISO_TENANTS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "iso%d", i);
		t[i] = create(NULL, name);
	}
	/* Interleave tenants (and the root) object by object; free some on the way. */
	for (int r = 0; r < ISO_ROUNDS; r++) {
		for (int i = 0; i <= ISO_TENANTS; i++) {
			set_active_memcg(i < ISO_TENANTS ? t[i] : root_mem_cgroup);
			pin_cpu(r % 2);
			recs[nrec].obj = kmem_cache_alloc(roots[0], GFP_KERNEL);
			recs[nrec].owner = i;
			ck_assert_ptr_nonnull(recs[nrec++].obj);
			recs[nrec].obj = kmalloc(64, GFP_KERNEL_ACCOUNT);
			recs[nrec].owner = i;
			ck_assert_ptr_nonnull(recs[nrec++].obj);
			if (rand_r(&seed) % 5 == 0) {
				/* Freed with some tenant active; its slot may be reused by its owner only. */
				unsigned long victim = (unsigned long)rand_r(&seed) % nrec;

				if (recs[victim].obj) {
					kfree(recs[victim].obj);
					recs[victim].obj = NULL;
				}
			}
		}
	}
	set_active_memcg(NULL);
	pin_cpu(0);
	quarantine_flush(NULL);
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < ISO_TENANTS; i++) {
			children[c][i] = child_of(roots[c], t[i]);
			ck_assert_ptr_nonnull(children[c][i]);
		}

	/* Every live object is in a slab of its owner's child (the root's: the root). */
	{
		unsigned long live = 0;

		for (unsigned long k = 0; k < nrec; k++) {
			struct kmem_cache *c;
			int kind;

			if (!recs[k].obj)
				continue;
			recs[live] = recs[k];
			recs[live].slab = (struct slab *)pagemap_lookup(recs[live].obj);
			ck_assert_ptr_nonnull(recs[live].slab);
			c = recs[live].slab->cache;
			ck_assert_ptr_eq(uslab_obj_cache(recs[live].obj), c);
			kind = (k % 2 == 0) ? 0 : 1;
			if (recs[live].owner == ISO_TENANTS)
				ck_assert_ptr_eq(c, roots[kind]);
			else
				ck_assert_ptr_eq(c, children[kind][recs[live].owner]);
			live++;
		}
		nrec = live;
	}
	qsort(recs, nrec, sizeof(recs[0]), iso_by_slab);
	for (unsigned long k = 0; k < nrec; k++) {
		if (k == 0 || recs[k].slab != recs[k - 1].slab)
			nslabs++;
		else if (recs[k].owner != recs[k - 1].owner)
			shared++;
	}

	/* Walk every child's node lists: each allocated object is one of its tenant's. */
	qsort(recs, nrec, sizeof(recs[0]), iso_by_obj);
	for (int c = 0; c < 2; c++) {
		for (int i = 0; i < ISO_TENANTS; i++) {
			struct kmem_cache *s = children[c][i];

			for (int nid = 0; nid < (int)nr_node_ids; nid++) {
				struct kmem_cache_node *n = s->node[nid];
				struct list_head *lists[3];
				struct slab *slab;

				if (!n)
					continue;
				lists[0] = &n->slabs_full;
				lists[1] = &n->slabs_partial;
				lists[2] = &n->slabs_free;
				umutex_lock(&n->list_lock);
				for (int l = 0; l < 3; l++) {
					list_for_each_entry(slab, lists[l], list) {
						uint8_t *state = slab_obj_state(s, slab);

						ck_assert_ptr_eq(slab->cache, s);
						slabs_walked++;
						for (unsigned int o = 0; o < s->num; o++) {
							struct iso_rec key, *hit;

							if (state[o] != OBJ_ALLOCATED)
								continue;
							key.obj = slab_index_to_obj(s, slab, o);
							hit = bsearch(&key, recs, nrec, sizeof(recs[0]), iso_by_obj);
							ck_assert_msg(hit != NULL, "%s holds an object nobody allocated",
								      s->name);
							if (hit->owner != i)
								shared++;
							walked++;
						}
					}
				}
				umutex_unlock(&n->list_lock);
			}
		}
	}
	printf("isolation check: %lu objects in %lu slabs, %lu shared\n", nrec, nslabs, shared);
	fflush(stdout);
	ck_assert_uint_eq(shared, 0);
	/* Every tenant object was found by the walk, and nothing else. */
	{
		unsigned long tenant_objs = 0;

		for (unsigned long k = 0; k < nrec; k++)
			tenant_objs += recs[k].owner != ISO_TENANTS;
		ck_assert_uint_eq(walked, tenant_objs);
		ck_assert_uint_ge(slabs_walked, 2 * ISO_TENANTS);
	}
	for (unsigned long k = 0; k < nrec; k++)
		kfree(recs[k].obj);
	validate_family(roots[0]);
	validate_family(roots[1]);
}
END_TEST

/* ---- memory.stat -------------------------------------------------------------------- */

struct stat_lines {
	long slab, reclaimable, unreclaimable, large, per_cache_sum;
	int per_cache_lines;
};

static struct stat_lines parse_stat(const char *text)
{
	struct stat_lines st = { -1, -1, -1, -1, 0, 0 };

	for (const char *line = text; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *sp = strchr(line, ' ');
		long v;

		ck_assert_ptr_nonnull(sp);
		v = strtol(sp + 1, NULL, 10);
		ck_assert_int_ge(v, 0);
		if (strncmp(line, "slab ", 5) == 0)
			st.slab = v;
		else if (strncmp(line, "slab_reclaimable ", 17) == 0)
			st.reclaimable = v;
		else if (strncmp(line, "slab_unreclaimable ", 19) == 0)
			st.unreclaimable = v;
		else if (strncmp(line, "kmalloc_large ", 14) == 0)
			st.large = v;
		else if (strncmp(line, "slab.", 5) == 0) {
			st.per_cache_sum += v;
			st.per_cache_lines++;
		}
	}
	return st;
}

START_TEST(test_memory_stat_lines_consistent)
{
	struct kmem_cache *rc, *uc, *km;
	struct mem_cgroup *p, *l;
	void *objs[400];
	int n = 0;
	char text[8192];
	struct stat_lines st;

	lib_init();
	pin_cpu(0);
	rc = cache("mc-stat-rcl", 300, SLAB_ACCOUNT | SLAB_RECLAIM_ACCOUNT);
	uc = cache("mc-stat-unr", 1000, SLAB_ACCOUNT);
	km = uslab_cache_find("kmalloc-cg-512");
	p = create(NULL, "stat-p");
	l = create(p, "stat-leaf");
	set_active_memcg(l);
	for (int i = 0; i < 120; i++)
		ck_assert_ptr_nonnull(objs[n++] = kmem_cache_alloc(rc, GFP_KERNEL));
	for (int i = 0; i < 60; i++)
		ck_assert_ptr_nonnull(objs[n++] = kmem_cache_alloc(uc, GFP_KERNEL));
	for (int i = 0; i < 50; i++)
		ck_assert_ptr_nonnull(objs[n++] = kmalloc(400, GFP_KERNEL_ACCOUNT));
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(objs[n++] = kvmalloc(LARGE_SIZE, GFP_KERNEL_ACCOUNT));
	set_active_memcg(NULL);

	ck_assert_int_gt(mem_cgroup_read(l, "memory.stat", text, sizeof(text)), 0);
	printf("memory.stat of %s:\n%s", mem_cgroup_name(l), text);
	fflush(stdout);
	st = parse_stat(text);
	ck_assert_int_eq(st.slab, st.reclaimable + st.unreclaimable);
	ck_assert_int_eq(st.per_cache_sum, st.slab);
	ck_assert_int_eq(st.per_cache_lines, 3);
	ck_assert_int_eq(st.reclaimable, (long)(slab_pages(child_of(rc, l)) * PG));
	ck_assert_int_eq(st.unreclaimable,
			 (long)((slab_pages(child_of(uc, l)) + slab_pages(child_of(km, l))) * PG));
	ck_assert_int_eq(st.large, (long)(3 * large_pages(LARGE_SIZE) * PG));
	ck_assert_int_eq(read_key(l, "memory.stat", "slab.mc-stat-rcl"),
			 (long)(slab_pages(child_of(rc, l)) * PG));
	ck_assert_int_eq(read_key(l, "memory.stat", "slab.mc-stat-unr"),
			 (long)(slab_pages(child_of(uc, l)) * PG));
	ck_assert_int_eq(read_key(l, "memory.stat", "slab.kmalloc-cg-512"),
			 (long)(slab_pages(child_of(km, l)) * PG));
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(l) * PG, (unsigned long)(st.slab + st.large));

	/* The parent's slab counters are hierarchical. */
	ck_assert_int_eq(read_key(p, "memory.stat", "slab"), st.slab);
	ck_assert_int_eq(read_key(p, "memory.stat", "slab_reclaimable"), st.reclaimable);
	ck_assert_int_eq(read_key(p, "memory.stat", "kmalloc_large"), st.large);

	/* -ENOSPC when it does not fit (buffer untouched), the length when measuring. */
	ck_assert_int_eq(mem_cgroup_read(l, "memory.stat", text, 8), -ENOSPC);
	ck_assert_int_eq(mem_cgroup_read(l, "memory.stat", NULL, 0), (ssize_t)strlen(text));

	for (int i = 0; i < n; i++)
		kfree(objs[i]);
	quarantine_flush(NULL);
	st = parse_stat((mem_cgroup_read(l, "memory.stat", text, sizeof(text)), text));
	ck_assert_int_eq(st.large, 0);
	ck_assert_int_eq(st.slab, st.reclaimable + st.unreclaimable);
	ck_assert_int_eq(st.per_cache_sum, st.slab);
	validate_family(rc);
	validate_family(uc);
	validate_family(km);
}
END_TEST

/*
 * memory.stat is hierarchical: a parent's "slab" counts its descendants and
 * what dying descendants left it, so its per-cache lines must add up to it
 * as well.
 */
START_TEST(test_memory_stat_parent_per_cache_lines_cover_subtree)
{
	struct kmem_cache *s;
	struct mem_cgroup *p, *a, *d;
	void *objs[300];
	char text[8192];
	struct stat_lines st;

	lib_init();
	pin_cpu(0);
	s = cache("mc-hstat", 256, SLAB_ACCOUNT);
	p = create(NULL, "hstat-p");
	a = create(p, "hstat-a");
	d = create(p, "hstat-d");
	for (int i = 0; i < 300; i++) {
		set_active_memcg(i % 3 == 0 ? p : i % 3 == 1 ? a : d);
		ck_assert_ptr_nonnull(objs[i] = kmem_cache_alloc(s, GFP_KERNEL));
	}
	set_active_memcg(NULL);
	ck_assert_int_eq(mem_cgroup_destroy(d), 0); /* dying with live objects */

	ck_assert_int_gt(mem_cgroup_read(p, "memory.stat", text, sizeof(text)), 0);
	st = parse_stat(text);
	ck_assert_int_eq(st.slab, st.reclaimable + st.unreclaimable);
	ck_assert_int_gt(st.slab, read_key(a, "memory.stat", "slab"));
	ck_assert_msg(st.per_cache_sum == st.slab,
		      "parent memory.stat: slab.* lines sum to %ld, slab is %ld:\n%s",
		      st.per_cache_sum, st.slab, text);

	for (int i = 0; i < 300; i++)
		kmem_cache_free(s, objs[i]);
	settle();
	validate_family(s);
}
END_TEST

/* ---- tenants churned under allocating threads --------------------------------------- */

#define CH_SLOTS 6
#define CH_ALLOCATORS 3
#define CH_RING 48
#define CH_POOL 256

static struct {
	struct kmem_cache *s;
	struct mem_cgroup *parent;
	int rounds, iters;
	int allocators_running; /* atomic */
	pthread_mutex_t pool_lock;
	void *pool[CH_POOL];
	int pool_n;
	long allocs, failures, frees; /* atomics */
} ch;

struct ch_obj {
	void *p;
	size_t size;
	uint32_t tag;
};

static void ch_free(struct ch_obj *o)
{
	ck_assert(pattern_check(o->p, o->tag, o->size < 64 ? o->size : 64));
	kfree(o->p);
	__atomic_add_fetch(&ch.frees, 1, __ATOMIC_RELAXED);
	o->p = NULL;
}

static void *ch_churn(void *arg)
{
	struct mem_cgroup *slots[CH_SLOTS] = { NULL };

	(void)arg;
	/* At least ch.rounds rounds, and on while the allocators run (bounded). */
	for (int r = 0; r < ch.rounds || __atomic_load_n(&ch.allocators_running, __ATOMIC_ACQUIRE);
	     r++) {
		int i = r % CH_SLOTS;

		ck_assert_int_lt(r, 1000000);
		char name[32];

		if (slots[i])
			ck_assert_int_eq(mem_cgroup_destroy(slots[i]), 0);
		snprintf(name, sizeof(name), "s%d", i);
		slots[i] = create(ch.parent, name);
		if (r % 3 == 0) {
			/* -EBUSY when the allocators already charged it more (a stock batch). */
			int rc = mem_cgroup_write(slots[i], "memory.max", "16K");

			ck_assert_msg(rc == 0 || rc == -EBUSY, "memory.max: %d", rc);
		}
	}
	for (int i = 0; i < CH_SLOTS; i++)
		ck_assert_int_eq(mem_cgroup_destroy(slots[i]), 0);
	return NULL;
}

static void *ch_alloc(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg * 7919u + 1;
	struct ch_obj ring[CH_RING] = { { 0 } };
	uint32_t tag = (uint32_t)(uintptr_t)arg << 24;

	for (int it = 0; it < ch.iters; it++) {
		char path[32];
		struct mem_cgroup *m, *prev;
		struct ch_obj *o = &ring[it % CH_RING];
		unsigned int r = (unsigned int)rand_r(&seed);

		snprintf(path, sizeof(path), "/mc-churn/s%u", r % CH_SLOTS);
		m = mem_cgroup_lookup(path);
		if (!m)
			ck_assert_int_eq(errno, ENOENT);
		prev = set_active_memcg(m);
		if (o->p)
			ch_free(o); /* freed with whatever tenant is active now */
		switch ((r >> 8) % 4) {
		case 0:
		case 1:
			o->size = 96;
			o->p = kmem_cache_alloc(ch.s, GFP_KERNEL);
			break;
		case 2:
			o->size = 64;
			o->p = kmalloc(o->size, GFP_KERNEL_ACCOUNT);
			break;
		default:
			o->size = (r >> 12) % 8 == 0 ? 9000 : 200;
			o->p = kmalloc(o->size, GFP_KERNEL_ACCOUNT);
			break;
		}
		if (o->p) {
			o->tag = ++tag;
			pattern_fill(o->p, o->tag, o->size < 64 ? o->size : 64);
			__atomic_add_fetch(&ch.allocs, 1, __ATOMIC_RELAXED);
		} else {
			ck_assert_int_eq(errno, ENOMEM); /* only a memory.max may refuse */
			__atomic_add_fetch(&ch.failures, 1, __ATOMIC_RELAXED);
		}
		if (m && it % 64 == 0) {
			char buf[8192];

			ck_assert_int_gt(mem_cgroup_read(m, "memory.stat", buf, sizeof(buf)), 0);
		}
		/* Hand some objects to other threads; free some of theirs. */
		if (o->p && (r >> 16) % 8 == 0) {
			pthread_mutex_lock(&ch.pool_lock);
			if (ch.pool_n < CH_POOL) {
				ch.pool[ch.pool_n++] = o->p;
				o->p = NULL;
			}
			pthread_mutex_unlock(&ch.pool_lock);
		} else if ((r >> 16) % 8 == 1) {
			void *victim = NULL;

			pthread_mutex_lock(&ch.pool_lock);
			if (ch.pool_n)
				victim = ch.pool[--ch.pool_n];
			pthread_mutex_unlock(&ch.pool_lock);
			if (victim) {
				kfree(victim);
				__atomic_add_fetch(&ch.frees, 1, __ATOMIC_RELAXED);
			}
		}
		set_active_memcg(prev);
		mem_cgroup_put(m);
	}
	for (int i = 0; i < CH_RING; i++)
		if (ring[i].p)
			ch_free(&ring[i]);
	__atomic_sub_fetch(&ch.allocators_running, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(test_churn_tenants_under_allocating_threads)
{
	struct kmem_cache *roots[4];
	pthread_t churn, alloc[CH_ALLOCATORS];
	struct stat_lines st;
	char text[8192], *rows;
	int left;

	lib_init();
	ch.s = cache("mc-churn", 96, SLAB_ACCOUNT);
	roots[0] = ch.s;
	roots[1] = uslab_cache_find("kmalloc-cg-64");
	roots[2] = uslab_cache_find("kmalloc-cg-256");
	roots[3] = uslab_cache_find("kmalloc-cg-16k"); /* the 9000-byte blocks */
	ch.parent = create(NULL, "mc-churn");
	ch.rounds = TEST_UNDER_SANITIZER ? 100 : 300;
	ch.iters = TEST_UNDER_SANITIZER ? 4000 : 20000;
	ch.allocators_running = CH_ALLOCATORS;
	pthread_mutex_init(&ch.pool_lock, NULL);

	ck_assert_int_eq(pthread_create(&churn, NULL, ch_churn, NULL), 0);
	for (int i = 0; i < CH_ALLOCATORS; i++)
		ck_assert_int_eq(pthread_create(&alloc[i], NULL, ch_alloc, (void *)(uintptr_t)i), 0);
	for (int i = 0; i < CH_ALLOCATORS; i++)
		ck_assert_int_eq(pthread_join(alloc[i], NULL), 0);
	ck_assert_int_eq(pthread_join(churn, NULL), 0);
	for (int i = 0; i < ch.pool_n; i++) {
		kfree(ch.pool[i]);
		ch.frees++;
	}
	ck_assert_int_eq(ch.allocs, ch.frees);
	ck_assert_int_gt(ch.allocs, ch.iters);
	ck_assert_int_gt(ch.failures, 0); /* the 16K limits did refuse, cleanly */

	settle();
	ck_assert_int_eq(read_key(ch.parent, "cgroup.stat", "nr_descendants"), 0);
	ck_assert_int_eq(read_key(ch.parent, "cgroup.stat", "nr_dying_descendants"), 0);
	/* Every tenant is gone, so is every child of theirs: what is left is the parent's. */
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(ch.parent), children_pages(roots, 4, ch.parent));
	ck_assert_int_eq(read_key(ch.parent, "memory.stat", "slab"),
			 (long)(children_pages(roots, 4, ch.parent) * PG));
	ck_assert_int_eq(read_key(ch.parent, "memory.stat", "kmalloc_large"), 0);
	for (int c = 0; c < 4; c++)
		validate_family(roots[c]);

	/* The parent goes too: no child cache, no charge, no statistic left. */
	ck_assert_int_eq(mem_cgroup_destroy(ch.parent), 0);
	settle();
	left = slabinfo_children_rows("mc-churn(", &rows);
	ck_assert_msg(left == 0, "children of mc-churn left:\n%s", rows);
	free(rows);
	left = slabinfo_children_rows("kmalloc-cg-", &rows);
	ck_assert_msg(left == 0, "children of kmalloc-cg-* left:\n%s", rows);
	free(rows);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 0);
	memcg_drain_all_stocks();
	ck_assert_uint_eq(cur_pages(root_mem_cgroup), 0);
	ck_assert_int_gt(mem_cgroup_read(root_mem_cgroup, "memory.stat", text, sizeof(text)), 0);
	st = parse_stat(text);
	ck_assert_int_eq(st.slab, 0);
	ck_assert_int_eq(st.large, 0);
	for (int c = 0; c < 4; c++)
		validate_family(roots[c]);
	ck_assert_int_eq(uslab_cache_destroy(ch.s), 0);
	printf("churn: %ld allocations, %ld refused by memory.max\n", ch.allocs, ch.failures);
}
END_TEST

static Suite *memcg_caches_suite(void)
{
	Suite *s = suite_create("memcg-caches");
	TCase *tc;

	tc = tcase_create("routing");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_routing_names_child_per_tenant);
	suite_add_tcase(s, tc);

	tc = tcase_create("accounting");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_current_equals_slab_pages);
	tcase_add_test(tc, test_max_fails_cleanly_and_frees_make_room);
	tcase_add_test(tc, test_memory_stat_lines_consistent);
	tcase_add_test(tc, test_memory_stat_parent_per_cache_lines_cover_subtree);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hundred_tenants_fill_free_destroy);
	tcase_add_test(tc, test_root_destroy_busy_while_child_has_objects);
	tcase_add_test(tc, test_offline_reparents_and_frees_child_with_last_object);
	tcase_add_loop_test(tc, test_offline_racing_path_does_not_pin_child, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("isolation");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_isolation_no_slab_shared_between_tenants);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_churn_tenants_under_allocating_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(memcg_caches_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
