// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/pagemap.c - the page map: for any address, which slab (or
 * kmalloc_large block) owns its page. It is a two-level radix tree over the
 * 48-bit user address space at page granularity: a static root of 2^18
 * pointers and leaves of 2^18 entries mapped lazily (2 MiB of address space
 * each, only touched pages cost memory). A foreign pointer finds no leaf or a
 * zero entry, so kfree() of memory uslab never handed out is detected.
 *
 * Entries are written with release stores by the owner of the pages (slab
 * creation and destruction, outside any cache lock) and read with acquire
 * loads on every free. leaf_lock (LOCK_LEAF) only serialises leaf creation.
 */
#include "lib/slab.h"

#include <errno.h>
#include <sys/mman.h>


_Static_assert(PM_ROOT_BITS == 18, "page map root covers 48-bit addresses");

uintptr_t *pm_root[1ul << PM_ROOT_BITS];
static struct umutex leaf_lock = UMUTEX_INITIALIZER(LOCK_LEAF);

static uintptr_t *pm_leaf(uintptr_t pfn, bool create)
{
	uintptr_t i = pfn >> PM_LEAF_BITS;
	uintptr_t *leaf;

	if (i >= ARRAY_SIZE(pm_root))
		return NULL;
	leaf = __atomic_load_n(&pm_root[i], __ATOMIC_ACQUIRE);
	if (leaf || !create)
		return leaf;

	umutex_lock(&leaf_lock);
	leaf = pm_root[i];
	if (!leaf) {
		void *p = mmap(NULL, PM_LEAF_SIZE * sizeof(uintptr_t), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			leaf = p;
			__atomic_store_n(&pm_root[i], leaf, __ATOMIC_RELEASE);
		}
	}
	umutex_unlock(&leaf_lock);
	return leaf;
}

int pagemap_set(const void *addr, size_t size, uintptr_t value)
{
	uintptr_t first = (uintptr_t)addr >> PAGE_SHIFT;
	uintptr_t last = ((uintptr_t)addr + size - 1) >> PAGE_SHIFT;

	/* Create every leaf first so that failure leaves nothing half-set. */
	for (uintptr_t pfn = first; pfn <= last; pfn = (pfn | (PM_LEAF_SIZE - 1)) + 1)
		if (!pm_leaf(pfn, true))
			return -ENOMEM;
	for (uintptr_t pfn = first; pfn <= last; pfn++) {
		uintptr_t *leaf = pm_leaf(pfn, false);
		__atomic_store_n(&leaf[pfn & (PM_LEAF_SIZE - 1)], value, __ATOMIC_RELEASE);
	}
	return 0;
}

void pagemap_clear(const void *addr, size_t size)
{
	uintptr_t first = (uintptr_t)addr >> PAGE_SHIFT;
	uintptr_t last = ((uintptr_t)addr + size - 1) >> PAGE_SHIFT;

	for (uintptr_t pfn = first; pfn <= last; pfn++) {
		uintptr_t *leaf = pm_leaf(pfn, false);
		if (leaf)
			__atomic_store_n(&leaf[pfn & (PM_LEAF_SIZE - 1)], 0, __ATOMIC_RELEASE);
	}
}

void pagemap_fork(enum fork_phase phase)
{
	umutex_fork(&leaf_lock, phase);
}
