// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * examples/uslab-demo.c - a tour of uslab on an emulated 4-node, 8-CPU
 * machine: three tenants with their own limits allocate sessions, requests
 * and kmalloc buffers from threads acting as different CPUs, free each
 * other's objects across nodes, while a hotplug thread takes CPUs down and
 * up and tries (and, once the node is empty, manages) to take memory node 3
 * offline and back. It ends with slabinfo, each tenant's memory.stat and a
 * check line: objects lost must be 0 and each tenant's memory.current must
 * equal exactly the pages its child caches hold.
 *
 *   uslab-demo [--seconds S] [--topology "node:4 core:2 pu:1"]
 */
#include <uslab.h>

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NTHREADS 8
#define HELD 256          /* objects a worker keeps at most */

struct session {
	unsigned long id;
	unsigned int owner;   /* worker that allocated it */
	int node;             /* node it was allocated on */
	char payload[88];
};

struct tenant {
	const char *name;
	const char *max;
	struct mem_cgroup *memcg;
	atomic_ulong limited;  /* allocations refused by the tenant's limit */
};

static struct tenant tenants[] = {
	{ "web", "8M", NULL, 0 },
	{ "batch", "384K", NULL, 0 },   /* small on purpose: it will hit memory.max */
	{ "analytics", "max", NULL, 0 },
};
#define NTENANTS (sizeof(tenants) / sizeof(tenants[0]))

static struct kmem_cache *session_cache, *request_cache;
static atomic_ulong allocs, frees, remote_allocs, ctor_calls;
static atomic_bool stop, spare_node3;

static void session_ctor(void *p)
{
	memset(p, 0, sizeof(struct session));
	atomic_fetch_add_explicit(&ctor_calls, 1, memory_order_relaxed);
}

/* Objects travel between workers through this mailbox (cross-thread, cross-node frees). */
static struct {
	pthread_mutex_t lock;
	void *slot[512];
	struct kmem_cache *cache[512];
	unsigned int n;
} mailbox = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void obj_free(struct kmem_cache *s, void *p)
{
	if (s)
		kmem_cache_free(s, p);
	else
		kfree(p);
	atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
}

static void mailbox_put(struct kmem_cache *s, void *p)
{
	pthread_mutex_lock(&mailbox.lock);
	if (mailbox.n < 512) {
		mailbox.slot[mailbox.n] = p;
		mailbox.cache[mailbox.n++] = s;
		p = NULL;
	}
	pthread_mutex_unlock(&mailbox.lock);
	if (p)
		obj_free(s, p);
}

static bool mailbox_take(struct kmem_cache **s, void **p)
{
	bool got = false;

	pthread_mutex_lock(&mailbox.lock);
	if (mailbox.n) {
		*p = mailbox.slot[--mailbox.n];
		*s = mailbox.cache[mailbox.n];
		got = true;
	}
	pthread_mutex_unlock(&mailbox.lock);
	return got;
}

struct held {
	void *p;
	struct kmem_cache *s;   /* NULL: kmalloc */
	int node;
};

static void *worker(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg, seed = me * 2654435761u + 7;
	struct tenant *t = &tenants[me % NTENANTS];
	struct held held[HELD];
	unsigned int n = 0;

	uslab_thread_set_cpu((int)me);
	set_active_memcg(t->memcg);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned int op = rand_r(&seed) % 100;

		/* Move between CPUs now and then, and off CPUs that are down. */
		if (op == 0 || !cpu_online(smp_processor_id())) {
			int cpu = (int)(rand_r(&seed) % nr_cpu_ids);
			if (cpu_online(cpu))
				uslab_thread_set_cpu(cpu);
		}
		/* While node 3 is to be emptied, give back what lives there. */
		if (atomic_load_explicit(&spare_node3, memory_order_relaxed)) {
			for (unsigned int i = 0; i < n;) {
				if (held[i].node == 3) {
					obj_free(held[i].s, held[i].p);
					held[i] = held[--n];
				} else {
					i++;
				}
			}
		}
		if (op < 50 && n < HELD) {
			struct kmem_cache *s = NULL;
			int node = NUMA_NO_NODE;
			void *p;

			if (op < 8) /* some allocations ask for a given node */
				node = (int)(rand_r(&seed) % nr_node_ids);
			if (node == 3 && atomic_load_explicit(&spare_node3, memory_order_relaxed))
				node = NUMA_NO_NODE;
			if (op < 30) {
				s = session_cache;
				p = kmem_cache_alloc_node(s, GFP_KERNEL, node);
			} else if (op < 42) {
				s = request_cache;
				p = kmem_cache_alloc_node(s, GFP_KERNEL, node);
			} else {
				p = kmalloc_node(16u << (rand_r(&seed) % 8), GFP_KERNEL_ACCOUNT, node);
			}
			if (!p) {
				/* The tenant's memory.max (ENOMEM): nothing else fails here. */
				if (errno != ENOMEM) {
					fprintf(stderr, "allocation failed: %s\n", strerror(errno));
					abort();
				}
				atomic_fetch_add_explicit(&t->limited, 1, memory_order_relaxed);
				continue;
			}
			atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
			if (node != NUMA_NO_NODE)
				atomic_fetch_add_explicit(&remote_allocs, 1, memory_order_relaxed);
			if (s == session_cache) {
				struct session *ss = p;
				ss->owner = me;
				ss->node = uslab_obj_node(p);
			}
			held[n++] = (struct held){ p, s, uslab_obj_node(p) };
		} else if (op < 85 && n) {
			unsigned int i = rand_r(&seed) % n;
			struct held h = held[i];

			held[i] = held[--n];
			if (h.s == session_cache && ((struct session *)h.p)->owner != me) {
				fprintf(stderr, "session %p changed owner!\n", h.p);
				abort();
			}
			if (op < 60 && h.node != 3)
				mailbox_put(h.s, h.p); /* someone else, maybe on another node, frees it */
			else
				obj_free(h.s, h.p);
		} else {
			struct kmem_cache *s;
			void *p;

			if (mailbox_take(&s, &p))
				obj_free(s, p);
		}
	}
	while (n) {
		n--;
		obj_free(held[n].s, held[n].p);
	}
	return NULL;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	printf("\r\033[K  * ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Hotplug script, run in steps while the load goes on. */
static const char *result(int err)
{
	return err ? strerror(-err) : "ok";
}

static void hotplug_step(int step)
{
	int err, e5, e6, e7;

	switch (step) {
	case 1:
		e5 = cpu_down(5);
		e6 = cpu_down(6);
		e7 = cpu_down(7);
		say("cpu_down(5): %s, cpu_down(6): %s, cpu_down(7): %s (node 3 has no CPU left); online "
		    "cpus %u", result(e5), result(e6), result(e7), num_online_cpus());
		break;
	case 2:
		err = mem_node_offline(3);
		say("mem_node_offline(3) with live objects on it: %s", err ? strerror(-err) : "ok");
		atomic_store(&spare_node3, true);
		break;
	case 3:
		/* Workers give node 3's objects back; objects in the mailbox may lag. */
		for (int tries = 0; tries < 200; tries++) {
			struct kmem_cache *s;
			void *p;

			while (mailbox_take(&s, &p))
				obj_free(s, p);
			err = mem_node_offline(3);
			if (!err)
				break;
			sched_yield();
		}
		say("mem_node_offline(3) after its objects were freed: %s; online nodes %u", result(err),
		    num_online_nodes());
		break;
	case 4: {
		void *p = kmalloc_node(100, GFP_KERNEL | __GFP_THISNODE, 3);
		void *q = kmalloc_node(100, GFP_KERNEL, 3);
		say("while node 3 is offline: kmalloc_node(3, __GFP_THISNODE) %s, kmalloc_node(3) "
		    "fell back to node %d", p ? "succeeded?!" : "failed cleanly", uslab_obj_node(q));
		kfree(p);
		kfree(q);
		break;
	}
	case 5:
		err = mem_node_online(3);
		atomic_store(&spare_node3, false);
		e5 = cpu_up(5);
		e6 = cpu_up(6);
		e7 = cpu_up(7);
		say("mem_node_online(3): %s; cpu_up(5,6,7): %s %s %s; online cpus %u", result(err),
		    result(e5), result(e6), result(e7), num_online_cpus());
		break;
	default:
		break;
	}
}

static void print_slabinfo_rows(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	uslab_slabinfo(f);
	fclose(f);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long active, num;
		char name[96];
		if (sscanf(line, "%95s %lu %lu", name, &active, &num) == 3 && num == 0)
			continue;
		puts(line);
	}
	free(buf);
}

/* Pages the tenant's child caches hold, from their slabinfo rows. */
static unsigned long tenant_slab_bytes(struct tenant *t)
{
	struct kmem_cache *roots[] = { session_cache, request_cache };
	unsigned long bytes = 0;
	char name[128];

	for (unsigned int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s(%u:%s)", uslab_cache_name(roots[i]),
			 mem_cgroup_id(t->memcg), t->name);
		struct kmem_cache *c = uslab_cache_find(name);
		struct uslab_cache_info info;
		if (c && uslab_cache_info(c, NUMA_NO_NODE, &info) == 0)
			bytes += info.num_slabs * info.pages_per_slab * 4096ul;
	}
	for (unsigned int size = 16; size <= 2048; size *= 2) {
		snprintf(name, sizeof(name), "kmalloc-cg-%u(%u:%s)", size, mem_cgroup_id(t->memcg),
			 t->name);
		struct kmem_cache *c = uslab_cache_find(name);
		struct uslab_cache_info info;
		if (c && uslab_cache_info(c, NUMA_NO_NODE, &info) == 0)
			bytes += info.num_slabs * info.pages_per_slab * 4096ul;
	}
	return bytes;
}

int main(int argc, char **argv)
{
	const char *topology = "node:4 core:2 pu:1";
	unsigned int seconds = 3;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--topology") && i + 1 < argc)
			topology = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--seconds S] [--topology SPEC]\n", argv[0]);
			return 2;
		}
	}
	err = uslab_init(&(struct uslab_config){ .topology = topology, .reaper_ms = 200 });
	if (err) {
		fprintf(stderr, "uslab_init: %s\n", strerror(-err));
		return 1;
	}
	char machine[128];
	uslab_topology_describe(machine, sizeof(machine));
	printf("uslab demo on %s, %u threads, %u s\n", machine, NTHREADS, seconds);

	struct mem_cgroup *parent = mem_cgroup_create(NULL, "tenants");
	for (unsigned int i = 0; i < NTENANTS; i++) {
		tenants[i].memcg = mem_cgroup_create(parent, tenants[i].name);
		if (!tenants[i].memcg || mem_cgroup_write(tenants[i].memcg, "memory.max", tenants[i].max)) {
			perror("mem_cgroup_create");
			return 1;
		}
		printf("  tenant %-9s memory.max %s\n", tenants[i].name, tenants[i].max);
	}
	session_cache = kmem_cache_create("session", sizeof(struct session), 0,
					  SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT, session_ctor);
	request_cache = kmem_cache_create("request", 512, 0, SLAB_ACCOUNT | SLAB_NO_MERGE, NULL);
	if (!session_cache || !request_cache) {
		perror("kmem_cache_create");
		return 1;
	}

	pthread_t tid[NTHREADS];
	for (unsigned int i = 0; i < NTHREADS; i++)
		pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)i);

	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int step = 0;
	for (;;) {
		struct timespec tick = { 0, 100 * 1000 * 1000 };
		nanosleep(&tick, NULL); /* pacing the script and the progress line */
		clock_gettime(CLOCK_MONOTONIC, &now);
		double t = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
		int want = (int)(t * 6 / seconds); /* five hotplug steps spread over the run */
		while (step < want && step < 5)
			hotplug_step(++step);
		printf("\r\033[K  %4.1fs  allocs %lu frees %lu  cpus %u/%u nodes %u/%u ", t,
		       atomic_load(&allocs), atomic_load(&frees), num_online_cpus(), nr_cpu_ids,
		       num_online_nodes(), nr_node_ids);
		for (unsigned int i = 0; i < NTENANTS; i++)
			printf(" %s %luK", tenants[i].name, mem_cgroup_usage(tenants[i].memcg) / 1024);
		fflush(stdout);
		if (t >= seconds && step >= 5)
			break;
	}
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	{
		struct kmem_cache *s;
		void *p;
		while (mailbox_take(&s, &p))
			obj_free(s, p);
	}
	printf("\n\n%lu objects allocated (%lu on a chosen node), %lu freed; constructor ran %lu times\n",
	       atomic_load(&allocs), atomic_load(&remote_allocs), atomic_load(&frees),
	       atomic_load(&ctor_calls));
	for (unsigned int i = 0; i < NTENANTS; i++)
		printf("tenant %-9s refused %lu allocations at its memory.max\n", tenants[i].name,
		       atomic_load(&tenants[i].limited));

	/* Accounting: after draining the per-CPU stocks, current == pages held. */
	for (unsigned int i = 0; i < 2; i++) {
		kmem_cache_shrink(session_cache);
		kmem_cache_shrink(request_cache);
	}
	mem_cgroup_drain_stocks();
	bool exact = true;
	for (unsigned int i = 0; i < NTENANTS; i++) {
		unsigned long cur = mem_cgroup_usage(tenants[i].memcg);
		unsigned long held = tenant_slab_bytes(&tenants[i]);
		if (cur != held) {
			exact = false;
			printf("tenant %s: memory.current %lu != %lu bytes of slabs\n", tenants[i].name,
			       cur, held);
		}
	}

	printf("\n");
	print_slabinfo_rows();
	for (unsigned int i = 0; i < NTENANTS; i++) {
		char stat[4096], events[512];
		if (mem_cgroup_read(tenants[i].memcg, "memory.stat", stat, sizeof(stat)) < 0)
			stat[0] = '\0';
		if (mem_cgroup_read(tenants[i].memcg, "memory.events", events, sizeof(events)) < 0)
			events[0] = '\0';
		printf("\n--- tenant %s: memory.stat\n%s--- memory.events\n%s", tenants[i].name, stat,
		       events);
	}

	int valid = uslab_cache_validate(session_cache) | uslab_cache_validate(request_cache);
	long lost = (long)atomic_load(&allocs) - (long)atomic_load(&frees);
	for (unsigned int i = 0; i < NTENANTS; i++)
		mem_cgroup_destroy(tenants[i].memcg);
	mem_cgroup_destroy(parent);
	int destroyed = uslab_cache_destroy(session_cache) | uslab_cache_destroy(request_cache);
	uslab_reaper_stop();
	printf("\ncheck: objects lost: %ld, accounting exact: %s, validate: %s, destroy: %s\n", lost,
	       exact ? "yes" : "NO", valid ? "FAILED" : "ok", destroyed ? strerror(-destroyed) : "ok");
	return (lost || !exact || valid || destroyed) ? 1 : 0;
}
