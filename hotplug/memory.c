// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hotplug/memory.c - memory-node hotplug: the mems lock, the memory notifier
 * chain, and mem_node_offline()/mem_node_online().
 *
 * A node goes offline in two steps, as in the kernel's offline_pages():
 * MEM_GOING_OFFLINE along the chain (highest priority first), where any
 * notifier may veto; then the node is marked offline and MEM_OFFLINE is sent.
 * Going online is the same with MEM_GOING_ONLINE / MEM_ONLINE.
 *
 * A veto is a return value with NOTIFY_STOP_MASK and an error
 * (notifier_from_errno(-E...) or NOTIFY_BAD). It stops the chain, and the
 * cancel event (MEM_CANCEL_OFFLINE / MEM_CANCEL_ONLINE) goes, in chain order,
 * to the notifiers that had accepted the GOING event; neither the vetoing one
 * nor those after it see it. That is what the kernel's
 * blocking_notifier_call_chain_robust() does (offline_pages() itself sends
 * the cancel to the whole chain); it lets a notifier pair every cancel with a
 * GOING event it accepted. The error returned is the notifier's errno, except
 * that a veto without one (NOTIFY_BAD, which is also notifier_from_errno(-1))
 * is reported as -EBUSY. NOTIFY_STOP (no error) stops the chain and is not a
 * veto. For the other events the return values are ignored but a stop bit
 * still stops the chain.
 *
 * A node with online CPUs may go offline (it becomes memoryless, as in the
 * kernel); the last online node may not.
 *
 * Lock: mem_hotplug_lock, level LOCK_MEM_HOTPLUG, always taken after
 * cpu_hotplug_lock (mem_hotplug_begin() takes cpus_read_lock() first). Read
 * side: the online node mask stays as it is. Write side: changes the online
 * node mask and protects memory_chain (registration and delivery).
 */
#include "hotplug/internal.h"
#include "topology/internal.h"

#include <errno.h>

/*
 * mem_hotplug_lock (LOCK_MEM_HOTPLUG, inside cpu_hotplug_lock): read side
 * keeps the online node mask as it is; write side changes it and guards
 * memory_chain.
 */
struct percpu_rwsem mem_hotplug_lock =
	PERCPU_RWSEM_INITIALIZER(PERCPU_RWSEM_MEMS, LOCK_MEM_HOTPLUG, "mem_hotplug_lock");

/*
 * Sorted by priority, highest first; equal priorities in registration order.
 * Protected by the mems write side (registration and delivery both hold it).
 */
static struct notifier_block *memory_chain;

void get_online_mems(void)
{
	percpu_down_read(&mem_hotplug_lock);
}

void put_online_mems(void)
{
	percpu_up_read(&mem_hotplug_lock);
}

void mem_hotplug_begin(void)
{
	cpus_read_lock();
	percpu_down_write(&mem_hotplug_lock);
}

void mem_hotplug_done(void)
{
	percpu_up_write(&mem_hotplug_lock);
	cpus_read_unlock();
}

bool lockdep_mems_held(void)
{
	return percpu_rwsem_held(&mem_hotplug_lock);
}

int register_memory_notifier(struct notifier_block *nb)
{
	struct notifier_block **pp;

	USLAB_ASSERT(nb && nb->notifier_call);
	mem_hotplug_begin();
	for (pp = &memory_chain; *pp && (*pp)->priority >= nb->priority; pp = &(*pp)->next)
		USLAB_ASSERT(*pp != nb); /* registered twice: the chain would loop */
	for (struct notifier_block *n = *pp; n; n = n->next)
		USLAB_ASSERT(n != nb);
	nb->next = *pp;
	*pp = nb;
	mem_hotplug_done();
	return 0;
}

void unregister_memory_notifier(struct notifier_block *nb)
{
	mem_hotplug_begin();
	for (struct notifier_block **pp = &memory_chain; *pp; pp = &(*pp)->next) {
		if (*pp == nb) {
			*pp = nb->next;
			nb->next = NULL;
			break;
		}
	}
	mem_hotplug_done();
}

/* Send @action to the first @nr notifiers (all when -1); stop on a stop bit. */
static int memory_notify(unsigned long action, int nid, int nr, int *nr_called)
{
	struct memory_notify arg = { .status_change_nid = nid };
	int ret = NOTIFY_DONE, n = 0;

	lockdep_assert_mems_held();
	for (struct notifier_block *nb = memory_chain; nb && n != nr; nb = nb->next) {
		ret = nb->notifier_call(nb, action, &arg);
		n++;
		if (ret & NOTIFY_STOP_MASK)
			break;
	}
	if (nr_called)
		*nr_called = n;
	return ret;
}

/*
 * Send @going; on a veto send @cancel to the notifiers that accepted it.
 * Return: 0 or the veto's -errno.
 */
static int memory_notify_robust(unsigned long going, unsigned long cancel, int nid)
{
	int n, ret = memory_notify(going, nid, -1, &n);
	int err = notifier_to_errno(ret);

	if (ret == NOTIFY_BAD)
		err = -EBUSY;
	if (err) {
		memory_notify(cancel, nid, n - 1, NULL);
		hotplug_stat_inc(HOTPLUG_NODE_VETOED);
	}
	return err;
}

int mem_node_offline(int nid)
{
	int err = 0;

	if (nid < 0 || nid >= (int)uslab_nr_node_ids())
		return -EINVAL;
	hotplug_ensure_init();
	mem_hotplug_begin();
	if (!node_online(nid))
		goto out;
	if (num_online_nodes() == 1) {
		err = -EBUSY;
		goto out;
	}
	err = memory_notify_robust(MEM_GOING_OFFLINE, MEM_CANCEL_OFFLINE, nid);
	if (err)
		goto out;
	hotplug_set_node_online(nid, false);
	memory_notify(MEM_OFFLINE, nid, -1, NULL);
	hotplug_stat_inc(HOTPLUG_NODE_OFFLINE);
out:
	mem_hotplug_done();
	return err;
}

int mem_node_online(int nid)
{
	int err = 0;

	if (nid < 0 || nid >= (int)uslab_nr_node_ids())
		return -EINVAL;
	hotplug_ensure_init();
	mem_hotplug_begin();
	if (node_online(nid))
		goto out;
	err = memory_notify_robust(MEM_GOING_ONLINE, MEM_CANCEL_ONLINE, nid);
	if (err)
		goto out;
	hotplug_set_node_online(nid, true);
	memory_notify(MEM_ONLINE, nid, -1, NULL);
	hotplug_stat_inc(HOTPLUG_NODE_ONLINE);
out:
	mem_hotplug_done();
	return err;
}
