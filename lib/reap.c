// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/reap.c - giving memory back: draining per-CPU and shared arrays into
 * the node lists, freeing free slabs, and the periodic reaper (mm/slab.c
 * cache_reap): an array untouched since the last pass loses a fifth of its
 * limit, a node whose free slabs were not used loses a fifth of its free
 * objects' worth of slabs. The reaper is a background thread here, off unless
 * asked for (uslab_reaper_start, USLAB_REAP_MS), and uslab_reap() runs one
 * pass on demand.
 *
 * reaper_lock (LOCK_LEAF) protects the thread's state; the pass itself takes
 * cpus_read_lock then slab_mutex by trylock, as the kernel does, so a busy
 * management call simply skips a pass.
 */
#include "lib/slab.h"

#include <errno.h>
#include <string.h>
#include <time.h>

void drain_cpu_array(struct kmem_cache *s, int cpu, bool force)
{
	void *batch[SLAB_MAX_BATCH];

	for (;;) {
		unsigned int tofree;
		int nid;

		struct array_cache *ac = cpu_cache_own(s, cpu);
		if (!ac || !ac->avail) {
			cpu_cache_release(s, cpu, ac);
			return;
		}
		if (!force && ac->touched) {
			ac->touched = 0;
			cpu_cache_release(s, cpu, ac);
			return;
		}
		if (force) {
			tofree = ac->avail;
		} else {
			tofree = (ac->limit + 4) / 5;
			if (tofree > ac->avail)
				tofree = (ac->avail + 1) / 2;
		}
		tofree = MIN(tofree, (unsigned int)SLAB_MAX_BATCH);
		memcpy(batch, ac->entry, tofree * sizeof(void *));
		ac->avail -= tofree;
		memmove(ac->entry, &ac->entry[tofree], ac->avail * sizeof(void *));
		nid = ac->nid;
		cpu_cache_release(s, cpu, ac);

		node_put_objects(s, nid, batch, tofree, false);
		if (!force)
			return;
	}
}

void drain_alien_arrays(struct kmem_cache *s, int cpu, int nid, bool trylock)
{
	struct cpu_cache_slot *slot = &s->cpu_slot[cpu];
	void *batch[ALIEN_LIMIT];

	for (int i = 0; i < (int)nr_node_ids; i++) {
		unsigned int nr = 0;

		if (nid != NUMA_NO_NODE && i != nid)
			continue;
		if (trylock) {
			if (!umutex_trylock(&slot->lock))
				return;
		} else {
			umutex_lock(&slot->lock);
		}
		struct array_cache *alien = slot->alien ? slot->alien[i] : NULL;
		if (alien && alien->avail) {
			nr = alien->avail;
			memcpy(batch, alien->entry, nr * sizeof(void *));
			alien->avail = 0;
		}
		umutex_unlock(&slot->lock);
		if (nr)
			node_put_objects(s, i, batch, nr, true);
	}
}

void drain_shared_array(struct kmem_cache *s, int nid, bool force)
{
	struct kmem_cache_node *n = cache_node(s, nid);
	struct list_head to_destroy = LIST_HEAD_INIT(to_destroy);

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
	}
	umutex_unlock(&n->list_lock);
	slabs_destroy(s, &to_destroy);
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

static unsigned long cache_reap_one(struct kmem_cache *s, int alien_node)
{
	unsigned long freed = 0;

	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++) {
		drain_alien_arrays(s, cpu, alien_node, true);
		drain_cpu_array(s, cpu, false);
	}
	for (int nid = 0; nid < (int)nr_node_ids; nid++) {
		struct kmem_cache_node *n = cache_node(s, nid);
		bool touched;

		if (!n)
			continue;
		drain_shared_array(s, nid, false);
		umutex_lock(&n->list_lock);
		touched = n->free_touched;
		n->free_touched = false;
		umutex_unlock(&n->list_lock);
		if (!touched)
			freed += drain_freelist(s, nid, (n->free_limit + 5 * s->num - 1) / (5 * s->num));
	}
	return freed;
}

unsigned long uslab_reap(void)
{
	struct kmem_cache *s;
	unsigned long freed = 0;

	if (uslab_ensure_init())
		return 0;
	cpus_read_lock();
	if (umutex_trylock(&slab_mutex)) {
		int node = reap_node;

		reap_node = (node + 1) % (int)nr_node_ids;
		list_for_each_entry(s, &slab_caches, list)
			freed += cache_reap_one(s, node);
		umutex_unlock(&slab_mutex);
	}
	cpus_read_unlock();
	return freed;
}

/* ---- the background reaper ------------------------------------------------------ */

static struct {
	pthread_mutex_t lock;       /* protects the fields below */
	pthread_mutex_t pass;       /* held by the thread during a pass: fork waits for it */
	pthread_cond_t wake;
	pthread_t thread;
	bool running;
	bool stop;
	unsigned int period_ms;
} reaper = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	     0, false, false, 0 };
static pthread_once_t reaper_atfork_once = PTHREAD_ONCE_INIT;

/* fork: no pass runs while the process is copied; the child has no reaper thread. */
static void reaper_fork_prepare(void)
{
	pthread_mutex_lock(&reaper.pass);
	pthread_mutex_lock(&reaper.lock);
}

static void reaper_fork_parent(void)
{
	pthread_mutex_unlock(&reaper.lock);
	pthread_mutex_unlock(&reaper.pass);
}

static void reaper_fork_child(void)
{
	pthread_mutex_init(&reaper.lock, NULL);
	pthread_mutex_init(&reaper.pass, NULL);
	pthread_cond_init(&reaper.wake, NULL);
	reaper.running = false;
}

static void reaper_atfork_register(void)
{
	pthread_atfork(reaper_fork_prepare, reaper_fork_parent, reaper_fork_child);
}

static void *reaper_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&reaper.lock);
	while (!reaper.stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += reaper.period_ms / 1000;
		ts.tv_nsec += (long)(reaper.period_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&reaper.wake, &reaper.lock, &ts) == ETIMEDOUT &&
		    !reaper.stop) {
			pthread_mutex_unlock(&reaper.lock);
			pthread_mutex_lock(&reaper.pass);
			uslab_reap();
			pthread_mutex_unlock(&reaper.pass);
			/* Published statistics ride on the pass when one is due. */
			stats_reaper_tick();
			pthread_mutex_lock(&reaper.lock);
		}
	}
	pthread_mutex_unlock(&reaper.lock);
	return NULL;
}

int uslab_reaper_start(unsigned int period_ms)
{
	int err = 0;

	if (period_ms == 0)
		return -EINVAL;
	err = uslab_ensure_init();
	if (err)
		return err;
	pthread_once(&reaper_atfork_once, reaper_atfork_register);
	pthread_mutex_lock(&reaper.lock);
	if (reaper.running) {
		reaper.period_ms = period_ms;
		pthread_cond_signal(&reaper.wake);
	} else {
		reaper.period_ms = period_ms;
		reaper.stop = false;
		err = -pthread_create(&reaper.thread, NULL, reaper_main, NULL);
		reaper.running = err == 0;
	}
	pthread_mutex_unlock(&reaper.lock);
	return err;
}

void uslab_reaper_stop(void)
{
	pthread_t thread;

	pthread_mutex_lock(&reaper.lock);
	if (!reaper.running) {
		pthread_mutex_unlock(&reaper.lock);
		return;
	}
	reaper.stop = true;
	reaper.running = false;
	thread = reaper.thread;
	pthread_cond_signal(&reaper.wake);
	pthread_mutex_unlock(&reaper.lock);
	pthread_join(thread, NULL);
}
