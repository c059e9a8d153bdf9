// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/fork.c - fork() is safe in the library itself, as glibc's malloc,
 * jemalloc and tcmalloc make it: pthread_atfork handlers, registered once
 * at initialisation, take every lock of every room before the process is
 * copied, so that no lock is held and no structure is half-changed by a
 * thread the child will not have; the parent handler releases them and the
 * child handler makes them new. A child may then allocate, free, kfree_rcu,
 * wait on the barrier, create and destroy caches and tenants.
 *
 * Prepare goes through the steps below in the global lock order
 * (private/lock.h), the parent and child handlers in the reverse order:
 *   worker pause    no background pass runs or starts (lib/worker.c)
 *   rcu             the fork gate, liburcu's call_rcu threads paused, the
 *                   kfree_rcu monitor's state (lib/rcu.c)
 *   init            lib's and topology's initialisation locks
 *   hotplug         cpu_hotplug_lock and mem_hotplug_lock, write sides
 *   slab_mutex      the cache list
 *   memcg tree      memcg_tree_lock
 *   cache lists     every node list_lock of every cache, children included
 *   cache arrays    every CPU slot lock of every cache
 *   leaves          memcg's (limit locks, handles, stocks), kfree_rcu's,
 *                   the page map's, the quarantine's, fault injection's,
 *                   the page provider's, and last the worker's own lock
 * Many locks of one level are held at once here only, so the mutexes are
 * taken without the debug witness (umutex_fork). The percpu semaphores and
 * the gate keep theirs, and the child resets the forking thread's record.
 *
 * Background threads (the worker, the kfree_rcu monitor, liburcu's call_rcu
 * threads) are not in the child; each comes back with the next use, and
 * liburcu restarts its own in call_rcu_after_fork_child().
 *
 * The cost is one lock and unlock per cache, node and CPU per fork: about
 * 400 mutexes for the 66 kmalloc caches of a 2-CPU machine.
 *
 * Between prepare and the parent or child handler, the forking thread holds
 * every lock (uslab_fork_owner: its mutex operations are no-ops), so other
 * atfork handlers of the process may still allocate and free, as glibc's
 * malloc allows. A condition wait inside the allocator cannot happen then:
 * the worker and the monitor are the only ones that wait, and they do not
 * run in the forking thread.
 */
#include "lib/slab.h"

#include <pthread.h>
#include <stdio.h>

static void fork_slab_mutex(enum fork_phase phase)
{
	umutex_fork(&slab_mutex, phase);
}

/* Every node list_lock of every cache (slab_mutex is held: the list is stable). */
static void fork_cache_lists(enum fork_phase phase)
{
	struct kmem_cache *s;

	list_for_each_entry(s, &slab_caches, list)
		for (int nid = 0; nid < USLAB_MAX_NUMNODES; nid++)
			if (s->node[nid])
				umutex_fork(&s->node[nid]->list_lock, phase);
}

/* Every CPU slot lock (array and alien arrays) of every cache. */
static void fork_cache_arrays(enum fork_phase phase)
{
	struct kmem_cache *s;

	list_for_each_entry(s, &slab_caches, list)
		for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
			umutex_fork(&cpu_cold(s, cpu)->lock, phase);
}

static void (*const fork_steps[])(enum fork_phase) = {
	worker_fork_pause,
	rcu_fork,
	init_fork,
	topology_fork_init,
	hotplug_fork,
	fork_slab_mutex,
	memcg_fork_tree,
	fork_cache_lists,
	fork_cache_arrays,
	memcg_fork_leaves,
	rcu_fork_leaves,
	pagemap_fork,
	quarantine_fork,
	fault_fork,
	topology_fork_pages,
	worker_fork_lock,
};

static void fork_prepare(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(fork_steps); i++)
		fork_steps[i](FORK_PREPARE);
	/* Every lock is ours now: this thread may allocate until parent or child. */
	uslab_fork_owner = true;
}

static void fork_parent(void)
{
	uslab_fork_owner = false;
	for (size_t i = ARRAY_SIZE(fork_steps); i-- > 0;)
		fork_steps[i](FORK_PARENT);
}

static void fork_child(void)
{
	uslab_fork_owner = false;
	for (size_t i = ARRAY_SIZE(fork_steps); i-- > 0;)
		fork_steps[i](FORK_CHILD);
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_register(void)
{
	/* Fails only without memory for glibc's record: fork stays as unsafe as before. */
	if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
		fprintf(stderr, "uslab: pthread_atfork failed: fork() of a threaded program may hang\n");
}

void slab_fork_init(void)
{
	pthread_once(&fork_once, fork_register);
}
