/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uslab/memcg.h - tenants: a tree of memory cgroups with hierarchical
 * limits, cgroup v2 style files, and per-tenant accounting of slab memory.
 *
 * A tenant (struct mem_cgroup) is created under a parent, charged through
 * the slab allocator for the pages its objects use, limited by memory.max
 * and memory.high, and destroyed like an rmdir: it goes offline at once, its
 * charges move to its parent, and the object stays readable ("dying") until
 * the last reference is dropped.
 *
 * Errors follow uslab/common.h: calls returning a pointer return NULL and
 * set errno; management calls return 0 or a negative errno value. Tenant
 * pointers passed in must be alive: the root, a tenant not yet destroyed,
 * or one the caller holds a reference on (mem_cgroup_get()).
 */
#ifndef USLAB_MEMCG_H
#define USLAB_MEMCG_H

#include <sys/types.h>
#include <uslab/common.h>

USLAB_BEGIN_DECLS

struct mem_cgroup;

/* memory.max and memory.high value meaning "no limit" ("max" in files). */
#define MEMCG_LIMIT_MAX (~0ul)

/* The counters of memory.events, in file order (kernel names). */
enum memcg_memory_event {
	MEMCG_LOW,      /* always 0: no memory.low protection here */
	MEMCG_HIGH,     /* a charge or limit change left usage above memory.high */
	MEMCG_MAX,      /* a charge hit memory.max (even if reclaim then helped) */
	MEMCG_OOM,      /* a charge failed at memory.max */
	MEMCG_OOM_KILL, /* always 0: nothing is killed */
	MEMCG_NR_MEMORY_EVENTS
};

/**
 * uslab_root_mem_cgroup - the root tenant
 *
 * The root always exists, is never offline, has no limits, and is charged
 * (in memory.current) with everything its descendants are charged.
 * Context: any.
 * Return: the root; never NULL.
 */
USLAB_API struct mem_cgroup *uslab_root_mem_cgroup(void);
#define root_mem_cgroup uslab_root_mem_cgroup()

/**
 * mem_cgroup_create - create a tenant (mkdir)
 * @parent: online parent, or NULL for the root
 * @name: non-empty, no '/', unique among @parent's online children
 *
 * The tree owns the returned reference until mem_cgroup_destroy(); take
 * mem_cgroup_get() to use the tenant beyond that.
 * Context: takes the tree lock; do not call from memcg_kmem_ops callbacks.
 * Return: the tenant, or NULL with errno EINVAL (bad name), EEXIST (name
 * taken), ENOENT (@parent is offline), ENOSPC (too many tenants) or ENOMEM.
 */
USLAB_API struct mem_cgroup *mem_cgroup_create(struct mem_cgroup *parent, const char *name);

/**
 * mem_cgroup_destroy - take a tenant offline (rmdir)
 * @memcg: tenant to destroy
 *
 * Drains the per-CPU charge stocks, tells the allocator (which deactivates
 * the tenant's caches), moves the tenant's charges and statistics to its
 * parent, then drops the tree's reference. The tenant stays readable, with
 * memory.current 0, and counts in its ancestors' nr_dying_descendants until
 * its last reference goes. Waits for a child's destroy still in progress.
 * Context: may call the allocator's callbacks; hold no uslab lock.
 * Return: 0, -EINVAL (root or NULL), -ENOENT (already offline) or -EBUSY
 * (it has online children).
 */
USLAB_API int mem_cgroup_destroy(struct mem_cgroup *memcg);

/**
 * mem_cgroup_get - take a reference that keeps @memcg readable
 * @memcg: a live tenant (the root is accepted and not counted)
 */
USLAB_API void mem_cgroup_get(struct mem_cgroup *memcg);

/**
 * mem_cgroup_put - drop a reference taken by mem_cgroup_get(),
 * mem_cgroup_lookup() or mem_cgroup_from_id()
 * @memcg: tenant, root or NULL (both ignored)
 *
 * The last reference of an offline tenant frees it.
 * Context: takes the tree lock when it frees; do not hold it.
 */
USLAB_API void mem_cgroup_put(struct mem_cgroup *memcg);

/**
 * mem_cgroup_from_id - find a tenant, online or dying, by its id
 * @id: a value mem_cgroup_id() returned
 *
 * Return: the tenant with a new reference (drop it with mem_cgroup_put()),
 * or NULL with errno ENOENT.
 */
USLAB_API struct mem_cgroup *mem_cgroup_from_id(unsigned int id);

/**
 * mem_cgroup_lookup - find an online tenant by path
 * @path: "/" for the root, "/a/b" for the child b of the root's child a
 *
 * Return: the tenant with a new reference (drop it with mem_cgroup_put()),
 * or NULL with errno ENOENT (no such online tenant) or EINVAL (relative).
 */
USLAB_API struct mem_cgroup *mem_cgroup_lookup(const char *path);

/**
 * mem_cgroup_name - the name given to mem_cgroup_create(); "/" for the root
 * @memcg: tenant
 */
USLAB_API const char *mem_cgroup_name(const struct mem_cgroup *memcg);

/**
 * mem_cgroup_id - the tenant's id (root: 1), unique among live tenants
 * @memcg: tenant; NULL means the root
 *
 * Ids of freed tenants are reused.
 */
USLAB_API unsigned int mem_cgroup_id(const struct mem_cgroup *memcg);

/**
 * mem_cgroup_parent - the parent, or NULL for the root
 * @memcg: tenant
 *
 * The parent lives at least as long as @memcg.
 */
USLAB_API struct mem_cgroup *mem_cgroup_parent(const struct mem_cgroup *memcg);

/**
 * mem_cgroup_online - false once mem_cgroup_destroy() began
 * @memcg: tenant
 */
USLAB_API bool mem_cgroup_online(const struct mem_cgroup *memcg);

/**
 * set_active_memcg - make the calling thread charge @memcg
 * @memcg: tenant, the root (charge nobody) or NULL (back to the attached one)
 *
 * Overrides mem_cgroup_attach_thread() until set back. No reference is
 * taken: the caller keeps @memcg alive while it is active.
 * Return: the previously active tenant (NULL if none).
 */
USLAB_API struct mem_cgroup *set_active_memcg(struct mem_cgroup *memcg);

/**
 * mem_cgroup_attach_thread - set the calling thread's default tenant
 * @memcg: online tenant, or NULL/root to detach
 *
 * Takes a reference, dropped when the thread attaches elsewhere or exits.
 * If the tenant goes offline, the thread charges its nearest online
 * ancestor.
 * Return: 0 or -ENOENT (@memcg is offline).
 */
USLAB_API int mem_cgroup_attach_thread(struct mem_cgroup *memcg);

/**
 * mem_cgroup_usage - memory.current in bytes (descendants and per-CPU
 * charge stocks included)
 * @memcg: tenant
 */
USLAB_API unsigned long mem_cgroup_usage(const struct mem_cgroup *memcg);

/**
 * mem_cgroup_peak - memory.peak in bytes: the highest usage a charge left
 * @memcg: tenant
 */
USLAB_API unsigned long mem_cgroup_peak(const struct mem_cgroup *memcg);

/** mem_cgroup_max - memory.max in bytes, or MEMCG_LIMIT_MAX */
USLAB_API unsigned long mem_cgroup_max(const struct mem_cgroup *memcg);

/** mem_cgroup_high - memory.high in bytes, or MEMCG_LIMIT_MAX */
USLAB_API unsigned long mem_cgroup_high(const struct mem_cgroup *memcg);

/**
 * mem_cgroup_set_max - set memory.max
 * @memcg: online non-root tenant
 * @bytes: limit in bytes (rounded down to pages), or MEMCG_LIMIT_MAX
 *
 * Below the current usage, the allocator is first asked to free the
 * tenant's free slabs and the charge stocks are drained; if usage is still
 * above @bytes the limit is left unchanged.
 * Context: may call the allocator's reclaim callback; hold no uslab lock.
 * Return: 0, -EINVAL (root or offline) or -EBUSY (usage stays above).
 */
USLAB_API int mem_cgroup_set_max(struct mem_cgroup *memcg, unsigned long bytes);

/**
 * mem_cgroup_set_high - set memory.high
 * @memcg: online non-root tenant
 * @bytes: threshold in bytes (rounded down to pages), or MEMCG_LIMIT_MAX
 *
 * Never fails for being below usage: it counts a high event and asks the
 * allocator to reclaim the tenant's free slabs.
 * Context: as mem_cgroup_set_max().
 * Return: 0 or -EINVAL (root or offline).
 */
USLAB_API int mem_cgroup_set_high(struct mem_cgroup *memcg, unsigned long bytes);

/**
 * mem_cgroup_events - a memory.events counter
 * @memcg: tenant
 * @event: which counter
 * @local: true for memory.events.local (this tenant only), false for the
 *         hierarchical memory.events (this tenant and its descendants)
 *
 * Return: the count, 0 for a bad @event.
 */
USLAB_API unsigned long mem_cgroup_events(const struct mem_cgroup *memcg,
					  enum memcg_memory_event event, bool local);

/**
 * mem_cgroup_read - read a cgroup v2 style file of a tenant
 * @memcg: tenant (online or dying)
 * @file: "memory.current", "memory.peak", "memory.max", "memory.high",
 *        "memory.events", "memory.events.local", "memory.stat" or "cgroup.stat"
 * @buf: receives the content, NUL-terminated
 * @len: size of @buf
 *
 * Values are in bytes, one "key value" per line, as the kernel prints
 * them; memory.stat ends with the allocator's per-cache lines. With @buf
 * NULL and @len 0 the call only measures.
 * Context: memory.stat runs the allocator's stat callback; hold no uslab lock.
 * Return: the content's length (without the NUL), -ENOENT (unknown file),
 * -ENOSPC (content and NUL do not fit; @buf is left unchanged) or -ENOMEM.
 */
USLAB_API ssize_t mem_cgroup_read(struct mem_cgroup *memcg, const char *file,
				  char *buf, size_t len);

/**
 * mem_cgroup_write - write a cgroup v2 style file of a tenant
 * @memcg: online non-root tenant
 * @file: "memory.max", "memory.high", or "memory.reclaim" (give back that many
 *        bytes of stocked charges and free slabs now; -EAGAIN if fewer could be)
 * @value: "max", or bytes with an optional K, M, G or T suffix (powers of
 *         1024, either case), surrounding blanks and a final newline allowed
 *
 * Same effects as mem_cgroup_set_max() and mem_cgroup_set_high().
 * Return: 0, -ENOENT (unknown file), -EACCES (read-only file), -EINVAL (bad
 * value, root or offline tenant) or -EBUSY (see mem_cgroup_set_max()).
 */
USLAB_API int mem_cgroup_write(struct mem_cgroup *memcg, const char *file, const char *value);

/**
 * mem_cgroup_drain_stocks - give every CPU's stocked charge back to its tenant
 *
 * Charges are taken from the counters in batches of 64 pages per CPU; after
 * this call memory.current of every tenant counts exactly the pages its
 * slabs and kmalloc_large blocks hold (until the next charge).
 * Context: hold no uslab lock.
 */
USLAB_API void mem_cgroup_drain_stocks(void);

USLAB_END_DECLS

#endif /* USLAB_MEMCG_H */
