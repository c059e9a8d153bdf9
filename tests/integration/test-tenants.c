// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/integration/test-tenants.c - tenants seen by an application: only
 * <uslab.h>, linked against the shared libuslab. One end-to-end scenario runs
 * a service with three tenants whose worker threads are attached to them:
 * they fill a SLAB_ACCOUNT cache and accounted kmalloc (kmalloc_large
 * included), the child caches show up in slabinfo as "root(id:tenant)", usage
 * matches the slab pages within the per-CPU charge stock, memory.stat adds
 * up; one tenant hits its memory.max while another keeps allocating on
 * another thread; a tenant goes offline with live objects (its thread then
 * charges the parent, its child cache goes with its last object); destroying
 * the root cache is refused while children hold objects; at the end every
 * child cache is gone and the root tenant's memory.current is exactly 0.
 * A second case interleaves tenants object by object and checks through
 * uslab_obj_cache() that no slab page holds two tenants' objects.
 */
#include <uslab.h>

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/testutil.h"

#define PG 4096ul
#define STOCK_SLACK (64ul * nr_cpu_ids) /* pages a tenant's per-CPU stocks may hold */
#define NSESS 600
#define NBLOB 40
#define SESS_SIZE 256

static void lib_init(void)
{
	struct uslab_config cfg = { .nomerge = true };

	ck_assert_int_eq(uslab_init(&cfg), 0);
}

static struct mem_cgroup *create(struct mem_cgroup *parent, const char *name)
{
	struct mem_cgroup *memcg = mem_cgroup_create(parent, name);

	ck_assert_msg(memcg != NULL, "create %s: %s", name, strerror(errno));
	return memcg;
}

static long read_key(struct mem_cgroup *memcg, const char *file, const char *key)
{
	char buf[8192], *line;
	size_t klen = strlen(key);

	ck_assert_int_gt(mem_cgroup_read(memcg, file, buf, sizeof(buf)), 0);
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtol(line + klen + 1, NULL, 10);
	return -1;
}

static void child_name(const char *root, struct mem_cgroup *memcg, char *buf, size_t len)
{
	snprintf(buf, len, "%s(%u:%s)", root, mem_cgroup_id(memcg), mem_cgroup_name(memcg));
}

static struct kmem_cache *child_of(const char *root, struct mem_cgroup *memcg)
{
	char name[200];

	child_name(root, memcg, name, sizeof(name));
	return uslab_cache_find(name);
}

static unsigned long slab_pages(struct kmem_cache *s)
{
	struct uslab_cache_info info;

	if (!s)
		return 0;
	ck_assert_int_eq(uslab_cache_info(s, NUMA_NO_NODE, &info), 0);
	return info.num_slabs * info.pages_per_slab;
}

static bool slabinfo_has(const char *name)
{
	char *buf = NULL, *line;
	size_t len = 0, n = strlen(name);
	FILE *f = open_memstream(&buf, &len);
	bool found = false;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(uslab_slabinfo(f), 0);
	ck_assert_int_eq(fclose(f), 0);
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			found = true;
	free(buf);
	return found;
}

/* Under ASan freed objects wait in a quarantine; shrinking a root releases them. */
static void flush_quarantine(struct kmem_cache *root)
{
	if (TEST_UNDER_ASAN)
		kmem_cache_shrink(root);
}

static const char *const accounted_roots[] = { "session", "kmalloc-cg-128", "kmalloc-cg-1024",
					       "kmalloc-cg-8192", "kmalloc-cg-16k" };

static void flush_quarantine_all(void)
{
	for (size_t i = 0; i < sizeof(accounted_roots) / sizeof(accounted_roots[0]); i++)
		flush_quarantine(uslab_cache_find(accounted_roots[i]));
}

/* ---- the service scenario ---------------------------------------------------------- */

enum { WEB, DB, BATCH, NTEN };
static const char *const tenant_names[NTEN] = { "web", "db", "batch" };
static const size_t blob_sizes[4] = { 100, 700, 5000, 12000 };

static struct {
	struct kmem_cache *sess;
	struct mem_cgroup *service, *t[NTEN];
	void *sess_objs[NTEN][NSESS];
	void *blobs[NTEN][NBLOB];
	unsigned long large_pages[NTEN];
	/* limit phase */
	void *limited[8192];
	int nlimited;
	void *extra[2000];
	pthread_barrier_t b1, b2;
	void *after_offline;
} svc;

static void *fill_worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	ck_assert_int_eq(mem_cgroup_attach_thread(svc.t[t]), 0);
	for (int i = 0; i < NSESS; i++) {
		svc.sess_objs[t][i] = kmem_cache_alloc(svc.sess, GFP_KERNEL);
		ck_assert_ptr_nonnull(svc.sess_objs[t][i]);
		pattern_fill(svc.sess_objs[t][i], (uint32_t)(t * NSESS + i), SESS_SIZE);
	}
	for (int i = 0; i < NBLOB; i++) {
		size_t size = blob_sizes[i % 4];

		svc.blobs[t][i] = kmalloc(size, GFP_KERNEL_ACCOUNT);
		ck_assert_ptr_nonnull(svc.blobs[t][i]);
		memset(svc.blobs[t][i], t, size);
		if (size > KMALLOC_MAX_CACHE_SIZE)
			svc.large_pages[t] += (size + PG - 1) / PG;
	}
	ck_assert_int_eq(mem_cgroup_attach_thread(NULL), 0);
	return NULL;
}

/* db fills up to its memory.max; usage never goes above it. */
static void *limit_worker(void *arg)
{
	unsigned long max = mem_cgroup_max(svc.t[DB]);

	(void)arg;
	ck_assert_int_eq(mem_cgroup_attach_thread(svc.t[DB]), 0);
	for (;;) {
		void *obj;

		ck_assert_int_lt(svc.nlimited, (int)(sizeof(svc.limited) / sizeof(svc.limited[0])));
		errno = 0;
		obj = kmem_cache_alloc(svc.sess, GFP_KERNEL);
		ck_assert_uint_le(mem_cgroup_usage(svc.t[DB]), max);
		if (!obj) {
			ck_assert_int_eq(errno, ENOMEM);
			break;
		}
		svc.limited[svc.nlimited++] = obj;
	}
	ck_assert_int_eq(mem_cgroup_attach_thread(NULL), 0);
	return NULL;
}

/* web meanwhile: never refused. */
static void *neighbour_worker(void *arg)
{
	(void)arg;
	ck_assert_int_eq(mem_cgroup_attach_thread(svc.t[WEB]), 0);
	for (int i = 0; i < 2000; i++)
		ck_assert_ptr_nonnull(svc.extra[i] = kmem_cache_alloc(svc.sess, GFP_KERNEL));
	ck_assert_int_eq(mem_cgroup_attach_thread(NULL), 0);
	return NULL;
}

/* A thread of batch that keeps running while batch goes offline. */
static void *offline_worker(void *arg)
{
	(void)arg;
	ck_assert_int_eq(mem_cgroup_attach_thread(svc.t[BATCH]), 0);
	pthread_barrier_wait(&svc.b1);
	pthread_barrier_wait(&svc.b2); /* batch is offline now */
	svc.after_offline = kmem_cache_alloc(svc.sess, GFP_KERNEL);
	ck_assert_ptr_nonnull(svc.after_offline);
	return NULL; /* the attachment's reference goes with the thread */
}

static void run_threads(void *(*fn[])(void *), int n)
{
	pthread_t th[8];

	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, fn[i], (void *)(intptr_t)i), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
}

static void check_stat(struct mem_cgroup *memcg, unsigned long large_pages)
{
	char text[8192];
	long slab = -1, rcl = -1, unr = -1, large = -1, per_cache = 0;

	ck_assert_int_gt(mem_cgroup_read(memcg, "memory.stat", text, sizeof(text)), 0);
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		long v = strtol(strchr(line, ' ') + 1, NULL, 10);

		if (strncmp(line, "slab ", 5) == 0)
			slab = v;
		else if (strncmp(line, "slab_reclaimable ", 17) == 0)
			rcl = v;
		else if (strncmp(line, "slab_unreclaimable ", 19) == 0)
			unr = v;
		else if (strncmp(line, "kmalloc_large ", 14) == 0)
			large = v;
		else if (strncmp(line, "slab.", 5) == 0)
			per_cache += v;
	}
	ck_assert_int_ge(slab, 0);
	ck_assert_int_eq(slab, rcl + unr);
	ck_assert_int_eq(per_cache, slab);
	ck_assert_int_eq(large, (long)(large_pages * PG));
	ck_assert_int_eq(read_key(memcg, "memory.stat", "slab.session"),
			 (long)(slab_pages(child_of("session", memcg)) * PG));
}

/* Pages of @memcg's children of session and kmalloc-cg-*. */
static unsigned long tenant_slab_pages(struct mem_cgroup *memcg)
{
	unsigned long pages = 0;

	for (size_t i = 0; i < sizeof(accounted_roots) / sizeof(accounted_roots[0]); i++)
		pages += slab_pages(child_of(accounted_roots[i], memcg));
	return pages;
}

START_TEST(test_service_tenants_end_to_end)
{
	void *(*fill[NTEN])(void *) = { fill_worker, fill_worker, fill_worker };
	void *(*limit[2])(void *) = { limit_worker, neighbour_worker };
	struct kmem_cache *batch_child, *service_child;
	char name[200], batch_name[200], names[NTEN][200];
	unsigned long sum = 0;
	struct stderr_capture cap;
	pthread_t th;
	char *text;

	lib_init();
	svc.sess = kmem_cache_create("session", SESS_SIZE, 0, SLAB_ACCOUNT, NULL);
	ck_assert_ptr_nonnull(svc.sess);
	svc.service = create(NULL, "service");
	for (int t = 0; t < NTEN; t++)
		svc.t[t] = create(svc.service, tenant_names[t]);
	ck_assert_int_eq(read_key(svc.service, "cgroup.stat", "nr_descendants"), NTEN);

	/* Fill: each tenant's worker thread, attached to it. */
	run_threads(fill, NTEN);
	for (int t = 0; t < NTEN; t++) {
		unsigned long expect, cur = mem_cgroup_usage(svc.t[t]) / PG;

		child_name("session", svc.t[t], names[t], sizeof(names[t]));
		ck_assert_msg(slabinfo_has(names[t]), "%s missing from slabinfo", names[t]);
		ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(svc.sess_objs[t][0])), names[t]);
		ck_assert_int_eq(uslab_cache_validate(uslab_cache_find(names[t])), 0);
		expect = tenant_slab_pages(svc.t[t]) + svc.large_pages[t];
		ck_assert_msg(cur >= expect && cur <= expect + STOCK_SLACK,
			      "%s: memory.current %lu pages, slabs + large %lu", tenant_names[t], cur,
			      expect);
		check_stat(svc.t[t], svc.large_pages[t]);
		sum += expect;
	}
	{
		unsigned long cur = mem_cgroup_usage(svc.service) / PG;

		ck_assert_msg(cur >= sum && cur <= sum + STOCK_SLACK, "service: %lu pages, sum %lu", cur,
			      sum);
		ck_assert_int_eq(read_key(svc.service, "memory.stat", "slab"),
				 read_key(svc.t[WEB], "memory.stat", "slab") +
					 read_key(svc.t[DB], "memory.stat", "slab") +
					 read_key(svc.t[BATCH], "memory.stat", "slab"));
	}
	ck_assert_int_eq(uslab_cache_validate(svc.sess), 0);

	/* db at its memory.max while web allocates on another thread. */
	ck_assert_int_eq(mem_cgroup_write(svc.t[DB], "memory.max", "512K\n"), 0);
	run_threads(limit, 2);
	ck_assert_int_gt(read_key(svc.t[DB], "memory.events.local", "max"), 0);
	ck_assert_int_gt(read_key(svc.t[DB], "memory.events.local", "oom"), 0);
	ck_assert_int_ge(read_key(svc.service, "memory.events", "oom"),
			 read_key(svc.t[DB], "memory.events", "oom"));
	ck_assert_int_eq(read_key(svc.service, "memory.events.local", "oom"), 0);
	ck_assert_int_eq(read_key(svc.t[WEB], "memory.events", "max"), 0);
	for (int i = 0; i < svc.nlimited; i++)
		kmem_cache_free(svc.sess, svc.limited[i]);
	for (int i = 0; i < 2000; i++)
		kmem_cache_free(svc.sess, svc.extra[i]);
	flush_quarantine(svc.sess);
	/* Its frees made room again. */
	set_active_memcg(svc.t[DB]);
	svc.limited[0] = kmem_cache_alloc(svc.sess, GFP_KERNEL);
	set_active_memcg(NULL);
	ck_assert_ptr_nonnull(svc.limited[0]);
	kmem_cache_free(svc.sess, svc.limited[0]);
	ck_assert_int_eq(mem_cgroup_write(svc.t[DB], "memory.max", "max"), 0);

	/* batch goes offline while its thread runs and its objects live. */
	batch_child = child_of("session", svc.t[BATCH]);
	strcpy(batch_name, names[BATCH]);
	ck_assert_int_eq(pthread_barrier_init(&svc.b1, NULL, 2), 0);
	ck_assert_int_eq(pthread_barrier_init(&svc.b2, NULL, 2), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, offline_worker, NULL), 0);
	pthread_barrier_wait(&svc.b1);
	ck_assert_int_eq(mem_cgroup_destroy(svc.t[BATCH]), 0);
	pthread_barrier_wait(&svc.b2);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	pthread_barrier_destroy(&svc.b1);
	pthread_barrier_destroy(&svc.b2);
	/* Its thread now charges the parent, through the parent's child. */
	service_child = child_of("session", svc.service);
	ck_assert_ptr_nonnull(service_child);
	ck_assert_ptr_eq(uslab_obj_cache(svc.after_offline), service_child);
	/* The child stays, dying, while it has objects; a new tenant does not get it. */
	ck_assert_ptr_eq(uslab_cache_find(batch_name), batch_child);
	{
		struct mem_cgroup *late = create(svc.service, "late");
		void *obj;

		set_active_memcg(late);
		obj = kmem_cache_alloc(svc.sess, GFP_KERNEL);
		set_active_memcg(NULL);
		child_name("session", late, name, sizeof(name));
		ck_assert_msg(uslab_obj_cache(obj) != batch_child, "tenant late allocates into %s",
			      batch_name);
		ck_assert_str_eq(uslab_cache_name(uslab_obj_cache(obj)), name);
		ck_assert_uint_gt(mem_cgroup_usage(late), 0);
		kmem_cache_free(svc.sess, obj);
		ck_assert_int_eq(mem_cgroup_destroy(late), 0);
	}
	ck_assert_int_eq(read_key(svc.service, "cgroup.stat", "nr_descendants"), NTEN - 1);
	ck_assert_uint_ge(mem_cgroup_usage(svc.service) / PG,
			  slab_pages(batch_child) + slab_pages(service_child));
	for (int i = 0; i < NSESS; i++) {
		ck_assert(pattern_check(svc.sess_objs[BATCH][i], (uint32_t)(BATCH * NSESS + i), SESS_SIZE));
		kmem_cache_free(svc.sess, svc.sess_objs[BATCH][i]);
	}
	for (int i = 0; i < NBLOB; i++)
		kfree(svc.blobs[BATCH][i]);
	flush_quarantine_all();
	kvfree_rcu_barrier();
	ck_assert_ptr_null(uslab_cache_find(batch_name));
	ck_assert(!slabinfo_has(batch_name));

	/* The root cache cannot go while web's and db's children hold objects. */
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(uslab_cache_destroy(svc.sess), -EBUSY);
	text = stderr_capture_end(&cap);
	ck_assert_ptr_nonnull(strstr(text, "kmem_cache_destroy session: Slab cache still has objects"));
	free(text);
	for (int t = WEB; t <= DB; t++) {
		struct kmem_cache *c = child_of("session", svc.t[t]);
		void *obj;

		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(uslab_cache_validate(c), 0);
		set_active_memcg(svc.t[t]);
		obj = kmem_cache_alloc(svc.sess, GFP_KERNEL);
		set_active_memcg(NULL);
		ck_assert_ptr_eq(uslab_obj_cache(obj), c);
		kmem_cache_free(svc.sess, obj);
	}
	ck_assert_int_eq(uslab_cache_validate(svc.sess), 0);

	/* Everything goes. */
	for (int t = WEB; t <= DB; t++) {
		for (int i = 0; i < NSESS; i++) {
			ck_assert(pattern_check(svc.sess_objs[t][i], (uint32_t)(t * NSESS + i), SESS_SIZE));
			kmem_cache_free(svc.sess, svc.sess_objs[t][i]);
		}
		for (int i = 0; i < NBLOB; i++)
			kfree(svc.blobs[t][i]);
	}
	kmem_cache_free(svc.sess, svc.after_offline);
	flush_quarantine_all();
	ck_assert_int_eq(uslab_cache_destroy(svc.sess), 0);
	for (int t = 0; t < NTEN; t++)
		ck_assert_msg(!slabinfo_has(names[t]), "%s left after the root's destroy", names[t]);
	ck_assert_int_eq(mem_cgroup_destroy(svc.t[WEB]), 0);
	ck_assert_int_eq(mem_cgroup_destroy(svc.t[DB]), 0);
	ck_assert_int_eq(mem_cgroup_destroy(svc.service), 0);
	kvfree_rcu_barrier();
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_descendants"), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "cgroup.stat", "nr_dying_descendants"), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "memory.stat", "slab"), 0);
	ck_assert_int_eq(read_key(root_mem_cgroup, "memory.stat", "kmalloc_large"), 0);
	/* Every tenant is gone, so are its stocks: nothing is charged anywhere. */
	ck_assert_uint_eq(mem_cgroup_usage(root_mem_cgroup), 0);
}
END_TEST

/* ---- isolation through the public API ------------------------------------------------ */

#define ISO_TENANTS 5
#define ISO_ROUNDS 300

struct rec {
	uintptr_t page;
	int owner;
};

static int by_page(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	return x->page < y->page ? -1 : x->page > y->page ? 1 : x->owner - y->owner;
}

START_TEST(test_isolation_objects_stay_in_their_tenant_pages)
{
	static void *objs[ISO_ROUNDS][ISO_TENANTS];
	static struct rec recs[ISO_ROUNDS * ISO_TENANTS];
	struct mem_cgroup *t[ISO_TENANTS];
	struct kmem_cache *s, *children[ISO_TENANTS];
	unsigned long pages = 0, shared = 0, n = 0;

	lib_init();
	/* 64-byte objects: one-page slabs, so a page is a slab. */
	s = kmem_cache_create("iso64", 64, 0, SLAB_ACCOUNT, NULL);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < ISO_TENANTS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "tenant%d", i);
		t[i] = create(NULL, name);
	}
	for (int r = 0; r < ISO_ROUNDS; r++)
		for (int i = 0; i < ISO_TENANTS; i++) {
			set_active_memcg(t[i]);
			objs[r][i] = kmem_cache_alloc(s, GFP_KERNEL);
			ck_assert_ptr_nonnull(objs[r][i]);
			/* Free a neighbour's older object with this tenant active. */
			if (r > 2 && (r + i) % 3 == 0 && objs[r - 2][(i + 1) % ISO_TENANTS]) {
				kmem_cache_free(s, objs[r - 2][(i + 1) % ISO_TENANTS]);
				objs[r - 2][(i + 1) % ISO_TENANTS] = NULL;
			}
		}
	set_active_memcg(NULL);
	for (int i = 0; i < ISO_TENANTS; i++) {
		children[i] = child_of("iso64", t[i]);
		ck_assert_ptr_nonnull(children[i]);
	}
	for (int r = 0; r < ISO_ROUNDS; r++)
		for (int i = 0; i < ISO_TENANTS; i++) {
			if (!objs[r][i])
				continue;
			ck_assert_ptr_eq(uslab_obj_cache(objs[r][i]), children[i]);
			recs[n].page = (uintptr_t)objs[r][i] & ~(PG - 1);
			recs[n++].owner = i;
		}
	qsort(recs, n, sizeof(recs[0]), by_page);
	for (unsigned long k = 0; k < n; k++) {
		if (k == 0 || recs[k].page != recs[k - 1].page)
			pages++;
		else if (recs[k].owner != recs[k - 1].owner)
			shared++;
	}
	printf("isolation check: %lu objects in %lu slabs, %lu shared\n", n, pages, shared);
	fflush(stdout);
	ck_assert_uint_eq(shared, 0);
	ck_assert_uint_gt(pages, ISO_TENANTS);
	for (int r = 0; r < ISO_ROUNDS; r++)
		for (int i = 0; i < ISO_TENANTS; i++)
			kmem_cache_free(s, objs[r][i]);
	for (int i = 0; i < ISO_TENANTS; i++) {
		ck_assert_int_eq(uslab_cache_validate(children[i]), 0);
		ck_assert_int_eq(mem_cgroup_destroy(t[i]), 0);
	}
	flush_quarantine(s);
	kvfree_rcu_barrier();
	ck_assert_int_eq(uslab_cache_validate(s), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	ck_assert_uint_eq(mem_cgroup_usage(root_mem_cgroup), 0);
}
END_TEST

static Suite *tenants_suite(void)
{
	Suite *s = suite_create("tenants");
	TCase *tc = tcase_create("tenants");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_service_tenants_end_to_end);
	tcase_add_test(tc, test_isolation_objects_stay_in_their_tenant_pages);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tenants_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
