/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memcg/internal.h - what the memcg room (floor 2, "who pays") offers lib/:
 * the calling thread's tenant, charging of pages through obj_cgroup handles
 * (which follow reparenting), slab statistics, and the hooks lib/ registers so
 * memcg can tell it about offline tenants and ask it to reclaim, without
 * calling into lib/ directly.
 */
#ifndef USLAB_MEMCG_INTERNAL_H
#define USLAB_MEMCG_INTERNAL_H

#ifndef USLAB_BUILDING
#error "memcg/internal.h is internal to uslab"
#endif

#include <stdio.h>
#include <uslab/memcg.h>
#include <uslab/slab.h>
#include "private/compiler.h"
#include "private/lock.h"

struct obj_cgroup;

/* memcg/memcontrol.c */

/* Highest kmem id + 1; ids index lib/'s per-cache child arrays. */
#define MEMCG_MAX_KMEM_IDS 4096

/* The tenant the calling thread charges: active, else attached, else root. */
struct mem_cgroup *memcg_current(void);
bool memcg_is_root(const struct mem_cgroup *memcg);
/* Dense id in [0, MEMCG_MAX_KMEM_IDS) while the tenant is online; root is 0. */
int memcg_kmem_id(const struct mem_cgroup *memcg);
/* Tenant's name as given to mem_cgroup_create() and its cgroup id. */
const char *memcg_name(const struct mem_cgroup *memcg);
unsigned int memcg_id(const struct mem_cgroup *memcg);
/*
 * The tenant's own kmem id even while it goes offline (memcg_kmem_id() then
 * answers with an online ancestor's), for lib/'s offline callback; -1 once
 * released.
 */
int memcg_own_kmem_id(const struct mem_cgroup *memcg);
/* True when @memcg is @root or below it (false for NULL @memcg). */
bool memcg_is_descendant(const struct mem_cgroup *memcg, const struct mem_cgroup *root);
/* False once mem_cgroup_destroy() started taking the tenant offline. */
bool memcg_online(const struct mem_cgroup *memcg);
/*
 * memcg_tenant_ids - ids of every tenant, online and dying, in tree
 * pre-order from the root, into @ids (at most @max of them).
 * Context: takes the tree lock. Return: the number of tenants, which may
 * exceed @max (call again with more room).
 */
size_t memcg_tenant_ids(unsigned int *ids, size_t max);

/* memcg/objcg.c */

/*
 * memcg_get_obj_cgroup - a counted handle that charges @memcg until it goes
 * offline, and its nearest online ancestor after that. NULL for root.
 */
struct obj_cgroup *memcg_get_obj_cgroup(struct mem_cgroup *memcg);
void obj_cgroup_get(struct obj_cgroup *objcg);
void obj_cgroup_put(struct obj_cgroup *objcg);

/* memcg/charge.c */

/*
 * obj_cgroup_charge_pages - charge @nr_pages to the handle's tenant and all
 * its ancestors, all or nothing, through the per-CPU stock. On failure it
 * drains stocks, asks lib/ to reclaim (memcg_kmem_ops.reclaim), retries once,
 * then counts max/oom events. __GFP_NOFAIL forces the charge.
 * Return: 0 or -ENOMEM.
 */
int obj_cgroup_charge_pages(struct obj_cgroup *objcg, gfp_t gfp, unsigned int nr_pages);
void obj_cgroup_uncharge_pages(struct obj_cgroup *objcg, unsigned int nr_pages);

enum memcg_stat_item {
	MEMCG_SLAB_RECLAIMABLE, /* pages */
	MEMCG_SLAB_UNRECLAIMABLE, /* pages */
	MEMCG_KMALLOC_LARGE, /* pages */
	MEMCG_NR_STAT_ITEMS
};
/* Add @nr to a statistic of the handle's tenant (and, hierarchically, ancestors). */
void obj_cgroup_mod_stat(struct obj_cgroup *objcg, enum memcg_stat_item item, long nr);

/*
 * memcg/memcontrol.c: fork. memcg_fork_tree() is the tree lock (its place is
 * after slab_mutex), memcg_fork_leaves() every leaf lock of the room (every
 * tenant's limit lock, the handle lock, the stock slots), after lib/'s
 * array locks; lib/fork.c calls them in that order and back.
 */
void memcg_fork_tree(enum fork_phase phase);
void memcg_fork_leaves(enum fork_phase phase);

/* memcg/memcontrol.c: what lib/ registers so memcg can ask it things (the notifier pattern). */
struct memcg_kmem_ops {
	/* Tenant @memcg is going offline: deactivate its child caches. */
	void (*offline)(struct mem_cgroup *memcg);
	/* Free @memcg's free slabs (and its descendants'); return pages freed. */
	unsigned long (*reclaim)(struct mem_cgroup *memcg);
	/* Append per-cache "name bytes" lines of @memcg to memory.stat. */
	void (*stat_show)(struct mem_cgroup *memcg, FILE *out);
};
/*
 * Register (or, with NULL, remove) lib/'s callbacks. @ops must stay valid
 * until replaced. memcg calls them with no memcg lock held; they may charge
 * and uncharge, but must not create or destroy tenants.
 */
void memcg_register_kmem_ops(const struct memcg_kmem_ops *ops);

/* The tenant the handle charges now: its creator, then, once that went
 * offline, the nearest online ancestor. Never NULL for a non-NULL handle. */
struct mem_cgroup *obj_cgroup_memcg(struct obj_cgroup *objcg);

/* memcg/stock.c */

/*
 * memcg_drain_all_stocks - return every CPU's stocked pages to the counters
 * of the tenants that own them (memory.current then counts only pages handed
 * out). Context: takes each stock slot's leaf lock in turn; hold no leaf lock.
 */
void memcg_drain_all_stocks(void);

#endif /* USLAB_MEMCG_INTERNAL_H */
