// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/memcg_caches.c - per-tenant child caches, as Linux had them from 4.x to
 * 5.8. An allocation from a SLAB_ACCOUNT cache (or with __GFP_ACCOUNT) by a
 * thread whose tenant is not the root goes to that tenant's child of the
 * cache, created on first use and named "root(id:tenant)". A child has the
 * root's size, alignment, constructor and tunables, is never merged, and
 * charges its tenant one slab at a time through an obj_cgroup handle, which
 * memcg/ moves to the parent when the tenant goes offline.
 *
 * Offline: the tenant's children are detached from their roots (no new
 * allocations), drained, their free slabs released; each child is freed when
 * its last slab goes. Destroying a root shuts its children down first and
 * refuses with -EBUSY, changing nothing, while any of them holds objects.
 *
 * Lifetime: children are reached under an RCU read-side section (routing on
 * allocation, frees of their objects) and released after a grace period, so a
 * thread that picked a child just before it was detached finishes safely.
 * Locks: slab_mutex for children arrays and lists (via slab_lock_all, which
 * also holds the hotplug read locks); never wait for a grace period with it.
 */
#include "lib/slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- creating a child ----------------------------------------------------------- */

static struct kmem_cache *memcg_create_child(struct kmem_cache *root, struct mem_cgroup *memcg)
{
	int id = memcg_kmem_id(memcg);
	struct kmem_cache *child;
	char name[160];

	if (id <= 0 || id >= MEMCG_MAX_KMEM_IDS)
		return NULL;
	slab_lock_all();
	if (!root->memcg_params.children) {
		struct kmem_cache **children = calloc(MEMCG_MAX_KMEM_IDS, sizeof(struct kmem_cache *));

		if (!children) {
			slab_unlock_all();
			return NULL;
		}
		/* Readers look without slab_mutex: publish the zeroed array. */
		__atomic_store_n(&root->memcg_params.children, children, __ATOMIC_RELEASE);
	}
	/* Concurrent first allocations: whoever comes second finds the child. */
	child = root->memcg_params.children[id];
	if (child || !memcg_online(memcg))
		goto out;

	snprintf(name, sizeof(name), "%s(%d:%s)", root->name, memcg_id(memcg), memcg_name(memcg));
	child = cache_create_locked(name, root->object_size, root->align,
				    (root->flags & ~(CFLGS_OFF_SLAB | CFLGS_KMALLOC)) | SLAB_NO_MERGE |
					    CFLGS_MEMCG_CHILD,
				    root->ctor);
	if (!child)
		goto out;
	child->memcg_params.root = root;
	child->memcg_params.memcg = memcg;
	child->memcg_params.objcg = memcg_get_obj_cgroup(memcg);
	child->memcg_params.kmem_id = id;
	list_add_tail(&child->memcg_params.sibling, &root->memcg_params.children_list);
	child->tuned = root->tuned;
	if (root->limit != child->limit || root->batchcount != child->batchcount ||
	    root->shared != child->shared)
		cache_tune_locked(child, root->limit, root->batchcount, root->shared);
	__atomic_store_n(&root->memcg_params.children[id], child, __ATOMIC_RELEASE);
out:
	slab_unlock_all();
	return child;
}

/* @root's child for kmem id @id, or NULL (RCU read side or slab_mutex held). */
static inline struct kmem_cache *memcg_child_lookup(struct kmem_cache *root, int id)
{
	struct kmem_cache **children = __atomic_load_n(&root->memcg_params.children, __ATOMIC_ACQUIRE);

	if (!children || id <= 0 || id >= MEMCG_MAX_KMEM_IDS)
		return NULL;
	return __atomic_load_n(&children[id], __ATOMIC_ACQUIRE);
}

void *memcg_cache_alloc(struct kmem_cache *s, gfp_t flags, int nid)
{
	struct mem_cgroup *memcg = memcg_current();
	struct kmem_cache *child = NULL;
	void *obj;
	int id;

	if (memcg_is_root(memcg))
		return nid == NUMA_NO_NODE ? cache_alloc(s, flags) : cache_alloc_node(s, flags, nid);
	id = memcg_kmem_id(memcg);

	/* Fast: the child's per-CPU array, the child looked up inside a restartable sequence. */
	if (likely(slab_rseq_mode && topology_thread_cpu < 0 && nid == NUMA_NO_NODE &&
		   id > 0 && id < MEMCG_MAX_KMEM_IDS)) {
		obj = rseq_pop_child(s, id);
		if (likely(obj))
			return obj;
	}

	slab_rcu_read_lock();
	child = memcg_child_lookup(s, id);
	if (unlikely(!child)) {
		slab_rcu_read_unlock();
		memcg_create_child(s, memcg);
		slab_rcu_read_lock();
		child = memcg_child_lookup(s, id);
	}
	/* No child (out of memory, or the tenant went offline meanwhile): unaccounted. */
	if (!child)
		child = s;
	obj = nid == NUMA_NO_NODE ? cache_alloc(child, flags) : cache_alloc_node(child, flags, nid);
	slab_rcu_read_unlock();
	return obj;
}

/* ---- charging ------------------------------------------------------------------- */

int memcg_charge_slab(struct kmem_cache *s, gfp_t flags)
{
	struct obj_cgroup *objcg = s->memcg_params.objcg;
	unsigned int pages = 1u << s->gfporder;

	if (!objcg)
		return 0;
	if (obj_cgroup_charge_pages(objcg, flags, pages))
		return -ENOMEM;
	obj_cgroup_mod_stat(objcg, (s->flags & SLAB_RECLAIM_ACCOUNT) ? MEMCG_SLAB_RECLAIMABLE
								     : MEMCG_SLAB_UNRECLAIMABLE,
			    (long)pages);
	__atomic_add_fetch(&s->memcg_params.nr_slabs, 1, __ATOMIC_RELAXED);
	return 0;
}

static void memcg_child_release_rcu(struct rcu_head *head);

/* Queue the release of a dying child with no slab left, once. */
static void memcg_child_queue_release(struct kmem_cache *s)
{
	if (__atomic_exchange_n(&s->memcg_params.destroy_queued, true, __ATOMIC_ACQ_REL))
		return;
	slab_call_rcu(&s->memcg_params.rcu, memcg_child_release_rcu);
}

void memcg_uncharge_slab(struct kmem_cache *s)
{
	struct obj_cgroup *objcg = s->memcg_params.objcg;
	unsigned int pages = 1u << s->gfporder;

	if (!objcg)
		return;
	obj_cgroup_mod_stat(objcg, (s->flags & SLAB_RECLAIM_ACCOUNT) ? MEMCG_SLAB_RECLAIMABLE
								     : MEMCG_SLAB_UNRECLAIMABLE,
			    -(long)pages);
	obj_cgroup_uncharge_pages(objcg, pages);
	if (__atomic_sub_fetch(&s->memcg_params.nr_slabs, 1, __ATOMIC_ACQ_REL) == 0 &&
	    __atomic_load_n(&s->memcg_params.dying, __ATOMIC_ACQUIRE))
		memcg_child_queue_release(s);
}

struct obj_cgroup *memcg_charge_large(gfp_t flags, unsigned int nr_pages)
{
	struct mem_cgroup *memcg = memcg_current();
	struct obj_cgroup *objcg;

	if (memcg_is_root(memcg))
		return NULL;
	objcg = memcg_get_obj_cgroup(memcg);
	if (!objcg)
		return NULL;
	if (obj_cgroup_charge_pages(objcg, flags, nr_pages)) {
		obj_cgroup_put(objcg);
		errno = ENOMEM;
		return (struct obj_cgroup *)-1;
	}
	obj_cgroup_mod_stat(objcg, MEMCG_KMALLOC_LARGE, (long)nr_pages);
	return objcg;
}

/* ---- freeing -------------------------------------------------------------------- */

void memcg_cache_free(struct kmem_cache *s, void *objp, struct slab *slab)
{
	/*
	 * The object, allocated until the push commits, keeps its slab and so
	 * the child alive: the fast path needs no RCU section. A dying child's
	 * arrays have limit 0, so its frees always take the path below.
	 */
	if (likely(cpu_cache_push(s, objp, slab->nid)))
		return;
	slab_rcu_read_lock();
	if (unlikely(__atomic_load_n(&s->memcg_params.dying, __ATOMIC_ACQUIRE)))
		/* A dying child keeps nothing cached: empty slabs go at once. */
		node_put_objects(s, slab->nid, &objp, 1, false);
	else
		cache_free(s, objp, slab);
	slab_rcu_read_unlock();
}

/* ---- deactivation and release --------------------------------------------------- */

static void memcg_child_free(struct kmem_cache *s)
{
	if (s->memcg_params.objcg)
		obj_cgroup_put(s->memcg_params.objcg);
	cache_free_struct(s);
}

/* After a grace period: free the child if it is still dying and empty. */
static void memcg_child_release_rcu(struct rcu_head *head)
{
	struct kmem_cache *s = container_of(head, struct kmem_cache, memcg_params.rcu);
	bool release = false;

	slab_rcu_callback_begin(head);
	slab_lock_all();
	__atomic_store_n(&s->memcg_params.destroy_queued, false, __ATOMIC_RELEASE);
	if (s->memcg_params.root && __atomic_load_n(&s->memcg_params.nr_slabs, __ATOMIC_ACQUIRE) == 0) {
		list_del(&s->memcg_params.sibling);
		list_del(&s->list);
		release = true;
	}
	slab_unlock_all();
	if (release)
		memcg_child_free(s);
	slab_rcu_callback_end();
}

/* Stop routing to @child, empty its arrays and release its free slabs. slab_lock_all held. */
static void memcg_deactivate_child_locked(struct kmem_cache *child)
{
	struct kmem_cache *root = child->memcg_params.root;
	int id = child->memcg_params.kmem_id;

	if (root->memcg_params.children[id] == child)
		__atomic_store_n(&root->memcg_params.children[id], NULL, __ATOMIC_RELEASE);
	/* No restartable sequence still holds the child after this. */
	percpu_fence_all();
	__atomic_store_n(&child->memcg_params.dying, true, __ATOMIC_RELEASE);
	/* Frees no longer stop in its arrays (their pushes fail on limit 0). */
	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++) {
		struct array_cache *ac = cpu_cache_own(child, cpu);

		if (ac)
			ac->limit = 0;
		cpu_cache_release(child, cpu);
	}
	for (int nid = 0; nid < (int)nr_node_ids; nid++) {
		struct kmem_cache_node *n = child->node[nid];
		struct array_cache *shared;

		if (!n)
			continue;
		/* No shared array either: every free goes to its slab, empty slabs go. */
		umutex_lock(&n->list_lock);
		n->free_limit = 0;
		shared = n->shared;
		n->shared = NULL;
		umutex_unlock(&n->list_lock);
		if (shared)
			array_release(child, shared);
	}
	cache_drain_arrays(child);
	cache_drain_freelists(child);
	if (__atomic_load_n(&child->memcg_params.nr_slabs, __ATOMIC_ACQUIRE) == 0)
		memcg_child_queue_release(child);
}

static void memcg_offline(struct mem_cgroup *memcg)
{
	int id = memcg_own_kmem_id(memcg);
	struct kmem_cache *s;

	if (id <= 0 || id >= MEMCG_MAX_KMEM_IDS)
		return;
	slab_lock_all();
	list_for_each_entry(s, &slab_caches, list) {
		struct kmem_cache *child;

		if (cache_is_child(s) || !s->memcg_params.children)
			continue;
		child = s->memcg_params.children[id];
		if (child)
			memcg_deactivate_child_locked(child);
	}
	slab_unlock_all();
}

/* Free slabs of @memcg's live children (its descendants' too when memcg tells us). */
static unsigned long memcg_reclaim(struct mem_cgroup *memcg)
{
	unsigned long pages = 0;
	struct kmem_cache *s;

	/* The root: every cache of the process and the page cache under them. */
	if (memcg_is_root(memcg))
		return uslab_trim() / PAGE_SIZE;
	/* Objects held back by the ASan quarantine keep their slabs busy: let them go. */
	quarantine_flush(NULL);
	slab_lock_all();
	list_for_each_entry(s, &slab_caches, list) {
		if (!cache_is_child(s))
			continue;
		if (!s->memcg_params.dying && !memcg_is_descendant(s->memcg_params.memcg, memcg))
			continue;
		cache_drain_arrays(s);
		pages += cache_drain_freelists(s) << s->gfporder;
	}
	slab_unlock_all();
	return pages;
}

/*
 * Per root cache, the slab bytes charged to @memcg's subtree: every child,
 * live or dying, whose charges now land in @memcg or below it (like the
 * "slab" line, which is hierarchical).
 */
static void memcg_stat_show(struct mem_cgroup *memcg, FILE *out)
{
	struct kmem_cache *s, *child;

	umutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		unsigned long bytes = 0;
		bool any = false;

		if (cache_is_child(s))
			continue;
		list_for_each_entry(child, &s->memcg_params.children_list, memcg_params.sibling) {
			struct obj_cgroup *objcg = child->memcg_params.objcg;

			if (!objcg || !memcg_is_descendant(obj_cgroup_memcg(objcg), memcg))
				continue;
			any = true;
			bytes += __atomic_load_n(&child->memcg_params.nr_slabs, __ATOMIC_RELAXED) *
				 (PAGE_SIZE << child->gfporder);
		}
		if (any)
			fprintf(out, "slab.%s %lu\n", s->name, bytes);
	}
	umutex_unlock(&slab_mutex);
}

/* ---- root shutdown ---------------------------------------------------------------- */

int memcg_shutdown_children_locked(struct kmem_cache *s, struct list_head *dead)
{
	struct kmem_cache *child, *next;
	int busy = 0;

	list_for_each_entry(child, &s->memcg_params.children_list, memcg_params.sibling) {
		cache_drain_arrays(child);
		cache_drain_freelists(child);
		if (__atomic_load_n(&child->memcg_params.nr_slabs, __ATOMIC_ACQUIRE))
			busy++;
	}
	if (busy)
		return -EBUSY;
	list_for_each_entry_safe(child, next, &s->memcg_params.children_list, memcg_params.sibling) {
		if (s->memcg_params.children && s->memcg_params.children[child->memcg_params.kmem_id] == child)
			__atomic_store_n(&s->memcg_params.children[child->memcg_params.kmem_id], NULL,
					 __ATOMIC_RELEASE);
		/* A queued release will find root NULL and leave the child to us. */
		child->memcg_params.root = NULL;
		percpu_fence_all();
		list_del(&child->list);
		list_move_tail(&child->memcg_params.sibling, dead);
	}
	return 0;
}

void memcg_free_children(struct list_head *dead)
{
	struct kmem_cache *child, *next;

	if (list_empty(dead))
		return;
	/* Readers that picked a child are gone after this; queued releases have run. */
	slab_synchronize_rcu();
	slab_rcu_barrier();
	list_for_each_entry_safe(child, next, dead, memcg_params.sibling) {
		list_del(&child->memcg_params.sibling);
		memcg_child_free(child);
	}
}

static const struct memcg_kmem_ops slab_memcg_ops = {
	.offline = memcg_offline,
	.reclaim = memcg_reclaim,
	.stat_show = memcg_stat_show,
};

void memcg_caches_init(void)
{
	memcg_register_kmem_ops(&slab_memcg_ops);
}
