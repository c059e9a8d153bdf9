/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hotplug/internal.h - what the hotplug room (floor 2) offers the rooms above
 * it: callback registration for CPU and memory-node state changes (the
 * kernel's cpuhp states and memory notifiers) and per-node online CPU counts.
 */
#ifndef USLAB_HOTPLUG_INTERNAL_H
#define USLAB_HOTPLUG_INTERNAL_H

#ifndef USLAB_BUILDING
#error "hotplug/internal.h is internal to uslab"
#endif

#include <uslab/hotplug.h>
#include "private/compiler.h"

/* hotplug/cpu.c */

/*
 * Ordered CPU states: PREPARE callbacks run before the CPU is marked online
 * (and their teardown after it is marked offline), ONLINE callbacks after it
 * is online (teardown before it goes offline). Within a section, startup runs
 * in registration order and teardown in reverse.
 */
enum cpuhp_state {
	CPUHP_BP_PREPARE_DYN,
	CPUHP_AP_ONLINE_DYN,
};

/*
 * cpuhp_setup_state - register startup/teardown callbacks for CPU hotplug
 * @state: CPUHP_BP_PREPARE_DYN or CPUHP_AP_ONLINE_DYN
 * @name: for reports
 * @startup: run for every CPU that comes up (and now for online CPUs), or NULL
 * @teardown: run for every CPU that goes down, or NULL
 *
 * Context: takes cpus write lock; do not hold cpus_read_lock().
 * Return: a handle >= 0 for cpuhp_remove_state(), or -errno (a startup
 * failure on an online CPU rolls the registration back).
 */
int cpuhp_setup_state(enum cpuhp_state state, const char *name,
		      int (*startup)(unsigned int cpu), int (*teardown)(unsigned int cpu));
/* Remove callbacks registered by cpuhp_setup_state() (teardown not run). */
void cpuhp_remove_state(int handle);

/* Number of online CPUs on @nid (stable under cpus_read_lock()). */
unsigned int hotplug_nr_online_cpus_node(int nid);
/* True when the caller holds cpus_read_lock() or the CPU hotplug write side. */
bool lockdep_cpus_held(void);

/* hotplug/memory.c */

#define NOTIFY_DONE 0x0000
#define NOTIFY_OK   0x0001
#define NOTIFY_STOP_MASK 0x8000
#define NOTIFY_BAD  (NOTIFY_STOP_MASK | 0x0002)

static inline int notifier_from_errno(int err)
{
	return err ? (NOTIFY_STOP_MASK | (NOTIFY_OK - err)) : NOTIFY_OK;
}

static inline int notifier_to_errno(int ret)
{
	ret &= ~NOTIFY_STOP_MASK;
	return ret > NOTIFY_OK ? NOTIFY_OK - ret : 0;
}

enum memory_action {
	MEM_GOING_OFFLINE = 1,
	MEM_OFFLINE,
	MEM_CANCEL_OFFLINE,
	MEM_GOING_ONLINE,
	MEM_ONLINE,
	MEM_CANCEL_ONLINE,
};

struct memory_notify {
	int status_change_nid;
};

struct notifier_block {
	int (*notifier_call)(struct notifier_block *nb, unsigned long action, void *data);
	struct notifier_block *next;
	int priority; /* higher runs first */
};

/* Context: takes the mems write lock. Return: 0. */
int register_memory_notifier(struct notifier_block *nb);
void unregister_memory_notifier(struct notifier_block *nb);

#endif /* USLAB_HOTPLUG_INTERNAL_H */
