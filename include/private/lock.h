/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * private/lock.h - uslab's mutex, tagged with its place in the global lock
 * order, and the order itself. DESIGN.md states the same order; debug builds
 * (--enable-debug) check every acquisition against it with a per-thread
 * witness, as jemalloc's witness does.
 *
 * Lock order, outermost first:
 *   0 LOCK_RCU_GATE     rcu_fork_gate (lib/rcu.c): read side around the calls
 *                       into liburcu made with no other uslab lock held;
 *                       fork's prepare handler takes the write side
 *   1 LOCK_CPU_HOTPLUG  cpu_hotplug_lock (hotplug/): online CPU mask changes
 *   2 LOCK_MEM_HOTPLUG  mem_hotplug_lock (hotplug/): online node mask changes
 *   3 LOCK_SLAB_MUTEX   slab_mutex (lib/): the cache list, create/destroy/tune
 *   4 LOCK_MEMCG_TREE   memcg tree lock (memcg/): tenant tree shape and state
 *   5 LOCK_NODE_LIST    kmem_cache_node.list_lock (lib/): a node's slab lists
 *                       and shared array; never two at once
 *   6 LOCK_CPU_ARRAY    cpu_cache_slot.lock (lib/): one CPU's array and alien
 *                       arrays on the locked path; never two at once
 *   7 LOCK_LEAF         leaf locks (page map, page provider, counters, report,
 *                       the background worker): nothing is taken while
 *                       holding one
 * A thread may take a lock only when every lock it holds is of a lower level.
 *
 * fork(): lib/fork.c's prepare handler takes every lock of every room in this
 * order (many of one level at once, which only it may do, so without the
 * witness), the parent handler releases them and the child handler makes
 * them new (see doc/architecture.md, "fork").
 */
#ifndef USLAB_PRIVATE_LOCK_H
#define USLAB_PRIVATE_LOCK_H

#ifndef USLAB_BUILDING
#error "private/lock.h is internal to uslab"
#endif

#include <pthread.h>
#include "private/compiler.h"

enum lock_level {
	LOCK_RCU_GATE,
	LOCK_CPU_HOTPLUG,
	LOCK_MEM_HOTPLUG,
	LOCK_SLAB_MUTEX,
	LOCK_MEMCG_TREE,
	LOCK_NODE_LIST,
	LOCK_CPU_ARRAY,
	LOCK_LEAF,
	LOCK_NR_LEVELS
};

struct umutex {
	pthread_mutex_t m;
	enum lock_level level;
};

#define UMUTEX_INITIALIZER(lvl) { PTHREAD_MUTEX_INITIALIZER, (lvl) }

/* topology/base.c: the debug witness. */
void lock_witness_acquire(enum lock_level level, const char *what);
void lock_witness_release(enum lock_level level);
bool lock_witness_held(enum lock_level level);

/*
 * uslab locks (mutexes and semaphore sides) the calling thread holds, in
 * every build: a call into liburcu made with none held goes through the
 * fork gate (lib/rcu.c), one made with some held is kept from fork by them.
 */
extern USLAB_TLS unsigned int uslab_locks_held;

/*
 * Set in the forking thread between the end of fork's prepare handler and
 * the start of its parent or child handler: it holds every uslab lock, so
 * its mutex operations are no-ops. Another atfork handler of that thread
 * may allocate meanwhile, as glibc's malloc allows.
 */
extern USLAB_TLS bool uslab_fork_owner;

static inline void umutex_init(struct umutex *l, enum lock_level level)
{
	pthread_mutex_init(&l->m, NULL);
	l->level = level;
}

static inline void umutex_destroy(struct umutex *l)
{
	pthread_mutex_destroy(&l->m);
}

static inline void umutex_lock(struct umutex *l)
{
	if (unlikely(uslab_fork_owner))
		return;
	if (config_debug)
		lock_witness_acquire(l->level, "mutex");
	pthread_mutex_lock(&l->m);
	uslab_locks_held++;
}

static inline bool umutex_trylock(struct umutex *l)
{
	if (unlikely(uslab_fork_owner))
		return true;
	if (pthread_mutex_trylock(&l->m) != 0)
		return false;
	if (config_debug)
		lock_witness_acquire(l->level, "mutex");
	uslab_locks_held++;
	return true;
}

static inline void umutex_unlock(struct umutex *l)
{
	if (unlikely(uslab_fork_owner))
		return;
	uslab_locks_held--;
	pthread_mutex_unlock(&l->m);
	if (config_debug)
		lock_witness_release(l->level);
}

/* The three moments of fork(), for the handlers of every room. */
enum fork_phase { FORK_PREPARE, FORK_PARENT, FORK_CHILD };

/*
 * umutex_fork - @l at fork: taken in prepare, released in the parent, made
 * new in the child. No witness: fork takes many locks of one level at once.
 */
static inline void umutex_fork(struct umutex *l, enum fork_phase phase)
{
	if (phase == FORK_PREPARE)
		pthread_mutex_lock(&l->m);
	else if (phase == FORK_PARENT)
		pthread_mutex_unlock(&l->m);
	else
		pthread_mutex_init(&l->m, NULL);
}

/* The same for a plain pthread mutex outside the witnessed order. */
static inline void pthread_mutex_fork(pthread_mutex_t *m, enum fork_phase phase)
{
	if (phase == FORK_PREPARE)
		pthread_mutex_lock(m);
	else if (phase == FORK_PARENT)
		pthread_mutex_unlock(m);
	else
		pthread_mutex_init(m, NULL);
}

/* The caller must hold a lock of this level (checked in debug builds). */
#define lockdep_assert_held(l) USLAB_ASSERT_INTERNAL(lock_witness_held((l)->level))

#endif /* USLAB_PRIVATE_LOCK_H */
