// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench/shim-server.c - a program shaped like a multi-threaded server, for
 * comparing mallocs through LD_PRELOAD (bench/shim-bench runs it under
 * glibc, jemalloc, tcmalloc, mimalloc and libuslab-malloc.so). It calls only
 * malloc, realloc and free.
 *
 * Worker threads (4 by default) handle "requests". A request allocates 3 to
 * 8 buffers of 16 B .. 64 KiB (a fixed skewed mix, see draw_size), writes
 * every page of each, grows one of them with realloc one time in four, and
 * then: one buffer joins the worker's working set (a FIFO of cached
 * entries, the oldest evicted), about a third of the others are handed to
 * another worker, which frees them (batches of 32 through a mutex-protected
 * inbox per worker, drained at the start of each request), the rest are
 * freed at the end of the request, last allocated first. The working set's
 * size changes with phases (256 .. 8192 entries per worker); a shrinking
 * phase evicts its excess at once. Everything is seeded: the same run for
 * every malloc.
 *
 * The workers time themselves (first start to last end, the final drain
 * and the freeing of the working sets included). Output, one line on
 * stdout:
 *   @server ns_per_request=N requests=N allocs=N handoffs=N hwm_kib=N bad=N
 * hwm_kib is the process's peak RSS (VmHWM). Exit status 1 if a buffer
 * arrived with other contents than its sender wrote (bad > 0).
 *
 *   shim-server [--threads N] [--requests N-per-thread]
 *
 * Locks: each inbox's mutex protects its ring of batches; a worker holds at
 * most one, never while it frees.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS    16
#define HANDOFF_BATCH  32
#define INBOX_BATCHES  64      /* inbox capacity: 64 batches of 32 buffers */
#define MAX_WS         8192
#define MAX_BUFS       8
#define PAGE_STRIDE    4096

/* Working-set size per worker in each phase (entries); phases take equal shares. */
static const unsigned int ws_phase[] = { 256, 4096, 1024, 8192, 512, 2048 };
#define NR_PHASES (sizeof(ws_phase) / sizeof(ws_phase[0]))

struct batch {
	unsigned int n;
	void *p[HANDOFF_BATCH];
};

struct inbox {
	pthread_mutex_t lock;
	unsigned int head, count;            /* ring of batches, under lock */
	struct batch b[INBOX_BATCHES];
};

struct worker {
	unsigned int id;
	uint64_t rng;
	struct inbox in;
	struct batch out[MAX_THREADS];       /* outgoing, one per destination */
	void *ws[MAX_WS];                    /* working set: FIFO ring */
	unsigned int ws_head, ws_count;
	uint64_t allocs, handoffs, bad, checksum;
	uint64_t t_start, t_end;
	pthread_t tid;
} __attribute__((aligned(64)));

static struct worker workers[MAX_THREADS];
static unsigned int nr_threads = 4;
static uint64_t requests = 100000;
static atomic_uint nr_done;
static pthread_barrier_t start;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(struct worker *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dull;
}

/*
 * Buffer sizes, per mille: 16-64 B: 300, 65-256: 300, 257-1K: 200,
 * 1K-4K: 120, 4K-16K: 60, 16K-64K: 20 (uniform inside each band; mean
 * about 1.9 KiB): mostly headers and small records, a few bodies.
 */
static size_t draw_size(struct worker *w)
{
	static const struct { unsigned int lo, hi, permille; } band[] = {
		{ 16, 64, 300 }, { 65, 256, 300 }, { 257, 1024, 200 },
		{ 1025, 4096, 120 }, { 4097, 16384, 60 }, { 16385, 65536, 20 },
	};
	unsigned int pick = (unsigned int)(rnd(w) % 1000), b = 0;

	while (pick >= band[b].permille) {
		pick -= band[b].permille;
		b++;
	}
	return band[b].lo + rnd(w) % (band[b].hi - band[b].lo + 1);
}

/* Write the sender's tag in the first byte, one byte per page, and the last byte. */
static void fill(void *p, size_t n, unsigned char tag)
{
	unsigned char *c = p;

	c[0] = tag;
	for (size_t off = PAGE_STRIDE; off < n; off += PAGE_STRIDE)
		c[off] = tag;
	c[n - 1] = tag;
	__asm__ volatile("" : : "r"(p) : "memory");
}

static unsigned char tag_of(const struct worker *w)
{
	return (unsigned char)(0xa0 | w->id);
}

static void *xmalloc(struct worker *w, size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "shim-server: malloc(%zu) failed\n", n);
		exit(3);
	}
	w->allocs++;
	fill(p, n, tag_of(w));
	return p;
}

/* Free what other workers handed to @w; their first byte must carry a sender's tag. */
static void drain_inbox(struct worker *w)
{
	struct batch local[INBOX_BATCHES];
	unsigned int n = 0;

	pthread_mutex_lock(&w->in.lock);
	while (w->in.count) {
		local[n++] = w->in.b[w->in.head];
		w->in.head = (w->in.head + 1) % INBOX_BATCHES;
		w->in.count--;
	}
	pthread_mutex_unlock(&w->in.lock);
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int j = 0; j < local[i].n; j++) {
			unsigned char *c = local[i].p[j];

			if ((c[0] & 0xf0) != 0xa0 || (c[0] & 0x0f) == w->id)
				w->bad++;
			w->checksum += c[0];
			free(c);
		}
	}
}

/* Hand @w's full outgoing batch for @to over; while that inbox is full, free our own. */
static void push_batch(struct worker *w, unsigned int to)
{
	struct inbox *in = &workers[to].in;

	for (;;) {
		pthread_mutex_lock(&in->lock);
		if (in->count < INBOX_BATCHES) {
			in->b[(in->head + in->count) % INBOX_BATCHES] = w->out[to];
			in->count++;
			pthread_mutex_unlock(&in->lock);
			w->out[to].n = 0;
			return;
		}
		pthread_mutex_unlock(&in->lock);
		drain_inbox(w);
		sched_yield();
	}
}

static void hand_over(struct worker *w, void *p)
{
	unsigned int to = (w->id + 1 + (unsigned int)(rnd(w) % (nr_threads - 1))) % nr_threads;

	w->out[to].p[w->out[to].n++] = p;
	w->handoffs++;
	if (w->out[to].n == HANDOFF_BATCH)
		push_batch(w, to);
}

static void ws_evict(struct worker *w)
{
	unsigned int oldest = (w->ws_head + MAX_WS - w->ws_count) % MAX_WS;

	w->checksum += *(unsigned char *)w->ws[oldest];
	free(w->ws[oldest]);
	w->ws_count--;
}

static void ws_insert(struct worker *w, void *p, unsigned int target)
{
	while (w->ws_count >= target)
		ws_evict(w);
	w->ws[w->ws_head] = p;
	w->ws_head = (w->ws_head + 1) % MAX_WS;
	w->ws_count++;
}

static void handle_request(struct worker *w, unsigned int target)
{
	void *buf[MAX_BUFS];
	size_t size[MAX_BUFS];
	unsigned int n = 3 + (unsigned int)(rnd(w) % (MAX_BUFS - 2)), keep;

	drain_inbox(w);
	for (unsigned int i = 0; i < n; i++) {
		size[i] = draw_size(w);
		buf[i] = xmalloc(w, size[i]);
	}
	/* One time in four a buffer grows (a body read in pieces). */
	if (rnd(w) % 4 == 0) {
		unsigned int i = (unsigned int)(rnd(w) % n);
		size_t grown = size[i] * 2 > 65536 ? 65536 : size[i] * 2;
		void *p = realloc(buf[i], grown);

		if (!p) {
			fprintf(stderr, "shim-server: realloc(%zu) failed\n", grown);
			exit(3);
		}
		fill(p, grown, tag_of(w));
		buf[i] = p;
		size[i] = grown;
	}
	keep = (unsigned int)(rnd(w) % n);
	ws_insert(w, buf[keep], target);
	buf[keep] = NULL;
	for (unsigned int i = 0; i < n; i++) {
		if (buf[i] && rnd(w) % 3 == 0) {
			hand_over(w, buf[i]);
			buf[i] = NULL;
		}
	}
	for (unsigned int i = n; i-- > 0;) {
		if (buf[i]) {
			w->checksum += *(unsigned char *)buf[i];
			free(buf[i]);
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int phase = ~0u;

	pthread_barrier_wait(&start);
	w->t_start = now_ns();
	for (uint64_t r = 0; r < requests; r++) {
		unsigned int p = (unsigned int)(r * NR_PHASES / requests);

		if (p != phase) {
			/* A smaller working set evicts its excess at once. */
			phase = p;
			while (w->ws_count > ws_phase[phase])
				ws_evict(w);
		}
		handle_request(w, ws_phase[phase]);
	}
	for (unsigned int to = 0; to < nr_threads; to++)
		if (w->out[to].n)
			push_batch(w, to);
	atomic_fetch_add(&nr_done, 1);
	/* Others may still hand buffers over until every worker has flushed. */
	while (atomic_load(&nr_done) < nr_threads) {
		drain_inbox(w);
		sched_yield();
	}
	drain_inbox(w);
	while (w->ws_count)
		ws_evict(w);
	w->t_end = now_ns();
	return NULL;
}

static long vm_hwm_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	uint64_t t0 = UINT64_MAX, t1 = 0, allocs = 0, handoffs = 0, bad = 0, sum = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			nr_threads = (unsigned int)atoi(argv[++i]);
		} else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
			requests = strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: shim-server [--threads 2..%d] "
					"[--requests N-per-thread]\n", MAX_THREADS);
			return 2;
		}
	}
	if (nr_threads < 2 || nr_threads > MAX_THREADS || requests < 1) {
		fprintf(stderr, "shim-server: --threads 2..%d, --requests >= 1\n", MAX_THREADS);
		return 2;
	}
	pthread_barrier_init(&start, NULL, nr_threads);
	for (unsigned int i = 0; i < nr_threads; i++) {
		workers[i].id = i;
		workers[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		pthread_mutex_init(&workers[i].in.lock, NULL);
	}
	for (unsigned int i = 0; i < nr_threads; i++) {
		if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i])) {
			fprintf(stderr, "shim-server: pthread_create failed\n");
			return 3;
		}
	}
	for (unsigned int i = 0; i < nr_threads; i++) {
		pthread_join(workers[i].tid, NULL);
		t0 = workers[i].t_start < t0 ? workers[i].t_start : t0;
		t1 = workers[i].t_end > t1 ? workers[i].t_end : t1;
		allocs += workers[i].allocs;
		handoffs += workers[i].handoffs;
		bad += workers[i].bad;
		sum += workers[i].checksum;
	}
	printf("@server ns_per_request=%.1f requests=%llu allocs=%llu handoffs=%llu "
	       "hwm_kib=%ld bad=%llu checksum=%llu\n",
	       (double)(t1 - t0) / (double)(requests * nr_threads),
	       (unsigned long long)(requests * nr_threads), (unsigned long long)allocs,
	       (unsigned long long)handoffs, vm_hwm_kib(), (unsigned long long)bad,
	       (unsigned long long)sum);
	return bad ? 1 : 0;
}
