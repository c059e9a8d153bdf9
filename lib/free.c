// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/free.c - freeing: check the pointer through the page map, push it on
 * the CPU's array (mm/slab.c __cache_free), and when the array is full move
 * its batchcount OLDEST entries (FIFO: they are the least likely to be warm in
 * the CPU cache) to the node's shared array or back to their slabs
 * (cache_flusharray, free_block). free_block keeps at most free_limit free
 * objects per node and releases the free slabs beyond it.
 *
 * An object of another node never enters a CPU array: it goes to its own
 * node (the alien path), so every array holds objects of its node only.
 */
#include "lib/slab.h"

#include <string.h>

static inline void slab_put_obj(struct kmem_cache *s, struct slab *slab, void *objp)
{
	long idx = slab_obj_to_index(s, slab, objp);

	USLAB_ASSERT_INTERNAL(idx >= 0 && slab->active > 0);
	if (config_debug >= 2) {
		for (unsigned int i = slab->active; i < s->num; i++)
			if (slab->freelist[i] == idx)
				slab_report(s, objp, "double free: object is already free in its slab");
	}
	slab->freelist[--slab->active] = (freelist_idx_t)idx;
}

void node_free_block_locked(struct kmem_cache *s, struct kmem_cache_node *n, void **objs,
			    unsigned int nr, struct list_head *to_destroy)
{
	lockdep_assert_held(&n->list_lock);
	for (unsigned int i = 0; i < nr; i++) {
		struct slab *slab = (struct slab *)pagemap_lookup(objs[i]);

		USLAB_ASSERT_INTERNAL(slab && slab->cache == s && s->node[slab->nid] == n);
		slab_put_obj(s, slab, objs[i]);
		n->free_objects++;
		if (slab->active == 0) {
			list_move(&slab->list, &n->slabs_free);
			n->free_slabs++;
		} else {
			/* Tail: fuller slabs at the head are used first. */
			list_move_tail(&slab->list, &n->slabs_partial);
		}
	}
	while (n->free_objects > n->free_limit && !list_empty(&n->slabs_free)) {
		struct slab *slab = list_last_entry(&n->slabs_free, struct slab, list);

		list_move(&slab->list, to_destroy);
		n->free_objects -= s->num;
		n->free_slabs--;
		n->total_slabs--;
	}
}

void node_put_objects(struct kmem_cache *s, int nid, void **objs, unsigned int nr,
		      bool to_shared)
{
	struct kmem_cache_node *n = cache_node(s, nid);
	struct list_head to_destroy = LIST_HEAD_INIT(to_destroy);

	umutex_lock(&n->list_lock);
	struct array_cache *shared = n->shared;
	if (to_shared && shared && shared->avail < shared->limit) {
		unsigned int k = MIN(nr, shared->limit - shared->avail);

		memcpy(&shared->entry[shared->avail], objs, k * sizeof(void *));
		shared->avail += k;
		objs += k;
		nr -= k;
	}
	if (nr)
		node_free_block_locked(s, n, objs, nr, &to_destroy);
	umutex_unlock(&n->list_lock);
	slabs_destroy(s, &to_destroy);
	/* Objects cached in the node now: the reaper gives them back once idle. */
	worker_kick(WORK_REAP);
}

struct slab *free_check_object(struct kmem_cache *s, const void *objp, const char *what,
			       bool freeing, const void *caller)
{
	uintptr_t v = pagemap_lookup(objp);
	struct slab *slab = (struct slab *)v;
	struct kmem_cache *c;
	long idx;

	if (unlikely(v == 0)) {
		slab_report(s, objp, "%s: pointer was not allocated by uslab", what);
		return NULL;
	}
	if (unlikely(v & PAGEMAP_LARGE)) {
		slab_report(s, objp, "%s: pointer is a kmalloc_large block, not an object of this cache",
			    what);
		return NULL;
	}
	c = slab->cache;
	if (unlikely(s && c != s && c->memcg_params.root != s)) {
		slab_report(s, objp, "%s: object belongs to cache %s", what, c->name);
		return NULL;
	}
	idx = slab_obj_to_index(c, slab, objp);
	if (unlikely(idx < 0)) {
		slab_report(c, objp, "%s: pointer is not the start of an object (offset %zu in its slab)",
			    what, (size_t)((const char *)objp - (const char *)slab->pages));
		return NULL;
	}
	if (freeing) {
		uint8_t *state = &slab_obj_state(c, slab)[idx];

		if (unlikely(*state != OBJ_ALLOCATED)) {
			debug_double_free(c, slab, (void *)objp, caller);
			return NULL;
		}
		*state = OBJ_FREE;
		if (unlikely((c->flags & SLAB_DEBUG_FLAGS) || c->tool_hooks) &&
		    !debug_pre_free(c, slab, (void *)objp, caller))
			return NULL; /* kept in the quarantine */
	}
	return slab;
}

/* The array was full, or the object is another node's, or the CPU has no array. */
USLAB_NOINLINE void cache_free_slow(struct kmem_cache *s, void *objp, struct slab *slab)
{
	void *batch[SLAB_MAX_BATCH];
	int cpu = topology_current_cpu();
	struct cpu_cache_cold *cold = cpu_cold(s, cpu);
	struct array_cache *ac = cpu_cache_own(s, cpu);
	bool grow = false;
	unsigned int nr;
	int nid;

	if (likely(ac && slab->nid == ac->nid)) {
		if (ac->avail < ac->limit) {
			ac->free_hits++;
			ac->entry[ac->avail++] = objp;
			cpu_cache_release(s, cpu);
			return;
		}
		/* cache_flusharray: the oldest batchcount entries leave. */
		nr = MIN(ac->batchcount, ac->avail);
		if (unlikely(nr == 0)) {
			/* A closed array (limit 0: a dying tenant cache): straight to the node. */
			cpu_cache_release(s, cpu);
			node_put_objects(s, slab->nid, &objp, 1, false);
			return;
		}
		cold->stats[STAT_FREE_MISS]++;
		grow = cpu_array_miss(s, ac, cold);
		nid = ac->nid;
		memcpy(batch, ac->entry, nr * sizeof(void *));
		ac->avail -= nr;
		memmove(ac->entry, &ac->entry[nr], ac->avail * sizeof(void *));
		ac->entry[ac->avail++] = objp;
		cpu_cache_release(s, cpu);
		node_put_objects(s, nid, batch, nr, true);
		if (unlikely(grow))
			cpu_array_grow(s, cpu);
		return;
	}
	/* No alien array for the CPU's home node while it borrows another node's memory. */
	if (ac && cold->alien && cold->alien[slab->nid] && num_online_nodes() > 1) {
		/* cache_free_alien: park it; a full alien array goes home at once. */
		struct array_cache *alien = cold->alien[slab->nid];

		cold->stats[STAT_ALIEN_FREE]++;
		if (likely(alien->avail < alien->limit)) {
			alien->entry[alien->avail++] = objp;
			cpu_cache_release(s, cpu);
			return;
		}
		/* Once released, objp may be flushed and its slab reused: no slab reads after. */
		nid = alien->nid;
		nr = alien->avail;
		memcpy(batch, alien->entry, nr * sizeof(void *));
		alien->entry[0] = objp;
		alien->avail = 1;
		cpu_cache_release(s, cpu);
		node_put_objects(s, nid, batch, nr, true);
		return;
	}
	cpu_cache_release(s, cpu);
	cache_stat_add(s, ac ? STAT_ALIEN_FREE : STAT_NODE_FREE, 1);
	node_put_objects(s, slab->nid, &objp, 1, true);
}

void cache_free(struct kmem_cache *s, void *objp, struct slab *slab)
{
	cache_free_fast(s, objp, slab);
}

/* The whole free of @objp to @s, checks and reports included. */
static USLAB_NOINLINE void kmem_cache_free_slow(struct kmem_cache *s, void *objp, const void *caller)
{
	struct slab *slab;

	if (unlikely(!objp))
		return;
	if (unlikely(!s)) {
		slab_report(NULL, objp, "kmem_cache_free: NULL cache");
		return;
	}
	slab = free_check_object(s, objp, "kmem_cache_free", true, caller);
	if (likely(slab))
		slab_free_checked(slab->cache, objp, slab);
}

USLAB_NOINLINE void slab_free_checked(struct kmem_cache *c, void *objp, struct slab *slab)
{
	if (unlikely(cache_is_child(c)))
		memcg_cache_free(c, objp, slab);
	else
		cache_free(c, objp, slab);
}

void kmem_cache_free(struct kmem_cache *s, void *objp)
{
	struct slab *slab;

	if (likely(s && s->fast_free)) {
		uintptr_t v = pagemap_lookup(objp);

		if (likely(s->state_inline))
			slab = free_check_fast(s, objp, v);
		else if (likely(v && !(v & PAGEMAP_LARGE)) &&
			 likely(((struct slab *)v)->cache == s))
			slab = free_check_slab(objp, v);
		else
			slab = NULL;
		if (likely(slab)) {
			/* A root's own object goes to its array; a child's, through memcg. */
			if (likely(slab->cache == s) && likely(cpu_cache_rseq()) &&
			    likely(rseq_push(s, objp, slab->nid)))
				return;
			slab_free_checked(slab->cache, objp, slab);
			return;
		}
	}
	kmem_cache_free_slow(s, objp, __builtin_return_address(0));
}

void kmem_cache_free_bulk(struct kmem_cache *s, size_t size, void **p)
{
	if (!p)
		return;
	for (size_t i = 0; i < size; i++) {
		struct slab *slab;

		if (!p[i])
			continue;
		slab = free_check_object(s, p[i], "kmem_cache_free_bulk", true,
					 __builtin_return_address(0));
		if (!slab)
			continue;
		if (unlikely(cache_is_child(slab->cache)))
			memcg_cache_free(slab->cache, p[i], slab);
		else
			cache_free(slab->cache, p[i], slab);
	}
}
