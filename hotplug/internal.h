/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hotplug/internal.h - what the hotplug room (floor 2) offers the rooms above
 * it: callback registration for CPU and memory-node state changes (the
 * kernel's cpuhp states and memory notifiers) and per-node online CPU counts.
 * The last sections (percpu_rwsem.c, online.c) are the room's own plumbing,
 * shared by its files and its unit tests; other rooms use the calls above
 * them.
 *
 * Lock order inside the room (DESIGN.md, private/lock.h): cpu_hotplug_lock
 * (LOCK_CPU_HOTPLUG), then mem_hotplug_lock (LOCK_MEM_HOTPLUG). A memory-node
 * change takes cpus_read_lock() before the mems write side, as the kernel's
 * mem_hotplug_begin() does.
 */
#ifndef USLAB_HOTPLUG_INTERNAL_H
#define USLAB_HOTPLUG_INTERNAL_H

#ifndef USLAB_BUILDING
#error "hotplug/internal.h is internal to uslab"
#endif

#include <uslab/hotplug.h>
#include <uslab/topology.h>
#include "private/compiler.h"
#include "private/lock.h"

#include <pthread.h>

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
#define lockdep_assert_cpus_held() USLAB_ASSERT_INTERNAL(lockdep_cpus_held())

/*
 * cpuhp_setup_state_nocalls - cpuhp_setup_state() without invoking @startup
 * for the CPUs that are online now (the caller set them up itself).
 * Context and Return: as cpuhp_setup_state().
 */
int cpuhp_setup_state_nocalls(enum cpuhp_state state, const char *name,
			      int (*startup)(unsigned int cpu),
			      int (*teardown)(unsigned int cpu));

/*
 * The CPU hotplug write side: excludes every cpus_read_lock() section.
 * cpu_up(), cpu_down() and the cpuhp registration take it; nothing outside the
 * room should need it. It does not nest, and a thread holding the read side
 * must not take it (checked: abort). The holder may take the read side (a
 * callback may call code that does cpus_read_lock()): that only counts depth.
 */
void cpus_write_lock(void);
void cpus_write_unlock(void);

/* hotplug/memory.c */

#define NOTIFY_DONE 0x0000
#define NOTIFY_OK   0x0001
#define NOTIFY_STOP_MASK 0x8000
#define NOTIFY_BAD  (NOTIFY_STOP_MASK | 0x0002)
/* Stop the chain without an error. */
#define NOTIFY_STOP (NOTIFY_STOP_MASK | NOTIFY_OK)

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

/*
 * Context: takes the mems write lock (mem_hotplug_begin(): cpus_read_lock()
 * first); must not hold get_online_mems(). Registering a block twice aborts.
 * Return: 0.
 */
int register_memory_notifier(struct notifier_block *nb);
void unregister_memory_notifier(struct notifier_block *nb);

/*
 * The memory hotplug write side: cpus_read_lock(), then the mems write side
 * (the kernel's order). It excludes every get_online_mems() section; the
 * holder may still take get_online_mems() and cpus_read_lock() (depth only).
 * Context: must not hold get_online_mems() (abort) nor the mems write side.
 */
void mem_hotplug_begin(void);
void mem_hotplug_done(void);
/* True when the caller holds get_online_mems() or the mems write side. */
bool lockdep_mems_held(void);
#define lockdep_assert_mems_held() USLAB_ASSERT_INTERNAL(lockdep_mems_held())

/* hotplug/percpu_rwsem.c: the room's reader-writer semaphore */

/*
 * One thread-local reader record per semaphore (depth, slot, writer flag);
 * there are exactly these semaphores.
 */
enum percpu_rwsem_id {
	PERCPU_RWSEM_CPUS,
	PERCPU_RWSEM_MEMS,
	PERCPU_RWSEM_RCU_GATE,  /* lib/rcu.c's fork gate */
	PERCPU_RWSEM_NR
};

/* A reader counter on its own cache line, so CPUs do not share lines. */
struct percpu_rwsem_slot {
	unsigned long readers; /* atomic: readers that entered through this slot */
} __attribute__((aligned(CACHE_LINE)));

/*
 * struct percpu_rwsem - reader-writer semaphore whose read side touches one
 * per-CPU counter (see percpu_rwsem.c for the protocol and its ordering).
 *
 * Invariants: slot[c].readers == readers that incremented slot c and have
 * not left yet (including readers backing out of a pending writer);
 * writer != 0 from the moment a writer announces itself until it releases;
 * while a writer holds the semaphore, sum(slot[].readers) counts only
 * readers that are backing out.
 */
struct percpu_rwsem {
	struct percpu_rwsem_slot slot[USLAB_NR_CPUS];
	int writer;			/* atomic; written under writer_mutex */
	/*
	 * writer_mutex: serialises writers; held for the whole write section.
	 * Its place in the global order is @level (witnessed by the callers
	 * of percpu_down_write(), not by the mutex itself).
	 */
	pthread_mutex_t writer_mutex;
	/*
	 * wait_lock: leaf lock for sleeping: protects nr_waiting and pairs
	 * with both condition variables; nothing is taken under it.
	 */
	pthread_mutex_t wait_lock;
	pthread_cond_t writer_cv;	/* the writer waits for the sum to drop */
	pthread_cond_t readers_cv;	/* readers wait for writer == 0 */
	unsigned int nr_waiting;	/* readers asleep in the slow path; wait_lock */
	enum percpu_rwsem_id id;
	enum lock_level level;
	const char *name;
};

#define PERCPU_RWSEM_INITIALIZER(sem_id, lvl, str) {			\
	.writer_mutex = PTHREAD_MUTEX_INITIALIZER,			\
	.wait_lock = PTHREAD_MUTEX_INITIALIZER,				\
	.writer_cv = PTHREAD_COND_INITIALIZER,				\
	.readers_cv = PTHREAD_COND_INITIALIZER,				\
	.id = (sem_id), .level = (lvl), .name = (str) }

void percpu_down_read(struct percpu_rwsem *sem);
void percpu_up_read(struct percpu_rwsem *sem);
void percpu_down_write(struct percpu_rwsem *sem);
void percpu_up_write(struct percpu_rwsem *sem);
/* The caller holds @sem for reading or writing. */
bool percpu_rwsem_held(const struct percpu_rwsem *sem);
/* The caller holds @sem for writing. */
bool percpu_rwsem_write_held(const struct percpu_rwsem *sem);
/*
 * percpu_rwsem_fork - @sem at fork(). Prepare takes the write side, unless
 * the forking thread holds the read side (then no writer can be inside);
 * the parent releases it; the child makes the semaphore new, with only the
 * forking thread's own read (if any) counted: the other threads are gone.
 */
void percpu_rwsem_fork(struct percpu_rwsem *sem, enum fork_phase phase);
/* hotplug/cpu.c: both hotplug semaphores at fork (cpus, then mems). */
void hotplug_fork(enum fork_phase phase);
/* Introspection for assertions and tests; racy by nature. */
bool percpu_rwsem_writer_pending(const struct percpu_rwsem *sem);
unsigned int percpu_rwsem_nr_waiting(struct percpu_rwsem *sem);
unsigned long percpu_rwsem_readers(const struct percpu_rwsem *sem);

/* The two semaphores (hotplug/cpu.c, hotplug/memory.c). */
extern struct percpu_rwsem cpu_hotplug_lock;
extern struct percpu_rwsem mem_hotplug_lock;

/* hotplug/online.c: the online masks and transition counters */

/* Set every possible CPU and node online, once; cheap afterwards. */
void hotplug_ensure_init(void);
/* Caller holds the cpus write side. */
void hotplug_set_cpu_online(unsigned int cpu, bool online);
/* Caller holds the mems write side. */
void hotplug_set_node_online(int nid, bool online);

enum hotplug_stat_item {
	HOTPLUG_CPU_UP,
	HOTPLUG_CPU_DOWN,
	HOTPLUG_CPU_FAILED,
	HOTPLUG_NODE_ONLINE,
	HOTPLUG_NODE_OFFLINE,
	HOTPLUG_NODE_VETOED,
	HOTPLUG_NR_STATS
};
void hotplug_stat_inc(enum hotplug_stat_item item);

#endif /* USLAB_HOTPLUG_INTERNAL_H */
