// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/tools/test-stats.c - the live-statistics code (lib/stats.c,
 * uslab/stats.h): the sequence-lock protocol with a writer thread that
 * stamps every word of a generation and readers that must never see two
 * stamps at once; a real publisher refreshing every millisecond, with the
 * reaper running, while caches and tenants come and go (the file grows under
 * the readers); start, stop, refresh and fork rules of the file; and the
 * JSON output.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uslab.h>
#include <uslab/stats.h>

static bool shm_exists(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/shm/uslab.%ld", (long)pid);
	return access(path, F_OK) == 0;
}

/* ---- the protocol alone ------------------------------------------------------- */

#define PROTO_WORDS 4096 /* 32 KiB of records after the header */
#define PROTO_MIN_READS 1000
#define PROTO_SECONDS 1

struct proto {
	struct uslab_stats_header *h;
	uint64_t *words;
	bool stop;
	uint64_t written;
	unsigned long done;     /* reader's consistent reads, so the writer lets it finish some */
};

static void *proto_writer(void *arg)
{
	struct proto *p = arg;
	static uint64_t local[PROTO_WORDS];
	uint64_t k;

	for (k = 1; !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE); k++) {
		/* The stamp a reader must see with generation 2k. */
		for (int i = 0; i < PROTO_WORDS; i++)
			local[i] = k;
		uslab_stats_write_begin(p->h);
		/* In pieces, as the publisher stores: a torn copy mixes stamps. */
		for (int i = 0; i < PROTO_WORDS; i += 512)
			uslab_stats_store(&p->words[i], &local[i], 512 * sizeof(uint64_t));
		uslab_stats_write_end(p->h);
		/*
		 * A real writer pauses for a period. Here, every 64 generations it
		 * waits for the reader to complete one more consistent read, so a
		 * slow reader (TSan, a loaded machine) makes progress however often
		 * it is preempted inside a read.
		 */
		if (k % 64 == 0) {
			unsigned long seen = __atomic_load_n(&p->done, __ATOMIC_ACQUIRE);

			while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < seen + 1 &&
			       !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
				sched_yield();
		}
	}
	p->written = k - 1;
	return NULL;
}

START_TEST(test_seqlock_protocol)
{
	static uint64_t copy[PROTO_WORDS];
	struct proto p;
	pthread_t writer;
	unsigned long reads = 0, retries = 0, changes = 0;
	uint64_t last = 0;
	time_t end = time(NULL) + PROTO_SECONDS;
	char *region = aligned_alloc(64, 4096 + PROTO_WORDS * sizeof(uint64_t));

	ck_assert_ptr_nonnull(region);
	memset(region, 0, 4096 + PROTO_WORDS * sizeof(uint64_t));
	p.h = (struct uslab_stats_header *)region;
	p.words = (uint64_t *)(region + 4096);
	p.stop = false;
	p.done = 0;
	ck_assert_int_eq(pthread_create(&writer, NULL, proto_writer, &p), 0);
	/* Read for a while, until enough consistent copies of changing data. */
	while (time(NULL) < end || reads < PROTO_MIN_READS || changes < 10) {
		uint64_t gen = uslab_stats_read_begin(p.h);

		uslab_stats_load(copy, p.words, sizeof(copy));
		if (uslab_stats_read_retry(p.h, gen)) {
			retries++;
			continue;
		}
		reads++;
		__atomic_add_fetch(&p.done, 1, __ATOMIC_RELEASE);
		changes += gen != last;
		last = gen;
		ck_assert_uint_eq(gen % 2, 0);
		for (int i = 0; i < PROTO_WORDS; i++)
			ck_assert_msg(copy[i] == gen / 2, "generation %lu: word %d has stamp %lu",
				      (unsigned long)gen, i, (unsigned long)copy[i]);
	}
	__atomic_store_n(&p.stop, true, __ATOMIC_RELEASE);
	pthread_join(writer, NULL);
	ck_assert_uint_eq(uslab_stats_read_begin(p.h), 2 * p.written);
	fprintf(stderr, "seqlock: %lu consistent reads of %lu generations, %lu retries, "
			"%lu generations written\n", reads, changes, retries, (unsigned long)p.written);
	free(region);
}
END_TEST

/* ---- a real publisher under churn ------------------------------------------------ */

static bool churn_stop;

/* Create and destroy caches and tenants so that counts and layout keep changing. */
static void *churn(void *arg)
{
	struct kmem_cache *caches[64];
	struct mem_cgroup *tenants[8];
	void *objs[64];
	unsigned long round = 0;

	(void)arg;
	while (!__atomic_load_n(&churn_stop, __ATOMIC_ACQUIRE)) {
		char name[32];
		int nc = (int)(round % 64) + 1, nt = (int)(round % 8);

		for (int i = 0; i < nc; i++) {
			snprintf(name, sizeof(name), "churn-%lu-%d", round, i);
			caches[i] = kmem_cache_create(name, 32 + 8 * (unsigned int)i, 0, SLAB_NO_MERGE, NULL);
			ck_assert_ptr_nonnull(caches[i]);
			objs[i] = kmem_cache_alloc(caches[i], GFP_KERNEL);
		}
		for (int i = 0; i < nt; i++) {
			snprintf(name, sizeof(name), "t-%lu-%d", round, i);
			tenants[i] = mem_cgroup_create(NULL, name);
			ck_assert_ptr_nonnull(tenants[i]);
		}
		for (int i = 0; i < nt; i++)
			ck_assert_int_eq(mem_cgroup_destroy(tenants[i]), 0);
		for (int i = 0; i < nc; i++) {
			kmem_cache_free(caches[i], objs[i]);
			kmem_cache_destroy(caches[i]);
		}
		round++;
	}
	return NULL;
}

/* What must hold in any one generation, whatever was happening. */
static void check_snapshot(const struct uslab_stats_snapshot *s)
{
	const struct uslab_stats_header *h = &s->header;
	size_t next_node = 0, next_slab = 0;

	ck_assert_uint_eq(h->magic, USLAB_STATS_MAGIC);
	ck_assert_uint_eq(h->version, USLAB_STATS_VERSION);
	ck_assert_uint_eq(h->pid, (uint32_t)getpid());
	ck_assert_uint_eq(h->generation % 2, 0);
	ck_assert_uint_eq(h->sections[USLAB_STATS_CACHES].count, s->nr_caches);
	ck_assert_uint_eq(h->sections[USLAB_STATS_TENANTS].count, s->nr_tenants);
	ck_assert_uint_ge(s->nr_caches, 1);
	for (size_t i = 0; i < s->nr_caches; i++) {
		const struct uslab_stats_cache *c = &s->caches[i];

		ck_assert_uint_eq(c->node_first, next_node);
		ck_assert_uint_ge(c->nr_nodes, 1);
		ck_assert(memchr(c->name, '\0', sizeof(c->name)) != NULL);
		ck_assert_uint_le(c->active_objs, c->num_objs);
		ck_assert_uint_eq(c->num_objs, c->num_slabs * c->objs_per_slab);
		for (uint32_t k = 0; k < c->nr_nodes; k++)
			ck_assert_uint_eq(s->cache_nodes[c->node_first + k].cache, i);
		next_node += c->nr_nodes;
	}
	ck_assert_uint_eq(next_node, s->nr_cache_nodes);
	ck_assert_uint_ge(s->nr_tenants, 1);
	ck_assert_str_eq(s->tenants[0].path, "/");
	for (size_t i = 0; i < s->nr_tenants; i++) {
		ck_assert_uint_eq(s->tenants[i].slab_first, next_slab);
		next_slab += s->tenants[i].nr_slab;
	}
	ck_assert_uint_eq(next_slab, s->nr_tenant_slabs);
}

START_TEST(test_publisher_under_churn)
{
	struct uslab_stats_snapshot snap;
	pthread_t thread;
	uint64_t last_gen = 0;
	size_t min_caches = SIZE_MAX, max_caches = 0;
	time_t end = time(NULL) + 2;
	unsigned long reads = 0;

	ck_assert_int_eq(uslab_stats_publish_start(1), 0);
	ck_assert(shm_exists(getpid()));
	/* The reaper's passes refresh too (stats_reaper_tick). */
	ck_assert_int_eq(uslab_reaper_start(2), 0);
	__atomic_store_n(&churn_stop, false, __ATOMIC_RELAXED);
	ck_assert_int_eq(pthread_create(&thread, NULL, churn, NULL), 0);
	while (time(NULL) < end || reads < 100) {
		int err = uslab_stats_read(getpid(), &snap);

		ck_assert_msg(err == 0, "uslab_stats_read: %s", strerror(-err));
		check_snapshot(&snap);
		ck_assert_uint_ge(snap.header.generation, last_gen);
		last_gen = snap.header.generation;
		if (snap.nr_caches < min_caches)
			min_caches = snap.nr_caches;
		if (snap.nr_caches > max_caches)
			max_caches = snap.nr_caches;
		uslab_stats_snapshot_free(&snap);
		reads++;
	}
	__atomic_store_n(&churn_stop, true, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	fprintf(stderr, "publisher: %lu reads, generation %lu, %zu..%zu caches\n", reads,
		(unsigned long)last_gen, min_caches, max_caches);
	ck_assert_uint_gt(last_gen, 2);
	ck_assert_uint_lt(min_caches, max_caches);
	uslab_reaper_stop();
	uslab_stats_publish_stop();
	ck_assert(!shm_exists(getpid()));
}
END_TEST

/* ---- start, stop, refresh, fork ---------------------------------------------------- */

START_TEST(test_start_stop_refresh)
{
	struct uslab_stats_snapshot snap;
	struct kmem_cache *s;
	void *objs[100];
	pid_t child;
	int status;

	ck_assert_int_eq(uslab_stats_refresh(), -ENOENT);
	ck_assert_int_eq(uslab_stats_read(getpid(), &snap), -ENOENT);
	ck_assert_int_eq(uslab_stats_publish_start(60000), 0);
	ck_assert(shm_exists(getpid()));

	/* A refresh shows a new state at once, whatever the period. */
	s = kmem_cache_create("stats-unit", 100, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 100; i++)
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_int_eq(uslab_stats_refresh(), 0);
	ck_assert_int_eq(uslab_stats_read(getpid(), &snap), 0);
	ck_assert_uint_eq(snap.header.period_ms, 60000);
	ck_assert_str_eq(snap.caches[0].name, "stats-unit"); /* newest first */
	ck_assert_uint_eq(snap.caches[0].inuse_objs, 100);
	ck_assert_uint_eq(snap.caches[0].object_size, 100);
	uslab_stats_snapshot_free(&snap);

	/* Starting again changes only the period. */
	ck_assert_int_eq(uslab_stats_publish_start(30000), 0);
	ck_assert_int_eq(uslab_stats_refresh(), 0);
	ck_assert_int_eq(uslab_stats_read(getpid(), &snap), 0);
	ck_assert_uint_eq(snap.header.period_ms, 30000);
	uslab_stats_snapshot_free(&snap);

	/* A forked child neither publishes nor removes its parent's file. */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int ok = uslab_stats_refresh() == -ENOENT && shm_exists(getppid()) &&
			 !shm_exists(getpid());

		exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(shm_exists(getpid()));

	uslab_stats_publish_stop();
	ck_assert(!shm_exists(getpid()));
	ck_assert_int_eq(uslab_stats_refresh(), -ENOENT);
	ck_assert_int_eq(uslab_stats_read(getpid(), &snap), -ENOENT);
	uslab_stats_publish_stop(); /* no-op */
	for (int i = 0; i < 100; i++)
		kmem_cache_free(s, objs[i]);
	kmem_cache_destroy(s);
}
END_TEST

/* ---- snapshots and JSON ---------------------------------------------------------------- */

START_TEST(test_collect_and_json)
{
	struct uslab_stats_snapshot snap;
	struct mem_cgroup *t;
	struct kmem_cache *s;
	char *text = NULL;
	size_t size = 0;
	void *obj;
	FILE *f;

	s = kmem_cache_create("we\"ird\\name\t", 64, 0, SLAB_ACCOUNT | SLAB_NO_MERGE, NULL);
	ck_assert_ptr_nonnull(s);
	t = mem_cgroup_create(NULL, "json-tenant");
	ck_assert_ptr_nonnull(t);
	set_active_memcg(t);
	obj = kmem_cache_alloc(s, GFP_KERNEL);
	set_active_memcg(NULL);
	ck_assert_ptr_nonnull(obj);

	ck_assert_int_eq(uslab_stats_collect(&snap), 0);
	check_snapshot(&snap);
	ck_assert_uint_eq(snap.header.generation, 0);
	ck_assert_uint_eq(snap.nr_tenants, 2);
	ck_assert_str_eq(snap.tenants[1].name, "json-tenant");
	ck_assert_str_eq(snap.tenants[1].path, "/json-tenant");
	ck_assert_uint_eq(snap.tenants[1].parent_id, 1);
	ck_assert_uint_eq(snap.tenants[1].max, USLAB_STATS_NO_LIMIT);
	ck_assert_uint_eq(snap.tenants[1].nr_slab, 1);
	ck_assert_str_eq(snap.tenant_slabs[snap.tenants[1].slab_first].cache, "we\"ird\\name\t");
	ck_assert_uint_eq(snap.tenant_slabs[snap.tenants[1].slab_first].bytes,
			  snap.tenants[1].slab);
	ck_assert_uint_eq(snap.caches[0].kind & USLAB_STATS_CACHE_CHILD, USLAB_STATS_CACHE_CHILD);
	ck_assert_uint_eq(snap.caches[0].tenant_id, snap.tenants[1].id);
	ck_assert_uint_eq(snap.caches[0].inuse_objs, 1);
	uslab_stats_snapshot_free(&snap);

	f = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(uslab_slabinfo_json(f), 0);
	fclose(f);
	ck_assert(size > 2 && text[0] == '{' && strcmp(text + size - 2, "}\n") == 0);
	ck_assert_ptr_nonnull(strstr(text, "\"name\": \"we\\\"ird\\\\name\\u0009\""));
	ck_assert_ptr_nonnull(strstr(text, "\"name\": \"kmalloc-64\""));
	ck_assert_ptr_nonnull(strstr(text, "\"memory.max\": \"max\""));
	ck_assert_ptr_nonnull(strstr(text, "\"path\": \"/json-tenant\""));
	free(text);
	ck_assert_int_eq(uslab_slabinfo_json(NULL), -EINVAL);

	kmem_cache_free(s, obj);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
	kmem_cache_destroy(s);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_seqlock_protocol);
	tcase_add_test(tc, test_publisher_under_churn);
	tcase_add_test(tc, test_start_stop_refresh);
	tcase_add_test(tc, test_collect_and_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
