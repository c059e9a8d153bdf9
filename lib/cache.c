// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/cache.c - the life of a cache: creation (alignment, layout, per-CPU
 * and per-node structures, the kernel's tunables table), merging with a
 * compatible existing cache, tuning, shrinking and destruction following
 * mm/slab_common.c: a refcounted cache is shut down only when its last
 * reference goes and only when it holds no object; otherwise it is reported,
 * kept intact and stays usable.
 *
 * Lock order for management calls (DESIGN.md): cpus_read_lock, then
 * get_online_mems, then slab_mutex; slab_lock_all() takes all three.
 */
#include "lib/slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* slab_mutex (level 2) protects slab_caches, every cache's refcount, name and tunables. */
struct umutex slab_mutex = UMUTEX_INITIALIZER(LOCK_SLAB_MUTEX);
struct list_head slab_caches = LIST_HEAD_INIT(slab_caches);
bool slab_nomerge;
bool slab_noaliencache;

void slab_lock_all(void)
{
	cpus_read_lock();
	get_online_mems();
	umutex_lock(&slab_mutex);
}

void slab_unlock_all(void)
{
	umutex_unlock(&slab_mutex);
	put_online_mems();
	cpus_read_unlock();
}

/* ---- arrays ------------------------------------------------------------------ */

struct array_cache *array_alloc(unsigned int entries, unsigned int batchcount, int nid)
{
	struct array_cache *ac;
	size_t bytes = sizeof(*ac) + entries * sizeof(void *);

	if (posix_memalign((void **)&ac, CACHE_LINE, ALIGN_UP(bytes, (size_t)CACHE_LINE)))
		return NULL;
	memset(ac, 0, sizeof(*ac));
	ac->limit = entries;
	ac->capacity = entries;
	ac->batchcount = batchcount;
	ac->nid = nid;
	ac->entry = (void **)(ac + 1);
	return ac;
}

/* Give @nr objects of node @nid that nobody else can reach back to it. */
static void objects_release(struct kmem_cache *s, int nid, void **objs, unsigned int nr)
{
	for (unsigned int done = 0; done < nr;) {
		unsigned int k = MIN(nr - done, (unsigned int)SLAB_MAX_BATCH);

		node_put_objects(s, nid, &objs[done], k, false);
		done += k;
	}
}

/* Give every object of an array nobody else can reach back to its node, and free it. */
void array_release(struct kmem_cache *s, struct array_cache *ac)
{
	objects_release(s, ac->nid, ac->entry, ac->avail);
	free(ac);
}

/*
 * Make @entry (room for @limit objects) CPU @cpu's array, empty, for the
 * node the CPU takes memory from; the objects of the array it replaces go
 * back to their node and its entries are freed. Statistics stay.
 */
static void cpu_array_swap(struct kmem_cache *s, int cpu, void **entry, unsigned int limit,
			   unsigned int batchcount)
{
	struct array_cache *ac = &s->cpu_slot[cpu].ac;
	void **old;
	unsigned int nr;
	int nid;

	(void)cpu_cache_own(s, cpu); /* NULL when the CPU has no array yet: it is coming up */
	old = ac->entry;
	nr = ac->avail;
	nid = ac->nid;
	ac->entry = entry;
	ac->avail = 0;
	ac->capacity = limit;
	ac->limit = limit;
	ac->batchcount = batchcount;
	ac->touched = 0;
	ac->nid = slab_cpu_mem_node(cpu);
	cpu_cache_release(s, cpu);
	if (old) {
		objects_release(s, nid, old, nr);
		free(old);
	}
}

int cpu_array_install(struct kmem_cache *s, int cpu, unsigned int limit, unsigned int batchcount)
{
	void **entry = malloc(limit * sizeof(void *));

	if (!entry)
		return -ENOMEM;
	cpu_array_swap(s, cpu, entry, limit, batchcount);
	return 0;
}

void cpu_array_remove(struct kmem_cache *s, int cpu)
{
	struct array_cache *ac = cpu_cache_own(s, cpu);
	void **old = NULL;
	unsigned int nr = 0;
	int nid = -1;

	if (ac) {
		old = ac->entry;
		nr = ac->avail;
		nid = ac->nid;
		ac->entry = NULL;
		ac->avail = 0;
		ac->capacity = 0;
	}
	cpu_cache_release(s, cpu);
	if (old) {
		objects_release(s, nid, old, nr);
		free(old);
	}
}

bool slab_adaptive_arrays = true;

unsigned int cache_array_max(const struct kmem_cache *s)
{
	unsigned int max = MIN(ARRAY_ADAPT_BYTES / s->size, (unsigned int)SLAB_MAX_LIMIT);

	return MAX(max, READ_ONCE(s->limit));
}

/*
 * Grow CPU @cpu's array: the same objects in a buffer of twice the limit
 * (kept when the reaper shrinks the limit again, so regrowing allocates
 * nothing). A new buffer is allocated with the array released, then the
 * sizes are checked again: a tune, a hotplug callback or another grow may
 * have come first.
 */
unsigned int cpu_array_grow(struct kmem_cache *s, int cpu)
{
	unsigned int max = cache_array_max(s), limit, room = 0, batch = 0;
	void **entry = NULL, **old = NULL;
	struct array_cache *ac;

	for (;;) {
		ac = cpu_cache_own(s, cpu);
		if (!ac || !ac->limit || ac->limit >= max || s->tuned || ac->limit < READ_ONCE(s->limit))
			break;
		limit = MIN(2 * ac->limit, max);
		if (ac->capacity < limit) {
			if (room < limit) {
				cpu_cache_release(s, cpu);
				free(entry);
				entry = malloc(limit * sizeof(void *));
				if (!entry)
					return 0; /* stays as it is: growing is an optimisation */
				room = limit;
				continue;
			}
			memcpy(entry, ac->entry, ac->avail * sizeof(void *));
			old = ac->entry;
			ac->entry = entry;
			ac->capacity = room;
			entry = NULL;
		}
		ac->limit = limit;
		ac->batchcount = MIN((limit + 1) / 2, (unsigned int)SLAB_MAX_BATCH);
		batch = ac->batchcount;
		cpu_cold(s, cpu)->stats[STAT_ARRAY_GROW]++;
		break;
	}
	cpu_cache_release(s, cpu);
	free(old);
	free(entry);
	return batch;
}

/*
 * Install new per-CPU and shared arrays of the given sizes, moving the
 * objects of the old ones back to their nodes. All allocations happen first,
 * so -ENOMEM changes nothing. slab_mutex held (or the cache is not yet
 * visible).
 */
int cache_tune_locked(struct kmem_cache *s, unsigned int limit, unsigned int batchcount,
		      unsigned int shared)
{
	unsigned int ncpu = nr_cpu_ids, nnode = nr_node_ids;
	void **cpu_new[ncpu];
	struct array_cache *node_new[nnode];
	int cpu, nid;

	memset(cpu_new, 0, sizeof(cpu_new));
	memset(node_new, 0, sizeof(node_new));
	for (cpu = 0; cpu < (int)ncpu; cpu++) {
		/* An offline CPU has no array until it comes up (slab_prepare_cpu). */
		if (!cpu_online(cpu))
			continue;
		cpu_new[cpu] = malloc(limit * sizeof(void *));
		if (!cpu_new[cpu])
			goto fail;
	}
	for (nid = 0; nid < (int)nnode && shared; nid++) {
		if (!s->node[nid] || !hotplug_nr_online_cpus_node(nid))
			continue;
		node_new[nid] = array_alloc(shared * batchcount, batchcount, nid);
		if (!node_new[nid])
			goto fail;
	}

	for (cpu = 0; cpu < (int)ncpu; cpu++)
		if (cpu_new[cpu])
			cpu_array_swap(s, cpu, cpu_new[cpu], limit, batchcount);
	WRITE_ONCE(s->limit, limit);
	WRITE_ONCE(s->batchcount, batchcount);
	WRITE_ONCE(s->shared, shared);

	for (nid = 0; nid < (int)nnode; nid++) {
		struct kmem_cache_node *n = s->node[nid];
		if (!n)
			continue;
		umutex_lock(&n->list_lock);
		struct array_cache *old = n->shared;
		n->shared = node_new[nid];
		n->free_limit = (1 + hotplug_nr_online_cpus_node(nid)) * batchcount + s->num;
		umutex_unlock(&n->list_lock);
		if (old)
			array_release(s, old);
	}
	return 0;

fail:
	for (cpu = 0; cpu < (int)ncpu; cpu++)
		free(cpu_new[cpu]);
	for (nid = 0; nid < (int)nnode; nid++)
		free(node_new[nid]);
	return -ENOMEM;
}

int cache_alloc_aliens(struct kmem_cache *s, int cpu)
{
	struct cpu_cache_cold *cold = cpu_cold(s, cpu);
	unsigned int nnode = nr_node_ids;
	struct array_cache **alien;

	if (nnode < 2 || slab_noaliencache || cold->alien)
		return 0;
	alien = calloc(nnode, sizeof(*alien));
	if (!alien)
		return -ENOMEM;
	for (int nid = 0; nid < (int)nnode; nid++) {
		if (nid == cpu_to_node(cpu))
			continue;
		alien[nid] = array_alloc(ALIEN_LIMIT, ALIEN_LIMIT, nid);
		if (!alien[nid]) {
			while (nid--)
				free(alien[nid]);
			free(alien);
			return -ENOMEM;
		}
	}
	umutex_lock(&cold->lock);
	cold->alien = alien;
	umutex_unlock(&cold->lock);
	return 0;
}

/* Kernel enable_cpucache(): array sizes by object size. */
static void cache_default_tunables(const struct kmem_cache *s, unsigned int *limit,
				   unsigned int *batchcount, unsigned int *shared)
{
	if (s->size > 131072)
		*limit = 1;
	else if (s->size > PAGE_SIZE)
		*limit = 8;
	else if (s->size > 1024)
		*limit = 24;
	else if (s->size > 256)
		*limit = 54;
	else
		*limit = 120;
	*shared = (s->size <= PAGE_SIZE && nr_cpu_ids > 1) ? 8 : 0;
	*batchcount = (*limit + 1) / 2;
}

/* ---- creation ------------------------------------------------------------------ */

struct kmem_cache_node *node_alloc(void)
{
	struct kmem_cache_node *n;

	if (posix_memalign((void **)&n, CACHE_LINE, sizeof(*n)))
		return NULL;
	memset(n, 0, sizeof(*n));
	umutex_init(&n->list_lock, LOCK_NODE_LIST);
	INIT_LIST_HEAD(&n->slabs_full);
	INIT_LIST_HEAD(&n->slabs_partial);
	INIT_LIST_HEAD(&n->slabs_free);
	return n;
}

void cache_free_struct(struct kmem_cache *s)
{
	free(s->memcg_params.children);
	if (s->cpu_slot) {
		for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
			free(s->cpu_slot[cpu].ac.entry);
		free(s->cpu_slot);
	}
	if (s->cpu_cold) {
		for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct cpu_cache_cold *cold = &s->cpu_cold[cpu];

			for (unsigned int nid = 0; cold->alien && nid < nr_node_ids; nid++)
				free(cold->alien[nid]);
			free(cold->alien);
			umutex_destroy(&cold->lock);
		}
		free(s->cpu_cold);
	}
	for (int nid = 0; nid < USLAB_MAX_NUMNODES; nid++) {
		if (!s->node[nid])
			continue;
		free(s->node[nid]->shared);
		umutex_destroy(&s->node[nid]->list_lock);
		free(s->node[nid]);
	}
	free(s->name);
	free(s);
}

/* Kernel calculate_alignment() plus the word alignment SLAB always applies. */
static unsigned int cache_alignment(slab_flags_t flags, unsigned int align, unsigned int size)
{
	unsigned int ralign = sizeof(void *);

	if (flags & SLAB_HWCACHE_ALIGN) {
		ralign = CACHE_LINE;
		while (size <= ralign / 2 && ralign > sizeof(void *))
			ralign /= 2;
	}
	return MAX(ralign, align);
}

struct kmem_cache *cache_create_locked(const char *name, unsigned int size, unsigned int align,
				       slab_flags_t flags, void (*ctor)(void *))
{
	struct kmem_cache *s;
	unsigned int limit, batchcount, shared;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->name = strdup(name);
	s->object_size = size;
	s->flags = flags;
	s->ctor = ctor;
	s->align = cache_alignment(flags, align, size);
	s->size = ALIGN_UP(size, s->align);
	s->tool_hooks = slab_tools_active;
	debug_calculate_layout(s);
	s->reciprocal_size = UINT64_MAX / s->size + 1;
	s->refcount = 1;
	INIT_LIST_HEAD(&s->memcg_params.children_list);
	INIT_LIST_HEAD(&s->memcg_params.sibling);
	if (!s->name || slab_calculate_layout(s) < 0)
		goto fail;
	/* The fast paths: objects that need nothing but their state byte. */
	s->fast_free = !(s->flags & SLAB_DEBUG_FLAGS) && !s->tool_hooks;
	s->fast_alloc = s->fast_free && !(s->flags & (SLAB_ACCOUNT | CFLGS_MEMCG_CHILD));

	if (posix_memalign((void **)&s->cpu_slot, CACHE_LINE, nr_cpu_ids * sizeof(*s->cpu_slot)) ||
	    posix_memalign((void **)&s->cpu_cold, CACHE_LINE, nr_cpu_ids * sizeof(*s->cpu_cold)))
		goto fail_nomem;
	memset(s->cpu_slot, 0, nr_cpu_ids * sizeof(*s->cpu_slot));
	memset(s->cpu_cold, 0, nr_cpu_ids * sizeof(*s->cpu_cold));
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		s->cpu_slot[cpu].ac.closed = ARRAY_ABSENT;
		umutex_init(&s->cpu_cold[cpu].lock, LOCK_CPU_ARRAY);
		if (cpu_online((int)cpu) && cache_alloc_aliens(s, (int)cpu) < 0)
			goto fail_nomem;
	}
	for (int nid = 0; nid < (int)nr_node_ids; nid++) {
		if (!node_online(nid))
			continue;
		s->node[nid] = node_alloc();
		if (!s->node[nid])
			goto fail_nomem;
	}
	cache_default_tunables(s, &limit, &batchcount, &shared);
	if (cache_tune_locked(s, limit, batchcount, shared) < 0)
		goto fail_nomem;
	list_add(&s->list, &slab_caches);
	return s;

fail_nomem:
	cache_free_struct(s);
	errno = ENOMEM;
	return NULL;
fail: {
	int err = s->name ? EINVAL : ENOMEM;

	cache_free_struct(s);
	errno = err;
	return NULL;
}
}

/* Kernel find_mergeable(): an existing cache that can serve these objects. */
static struct kmem_cache *cache_find_mergeable(unsigned int size, unsigned int align,
					       slab_flags_t flags, void (*ctor)(void *))
{
	struct kmem_cache *s;

	if (slab_nomerge || ctor || (flags & SLAB_NEVER_MERGE))
		return NULL;
	align = cache_alignment(flags, align, size);
	size = ALIGN_UP(size, align);

	/* Oldest first, so the kmalloc caches are preferred as in the kernel. */
	for (s = list_last_entry(&slab_caches, struct kmem_cache, list); &s->list != &slab_caches;
	     s = list_entry(s->list.prev, struct kmem_cache, list)) {
		if (s->ctor || (s->flags & SLAB_NEVER_MERGE) || s->refcount < 1)
			continue;
		if (size > s->size)
			continue;
		if ((flags & SLAB_MERGE_SAME) != (s->flags & SLAB_MERGE_SAME))
			continue;
		if ((s->size & ~(align - 1)) != s->size)
			continue;
		if (s->size - size >= sizeof(void *))
			continue;
		return s;
	}
	return NULL;
}

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size, unsigned int align,
				     slab_flags_t flags, void (*ctor)(void *))
{
	struct kmem_cache *s = NULL;
	int err = uslab_ensure_init();

	if (!err && (!name || !*name || size == 0 || size > (PAGE_SIZE << SLAB_MAX_ORDER) ||
		     (align && !IS_POWER_OF_2(align)) || align > PAGE_SIZE ||
		     (flags & ~SLAB_FLAGS_ALLOWED)))
		err = -EINVAL;
	if (err) {
		if (flags & SLAB_PANIC)
			slab_report(NULL, NULL, "kmem_cache_create(%s) failed: %d", name ? name : "(null)",
				    err);
		errno = -err;
		return NULL;
	}

	/* USLAB_DEBUG may ask for debug flags, which also forbid merging. */
	flags |= debug_flags_for(name);
	slab_lock_all();
	s = cache_find_mergeable(size, align, flags, ctor);
	if (s) {
		/* Kernel __kmem_cache_alias(): the alias's objects are as large as asked. */
		s->refcount++;
		s->object_size = MAX(s->object_size, size);
	}
	else
		s = cache_create_locked(name, size, align, flags, ctor);
	err = s ? 0 : errno;
	slab_unlock_all();

	if (!s && (flags & SLAB_PANIC))
		slab_report(NULL, NULL, "kmem_cache_create(%s) failed: %d", name, -err);
	if (!s)
		errno = err;
	return s;
}

/* ---- draining, shrinking ------------------------------------------------------- */

void cache_drain_arrays(struct kmem_cache *s)
{
	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++) {
		drain_cpu_array(s, cpu, true);
		drain_alien_arrays(s, cpu, NUMA_NO_NODE, false);
	}
	for (int nid = 0; nid < (int)nr_node_ids; nid++)
		if (s->node[nid])
			drain_shared_array(s, nid, true);
}

unsigned long cache_drain_freelists(struct kmem_cache *s)
{
	unsigned long freed = 0;

	for (int nid = 0; nid < (int)nr_node_ids; nid++)
		if (s->node[nid])
			freed += drain_freelist(s, nid, ~0ul);
	return freed;
}

/* Objects still allocated, summed over nodes, after draining arrays (kernel __kmem_cache_shrink). */
static unsigned long cache_shrink_locked(struct kmem_cache *s)
{
	unsigned long in_use = 0;

	cache_drain_arrays(s);
	cache_drain_freelists(s);
	for (int nid = 0; nid < (int)nr_node_ids; nid++) {
		struct kmem_cache_node *n = s->node[nid];
		if (!n)
			continue;
		umutex_lock(&n->list_lock);
		in_use += n->total_slabs * s->num - n->free_objects;
		umutex_unlock(&n->list_lock);
	}
	return in_use;
}

int kmem_cache_shrink(struct kmem_cache *s)
{
	unsigned long in_use;

	if (!s)
		return -EINVAL;
	quarantine_flush(s);
	slab_lock_all();
	in_use = cache_shrink_locked(s);
	/* A root cache's tenant children are shrunk with it. */
	struct kmem_cache *child;
	list_for_each_entry(child, &s->memcg_params.children_list, memcg_params.sibling)
		in_use += cache_shrink_locked(child);
	slab_unlock_all();
	return in_use ? 1 : 0;
}

/* ---- destruction --------------------------------------------------------------- */

/*
 * Seed 000's order: the root's own objects, then shutdown_memcg_caches; any
 * object left anywhere keeps the root and every child as they are.
 */
int uslab_cache_destroy(struct kmem_cache *s)
{
	struct list_head dead_children = LIST_HEAD_INIT(dead_children);
	unsigned long in_use;

	if (!s || cache_is_child(s))
		return -EINVAL;
	/* Objects queued by kfree_rcu() or quarantined may be this cache's: let them go first. */
	quarantine_flush(s);
	if (s->flags & SLAB_TYPESAFE_BY_RCU) {
		/* Free slabs (its children's too) leave through call_rcu: wait for them. */
		kmem_cache_shrink(s);
		kvfree_rcu_barrier();
	} else if (slab_kfree_rcu_pending()) {
		kvfree_rcu_barrier();
	}
	slab_lock_all();
	if ((s->flags & CFLGS_KMALLOC) && s->refcount <= 1) {
		/* The kmalloc caches live as long as the library. */
		slab_unlock_all();
		slab_warn(s, "kmem_cache_destroy: the kmalloc caches cannot be destroyed");
		return -EPERM;
	}
	if (--s->refcount > 0) {
		slab_unlock_all();
		return 0;
	}
	in_use = cache_shrink_locked(s);
	if (in_use || memcg_shutdown_children_locked(s, &dead_children)) {
		struct kmem_cache *child;

		s->refcount = 1;
		fprintf(stderr, "kmem_cache_destroy %s: Slab cache still has objects%s\n", s->name,
			in_use ? "" : " (in tenant child caches)");
		if (in_use)
			cache_leaks_report(s, stderr, 16);
		list_for_each_entry(child, &s->memcg_params.children_list, memcg_params.sibling)
			if (__atomic_load_n(&child->memcg_params.nr_slabs, __ATOMIC_RELAXED))
				cache_leaks_report(child, stderr, 16);
		slab_unlock_all();
		return -EBUSY;
	}
	list_del(&s->list);
	slab_unlock_all();

	memcg_free_children(&dead_children);
	/* Slabs of a TYPESAFE_BY_RCU cache are released by callbacks that use it. */
	if (s->flags & SLAB_TYPESAFE_BY_RCU)
		slab_rcu_barrier();
	cache_free_struct(s);
	return 0;
}

void kmem_cache_destroy(struct kmem_cache *s)
{
	if (s)
		(void)uslab_cache_destroy(s);
}

/* ---- tuning and queries -------------------------------------------------------- */

int uslab_cache_tune(struct kmem_cache *s, unsigned int limit, unsigned int batchcount,
		     unsigned int shared)
{
	int err;

	if (!s || cache_is_child(s) || limit < 1 || limit > SLAB_MAX_LIMIT || batchcount < 1 || batchcount > limit ||
	    batchcount > SLAB_MAX_BATCH || shared > SLAB_MAX_SHARED)
		return -EINVAL;
	slab_lock_all();
	err = cache_tune_locked(s, limit, batchcount, shared);
	if (!err) {
		struct kmem_cache *child;

		/* Chosen by hand: adaptive sizing leaves this cache alone from now on. */
		WRITE_ONCE(s->tuned, true);
		/* Children follow their root's tunables, as in the kernel. */
		list_for_each_entry(child, &s->memcg_params.children_list, memcg_params.sibling) {
			WRITE_ONCE(child->tuned, true);
			cache_tune_locked(child, limit, batchcount, shared);
		}
	}
	slab_unlock_all();
	return err;
}

unsigned int kmem_cache_size(struct kmem_cache *s)
{
	return s ? s->object_size : 0;
}

const char *uslab_cache_name(const struct kmem_cache *s)
{
	return s ? s->name : NULL;
}

struct kmem_cache *uslab_cache_find(const char *name)
{
	struct kmem_cache *s, *found = NULL;

	if (!name || uslab_ensure_init())
		return NULL;
	umutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		if (strcmp(s->name, name) == 0) {
			found = s;
			break;
		}
	}
	umutex_unlock(&slab_mutex);
	return found;
}
