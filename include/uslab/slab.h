/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uslab/slab.h - object caches and kmalloc, with the Linux kernel's names and
 * flag values (6.1), on the SLAB design of mm/slab.c: per-CPU array caches, a
 * per-node shared array and per-node full/partial/free slab lists.
 *
 * Errors follow uslab/common.h: allocation calls return NULL with errno set,
 * management calls return 0 or -errno. All calls are thread-safe. The library
 * initialises itself on first use; uslab_init() may be called before that to
 * pass options.
 */
#ifndef USLAB_SLAB_H
#define USLAB_SLAB_H

#include <stdio.h>
#include <uslab/common.h>

USLAB_BEGIN_DECLS

/* ---- gfp flags (Linux 6.1 gfp_types.h) ---------------------------------- */
#define __GFP_DMA              0x01u
#define __GFP_HIGHMEM          0x02u
#define __GFP_DMA32            0x04u
#define __GFP_MOVABLE          0x08u
#define __GFP_RECLAIMABLE      0x10u
#define __GFP_HIGH             0x20u
#define __GFP_IO               0x40u
#define __GFP_FS               0x80u
#define __GFP_ZERO             0x100u
#define __GFP_ATOMIC           0x200u
#define __GFP_DIRECT_RECLAIM   0x400u
#define __GFP_KSWAPD_RECLAIM   0x800u
#define __GFP_WRITE            0x1000u
#define __GFP_NOWARN           0x2000u
#define __GFP_RETRY_MAYFAIL    0x4000u
#define __GFP_NOFAIL           0x8000u
#define __GFP_NORETRY          0x10000u
#define __GFP_MEMALLOC         0x20000u
#define __GFP_COMP             0x40000u
#define __GFP_NOMEMALLOC       0x80000u
#define __GFP_HARDWALL         0x100000u
#define __GFP_THISNODE         0x200000u
#define __GFP_ACCOUNT          0x400000u
#define __GFP_ZEROTAGS         0x800000u
#define __GFP_SKIP_ZERO        0x1000000u
#define __GFP_SKIP_KASAN_UNPOISON 0x2000000u
#define __GFP_SKIP_KASAN_POISON   0x4000000u
#define __GFP_NOLOCKDEP        0x8000000u
#define __GFP_BITS_MASK        0xfffffffu

#define __GFP_RECLAIM       (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
#define GFP_ATOMIC          (__GFP_HIGH | __GFP_ATOMIC | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL          (__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_KERNEL_ACCOUNT  (GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_NOWAIT          (__GFP_KSWAPD_RECLAIM)
#define GFP_NOIO            (__GFP_RECLAIM)
#define GFP_NOFS            (__GFP_RECLAIM | __GFP_IO)
#define GFP_USER            (__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL)
#define GFP_DMA             __GFP_DMA
#define GFP_DMA32           __GFP_DMA32

/* ---- cache flags (Linux 6.1 slab.h) -------------------------------------- */
#define SLAB_CONSISTENCY_CHECKS 0x00000100u /* extra checks on alloc/free */
#define SLAB_RED_ZONE           0x00000400u /* guard words around objects */
#define SLAB_POISON             0x00000800u /* fill free objects with 0x6b */
#define SLAB_HWCACHE_ALIGN      0x00002000u /* align objects to cache lines */
#define SLAB_CACHE_DMA          0x00004000u /* accepted, no effect here */
#define SLAB_CACHE_DMA32        0x00008000u /* accepted, no effect here */
#define SLAB_STORE_USER         0x00010000u /* record alloc/free call sites */
#define SLAB_RECLAIM_ACCOUNT    0x00020000u /* objects are reclaimable */
#define SLAB_TEMPORARY          SLAB_RECLAIM_ACCOUNT
#define SLAB_PANIC              0x00040000u /* abort if creation fails */
#define SLAB_TYPESAFE_BY_RCU    0x00080000u /* slab pages freed after a grace period */
#define SLAB_MEM_SPREAD         0x00100000u /* accepted, no effect here */
#define SLAB_TRACE              0x00200000u /* accepted, no effect here */
#define SLAB_DEBUG_OBJECTS      0x00400000u /* accepted, no effect here */
#define SLAB_NOLEAKTRACE        0x00800000u /* accepted, no effect here */
#define SLAB_NO_MERGE           0x01000000u /* never merge (Linux 6.5 value) */
#define SLAB_FAILSLAB           0x02000000u /* subject to fault injection */
#define SLAB_ACCOUNT            0x04000000u /* charge to the active tenant */
#define SLAB_KASAN              0x08000000u /* accepted, no effect here */
#define SLAB_NO_USER_FLAGS      0x10000000u /* accepted, no effect here */

/* ---- kmalloc ------------------------------------------------------------- */
/*
 * As SLAB until Linux 6.0: every kmalloc size up to KMALLOC_MAX_SIZE comes
 * from a slab cache (kmalloc-8 .. kmalloc-4M), so a big buffer costs what a
 * small object costs; kvmalloc() serves larger requests with whole pages.
 */
#define KMALLOC_SHIFT_HIGH  22                       /* 4 MiB: largest slab class */
#define KMALLOC_MAX_CACHE_SIZE (1ul << KMALLOC_SHIFT_HIGH)
#define KMALLOC_MAX_SIZE    (1ul << 22)              /* 4 MiB, as Linux with MAX_ORDER 11 */
#define KMALLOC_MIN_SIZE    8

/* kmalloc(0) returns this: not NULL, not dereferenceable, kfree()-able. */
#define ZERO_SIZE_PTR ((void *)16)
#define ZERO_OR_NULL_PTR(x) ((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

struct kmem_cache;
struct list_lru; /* accepted by kmem_cache_alloc_lru() and ignored */

/**
 * kmem_cache_create - create a cache of objects of one size
 * @name: name shown by uslab_slabinfo(); copied
 * @size: object size in bytes, 1 .. 4 MiB
 * @align: required alignment: 0 or a power of two up to the page size
 * @flags: SLAB_* flags; unknown bits are rejected
 * @ctor: constructor run once per object when its slab is created, or NULL
 *
 * A cache without constructor, debug or RCU flags may be merged with an
 * existing compatible cache (as Linux does); the returned pointer is then
 * that cache and the alias is reference counted. SLAB_NO_MERGE or the
 * USLAB_NOMERGE environment variable prevents merging.
 *
 * Context: may sleep; takes cpus/mems hotplug read locks and slab_mutex.
 * Return: the cache, or NULL with errno EINVAL or ENOMEM (with SLAB_PANIC
 * the process aborts instead).
 */
USLAB_API struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
					       unsigned int align, slab_flags_t flags,
					       void (*ctor)(void *));

/**
 * kmem_cache_destroy - drop a reference to a cache, destroying it on the last
 * @s: the cache, or NULL (no-op)
 *
 * When objects are still allocated the cache is kept intact and usable, and
 * "kmem_cache_destroy NAME: Slab cache still has objects" is reported on
 * stderr; uslab_cache_destroy() gives the same result as -EBUSY.
 */
USLAB_API void kmem_cache_destroy(struct kmem_cache *s);

/**
 * uslab_cache_destroy - kmem_cache_destroy() that reports the outcome
 * @s: the cache
 *
 * Return: 0 when the reference was dropped (and the cache destroyed if it
 * was the last), -EBUSY when objects remain (nothing changed), -EINVAL for
 * NULL or a tenant's child cache, -EPERM for a kmalloc cache's own reference.
 */
USLAB_API int uslab_cache_destroy(struct kmem_cache *s);

/**
 * kmem_cache_shrink - release every free slab and empty the per-CPU arrays
 * @s: the cache
 *
 * Return: 0 if the cache holds no allocated object afterwards, 1 otherwise.
 */
USLAB_API int kmem_cache_shrink(struct kmem_cache *s);

/**
 * kmem_cache_alloc - allocate one object
 * @s: the cache
 * @gfpflags: GFP_* flags; __GFP_ZERO zeroes the object
 *
 * Return: the object, or NULL with errno ENOMEM.
 */
USLAB_API void *kmem_cache_alloc(struct kmem_cache *s, gfp_t gfpflags);

/** kmem_cache_alloc_lru - kmem_cache_alloc(); @lru may be NULL and is unused */
USLAB_API void *kmem_cache_alloc_lru(struct kmem_cache *s, struct list_lru *lru,
				     gfp_t gfpflags);

/** kmem_cache_zalloc - kmem_cache_alloc() with __GFP_ZERO */
USLAB_API void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t gfpflags);

/**
 * kmem_cache_alloc_node - allocate one object from a NUMA node
 * @s: the cache
 * @gfpflags: GFP_* flags; __GFP_THISNODE forbids falling back to other nodes
 * @node: node id, or NUMA_NO_NODE for the calling thread's node
 *
 * Return: the object, or NULL with errno ENOMEM (EINVAL for a bad node).
 */
USLAB_API void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t gfpflags, int node);

/**
 * kmem_cache_free - return an object to its cache
 * @s: the cache the object was allocated from
 * @objp: the object, or NULL (no-op)
 *
 * A pointer uslab never returned, or one of another cache, is reported with
 * the cache and address named; see uslab_set_report_handler().
 */
USLAB_API void kmem_cache_free(struct kmem_cache *s, void *objp);

/**
 * kmem_cache_alloc_bulk - allocate @size objects, all or nothing
 * @s: the cache
 * @flags: GFP_* flags
 * @size: number of objects
 * @p: array receiving the objects
 *
 * Return: @size on success; 0 (errno ENOMEM) after returning any objects it
 * had taken.
 */
USLAB_API int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t flags, size_t size,
				    void **p);

/** kmem_cache_free_bulk - free @size objects of @s; NULL entries are skipped */
USLAB_API void kmem_cache_free_bulk(struct kmem_cache *s, size_t size, void **p);

/** kmem_cache_size - the object size the cache was created with */
USLAB_API unsigned int kmem_cache_size(struct kmem_cache *s);

/**
 * kmalloc - allocate @size bytes from the kmalloc size classes
 * @size: bytes, up to KMALLOC_MAX_SIZE (4 MiB); 0 gives ZERO_SIZE_PTR
 * @flags: GFP_* flags; __GFP_ACCOUNT charges the active tenant
 *         (kmalloc-cg-N caches), __GFP_RECLAIMABLE uses kmalloc-rcl-N
 *
 * Return: memory aligned to at least 8 bytes (power-of-two classes are
 * aligned to their size up to the page size), or NULL with errno ENOMEM
 * (EINVAL above KMALLOC_MAX_SIZE).
 */
USLAB_API void *kmalloc(size_t size, gfp_t flags);
/** kmalloc_node - kmalloc() from NUMA node @node (NUMA_NO_NODE: local) */
USLAB_API void *kmalloc_node(size_t size, gfp_t flags, int node);
/** kzalloc - kmalloc() with __GFP_ZERO */
USLAB_API void *kzalloc(size_t size, gfp_t flags);
/** kzalloc_node - kmalloc_node() with __GFP_ZERO */
USLAB_API void *kzalloc_node(size_t size, gfp_t flags, int node);
/** kmalloc_array - kmalloc(@n * @size); NULL with errno ENOMEM on overflow */
USLAB_API void *kmalloc_array(size_t n, size_t size, gfp_t flags);
/** kcalloc - kmalloc_array() with __GFP_ZERO */
USLAB_API void *kcalloc(size_t n, size_t size, gfp_t flags);
/**
 * krealloc - resize a kmalloc'd block, keeping its contents
 * @p: block, NULL or ZERO_SIZE_PTR
 * @new_size: new size; 0 frees @p and returns ZERO_SIZE_PTR
 * @flags: GFP_* flags
 *
 * Return: the block (possibly @p itself when it is already large enough), or
 * NULL with errno ENOMEM, in which case @p is untouched and still valid. A
 * @p that is not an allocated block (freed, foreign, or inside a block) is
 * reported (uslab_set_report_handler()) and gives NULL with errno EINVAL;
 * nothing is copied.
 */
USLAB_API void *krealloc(const void *p, size_t new_size, gfp_t flags);
/** kfree - free a kmalloc'd block; NULL and ZERO_SIZE_PTR are no-ops */
USLAB_API void kfree(const void *p);
/**
 * ksize - usable size of a kmalloc'd block (or any uslab object)
 * @p: the block's start; NULL and ZERO_SIZE_PTR give 0
 *
 * Return: the size of its class, or 0 when @p is not the start of a block
 * uslab handed out (reported as well when USLAB_DEBUG or a debug flag is on).
 */
USLAB_API size_t ksize(const void *p);
/** kstrdup - kmalloc'd copy of @s (NULL gives NULL) */
USLAB_API char *kstrdup(const char *s, gfp_t gfp);
/** kstrndup - kmalloc'd copy of at most @max bytes of @s, NUL-terminated */
USLAB_API char *kstrndup(const char *s, size_t max, gfp_t gfp);
/** kmemdup - kmalloc'd copy of @len bytes at @src */
USLAB_API void *kmemdup(const void *src, size_t len, gfp_t gfp);

/* ---- RCU -------------------------------------------------------------------- */

/**
 * kvfree_call_rcu - free @ptr (from kmalloc, kvmalloc or any cache) after an
 * RCU grace period of liburcu's default flavour (urcu-memb)
 * @head: address of a struct rcu_head inside the object, or NULL; unused
 *        (uslab never writes into the object)
 * @ptr: the object; NULL and ZERO_SIZE_PTR are ignored
 *
 * Pointers are batched per CPU (one call_rcu per ~250 pointers). Without
 * memory for a batch the call waits for a grace period itself.
 * Context: may block briefly; not from inside an RCU read-side section when
 * memory is short.
 */
USLAB_API void kvfree_call_rcu(void *head, void *ptr);
/** kfree_rcu - kfree(@ptr) after a grace period; @rhf names its struct rcu_head field */
#define kfree_rcu(ptr, rhf) kvfree_call_rcu((void *)&(ptr)->rhf, (void *)(ptr))
#define kvfree_rcu_arg_1(ptr) kvfree_call_rcu(NULL, (void *)(ptr))
#define kvfree_rcu_arg_2(ptr, rhf) kfree_rcu(ptr, rhf)
#define USLAB_KVFREE_PICK(a, b, name, ...) name
/** kvfree_rcu - kvfree_rcu(ptr, field) or the headless kvfree_rcu(ptr) */
#define kvfree_rcu(...) USLAB_KVFREE_PICK(__VA_ARGS__, kvfree_rcu_arg_2, kvfree_rcu_arg_1, )(__VA_ARGS__)
/**
 * kvfree_rcu_barrier - wait until every pointer queued by kfree_rcu() and
 * kvfree_rcu() before the call has been freed (and every other call_rcu
 * callback queued before it has run: it ends with rcu_barrier())
 */
USLAB_API void kvfree_rcu_barrier(void);
/** uslab_kfree_rcu_stats - pointers still waiting, and batches handed to call_rcu so far */
USLAB_API void uslab_kfree_rcu_stats(unsigned long *queued, unsigned long *callbacks);

/** kvmalloc - kmalloc() that also serves sizes above KMALLOC_MAX_SIZE with whole pages */
USLAB_API void *kvmalloc(size_t size, gfp_t flags);
/** kvmalloc_node - kvmalloc() from NUMA node @node (NUMA_NO_NODE: local) */
USLAB_API void *kvmalloc_node(size_t size, gfp_t flags, int node);
/** kvzalloc - kvmalloc() with __GFP_ZERO */
USLAB_API void *kvzalloc(size_t size, gfp_t flags);
/** kvfree - free memory from kvmalloc() or kmalloc() */
USLAB_API void kvfree(const void *p);

/* ---- uslab extras -------------------------------------------------------- */

/**
 * struct uslab_config - options for uslab_init()
 * @topology: hwloc synthetic description ("node:4 core:2 pu:1") or path of an
 *            hwloc XML file; NULL: the USLAB_TOPOLOGY variable, else the
 *            real machine
 * @nomerge: never merge caches (also USLAB_NOMERGE=1)
 * @noaliencache: free other nodes' objects straight to their node instead of
 *                batching them in per-CPU alien arrays (also USLAB_NOALIENCACHE=1)
 * @reaper_ms: period of the background reaper in milliseconds; 0: as
 *             USLAB_REAP_MS says (unset: a tenth of the decay, 10 ms .. 2 s;
 *             "0": no periodic reaper); uslab_reap() always works
 *
 * The page cache's decay is set with USLAB_DECAY_MS or uslab_decay_set().
 */
struct uslab_config {
	const char *topology;
	bool nomerge;
	bool noaliencache;
	unsigned int reaper_ms;
};

/**
 * uslab_init - initialise the library with options
 * @config: options, or NULL for the defaults and environment
 *
 * Optional: the first use of any call initialises with the defaults. A
 * failed initialisation (a bad USLAB_* variable, no memory) is said once on
 * stderr and is final: every later call that needs the allocator fails with
 * its error (allocations: NULL with errno set to it, whatever the size).
 * Only a @config topology hwloc cannot use is refused before anything is
 * done, and uslab_init() may be called again.
 * Return: 0; -EBUSY when the library was already initialised (options then
 * ignored); -EINVAL for a bad option or USLAB_* variable; -ENOMEM; or the
 * error of an earlier failed initialisation.
 */
USLAB_API int uslab_init(const struct uslab_config *config);

/** uslab_obj_cache - the cache an object belongs to, or NULL for foreign memory and kmalloc_large blocks */
USLAB_API struct kmem_cache *uslab_obj_cache(const void *p);
/** uslab_obj_node - the NUMA node of any uslab memory, or -1 for foreign memory */
USLAB_API int uslab_obj_node(const void *p);
/** uslab_cache_name - the cache's name */
USLAB_API const char *uslab_cache_name(const struct kmem_cache *s);

/**
 * uslab_slabinfo - print /proc/slabinfo (version 2.1) for every cache
 * @f: stream
 *
 * Return: 0, or -EIO if writing failed.
 */
USLAB_API int uslab_slabinfo(FILE *f);

/**
 * uslab_slabinfo_nodes - print each cache's slabs per NUMA node
 * @f: stream
 *
 * One header line, then one line per cache and node that has slabs:
 * name, node, active objects, objects, full, partial and free slabs, free
 * objects, free_limit, shared array entries, alien entries waiting for it.
 * Then a second header and one "pages" line per node with mapped memory:
 * the page provider's mapped, in_use, pooled (the page cache) and purged
 * pages, and its mmap, munmap and madvise calls (struct uslab_page_stats).
 * Return: 0, -EINVAL or -EIO.
 */
USLAB_API int uslab_slabinfo_nodes(FILE *f);

/**
 * uslab_cache_validate - check every structure and invariant of a cache
 * @s: the cache
 *
 * Walks every node list, slab, freelist and array. Counting invariants
 * (free_objects equals the free objects on the lists; every object is in
 * exactly one place) need a quiescent cache: no allocation or free running
 * on it. Problems are printed on stderr, one line each.
 * Return: 0 when consistent, -EUCLEAN otherwise.
 */
USLAB_API int uslab_cache_validate(struct kmem_cache *s);

/**
 * uslab_cache_leaks - list the objects of @s that are still allocated
 * @s: the cache
 * @f: stream for one line per object (address, node and, with SLAB_STORE_USER,
 *     the allocating call site, thread and age), or NULL to only count
 *
 * Return: the number of allocated objects, or -EINVAL.
 */
USLAB_API long uslab_cache_leaks(struct kmem_cache *s, FILE *f);

/**
 * uslab_cache_tune - set the per-CPU array sizes, like writing /proc/slabinfo
 * @s: the cache
 * @limit: per-CPU array capacity, 1..1024
 * @batchcount: objects moved per refill or flush, 1..min(@limit, 256)
 * @shared: shared array capacity as a multiple of @batchcount, 0..64
 *
 * Context: drains every array of the cache.
 * Return: 0 or -EINVAL.
 */
USLAB_API int uslab_cache_tune(struct kmem_cache *s, unsigned int limit,
			       unsigned int batchcount, unsigned int shared);

/**
 * struct uslab_cache_info - a snapshot of a cache (see uslab_cache_info())
 *
 * Counts are summed over nodes. active_objs counts objects outside the node
 * lists' free space: allocated ones plus those cached in per-CPU, shared and
 * alien arrays, as /proc/slabinfo does.
 */
struct uslab_cache_info {
	const char *name;
	unsigned int object_size, size, align, objs_per_slab, pages_per_slab;
	unsigned int limit, batchcount, shared;
	unsigned long active_objs, num_objs, active_slabs, num_slabs;
	unsigned long full_slabs, partial_slabs, free_slabs;
	unsigned long free_objects, free_limit, shared_avail, cpu_avail, alien_avail;
	unsigned long allocs, frees, alloc_hits, alloc_misses, free_hits, free_misses;
	unsigned long grown, reaped, node_allocs, node_frees, alien_frees;
	int refcount;
	slab_flags_t flags;
};

/**
 * uslab_cache_info - fill @info with a snapshot of @s
 * @s: the cache
 * @node: a node id, or NUMA_NO_NODE for the sum over all nodes
 * @info: result
 *
 * Return: 0 or -EINVAL.
 */
USLAB_API int uslab_cache_info(struct kmem_cache *s, int node, struct uslab_cache_info *info);

/**
 * uslab_cache_find - the cache named @name, or NULL
 * @name: cache name
 */
USLAB_API struct kmem_cache *uslab_cache_find(const char *name);

/**
 * uslab_reap - run one pass of the cache reaper now (cache_reap)
 *
 * Drains untouched per-CPU arrays by a fifth of their limit and frees free
 * slabs above each node's free_limit, as the kernel's periodic reaper does.
 * Return: the number of slabs freed.
 */
USLAB_API unsigned long uslab_reap(void);

/**
 * uslab_reaper_start - run uslab_reap() every @period_ms in the background
 * @period_ms: milliseconds, > 0
 *
 * The reaper runs on the library's background worker while anything is
 * cached and idles otherwise. It is on by default with a period that follows
 * the decay (a tenth of it, 10 ms .. 2 s); USLAB_REAP_MS sets another, 0
 * turns it off. This call also schedules a pass now.
 * Return: 0, -EINVAL for 0, -ENOMEM when the library cannot initialise.
 */
USLAB_API int uslab_reaper_start(unsigned int period_ms);
/** uslab_reaper_stop - stop the periodic reaper and wait for a pass in progress; no-op if off */
USLAB_API void uslab_reaper_stop(void);

/* Largest decay uslab_decay_set() takes: one hour. */
#define USLAB_DECAY_MS_MAX 3600000u

/**
 * uslab_decay_set - how long freed memory stays cached before it goes back to the OS
 * @decay_ms: milliseconds, 0 .. USLAB_DECAY_MS_MAX; 0 returns freed slab
 *            pages at once (no page cache)
 *
 * Pages of released slabs and large blocks stay resident in their node's
 * page cache and are reused first; the background worker returns the ones
 * free for @decay_ms (default 1000, or USLAB_DECAY_MS) with madvise() or
 * munmap(). Setting 0 also empties the page cache now.
 * Context: any thread.
 * Return: 0, -EINVAL above USLAB_DECAY_MS_MAX, -ENOMEM when the library
 * cannot initialise.
 */
USLAB_API int uslab_decay_set(unsigned int decay_ms);
/** uslab_decay_get - the decay in milliseconds (0: none) */
USLAB_API unsigned int uslab_decay_get(void);

/**
 * uslab_trim - give every cached byte back to the OS now
 *
 * Drains every per-CPU, shared and alien array of every cache into its
 * slabs, releases every free slab, and returns the whole page cache to the
 * OS (madvise, munmap), as if the decay period had passed for all of it.
 * Objects in use are not touched; slabs of SLAB_TYPESAFE_BY_RCU caches go
 * after their grace period, later. memory.reclaim written to the root
 * tenant does the same.
 * Context: any thread, no uslab lock held; takes slab_mutex.
 * Return: bytes given back to the OS by this call.
 */
USLAB_API unsigned long uslab_trim(void);

/**
 * struct uslab_fail_attr - fault injection (the kernel's failslab)
 * @probability: percent of eligible calls that fail, 0..100
 * @interval: only every @interval-th eligible call may fail (0 or 1: any)
 * @times: failures to inject before stopping; 0 or -1 for no limit
 * @cache: fnmatch pattern of the (root) cache names to fail, or NULL for all
 * @memcg: fnmatch pattern of the tenant names whose allocations fail, or NULL
 * @slab: fail object allocations (kmem_cache_alloc*, kmalloc*)
 * @pages: fail page-provider grabs (slab growth, kmalloc_large)
 * @only_failslab_caches: with @cache NULL, only caches created with SLAB_FAILSLAB
 * @seed: random seed (0: a fixed default)
 *
 * Object allocations with __GFP_NOFAIL are never failed on purpose; page
 * grabs do not see the gfp flags and may be.
 */
struct uslab_fail_attr {
	unsigned int probability;
	unsigned int interval;
	long times;
	const char *cache;
	const char *memcg;
	bool slab;
	bool pages;
	bool only_failslab_caches;
	unsigned int seed;
};

/**
 * uslab_fail_setup - start, change or (with NULL) stop fault injection
 * @attr: what to fail; strings are copied
 *
 * Also set from the environment at init: USLAB_FAIL="probability=1,pages=1,
 * slab=0,interval=1,times=-1,cache=GLOB,memcg=GLOB,seed=N".
 * Return: 0, -EINVAL (probability > 100, or neither @slab nor @pages), -ENOMEM.
 */
USLAB_API int uslab_fail_setup(const struct uslab_fail_attr *attr);
/** uslab_fail_count - failures injected so far */
USLAB_API unsigned long uslab_fail_count(void);

/**
 * uslab_report_fn - receives a misuse or corruption report
 * @cache: the cache's name, or NULL when the pointer belongs to no cache
 * @object: the pointer concerned
 * @text: the whole report, several lines
 *
 * The default handler prints @text on stderr and aborts.
 */
typedef void (*uslab_report_fn)(const char *cache, const void *object, const char *text);
/** uslab_set_report_handler - install @fn (NULL: default); returns the previous one */
USLAB_API uslab_report_fn uslab_set_report_handler(uslab_report_fn fn);

USLAB_END_DECLS

#endif /* USLAB_SLAB_H */
