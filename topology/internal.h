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
#include "private/lock.h"

/* topology/topology.c */

/*
 * topology_init - discover the machine once per process
 * @spec: an hwloc synthetic string ("node:4 core:2 pu:1"), or the path of an
 *        hwloc XML file (a spec naming an existing file, or ending in
 *        ".xml"); "" is the real machine; NULL: $USLAB_TOPOLOGY if set,
 *        else the real machine. Synthetic and XML machines are emulated.
 *
 * Once a machine is in use, later calls return 0 when @spec is NULL or the
 * same string, and -EBUSY when it differs. Every public topology call
 * initialises lazily through topology_ensure_init().
 * Context: any thread; serialised internally.
 * Return: 0, -EINVAL (bad spec, more than USLAB_NR_CPUS CPUs or
 * USLAB_MAX_NUMNODES nodes; nothing changed), -EBUSY or -ENOMEM.
 */
int topology_init(const char *spec);
/*
 * Ensure topology_init(NULL) ran; one acquire load after the first call. A
 * bad $USLAB_TOPOLOGY is reported on stderr and the real machine used.
 */
void topology_ensure_init(void);

/* Thread's emulated CPU set by uslab_thread_set_cpu(), or -1. */
extern USLAB_TLS int topology_thread_cpu;

/*
 * CPU the thread runs on (glibc's rseq cpu_id, else sched_getcpu()), mapped
 * onto the possible CPU ids: hwloc's id of that CPU on the real machine,
 * real % nr_cpu_ids on an emulated one.
 */
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

/*
 * topology_nodes_by_distance - nodes ordered by distance from @nid: @nid
 * first, then by node_distance(@nid, n), ties by id. Fills at most @max
 * entries of @order. Return: the count, 0 for a bad @nid.
 */
unsigned int topology_nodes_by_distance(int nid, int *order, unsigned int max);

/* OS (libnuma) index of node @nid, or -1 for a bad id. Emulated nodes have one too. */
int topology_node_os_index(int nid);

/* True when topology_current_cpu_slow() reads glibc's rseq area (else sched_getcpu()). */
bool topology_real_cpu_uses_rseq(void);
/*
 * True on the real machine when every possible CPU id equals its OS CPU
 * number, so glibc's rseq cpu_id can index per-CPU data directly.
 */
bool topology_cpu_ids_are_os_ids(void);

/* topology/pages.c: the page provider and its page cache */

/*
 * Chunk geometry, for tests and for callers that want to size slabs so that
 * they fit: runs of up to TOPOLOGY_PAGES_MAX_RUN pages are carved from
 * per-node TOPOLOGY_CHUNK_SIZE chunks, larger ones are spans (mappings of
 * their own). Freed memory of both kinds stays resident in the node's page
 * cache for the decay period (TOPOLOGY_DECAY_MS_DEFAULT unless set).
 */
#define TOPOLOGY_CHUNK_SIZE		(2ul << 20)
#define TOPOLOGY_PAGES_MAX_RUN		128
#define TOPOLOGY_DECAY_MS_DEFAULT	1000

/*
 * topology_alloc_pages - @size bytes (a non-zero multiple of PAGE_SIZE) of
 * page-aligned memory belonging to node @nid: bound there with mbind() on a
 * real machine with libnuma, tagged only logically on an emulated one.
 * Freed memory of the node is reused first. The contents are NOT zeroed
 * (reused pages keep old data); a caller that needs zeroes must clear it.
 * Context: any thread; takes the node's leaf lock (LOCK_LEAF).
 * Return: the memory, or NULL with errno ENOMEM (no memory, or the fail hook
 * said so) or EINVAL (bad @nid or @size).
 */
void *topology_alloc_pages(int nid, size_t size);
/*
 * topology_free_pages - give back memory from topology_alloc_pages() with
 * the same @size and @nid (checked: a mismatch aborts). The pages stay
 * resident in the node's page cache until topology_pages_purge() finds them
 * older than the decay period; with a decay of 0 they return to the OS
 * before this call returns.
 */
void topology_free_pages(void *addr, size_t size, int nid);

/*
 * topology_pages_set_decay - how long freed memory stays cached: @ms
 * milliseconds (0: not at all), purged with MADV_FREE when @lazy_free and
 * the kernel has it, else MADV_DONTNEED. Any time; applies to later frees
 * and purges.
 */
void topology_pages_set_decay(unsigned int ms, bool lazy_free);
unsigned int topology_pages_decay_ms(void);
bool topology_pages_lazy_free(void);

/*
 * topology_pages_purge - return cached memory of node @nid (-1: every node)
 * to the OS: what has been free for the decay period, or all of it when
 * @all (trim; memory-node offline). Neighbouring pages go in one madvise(),
 * wholly free chunks and spans in one munmap() each.
 * Context: any thread, no uslab lock held (takes the nodes' leaf locks).
 * Return: pages given back.
 */
unsigned long topology_pages_purge(int nid, bool all);
/* Pages cached (free and resident) for node @nid, -1: all nodes. */
unsigned long topology_pages_pooled(int nid);

/*
 * Fork (lib/fork.c calls them): topology_fork_init() is the topology's init
 * lock (outermost, with lib's), topology_fork_pages() every node's page
 * lock (a leaf: last).
 */
void topology_fork_init(enum fork_phase phase);
void topology_fork_pages(enum fork_phase phase);

/* True when chunks of real nodes are bound with mbind() (real machine, libnuma usable). */
bool topology_pages_are_bound(void);

/*
 * topology_set_page_fail_hook - fault injection: while set, every
 * topology_alloc_pages() first asks @should_fail(nid, size) and returns
 * NULL with errno ENOMEM when it says true. NULL removes the hook. The hook
 * runs with no lock held and may be called from any thread.
 */
void topology_set_page_fail_hook(bool (*should_fail)(int nid, size_t size));

#endif /* USLAB_TOPOLOGY_INTERNAL_H */
