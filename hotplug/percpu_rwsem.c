// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hotplug/percpu_rwsem.c - a reader-writer semaphore whose read side is one
 * atomic add on a per-CPU counter, for locks that are read very often and
 * written rarely (the cpus and mems hotplug locks).
 *
 * Reader: add 1 to the counter of the CPU it acts as (topology_current_cpu())
 * and remember that slot in a thread-local record, so the release subtracts
 * from the same slot even if the thread migrated meanwhile; then look at the
 * writer flag. If it is clear, the read side is held. If it is set, the
 * reader gives its count back, wakes the writer (which may have counted it)
 * and sleeps on readers_cv until the writer is gone, then retries.
 * Writer: take writer_mutex (one writer at a time), set the writer flag, and
 * sleep on writer_cv until the sum of all counters is zero; readers that
 * leave while the flag is set signal writer_cv. Release: clear the flag and
 * wake the sleeping readers. Sleeping uses a mutex and condition variables,
 * never a timed poll.
 *
 * Memory ordering. The reader does "store counter; load flag" and the writer
 * "store flag; load counters": the store-load pattern that needs sequential
 * consistency. Every one of those four accesses is a seq_cst atomic, so they
 * are all in one total order S. If a reader loaded flag == 0, its load comes
 * before the writer's store of the flag in S, so its increment (earlier in S)
 * comes before the writer's loads of the counters: the writer sees it. So
 * either the writer counts the reader or the reader sees the flag; never
 * neither. (On x86 this is a locked add and plain loads: no fence at all;
 * seq_cst fences around relaxed accesses would be equivalent but cost an
 * mfence per read lock.) The release of the read side is a seq_cst
 * subtraction followed by a seq_cst load of the flag: by the same argument,
 * either the writer's sum sees the subtraction or the reader sees the flag
 * and signals writer_cv under wait_lock, which the writer holds between
 * summing and sleeping, so the wake-up cannot be lost. Happens-before for the
 * protected data: the writer's release clears the flag with a seq_cst
 * (release) store that the next reader's seq_cst (acquire) load reads; a
 * reader's subtraction is a release that the writer's acquire load of the
 * sum reads.
 *
 * Recursion, per thread (the thread-local record): nested read sections only
 * count depth and never look at the flag, so a nested read cannot deadlock
 * against a pending writer. The write holder may take the read side (depth
 * only: it already excludes every reader), so callbacks run under the write
 * side may call code that takes the read side. Taking the write side while
 * holding the read side, or taking it twice, would deadlock: both abort, in
 * every build (the write side is rare, so the check is free). A thread must
 * release what it took before it exits; a leaked read side blocks writers
 * forever.
 *
 * Fairness: a pending writer holds off new readers, so writers cannot starve;
 * a reader woken by a writer's release may find the next writer already
 * pending and wait again, so a continuous stream of writers could starve
 * readers. Hotplug writers are rare and bounded; nothing more is needed.
 *
 * Lock order: a semaphore's level is its place in private/lock.h; the debug
 * witness sees the outermost acquisition of a thread only (read or write),
 * because inner ones never block. writer_mutex is held for the whole write
 * section; wait_lock is a leaf taken only around the condition variables.
 */
#include "hotplug/internal.h"
#include "topology/internal.h"

/*
 * What this thread holds of each semaphore: read depth (including reads
 * nested in its own write section), the slot its outermost read counted in,
 * and whether it holds the write side.
 */
struct percpu_rwsem_tls {
	unsigned int depth;
	int slot;
	bool writer;
};

static USLAB_TLS struct percpu_rwsem_tls rwsem_tls[PERCPU_RWSEM_NR];

static struct percpu_rwsem_tls *percpu_rwsem_me(const struct percpu_rwsem *sem)
{
	USLAB_ASSERT(sem->id >= 0 && sem->id < PERCPU_RWSEM_NR);
	return &rwsem_tls[sem->id];
}

/* Sleep until no writer is pending; our count has already been given back. */
static void percpu_down_read_slow(struct percpu_rwsem *sem)
{
	pthread_mutex_lock(&sem->wait_lock);
	/* The writer may have counted our transient increment: let it re-sum. */
	pthread_cond_signal(&sem->writer_cv);
	sem->nr_waiting++;
	while (__atomic_load_n(&sem->writer, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&sem->readers_cv, &sem->wait_lock);
	sem->nr_waiting--;
	pthread_mutex_unlock(&sem->wait_lock);
}

void percpu_down_read(struct percpu_rwsem *sem)
{
	struct percpu_rwsem_tls *me = percpu_rwsem_me(sem);
	unsigned long *count;
	int slot;

	if (me->depth > 0 || me->writer) {
		/* Nested, or inside our own write section: never waits. */
		me->depth++;
		return;
	}
	if (config_debug)
		lock_witness_acquire(sem->level, sem->name);
	for (;;) {
		slot = topology_current_cpu();
		USLAB_ASSERT_INTERNAL(slot >= 0 && slot < USLAB_NR_CPUS);
		count = &sem->slot[slot].readers;
		__atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);
		if (likely(!__atomic_load_n(&sem->writer, __ATOMIC_SEQ_CST)))
			break;
		__atomic_fetch_sub(count, 1, __ATOMIC_RELEASE);
		percpu_down_read_slow(sem);
	}
	me->slot = slot;
	me->depth = 1;
	uslab_locks_held++;
}

void percpu_up_read(struct percpu_rwsem *sem)
{
	struct percpu_rwsem_tls *me = percpu_rwsem_me(sem);

	USLAB_ASSERT(me->depth > 0);
	if (--me->depth > 0 || me->writer)
		return;
	uslab_locks_held--;
	__atomic_fetch_sub(&sem->slot[me->slot].readers, 1, __ATOMIC_SEQ_CST);
	if (unlikely(__atomic_load_n(&sem->writer, __ATOMIC_SEQ_CST))) {
		pthread_mutex_lock(&sem->wait_lock);
		pthread_cond_signal(&sem->writer_cv);
		pthread_mutex_unlock(&sem->wait_lock);
	}
	if (config_debug)
		lock_witness_release(sem->level);
}

static unsigned long percpu_rwsem_sum(const struct percpu_rwsem *sem)
{
	unsigned int n = uslab_nr_cpu_ids();
	unsigned long sum = 0;

	for (unsigned int c = 0; c < n; c++)
		sum += __atomic_load_n(&sem->slot[c].readers, __ATOMIC_SEQ_CST);
	return sum;
}

void percpu_down_write(struct percpu_rwsem *sem)
{
	struct percpu_rwsem_tls *me = percpu_rwsem_me(sem);

	/* Read then write, or write twice, in one thread would never return. */
	USLAB_ASSERT(!me->writer && me->depth == 0);
	if (config_debug)
		lock_witness_acquire(sem->level, sem->name);
	pthread_mutex_lock(&sem->writer_mutex);
	__atomic_store_n(&sem->writer, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&sem->wait_lock);
	while (percpu_rwsem_sum(sem) != 0)
		pthread_cond_wait(&sem->writer_cv, &sem->wait_lock);
	pthread_mutex_unlock(&sem->wait_lock);
	me->writer = true;
	uslab_locks_held++;
}

void percpu_up_write(struct percpu_rwsem *sem)
{
	struct percpu_rwsem_tls *me = percpu_rwsem_me(sem);

	USLAB_ASSERT(me->writer && me->depth == 0);
	me->writer = false;
	uslab_locks_held--;
	pthread_mutex_lock(&sem->wait_lock);
	__atomic_store_n(&sem->writer, 0, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&sem->readers_cv);
	pthread_mutex_unlock(&sem->wait_lock);
	pthread_mutex_unlock(&sem->writer_mutex);
	if (config_debug)
		lock_witness_release(sem->level);
}

void percpu_rwsem_fork(struct percpu_rwsem *sem, enum fork_phase phase)
{
	struct percpu_rwsem_tls *me = percpu_rwsem_me(sem);

	if (phase == FORK_PREPARE) {
		if (me->depth == 0)
			percpu_down_write(sem);
		return;
	}
	if (phase == FORK_PARENT) {
		if (me->writer)
			percpu_up_write(sem);
		return;
	}
	/* Child: this thread is the only one; its read, if any, is the only reader. */
	pthread_mutex_init(&sem->writer_mutex, NULL);
	pthread_mutex_init(&sem->wait_lock, NULL);
	pthread_cond_init(&sem->writer_cv, NULL);
	pthread_cond_init(&sem->readers_cv, NULL);
	sem->nr_waiting = 0;
	/* Readers that were backing out of the writer left counts; only written when set (no COW). */
	for (unsigned int c = 0; c < uslab_nr_cpu_ids(); c++)
		if (sem->slot[c].readers)
			sem->slot[c].readers = 0;
	__atomic_store_n(&sem->writer, 0, __ATOMIC_SEQ_CST);
	if (me->writer) {
		me->writer = false;
		uslab_locks_held--;
		if (config_debug)
			lock_witness_release(sem->level);
	} else {
		sem->slot[me->slot].readers = 1;
	}
}

bool percpu_rwsem_held(const struct percpu_rwsem *sem)
{
	const struct percpu_rwsem_tls *me = percpu_rwsem_me(sem);

	return me->depth > 0 || me->writer;
}

bool percpu_rwsem_write_held(const struct percpu_rwsem *sem)
{
	return percpu_rwsem_me(sem)->writer;
}

bool percpu_rwsem_writer_pending(const struct percpu_rwsem *sem)
{
	return __atomic_load_n(&sem->writer, __ATOMIC_ACQUIRE) != 0;
}

unsigned int percpu_rwsem_nr_waiting(struct percpu_rwsem *sem)
{
	unsigned int n;

	pthread_mutex_lock(&sem->wait_lock);
	n = sem->nr_waiting;
	pthread_mutex_unlock(&sem->wait_lock);
	return n;
}

unsigned long percpu_rwsem_readers(const struct percpu_rwsem *sem)
{
	return percpu_rwsem_sum(sem);
}
