/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uslab/topology.h - the machine uslab sees: possible CPUs, NUMA nodes, which
 * node a CPU belongs to, node distances and the CPU the caller runs on, with
 * the kernel's names. The machine is the real one (hwloc) unless a synthetic
 * one was given (USLAB_TOPOLOGY or struct uslab_config: an hwloc synthetic
 * string such as "node:4 core:2 pu:1", or the path of an hwloc XML file), in
 * which case CPUs and nodes are emulated and threads may pick the CPU they
 * act as. CPU and node ids are dense, 0 .. n-1 (hwloc logical indexes).
 *
 * Errors follow uslab/common.h.
 */
#ifndef USLAB_TOPOLOGY_H
#define USLAB_TOPOLOGY_H

#include <uslab/common.h>

USLAB_BEGIN_DECLS

/* Upper bounds of this build; a machine with more is refused at init. */
#define USLAB_NR_CPUS      1024
#define USLAB_MAX_NUMNODES 64

/** uslab_nr_cpu_ids - number of possible CPUs; ids are 0 .. n-1 */
USLAB_API unsigned int uslab_nr_cpu_ids(void);
/** uslab_nr_node_ids - number of possible NUMA nodes; ids are 0 .. n-1 */
USLAB_API unsigned int uslab_nr_node_ids(void);
#define nr_cpu_ids  uslab_nr_cpu_ids()
#define nr_node_ids uslab_nr_node_ids()

/** cpu_to_node - node of @cpu, or -1 for a bad id */
USLAB_API int cpu_to_node(int cpu);
/** smp_processor_id - the CPU the calling thread runs on (or acts as) */
USLAB_API int smp_processor_id(void);
/** numa_node_id - the node of smp_processor_id() */
USLAB_API int numa_node_id(void);
/** node_distance - SLIT distance between two nodes (10 = local), or -1 */
USLAB_API int node_distance(int from, int to);
/** uslab_nr_cpus_node - number of possible CPUs of @node */
USLAB_API unsigned int uslab_nr_cpus_node(int node);

/**
 * uslab_thread_set_cpu - make the calling thread act as if it ran on @cpu
 * @cpu: a possible CPU, or -1 to go back to the CPU the thread really runs on
 *
 * Used on synthetic machines (and in tests) to be "on node 3". The thread's
 * per-CPU caching then goes through @cpu's arrays under their lock.
 * Return: 0 or -EINVAL.
 */
USLAB_API int uslab_thread_set_cpu(int cpu);

/** uslab_topology_is_synthetic - true when the machine is emulated */
USLAB_API bool uslab_topology_is_synthetic(void);

/**
 * uslab_topology_describe - one-line summary of the machine
 * @buf: where to write, NUL-terminated (may be NULL when @len is 0)
 * @len: size of @buf
 *
 * Writes e.g. "synthetic: 4 nodes, 8 cpus", "xml: 4 nodes, 8 cpus" or
 * "real: 1 node, 2 cpus", truncated to fit as snprintf() does.
 * Context: any thread.
 * Return: the length of the full summary (excluding the NUL).
 */
USLAB_API int uslab_topology_describe(char *buf, size_t len);

/**
 * struct uslab_page_stats - one node's page provider and page cache
 * @mapped: pages obtained from the OS and not yet returned (chunks with their
 *          header page, spans), whether in use, cached or purged-but-mapped
 * @in_use: pages handed to slabs and large allocations
 * @pooled: the page cache: free pages kept resident for reuse (they go back
 *          to the OS once free for the decay period, or on uslab_trim())
 * @purged: pages returned to the OS so far (madvise or munmap)
 * @nr_mmap: mmap() calls so far (new chunks and spans)
 * @nr_munmap: munmap() calls so far
 * @nr_madvise: madvise() calls that returned pages so far
 */
struct uslab_page_stats {
	unsigned long mapped;
	unsigned long in_use;
	unsigned long pooled;
	unsigned long purged;
	unsigned long nr_mmap;
	unsigned long nr_munmap;
	unsigned long nr_madvise;
};

/**
 * uslab_node_page_stats - the page provider's figures for a node
 * @node: node id
 * @st: filled in
 *
 * The fields are read without a lock and may be momentarily inconsistent
 * while other threads allocate.
 * Context: any thread.
 * Return: 0, or -EINVAL for a bad @node or a NULL @st.
 */
USLAB_API int uslab_node_page_stats(int node, struct uslab_page_stats *st);

/**
 * uslab_node_pages - pages the page provider holds for a node
 * @node: node id
 * @mapped: as &struct uslab_page_stats.mapped, or NULL
 * @in_use: as &struct uslab_page_stats.in_use, or NULL
 *
 * Context: any thread.
 * Return: 0 or -EINVAL.
 */
USLAB_API int uslab_node_pages(int node, unsigned long *mapped, unsigned long *in_use);

#define for_each_possible_cpu(cpu) \
	for ((cpu) = 0; (cpu) < (int)uslab_nr_cpu_ids(); (cpu)++)
#define for_each_node(node) \
	for ((node) = 0; (node) < (int)uslab_nr_node_ids(); (node)++)
/* Every possible CPU of @node, in id order. */
#define for_each_cpu_of_node(cpu, node) \
	for_each_possible_cpu(cpu) \
		if (cpu_to_node(cpu) != (node)) {} else

USLAB_END_DECLS

#endif /* USLAB_TOPOLOGY_H */
