// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * examples/uslab-demo.c - a tour of uslab: object caches with a constructor,
 * kmalloc, several threads allocating and freeing each other's objects, the
 * reaper, and slabinfo at the end, with a check that no object was lost.
 *
 *   uslab-demo [--threads N] [--seconds S]
 */
#include <uslab.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct session {
	unsigned long id;
	unsigned int owner;
	char payload[100];
};

static struct kmem_cache *session_cache;
static atomic_ulong ctor_calls, allocs, frees, kmallocs, handed_over;
static atomic_bool stop;

static void session_ctor(void *p)
{
	struct session *s = p;

	memset(s, 0, sizeof(*s));
	atomic_fetch_add_explicit(&ctor_calls, 1, memory_order_relaxed);
}

/* A mailbox through which threads hand objects to the next thread to free. */
#define MAILBOX 256
static struct {
	pthread_mutex_t lock;
	struct session *slot[MAILBOX];
	unsigned int n;
} mailbox = { PTHREAD_MUTEX_INITIALIZER, { 0 }, 0 };

static void mailbox_put_or_free(struct session *s)
{
	pthread_mutex_lock(&mailbox.lock);
	if (mailbox.n < MAILBOX) {
		mailbox.slot[mailbox.n++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&mailbox.lock);
	if (s) {
		kmem_cache_free(session_cache, s);
		atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
	}
}

static struct session *mailbox_take(void)
{
	struct session *s = NULL;

	pthread_mutex_lock(&mailbox.lock);
	if (mailbox.n)
		s = mailbox.slot[--mailbox.n];
	pthread_mutex_unlock(&mailbox.lock);
	return s;
}

static void *worker(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg, seed = me * 7919u + 1;
	struct session *mine[64];
	unsigned int n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned int op = rand_r(&seed) % 100;

		if (op < 45 && n < 64) {
			struct session *s = kmem_cache_alloc(session_cache, GFP_KERNEL);
			if (!s)
				continue;
			s->id = atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
			s->owner = me;
			mine[n++] = s;
		} else if (op < 75 && n) {
			struct session *s = mine[--n];
			if (s->owner != me) {
				fprintf(stderr, "object %p changed owner!\n", (void *)s);
				abort();
			}
			if (op < 55) {
				mailbox_put_or_free(s);
				atomic_fetch_add_explicit(&handed_over, 1, memory_order_relaxed);
			} else {
				kmem_cache_free(session_cache, s);
				atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
			}
		} else if (op < 85) {
			struct session *s = mailbox_take();
			if (s) {
				kmem_cache_free(session_cache, s);
				atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
			}
		} else {
			size_t size = 1u << (rand_r(&seed) % 14);
			char *p = kmalloc(size + rand_r(&seed) % size, GFP_KERNEL);
			if (p) {
				p[0] = 1;
				kfree(p);
				atomic_fetch_add_explicit(&kmallocs, 1, memory_order_relaxed);
			}
		}
	}
	while (n) {
		kmem_cache_free(session_cache, mine[--n]);
		atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
	}
	return NULL;
}

static void print_slabinfo_rows(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	uslab_slabinfo(f);
	fclose(f);
	/* Header lines, then only the caches that hold memory. */
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long active, num;
		char name[64];
		if (sscanf(line, "%63s %lu %lu", name, &active, &num) == 3 && num == 0)
			continue;
		puts(line);
	}
	free(buf);
}

int main(int argc, char **argv)
{
	unsigned int nthreads = 4, seconds = 2;
	struct timespec deadline, now;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = (unsigned int)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--threads N] [--seconds S]\n", argv[0]);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 64)
		nthreads = 4;

	int err = uslab_init(&(struct uslab_config){ .reaper_ms = 500 });
	if (err) {
		fprintf(stderr, "uslab_init: %s\n", strerror(-err));
		return 1;
	}
	printf("uslab demo: %u CPUs, %u NUMA node(s), %u threads for %u s\n", nr_cpu_ids,
	       nr_node_ids, nthreads, seconds);

	session_cache = kmem_cache_create("session", sizeof(struct session), 0,
					  SLAB_HWCACHE_ALIGN, session_ctor);
	if (!session_cache) {
		perror("kmem_cache_create");
		return 1;
	}

	pthread_t tid[64];
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)i);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += seconds;
	do {
		struct timespec tick = { 0, 250 * 1000 * 1000 };
		struct uslab_cache_info info;

		nanosleep(&tick, NULL); /* pacing the progress line, not synchronisation */
		uslab_cache_info(session_cache, NUMA_NO_NODE, &info);
		printf("\r  allocs %lu  frees %lu  kmalloc %lu  live slabs %lu   ", atomic_load(&allocs),
		       atomic_load(&frees), atomic_load(&kmallocs), info.num_slabs);
		fflush(stdout);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < deadline.tv_sec ||
		 (now.tv_sec == deadline.tv_sec && now.tv_nsec < deadline.tv_nsec));
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	for (struct session *s; (s = mailbox_take()) != NULL;) {
		kmem_cache_free(session_cache, s);
		atomic_fetch_add(&frees, 1);
	}
	printf("\n\n");

	struct uslab_cache_info info;
	uslab_cache_info(session_cache, NUMA_NO_NODE, &info);
	printf("session cache: %lu objects allocated, %lu freed (%lu handed to another thread),\n"
	       "  constructor ran %lu times for %lu slabs of %u objects; hits %lu/%lu alloc, %lu/%lu free\n\n",
	       atomic_load(&allocs), atomic_load(&frees), atomic_load(&handed_over),
	       atomic_load(&ctor_calls), info.grown, info.objs_per_slab, info.alloc_hits,
	       info.allocs, info.free_hits, info.frees);
	print_slabinfo_rows();

	int valid = uslab_cache_validate(session_cache);
	long lost = (long)atomic_load(&allocs) - (long)atomic_load(&frees);
	int shrink = kmem_cache_shrink(session_cache);
	int destroyed = uslab_cache_destroy(session_cache);
	uslab_reaper_stop();
	printf("\ncheck: objects lost: %ld, validate: %s, shrink: %d, destroy: %s\n", lost,
	       valid ? "FAILED" : "ok", shrink, destroyed ? strerror(-destroyed) : "ok");
	return (lost || valid || destroyed) ? 1 : 0;
}
