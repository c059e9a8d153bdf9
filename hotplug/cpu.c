// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hotplug/cpu.c - CPU hotplug: the cpus lock, the ordered cpuhp callback
 * states, and cpu_up()/cpu_down() driving a CPU through them.
 *
 * A CPU goes up through the PREPARE section (startups in registration order,
 * the CPU still offline), is marked online, then through the ONLINE section;
 * it goes down the same way backwards (ONLINE teardowns in reverse, marked
 * offline, PREPARE teardowns in reverse). Everything runs in the calling
 * thread under the write side of cpu_hotplug_lock, so callbacks never race
 * with each other, with registration or with a cpus_read_lock() section.
 *
 * Failures (the kernel's choices where it has one):
 *   - cpu_up(): a failing startup rolls back the states already started, in
 *     reverse; the CPU ends offline; the error is returned.
 *   - cpu_down(): a failing ONLINE teardown re-starts, in order, the ONLINE
 *     states already torn down and leaves the CPU online (the kernel's
 *     cpuhp_rollback). A failing PREPARE teardown happens after the CPU is
 *     marked offline: there is nothing sensible to roll back to, so the other
 *     teardowns still run (roll forward), the CPU stays offline and the first
 *     error is returned. A startup that fails during a rollback is reported
 *     on stderr and ignored: rollbacks must not fail, as in the kernel.
 *   - registration: a startup failing on an online CPU tears down the CPUs
 *     already done, in reverse, and registers nothing.
 *
 * Lock: cpu_hotplug_lock, level LOCK_CPU_HOTPLUG (the outermost lock of
 * uslab). Read side: the online CPU mask stays as it is. Write side: changes
 * the online CPU mask and protects cpuhp_steps, cpuhp_order and cpuhp_nr.
 */
#include "hotplug/internal.h"
#include "topology/internal.h"

#include <errno.h>
#include <stdio.h>

/*
 * cpu_hotplug_lock (LOCK_CPU_HOTPLUG): read side keeps the online CPU mask as
 * it is; write side changes it and guards the cpuhp tables below.
 */
struct percpu_rwsem cpu_hotplug_lock =
	PERCPU_RWSEM_INITIALIZER(PERCPU_RWSEM_CPUS, LOCK_CPU_HOTPLUG, "cpu_hotplug_lock");

void cpus_read_lock(void)
{
	percpu_down_read(&cpu_hotplug_lock);
}

void cpus_read_unlock(void)
{
	percpu_up_read(&cpu_hotplug_lock);
}

void cpus_write_lock(void)
{
	percpu_down_write(&cpu_hotplug_lock);
}

void cpus_write_unlock(void)
{
	percpu_up_write(&cpu_hotplug_lock);
}

bool lockdep_cpus_held(void)
{
	return percpu_rwsem_held(&cpu_hotplug_lock);
}

#define CPUHP_MAX_STEPS 32
#define CPUHP_NR_SECTIONS 2
/* The section enum indexes cpuhp_order. */
_Static_assert(CPUHP_BP_PREPARE_DYN == 0 && CPUHP_AP_ONLINE_DYN == 1, "cpuhp sections");

/*
 * A registered state. Slots are reused after cpuhp_remove_state(); the order
 * of a section lives in cpuhp_order, so reuse does not change the order.
 * All of it is protected by the cpus write side.
 */
static struct cpuhp_step {
	int (*startup)(unsigned int cpu);
	int (*teardown)(unsigned int cpu);
	const char *name;
	enum cpuhp_state state;
	bool used;
} cpuhp_steps[CPUHP_MAX_STEPS];

/* cpuhp_order[s][0 .. cpuhp_nr[s]-1]: handles of section s, registration order. */
static int cpuhp_order[CPUHP_NR_SECTIONS][CPUHP_MAX_STEPS];
static int cpuhp_nr[CPUHP_NR_SECTIONS];

static struct cpuhp_step *cpuhp_step_at(enum cpuhp_state sec, int i)
{
	return &cpuhp_steps[cpuhp_order[sec][i]];
}

static int cpuhp_call(int (*fn)(unsigned int), unsigned int cpu)
{
	return fn ? fn(cpu) : 0;
}

static void cpuhp_warn(const struct cpuhp_step *step, const char *what, unsigned int cpu, int err)
{
	fprintf(stderr, "uslab: cpuhp %s of '%s' failed on CPU %u during rollback: %d\n",
		what, step->name ? step->name : "?", cpu, err);
}

/* Tear down steps [0, end) of @sec on @cpu, last first; errors are reported. */
static void cpuhp_teardown_range(enum cpuhp_state sec, unsigned int cpu, int end)
{
	for (int i = end - 1; i >= 0; i--) {
		struct cpuhp_step *step = cpuhp_step_at(sec, i);
		int err = cpuhp_call(step->teardown, cpu);

		if (err)
			cpuhp_warn(step, "teardown", cpu, err);
	}
}

/* Start every step of @sec on @cpu; on failure undo the ones started. */
static int cpuhp_startup_section(enum cpuhp_state sec, unsigned int cpu)
{
	for (int i = 0; i < cpuhp_nr[sec]; i++) {
		int err = cpuhp_call(cpuhp_step_at(sec, i)->startup, cpu);

		if (err) {
			cpuhp_teardown_range(sec, cpu, i);
			return err;
		}
	}
	return 0;
}

int cpu_up(unsigned int cpu)
{
	int err = 0;

	if (cpu >= uslab_nr_cpu_ids())
		return -EINVAL;
	hotplug_ensure_init();
	cpus_write_lock();
	if (cpu_online((int)cpu))
		goto out;
	err = cpuhp_startup_section(CPUHP_BP_PREPARE_DYN, cpu);
	if (err)
		goto out;
	hotplug_set_cpu_online(cpu, true);
	err = cpuhp_startup_section(CPUHP_AP_ONLINE_DYN, cpu);
	if (err) {
		hotplug_set_cpu_online(cpu, false);
		cpuhp_teardown_range(CPUHP_BP_PREPARE_DYN, cpu, cpuhp_nr[CPUHP_BP_PREPARE_DYN]);
		goto out;
	}
	hotplug_stat_inc(HOTPLUG_CPU_UP);
out:
	if (err)
		hotplug_stat_inc(HOTPLUG_CPU_FAILED);
	cpus_write_unlock();
	return err;
}

int cpu_down(unsigned int cpu)
{
	enum cpuhp_state sec = CPUHP_AP_ONLINE_DYN;
	int err = 0;

	if (cpu >= uslab_nr_cpu_ids())
		return -EINVAL;
	hotplug_ensure_init();
	cpus_write_lock();
	if (!cpu_online((int)cpu))
		goto out;
	if (num_online_cpus() == 1) {
		err = -EBUSY;
		goto out;
	}
	for (int i = cpuhp_nr[sec] - 1; i >= 0; i--) {
		err = cpuhp_call(cpuhp_step_at(sec, i)->teardown, cpu);
		if (!err)
			continue;
		/* Roll back: re-start what was torn down; the CPU stays online. */
		for (int j = i + 1; j < cpuhp_nr[sec]; j++) {
			struct cpuhp_step *step = cpuhp_step_at(sec, j);
			int e = cpuhp_call(step->startup, cpu);

			if (e)
				cpuhp_warn(step, "startup", cpu, e);
		}
		hotplug_stat_inc(HOTPLUG_CPU_FAILED);
		goto out;
	}
	hotplug_set_cpu_online(cpu, false);
	sec = CPUHP_BP_PREPARE_DYN;
	for (int i = cpuhp_nr[sec] - 1; i >= 0; i--) {
		int e = cpuhp_call(cpuhp_step_at(sec, i)->teardown, cpu);

		if (e && !err)
			err = e;
	}
	hotplug_stat_inc(HOTPLUG_CPU_DOWN);
	if (err)
		hotplug_stat_inc(HOTPLUG_CPU_FAILED);
out:
	cpus_write_unlock();
	return err;
}

static int cpuhp_setup(enum cpuhp_state state, const char *name, bool invoke,
		       int (*startup)(unsigned int cpu), int (*teardown)(unsigned int cpu))
{
	int handle, cpu, err = 0;

	if (state != CPUHP_BP_PREPARE_DYN && state != CPUHP_AP_ONLINE_DYN)
		return -EINVAL;
	hotplug_ensure_init();
	cpus_write_lock();
	for (handle = 0; handle < CPUHP_MAX_STEPS && cpuhp_steps[handle].used; handle++)
		;
	if (handle == CPUHP_MAX_STEPS) {
		err = -ENOSPC;
		goto out;
	}
	for (cpu = 0; invoke && startup && cpu < (int)uslab_nr_cpu_ids(); cpu++) {
		if (!cpu_online(cpu))
			continue;
		err = startup((unsigned int)cpu);
		if (err)
			break;
	}
	if (err) {
		while (teardown && --cpu >= 0) {
			if (cpu_online(cpu))
				teardown((unsigned int)cpu);
		}
		goto out;
	}
	cpuhp_steps[handle] = (struct cpuhp_step){
		.startup = startup, .teardown = teardown, .name = name,
		.state = state, .used = true,
	};
	cpuhp_order[state][cpuhp_nr[state]++] = handle;
	err = handle;
out:
	cpus_write_unlock();
	return err;
}

int cpuhp_setup_state(enum cpuhp_state state, const char *name,
		      int (*startup)(unsigned int cpu), int (*teardown)(unsigned int cpu))
{
	return cpuhp_setup(state, name, true, startup, teardown);
}

int cpuhp_setup_state_nocalls(enum cpuhp_state state, const char *name,
			      int (*startup)(unsigned int cpu),
			      int (*teardown)(unsigned int cpu))
{
	return cpuhp_setup(state, name, false, startup, teardown);
}

void cpuhp_remove_state(int handle)
{
	if (handle < 0 || handle >= CPUHP_MAX_STEPS)
		return;
	cpus_write_lock();
	if (cpuhp_steps[handle].used) {
		enum cpuhp_state sec = cpuhp_steps[handle].state;
		int i = 0, n = cpuhp_nr[sec];

		while (cpuhp_order[sec][i] != handle)
			i++;
		for (; i + 1 < n; i++)
			cpuhp_order[sec][i] = cpuhp_order[sec][i + 1];
		cpuhp_nr[sec]--;
		cpuhp_steps[handle] = (struct cpuhp_step){ 0 };
	}
	cpus_write_unlock();
}

void hotplug_fork(enum fork_phase phase)
{
	if (phase == FORK_PREPARE) {
		percpu_rwsem_fork(&cpu_hotplug_lock, phase);
		percpu_rwsem_fork(&mem_hotplug_lock, phase);
	} else {
		percpu_rwsem_fork(&mem_hotplug_lock, phase);
		percpu_rwsem_fork(&cpu_hotplug_lock, phase);
	}
}
