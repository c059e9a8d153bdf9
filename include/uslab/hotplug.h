/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uslab/hotplug.h - emulated CPU and memory-node hotplug, with the kernel's
 * names: online masks, the cpus/mems hotplug reader-writer locks, state
 * changes, and the callback chains that subsystems (uslab's slab layer
 * among them) register to follow those changes.
 *
 * Everything starts online: every possible CPU and node of the topology.
 * State changes are serialised by the write sides of the two locks below; the
 * masks may be read without a lock (a lockless reader may see a change
 * half-done, e.g. the bit before the count), and are stable under the read
 * side. A node without online CPUs may still be an online memory node, and a
 * CPU may stay online on a node whose memory is offline (kernel semantics).
 *
 * Errors follow uslab/common.h. A state change that is already done (taking
 * an offline CPU down, ...) is a no-op that returns 0, as in the kernel.
 */
#ifndef USLAB_HOTPLUG_H
#define USLAB_HOTPLUG_H

#include <uslab/common.h>
#include <uslab/topology.h>

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

/**
 * cpus_read_lock - block CPU hotplug (read side)
 *
 * Cheap: one atomic add on the counter of the caller's CPU, unless a
 * cpu_up()/cpu_down() is pending, in which case the caller sleeps until it
 * is done. Nests: a nested call only counts, it never waits, so it cannot
 * deadlock against a pending writer. A thread that holds it must not call
 * cpu_up() or cpu_down() (the process aborts: it would deadlock), nor wait
 * for another thread that is about to take it (that thread may queue behind
 * a pending writer). It may call mem_node_offline()/mem_node_online().
 *
 * Context: any thread; also from CPU hotplug callbacks. Must be released by
 * the thread that took it, before it exits.
 */
USLAB_API void cpus_read_lock(void);
/** cpus_read_unlock - end a cpus_read_lock() section */
USLAB_API void cpus_read_unlock(void);
#define get_online_cpus() cpus_read_lock()
#define put_online_cpus() cpus_read_unlock()

/**
 * get_online_mems - block memory-node hotplug (read side)
 *
 * Same rules as cpus_read_lock(), for mem_node_offline()/mem_node_online()
 * (abort while held). Lock order: cpus_read_lock() first when a thread takes
 * both.
 */
USLAB_API void get_online_mems(void);
/** put_online_mems - end a get_online_mems() section */
USLAB_API void put_online_mems(void);

/**
 * cpu_down - take a CPU offline
 * @cpu: CPU id
 *
 * Runs the ONLINE teardown callbacks (reverse registration order), marks the
 * CPU offline, then runs the PREPARE teardowns (reverse order). If an ONLINE
 * teardown fails, the ONLINE callbacks already torn down are started again
 * and the CPU stays online. If a PREPARE teardown fails, the CPU is already
 * offline: the remaining teardowns still run and the CPU stays offline.
 * Context: takes the CPU hotplug write side; must not hold cpus_read_lock().
 * Return: 0 (also when @cpu is already offline), -EINVAL (bad id), -EBUSY
 * (@cpu is the last online CPU), or the first failing callback's -errno.
 */
USLAB_API int cpu_down(unsigned int cpu);
/**
 * cpu_up - bring a CPU online
 * @cpu: CPU id
 *
 * Runs the PREPARE startup callbacks (registration order), marks the CPU
 * online, then runs the ONLINE startups. If one fails, the states already
 * started are torn down in reverse, the CPU ends offline and the error is
 * returned.
 * Context: as cpu_down().
 * Return: 0 (also when @cpu is already online), -EINVAL, or a callback's
 * -errno.
 */
USLAB_API int cpu_up(unsigned int cpu);
/**
 * mem_node_offline - take the memory of a NUMA node offline
 * @nid: node id
 *
 * Sends MEM_GOING_OFFLINE along the memory notifier chain; a notifier may
 * veto, and then the ones that had accepted get MEM_CANCEL_OFFLINE and the
 * node stays online. Otherwise the node is marked offline and MEM_OFFLINE is
 * sent. The node's CPUs are not affected.
 * Context: takes cpus_read_lock() then the mems write side; must not hold
 * get_online_mems().
 * Return: 0 (also when already offline), -EINVAL (bad id), -EBUSY (last
 * online node, or vetoed), or the -errno a notifier vetoed with.
 */
USLAB_API int mem_node_offline(int nid);
/**
 * mem_node_online - bring the memory of a NUMA node online
 * @nid: node id
 *
 * MEM_GOING_ONLINE, then MEM_ONLINE; a veto sends MEM_CANCEL_ONLINE to the
 * notifiers that had accepted, and the node stays offline.
 * Context: as mem_node_offline().
 * Return: 0 (also when already online), -EINVAL, -EBUSY (vetoed), or the
 * -errno a notifier vetoed with.
 */
USLAB_API int mem_node_online(int nid);

/** struct uslab_hotplug_stats - transitions done since start (no-ops not counted) */
struct uslab_hotplug_stats {
	unsigned long cpu_up;		/* CPUs brought online */
	unsigned long cpu_down;		/* CPUs taken offline */
	unsigned long cpu_failed;	/* cpu_up()/cpu_down() that returned a callback error */
	unsigned long node_online;	/* memory nodes brought online */
	unsigned long node_offline;	/* memory nodes taken offline */
	unsigned long node_vetoed;	/* node changes refused by a notifier */
};

/**
 * uslab_hotplug_stats - read the hotplug transition counters
 * @st: filled in; each counter is read atomically, not the set as a whole
 *
 * Return: 0, or -EINVAL when @st is NULL.
 */
USLAB_API int uslab_hotplug_stats(struct uslab_hotplug_stats *st);

USLAB_END_DECLS

#endif /* USLAB_HOTPLUG_H */
