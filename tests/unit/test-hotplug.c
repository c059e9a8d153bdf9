// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-hotplug.c - unit tests of the hotplug room: CPU and node
 * state changes and their return codes, the online masks and counts, the
 * order of cpuhp callbacks and of memory notifiers (recorded as a trace and
 * compared with the expected one), rollbacks and vetoes, and the semantics
 * of the percpu reader-writer locks, sequenced with semaphores and with the
 * semaphore's own state (writer pending, readers asleep): no test sleeps to
 * wait for another thread.
 *
 * Each test case runs in its own process (CK_FORK=yes) and picks a synthetic
 * machine first: 8 CPUs on 4 nodes (CPUs 2n and 2n+1 on node n) unless said
 * otherwise.
 */
#include "hotplug/internal.h"
#include "topology/internal.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void machine(const char *spec)
{
	ck_assert_int_eq(topology_init(spec), 0);
	ck_assert_uint_eq(uslab_nr_cpu_ids(), 8);
	ck_assert_uint_eq(uslab_nr_node_ids(), 4);
}

static void machine_8x4(void)
{
	machine("node:4 core:2 pu:1");
}

/* Spin politely until @cond holds: the other thread is past a known point. */
#define WAIT_UNTIL(cond) do { while (!(cond)) sched_yield(); } while (0)

static void stats(struct uslab_hotplug_stats *st)
{
	ck_assert_int_eq(uslab_hotplug_stats(st), 0);
}

/* Online CPUs counted through the mask, for comparison with the counters. */
static unsigned int count_online_cpus(void)
{
	unsigned int n = 0;
	int cpu;

	for_each_online_cpu(cpu)
		n++;
	return n;
}

static unsigned int sum_node_cpus(void)
{
	unsigned int n = 0;

	for (int nid = 0; nid < (int)uslab_nr_node_ids(); nid++)
		n += hotplug_nr_online_cpus_node(nid);
	return n;
}

static unsigned int count_online_nodes(void)
{
	unsigned int n = 0;
	int nid;

	for_each_online_node(nid)
		n++;
	return n;
}

/* ---- trace of callbacks ------------------------------------------------------ */

static char trace[4096];

static void trace_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace_add(const char *fmt, ...)
{
	size_t len = strlen(trace);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(trace + len, sizeof(trace) - len, fmt, ap);
	va_end(ap);
}

static void trace_reset(void)
{
	trace[0] = '\0';
}

#define ck_trace(expected) ck_assert_str_eq(trace, expected)

/*
 * cpuhp callbacks A, C (PREPARE) and B, D (ONLINE): each logs "<name><+|-><cpu><on|off> "
 * where on/off is cpu_online(cpu) at the time of the call; fail_<name>_up/_down
 * make it return an error for that CPU.
 */
static int fail_up[4] = { -1, -1, -1, -1 }, fail_down[4] = { -1, -1, -1, -1 };

static int step(int idx, bool up, unsigned int cpu)
{
	int fail = up ? fail_up[idx] : fail_down[idx];

	ck_assert(lockdep_cpus_held());
	trace_add("%c%c%u%s ", 'A' + idx, up ? '+' : '-', cpu, cpu_online((int)cpu) ? "on" : "off");
	return fail == (int)cpu ? -ENOMEM - idx : 0;
}

static int a_up(unsigned int cpu) { return step(0, true, cpu); }
static int a_down(unsigned int cpu) { return step(0, false, cpu); }
static int b_up(unsigned int cpu) { return step(1, true, cpu); }
static int b_down(unsigned int cpu) { return step(1, false, cpu); }
static int c_up(unsigned int cpu) { return step(2, true, cpu); }
static int c_down(unsigned int cpu) { return step(2, false, cpu); }
static int d_up(unsigned int cpu) { return step(3, true, cpu); }
static int d_down(unsigned int cpu) { return step(3, false, cpu); }

/* Register A(PREPARE) B(ONLINE) C(PREPARE) D(ONLINE) without calls; return A's handle. */
static int register_abcd(void)
{
	int ha = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "A", a_up, a_down);

	ck_assert_int_ge(ha, 0);
	ck_assert_int_ge(cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "B", b_up, b_down), 0);
	ck_assert_int_ge(cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "C", c_up, c_down), 0);
	ck_assert_int_ge(cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "D", d_up, d_down), 0);
	ck_trace("");
	return ha;
}

/* ---- states, masks and return codes ----------------------------------------- */

START_TEST(test_initial_state)
{
	struct uslab_hotplug_stats st;

	machine_8x4();
	ck_assert_uint_eq(num_online_cpus(), 8);
	ck_assert_uint_eq(num_online_nodes(), 4);
	for (int cpu = 0; cpu < 8; cpu++)
		ck_assert(cpu_online(cpu));
	for (int nid = 0; nid < 4; nid++) {
		ck_assert(node_online(nid));
		ck_assert_uint_eq(hotplug_nr_online_cpus_node(nid), 2);
	}
	ck_assert(!cpu_online(-1) && !cpu_online(8) && !cpu_online(USLAB_NR_CPUS));
	ck_assert(!node_online(-1) && !node_online(4) && !node_online(USLAB_MAX_NUMNODES));
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(-1), 0);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(4), 0);
	ck_assert_uint_eq(count_online_cpus(), 8);
	stats(&st);
	ck_assert(st.cpu_up == 0 && st.cpu_down == 0 && st.cpu_failed == 0);
	ck_assert(st.node_online == 0 && st.node_offline == 0 && st.node_vetoed == 0);
	ck_assert_int_eq(uslab_hotplug_stats(NULL), -EINVAL);
}
END_TEST

START_TEST(test_cpu_transitions)
{
	struct uslab_hotplug_stats st;

	machine_8x4();
	ck_assert_int_eq(cpu_down(8), -EINVAL);
	ck_assert_int_eq(cpu_down(UINT_MAX), -EINVAL);
	ck_assert_int_eq(cpu_up(8), -EINVAL);
	ck_assert_int_eq(cpu_up(USLAB_NR_CPUS), -EINVAL);

	ck_assert_int_eq(cpu_down(3), 0);
	ck_assert(!cpu_online(3) && cpu_online(2));
	ck_assert_uint_eq(num_online_cpus(), 7);
	ck_assert_uint_eq(count_online_cpus(), 7);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(1), 1);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(0), 2);
	/* Already offline: a no-op that succeeds, as in the kernel. */
	ck_assert_int_eq(cpu_down(3), 0);
	ck_assert_uint_eq(num_online_cpus(), 7);

	ck_assert_int_eq(cpu_up(3), 0);
	ck_assert(cpu_online(3));
	ck_assert_uint_eq(num_online_cpus(), 8);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(1), 2);
	ck_assert_int_eq(cpu_up(3), 0);
	ck_assert_uint_eq(num_online_cpus(), 8);

	/* Down to CPU 0 only; nodes 1..3 lose all CPUs but keep their memory. */
	for (unsigned int cpu = 7; cpu >= 1; cpu--) {
		ck_assert_int_eq(cpu_down(cpu), 0);
		ck_assert_uint_eq(num_online_cpus(), cpu);
		ck_assert_uint_eq(count_online_cpus(), cpu);
		ck_assert_uint_eq(sum_node_cpus(), cpu);
	}
	ck_assert_int_eq(cpu_down(0), -EBUSY);
	ck_assert(cpu_online(0));
	ck_assert_uint_eq(num_online_cpus(), 1);
	for (int nid = 1; nid < 4; nid++) {
		ck_assert_uint_eq(hotplug_nr_online_cpus_node(nid), 0);
		ck_assert(node_online(nid));
	}
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(0), 1);
	ck_assert_uint_eq(num_online_nodes(), 4);
	/* Another CPU up: now CPU 0 may go, and CPU 5 is then the last. */
	ck_assert_int_eq(cpu_up(5), 0);
	ck_assert_int_eq(cpu_down(0), 0);
	ck_assert_int_eq(cpu_down(5), -EBUSY);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(0), 0);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(2), 1);

	stats(&st);
	ck_assert_uint_eq(st.cpu_down, 1 + 7 + 1);
	ck_assert_uint_eq(st.cpu_up, 1 + 1);
	ck_assert_uint_eq(st.cpu_failed, 0);
}
END_TEST

START_TEST(test_node_transitions)
{
	struct uslab_hotplug_stats st;

	machine_8x4();
	ck_assert_int_eq(mem_node_offline(-1), -EINVAL);
	ck_assert_int_eq(mem_node_offline(4), -EINVAL);
	ck_assert_int_eq(mem_node_offline(USLAB_MAX_NUMNODES), -EINVAL);
	ck_assert_int_eq(mem_node_online(-1), -EINVAL);
	ck_assert_int_eq(mem_node_online(4), -EINVAL);

	ck_assert_int_eq(mem_node_offline(2), 0);
	ck_assert(!node_online(2) && node_online(1) && node_online(3));
	ck_assert_uint_eq(num_online_nodes(), 3);
	ck_assert_uint_eq(count_online_nodes(), 3);
	/* The node's CPUs are untouched: it is memoryless now. */
	ck_assert(cpu_online(4) && cpu_online(5));
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(2), 2);
	ck_assert_uint_eq(num_online_cpus(), 8);
	ck_assert_int_eq(mem_node_offline(2), 0);
	ck_assert_uint_eq(num_online_nodes(), 3);
	/* Its CPUs can still come and go. */
	ck_assert_int_eq(cpu_down(4), 0);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(2), 1);
	ck_assert_int_eq(cpu_up(4), 0);

	ck_assert_int_eq(mem_node_online(2), 0);
	ck_assert(node_online(2));
	ck_assert_uint_eq(num_online_nodes(), 4);
	ck_assert_int_eq(mem_node_online(2), 0);
	ck_assert_uint_eq(num_online_nodes(), 4);

	ck_assert_int_eq(mem_node_offline(0), 0);
	ck_assert_int_eq(mem_node_offline(1), 0);
	ck_assert_int_eq(mem_node_offline(3), 0);
	ck_assert_uint_eq(num_online_nodes(), 1);
	ck_assert_int_eq(mem_node_offline(2), -EBUSY);
	ck_assert(node_online(2));
	ck_assert_uint_eq(num_online_nodes(), 1);
	ck_assert_uint_eq(count_online_nodes(), 1);
	/* A node with memory but no online CPU may be the last one. */
	ck_assert_int_eq(cpu_down(4), 0);
	ck_assert_int_eq(cpu_down(5), 0);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(2), 0);
	ck_assert_int_eq(mem_node_offline(2), -EBUSY);

	stats(&st);
	ck_assert_uint_eq(st.node_offline, 1 + 3);
	ck_assert_uint_eq(st.node_online, 1);
	ck_assert_uint_eq(st.node_vetoed, 0);
	ck_assert_uint_eq(st.cpu_down, 3);
}
END_TEST

START_TEST(test_small_machine)
{
	ck_assert_int_eq(topology_init("node:2 core:2 pu:1"), 0);
	ck_assert_uint_eq(num_online_cpus(), 4);
	ck_assert_uint_eq(num_online_nodes(), 2);
	ck_assert_int_eq(cpu_down(4), -EINVAL);
	ck_assert_int_eq(mem_node_offline(2), -EINVAL);
	ck_assert_int_eq(mem_node_offline(0), 0);
	ck_assert_int_eq(mem_node_offline(1), -EBUSY);
	ck_assert_int_eq(cpu_down(0), 0);
	ck_assert_int_eq(cpu_down(1), 0);
	ck_assert_int_eq(cpu_down(2), 0);
	ck_assert_int_eq(cpu_down(3), -EBUSY);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(0), 0);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(1), 1);
}
END_TEST

/* ---- cpuhp callbacks -------------------------------------------------------- */

START_TEST(test_cpuhp_order)
{
	machine_8x4();
	register_abcd();

	ck_assert_int_eq(cpu_down(5), 0);
	ck_trace("D-5on B-5on C-5off A-5off ");
	trace_reset();
	ck_assert_int_eq(cpu_up(5), 0);
	ck_trace("A+5off C+5off B+5on D+5on ");
	/* No-ops call nobody. */
	trace_reset();
	ck_assert_int_eq(cpu_up(5), 0);
	ck_assert_int_eq(cpu_down(8), -EINVAL);
	ck_trace("");
	/* -EBUSY for the last CPU calls nobody either. */
	for (unsigned int cpu = 1; cpu < 8; cpu++)
		ck_assert_int_eq(cpu_down(cpu), 0);
	trace_reset();
	ck_assert_int_eq(cpu_down(0), -EBUSY);
	ck_trace("");
}
END_TEST

START_TEST(test_cpuhp_register_calls_online_cpus)
{
	int h;

	machine_8x4();
	ck_assert_int_eq(cpu_down(3), 0);
	ck_assert_int_eq(cpu_down(6), 0);
	h = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "B", b_up, b_down);
	ck_assert_int_ge(h, 0);
	ck_trace("B+0on B+1on B+2on B+4on B+5on B+7on ");
	trace_reset();
	ck_assert_int_ge(cpuhp_setup_state(CPUHP_BP_PREPARE_DYN, "A", a_up, a_down), 0);
	ck_trace("A+0on A+1on A+2on A+4on A+5on A+7on ");
	/* A registered later still runs first on up: PREPARE before ONLINE. */
	trace_reset();
	ck_assert_int_eq(cpu_up(3), 0);
	ck_trace("A+3off B+3on ");
	/* Removal runs no teardown, and the CPU transitions skip the state. */
	trace_reset();
	cpuhp_remove_state(h);
	ck_trace("");
	ck_assert_int_eq(cpu_down(3), 0);
	ck_trace("A-3off ");
	/* Removing twice, or a bad handle, is harmless. */
	cpuhp_remove_state(h);
	cpuhp_remove_state(-1);
	cpuhp_remove_state(1000);
}
END_TEST

START_TEST(test_cpuhp_register_rollback)
{
	struct uslab_hotplug_stats st;

	machine_8x4();
	ck_assert_int_eq(cpu_down(3), 0);
	trace_reset();
	fail_up[2] = 5;
	ck_assert_int_eq(cpuhp_setup_state(CPUHP_BP_PREPARE_DYN, "C", c_up, c_down), -ENOMEM - 2);
	ck_trace("C+0on C+1on C+2on C+4on C+5on C-4on C-2on C-1on C-0on ");
	/* Nothing was registered. */
	trace_reset();
	ck_assert_int_eq(cpu_down(6), 0);
	ck_assert_int_eq(cpu_up(6), 0);
	ck_trace("");
	stats(&st);
	ck_assert_uint_eq(st.cpu_failed, 0);
	/* A NULL startup registers without calls; the teardown still runs. */
	ck_assert_int_ge(cpuhp_setup_state(CPUHP_BP_PREPARE_DYN, "C", NULL, c_down), 0);
	ck_trace("");
	ck_assert_int_eq(cpu_down(6), 0);
	ck_trace("C-6off ");
}
END_TEST

START_TEST(test_cpuhp_nocalls_and_reuse)
{
	int hx, hy, hz;

	machine_8x4();
	hx = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "B", b_up, b_down);
	hy = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "D", d_up, d_down);
	ck_assert_int_ge(hx, 0);
	ck_assert_int_ge(hy, 0);
	ck_assert_int_ne(hx, hy);
	ck_trace("");
	cpuhp_remove_state(hx);
	/* The freed handle is reused, but order is registration order: D before B. */
	hz = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "B", b_up, b_down);
	ck_assert_int_eq(hz, hx);
	ck_assert_int_eq(cpu_down(1), 0);
	ck_trace("B-1on D-1on ");
	trace_reset();
	ck_assert_int_eq(cpu_up(1), 0);
	ck_trace("D+1on B+1on ");
}
END_TEST

START_TEST(test_cpuhp_bad_args)
{
	int n;

	machine_8x4();
	ck_assert_int_eq(cpuhp_setup_state((enum cpuhp_state)7, "bad", a_up, a_down), -EINVAL);
	ck_assert_int_eq(cpuhp_setup_state_nocalls((enum cpuhp_state)-1, "bad", a_up, a_down),
			 -EINVAL);
	ck_trace("");
	for (n = 0; n < 1000; n++)
		if (cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "null", NULL, NULL) < 0)
			break;
	ck_assert_int_gt(n, 8);
	ck_assert_int_lt(n, 1000);
	ck_assert_int_eq(cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "full", NULL, NULL), -ENOSPC);
	/* Room again after a removal. */
	cpuhp_remove_state(3);
	ck_assert_int_eq(cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "again", NULL, NULL), 3);
}
END_TEST

START_TEST(test_cpu_up_rollback)
{
	struct uslab_hotplug_stats st;

	machine_8x4();
	register_abcd();
	ck_assert_int_eq(cpu_down(5), 0);

	/* An ONLINE startup fails: ONLINE undone, CPU marked offline, PREPARE undone. */
	trace_reset();
	fail_up[3] = 5;
	ck_assert_int_eq(cpu_up(5), -ENOMEM - 3);
	ck_trace("A+5off C+5off B+5on D+5on B-5on C-5off A-5off ");
	ck_assert(!cpu_online(5));
	ck_assert_uint_eq(num_online_cpus(), 7);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(2), 1);

	/* A PREPARE startup fails: the CPU was never online, no ONLINE step ran. */
	trace_reset();
	fail_up[3] = -1;
	fail_up[2] = 5;
	ck_assert_int_eq(cpu_up(5), -ENOMEM - 2);
	ck_trace("A+5off C+5off A-5off ");
	ck_assert(!cpu_online(5));
	ck_assert_uint_eq(num_online_cpus(), 7);

	/* The first one fails: nothing to undo. */
	trace_reset();
	fail_up[2] = -1;
	fail_up[0] = 5;
	ck_assert_int_eq(cpu_up(5), -ENOMEM);
	ck_trace("A+5off ");

	/* Other CPUs are not affected, and the CPU comes up once it may. */
	trace_reset();
	fail_up[0] = -1;
	ck_assert_int_eq(cpu_up(5), 0);
	ck_trace("A+5off C+5off B+5on D+5on ");
	ck_assert_uint_eq(num_online_cpus(), 8);
	stats(&st);
	ck_assert_uint_eq(st.cpu_failed, 3);
	ck_assert_uint_eq(st.cpu_up, 1);
	ck_assert_uint_eq(st.cpu_down, 1);
}
END_TEST

START_TEST(test_cpu_down_teardown_errors)
{
	struct uslab_hotplug_stats st;

	machine_8x4();
	register_abcd();

	/* An ONLINE teardown fails: the ONLINE steps torn down restart; CPU stays up. */
	fail_down[1] = 5;
	ck_assert_int_eq(cpu_down(5), -ENOMEM - 1);
	ck_trace("D-5on B-5on D+5on ");
	ck_assert(cpu_online(5));
	ck_assert_uint_eq(num_online_cpus(), 8);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(2), 2);

	/* A PREPARE teardown fails: the CPU is already offline; roll forward. */
	trace_reset();
	fail_down[1] = -1;
	fail_down[2] = 5;
	ck_assert_int_eq(cpu_down(5), -ENOMEM - 2);
	ck_trace("D-5on B-5on C-5off A-5off ");
	ck_assert(!cpu_online(5));
	ck_assert_uint_eq(num_online_cpus(), 7);
	ck_assert_uint_eq(hotplug_nr_online_cpus_node(2), 1);

	/* Two PREPARE teardowns fail: the first error (C, run before A) is returned. */
	trace_reset();
	fail_down[2] = 6;
	fail_down[0] = 6;
	ck_assert_int_eq(cpu_down(6), -ENOMEM - 2);
	ck_trace("D-6on B-6on C-6off A-6off ");
	ck_assert(!cpu_online(6));

	stats(&st);
	ck_assert_uint_eq(st.cpu_failed, 3);
	ck_assert_uint_eq(st.cpu_down, 2);
}
END_TEST

/* ---- memory notifiers ------------------------------------------------------- */

static const char *const mem_action_name[] = {
	[MEM_GOING_OFFLINE] = "GOING_OFFLINE", [MEM_OFFLINE] = "OFFLINE",
	[MEM_CANCEL_OFFLINE] = "CANCEL_OFFLINE", [MEM_GOING_ONLINE] = "GOING_ONLINE",
	[MEM_ONLINE] = "ONLINE", [MEM_CANCEL_ONLINE] = "CANCEL_ONLINE",
};

struct test_nb {
	struct notifier_block nb;
	const char *name;
	unsigned long veto_action;	/* 0: never */
	int veto_ret;
};

static int test_notifier(struct notifier_block *nb, unsigned long action, void *data)
{
	struct test_nb *t = container_of(nb, struct test_nb, nb);
	struct memory_notify *arg = data;

	ck_assert(lockdep_mems_held());
	ck_assert(lockdep_cpus_held());
	ck_assert(action >= MEM_GOING_OFFLINE && action <= MEM_CANCEL_ONLINE);
	trace_add("%s:%s:%d ", t->name, mem_action_name[action], arg->status_change_nid);
	return action == t->veto_action ? t->veto_ret : NOTIFY_OK;
}

#define TEST_NB(str, prio) { .nb = { .notifier_call = test_notifier, .priority = (prio) }, .name = (str) }

START_TEST(test_memory_notifier_priority)
{
	struct test_nb n10 = TEST_NB("p10", 10), n30 = TEST_NB("p30", 30);
	struct test_nb n20 = TEST_NB("p20", 20), n20b = TEST_NB("p20b", 20);
	struct test_nb neg = TEST_NB("m5", -5);

	machine_8x4();
	ck_assert_int_eq(register_memory_notifier(&n10.nb), 0);
	ck_assert_int_eq(register_memory_notifier(&neg.nb), 0);
	ck_assert_int_eq(register_memory_notifier(&n30.nb), 0);
	ck_assert_int_eq(register_memory_notifier(&n20.nb), 0);
	ck_assert_int_eq(register_memory_notifier(&n20b.nb), 0);
	ck_assert_int_eq(mem_node_offline(1), 0);
	ck_trace("p30:GOING_OFFLINE:1 p20:GOING_OFFLINE:1 p20b:GOING_OFFLINE:1 "
		 "p10:GOING_OFFLINE:1 m5:GOING_OFFLINE:1 "
		 "p30:OFFLINE:1 p20:OFFLINE:1 p20b:OFFLINE:1 p10:OFFLINE:1 m5:OFFLINE:1 ");
	trace_reset();
	unregister_memory_notifier(&n20.nb);
	unregister_memory_notifier(&neg.nb);
	ck_assert_int_eq(mem_node_online(1), 0);
	ck_trace("p30:GOING_ONLINE:1 p20b:GOING_ONLINE:1 p10:GOING_ONLINE:1 "
		 "p30:ONLINE:1 p20b:ONLINE:1 p10:ONLINE:1 ");
	/* No-ops and errors notify nobody. */
	trace_reset();
	ck_assert_int_eq(mem_node_online(1), 0);
	ck_assert_int_eq(mem_node_offline(9), -EINVAL);
	unregister_memory_notifier(&n20.nb); /* not registered: harmless */
	ck_trace("");
	ck_assert(node_online(1));
}
END_TEST

START_TEST(test_memory_offline_veto)
{
	struct test_nb n10 = TEST_NB("p10", 10), n30 = TEST_NB("p30", 30);
	struct test_nb n20 = TEST_NB("p20", 20);
	struct uslab_hotplug_stats st;

	machine_8x4();
	n20.veto_action = MEM_GOING_OFFLINE;
	n20.veto_ret = notifier_from_errno(-EBUSY);
	register_memory_notifier(&n10.nb);
	register_memory_notifier(&n20.nb);
	register_memory_notifier(&n30.nb);

	ck_assert_int_eq(mem_node_offline(3), -EBUSY);
	ck_trace("p30:GOING_OFFLINE:3 p20:GOING_OFFLINE:3 p30:CANCEL_OFFLINE:3 ");
	ck_assert(node_online(3));
	ck_assert_uint_eq(num_online_nodes(), 4);

	/* NOTIFY_BAD carries no errno: reported as -EBUSY. */
	trace_reset();
	n20.veto_ret = NOTIFY_BAD;
	ck_assert_int_eq(mem_node_offline(3), -EBUSY);
	ck_trace("p30:GOING_OFFLINE:3 p20:GOING_OFFLINE:3 p30:CANCEL_OFFLINE:3 ");
	/* Another errno is passed through. */
	trace_reset();
	n20.veto_ret = notifier_from_errno(-ENOMEM);
	ck_assert_int_eq(mem_node_offline(3), -ENOMEM);
	ck_assert(node_online(3));
	/* The first notifier vetoes: nobody had accepted, nobody is cancelled. */
	trace_reset();
	n30.veto_action = MEM_GOING_OFFLINE;
	n30.veto_ret = notifier_from_errno(-EBUSY);
	ck_assert_int_eq(mem_node_offline(3), -EBUSY);
	ck_trace("p30:GOING_OFFLINE:3 ");
	/* NOTIFY_STOP stops the chain without a veto. */
	trace_reset();
	n30.veto_ret = NOTIFY_STOP;
	ck_assert_int_eq(mem_node_offline(3), 0);
	ck_trace("p30:GOING_OFFLINE:3 p30:OFFLINE:3 p20:OFFLINE:3 p10:OFFLINE:3 ");
	ck_assert(!node_online(3));

	stats(&st);
	ck_assert_uint_eq(st.node_vetoed, 4);
	ck_assert_uint_eq(st.node_offline, 1);
}
END_TEST

START_TEST(test_memory_online_veto)
{
	struct test_nb n10 = TEST_NB("p10", 10), n30 = TEST_NB("p30", 30);
	struct test_nb n20 = TEST_NB("p20", 20);

	machine_8x4();
	ck_assert_int_eq(mem_node_offline(0), 0);
	register_memory_notifier(&n10.nb);
	register_memory_notifier(&n20.nb);
	register_memory_notifier(&n30.nb);
	n10.veto_action = MEM_GOING_ONLINE;
	n10.veto_ret = notifier_from_errno(-ENOMEM);
	ck_assert_int_eq(mem_node_online(0), -ENOMEM);
	ck_trace("p30:GOING_ONLINE:0 p20:GOING_ONLINE:0 p10:GOING_ONLINE:0 "
		 "p30:CANCEL_ONLINE:0 p20:CANCEL_ONLINE:0 ");
	ck_assert(!node_online(0));
	ck_assert_uint_eq(num_online_nodes(), 3);
	trace_reset();
	n10.veto_action = 0;
	ck_assert_int_eq(mem_node_online(0), 0);
	ck_trace("p30:GOING_ONLINE:0 p20:GOING_ONLINE:0 p10:GOING_ONLINE:0 "
		 "p30:ONLINE:0 p20:ONLINE:0 p10:ONLINE:0 ");
	ck_assert(node_online(0));
	ck_assert_uint_eq(num_online_nodes(), 4);
}
END_TEST

/* A notifier may veto only GOING events: an error on the others is ignored. */
START_TEST(test_memory_errors_after_commit_ignored)
{
	struct test_nb n = TEST_NB("n", 0);

	machine_8x4();
	n.veto_action = MEM_OFFLINE;
	n.veto_ret = notifier_from_errno(-EBUSY);
	register_memory_notifier(&n.nb);
	ck_assert_int_eq(mem_node_offline(2), 0);
	ck_assert(!node_online(2));
	ck_trace("n:GOING_OFFLINE:2 n:OFFLINE:2 ");
}
END_TEST

/* ---- lock semantics --------------------------------------------------------- */

START_TEST(test_lockdep_held)
{
	machine_8x4();
	ck_assert(!lockdep_cpus_held());
	ck_assert(!lockdep_mems_held());
	cpus_read_lock();
	ck_assert(lockdep_cpus_held());
	get_online_cpus();
	put_online_cpus();
	ck_assert(lockdep_cpus_held());
	get_online_mems();
	ck_assert(lockdep_mems_held());
	put_online_mems();
	ck_assert(!lockdep_mems_held());
	cpus_read_unlock();
	ck_assert(!lockdep_cpus_held());
	ck_assert_uint_eq(percpu_rwsem_readers(&cpu_hotplug_lock), 0);

	cpus_write_lock();
	ck_assert(lockdep_cpus_held());
	ck_assert(percpu_rwsem_write_held(&cpu_hotplug_lock));
	cpus_write_unlock();
	ck_assert(!lockdep_cpus_held());

	mem_hotplug_begin();
	ck_assert(lockdep_cpus_held());
	ck_assert(lockdep_mems_held());
	ck_assert(!percpu_rwsem_write_held(&cpu_hotplug_lock));
	ck_assert(percpu_rwsem_write_held(&mem_hotplug_lock));
	mem_hotplug_done();
	ck_assert(!lockdep_cpus_held() && !lockdep_mems_held());
	ck_assert(!percpu_rwsem_writer_pending(&cpu_hotplug_lock));
	ck_assert(!percpu_rwsem_writer_pending(&mem_hotplug_lock));
}
END_TEST

/* Callbacks run under the write side and may take the read sides. */
static int reading_startup(unsigned int cpu)
{
	(void)cpu;
	ck_assert(percpu_rwsem_write_held(&cpu_hotplug_lock));
	cpus_read_lock();
	get_online_mems();
	ck_assert(lockdep_cpus_held() && lockdep_mems_held());
	put_online_mems();
	cpus_read_unlock();
	ck_assert(percpu_rwsem_write_held(&cpu_hotplug_lock));
	trace_add("r%u ", cpu);
	return 0;
}

static int node_offline_notifier(struct notifier_block *nb, unsigned long action, void *data)
{
	(void)nb;
	(void)data;
	/* Inside the mems write side: both read sides nest. */
	cpus_read_lock();
	get_online_mems();
	put_online_mems();
	cpus_read_unlock();
	trace_add("m%lu ", action);
	return NOTIFY_OK;
}

START_TEST(test_write_then_read_allowed)
{
	struct notifier_block nb = { .notifier_call = node_offline_notifier };

	machine_8x4();
	ck_assert_int_ge(cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "r", reading_startup, NULL), 0);
	ck_trace("r0 r1 r2 r3 r4 r5 r6 r7 ");
	register_memory_notifier(&nb);
	trace_reset();
	ck_assert_int_eq(mem_node_offline(1), 0);
	ck_trace("m1 m2 ");
	ck_assert(!lockdep_cpus_held() && !lockdep_mems_held());
	ck_assert_uint_eq(percpu_rwsem_readers(&cpu_hotplug_lock), 0);
	ck_assert_uint_eq(percpu_rwsem_readers(&mem_hotplug_lock), 0);
}
END_TEST

/* Read, then write, in one thread: would deadlock, so it aborts. */
START_TEST(test_read_then_write_aborts)
{
	machine_8x4();
	cpus_read_lock();
	cpu_down(1);
}
END_TEST

START_TEST(test_mems_read_then_write_aborts)
{
	machine_8x4();
	get_online_mems();
	mem_node_offline(1);
}
END_TEST

static int recursive_down(unsigned int cpu)
{
	return cpu_down(cpu == 0 ? 1 : 0);
}

/* A cpuhp callback changing CPU state again: aborts instead of hanging. */
START_TEST(test_write_recursion_aborts)
{
	machine_8x4();
	cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "recursive", NULL, recursive_down);
	cpu_down(3);
}
END_TEST

/* Unbalanced unlock is caught. */
START_TEST(test_unlock_without_lock_aborts)
{
	machine_8x4();
	cpus_read_unlock();
}
END_TEST

struct writer_arg {
	sem_t started;
	unsigned int cpu;
	int ret;
	int done;	/* atomic */
};

static void *down_thread(void *p)
{
	struct writer_arg *w = p;

	sem_post(&w->started);
	w->ret = cpu_down(w->cpu);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

START_TEST(test_writer_waits_for_reader)
{
	struct writer_arg w = { .cpu = 6 };
	pthread_t t;

	machine_8x4();
	sem_init(&w.started, 0, 0);
	cpus_read_lock();
	ck_assert_int_eq(pthread_create(&t, NULL, down_thread, &w), 0);
	sem_wait(&w.started);
	/* The writer announced itself; it must not get further while we read. */
	WAIT_UNTIL(percpu_rwsem_writer_pending(&cpu_hotplug_lock) ||
		   __atomic_load_n(&w.done, __ATOMIC_SEQ_CST));
	for (int i = 0; i < 1000; i++)
		sched_yield();
	ck_assert_int_eq(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);
	ck_assert(cpu_online(6));
	ck_assert_uint_eq(num_online_cpus(), 8);
	/* A nested read with the writer pending does not wait for it. */
	cpus_read_lock();
	ck_assert(cpu_online(6));
	cpus_read_unlock();
	ck_assert_int_eq(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);
	cpus_read_unlock();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(w.ret, 0);
	ck_assert(!cpu_online(6));
	ck_assert_uint_eq(num_online_cpus(), 7);
	sem_destroy(&w.started);
}
END_TEST

struct reader_arg {
	sem_t started;
	int acquired;		/* atomic */
	unsigned int seen_cpus;	/* num_online_cpus() inside the read section */
	struct percpu_rwsem *sem;
};

static void *reader_thread(void *p)
{
	struct reader_arg *r = p;

	sem_post(&r->started);
	if (r->sem == &cpu_hotplug_lock)
		cpus_read_lock();
	else
		get_online_mems();
	__atomic_store_n(&r->acquired, 1, __ATOMIC_SEQ_CST);
	r->seen_cpus = r->sem == &cpu_hotplug_lock ? num_online_cpus() : num_online_nodes();
	if (r->sem == &cpu_hotplug_lock)
		cpus_read_unlock();
	else
		put_online_mems();
	return NULL;
}

static void check_readers_blocked_by_writer(struct percpu_rwsem *sem)
{
	struct reader_arg r = { .sem = sem };
	pthread_t t;

	sem_init(&r.started, 0, 0);
	if (sem == &cpu_hotplug_lock)
		cpus_write_lock();
	else
		mem_hotplug_begin();
	ck_assert_int_eq(pthread_create(&t, NULL, reader_thread, &r), 0);
	sem_wait(&r.started);
	WAIT_UNTIL(percpu_rwsem_nr_waiting(sem) == 1 ||
		   __atomic_load_n(&r.acquired, __ATOMIC_SEQ_CST));
	ck_assert_int_eq(__atomic_load_n(&r.acquired, __ATOMIC_SEQ_CST), 0);
	/* The change made under the write side is what the reader sees. */
	if (sem == &cpu_hotplug_lock) {
		hotplug_set_cpu_online(2, false);
		cpus_write_unlock();
	} else {
		hotplug_set_node_online(2, false);
		mem_hotplug_done();
	}
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(r.acquired, 1);
	ck_assert_uint_eq(r.seen_cpus, sem == &cpu_hotplug_lock ? 7 : 3);
	ck_assert_uint_eq(percpu_rwsem_nr_waiting(sem), 0);
	sem_destroy(&r.started);
}

START_TEST(test_readers_blocked_by_writer)
{
	machine_8x4();
	check_readers_blocked_by_writer(&cpu_hotplug_lock);
}
END_TEST

START_TEST(test_mems_readers_blocked_by_writer)
{
	machine_8x4();
	check_readers_blocked_by_writer(&mem_hotplug_lock);
}
END_TEST

/*
 * Reader A (this thread) holds; writer W is pending; new reader B must queue
 * behind W (it sees W's change), while A's nested reads go through.
 */
START_TEST(test_pending_writer_blocks_new_readers)
{
	struct writer_arg w = { .cpu = 7 };
	struct reader_arg r = { .sem = &cpu_hotplug_lock };
	pthread_t tw, tr;

	machine_8x4();
	sem_init(&w.started, 0, 0);
	sem_init(&r.started, 0, 0);
	cpus_read_lock();
	ck_assert_int_eq(pthread_create(&tw, NULL, down_thread, &w), 0);
	sem_wait(&w.started);
	WAIT_UNTIL(percpu_rwsem_writer_pending(&cpu_hotplug_lock) ||
		   __atomic_load_n(&w.done, __ATOMIC_SEQ_CST));
	ck_assert_int_eq(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);
	ck_assert_int_eq(pthread_create(&tr, NULL, reader_thread, &r), 0);
	sem_wait(&r.started);
	WAIT_UNTIL(percpu_rwsem_nr_waiting(&cpu_hotplug_lock) == 1 ||
		   __atomic_load_n(&r.acquired, __ATOMIC_SEQ_CST));
	ck_assert_int_eq(__atomic_load_n(&r.acquired, __ATOMIC_SEQ_CST), 0);
	ck_assert_int_eq(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);
	for (int depth = 0; depth < 5; depth++)
		cpus_read_lock();
	ck_assert(cpu_online(7));
	for (int depth = 0; depth < 5; depth++)
		cpus_read_unlock();
	ck_assert_int_eq(__atomic_load_n(&r.acquired, __ATOMIC_SEQ_CST), 0);
	cpus_read_unlock();
	ck_assert_int_eq(pthread_join(tw, NULL), 0);
	ck_assert_int_eq(pthread_join(tr, NULL), 0);
	ck_assert_int_eq(w.ret, 0);
	ck_assert_uint_eq(r.seen_cpus, 7);
	sem_destroy(&w.started);
	sem_destroy(&r.started);
}
END_TEST

/* The unlock finds the slot the lock used even after the thread moved. */
START_TEST(test_read_unlock_after_migration)
{
	machine_8x4();
	ck_assert_int_eq(uslab_thread_set_cpu(2), 0);
	cpus_read_lock();
	ck_assert_uint_eq(__atomic_load_n(&cpu_hotplug_lock.slot[2].readers, __ATOMIC_SEQ_CST), 1);
	ck_assert_int_eq(uslab_thread_set_cpu(5), 0);
	cpus_read_lock();	/* nested: no second count, wherever we are */
	ck_assert_uint_eq(percpu_rwsem_readers(&cpu_hotplug_lock), 1);
	cpus_read_unlock();
	cpus_read_unlock();
	ck_assert_uint_eq(__atomic_load_n(&cpu_hotplug_lock.slot[2].readers, __ATOMIC_SEQ_CST), 0);
	ck_assert_uint_eq(__atomic_load_n(&cpu_hotplug_lock.slot[5].readers, __ATOMIC_SEQ_CST), 0);
	ck_assert_uint_eq(percpu_rwsem_readers(&cpu_hotplug_lock), 0);
	ck_assert_int_eq(cpu_down(1), 0);
	ck_assert_int_eq(uslab_thread_set_cpu(-1), 0);
}
END_TEST

/* ---- concurrency ------------------------------------------------------------ */

#define STRESS_READERS 6
#define STRESS_READS 3000
#define STRESS_CHANGES 300

struct stress {
	pthread_barrier_t go;
	int stop;		/* atomic */
	unsigned long errors;	/* atomic: inconsistencies seen by readers */
	unsigned long reads;	/* atomic */
};

static void *stress_reader(void *p)
{
	struct stress *s = p;
	unsigned long id = (unsigned long)pthread_self();

	pthread_barrier_wait(&s->go);
	for (int i = 0; i < STRESS_READS && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED); i++) {
		unsigned int n, nodes;
		bool bad = false;

		/* Act as varying CPUs, and sometimes move while holding. */
		uslab_thread_set_cpu((int)((id + (unsigned long)i) % 8));
		cpus_read_lock();
		n = num_online_cpus();
		if (i % 3 == 0)
			uslab_thread_set_cpu((int)((id + 3 * (unsigned long)i) % 8));
		if (i % 2 == 0) {
			get_online_mems();
			nodes = num_online_nodes();
			bad |= nodes != count_online_nodes() || nodes == 0;
			if (i % 4 == 0) {
				cpus_read_lock();	/* nested under both */
				bad |= num_online_cpus() != n;
				cpus_read_unlock();
			}
			sched_yield();
			bad |= num_online_nodes() != nodes;
			put_online_mems();
		}
		bad |= count_online_cpus() != n || sum_node_cpus() != n || n == 0;
		bad |= num_online_cpus() != n;
		cpus_read_unlock();
		if (bad)
			__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *stress_cpu_writer(void *p)
{
	struct stress *s = p;

	pthread_barrier_wait(&s->go);
	for (int i = 0; i < STRESS_CHANGES; i++) {
		unsigned int cpu = 1 + (unsigned int)i % 7;

		if (cpu_down(cpu) != 0 || cpu_online((int)cpu) || cpu_up(cpu) != 0)
			__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *stress_mem_writer(void *p)
{
	struct stress *s = p;

	pthread_barrier_wait(&s->go);
	for (int i = 0; i < STRESS_CHANGES; i++) {
		int nid = 1 + i % 3;

		if (mem_node_offline(nid) != 0 || node_online(nid) || mem_node_online(nid) != 0)
			__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int stress_cb_calls;	/* under the cpus write side */

static int stress_cb(unsigned int cpu)
{
	(void)cpu;
	ck_assert(percpu_rwsem_write_held(&cpu_hotplug_lock));
	stress_cb_calls++;
	return 0;
}

START_TEST(test_stress_readers_and_writers)
{
	pthread_t readers[STRESS_READERS], cw, mw;
	struct stress s = { 0 };
	struct uslab_hotplug_stats st;

	machine_8x4();
	ck_assert_int_ge(cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "s", stress_cb, stress_cb), 0);
	pthread_barrier_init(&s.go, NULL, STRESS_READERS + 2);
	for (int i = 0; i < STRESS_READERS; i++)
		ck_assert_int_eq(pthread_create(&readers[i], NULL, stress_reader, &s), 0);
	ck_assert_int_eq(pthread_create(&cw, NULL, stress_cpu_writer, &s), 0);
	ck_assert_int_eq(pthread_create(&mw, NULL, stress_mem_writer, &s), 0);
	ck_assert_int_eq(pthread_join(cw, NULL), 0);
	ck_assert_int_eq(pthread_join(mw, NULL), 0);
	for (int i = 0; i < STRESS_READERS; i++)
		ck_assert_int_eq(pthread_join(readers[i], NULL), 0);

	ck_assert_uint_eq(s.errors, 0);
	ck_assert_uint_eq(s.reads, STRESS_READERS * STRESS_READS);
	ck_assert_uint_eq(num_online_cpus(), 8);
	ck_assert_uint_eq(num_online_nodes(), 4);
	ck_assert_uint_eq(sum_node_cpus(), 8);
	ck_assert_uint_eq(percpu_rwsem_readers(&cpu_hotplug_lock), 0);
	ck_assert_uint_eq(percpu_rwsem_readers(&mem_hotplug_lock), 0);
	ck_assert(!percpu_rwsem_writer_pending(&cpu_hotplug_lock));
	cpus_write_lock();
	ck_assert_int_eq(stress_cb_calls, 2 * STRESS_CHANGES);
	cpus_write_unlock();
	stats(&st);
	ck_assert_uint_eq(st.cpu_down, STRESS_CHANGES);
	ck_assert_uint_eq(st.cpu_up, STRESS_CHANGES);
	ck_assert_uint_eq(st.node_offline, STRESS_CHANGES);
	ck_assert_uint_eq(st.node_online, STRESS_CHANGES);
	pthread_barrier_destroy(&s.go);
}
END_TEST

/* Several writers at once are serialised; each change is whole. */
static void *toggle_own_cpu(void *p)
{
	unsigned int cpu = (unsigned int)(unsigned long)p;

	for (int i = 0; i < 200; i++) {
		if (cpu_down(cpu) != 0 || cpu_up(cpu) != 0)
			return (void *)1;
	}
	return NULL;
}

START_TEST(test_concurrent_writers)
{
	pthread_t t[4];
	void *ret;

	machine_8x4();
	for (unsigned long i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, toggle_own_cpu, (void *)(i + 1)), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	ck_assert_uint_eq(num_online_cpus(), 8);
	ck_assert_uint_eq(sum_node_cpus(), 8);
}
END_TEST

static Suite *hotplug_suite(void)
{
	Suite *s = suite_create("hotplug");
	TCase *tc;

	tc = tcase_create("states");
	tcase_add_test(tc, test_initial_state);
	tcase_add_test(tc, test_cpu_transitions);
	tcase_add_test(tc, test_node_transitions);
	tcase_add_test(tc, test_small_machine);
	suite_add_tcase(s, tc);

	tc = tcase_create("cpuhp");
	tcase_add_test(tc, test_cpuhp_order);
	tcase_add_test(tc, test_cpuhp_register_calls_online_cpus);
	tcase_add_test(tc, test_cpuhp_register_rollback);
	tcase_add_test(tc, test_cpuhp_nocalls_and_reuse);
	tcase_add_test(tc, test_cpuhp_bad_args);
	tcase_add_test(tc, test_cpu_up_rollback);
	tcase_add_test(tc, test_cpu_down_teardown_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, test_memory_notifier_priority);
	tcase_add_test(tc, test_memory_offline_veto);
	tcase_add_test(tc, test_memory_online_veto);
	tcase_add_test(tc, test_memory_errors_after_commit_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("locks");
	tcase_add_test(tc, test_lockdep_held);
	tcase_add_test(tc, test_write_then_read_allowed);
	tcase_add_test_raise_signal(tc, test_read_then_write_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_mems_read_then_write_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_write_recursion_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_unlock_without_lock_aborts, SIGABRT);
	tcase_add_test(tc, test_writer_waits_for_reader);
	tcase_add_test(tc, test_readers_blocked_by_writer);
	tcase_add_test(tc, test_mems_readers_blocked_by_writer);
	tcase_add_test(tc, test_pending_writer_blocks_new_readers);
	tcase_add_test(tc, test_read_unlock_after_migration);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stress_readers_and_writers);
	tcase_add_test(tc, test_concurrent_writers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hotplug_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
