// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/slab_page.c - slabs: choosing a cache's layout (order, objects per
 * slab, where the management area lives, colouring), creating a slab from
 * the page provider with every object constructed, and giving a slab's pages
 * back. Nothing here takes a cache lock: slabs are created before they are
 * put on a node list and destroyed after they left it.
 *
 * Layout of a slab of 2^order pages:
 *   on-slab:  [struct slab | freelist[num]] pad [colour] obj0 obj1 ... [left]
 *   off-slab: [colour] obj0 obj1 ... [left], management kmalloc'd
 * Management is off-slab for objects of SLAB_OFF_SLAB_MIN bytes or more, as
 * the kernel does for large objects, so a page-sized object wastes no page.
 * The kmalloc caches that hold off-slab management areas are small and
 * therefore on-slab, so creating a slab never recurses more than once.
 */
#include "lib/slab.h"

#include <errno.h>
#include <stdlib.h>

USLAB_TLS bool slab_charge_refused;

/* Objects that fit an on- or off-slab slab of 2^order pages, and what is left. */
static unsigned int slab_estimate(const struct kmem_cache *s, unsigned int order, bool off_slab,
				  size_t *left, size_t *start)
{
	size_t bytes = PAGE_SIZE << order;
	size_t hdr = sizeof(struct slab);
	size_t num, first;

	if (off_slab) {
		num = bytes / s->size;
		first = 0;
	} else {
		num = (bytes - hdr) / (s->size + SLAB_MGMT_PER_OBJ);
		while (num > 0 && ALIGN_UP(hdr + num * SLAB_MGMT_PER_OBJ, (size_t)s->align) +
						  num * s->size > bytes)
			num--;
		first = ALIGN_UP(hdr + num * SLAB_MGMT_PER_OBJ, (size_t)s->align);
	}
	if (num > UINT16_MAX)
		num = UINT16_MAX;
	*start = first;
	*left = bytes - first - num * s->size;
	return (unsigned int)num;
}

int slab_calculate_layout(struct kmem_cache *s)
{
	bool off_slab = s->size >= SLAB_OFF_SLAB_MIN;
	unsigned int order, num = 0;
	size_t left = 0, start = 0;

	/* Kernel calculate_slab_order(): smallest order with little waste. */
	for (order = 0; order <= SLAB_MAX_ORDER; order++) {
		num = slab_estimate(s, order, off_slab, &left, &start);
		if (num == 0)
			continue;
		if (order >= SLAB_MAX_ORDER_PREF)
			break;
		if (left * 8 <= (PAGE_SIZE << order))
			break;
	}
	if (num == 0)
		return -EINVAL;

	s->gfporder = order;
	s->num = num;
	s->mgmt_size = (unsigned int)(sizeof(struct slab) + num * SLAB_MGMT_PER_OBJ);
	if (off_slab)
		s->flags |= CFLGS_OFF_SLAB;
	s->colour_off = MAX((unsigned int)CACHE_LINE, s->align);
	s->colour = (unsigned int)(left / s->colour_off);
	/* Colour stays below one object so an object's index is (offset / size). */
	if (s->colour * s->colour_off >= s->size)
		s->colour = (s->size - 1) / s->colour_off;
	/* The state bytes follow the freelist, wherever the management area is. */
	s->state_offset = (unsigned int)(offsetof(struct slab, freelist) + num * sizeof(freelist_idx_t));
	if (!off_slab) {
		s->first_obj = (unsigned int)start + s->obj_offset;
		s->state_inline = order == 0;
	}
	return 0;
}

struct slab *slab_create(struct kmem_cache *s, gfp_t flags, int nid)
{
	size_t bytes = PAGE_SIZE << s->gfporder;
	struct kmem_cache_node *n = s->node[nid];
	struct slab *slab;
	size_t start;
	void *pages;

	/* A child cache's tenant pays for the slab before it exists. */
	if (memcg_charge_slab(s, flags) < 0) {
		slab_charge_refused = true;
		errno = ENOMEM;
		return NULL;
	}
	fault_page_gfp = flags;
	pages = topology_alloc_pages(nid, bytes);
	fault_page_gfp = 0;
	if (!pages) {
		memcg_uncharge_slab(s);
		return NULL;
	}

	if (s->flags & CFLGS_OFF_SLAB) {
		slab = kmalloc_node(s->mgmt_size, flags & ~(__GFP_ACCOUNT | __GFP_ZERO), nid);
		if (!slab) {
			topology_free_pages(pages, bytes, nid);
			memcg_uncharge_slab(s);
			return NULL;
		}
		start = 0;
	} else {
		slab = pages;
		start = ALIGN_UP((size_t)s->mgmt_size, (size_t)s->align);
	}

	/* Colouring spreads the first object of successive slabs over cache lines. */
	unsigned int colour = 0;
	if (s->colour)
		colour = __atomic_fetch_add(&n->colour_next, 1, __ATOMIC_RELAXED) % (s->colour + 1);

	INIT_LIST_HEAD(&slab->list);
	slab->cache = s;
	slab->pages = pages;
	slab->s_mem = (char *)pages + start + (size_t)colour * s->colour_off;
	slab->active = 0;
	slab->nid = nid;
	uint8_t *state = slab_obj_state(s, slab);
	for (unsigned int i = 0; i < s->num; i++) {
		slab->freelist[i] = (freelist_idx_t)i;
		state[i] = OBJ_FREE;
	}
	for (unsigned int i = 0; i < s->num; i++) {
		void *obj = slab_index_to_obj(s, slab, i);

		if (unlikely(s->flags & SLAB_DEBUG_FLAGS))
			debug_init_object(s, obj);
		if (s->ctor)
			s->ctor(obj);
		tool_object_freed(s, obj);
	}

	if (pagemap_set(pages, bytes, (uintptr_t)slab) < 0) {
		if (s->flags & CFLGS_OFF_SLAB)
			kfree(slab);
		topology_free_pages(pages, bytes, nid);
		memcg_uncharge_slab(s);
		errno = ENOMEM;
		return NULL;
	}
	cache_stat_add(s, STAT_GROWN, 1);
	return slab;
}

/* Give the slab's pages back to the page provider and its tenant. */
static void slab_release(struct kmem_cache *s, struct slab *slab)
{
	size_t bytes = PAGE_SIZE << s->gfporder;
	void *pages = slab->pages;
	int nid = slab->nid;

	tool_slab_released(s, pages, bytes);
	pagemap_clear(pages, bytes);
	if (s->flags & CFLGS_OFF_SLAB)
		kfree(slab);
	topology_free_pages(pages, bytes, nid);
	worker_kick(WORK_DECAY);
	cache_stat_add(s, STAT_REAPED, 1);
	memcg_uncharge_slab(s);
}

static void slab_release_rcu(struct rcu_head *head)
{
	struct slab *slab = container_of(head, struct slab, rcu);

	slab_rcu_callback_begin(head);
	slab_release(slab->cache, slab);
	slab_rcu_callback_end();
}

/*
 * A SLAB_TYPESAFE_BY_RCU slab keeps its pages (mapped, typed, in the page
 * map) until readers that may still look at its objects are done; the cache
 * outlives the callback because destroy waits with rcu_barrier().
 */
void slab_destroy(struct kmem_cache *s, struct slab *slab)
{
	USLAB_ASSERT_INTERNAL(slab->active == 0);
	if (unlikely(s->flags & SLAB_TYPESAFE_BY_RCU))
		slab_call_rcu(&slab->rcu, slab_release_rcu);
	else
		slab_release(s, slab);
}

void slabs_destroy(struct kmem_cache *s, struct list_head *list)
{
	struct slab *slab, *next;

	list_for_each_entry_safe(slab, next, list, list) {
		list_del(&slab->list);
		slab_destroy(s, slab);
	}
}
