// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hotplug/online.c - what is online: the online CPU and node bitmaps, the
 * per-node count of online CPUs, and counters of the transitions done.
 *
 * On first use every possible CPU and node of the topology is set online
 * (pthread_once, published with a release store so the fast check is one
 * acquire load). The bitmaps and counts are atomics: they are written only
 * under the write side of the matching hotplug lock (cpu_hotplug_lock for
 * CPUs, mem_hotplug_lock for nodes) and read with relaxed loads without any
 * lock. A lockless reader may therefore see a change half-done (a bit flipped
 * before the count); under the read side everything is stable and coherent,
 * since the read side synchronises with the last writer's release.
 */
#include "hotplug/internal.h"
#include "topology/internal.h"

#include <errno.h>
#include <pthread.h>

#define BITS_PER_LONG (8 * (int)sizeof(unsigned long))
#define BITS_TO_LONGS(n) (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)

/* Bitmaps and counts: written under the write side (see above), atomics. */
static unsigned long cpu_online_bits[BITS_TO_LONGS(USLAB_NR_CPUS)];
static unsigned long node_online_bits[BITS_TO_LONGS(USLAB_MAX_NUMNODES)];
static unsigned int online_cpus;			/* == popcount(cpu_online_bits) */
static unsigned int online_nodes;			/* == popcount(node_online_bits) */
static unsigned int node_online_cpus[USLAB_MAX_NUMNODES]; /* online CPUs per node */

/* Transition counters; incremented under a write side, read with no lock. */
static unsigned long hotplug_stats[HOTPLUG_NR_STATS];

static bool hotplug_ready;
static pthread_once_t hotplug_once = PTHREAD_ONCE_INIT;

static bool bit_test(const unsigned long *map, int bit)
{
	unsigned long word = __atomic_load_n(&map[bit / BITS_PER_LONG], __ATOMIC_RELAXED);

	return (word >> (bit % BITS_PER_LONG)) & 1;
}

static void bit_assign(unsigned long *map, int bit, bool on)
{
	unsigned long mask = 1ul << (bit % BITS_PER_LONG);

	if (on)
		__atomic_fetch_or(&map[bit / BITS_PER_LONG], mask, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&map[bit / BITS_PER_LONG], ~mask, __ATOMIC_RELAXED);
}

static void hotplug_init_masks(void)
{
	unsigned int ncpu = uslab_nr_cpu_ids(), nnode = uslab_nr_node_ids();

	for (unsigned int c = 0; c < ncpu; c++) {
		bit_assign(cpu_online_bits, (int)c, true);
		__atomic_fetch_add(&node_online_cpus[cpu_to_node((int)c)], 1, __ATOMIC_RELAXED);
	}
	for (unsigned int n = 0; n < nnode; n++)
		bit_assign(node_online_bits, (int)n, true);
	__atomic_store_n(&online_cpus, ncpu, __ATOMIC_RELAXED);
	__atomic_store_n(&online_nodes, nnode, __ATOMIC_RELAXED);
	__atomic_store_n(&hotplug_ready, true, __ATOMIC_RELEASE);
}

void hotplug_ensure_init(void)
{
	if (likely(__atomic_load_n(&hotplug_ready, __ATOMIC_ACQUIRE)))
		return;
	pthread_once(&hotplug_once, hotplug_init_masks);
}

void hotplug_set_cpu_online(unsigned int cpu, bool online)
{
	int nid = cpu_to_node((int)cpu);

	USLAB_ASSERT_INTERNAL(percpu_rwsem_write_held(&cpu_hotplug_lock));
	USLAB_ASSERT(nid >= 0 && cpu_online((int)cpu) != online);
	bit_assign(cpu_online_bits, (int)cpu, online);
	if (online) {
		__atomic_fetch_add(&node_online_cpus[nid], 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&online_cpus, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_sub(&node_online_cpus[nid], 1, __ATOMIC_RELAXED);
		__atomic_fetch_sub(&online_cpus, 1, __ATOMIC_RELAXED);
	}
}

void hotplug_set_node_online(int nid, bool online)
{
	USLAB_ASSERT_INTERNAL(percpu_rwsem_write_held(&mem_hotplug_lock));
	USLAB_ASSERT(node_online(nid) != online);
	bit_assign(node_online_bits, nid, online);
	if (online)
		__atomic_fetch_add(&online_nodes, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_sub(&online_nodes, 1, __ATOMIC_RELAXED);
}

bool cpu_online(int cpu)
{
	hotplug_ensure_init();
	return cpu >= 0 && cpu < (int)uslab_nr_cpu_ids() && bit_test(cpu_online_bits, cpu);
}

bool node_online(int nid)
{
	hotplug_ensure_init();
	return nid >= 0 && nid < (int)uslab_nr_node_ids() && bit_test(node_online_bits, nid);
}

unsigned int num_online_cpus(void)
{
	hotplug_ensure_init();
	return __atomic_load_n(&online_cpus, __ATOMIC_RELAXED);
}

unsigned int num_online_nodes(void)
{
	hotplug_ensure_init();
	return __atomic_load_n(&online_nodes, __ATOMIC_RELAXED);
}

unsigned int hotplug_nr_online_cpus_node(int nid)
{
	hotplug_ensure_init();
	if (nid < 0 || nid >= (int)uslab_nr_node_ids())
		return 0;
	return __atomic_load_n(&node_online_cpus[nid], __ATOMIC_RELAXED);
}

void hotplug_stat_inc(enum hotplug_stat_item item)
{
	__atomic_fetch_add(&hotplug_stats[item], 1, __ATOMIC_RELAXED);
}

int uslab_hotplug_stats(struct uslab_hotplug_stats *st)
{
	if (!st)
		return -EINVAL;
#define STAT(i) __atomic_load_n(&hotplug_stats[i], __ATOMIC_RELAXED)
	*st = (struct uslab_hotplug_stats){
		.cpu_up = STAT(HOTPLUG_CPU_UP),
		.cpu_down = STAT(HOTPLUG_CPU_DOWN),
		.cpu_failed = STAT(HOTPLUG_CPU_FAILED),
		.node_online = STAT(HOTPLUG_NODE_ONLINE),
		.node_offline = STAT(HOTPLUG_NODE_OFFLINE),
		.node_vetoed = STAT(HOTPLUG_NODE_VETOED),
	};
#undef STAT
	return 0;
}
