// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/alloc.c - allocation: the per-CPU fast path (pop the newest object of
 * the CPU's array), the refill that moves up to batchcount objects from the
 * node's shared array, then partial and free slabs, growing a slab when the
 * node has none (mm/slab.c cache_alloc_refill), allocation from a given
 * node with fallback by distance, and the bulk call. A tenant that refused
 * the charge of a new slab is not asked again by the fallback for another
 * node: one failed allocation is one charge failure (one max and one oom
 * event), as the kernel charges once per allocation.
 *
 * The CPU array and the node lists are never locked together: refill takes
 * a batch out of the node under list_lock into an on-stack array, then puts
 * it in the CPU array under the CPU's lock, returning what does not fit.
 */
#include "lib/slab.h"

#include <errno.h>
#include <string.h>

/* First slab with a free object: partial ones first (kernel get_first_slab). */
static struct slab *node_first_slab_locked(struct kmem_cache_node *n)
{
	struct slab *slab;

	if (!list_empty(&n->slabs_partial))
		return list_first_entry(&n->slabs_partial, struct slab, list);
	if (list_empty(&n->slabs_free))
		return NULL;
	slab = list_first_entry(&n->slabs_free, struct slab, list);
	n->free_touched = true;
	n->free_slabs--;
	return slab;
}

static inline void *slab_get_obj(struct kmem_cache *s, struct slab *slab)
{
	return slab_index_to_obj(s, slab, slab->freelist[slab->active++]);
}

unsigned int node_take_objects(struct kmem_cache *s, int nid, gfp_t flags, void **objs,
			       unsigned int want, bool use_shared)
{
	struct kmem_cache_node *n = cache_node(s, nid);
	unsigned int got = 0;
	struct slab *slab;

	USLAB_ASSERT_INTERNAL(want > 0 && want <= SLAB_MAX_BATCH);
	for (;;) {
		umutex_lock(&n->list_lock);
		if (unlikely(n->isolated)) {
			/* The node is going offline: nothing may come from it. */
			umutex_unlock(&n->list_lock);
			return 0;
		}
		struct array_cache *shared = n->shared;
		if (use_shared && shared && shared->avail) {
			got = MIN(want, shared->avail);
			shared->avail -= got;
			memcpy(objs, &shared->entry[shared->avail], got * sizeof(void *));
			shared->touched = 1;
		}
		while (got < want && (slab = node_first_slab_locked(n)) != NULL) {
			unsigned int before = got;

			while (slab->active < s->num && got < want)
				objs[got++] = slab_get_obj(s, slab);
			n->free_objects -= got - before;
			list_move(&slab->list, slab->active == s->num ? &n->slabs_full
								   : &n->slabs_partial);
		}
		umutex_unlock(&n->list_lock);
		if (got) {
			/* They may end up cached in an array: the reaper looks after idle ones. */
			worker_kick(WORK_REAP);
			return got;
		}

		/*
		 * The tenant refused this allocation's charge already: charging
		 * again for another node would only count another max and oom
		 * event. What the node had is taken; nothing is grown.
		 */
		if (unlikely(slab_charge_refused))
			return 0;
		/* cache_grow_begin/end: build the slab unlocked, then publish it. */
		slab = slab_create(s, flags, nid);
		if (!slab)
			return 0;
		umutex_lock(&n->list_lock);
		if (unlikely(n->isolated)) {
			/*
			 * The node started going offline while the slab was built: it
			 * counted this node's slabs without this one, so it must not
			 * appear now. Its pages go back.
			 */
			umutex_unlock(&n->list_lock);
			slab_destroy(s, slab);
			return 0;
		}
		list_add_tail(&slab->list, &n->slabs_free);
		n->total_slabs++;
		n->free_slabs++;
		n->free_objects += s->num;
		umutex_unlock(&n->list_lock);
	}
}

/* One object from another node, nearest first, when @nid cannot give one. */
static void *alloc_fallback(struct kmem_cache *s, gfp_t flags, int nid)
{
	int order[USLAB_MAX_NUMNODES];
	unsigned int nr = topology_nodes_by_distance(nid, order, ARRAY_SIZE(order));
	void *obj;

	for (unsigned int i = 0; i < nr; i++) {
		if (order[i] == nid || !cache_node(s, order[i]) || !node_online(order[i]))
			continue;
		if (node_take_objects(s, order[i], flags, &obj, 1, true)) {
			cache_stat_add(s, STAT_NODE_ALLOC, 1);
			return obj;
		}
	}
	return NULL;
}

/*
 * Refill the calling CPU's array from node @nid with up to @want objects and
 * return one of them.
 */
static USLAB_NOINLINE void *cache_alloc_refill(struct kmem_cache *s, gfp_t flags, int nid,
					 unsigned int want)
{
	void *batch[SLAB_MAX_BATCH];
	struct array_cache *ac;
	unsigned int nr;
	void *obj;
	int cpu;

	nr = node_take_objects(s, nid, flags, batch, want, true);
	if (unlikely(nr == 0)) {
		obj = (flags & __GFP_THISNODE) ? NULL : alloc_fallback(s, flags, nid);
		if (!obj)
			errno = ENOMEM;
		return obj;
	}
	obj = batch[--nr];
	if (nr == 0)
		return obj;

	/* The thread may have moved: fill whichever array it is on now, if same node. */
	cpu = topology_current_cpu();
	ac = cpu_cache_own(s, cpu);
	if (likely(ac && ac->nid == nid)) {
		unsigned int k = MIN(nr, ac->limit - ac->avail);

		nr -= k;
		memcpy(&ac->entry[ac->avail], &batch[nr], k * sizeof(void *));
		ac->avail += k;
		ac->touched = 1;
	}
	cpu_cache_release(s, cpu);
	if (unlikely(nr))
		node_put_objects(s, nid, batch, nr, true);
	return obj;
}

/* One object of node @nid straight from its lists, or the nearest node's (not __GFP_THISNODE). */
static void *node_alloc_one(struct kmem_cache *s, gfp_t flags, int nid)
{
	void *obj;

	if (cache_node(s, nid) && node_online(nid) &&
	    node_take_objects(s, nid, flags, &obj, 1, true)) {
		cache_stat_add(s, STAT_NODE_ALLOC, 1);
		return obj;
	}
	obj = (flags & __GFP_THISNODE) ? NULL : alloc_fallback(s, flags, nid);
	if (!obj)
		errno = ENOMEM;
	return obj;
}

/*
 * The array was empty (or the CPU has none, or it holds another node's
 * objects than the @nid asked for): refill it, or go to the node. The array
 * is owned while its node is compared, so hotplug moving the CPU to another
 * node cannot slip an object of the wrong node in between.
 */
USLAB_NOINLINE void *cache_alloc_slow(struct kmem_cache *s, gfp_t flags, int want_nid)
{
	int cpu = topology_current_cpu();
	struct array_cache *ac = cpu_cache_own(s, cpu);
	unsigned int want = 1;
	bool grow = false;
	void *obj = NULL;
	int nid;

	slab_charge_refused = false; /* a new allocation: its own charge */
	if (want_nid != NUMA_NO_NODE && (!ac || ac->nid != want_nid)) {
		cpu_cache_release(s, cpu);
		return node_alloc_one(s, flags, want_nid);
	}
	if (ac && ac->avail) {
		/* Refilled by another thread of this CPU meanwhile. */
		ac->touched = 1;
		ac->alloc_hits++;
		obj = ac->entry[--ac->avail];
		cpu_cache_release(s, cpu);
		return obj;
	}
	if (likely(ac)) {
		struct cpu_cache_cold *cold = cpu_cold(s, cpu);

		cold->stats[STAT_ALLOC_MISS]++;
		grow = cpu_array_miss(s, ac, cold);
		want = ac->batchcount;
		/* An array nobody used lately gets a small refill (kernel BATCHREFILL_LIMIT). */
		if (!ac->touched && want > BATCHREFILL_LIMIT)
			want = BATCHREFILL_LIMIT;
		nid = ac->nid;
	} else {
		nid = slab_cpu_mem_node(cpu);
	}
	cpu_cache_release(s, cpu);
	if (unlikely(grow)) {
		/* Grown first, so that this refill already takes the larger batch. */
		unsigned int batch = cpu_array_grow(s, cpu);

		want = MAX(want, batch);
	}
	if (unlikely(!ac)) {
		/* A CPU without array (offline): take straight from the node. */
		if (node_take_objects(s, nid, flags, &obj, 1, true) == 0) {
			obj = (flags & __GFP_THISNODE) ? NULL : alloc_fallback(s, flags, nid);
			if (!obj)
				errno = ENOMEM;
		}
		return obj;
	}
	return cache_alloc_refill(s, flags, nid, want);
}

void *cache_alloc(struct kmem_cache *s, gfp_t flags)
{
	return cache_alloc_fast(s, flags);
}

void *cache_alloc_node(struct kmem_cache *s, gfp_t flags, int nid)
{
	void *obj;

	if (nid == NUMA_NO_NODE)
		return cache_alloc(s, flags);
	if (nid < 0 || nid >= (int)nr_node_ids) {
		errno = EINVAL;
		return NULL;
	}
	/* The CPU's array serves only when it holds objects of @nid. */
	obj = cpu_cache_pop_node(s, nid);
	if (likely(obj))
		return obj;
	return cache_alloc_slow(s, flags, nid);
}

USLAB_NOINLINE void *slab_alloc_node_slow(struct kmem_cache *s, gfp_t flags, int nid,
					  const void *caller)
{
	return slab_alloc_node(s, flags, nid, caller);
}

void *kmem_cache_alloc(struct kmem_cache *s, gfp_t flags)
{
	void *obj;

	if (likely(s)) {
		obj = slab_alloc_fast(s, flags);
		if (likely(obj))
			return obj;
	}
	return slab_alloc_node_slow(s, flags, NUMA_NO_NODE, __builtin_return_address(0));
}

void *kmem_cache_alloc_lru(struct kmem_cache *s, struct list_lru *lru, gfp_t flags)
{
	(void)lru;
	return slab_alloc_node(s, flags, NUMA_NO_NODE, __builtin_return_address(0));
}

void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t flags)
{
	return slab_alloc_node(s, flags | __GFP_ZERO, NUMA_NO_NODE, __builtin_return_address(0));
}

void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t flags, int node)
{
	return slab_alloc_node(s, flags, node, __builtin_return_address(0));
}

int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t flags, size_t size, void **p)
{
	const void *caller = __builtin_return_address(0);
	struct array_cache *ac;
	size_t i = 0;
	int cpu;

	if (!gfp_valid(s, flags) || (size && !p)) {
		errno = EINVAL;
		return 0;
	}
	/* Zero only once every object is had: a failure must return them constructed. */
	bool zero = flags & __GFP_ZERO;
	flags &= ~__GFP_ZERO;
	if (likely(!cache_wants_account(s, flags))) {
		/* Take what the CPU array has in one section, then the normal path. */
		cpu = topology_current_cpu();
		ac = cpu_cache_own(s, cpu);
		if (ac && ac->avail) {
			ac->touched = 1;
			while (i < size && ac->avail)
				p[i++] = ac->entry[--ac->avail];
			ac->alloc_hits += i;
		}
		cpu_cache_release(s, cpu);
		for (size_t j = 0; j < i; j++)
			slab_post_alloc(s, p[j], flags, caller);
	}
	for (; i < size; i++) {
		p[i] = slab_alloc_node(s, flags, NUMA_NO_NODE, caller);
		if (unlikely(!p[i])) {
			kmem_cache_free_bulk(s, i, p);
			errno = ENOMEM;
			return 0;
		}
	}
	for (size_t j = 0; zero && j < size; j++)
		memset(p[j], 0, kmem_cache_size(uslab_obj_cache(p[j])));
	return (int)size;
}
