/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uslab/stats.h - live statistics: a JSON /proc/slabinfo, and the shared-memory
 * file through which a process publishes its caches and tenants for
 * uslabtop(1) or any other reader.
 *
 * Publishing. With USLAB_STATS=1 in the environment (or after
 * uslab_stats_publish_start()) the library keeps a snapshot of every cache
 * and tenant in the POSIX shared-memory object "/uslab.<pid>"
 * (/dev/shm/uslab.<pid> on Linux), refreshed every USLAB_STATS_MS
 * milliseconds (default 1000) and removed by uslab_stats_publish_stop() and
 * at exit. The file is created with mode 0600: readers run as the same user.
 *
 * Format (USLAB_STATS_VERSION 1). Host byte order and natural alignment: the
 * file is read on the machine that wrote it; on a little-endian host it
 * starts with the bytes "USLABSHM". It is a struct uslab_stats_header
 * followed by four arrays of fixed-size records, each described by a struct
 * uslab_stats_section of the header (offset, record size, count, capacity):
 *
 *   caches        struct uslab_stats_cache, newest cache first (as slabinfo)
 *   cache_nodes   struct uslab_stats_cache_node, each cache's nodes in a row
 *   tenants       struct uslab_stats_tenant, tree pre-order from the root
 *   tenant_slabs  struct uslab_stats_tenant_slab, memory.stat's per-cache
 *                 lines, each tenant's in a row
 *
 * Compatibility: a reader accepts only its own USLAB_STATS_VERSION. Within a
 * version, fields are only ever appended to the header and to records; the
 * sizes in the file say how long they are, so a reader copies what it knows
 * and zero-fills the rest. Offsets and capacities may change at any refresh
 * (the arrays grow; the file never shrinks).
 *
 * Consistency: one writer (the publishing process) updates the file under a
 * sequence lock, header.generation: odd while a refresh is being written,
 * incremented to the next even value when it is complete. A reader notes the
 * generation with uslab_stats_read_begin(), copies what it needs with
 * uslab_stats_load(), and starts again if uslab_stats_read_retry() says the
 * generation was odd or has changed. The writer stores with
 * uslab_stats_store(); both copy 8-byte words with atomics (release stores,
 * acquire loads, no fences), so the race between them is defined behaviour
 * in the C11 memory model and ThreadSanitizer sees the ordering. A data word
 * of an unfinished refresh can only be seen after that refresh's odd
 * generation, so the generation check that follows the copy catches it.
 * uslab_stats_read() does all of this.
 *
 * Errors follow uslab/common.h: calls return 0 or a negative errno value.
 */
#ifndef USLAB_STATS_H
#define USLAB_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <uslab/common.h>

USLAB_BEGIN_DECLS

/* "USLABSHM" read as a host-order 64-bit word on a little-endian machine. */
#define USLAB_STATS_MAGIC   0x4d4853424c415355ull
#define USLAB_STATS_VERSION 1u

/* Name of the shared-memory object of process @pid: "/uslab.<pid>". */
#define USLAB_STATS_SHM_PREFIX "/uslab."

#define USLAB_STATS_NAME_LEN        192 /* cache names, NUL-terminated, truncated */
#define USLAB_STATS_TENANT_NAME_LEN 256 /* tenant names (at most 255 bytes) */
#define USLAB_STATS_PATH_LEN        512 /* "/a/b" tenant paths, truncated */
#define USLAB_STATS_NR_EVENTS       5   /* enum memcg_memory_event: low high max oom oom_kill */
#define USLAB_STATS_NO_LIMIT        UINT64_MAX /* memory.max / memory.high "max" */

enum uslab_stats_section_id {
	USLAB_STATS_CACHES,
	USLAB_STATS_CACHE_NODES,
	USLAB_STATS_TENANTS,
	USLAB_STATS_TENANT_SLABS,
	USLAB_STATS_NR_SECTIONS
};

/**
 * struct uslab_stats_section - where one record array lives in the file
 * @offset: bytes from the start of the file; a multiple of 64
 * @record_size: bytes per record, a multiple of 8 (the writer's sizeof)
 * @count: records valid in this generation
 * @capacity: records the file has room for (count <= capacity)
 * @reserved: 0
 */
struct uslab_stats_section {
	uint64_t offset;
	uint32_t record_size;
	uint32_t count;
	uint32_t capacity;
	uint32_t reserved;
};

/**
 * struct uslab_stats_header - the start of the file
 * @magic: USLAB_STATS_MAGIC; 0 until the first refresh is complete
 * @version: USLAB_STATS_VERSION of the writer
 * @header_size: sizeof(struct uslab_stats_header) of the writer
 * @generation: the sequence lock: odd while a refresh is being written
 * @file_size: bytes of the file; a reader that mapped less must map again
 * @pid: the publishing process
 * @period_ms: refresh period
 * @page_size: the allocator's page size, for slab sizes in bytes
 * @nr_nodes: NUMA nodes (node ids are 0 .. nr_nodes - 1)
 * @nr_cpus: CPUs
 * @flags: 0 (reserved)
 * @start_time_ns: CLOCK_REALTIME when publishing started
 * @update_time_ns: CLOCK_REALTIME of this generation's refresh
 * @update_mono_ns: CLOCK_MONOTONIC of the same instant (system-wide clock:
 *                  a reader compares it with its own to get the age)
 * @comm: the program's short name, NUL-terminated
 * @sections: the record arrays, indexed by enum uslab_stats_section_id
 * @reserved: 0
 */
struct uslab_stats_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint64_t generation;
	uint64_t file_size;
	uint32_t pid;
	uint32_t period_ms;
	uint32_t page_size;
	uint32_t nr_nodes;
	uint32_t nr_cpus;
	uint32_t flags;
	uint64_t start_time_ns;
	uint64_t update_time_ns;
	uint64_t update_mono_ns;
	char comm[32];
	struct uslab_stats_section sections[USLAB_STATS_NR_SECTIONS];
	uint64_t reserved[4];
};

/* struct uslab_stats_cache.kind bits */
#define USLAB_STATS_CACHE_KMALLOC 0x1u /* one of the kmalloc caches */
#define USLAB_STATS_CACHE_CHILD   0x2u /* a tenant's child cache "root(id:tenant)" */
#define USLAB_STATS_CACHE_DYING   0x4u /* child of a tenant gone offline */

/**
 * struct uslab_stats_cache - one cache, as uslab_cache_info() sees it
 * @name: cache name (truncated to USLAB_STATS_NAME_LEN - 1 bytes)
 * @active_objs: objects not free in the node lists (slabinfo's active_objs:
 *               allocated plus those cached in per-CPU, shared, alien arrays)
 * @num_objs: objects in all slabs
 * @inuse_objs: objects the program holds: active_objs minus the arrays
 * @active_slabs: slabs with at least one active object
 * @num_slabs: all slabs
 * @full_slabs: slabs on the full lists
 * @partial_slabs: slabs on the partial lists
 * @free_slabs: slabs on the free lists
 * @free_objects: free objects in the node lists
 * @free_limit: sum of the nodes' free_limit
 * @shared_avail: objects in the shared arrays
 * @cpu_avail: objects in the per-CPU arrays
 * @alien_avail: objects in the alien arrays
 * @allocs: allocations (hits + misses + node allocations)
 * @frees: frees (hits + misses + node and alien frees)
 * @alloc_hits: allocations served by a per-CPU array
 * @alloc_misses: allocations that refilled it
 * @free_hits: frees into a per-CPU array
 * @free_misses: frees that flushed it
 * @grown: slabs created
 * @reaped: slabs freed
 * @node_allocs: allocations served straight from a node's lists
 * @node_frees: frees straight to a node's lists
 * @alien_frees: frees of another node's object
 * @object_size: size asked for at creation
 * @size: object stride in the slab (slabinfo's objsize)
 * @align: alignment
 * @objs_per_slab: objects per slab
 * @pages_per_slab: pages per slab
 * @limit: per-CPU array capacity
 * @batchcount: objects moved per refill or flush
 * @shared: shared array factor
 * @slab_flags: SLAB_* creation flags
 * @kind: USLAB_STATS_CACHE_* bits
 * @refcount: references (merged aliases count)
 * @tenant_id: for a child cache of a live tenant, the tenant's id; else 0
 * @node_first: index of the cache's first cache_nodes record
 * @nr_nodes: its cache_nodes records (one per node the cache has)
 */
struct uslab_stats_cache {
	char name[USLAB_STATS_NAME_LEN];
	uint64_t active_objs, num_objs, inuse_objs;
	uint64_t active_slabs, num_slabs, full_slabs, partial_slabs, free_slabs;
	uint64_t free_objects, free_limit, shared_avail, cpu_avail, alien_avail;
	uint64_t allocs, frees, alloc_hits, alloc_misses, free_hits, free_misses;
	uint64_t grown, reaped, node_allocs, node_frees, alien_frees;
	uint32_t object_size, size, align, objs_per_slab, pages_per_slab;
	uint32_t limit, batchcount, shared;
	uint32_t slab_flags;
	uint32_t kind;
	int32_t refcount;
	uint32_t tenant_id;
	uint32_t node_first;
	uint32_t nr_nodes;
};

/**
 * struct uslab_stats_cache_node - one cache on one node
 * @cache: index of the cache's record
 * @node: node id
 * @active_objs: as in struct uslab_stats_cache, for this node
 * @num_objs: same
 * @active_slabs: same
 * @num_slabs: same
 * @full_slabs: same
 * @partial_slabs: same
 * @free_slabs: same
 * @free_objects: same
 * @free_limit: the node's free_limit
 * @shared_avail: objects in the node's shared array
 * @cpu_avail: objects of this node in per-CPU arrays
 * @alien_avail: objects of this node in other nodes' alien arrays
 */
struct uslab_stats_cache_node {
	uint32_t cache;
	int32_t node;
	uint64_t active_objs, num_objs, active_slabs, num_slabs;
	uint64_t full_slabs, partial_slabs, free_slabs;
	uint64_t free_objects, free_limit, shared_avail, cpu_avail, alien_avail;
};

/* struct uslab_stats_tenant.flags bits */
#define USLAB_STATS_TENANT_ONLINE    0x1u /* not (being) destroyed */
#define USLAB_STATS_TENANT_TRUNCATED 0x2u /* @path did not fit */

/**
 * struct uslab_stats_tenant - one tenant (memory cgroup), online or dying
 * @name: mem_cgroup_name(): "/" for the root
 * @path: "/" or "/a/b", as mem_cgroup_lookup() takes it
 * @id: mem_cgroup_id() (root: 1)
 * @parent_id: the parent's id; 0 for the root
 * @flags: USLAB_STATS_TENANT_* bits
 * @depth: 0 for the root, 1 for its children, ...
 * @current: memory.current, bytes
 * @peak: memory.peak, bytes
 * @max: memory.max, bytes, or USLAB_STATS_NO_LIMIT
 * @high: memory.high, bytes, or USLAB_STATS_NO_LIMIT
 * @events: memory.events (hierarchical), enum memcg_memory_event order
 * @events_local: memory.events.local
 * @slab: memory.stat slab, bytes
 * @slab_reclaimable: memory.stat slab_reclaimable
 * @slab_unreclaimable: memory.stat slab_unreclaimable
 * @kmalloc_large: memory.stat kmalloc_large
 * @slab_first: index of the tenant's first tenant_slabs record
 * @nr_slab: its tenant_slabs records
 */
struct uslab_stats_tenant {
	char name[USLAB_STATS_TENANT_NAME_LEN];
	char path[USLAB_STATS_PATH_LEN];
	uint32_t id, parent_id;
	uint32_t flags, depth;
	uint64_t current, peak, max, high;
	uint64_t events[USLAB_STATS_NR_EVENTS];
	uint64_t events_local[USLAB_STATS_NR_EVENTS];
	uint64_t slab, slab_reclaimable, slab_unreclaimable, kmalloc_large;
	uint32_t slab_first, nr_slab;
};

/**
 * struct uslab_stats_tenant_slab - a "slab.<cache> <bytes>" line of a
 * tenant's memory.stat: the slab memory of its child cache of root @cache
 * @tenant: index of the tenant's record
 * @reserved: 0
 * @bytes: slab pages of the child cache, in bytes
 * @cache: the root cache's name
 */
struct uslab_stats_tenant_slab {
	uint32_t tenant;
	uint32_t reserved;
	uint64_t bytes;
	char cache[USLAB_STATS_NAME_LEN];
};

/* ---- the sequence lock, for readers and writers of the file ---------------- */

/**
 * uslab_stats_read_begin - start a read of the file's records
 * @h: the mapped header
 *
 * Return: the generation to hand to uslab_stats_read_retry(); an odd value
 * means a refresh is in progress (the read will have to be retried).
 */
static inline uint64_t uslab_stats_read_begin(const struct uslab_stats_header *h)
{
	return __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE);
}

/**
 * uslab_stats_read_retry - whether what was copied since @start may be torn
 * @h: the mapped header
 * @start: uslab_stats_read_begin()'s value
 *
 * Return: true when the copy must be discarded and the read started again.
 */
static inline bool uslab_stats_read_retry(const struct uslab_stats_header *h, uint64_t start)
{
	/* Ordered after the copy by uslab_stats_load()'s acquire loads. */
	return (start & 1) || __atomic_load_n(&h->generation, __ATOMIC_RELAXED) != start;
}

/** uslab_stats_write_begin - writer: make the generation odd before changing anything */
static inline void uslab_stats_write_begin(struct uslab_stats_header *h)
{
	uint64_t g = __atomic_load_n(&h->generation, __ATOMIC_RELAXED);

	/* Ordered before the data by uslab_stats_store()'s release stores. */
	__atomic_store_n(&h->generation, g + 1, __ATOMIC_RELAXED);
}

/** uslab_stats_write_end - writer: publish the changes with the next even generation */
static inline void uslab_stats_write_end(struct uslab_stats_header *h)
{
	uint64_t g = __atomic_load_n(&h->generation, __ATOMIC_RELAXED);

	__atomic_store_n(&h->generation, g + 1, __ATOMIC_RELEASE);
}

/**
 * uslab_stats_load - copy @bytes (a multiple of 8) out of the file
 * @dst: private memory
 * @src: 8-byte aligned place in the mapping
 * @bytes: size
 */
static inline void uslab_stats_load(void *dst, const void *src, size_t bytes)
{
	const uint64_t *s = (const uint64_t *)src;
	unsigned char *d = (unsigned char *)dst;

	for (size_t i = 0; i < bytes / 8; i++) {
		uint64_t w = __atomic_load_n(&s[i], __ATOMIC_ACQUIRE);

		memcpy(d + 8 * i, &w, 8);
	}
}

/**
 * uslab_stats_store - copy @bytes (a multiple of 8) into the file
 * @dst: 8-byte aligned place in the mapping
 * @src: private memory
 * @bytes: size
 */
static inline void uslab_stats_store(void *dst, const void *src, size_t bytes)
{
	uint64_t *d = (uint64_t *)dst;
	const unsigned char *s = (const unsigned char *)src;

	for (size_t i = 0; i < bytes / 8; i++) {
		uint64_t w;

		memcpy(&w, s + 8 * i, 8);
		__atomic_store_n(&d[i], w, __ATOMIC_RELEASE);
	}
}

/* ---- snapshots ---------------------------------------------------------------- */

/**
 * struct uslab_stats_snapshot - a consistent copy of one generation
 * @header: the header (its sections' counts equal the nr_* fields)
 * @caches: @nr_caches records
 * @cache_nodes: @nr_cache_nodes records
 * @tenants: @nr_tenants records
 * @tenant_slabs: @nr_tenant_slabs records
 * @nr_caches: records in @caches
 * @nr_cache_nodes: records in @cache_nodes
 * @nr_tenants: records in @tenants
 * @nr_tenant_slabs: records in @tenant_slabs
 *
 * Filled by uslab_stats_collect() or uslab_stats_read(), released with
 * uslab_stats_snapshot_free().
 */
struct uslab_stats_snapshot {
	struct uslab_stats_header header;
	struct uslab_stats_cache *caches;
	struct uslab_stats_cache_node *cache_nodes;
	struct uslab_stats_tenant *tenants;
	struct uslab_stats_tenant_slab *tenant_slabs;
	size_t nr_caches, nr_cache_nodes, nr_tenants, nr_tenant_slabs;
};

/**
 * uslab_stats_collect - take a snapshot of this process's caches and tenants
 * @snap: result (uninitialised on entry)
 *
 * The same data the publisher writes. Initialises the library if needed.
 * Context: takes slab_mutex and, for each tenant, its memory.stat path; hold
 * no uslab lock.
 * Return: 0 or -ENOMEM (then @snap holds nothing to free).
 */
USLAB_API int uslab_stats_collect(struct uslab_stats_snapshot *snap);

/**
 * uslab_stats_read - read the statistics another process publishes
 * @pid: the publishing process (may be the caller itself)
 * @snap: result (uninitialised on entry)
 *
 * Opens "/uslab.<pid>", waits out a refresh in progress (a bounded number of
 * retries) and copies one generation. Does not initialise the allocator.
 * Return: 0; -ENOENT (no such file: not publishing), -EACCES, -EPROTO (not a
 * statistics file, wrong byte order or version), -EAGAIN (no consistent copy
 * in time, or the first refresh is not complete), -ENOMEM.
 */
USLAB_API int uslab_stats_read(pid_t pid, struct uslab_stats_snapshot *snap);

/** uslab_stats_snapshot_free - release a snapshot's arrays (NULL accepted) */
USLAB_API void uslab_stats_snapshot_free(struct uslab_stats_snapshot *snap);

/**
 * uslab_stats_print_json - print a snapshot as JSON
 * @snap: the snapshot
 * @f: stream
 *
 * The schema uslab_slabinfo_json() documents; a snapshot read from another
 * process prints that process's pid and time.
 * Return: 0, -EINVAL or -EIO (writing failed).
 */
USLAB_API int uslab_stats_print_json(const struct uslab_stats_snapshot *snap, FILE *f);

/**
 * uslab_slabinfo_json - print every cache and tenant of this process as JSON
 * @f: stream
 *
 * One object: "version", "pid", "comm", "time" (seconds since the epoch),
 * "page_size", "nr_nodes", "nr_cpus", then
 * "caches": the slabinfo fields of each cache ("name", "active_objs",
 * "num_objs", "objsize", "objperslab", "pagesperslab", "limit",
 * "batchcount", "sharedfactor", "active_slabs", "num_slabs", "sharedavail")
 * plus "inuse_objs", "object_size", "align", "flags", "kind", "refcount",
 * "tenant_id", slab list and array counts, allocation statistics, and
 * "nodes": one object per node with that node's counts; and
 * "tenants": "name", "id", "parent_id", "path", "online",
 * "memory.current", "memory.peak", "memory.max" and "memory.high" (bytes, or
 * the string "max"), "memory.events" and "memory.events.local" (objects with
 * "low", "high", "max", "oom", "oom_kill"), "memory.stat" (object with
 * "slab", "slab_reclaimable", "slab_unreclaimable", "kmalloc_large") and
 * "slab_caches" (object: root cache name -> bytes of the tenant's child).
 * Context: as uslab_stats_collect().
 * Return: 0, -EINVAL, -ENOMEM or -EIO.
 */
USLAB_API int uslab_slabinfo_json(FILE *f);

/* ---- publishing ----------------------------------------------------------------- */

/**
 * uslab_stats_publish_start - publish statistics in "/uslab.<pid>"
 * @period_ms: refresh period; 0: USLAB_STATS_MS, else 1000
 *
 * Creates the file with a first refresh, then refreshes it every @period_ms
 * from a small background thread (or from the reaper's passes when the
 * reaper runs often enough). Called again, it only changes the period.
 * USLAB_STATS=1 in the environment starts publishing with the library.
 * Return: 0, or -errno (file creation or thread start failed).
 */
USLAB_API int uslab_stats_publish_start(unsigned int period_ms);

/**
 * uslab_stats_publish_stop - stop publishing and remove the file
 *
 * Waits for the refresher thread. No-op when not publishing. Also done at
 * exit.
 */
USLAB_API void uslab_stats_publish_stop(void);

/**
 * uslab_stats_refresh - refresh the published file now
 *
 * For programs that want readers to see a state at once (after a phase, in
 * tests) rather than within a period.
 * Return: 0, -ENOENT when not publishing, -ENOMEM or -ENOSPC.
 */
USLAB_API int uslab_stats_refresh(void);

USLAB_END_DECLS

#endif /* USLAB_STATS_H */
