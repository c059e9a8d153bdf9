/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uslab/hotplug.h - emulated CPU and memory-node hotplug, with the kernel's
 * names: online masks, the cpus/mems hotplug reader-writer locks, state
 * changes, and the callback chains that subsystems (uslab's slab layer
 * among them) register to follow those changes.
 *
 * Errors follow uslab/common.h.
 */
#ifndef USLAB_HOTPLUG_H
#define USLAB_HOTPLUG_H

#include <uslab/common.h>

USLAB_BEGIN_DECLS

/** cpu_online - true when @cpu is online (no lock needed) */
USLAB_API bool cpu_online(int cpu);
/** node_online - true when memory node @nid is online (no lock needed) */
USLAB_API bool node_online(int nid);
/** num_online_cpus - number of online CPUs */
USLAB_API unsigned int num_online_cpus(void);
/** num_online_nodes - number of online memory nodes */
USLAB_API unsigned int num_online_nodes(void);

#define for_each_online_cpu(cpu) \
	for ((cpu) = 0; (cpu) < (int)uslab_nr_cpu_ids(); (cpu)++) if (!cpu_online(cpu)) {} else
#define for_each_online_node(node) \
	for ((node) = 0; (node) < (int)uslab_nr_node_ids(); (node)++) if (!node_online(node)) {} else

/** cpus_read_lock - block CPU hotplug (read side; cheap, may nest) */
USLAB_API void cpus_read_lock(void);
/** cpus_read_unlock - end a cpus_read_lock() section */
USLAB_API void cpus_read_unlock(void);
#define get_online_cpus() cpus_read_lock()
#define put_online_cpus() cpus_read_unlock()

/** get_online_mems - block memory-node hotplug (read side) */
USLAB_API void get_online_mems(void);
/** put_online_mems - end a get_online_mems() section */
USLAB_API void put_online_mems(void);

/** cpu_down - take @cpu offline: 0, -EINVAL, -EBUSY (last online CPU), or a callback's -errno */
USLAB_API int cpu_down(unsigned int cpu);
/** cpu_up - bring @cpu online: 0, -EINVAL, or a callback's -errno (the CPU stays offline) */
USLAB_API int cpu_up(unsigned int cpu);
/** mem_node_offline - take memory node @nid offline: 0, -EINVAL, -EBUSY (vetoed) */
USLAB_API int mem_node_offline(int nid);
/** mem_node_online - bring memory node @nid online: 0, -EINVAL, or -errno */
USLAB_API int mem_node_online(int nid);

USLAB_END_DECLS

#endif /* USLAB_HOTPLUG_H */
