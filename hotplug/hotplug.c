// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hotplug/hotplug.c - first version of the hotplug room: every CPU and node
 * of the topology is online, the cpus/mems locks are plain reader-writer
 * locks, and state changes are not supported yet (-EOPNOTSUPP). The
 * interfaces are the final ones; callbacks are recorded and run for the
 * online CPUs at registration, as the kernel's cpuhp_setup_state() does.
 */
#include "hotplug/internal.h"
#include "private/lock.h"
#include "topology/internal.h"

#include <errno.h>
#include <pthread.h>

static pthread_rwlock_t cpu_hotplug_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t mem_hotplug_lock = PTHREAD_RWLOCK_INITIALIZER;

bool cpu_online(int cpu)
{
	return cpu >= 0 && cpu < (int)uslab_nr_cpu_ids();
}

bool node_online(int nid)
{
	return nid >= 0 && nid < (int)uslab_nr_node_ids();
}

unsigned int num_online_cpus(void)
{
	return uslab_nr_cpu_ids();
}

unsigned int num_online_nodes(void)
{
	return uslab_nr_node_ids();
}

unsigned int hotplug_nr_online_cpus_node(int nid)
{
	return uslab_nr_cpus_node(nid);
}

static __thread int cpus_read_depth;

void cpus_read_lock(void)
{
	if (config_debug)
		lock_witness_acquire(LOCK_CPU_HOTPLUG, "cpus_read_lock");
	pthread_rwlock_rdlock(&cpu_hotplug_lock);
	cpus_read_depth++;
}

void cpus_read_unlock(void)
{
	cpus_read_depth--;
	pthread_rwlock_unlock(&cpu_hotplug_lock);
	if (config_debug)
		lock_witness_release(LOCK_CPU_HOTPLUG);
}

bool lockdep_cpus_held(void)
{
	return cpus_read_depth > 0;
}

void get_online_mems(void)
{
	if (config_debug)
		lock_witness_acquire(LOCK_MEM_HOTPLUG, "get_online_mems");
	pthread_rwlock_rdlock(&mem_hotplug_lock);
}

void put_online_mems(void)
{
	pthread_rwlock_unlock(&mem_hotplug_lock);
	if (config_debug)
		lock_witness_release(LOCK_MEM_HOTPLUG);
}

int cpu_down(unsigned int cpu)
{
	return cpu < uslab_nr_cpu_ids() ? -EOPNOTSUPP : -EINVAL;
}

int cpu_up(unsigned int cpu)
{
	return cpu < uslab_nr_cpu_ids() ? 0 : -EINVAL;
}

int mem_node_offline(int nid)
{
	return node_online(nid) ? -EOPNOTSUPP : -EINVAL;
}

int mem_node_online(int nid)
{
	return node_online(nid) ? 0 : -EINVAL;
}

#define MAX_CPUHP_STATES 16

static struct cpuhp_step {
	int (*startup)(unsigned int cpu);
	int (*teardown)(unsigned int cpu);
	const char *name;
} cpuhp_steps[MAX_CPUHP_STATES];
static int cpuhp_nr_steps;

int cpuhp_setup_state(enum cpuhp_state state, const char *name,
		      int (*startup)(unsigned int cpu), int (*teardown)(unsigned int cpu))
{
	int handle, cpu, err = 0;

	(void)state;
	pthread_rwlock_wrlock(&cpu_hotplug_lock);
	if (cpuhp_nr_steps == MAX_CPUHP_STATES) {
		err = -ENOSPC;
		goto out;
	}
	for (cpu = 0; startup && cpu < (int)uslab_nr_cpu_ids(); cpu++) {
		err = startup((unsigned int)cpu);
		if (err)
			break;
	}
	if (err) {
		while (teardown && --cpu >= 0)
			teardown((unsigned int)cpu);
		goto out;
	}
	handle = cpuhp_nr_steps++;
	cpuhp_steps[handle] = (struct cpuhp_step){ startup, teardown, name };
	err = handle;
out:
	pthread_rwlock_unlock(&cpu_hotplug_lock);
	return err;
}

void cpuhp_remove_state(int handle)
{
	pthread_rwlock_wrlock(&cpu_hotplug_lock);
	if (handle >= 0 && handle < cpuhp_nr_steps)
		cpuhp_steps[handle] = (struct cpuhp_step){ 0 };
	pthread_rwlock_unlock(&cpu_hotplug_lock);
}

static struct notifier_block *memory_chain;

int register_memory_notifier(struct notifier_block *nb)
{
	struct notifier_block **pp;

	pthread_rwlock_wrlock(&mem_hotplug_lock);
	for (pp = &memory_chain; *pp && (*pp)->priority >= nb->priority; pp = &(*pp)->next)
		;
	nb->next = *pp;
	*pp = nb;
	pthread_rwlock_unlock(&mem_hotplug_lock);
	return 0;
}

void unregister_memory_notifier(struct notifier_block *nb)
{
	pthread_rwlock_wrlock(&mem_hotplug_lock);
	for (struct notifier_block **pp = &memory_chain; *pp; pp = &(*pp)->next) {
		if (*pp == nb) {
			*pp = nb->next;
			break;
		}
	}
	pthread_rwlock_unlock(&mem_hotplug_lock);
}
