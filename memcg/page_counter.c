// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memcg/page_counter.c - hierarchical page counters, lock-free, in the
 * manner of the kernel's mm/page_counter.c. A charge walks from a tenant's
 * level to the root adding to each level's usage with one atomic add, then
 * compares the new usage with that level's max; if it is above, it takes its
 * addition back at that level and at every level it already passed, so a
 * charge succeeds everywhere or changes nothing. Limit changes pair with
 * charges like Dekker's algorithm (the charge adds then reads max, the
 * setter writes max then reads usage, all sequentially consistent): one of
 * the two always sees the other, so a new limit is never overrun by a charge
 * that raced with it.
 *
 * Cost and caveat, as in the kernel: a charge in flight is visible in usage
 * for a moment before it is undone; a concurrent charge or limit change may
 * fail because of it (a spurious failure, never an overrun). The committed
 * usage never exceeds max except through page_counter_charge() (forced).
 */
#include "memcg/memcontrol.h"

#include <errno.h>

void page_counter_init(struct page_counter *c, struct page_counter *parent)
{
	c->usage = 0;
	c->max = PAGE_COUNTER_MAX;
	c->high = PAGE_COUNTER_MAX;
	c->watermark = 0;
	c->failcnt = 0;
	c->parent = parent;
}

/* Raise the watermark to @usage unless it is already higher. */
static void page_counter_update_watermark(struct page_counter *c, long usage)
{
	long old = __atomic_load_n(&c->watermark, __ATOMIC_RELAXED);

	while (usage > old &&
	       !__atomic_compare_exchange_n(&c->watermark, &old, usage, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/*
 * page_counter_try_charge - charge @nr pages at @c and every ancestor level
 * @c: first level
 * @nr: pages
 * @fail: set to the level whose max refused the charge
 *
 * Return: true when every level took the charge; false when one refused,
 * in which case no level's usage changed (the refusing level's failcnt did).
 */
bool page_counter_try_charge(struct page_counter *c, unsigned long nr,
			     struct page_counter **fail)
{
	struct page_counter *p, *q;

	for (p = c; p; p = p->parent) {
		long usage = __atomic_add_fetch(&p->usage, (long)nr, __ATOMIC_SEQ_CST);

		if (usage > __atomic_load_n(&p->max, __ATOMIC_SEQ_CST)) {
			__atomic_sub_fetch(&p->usage, (long)nr, __ATOMIC_SEQ_CST);
			__atomic_add_fetch(&p->failcnt, 1, __ATOMIC_RELAXED);
			*fail = p;
			for (q = c; q != p; q = q->parent)
				__atomic_sub_fetch(&q->usage, (long)nr, __ATOMIC_SEQ_CST);
			return false;
		}
		page_counter_update_watermark(p, usage);
	}
	return true;
}

/* page_counter_charge - charge @nr pages at every level, ignoring max. */
void page_counter_charge(struct page_counter *c, unsigned long nr)
{
	for (struct page_counter *p = c; p; p = p->parent) {
		long usage = __atomic_add_fetch(&p->usage, (long)nr, __ATOMIC_SEQ_CST);

		page_counter_update_watermark(p, usage);
	}
}

/* page_counter_uncharge - take @nr pages back at every level. */
void page_counter_uncharge(struct page_counter *c, unsigned long nr)
{
	for (struct page_counter *p = c; p; p = p->parent) {
		long usage = __atomic_sub_fetch(&p->usage, (long)nr, __ATOMIC_SEQ_CST);

		USLAB_ASSERT_INTERNAL(usage >= 0);
		(void)usage;
	}
}

/*
 * page_counter_set_max - set @c's max to @nr pages unless usage is above it
 *
 * Context: the owning memcg's limit_lock is held (setters are serialised so
 * that the undo below restores the value this call replaced).
 * Return: 0, or -EBUSY with max unchanged.
 */
int page_counter_set_max(struct page_counter *c, unsigned long nr)
{
	long old = __atomic_load_n(&c->max, __ATOMIC_RELAXED);

	if ((unsigned long)page_counter_read(c) > nr)
		return -EBUSY;
	__atomic_store_n(&c->max, (long)nr, __ATOMIC_SEQ_CST);
	if ((unsigned long)page_counter_read(c) > nr) {
		/* A charge slipped in between: it saw the old limit. */
		__atomic_store_n(&c->max, old, __ATOMIC_SEQ_CST);
		return -EBUSY;
	}
	return 0;
}
