// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/worker.c - the library's background worker: one thread that runs its
 * periodic work, as the kernel runs delayed work on a workqueue. A work item
 * is a function and a period. It is armed by a kick (the slow paths kick the
 * item that may now have something to do: a slab released its pages, objects
 * went back to a node) or explicitly (worker_setup with @arm); the worker
 * runs it when its time comes and again every period for as long as it
 * reports more to do. An item with nothing left goes idle until the next
 * kick, and a worker with no armed item sleeps without a timeout, so an idle
 * process is never woken. The thread is started by the first arming.
 *
 * Items: WORK_REAP (lib/reap.c: cache_reap passes, and the statistics
 * refresh that rides on them) and WORK_DECAY (lib/reap.c: the page cache's
 * decay, topology_pages_purge()).
 *
 * An item's state is IDLE, ARMED (its next run is scheduled) or RUNNING.
 * The kick's fast path is one relaxed load: an ARMED item needs nothing. A
 * kick that finds the item RUNNING marks it rekicked, so that work arriving
 * while a run decides it is done is not lost.
 *
 * worker.lock (LOCK_LEAF) protects every field and worker_state; it is never
 * held while an item runs or while the thread is created (pthread_create may
 * allocate, and under the malloc shim that allocation may kick an item).
 */
#include "lib/slab.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

struct work_item {
	bool (*run)(void);       /* one pass; true: more to do, run again after a period */
	unsigned int period_ms;  /* 0: the item is off; atomic for worker_period() */
	bool rekicked;           /* kicked while RUNNING */
	uint64_t next_ms;        /* ARMED: when to run */
};

int worker_state[NR_WORK];

static struct {
	struct umutex lock;
	pthread_cond_t wake;     /* the thread: an item was armed or changed */
	pthread_cond_t done;     /* waiters: a run ended */
	bool started;            /* a thread exists (or is being created) */
	bool paused;             /* a fork is under way: run nothing */
	struct work_item items[NR_WORK];
} worker = {
	.lock = UMUTEX_INITIALIZER(LOCK_LEAF),
	.wake = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static inline int work_state(enum work_id id)
{
	return __atomic_load_n(&worker_state[id], __ATOMIC_RELAXED);
}

static inline void work_set_state(enum work_id id, int state)
{
	__atomic_store_n(&worker_state[id], state, __ATOMIC_RELAXED);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *worker_main(void *arg);

/* Schedule @id one period from now. */
static void work_arm_locked(enum work_id id)
{
	lockdep_assert_held(&worker.lock);
	worker.items[id].next_ms = now_ms() + worker.items[id].period_ms;
	work_set_state(id, WORK_ARMED);
}

/* Make sure the thread exists and looks at the items again. Returns with the lock held. */
static void worker_wake_locked(void)
{
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	lockdep_assert_held(&worker.lock);
	if (worker.started) {
		pthread_cond_signal(&worker.wake);
		return;
	}
	worker.started = true;
	umutex_unlock(&worker.lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&thread, &attr, worker_main, NULL);
	pthread_attr_destroy(&attr);
	umutex_lock(&worker.lock);
	if (err) {
		/* No thread: armed items go idle, and the next kick tries again. */
		worker.started = false;
		for (int i = 0; i < NR_WORK; i++)
			if (work_state(i) == WORK_ARMED)
				work_set_state(i, WORK_IDLE);
	}
}

void worker_kick_slow(enum work_id id)
{
	struct work_item *w = &worker.items[id];

	umutex_lock(&worker.lock);
	if (w->period_ms && w->run) {
		if (work_state(id) == WORK_IDLE) {
			work_arm_locked(id);
			worker_wake_locked();
		} else if (work_state(id) == WORK_RUNNING) {
			w->rekicked = true;
		}
	}
	umutex_unlock(&worker.lock);
}

void worker_setup(enum work_id id, bool (*run)(void), unsigned int period_ms, bool arm)
{
	struct work_item *w = &worker.items[id];

	umutex_lock(&worker.lock);
	w->run = run;
	__atomic_store_n(&w->period_ms, period_ms, __ATOMIC_RELAXED);
	if (!period_ms || !run) {
		/* Off: an armed item is forgotten; a running one finishes (worker_wait_idle). */
		if (work_state(id) == WORK_ARMED)
			work_set_state(id, WORK_IDLE);
	} else if (work_state(id) == WORK_ARMED || (arm && work_state(id) == WORK_IDLE)) {
		work_arm_locked(id);
		worker_wake_locked();
	}
	umutex_unlock(&worker.lock);
}

unsigned int worker_period(enum work_id id)
{
	return __atomic_load_n(&worker.items[id].period_ms, __ATOMIC_RELAXED);
}

void worker_wait_idle(enum work_id id)
{
	umutex_lock(&worker.lock);
	while (work_state(id) == WORK_RUNNING)
		pthread_cond_wait(&worker.done, &worker.lock.m);
	umutex_unlock(&worker.lock);
}

/* Run @id now (lock held on entry and exit); returns when it is next due, or UINT64_MAX. */
static uint64_t work_run_locked(enum work_id id)
{
	struct work_item *w = &worker.items[id];
	bool more;

	work_set_state(id, WORK_RUNNING);
	w->rekicked = false;
	umutex_unlock(&worker.lock);
	more = w->run();
	umutex_lock(&worker.lock);
	pthread_cond_broadcast(&worker.done);
	if (w->period_ms && w->run && (more || w->rekicked)) {
		work_arm_locked(id);
		return w->next_ms;
	}
	work_set_state(id, WORK_IDLE);
	return UINT64_MAX;
}

static void *worker_main(void *arg)
{
	(void)arg;
	umutex_lock(&worker.lock);
	for (;;) {
		uint64_t now = now_ms(), next = UINT64_MAX;

		for (int i = 0; i < NR_WORK && !worker.paused; i++) {
			if (work_state(i) != WORK_ARMED)
				continue;
			if (worker.items[i].next_ms <= now) {
				next = MIN(next, work_run_locked(i));
				now = now_ms();
			} else {
				next = MIN(next, worker.items[i].next_ms);
			}
		}
		if (next == UINT64_MAX || worker.paused) {
			pthread_cond_wait(&worker.wake, &worker.lock.m);
		} else if (next > now) {
			struct timespec ts;
			uint64_t wait = next - now;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)(wait / 1000);
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&worker.wake, &worker.lock.m, &ts);
		}
	}
	return NULL;
}

/* ---- fork ---------------------------------------------------------------------------- */

/*
 * worker_fork_pause - first of fork's steps, with no lock held: no item runs
 * while the process is copied (a running pass holds hotplug and cache locks
 * that fork is about to take), and none starts. The parent resumes; the
 * child has no worker thread, so its items start idle and its first kick
 * starts a thread of its own.
 */
void worker_fork_pause(enum fork_phase phase)
{
	if (phase == FORK_PREPARE) {
		umutex_lock(&worker.lock);
		worker.paused = true;
		for (int i = 0; i < NR_WORK; i++)
			while (work_state(i) == WORK_RUNNING)
				pthread_cond_wait(&worker.done, &worker.lock.m);
		umutex_unlock(&worker.lock);
		return;
	}
	if (phase == FORK_PARENT) {
		umutex_lock(&worker.lock);
		worker.paused = false;
		pthread_cond_signal(&worker.wake);
		umutex_unlock(&worker.lock);
		return;
	}
	/* Child: worker.lock was made new by worker_fork_lock(). */
	pthread_cond_init(&worker.wake, NULL);
	pthread_cond_init(&worker.done, NULL);
	worker.started = false;
	worker.paused = false;
	for (int i = 0; i < NR_WORK; i++) {
		work_set_state(i, WORK_IDLE);
		worker.items[i].rekicked = false;
	}
}

/* worker.lock itself, a leaf: the last lock fork takes. */
void worker_fork_lock(enum fork_phase phase)
{
	umutex_fork(&worker.lock, phase);
}
