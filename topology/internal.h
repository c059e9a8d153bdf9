/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * topology/internal.h - what the topology room (floor 1) offers the rooms
 * above it: discovery, the current CPU, and node-bound page memory.
 */
#ifndef USLAB_TOPOLOGY_INTERNAL_H
#define USLAB_TOPOLOGY_INTERNAL_H

#ifndef USLAB_BUILDING
#error "topology/internal.h is internal to uslab"
#endif

#include <uslab/topology.h>
#include "private/compiler.h"

/* topology/topology.c */

/*
 * topology_init - discover the machine once
 * @spec: hwloc synthetic string or XML path; NULL: $USLAB_TOPOLOGY, else real
 *
 * Idempotent: later calls return 0 (or -EBUSY when @spec differs from what is
 * in use). Every public topology call initialises lazily with NULL.
 * Return: 0, -EINVAL (bad spec, too many CPUs/nodes) or -ENOMEM.
 */
int topology_init(const char *spec);
/* Ensure topology_init(NULL) ran; cheap after the first call. */
void topology_ensure_init(void);

/* Thread's emulated CPU set by uslab_thread_set_cpu(), or -1. */
extern __thread int topology_thread_cpu;

/* CPU the thread runs on, mapped onto the possible CPU ids. */
int topology_current_cpu_slow(void);

/*
 * topology_current_cpu - the CPU the caller acts as: its uslab_thread_set_cpu()
 * choice, else where it runs now (which may change right after the call).
 */
static inline int topology_current_cpu(void)
{
	int cpu = topology_thread_cpu;

	if (likely(cpu >= 0))
		return cpu;
	return topology_current_cpu_slow();
}

/* True when the caller's CPU was chosen with uslab_thread_set_cpu(). */
static inline bool topology_cpu_is_emulated(void)
{
	return topology_thread_cpu >= 0;
}

/* Nodes ordered by distance from @nid (nid itself first); returns the count. */
unsigned int topology_nodes_by_distance(int nid, int *order, unsigned int max);

/* topology/pages.c: the page provider */

/*
 * topology_alloc_pages - @size bytes (a multiple of PAGE_SIZE) of zeroed,
 * page-aligned memory on node @nid, bound there with libnuma when the node is
 * real. Return: the memory, or NULL with errno ENOMEM.
 */
void *topology_alloc_pages(int nid, size_t size);
/* Give pages back; they may return to the OS at once. */
void topology_free_pages(void *addr, size_t size, int nid);

#endif /* USLAB_TOPOLOGY_INTERNAL_H */
