// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/kmalloc.c - kmalloc and friends on the general caches: classes of 8
 * bytes to 4 MiB in powers of two plus 96 and 192, chosen through the
 * kernel's size_index table for small sizes and fls() above; three types
 * (normal, reclaimable "kmalloc-rcl-N", accounted "kmalloc-cg-N"). As SLAB
 * did until Linux 6.0 (KMALLOC_SHIFT_HIGH up to 25), the big classes are
 * ordinary caches: a 1 MiB buffer is a per-CPU array hit like a 64-byte
 * object, and the kernel's array limits (8 above a page, 1 above 128 KiB)
 * with the reaper and the page cache underneath bound what they keep.
 * Classes above 8 KiB are named kmalloc-16k .. kmalloc-4M. kvmalloc() of
 * more than 4 MiB gets whole pages (kmalloc_large), recorded in the page
 * map with a small descriptor so that kfree() and ksize() find them.
 *
 * Power-of-two classes are aligned to their size (up to the page), as Linux
 * guarantees since 5.4; 96 and 192 to 32 and 64 bytes.
 *
 * Pointers from callers are checked before use: one the page map does not
 * know, one inside a block, and one already freed are reported and ignored
 * by kfree(), krealloc() and ksize() alike.
 */
#include "lib/slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct kmem_cache *kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];

/* Class index of sizes 1..192, by (size - 1) / 8: 1 is 96 bytes, 2 is 192, else 2^i. */
static const uint8_t size_index[24] = {
	3, 4, 5, 5, 6, 6, 6, 6, /* 8 16 32 32 64 64 64 64 */
	1, 1, 1, 1, 7, 7, 7, 7, /* 96 x4, 128 x4 */
	2, 2, 2, 2, 2, 2, 2, 2, /* 192 x8 */
};

static const char *const type_prefix[NR_KMALLOC_TYPES] = { "kmalloc-", "kmalloc-rcl-",
							    "kmalloc-cg-" };
static const slab_flags_t type_flags[NR_KMALLOC_TYPES] = { 0, SLAB_RECLAIM_ACCOUNT,
							    SLAB_ACCOUNT };

static inline unsigned int kmalloc_index(size_t size)
{
	if (size <= 192)
		return size_index[(size - 1) / 8];
	return (unsigned int)(64 - __builtin_clzl(size - 1));
}

static inline unsigned int kmalloc_class_size(unsigned int index)
{
	return index == 1 ? 96 : index == 2 ? 192 : 1u << index;
}

/* "kmalloc-64", "kmalloc-cg-16k", "kmalloc-rcl-4M": the kernel's names (6.1 for k and M). */
static void kmalloc_class_name(char *buf, size_t len, int type, unsigned int size)
{
	if (size >= (1u << 20))
		snprintf(buf, len, "%s%uM", type_prefix[type], size >> 20);
	else if (size > 8192)
		snprintf(buf, len, "%s%uk", type_prefix[type], size >> 10);
	else
		snprintf(buf, len, "%s%u", type_prefix[type], size);
}

static inline enum kmalloc_cache_type kmalloc_type(gfp_t flags)
{
	if (likely(!(flags & (__GFP_ACCOUNT | __GFP_RECLAIMABLE))))
		return KMALLOC_NORMAL;
	/* Linux 5.14-6.1: reclaimable wins over accounted. */
	return (flags & __GFP_RECLAIMABLE) ? KMALLOC_RECLAIM : KMALLOC_CGROUP;
}

int kmalloc_init_locked(void)
{
	for (int type = 0; type < NR_KMALLOC_TYPES; type++) {
		for (unsigned int i = 1; i <= KMALLOC_SHIFT_HIGH; i++) {
			unsigned int size = kmalloc_class_size(i);
			unsigned int align = i == 1 ? 32 : i == 2 ? 64 : MIN(size, (unsigned int)PAGE_SIZE);
			char name[32];

			if (kmalloc_caches[type][i])
				continue;
			kmalloc_class_name(name, sizeof(name), type, size);
			slab_flags_t flags = type_flags[type] | CFLGS_KMALLOC;
			slab_flags_t debug = debug_flags_for(name);

			kmalloc_caches[type][i] = cache_create_locked(name, size, align, flags | debug, NULL);
			/*
			 * The largest classes fill the largest slab: no room for red zones
			 * and tracks. USLAB_DEBUG then checks them as far as it can: not at all.
			 */
			if (!kmalloc_caches[type][i] && debug && errno == EINVAL)
				kmalloc_caches[type][i] = cache_create_locked(name, size, align, flags, NULL);
			if (!kmalloc_caches[type][i])
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- kmalloc_large --------------------------------------------------------------- */

/*
 * Live blocks per node, so that a node with one cannot go offline (the
 * memory callback in lib/hotplug_cb.c vetoes it, as it does for live slab
 * objects), and the isolation of a node going offline. Dekker's pattern, all
 * sequentially consistent: a block counts itself and then looks at the flag;
 * the offline sets the flag and then reads the count. Either the block sees
 * the flag (and takes no page there) or the offline sees the block.
 */
static struct large_node {
	unsigned long live;     /* atomic: blocks holding pages of this node */
	bool isolated;          /* atomic: going offline, no new block here */
} __attribute__((aligned(CACHE_LINE))) large_nodes[USLAB_MAX_NUMNODES];

bool kmalloc_large_node_get(int nid)
{
	struct large_node *ln = &large_nodes[nid];

	__atomic_add_fetch(&ln->live, 1, __ATOMIC_SEQ_CST);
	if (likely(!__atomic_load_n(&ln->isolated, __ATOMIC_SEQ_CST)))
		return true;
	__atomic_sub_fetch(&ln->live, 1, __ATOMIC_SEQ_CST);
	return false;
}

void kmalloc_large_node_put(int nid)
{
	__atomic_sub_fetch(&large_nodes[nid].live, 1, __ATOMIC_SEQ_CST);
}

void kmalloc_large_isolate_node(int nid, bool isolate)
{
	__atomic_store_n(&large_nodes[nid].isolated, isolate, __ATOMIC_SEQ_CST);
}

unsigned long kmalloc_large_node_live(int nid)
{
	return __atomic_load_n(&large_nodes[nid].live, __ATOMIC_SEQ_CST);
}

/* Pages of node @nid for a block, counted among its live blocks; NULL when it has none to give. */
static void *large_pages_on(int nid, size_t bytes)
{
	void *addr;

	if (!node_online(nid) || !kmalloc_large_node_get(nid))
		return NULL;
	addr = topology_alloc_pages(nid, bytes);
	if (!addr)
		kmalloc_large_node_put(nid);
	return addr;
}

struct large_block {
	void *addr;
	size_t size;                /* bytes, whole pages */
	int nid;
	struct obj_cgroup *objcg;   /* the tenant charged for the pages, or NULL */
};

static void large_block_uncharge(struct large_block *lb)
{
	unsigned int pages = (unsigned int)(ALIGN_UP(lb->size, PAGE_SIZE) / PAGE_SIZE);

	if (!lb->objcg)
		return;
	obj_cgroup_mod_stat(lb->objcg, MEMCG_KMALLOC_LARGE, -(long)pages);
	obj_cgroup_uncharge_pages(lb->objcg, pages);
	obj_cgroup_put(lb->objcg);
	lb->objcg = NULL;
}

static void *kmalloc_large_alloc(size_t size, gfp_t flags, int nid)
{
	struct large_block *lb;
	size_t bytes = ALIGN_UP(size, PAGE_SIZE);

	if (nid < NUMA_NO_NODE || nid >= (int)nr_node_ids) {
		errno = EINVAL;
		return NULL;
	}
	if (nid == NUMA_NO_NODE)
		nid = slab_cpu_mem_node(topology_current_cpu());
	if (!node_online(nid) && (flags & __GFP_THISNODE)) {
		errno = ENOMEM;
		return NULL;
	}
	lb = kmalloc(sizeof(*lb), flags & ~(__GFP_ZERO | __GFP_ACCOUNT | __GFP_THISNODE));
	if (!lb)
		return NULL;
	lb->objcg = NULL;
	if (flags & __GFP_ACCOUNT) {
		lb->objcg = memcg_charge_large(flags, (unsigned int)(bytes / PAGE_SIZE));
		if (lb->objcg == (struct obj_cgroup *)-1) {
			kfree(lb);
			errno = ENOMEM;
			return NULL;
		}
	}
	lb->size = bytes;
	fault_page_gfp = flags;
	lb->addr = large_pages_on(nid, bytes);
	if (!lb->addr && !(flags & __GFP_THISNODE)) {
		int order[USLAB_MAX_NUMNODES];
		unsigned int nr = topology_nodes_by_distance(nid, order, ARRAY_SIZE(order));

		for (unsigned int i = 1; i < nr && !lb->addr; i++) {
			if (!node_online(order[i]))
				continue;
			lb->addr = large_pages_on(order[i], bytes);
			nid = order[i];
		}
	}
	fault_page_gfp = 0;
	if (!lb->addr)
		goto fail;
	lb->size = bytes;
	lb->nid = nid;
	if (pagemap_set(lb->addr, bytes, (uintptr_t)lb | PAGEMAP_LARGE) < 0) {
		topology_free_pages(lb->addr, bytes, nid);
		kmalloc_large_node_put(nid);
		goto fail;
	}
	if (flags & __GFP_ZERO)
		memset(lb->addr, 0, size);
	return lb->addr;
fail:
	large_block_uncharge(lb);
	kfree(lb);
	errno = ENOMEM;
	return NULL;
}

static inline struct large_block *large_block_of(uintptr_t value)
{
	return (struct large_block *)(value & ~PAGEMAP_LARGE);
}

void kmalloc_large_free(const void *p, uintptr_t value)
{
	struct large_block *lb = large_block_of(value);

	if (unlikely(lb->addr != p)) {
		slab_report(NULL, p, "kfree: pointer is inside a kmalloc_large block of %zu bytes at %p",
			    lb->size, lb->addr);
		return;
	}
	pagemap_clear(lb->addr, lb->size);
	topology_free_pages(lb->addr, lb->size, lb->nid);
	kmalloc_large_node_put(lb->nid);
	worker_kick(WORK_DECAY);
	large_block_uncharge(lb);
	kfree(lb);
}

size_t kmalloc_large_size(uintptr_t value)
{
	return large_block_of(value)->size;
}

int kmalloc_large_nid(uintptr_t value)
{
	return large_block_of(value)->nid;
}

/* ---- kmalloc API ------------------------------------------------------------------- */

static void *do_kmalloc(size_t size, gfp_t flags, int node, const void *caller)
{
	struct kmem_cache *s;
	void *obj;

	if (unlikely(size == 0))
		return ZERO_SIZE_PTR;
	_Static_assert(KMALLOC_MAX_CACHE_SIZE == KMALLOC_MAX_SIZE, "every kmalloc size has a class");
	if (unlikely(size > KMALLOC_MAX_SIZE)) {
		errno = EINVAL;
		return NULL;
	}
	s = kmalloc_caches[kmalloc_type(flags)][kmalloc_index(size)];
	if (unlikely(!s)) {
		if (uslab_ensure_init())
			return NULL; /* errno says why, the same for every size */
		s = kmalloc_caches[kmalloc_type(flags)][kmalloc_index(size)];
	}
	/* __GFP_ZERO clears the whole class, so a later krealloc in place sees zeroes. */
	obj = slab_alloc_node(s, flags, node, caller);
	if (unlikely(s->flags & SLAB_RED_ZONE) && obj)
		debug_kmalloc_request(s, obj, size, flags); /* USLAB_DEBUG: the slack is red zone */
	return obj;
}

#define RET_IP __builtin_return_address(0)

void *kmalloc_node(size_t size, gfp_t flags, int node)
{
	return do_kmalloc(size, flags, node, RET_IP);
}

static void *do_kvmalloc(size_t size, gfp_t flags, int node, const void *caller)
{
	if (size <= KMALLOC_MAX_SIZE)
		return do_kmalloc(size, flags, node, caller);
	if ((flags & ~__GFP_BITS_MASK) || size > (1ul << 46)) {
		errno = (flags & ~__GFP_BITS_MASK) ? EINVAL : ENOMEM;
		return NULL;
	}
	if (uslab_ensure_init())
		return NULL;
	return kmalloc_large_alloc(size, flags, node);
}

void *kvmalloc(size_t size, gfp_t flags)
{
	return do_kvmalloc(size, flags, NUMA_NO_NODE, RET_IP);
}

void *kvmalloc_node(size_t size, gfp_t flags, int node)
{
	return do_kvmalloc(size, flags, node, RET_IP);
}

void *kvzalloc(size_t size, gfp_t flags)
{
	return do_kvmalloc(size, flags | __GFP_ZERO, NUMA_NO_NODE, RET_IP);
}

void kvfree(const void *p)
{
	kfree(p);
}

void *kmalloc(size_t size, gfp_t flags)
{
	/* The fast path: a plain class (accounted and reclaimable ones are not fast_alloc). */
	if (likely(size - 1 < KMALLOC_MAX_SIZE)) {
		struct kmem_cache *s = kmalloc_caches[KMALLOC_NORMAL][kmalloc_index(size)];

		if (likely(s)) {
			void *obj = slab_alloc_fast(s, flags);

			if (likely(obj))
				return obj;
		}
	}
	return do_kmalloc(size, flags, NUMA_NO_NODE, RET_IP);
}

void *kzalloc(size_t size, gfp_t flags)
{
	return do_kmalloc(size, flags | __GFP_ZERO, NUMA_NO_NODE, RET_IP);
}

void *kzalloc_node(size_t size, gfp_t flags, int node)
{
	return do_kmalloc(size, flags | __GFP_ZERO, node, RET_IP);
}

void *kmalloc_array(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_kmalloc(bytes, flags, NUMA_NO_NODE, RET_IP);
}

void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_kmalloc(bytes, flags | __GFP_ZERO, NUMA_NO_NODE, RET_IP);
}

/* The whole kfree() of @p whose page-map entry is @v: every kind of block, and the reports. */
static USLAB_NOINLINE void kfree_slow(const void *p, uintptr_t v, const void *caller)
{
	struct slab *slab;

	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	if (unlikely(v & PAGEMAP_LARGE)) {
		kmalloc_large_free(p, v);
		return;
	}
	slab = free_check_object(NULL, p, "kfree", true, caller);
	if (likely(slab))
		slab_free_checked(slab->cache, (void *)p, slab);
}

void kfree(const void *p)
{
	uintptr_t v = pagemap_lookup(p);

	/* 0: not ours (NULL, ZERO_SIZE_PTR, a bad pointer); LARGE: a kmalloc_large block. */
	if (likely(v && !(v & PAGEMAP_LARGE))) {
		struct kmem_cache *c = ((struct slab *)v)->cache;

		if (likely(c->fast_free)) {
			/* A one-page on-slab slab starts its page: the check of kmem_cache_free. */
			struct slab *slab = likely(c->state_inline) ? free_check_fast(c, (void *)p, v)
								    : free_check_slab((void *)p, v);

			if (likely(slab)) {
				if (likely(!cache_is_child(c)) && likely(cpu_cache_rseq()) &&
				    likely(rseq_push(c, (void *)p, slab->nid)))
					return;
				slab_free_checked(c, (void *)p, slab);
				return;
			}
		}
	}
	kfree_slow(p, v, __builtin_return_address(0));
}

/* USLAB_DEBUG asked for checks of the kmalloc caches (ksize reports then). */
static bool kmalloc_debugging(void)
{
	struct kmem_cache *s = kmalloc_caches[KMALLOC_NORMAL][3];

	return s && (s->flags & SLAB_DEBUG_FLAGS);
}

/*
 * The usable size of the allocated block that starts at @p, or 0 when @p is
 * not one: not uslab memory, inside a block or an object, or not allocated
 * (free, in an array, quarantined). Reported as @what when @report.
 */
static size_t kmalloc_block_size(const void *p, const char *what, bool report)
{
	uintptr_t v = pagemap_lookup(p);
	struct kmem_cache *c;
	struct slab *slab;
	long idx;

	if (unlikely(v == 0)) {
		if (report)
			slab_report(NULL, p, "%s: pointer was not allocated by uslab", what);
		return 0;
	}
	if (v & PAGEMAP_LARGE) {
		struct large_block *lb = large_block_of(v);

		if (likely(lb->addr == p))
			return lb->size;
		if (report)
			slab_report(NULL, p, "%s: pointer is inside a kmalloc_large block of %zu bytes at %p",
				    what, lb->size, lb->addr);
		return 0;
	}
	slab = (struct slab *)v;
	c = slab->cache;
	idx = slab_obj_to_index(c, slab, p);
	if (unlikely(idx < 0)) {
		if (report)
			slab_report(c, p, "%s: pointer is not the start of an object (offset %zu in its slab)",
				    what, (size_t)((const char *)p - (const char *)slab->pages));
		return 0;
	}
	if (unlikely(slab_obj_state(c, slab)[idx] != OBJ_ALLOCATED)) {
		if (report)
			slab_report(c, p, "%s: object is not allocated (already freed?)", what);
		return 0;
	}
	return c->object_size;
}

/* USLAB_DEBUG: the block's whole class is the caller's now, slack included (kernel 6.2 __ksize). */
static void kmalloc_hand_over(const void *p)
{
	uintptr_t v = pagemap_lookup(p);

	if (!(v & PAGEMAP_LARGE) && unlikely(((struct slab *)v)->cache->flags & SLAB_RED_ZONE))
		debug_kmalloc_ksize(((struct slab *)v)->cache, (struct slab *)v, (void *)p);
}

size_t ksize(const void *p)
{
	size_t size;

	if (ZERO_OR_NULL_PTR(p))
		return 0;
	size = kmalloc_block_size(p, "ksize", kmalloc_debugging());
	if (size)
		kmalloc_hand_over(p);
	return size;
}

void *krealloc(const void *p, size_t new_size, gfp_t flags)
{
	size_t old = 0;
	void *q;

	if (!ZERO_OR_NULL_PTR(p)) {
		old = kmalloc_block_size(p, "krealloc", true);
		if (unlikely(!old)) {
			errno = EINVAL;
			return NULL;
		}
	}
	if (unlikely(new_size == 0)) {
		kfree(p);
		return ZERO_SIZE_PTR;
	}
	if (old >= new_size) {
		/* Kernel 6.1: shrinking in place; zero the tail asked for with __GFP_ZERO. */
		kmalloc_hand_over(p);
		if (flags & __GFP_ZERO)
			memset((char *)p + new_size, 0, old - new_size);
		return (void *)p;
	}
	q = do_kmalloc(new_size, flags, NUMA_NO_NODE, RET_IP);
	if (!q)
		return NULL;
	if (old)
		memcpy(q, p, old);
	kfree(p);
	return q;
}

char *kstrdup(const char *s, gfp_t gfp)
{
	return s ? kmemdup(s, strlen(s) + 1, gfp) : NULL;
}

char *kstrndup(const char *s, size_t max, gfp_t gfp)
{
	char *d;
	size_t len;

	if (!s)
		return NULL;
	len = strnlen(s, max);
	d = do_kmalloc(len + 1, gfp, NUMA_NO_NODE, RET_IP);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

void *kmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = do_kmalloc(len, gfp, NUMA_NO_NODE, RET_IP);

	if (p && !ZERO_OR_NULL_PTR(p))
		memcpy(p, src, len);
	return p;
}

/* ---- object queries ---------------------------------------------------------------- */

struct kmem_cache *uslab_obj_cache(const void *p)
{
	uintptr_t v = pagemap_lookup(p);

	if (v == 0 || (v & PAGEMAP_LARGE))
		return NULL;
	return ((struct slab *)v)->cache;
}

int uslab_obj_node(const void *p)
{
	uintptr_t v = pagemap_lookup(p);

	if (v == 0)
		return -1;
	if (v & PAGEMAP_LARGE)
		return kmalloc_large_nid(v);
	return ((struct slab *)v)->nid;
}
