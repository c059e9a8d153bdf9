// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memcg/stock.c - the per-CPU charge stock (the kernel's memcg_stock): one
 * slot per possible CPU, indexed with topology_current_cpu() and protected
 * by a small leaf lock, because the thread may migrate, or act as another
 * CPU, between choosing the slot and using it. A slot holds pages already
 * charged to one tenant's counters; charges of that tenant take from it,
 * uncharges of that tenant give back to it (beyond MEMCG_CHARGE_BATCH it is
 * drained), and refilling it for another tenant first returns the previous
 * tenant's pages. Slots are drained when a CPU goes down (a cpuhp callback
 * registered lazily at the first mem_cgroup_create()), when a tenant goes
 * offline, and before a charge is declared failed.
 *
 * Lock: memcg_stock.lock (LOCK_LEAF), one per slot; under it only atomics
 * (page counters are lock-free). Taking every slot lock in turn
 * (memcg_drain_all_stocks()) is also the barrier that reparenting relies on,
 * see memcg/charge.c.
 */
#include "memcg/memcontrol.h"
#include "hotplug/internal.h"
#include "topology/internal.h"

#include <pthread.h>
#include <stdlib.h>

static struct memcg_stock *memcg_stocks;
static unsigned int memcg_nr_stocks;
static pthread_once_t memcg_stock_once = PTHREAD_ONCE_INIT;
/* 0: not registered, 1: registering, 2: registered with hotplug. */
static int memcg_stock_hotplug_state;

static void memcg_stock_alloc(void)
{
	size_t size;

	memcg_nr_stocks = nr_cpu_ids;
	size = ALIGN_UP(memcg_nr_stocks * sizeof(*memcg_stocks), CACHE_LINE);
	memcg_stocks = aligned_alloc(CACHE_LINE, size);
	USLAB_ASSERT(memcg_stocks != NULL);
	for (unsigned int cpu = 0; cpu < memcg_nr_stocks; cpu++) {
		umutex_init(&memcg_stocks[cpu].lock, LOCK_LEAF);
		memcg_stocks[cpu].cached = NULL;
		memcg_stocks[cpu].nr_pages = 0;
	}
}

void memcg_stock_init(void)
{
	pthread_once(&memcg_stock_once, memcg_stock_alloc);
}

/* cpuhp teardown: a CPU going down gives its stocked pages back. */
static int memcg_stock_cpu_dead(unsigned int cpu)
{
	struct memcg_stock *stock;

	if (cpu >= memcg_nr_stocks)
		return 0;
	stock = &memcg_stocks[cpu];
	umutex_lock(&stock->lock);
	memcg_drain_stock_locked(stock);
	umutex_unlock(&stock->lock);
	return 0;
}

/*
 * memcg_stock_register_hotplug - register the CPU-down drain once. Skipped
 * while the caller holds cpus_read_lock() (registration takes the write
 * side) and retried by the next caller; a registration refused by a hotplug
 * room that cannot yet take it is retried too. Until it succeeds a dead
 * CPU's stock is still returned by the offline and charge-failure drains.
 */
void memcg_stock_register_hotplug(void)
{
	int expected = 0;

	if (__atomic_load_n(&memcg_stock_hotplug_state, __ATOMIC_ACQUIRE) == 2 ||
	    lockdep_cpus_held())
		return;
	if (!__atomic_compare_exchange_n(&memcg_stock_hotplug_state, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	memcg_stock_init();
	expected = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "memcg:stock", NULL,
				     memcg_stock_cpu_dead) >= 0 ? 2 : 0;
	__atomic_store_n(&memcg_stock_hotplug_state, expected, __ATOMIC_RELEASE);
}

/* Lock and return the slot of the CPU the caller acts as now. */
struct memcg_stock *memcg_stock_lock(void)
{
	struct memcg_stock *stock;

	memcg_stock_init();
	stock = &memcg_stocks[(unsigned int)topology_current_cpu() % memcg_nr_stocks];
	umutex_lock(&stock->lock);
	return stock;
}

void memcg_stock_unlock(struct memcg_stock *stock)
{
	umutex_unlock(&stock->lock);
}

/* Hand out @nr stocked pages of @memcg. Return: false if there are fewer. */
bool memcg_consume_stock_locked(struct memcg_stock *stock, struct mem_cgroup *memcg,
				unsigned long nr)
{
	lockdep_assert_held(&stock->lock);
	if (stock->cached != memcg || stock->nr_pages < nr)
		return false;
	stock->nr_pages -= nr;
	return true;
}

/* Return the slot's pages to their tenant's counters; empty the slot. */
void memcg_drain_stock_locked(struct memcg_stock *stock)
{
	lockdep_assert_held(&stock->lock);
	if (stock->cached && stock->nr_pages)
		page_counter_uncharge(&stock->cached->memory, stock->nr_pages);
	stock->cached = NULL;
	stock->nr_pages = 0;
}

/*
 * Keep @nr pages charged to @memcg in the slot, replacing another tenant's
 * stock; more than a batch in the slot is drained (as the kernel does).
 */
void memcg_refill_stock_locked(struct memcg_stock *stock, struct mem_cgroup *memcg,
			       unsigned long nr)
{
	lockdep_assert_held(&stock->lock);
	if (stock->cached != memcg) {
		memcg_drain_stock_locked(stock);
		stock->cached = memcg;
	}
	stock->nr_pages += nr;
	if (stock->nr_pages > MEMCG_CHARGE_BATCH)
		memcg_drain_stock_locked(stock);
}

/*
 * memcg_drain_stocks - drain every slot holding pages of @top's subtree
 * (every slot when @top is NULL). Every slot lock is taken, even for slots
 * left alone: callers rely on that to wait for charge paths in progress.
 */
void memcg_drain_stocks(struct mem_cgroup *top)
{
	memcg_stock_init();
	for (unsigned int cpu = 0; cpu < memcg_nr_stocks; cpu++) {
		struct memcg_stock *stock = &memcg_stocks[cpu];

		umutex_lock(&stock->lock);
		if (!top || memcg_is_descendant(stock->cached, top))
			memcg_drain_stock_locked(stock);
		umutex_unlock(&stock->lock);
	}
}

void memcg_drain_all_stocks(void)
{
	memcg_drain_stocks(NULL);
}

void mem_cgroup_drain_stocks(void)
{
	memcg_drain_all_stocks();
}

void memcg_stock_fork(enum fork_phase phase)
{
	/* The stocks exist once a charge went through (pthread_once survives fork). */
	for (unsigned int cpu = 0; memcg_stocks && cpu < memcg_nr_stocks; cpu++)
		umutex_fork(&memcg_stocks[cpu].lock, phase);
}
