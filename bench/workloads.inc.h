/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/workloads.inc.h - the bodies of the timed loops, written once and
 * included by bench/workloads.c once per allocator family, so that every
 * allocator is called directly (no function pointer in the loop) from the
 * same code:
 *
 *   WL_NAME(x)      name of the instantiated function (x_uslab, x_libc)
 *   WL_LOCALS       declarations at the top of each loop (the cache handle)
 *   WL_ALLOC64()    one 64-byte object       WL_FREE64(p)  give it back
 *   WL_ALLOC(n)     n bytes (8 .. 1 MiB)     WL_FREE(p)    give it back
 *
 * Every object is written through its pointer and the pointer escapes
 * through an empty asm (wl_touch), so the compiler can neither elide an
 * allocation nor merge an alloc/free pair.
 *
 * No include guard: included on purpose more than once.
 */

/* (a) LIFO: alloc then free immediately. Return: a checksum. */
static USLAB_BENCH_NOINLINE uint64_t WL_NAME(lifo)(uint64_t pairs)
{
	WL_LOCALS;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < pairs; i++) {
		void *p = WL_ALLOC64();

		if (unlikely(!p))
			wl_oom("lifo");
		wl_touch(p, i);
		sum += *(uint64_t *)p;
		WL_FREE64(p);
	}
	return sum;
}

/* (b) batch: alloc @batch objects, then free them in allocation order. */
static USLAB_BENCH_NOINLINE uint64_t WL_NAME(batch)(uint64_t rounds, void **slot,
						    unsigned int batch)
{
	WL_LOCALS;
	uint64_t sum = 0;

	for (uint64_t r = 0; r < rounds; r++) {
		for (unsigned int j = 0; j < batch; j++) {
			void *p = WL_ALLOC64();

			if (unlikely(!p))
				wl_oom("batch");
			wl_touch(p, j);
			slot[j] = p;
		}
		for (unsigned int j = 0; j < batch; j++) {
			sum += *(uint64_t *)slot[j];
			WL_FREE64(slot[j]);
		}
	}
	return sum;
}

/*
 * Mixed sizes: each step frees the object in a pseudo-random slot of the
 * live ring (if any) and puts a new one of the sequence's next size there.
 * Both ends of every block are written.
 */
static USLAB_BENCH_NOINLINE uint64_t WL_NAME(mixed)(const struct mixed_seq *seq,
						    uint64_t steps, void **ring)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < steps; i++) {
		uint32_t k = (uint32_t)(i % seq->len);
		unsigned int slot = seq->slot[k];
		size_t size = seq->size[k];
		void *p;

		if (ring[slot]) {
			sum += *(uint64_t *)ring[slot];
			WL_FREE(ring[slot]);
		}
		p = WL_ALLOC(size);
		if (unlikely(!p))
			wl_oom("mixed");
		((unsigned char *)p)[size - 1] = (unsigned char)i;
		wl_touch(p, size);
		ring[slot] = p;
	}
	return sum;
}

/*
 * Producer/consumer: this thread allocates and hands objects over the ring.
 * Indices are published every SPSC_PUBLISH objects (and before waiting), so
 * the ring's own cache-line traffic stays small next to the allocator's.
 */
static void *WL_NAME(producer)(void *arg)
{
	WL_LOCALS;
	struct pc_args *a = arg;
	struct spsc_ring *q = a->ring;
	uint64_t tail = 0, cached_head = 0;

	wl_pin_self(a->cpu);
	pthread_barrier_wait(&a->start);
	a->t_start[0] = bench_now_ns();
	for (uint64_t i = 0; i < a->pairs; i++) {
		void *p = WL_ALLOC64();

		if (unlikely(!p))
			wl_oom("producer");
		wl_touch(p, i);
		if (tail - cached_head == SPSC_SIZE) {
			/* Full: publish what we have, then wait for room. */
			atomic_store_explicit(&q->tail, tail, memory_order_release);
			for (unsigned int spins = 0;; spins++) {
				cached_head = atomic_load_explicit(&q->head,
								   memory_order_acquire);
				if (tail - cached_head < SPSC_SIZE)
					break;
				wl_spin_wait(spins);
			}
		}
		q->slot[tail++ & (SPSC_SIZE - 1)] = p;
		if (tail % SPSC_PUBLISH == 0)
			atomic_store_explicit(&q->tail, tail, memory_order_release);
	}
	atomic_store_explicit(&q->tail, tail, memory_order_release);
	a->t_end[0] = bench_now_ns();
	return NULL;
}

/* ... and this one takes them off the ring, checks and frees them. */
static void *WL_NAME(consumer)(void *arg)
{
	WL_LOCALS;
	struct pc_args *a = arg;
	struct spsc_ring *q = a->ring;
	uint64_t head = 0, cached_tail = 0;

	wl_pin_self(a->cpu2);
	pthread_barrier_wait(&a->start);
	a->t_start[1] = bench_now_ns();
	for (uint64_t i = 0; i < a->pairs; i++) {
		void *p;

		if (head == cached_tail) {
			/* Empty: hand back the room we made, then wait for more. */
			atomic_store_explicit(&q->head, head, memory_order_release);
			for (unsigned int spins = 0;; spins++) {
				cached_tail = atomic_load_explicit(&q->tail,
								   memory_order_acquire);
				if (head != cached_tail)
					break;
				wl_spin_wait(spins);
			}
		}
		p = q->slot[head++ & (SPSC_SIZE - 1)];
		if (head % SPSC_PUBLISH == 0)
			atomic_store_explicit(&q->head, head, memory_order_release);
		if (unlikely(*(uint64_t *)p != i))
			a->bad++;
		WL_FREE64(p);
	}
	a->t_end[1] = bench_now_ns();
	return NULL;
}

/*
 * Thread scaling: rounds of SCALE_BATCH LIFO pairs then one batch of
 * SCALE_BATCH objects, on the shared cache; every alloc and free is counted.
 */
static void WL_NAME(scale_rounds)(struct scale_thread *t, uint64_t rounds)
{
	WL_LOCALS;
	void *slot[SCALE_BATCH];

	for (uint64_t r = 0; r < rounds; r++) {
		for (unsigned int j = 0; j < SCALE_BATCH; j++) {
			void *p = WL_ALLOC64();

			if (unlikely(!p))
				wl_oom("scale");
			t->allocs++;
			wl_touch(p, j);
			WL_FREE64(p);
			t->frees++;
		}
		for (unsigned int j = 0; j < SCALE_BATCH; j++) {
			void *p = WL_ALLOC64();

			if (unlikely(!p))
				wl_oom("scale");
			t->allocs++;
			wl_touch(p, j);
			slot[j] = p;
		}
		for (unsigned int j = 0; j < SCALE_BATCH; j++) {
			if (unlikely(*(uint64_t *)slot[j] != j))
				t->bad++;
			WL_FREE64(slot[j]);
			t->frees++;
		}
	}
}

static void *WL_NAME(scale_thread)(void *arg)
{
	struct scale_thread *t = arg;

	WL_NAME(scale_rounds)(t, t->warm_rounds);
	pthread_barrier_wait(t->start);
	t->t_start = bench_now_ns();
	WL_NAME(scale_rounds)(t, t->rounds);
	t->t_end = bench_now_ns();
	return NULL;
}

/* RSS: @n live objects, pointers kept in @ptr; then free them all. */
static void WL_NAME(rss_fill)(void **ptr, uint64_t n)
{
	WL_LOCALS;

	for (uint64_t i = 0; i < n; i++) {
		void *p = WL_ALLOC64();

		if (unlikely(!p))
			wl_oom("rss");
		wl_touch(p, i);
		ptr[i] = p;
	}
}

static void WL_NAME(rss_drain)(void **ptr, uint64_t n)
{
	WL_LOCALS;

	for (uint64_t i = 0; i < n; i++)
		WL_FREE64(ptr[i]);
}

/*
 * Burst: allocate the @n blocks of sizes @size[], writing each block's first
 * and last byte and one byte in every page between (wl_fill); then free
 * them all in allocation order. Return: a checksum.
 */
static USLAB_BENCH_NOINLINE uint64_t WL_NAME(burst_fill)(void **ptr, const uint32_t *size,
							 uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		void *p = WL_ALLOC(size[i]);

		if (unlikely(!p))
			wl_oom("burst");
		wl_fill(p, size[i], i);
		ptr[i] = p;
	}
	return n;
}

static USLAB_BENCH_NOINLINE uint64_t WL_NAME(burst_drain)(void **ptr, uint32_t n)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < n; i++) {
		sum += *(unsigned char *)ptr[i];
		WL_FREE(ptr[i]);
	}
	return sum;
}

static USLAB_BENCH_NOINLINE uint64_t WL_NAME(burst)(void **ptr, const uint32_t *size,
						    uint32_t n, uint64_t rounds)
{
	uint64_t sum = 0;

	for (uint64_t r = 0; r < rounds; r++) {
		sum += WL_NAME(burst_fill)(ptr, size, n);
		sum += WL_NAME(burst_drain)(ptr, n);
	}
	return sum;
}

/*
 * Large buffers: @steps replacements in a ring of @live blocks, the oldest
 * freed and a new one of the sequence's next size put in its place; every
 * page of each new block is written (wl_fill). Step i uses @size[i % @len].
 */
static USLAB_BENCH_NOINLINE uint64_t WL_NAME(large)(void **ring, unsigned int live,
						    const uint32_t *size, uint32_t len,
						    uint64_t first, uint64_t steps)
{
	uint64_t sum = 0;

	for (uint64_t i = first; i < first + steps; i++) {
		unsigned int slot = (unsigned int)(i % live);
		uint32_t n = size[i % len];
		void *p;

		if (ring[slot]) {
			sum += *(unsigned char *)ring[slot];
			WL_FREE(ring[slot]);
		}
		p = WL_ALLOC(n);
		if (unlikely(!p))
			wl_oom("large");
		wl_fill(p, n, i);
		ring[slot] = p;
	}
	return sum;
}
