/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memcg/memcontrol.h - private to the memcg room: the layout of a tenant
 * (struct mem_cgroup), of its hierarchical page counter and of an obj_cgroup
 * handle, and the functions the room's files share. lib/ never includes it:
 * it sees only memcg/internal.h.
 *
 * Lock order inside the room (global levels from private/lock.h):
 *   memcg_tree_lock (3, LOCK_MEMCG_TREE)
 *     -> memcg_objcg_lock (6, leaf) | memcg->limit_lock (6, leaf)
 *        | memcg_stock.lock (6, leaf)
 * Leaf locks are never nested in one another; page counters are lock-free
 * atomics, so the code under a leaf lock only does atomics and list moves.
 * No memcg lock is held while lib/'s callbacks (memcg_kmem_ops) run.
 */
#ifndef USLAB_MEMCG_MEMCONTROL_H
#define USLAB_MEMCG_MEMCONTROL_H

#include <limits.h>

#include "memcg/internal.h"
#include "private/list.h"
#include "private/lock.h"

/* Pages charged per counter walk when the stock is refilled (kernel value). */
#define MEMCG_CHARGE_BATCH 64u
/* "max": no limit; large enough that no sum of charges reaches it. */
#define PAGE_COUNTER_MAX (LONG_MAX / (long)PAGE_SIZE)

/*
 * struct page_counter - one level of a hierarchical counter, in pages.
 * All fields are atomics; @max and @high are written under the owning
 * memcg's limit_lock (so that a failed limit change can be undone), read
 * without it. @parent is immutable.
 *
 *   usage == pages charged here directly + usage of every child level
 *            (at quiescence; a charge in flight may be added speculatively
 *            and undone, see page_counter_try_charge())
 *   watermark == highest usage a successful charge left behind
 */
struct page_counter {
	long usage;
	long max;
	long high;
	long watermark;
	long failcnt;
	struct page_counter *parent;
};

/* memcg/page_counter.c */
void page_counter_init(struct page_counter *c, struct page_counter *parent);
bool page_counter_try_charge(struct page_counter *c, unsigned long nr,
			     struct page_counter **fail);
void page_counter_charge(struct page_counter *c, unsigned long nr);
void page_counter_uncharge(struct page_counter *c, unsigned long nr);
int page_counter_set_max(struct page_counter *c, unsigned long nr);
static inline long page_counter_read(const struct page_counter *c)
{
	return __atomic_load_n(&c->usage, __ATOMIC_SEQ_CST);
}

enum memcg_state {
	MEMCG_ONLINE,
	MEMCG_OFFLINING, /* mem_cgroup_destroy() is reparenting it */
	MEMCG_OFFLINE,   /* dying: reparented, waiting for its last reference */
};

/*
 * struct mem_cgroup - a tenant. Root is a static object that is always
 * online and never freed.
 *
 * Lifetime: @refcnt counts the tree's reference (held while online, dropped
 * at the end of mem_cgroup_destroy()), one per child (a child pins its
 * parent, so ancestors of anything alive are alive), one per attached thread
 * and one per mem_cgroup_get(). At zero the tenant is unlinked and freed.
 * An obj_cgroup does not pin its memcg: its memcg is always one whose
 * offline has not finished, and offline moves every handle up first.
 */
struct mem_cgroup {
	struct page_counter memory;
	struct mem_cgroup *parent;      /* immutable; NULL only for root */
	char *name;                     /* immutable */
	unsigned int id;                /* immutable; slot in the id table */
	int kmem_id;                    /* tree lock; 0 root, -1 once offline */
	int state;                      /* enum memcg_state; written under the
					   tree lock, read with atomics */
	long refcnt;                    /* atomic */
	struct list_head sibling;       /* tree lock: in parent->children */
	struct list_head children;      /* tree lock: online and dying children */
	struct umutex limit_lock;       /* leaf: serialises writes of max/high */
	struct obj_cgroup *objcg;       /* memcg_objcg_lock: own handle, NULL
					   once offline */
	struct list_head objcg_list;    /* memcg_objcg_lock: handles pointing here */
	/* Atomics. events: own and descendants'; events_local: own only. */
	long events[MEMCG_NR_MEMORY_EVENTS];
	long events_local[MEMCG_NR_MEMORY_EVENTS];
	/*
	 * Atomics, in pages, charged by handles pointing here (own and
	 * reparented); hierarchical values are summed over the subtree when
	 * read. Offline moves them to the parent, so the sum over any subtree
	 * that contains both is unchanged.
	 */
	long stat[MEMCG_NR_STAT_ITEMS];
};

/*
 * struct obj_cgroup - a counted handle lib/ charges through. @memcg is the
 * tenant it charges: its creator until that goes offline, then the parent.
 * @memcg is written under memcg_objcg_lock and read, by the charge paths,
 * under a stock slot lock: memcg_reparent() switches the pointer and then
 * takes every slot lock once (memcg_drain_all_stocks()), which waits for any
 * charge that still saw the old tenant, before it zeroes that tenant.
 */
struct obj_cgroup {
	struct mem_cgroup *memcg;       /* see above */
	long refcnt;                    /* atomic */
	struct list_head list;          /* memcg_objcg_lock: in memcg->objcg_list */
};

/* memcg/stock.c: every stock slot lock at fork */
void memcg_stock_fork(enum fork_phase phase);

/* memcg/memcontrol.c */
extern struct mem_cgroup memcg_root;
extern struct umutex memcg_tree_lock;
const struct memcg_kmem_ops *memcg_ops(void);
void memcg_memory_event(struct mem_cgroup *memcg, enum memcg_memory_event ev);
void memcg_stat_totals(struct mem_cgroup *memcg, long *totals);
void memcg_count_descendants(struct mem_cgroup *memcg, long *online, long *dying);
static inline struct mem_cgroup *memcg_from_counter(struct page_counter *c)
{
	return container_of(c, struct mem_cgroup, memory);
}

/* memcg/objcg.c */
extern struct umutex memcg_objcg_lock;
struct obj_cgroup *memcg_objcg_alloc(struct mem_cgroup *memcg);
struct obj_cgroup *memcg_reparent_objcgs(struct mem_cgroup *memcg, struct mem_cgroup *parent);

/*
 * struct memcg_stock - one CPU's charge stock (the kernel's memcg_stock_pcp):
 * pages already charged to @cached's counters and not handed out yet, so
 * that most charges and uncharges need no counter walk.
 *
 *   @cached == NULL  =>  @nr_pages == 0
 *   @cached's usage (every level) includes @nr_pages
 *   @cached is a tenant whose offline has not finished (offline drains)
 */
struct memcg_stock {
	struct umutex lock;             /* LOCK_LEAF: protects the slot; charge
					   paths also read objcg->memcg under it */
	struct mem_cgroup *cached;      /* lock */
	unsigned long nr_pages;         /* lock */
} __attribute__((aligned(CACHE_LINE)));

/* memcg/stock.c */
void memcg_stock_init(void);
void memcg_stock_register_hotplug(void);
struct memcg_stock *memcg_stock_lock(void);
void memcg_stock_unlock(struct memcg_stock *stock);
bool memcg_consume_stock_locked(struct memcg_stock *stock, struct mem_cgroup *memcg,
				unsigned long nr);
void memcg_refill_stock_locked(struct memcg_stock *stock, struct mem_cgroup *memcg,
			       unsigned long nr);
void memcg_drain_stock_locked(struct memcg_stock *stock);
void memcg_drain_stocks(struct mem_cgroup *top);

/* memcg/charge.c */
void memcg_handle_high(struct mem_cgroup *memcg);

#endif /* USLAB_MEMCG_MEMCONTROL_H */
