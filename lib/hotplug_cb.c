// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/hotplug_cb.c - the slab layer's answers to CPU and memory-node hotplug,
 * after mm/slab.c: a CPU coming up gets its arrays before it is marked
 * online (allocation failure rolls the CPU back); a CPU that died has its
 * array and alien arrays drained into their nodes, its node's free_limit
 * lowered, and, when it was the node's last CPU, the node's shared array
 * drained and freed. A thread still running on a dead CPU finds no array and
 * goes to the node lists directly.
 *
 * A memory node going offline is isolated (nothing is allocated from it),
 * every array is emptied of its objects and its free slabs are released; if
 * any cache still has objects there, or a kmalloc_large block holds pages
 * there, the offline is vetoed with -EBUSY and the isolation lifted. Once offline, the CPUs of that node take memory from
 * the nearest online node; when it comes back they return to it.
 *
 * Callbacks run under the hotplug write side (cpus, or cpus-read + mems) and
 * take slab_mutex only: slab_lock_all() would re-take the locks the caller
 * already holds for writing.
 */
#include "lib/slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int slab_cpu_mem_nodes[USLAB_NR_CPUS];

/* Nearest online memory node to @nid, or -1 when none is (cannot happen: hotplug keeps one). */
static int nearest_online_node(int nid, int except)
{
	int order[USLAB_MAX_NUMNODES];
	unsigned int nr = topology_nodes_by_distance(nid, order, ARRAY_SIZE(order));

	for (unsigned int i = 0; i < nr; i++)
		if (order[i] != except && node_online(order[i]))
			return order[i];
	return -1;
}

/* free_limit = (1 + online CPUs of the node) * batchcount + num; @coming counts a CPU on its way up. */
static void node_update_free_limit(struct kmem_cache *s, int nid, unsigned int coming)
{
	struct kmem_cache_node *n = s->node[nid];

	if (!n)
		return;
	umutex_lock(&n->list_lock);
	if (!cache_is_child(s) || !s->memcg_params.dying)
		n->free_limit = (1 + hotplug_nr_online_cpus_node(nid) + coming) * s->batchcount +
				s->num;
	umutex_unlock(&n->list_lock);
}

/* ---- CPU hotplug ---------------------------------------------------------------- */

/* Empty and free @cpu's array and alien arrays of @s. */
static void cache_release_cpu(struct kmem_cache *s, int cpu)
{
	struct cpu_cache_cold *cold = cpu_cold(s, cpu);
	struct array_cache **alien;

	umutex_lock(&cold->lock);
	alien = cold->alien;
	cold->alien = NULL;
	umutex_unlock(&cold->lock);
	cpu_array_remove(s, cpu);
	for (int nid = 0; alien && nid < (int)nr_node_ids; nid++)
		if (alien[nid])
			array_release(s, alien[nid]);
	free(alien);
}

/* CPUHP_BP_PREPARE_DYN startup: arrays for every cache before @cpu is online. */
static int slab_prepare_cpu(unsigned int cpu)
{
	int nid = slab_cpu_mem_node((int)cpu);
	struct kmem_cache *s;
	int err = 0;

	umutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		bool has = cpu_cache_own(s, (int)cpu) != NULL;

		cpu_cache_release(s, (int)cpu);
		/* Already has one (registration on an online CPU). */
		if (has)
			continue;
		if (cache_alloc_aliens(s, (int)cpu) < 0 ||
		    cpu_array_install(s, (int)cpu, s->limit, s->batchcount) < 0) {
			err = -ENOMEM;
			break;
		}
		/* PREPARE runs before the CPU counts as online: count it here. */
		node_update_free_limit(s, cpu_to_node((int)cpu), 1);

		struct kmem_cache_node *n = s->node[nid];
		if (n && s->shared && !n->shared) {
			struct array_cache *shared = array_alloc(s->shared * s->batchcount,
								 s->batchcount, nid);
			umutex_lock(&n->list_lock);
			if (!n->shared) {
				n->shared = shared;
				shared = NULL;
			}
			umutex_unlock(&n->list_lock);
			free(shared);
		}
	}
	if (err) {
		/* Undo this CPU's arrays: the CPU stays offline. */
		list_for_each_entry(s, &slab_caches, list)
			cache_release_cpu(s, (int)cpu);
	}
	umutex_unlock(&slab_mutex);
	return err;
}

/* CPUHP_BP_PREPARE_DYN teardown: @cpu is offline; give its objects back. */
static int slab_dead_cpu(unsigned int cpu)
{
	int nid = cpu_to_node((int)cpu); /* the node whose CPU count dropped */
	struct kmem_cache *s;

	umutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		struct kmem_cache_node *n = s->node[nid];

		cache_release_cpu(s, (int)cpu);
		if (!n)
			continue;
		node_update_free_limit(s, nid, 0);
		if (hotplug_nr_online_cpus_node(nid) == 0) {
			/* The node's last CPU: nobody refills from its shared array now. */
			umutex_lock(&n->list_lock);
			struct array_cache *shared = n->shared;
			n->shared = NULL;
			umutex_unlock(&n->list_lock);
			if (shared)
				array_release(s, shared);
		}
		drain_freelist(s, nid, ~0ul);
	}
	umutex_unlock(&slab_mutex);
	return 0;
}

/* ---- memory-node hotplug --------------------------------------------------------- */

static void node_set_isolated(int nid, bool isolated)
{
	struct kmem_cache *s;

	list_for_each_entry(s, &slab_caches, list) {
		struct kmem_cache_node *n = s->node[nid];
		if (!n)
			continue;
		umutex_lock(&n->list_lock);
		n->isolated = isolated;
		umutex_unlock(&n->list_lock);
	}
}

/* Empty every array of @s of node @nid's objects and free the node's free slabs. */
static unsigned long cache_drain_node(struct kmem_cache *s, int nid)
{
	struct kmem_cache_node *n = s->node[nid];
	unsigned long in_use;

	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++) {
		struct array_cache *ac = cpu_cache_own(s, cpu);
		bool mine = ac && ac->nid == nid;

		cpu_cache_release(s, cpu);
		if (mine)
			drain_cpu_array(s, cpu, true);
		drain_alien_arrays(s, cpu, nid, false);
	}
	drain_shared_array(s, nid, true);
	drain_freelist(s, nid, ~0ul);
	umutex_lock(&n->list_lock);
	in_use = n->total_slabs;
	umutex_unlock(&n->list_lock);
	return in_use;
}

/* Point the arrays of CPUs whose memory node changes at their new node. */
static void cpus_move_mem_node(void)
{
	struct kmem_cache *s;

	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++) {
		int home = cpu_to_node(cpu);
		int nid = node_online(home) ? home : nearest_online_node(home, -1);

		if (nid < 0 || nid == slab_cpu_mem_node(cpu))
			continue;
		WRITE_ONCE(slab_cpu_mem_nodes[cpu], nid);
		list_for_each_entry(s, &slab_caches, list) {
			void *old_objs[SLAB_MAX_LIMIT];
			unsigned int nr = 0;
			int old_nid = -1;

			/* Empty the array and change its node in one section. */
			struct array_cache *ac = cpu_cache_own(s, cpu);
			if (ac) {
				nr = ac->avail;
				old_nid = ac->nid;
				memcpy(old_objs, ac->entry, nr * sizeof(void *));
				ac->avail = 0;
				ac->nid = nid;
			}
			cpu_cache_release(s, cpu);
			for (unsigned int done = 0; done < nr; done += SLAB_MAX_BATCH)
				node_put_objects(s, old_nid, &old_objs[done],
						 MIN(nr - done, (unsigned int)SLAB_MAX_BATCH), false);
		}
	}
}

static int slab_memory_callback(struct notifier_block *nb, unsigned long action, void *data)
{
	int nid = ((struct memory_notify *)data)->status_change_nid;
	struct kmem_cache *s;
	int err = 0;

	(void)nb;
	if (nid < 0 || nid >= (int)nr_node_ids)
		return NOTIFY_OK;
	umutex_lock(&slab_mutex);
	switch (action) {
	case MEM_GOING_ONLINE:
		list_for_each_entry(s, &slab_caches, list) {
			struct kmem_cache_node *n;
			unsigned int cpus = hotplug_nr_online_cpus_node(nid);

			if (s->node[nid])
				continue;
			n = node_alloc();
			if (!n) {
				err = -ENOMEM;
				break;
			}
			/* As a cache created now would have it (kernel init_cache_node). */
			n->free_limit = (1 + cpus) * s->batchcount + s->num;
			if (s->shared && cpus)
				n->shared = array_alloc(s->shared * s->batchcount, s->batchcount, nid);
			__atomic_store_n(&s->node[nid], n, __ATOMIC_RELEASE);
		}
		break;
	case MEM_ONLINE:
		node_set_isolated(nid, false);
		kmalloc_large_isolate_node(nid, false);
		cpus_move_mem_node();
		break;
	case MEM_GOING_OFFLINE: {
		unsigned long busy = 0;

		node_set_isolated(nid, true);
		/* Objects freed but held back by the ASan quarantine are free: let them go. */
		quarantine_flush(NULL);
		kmalloc_large_isolate_node(nid, true);
		list_for_each_entry(s, &slab_caches, list)
			if (s->node[nid])
				busy += cache_drain_node(s, nid);
		/* Live kmalloc_large blocks hold the node's pages as live objects do. */
		busy += kmalloc_large_node_live(nid);
		if (busy) {
			node_set_isolated(nid, false);
			kmalloc_large_isolate_node(nid, false);
			err = -EBUSY;
		}
		break;
	}
	case MEM_CANCEL_OFFLINE:
		node_set_isolated(nid, false);
		kmalloc_large_isolate_node(nid, false);
		break;
	case MEM_OFFLINE:
		cpus_move_mem_node();
		/* The node's page cache goes with it, whatever the decay. */
		topology_pages_purge(nid, true);
		break;
	default:
		break;
	}
	umutex_unlock(&slab_mutex);
	return notifier_from_errno(err);
}

static struct notifier_block slab_memory_nb = {
	.notifier_call = slab_memory_callback,
	.priority = 100, /* the kernel's SLAB_CALLBACK_PRI */
};

int slab_hotplug_init(void)
{
	int err = cpuhp_setup_state(CPUHP_BP_PREPARE_DYN, "slab:prepare", slab_prepare_cpu,
				    slab_dead_cpu);
	if (err < 0)
		return err;
	return register_memory_notifier(&slab_memory_nb);
}
