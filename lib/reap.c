// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/reap.c - giving memory back: draining per-CPU and shared arrays into
 * the node lists, freeing free slabs, and the periodic reaper (mm/slab.c
 * cache_reap): an array untouched since the last pass loses a fifth of its
 * limit, a node whose free slabs were not used loses a fifth of its free
 * objects' worth of slabs. The passes are a work item of the background
 * worker (lib/worker.c): every period while anything is cached, idle after
 * that until objects return to a node again; uslab_reap() runs one pass on
 * demand. The period follows the page cache's decay (reap_default_period),
 * USLAB_REAP_MS or uslab_reaper_start() choose another.
 *
 * The page cache's decay is the other work item here: topology's pages free
 * for the decay period go back to the OS; uslab_trim() empties every array,
 * every free slab and the page cache at once.
 *
 * A pass takes cpus_read_lock then slab_mutex by trylock, as the kernel
 * does, so a busy management call simply skips a pass.
 */
#include "lib/slab.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/*
 * Back towards the cache's limit: an array grown by adaptive sizing goes to
 * half its limit, or to the cache's when @to_base, but never below @floor
 * (the objects it holds now, less what the caller is about to drain).
 * Owner held.
 */
static void cpu_array_shrink(struct kmem_cache *s, struct array_cache *ac, bool to_base,
			     unsigned int floor)
{
	unsigned int base = READ_ONCE(s->limit), limit;

	if (ac->limit <= base || s->tuned)
		return;
	limit = MAX(to_base ? base : MAX(base, ac->limit / 2), floor);
	if (limit >= ac->limit)
		return;
	ac->limit = limit;
	ac->batchcount = limit == base ? READ_ONCE(s->batchcount)
				       : MIN((limit + 1) / 2, (unsigned int)SLAB_MAX_BATCH);
}

/*
 * Drain CPU @cpu's array of @s. @force: all of it (and an array grown by
 * adaptive sizing goes back to the cache's limit). Otherwise the reaper's
 * step: an array touched since the last pass only loses its mark; an idle
 * one gives back a fifth of its limit and, if grown, halves its limit.
 * Return: whether objects are left in the array.
 */
bool drain_cpu_array(struct kmem_cache *s, int cpu, bool force)
{
	void *batch[SLAB_MAX_BATCH];

	for (;;) {
		unsigned int tofree, left;
		int nid;

		struct array_cache *ac = cpu_cache_own(s, cpu);
		if (!ac || !ac->avail) {
			if (ac && force)
				cpu_array_shrink(s, ac, true, 0);
			cpu_cache_release(s, cpu);
			return false;
		}
		if (!force && ac->touched) {
			ac->touched = 0;
			cpu_cache_release(s, cpu);
			return true;
		}
		if (force) {
			tofree = ac->avail;
		} else {
			/* avail <= limit holds whenever the array is released: one step. */
			cpu_array_shrink(s, ac, false, ac->avail - MIN(ac->avail, (unsigned int)SLAB_MAX_BATCH));
			tofree = (ac->limit + 4) / 5;
			if (tofree > ac->avail)
				tofree = (ac->avail + 1) / 2;
			tofree = MAX(tofree, ac->avail - MIN(ac->avail, ac->limit));
		}
		tofree = MIN(tofree, (unsigned int)SLAB_MAX_BATCH);
		memcpy(batch, ac->entry, tofree * sizeof(void *));
		ac->avail -= tofree;
		memmove(ac->entry, &ac->entry[tofree], ac->avail * sizeof(void *));
		nid = ac->nid;
		left = ac->avail;
		if (force && !left)
			cpu_array_shrink(s, ac, true, 0);
		cpu_cache_release(s, cpu);

		node_put_objects(s, nid, batch, tofree, false);
		if (!force || !left)
			return left != 0;
	}
}

void drain_alien_arrays(struct kmem_cache *s, int cpu, int nid, bool trylock)
{
	struct cpu_cache_cold *cold = cpu_cold(s, cpu);
	void *batch[ALIEN_LIMIT];

	for (int i = 0; i < (int)nr_node_ids; i++) {
		unsigned int nr = 0;

		if (nid != NUMA_NO_NODE && i != nid)
			continue;
		if (trylock) {
			if (!umutex_trylock(&cold->lock))
				return;
		} else {
			umutex_lock(&cold->lock);
		}
		struct array_cache *alien = cold->alien ? cold->alien[i] : NULL;
		if (alien && alien->avail) {
			nr = alien->avail;
			memcpy(batch, alien->entry, nr * sizeof(void *));
			alien->avail = 0;
		}
		umutex_unlock(&cold->lock);
		if (nr)
			node_put_objects(s, i, batch, nr, true);
	}
}

bool drain_shared_array(struct kmem_cache *s, int nid, bool force)
{
	struct kmem_cache_node *n = cache_node(s, nid);
	struct list_head to_destroy = LIST_HEAD_INIT(to_destroy);
	bool left = false;

	umutex_lock(&n->list_lock);
	struct array_cache *ac = n->shared;
	if (ac && ac->avail) {
		if (!force && ac->touched) {
			ac->touched = 0;
		} else {
			unsigned int tofree = force ? ac->avail : (ac->limit + 4) / 5;

			if (tofree > ac->avail)
				tofree = (ac->avail + 1) / 2;
			node_free_block_locked(s, n, ac->entry, tofree, &to_destroy);
			ac->avail -= tofree;
			memmove(ac->entry, &ac->entry[tofree], ac->avail * sizeof(void *));
		}
		left = ac->avail != 0;
	}
	umutex_unlock(&n->list_lock);
	slabs_destroy(s, &to_destroy);
	return left;
}

unsigned long drain_freelist(struct kmem_cache *s, int nid, unsigned long tofree)
{
	struct kmem_cache_node *n = cache_node(s, nid);
	struct list_head to_destroy = LIST_HEAD_INIT(to_destroy);
	unsigned long freed = 0;

	umutex_lock(&n->list_lock);
	while (freed < tofree && !list_empty(&n->slabs_free)) {
		struct slab *slab = list_last_entry(&n->slabs_free, struct slab, list);

		list_move(&slab->list, &to_destroy);
		n->free_objects -= s->num;
		n->free_slabs--;
		n->total_slabs--;
		freed++;
	}
	umutex_unlock(&n->list_lock);
	slabs_destroy(s, &to_destroy);
	return freed;
}

/* Node whose alien arrays the next pass drains (kernel reap_alien's round robin). */
static int reap_node;

/*
 * Whether a pass should own @cpu's array of @s at all. In rseq mode owning
 * another CPU's array costs a membarrier() that interrupts that CPU, so the
 * pass first peeks: an empty array is left alone, and a touched one only
 * loses its touched mark (a racy store: the worst case is one pass that
 * drains an array in use a little early). A closed array (owned, or its
 * CPU offline) is left for later. In
 * locked mode owning is only taking an uncontended mutex.
 */
static bool reap_wants_array(struct kmem_cache *s, int cpu, bool *cached)
{
	struct array_cache *ac = &s->cpu_slot[cpu].ac;

	if (!slab_rseq_mode)
		return true;
	if (__atomic_load_n(&ac->closed, __ATOMIC_ACQUIRE) != ARRAY_OPEN || !READ_ONCE(ac->avail))
		return false;
	*cached = true;
	if (READ_ONCE(ac->touched)) {
		WRITE_ONCE(ac->touched, 0);
		return false;
	}
	return true;
}

/*
 * One kernel cache_reap pass over @s. *@cached is set when objects are
 * still cached anywhere in @s (arrays, free slabs) for a later pass.
 */
static unsigned long cache_reap_one(struct kmem_cache *s, int alien_node, bool *cached)
{
	unsigned long freed = 0;

	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++) {
		drain_alien_arrays(s, cpu, alien_node, true);
		if (reap_wants_array(s, cpu, cached))
			*cached |= drain_cpu_array(s, cpu, false);
	}
	for (int nid = 0; nid < (int)nr_node_ids; nid++) {
		struct kmem_cache_node *n = cache_node(s, nid);
		bool touched;

		if (!n)
			continue;
		*cached |= drain_shared_array(s, nid, false);
		umutex_lock(&n->list_lock);
		touched = n->free_touched;
		n->free_touched = false;
		umutex_unlock(&n->list_lock);
		if (!touched)
			freed += drain_freelist(s, nid, (n->free_limit + 5 * s->num - 1) / (5 * s->num));
		/* Alien arrays of other nodes, partial slabs: counted by READ_ONCE, a hint. */
		*cached |= READ_ONCE(n->free_slabs) != 0;
	}
	return freed;
}

/* One pass over every cache; *@cached as for cache_reap_one(). */
static unsigned long reap_pass(bool *cached)
{
	struct kmem_cache *s;
	unsigned long freed = 0;

	cpus_read_lock();
	if (umutex_trylock(&slab_mutex)) {
		int node = reap_node;

		reap_node = (node + 1) % (int)nr_node_ids;
		list_for_each_entry(s, &slab_caches, list)
			freed += cache_reap_one(s, node, cached);
		umutex_unlock(&slab_mutex);
	} else {
		*cached = true; /* busy: try again next period */
	}
	cpus_read_unlock();
	return freed;
}

unsigned long uslab_reap(void)
{
	bool cached = false;

	if (uslab_ensure_init())
		return 0;
	return reap_pass(&cached);
}

/* ---- background work: the reaper and the page cache's decay ----------------------- */

static bool reap_work(void)
{
	bool cached = false;

	reap_pass(&cached);
	/* Published statistics ride on the pass when one is due. */
	stats_reaper_tick();
	return cached;
}

static bool decay_work(void)
{
	topology_pages_purge(NUMA_NO_NODE, false);
	return topology_pages_pooled(NUMA_NO_NODE) != 0;
}

/* Passes of the decay: a page freed at t goes back by t + decay + decay / DECAY_PASSES. */
#define DECAY_PASSES 4

void reap_decay_init(unsigned int decay_ms, bool lazy_free, int reap_ms)
{
	topology_pages_set_decay(decay_ms, lazy_free);
	worker_setup(WORK_DECAY, decay_work, decay_ms ? MAX(decay_ms / DECAY_PASSES, 1u) : 0, false);
	if (reap_ms < 0)
		reap_ms = (int)reap_default_period(decay_ms);
	worker_setup(WORK_REAP, reap_work, (unsigned int)reap_ms, false);
}

unsigned int reap_default_period(unsigned int decay_ms)
{
	/*
	 * Idle arrays lose a fifth per pass and idle free lists a fifth of
	 * free_limit: ten passes per decay period empty both within the period,
	 * so memory idle for a period is back in the page cache and leaves with
	 * the next. No decay: no reaper (the library before the page cache).
	 */
	if (!decay_ms)
		return 0;
	return MIN(MAX(decay_ms / 10, 10u), 2000u);
}

int uslab_reaper_start(unsigned int period_ms)
{
	int err;

	if (period_ms == 0)
		return -EINVAL;
	err = uslab_ensure_init();
	if (err)
		return err;
	worker_setup(WORK_REAP, reap_work, period_ms, true);
	return 0;
}

void uslab_reaper_stop(void)
{
	worker_setup(WORK_REAP, reap_work, 0, false);
	worker_wait_idle(WORK_REAP);
}

int uslab_decay_set(unsigned int decay_ms)
{
	int err;

	if (decay_ms > USLAB_DECAY_MS_MAX)
		return -EINVAL;
	err = uslab_ensure_init();
	if (err)
		return err;
	topology_pages_set_decay(decay_ms, topology_pages_lazy_free());
	worker_setup(WORK_DECAY, decay_work, decay_ms ? MAX(decay_ms / DECAY_PASSES, 1u) : 0,
		     topology_pages_pooled(NUMA_NO_NODE) != 0);
	if (!decay_ms)
		topology_pages_purge(NUMA_NO_NODE, true);
	return 0;
}

unsigned int uslab_decay_get(void)
{
	return topology_pages_decay_ms();
}

unsigned long uslab_trim(void)
{
	struct kmem_cache *s;

	if (uslab_ensure_init())
		return 0;
	/* Objects held back by the ASan quarantine keep their slabs: let them go. */
	quarantine_flush(NULL);
	slab_lock_all();
	list_for_each_entry(s, &slab_caches, list) {
		cache_drain_arrays(s);
		cache_drain_freelists(s);
	}
	slab_unlock_all();
	return topology_pages_purge(NUMA_NO_NODE, true) * PAGE_SIZE;
}
