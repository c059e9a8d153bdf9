// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memcg/charge.c - charging pages through obj_cgroup handles: the stock
 * first, then a counter walk of a batch (or of exactly what is needed when
 * the batch does not fit under a limit), then, on failure, draining the
 * stocks, asking lib/ to reclaim at the tenant whose limit was hit and
 * retrying once before counting an oom event. Events: "max" once per charge
 * that hit a limit with its exact size (a batch that does not fit is no
 * event, as in the kernel), "oom" when it finally fails; __GFP_NOFAIL forces
 * the retry over the limit (a max event, no oom). memory.high is checked
 * after successful counter walks only (a stock hit changes no counter):
 * each level above it counts a high event and lib/ is asked to reclaim
 * there (no throttling). Uncharges and statistics follow the handle the
 * same way.
 *
 * Reparenting without a per-handle lock: every path here reads
 * objcg->memcg and changes that tenant's counters, stock or statistics while
 * holding one stock slot lock. mem_cgroup_destroy() first switches the
 * handles to the parent, then takes every slot lock once: a path that read
 * the old tenant has finished by then, and a later one reads the parent. So
 * when the dying tenant's own counter level is zeroed nothing can still
 * change it, and no page is lost or counted twice. A charge or uncharge
 * costs one uncontended slot lock plus, when the stock cannot serve it, one
 * atomic add per level.
 */
#include "memcg/memcontrol.h"

#include <errno.h>

/* Does any level from @memcg up have usage above its high threshold? */
static bool memcg_over_high(struct mem_cgroup *memcg)
{
	for (struct page_counter *c = &memcg->memory; c; c = c->parent)
		if (page_counter_read(c) > __atomic_load_n(&c->high, __ATOMIC_RELAXED))
			return true;
	return false;
}

/*
 * memcg_handle_high - for each level from @memcg up above memory.high,
 * count a high event and ask lib/ to reclaim that tenant's free slabs.
 * Context: no memcg lock held; @memcg pinned by the caller.
 */
void memcg_handle_high(struct mem_cgroup *memcg)
{
	const struct memcg_kmem_ops *ops = memcg_ops();

	for (struct mem_cgroup *m = memcg; !memcg_is_root(m); m = m->parent) {
		if (page_counter_read(&m->memory) <= __atomic_load_n(&m->memory.high,
								     __ATOMIC_RELAXED))
			continue;
		memcg_memory_event(m, MEMCG_HIGH);
		if (ops && ops->reclaim)
			ops->reclaim(m);
	}
}

int obj_cgroup_charge_pages(struct obj_cgroup *objcg, gfp_t gfp, unsigned int nr_pages)
{
	const struct memcg_kmem_ops *ops;
	unsigned long nr = nr_pages;

	/* The root is not charged (kernel: root has no kmem accounting). */
	if (!objcg || !nr)
		return 0;

	for (int attempt = 0;; attempt++) {
		struct memcg_stock *stock = memcg_stock_lock();
		struct mem_cgroup *memcg = __atomic_load_n(&objcg->memcg, __ATOMIC_ACQUIRE);
		struct page_counter *fail = NULL;
		struct mem_cgroup *hit;
		unsigned long batch = MAX(MEMCG_CHARGE_BATCH, nr);
		bool ok;

		if (memcg_consume_stock_locked(stock, memcg, nr)) {
			memcg_stock_unlock(stock);
			return 0;
		}
		ok = page_counter_try_charge(&memcg->memory, batch, &fail);
		if (!ok && batch > nr) {
			/* Near the limit: a stock must never push usage over it. */
			batch = nr;
			ok = page_counter_try_charge(&memcg->memory, batch, &fail);
		}
		if (!ok && attempt > 0 && (gfp & __GFP_NOFAIL)) {
			page_counter_charge(&memcg->memory, nr);
			ok = true;
		}
		if (ok) {
			bool high;

			if (batch > nr)
				memcg_refill_stock_locked(stock, memcg, batch - nr);
			high = memcg_over_high(memcg);
			if (high)
				mem_cgroup_get(memcg); /* alive: we hold a slot lock */
			memcg_stock_unlock(stock);
			if (high) {
				memcg_handle_high(memcg);
				mem_cgroup_put(memcg);
			}
			return 0;
		}

		/* The level that refused is @memcg or an ancestor: pinned by @memcg. */
		hit = memcg_from_counter(fail);
		mem_cgroup_get(hit);
		memcg_stock_unlock(stock);
		if (attempt == 0) {
			memcg_memory_event(hit, MEMCG_MAX);
		} else {
			memcg_memory_event(hit, MEMCG_OOM);
			mem_cgroup_put(hit);
			return -ENOMEM;
		}
		memcg_drain_stocks(hit);
		ops = memcg_ops();
		if (ops && ops->reclaim)
			ops->reclaim(hit);
		mem_cgroup_put(hit);
	}
}

void obj_cgroup_uncharge_pages(struct obj_cgroup *objcg, unsigned int nr_pages)
{
	struct memcg_stock *stock;
	struct mem_cgroup *memcg;

	if (!objcg || !nr_pages)
		return;
	stock = memcg_stock_lock();
	memcg = __atomic_load_n(&objcg->memcg, __ATOMIC_ACQUIRE);
	/*
	 * Only a slot already holding this tenant takes the pages back (the
	 * kernel's refill_stock() would evict another tenant's stock here).
	 */
	if (stock->cached == memcg)
		memcg_refill_stock_locked(stock, memcg, nr_pages);
	else
		page_counter_uncharge(&memcg->memory, nr_pages);
	memcg_stock_unlock(stock);
}

void obj_cgroup_mod_stat(struct obj_cgroup *objcg, enum memcg_stat_item item, long nr)
{
	struct memcg_stock *stock;
	struct mem_cgroup *memcg;

	USLAB_ASSERT((unsigned int)item < MEMCG_NR_STAT_ITEMS);
	if (!objcg || !nr)
		return;
	/* Under a slot lock, like a charge, so reparenting moves it exactly. */
	stock = memcg_stock_lock();
	memcg = __atomic_load_n(&objcg->memcg, __ATOMIC_ACQUIRE);
	__atomic_add_fetch(&memcg->stat[item], nr, __ATOMIC_RELAXED);
	memcg_stock_unlock(stock);
}
