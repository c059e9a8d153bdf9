// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * topology/pages.c - the page provider: page-aligned, zeroed memory for slabs
 * and large allocations, tagged with the node it belongs to. This first
 * version maps every request with mmap() and unmaps it on free; per-node
 * counters say how many pages each node holds.
 */
#include "topology/internal.h"

#include <errno.h>
#include <sys/mman.h>

static unsigned long node_mapped[USLAB_MAX_NUMNODES];

void *topology_alloc_pages(int nid, size_t size)
{
	void *p;

	USLAB_ASSERT(size % PAGE_SIZE == 0 && nid >= 0 && nid < USLAB_MAX_NUMNODES);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	__atomic_add_fetch(&node_mapped[nid], size / PAGE_SIZE, __ATOMIC_RELAXED);
	return p;
}

void topology_free_pages(void *addr, size_t size, int nid)
{
	USLAB_ASSERT(nid >= 0 && nid < USLAB_MAX_NUMNODES);
	munmap(addr, size);
	__atomic_sub_fetch(&node_mapped[nid], size / PAGE_SIZE, __ATOMIC_RELAXED);
}

int uslab_node_pages(int node, unsigned long *mapped, unsigned long *in_use)
{
	if (node < 0 || node >= (int)uslab_nr_node_ids())
		return -EINVAL;
	unsigned long n = __atomic_load_n(&node_mapped[node], __ATOMIC_RELAXED);
	if (mapped)
		*mapped = n;
	if (in_use)
		*in_use = n;
	return 0;
}
