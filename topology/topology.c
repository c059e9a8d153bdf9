// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * topology/topology.c - discovery of the machine with hwloc: possible CPUs
 * (PUs), NUMA nodes and which node each CPU belongs to. A synthetic machine
 * (an hwloc synthetic string) replaces the real one when asked; its CPUs are
 * emulated: a thread acts as the CPU it chose with uslab_thread_set_cpu(),
 * otherwise as the real CPU it runs on, folded onto the emulated ids.
 *
 * The tables are written once under init_lock and read without locks after
 * topology_ready is published (release/acquire).
 */
#include "topology/internal.h"

#include <errno.h>
#include <hwloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static struct {
	unsigned int nr_cpus;
	unsigned int nr_nodes;
	bool synthetic;
	int cpu_node[USLAB_NR_CPUS];
	unsigned int node_cpus[USLAB_MAX_NUMNODES];
	char spec[256];
} topo;

static bool topology_ready;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

__thread int topology_thread_cpu = -1;

static int topology_load(hwloc_topology_t t, const char *spec)
{
	if (spec && *spec) {
		if (hwloc_topology_set_synthetic(t, spec) < 0)
			return -EINVAL;
		topo.synthetic = true;
	}
	if (hwloc_topology_load(t) < 0)
		return -EINVAL;

	int npu = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
	int nnode = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
	if (npu <= 0 || npu > USLAB_NR_CPUS || nnode > USLAB_MAX_NUMNODES)
		return -EINVAL;
	if (nnode <= 0)
		nnode = 1;
	topo.nr_cpus = (unsigned int)npu;
	topo.nr_nodes = (unsigned int)nnode;

	for (int i = 0; i < npu; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, (unsigned)i);
		hwloc_obj_t anc = pu;
		int node = 0;

		/* The nearest ancestor carrying memory gives the PU's node. */
		while (anc && anc->memory_arity == 0)
			anc = anc->parent;
		if (anc && anc->memory_first_child)
			node = (int)anc->memory_first_child->logical_index;
		topo.cpu_node[i] = node;
		topo.node_cpus[node]++;
	}
	return 0;
}

int topology_init(const char *spec)
{
	int err = 0;

	if (!spec)
		spec = getenv("USLAB_TOPOLOGY");
	pthread_mutex_lock(&init_lock);
	if (__atomic_load_n(&topology_ready, __ATOMIC_ACQUIRE)) {
		if (spec && *spec && strcmp(spec, topo.spec) != 0)
			err = -EBUSY;
		goto out;
	}

	hwloc_topology_t t;
	if (hwloc_topology_init(&t) < 0) {
		err = -ENOMEM;
		goto out;
	}
	err = topology_load(t, spec);
	hwloc_topology_destroy(t);
	if (err) {
		memset(&topo, 0, sizeof(topo));
		goto out;
	}
	if (spec)
		snprintf(topo.spec, sizeof(topo.spec), "%s", spec);
	__atomic_store_n(&topology_ready, true, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&init_lock);
	return err;
}

void topology_ensure_init(void)
{
	if (likely(__atomic_load_n(&topology_ready, __ATOMIC_ACQUIRE)))
		return;
	if (topology_init(NULL) < 0) {
		/* A bad USLAB_TOPOLOGY must not leave us without a machine. */
		fprintf(stderr, "uslab: cannot use topology '%s'; using the real machine\n",
			getenv("USLAB_TOPOLOGY"));
		unsetenv("USLAB_TOPOLOGY");
		if (topology_init(NULL) < 0)
			uslab_assert_fail("hwloc cannot describe this machine", __FILE__, __LINE__);
	}
}

int topology_current_cpu_slow(void)
{
	int cpu = sched_getcpu();

	topology_ensure_init();
	if (cpu < 0)
		cpu = 0;
	return cpu % (int)topo.nr_cpus;
}

unsigned int topology_nodes_by_distance(int nid, int *order, unsigned int max)
{
	unsigned int n = 0;

	topology_ensure_init();
	/* Without distance information every remote node is equally far. */
	if (n < max)
		order[n++] = nid;
	for (int i = 0; i < (int)topo.nr_nodes && n < max; i++)
		if (i != nid)
			order[n++] = i;
	return n;
}

unsigned int uslab_nr_cpu_ids(void)
{
	topology_ensure_init();
	return topo.nr_cpus;
}

unsigned int uslab_nr_node_ids(void)
{
	topology_ensure_init();
	return topo.nr_nodes;
}

int cpu_to_node(int cpu)
{
	topology_ensure_init();
	if (cpu < 0 || cpu >= (int)topo.nr_cpus)
		return -1;
	return topo.cpu_node[cpu];
}

int smp_processor_id(void)
{
	return topology_current_cpu();
}

int numa_node_id(void)
{
	return cpu_to_node(topology_current_cpu());
}

int node_distance(int from, int to)
{
	topology_ensure_init();
	if (from < 0 || to < 0 || from >= (int)topo.nr_nodes || to >= (int)topo.nr_nodes)
		return -1;
	return from == to ? 10 : 20;
}

unsigned int uslab_nr_cpus_node(int node)
{
	topology_ensure_init();
	if (node < 0 || node >= (int)topo.nr_nodes)
		return 0;
	return topo.node_cpus[node];
}

int uslab_thread_set_cpu(int cpu)
{
	topology_ensure_init();
	if (cpu < -1 || cpu >= (int)topo.nr_cpus)
		return -EINVAL;
	topology_thread_cpu = cpu;
	return 0;
}

bool uslab_topology_is_synthetic(void)
{
	topology_ensure_init();
	return topo.synthetic;
}
