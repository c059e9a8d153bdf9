/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * private/lock.h - uslab's mutex, tagged with its place in the global lock
 * order, and the order itself. DESIGN.md states the same order; debug builds
 * (--enable-debug) check every acquisition against it with a per-thread
 * witness, as jemalloc's witness does.
 *
 * Lock order, outermost first:
 *   0 LOCK_CPU_HOTPLUG  cpu_hotplug_lock (hotplug/): online CPU mask changes
 *   1 LOCK_MEM_HOTPLUG  mem_hotplug_lock (hotplug/): online node mask changes
 *   2 LOCK_SLAB_MUTEX   slab_mutex (lib/): the cache list, create/destroy/tune
 *   3 LOCK_MEMCG_TREE   memcg tree lock (memcg/): tenant tree shape and state
 *   4 LOCK_NODE_LIST    kmem_cache_node.list_lock (lib/): a node's slab lists
 *                       and shared array; never two at once
 *   5 LOCK_CPU_ARRAY    array_cache.lock (lib/): one per-CPU or alien array on
 *                       the locked path; never two at once
 *   6 LOCK_LEAF         leaf locks (page map, page provider, counters, report):
 *                       nothing is taken while holding one
 * A thread may take a lock only when every lock it holds is of a lower level.
 */
#ifndef USLAB_PRIVATE_LOCK_H
#define USLAB_PRIVATE_LOCK_H

#ifndef USLAB_BUILDING
#error "private/lock.h is internal to uslab"
#endif

#include <pthread.h>
#include "private/compiler.h"

enum lock_level {
	LOCK_CPU_HOTPLUG = 0,
	LOCK_MEM_HOTPLUG = 1,
	LOCK_SLAB_MUTEX = 2,
	LOCK_MEMCG_TREE = 3,
	LOCK_NODE_LIST = 4,
	LOCK_CPU_ARRAY = 5,
	LOCK_LEAF = 6,
	LOCK_NR_LEVELS
};

struct umutex {
	pthread_mutex_t m;
	enum lock_level level;
};

#define UMUTEX_INITIALIZER(lvl) { PTHREAD_MUTEX_INITIALIZER, (lvl) }

/* private/lock.c: the debug witness. */
void lock_witness_acquire(enum lock_level level, const char *what);
void lock_witness_release(enum lock_level level);
bool lock_witness_held(enum lock_level level);

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
	if (config_debug)
		lock_witness_acquire(l->level, "mutex");
	pthread_mutex_lock(&l->m);
}

static inline bool umutex_trylock(struct umutex *l)
{
	if (pthread_mutex_trylock(&l->m) != 0)
		return false;
	if (config_debug)
		lock_witness_acquire(l->level, "mutex");
	return true;
}

static inline void umutex_unlock(struct umutex *l)
{
	pthread_mutex_unlock(&l->m);
	if (config_debug)
		lock_witness_release(l->level);
}

/*
 * In a fork child, a lock the forking thread took in a prepare handler: made
 * new and unlocked (the thread that held it in the parent is gone or is
 * this one under another id).
 */
static inline void umutex_fork_child(struct umutex *l)
{
	pthread_mutex_init(&l->m, NULL);
	if (config_debug)
		lock_witness_release(l->level);
}

/* The caller must hold a lock of this level (checked in debug builds). */
#define lockdep_assert_held(l) USLAB_ASSERT_INTERNAL(lock_witness_held((l)->level))

#endif /* USLAB_PRIVATE_LOCK_H */
