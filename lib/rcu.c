// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/rcu.c - uslab's use of liburcu's default flavour (urcu-memb), the one
 * an application gets with <urcu.h>, so both share grace periods. Every
 * thread that enters a read-side section or queues a callback through uslab
 * is registered with liburcu on first use and unregistered when it exits
 * (a pthread key destructor), so applications need not do it for uslab's
 * sake.
 *
 * Rule for the rest of lib/: never wait for a grace period (synchronize or
 * barrier) while holding slab_mutex or any cache lock, because a reader may be
 * waiting for that lock inside its read-side section.
 *
 * fork: liburcu's memb flavour cannot forget a thread the child does not
 * have. A lock of its registry or grace-period machinery held by such a
 * thread would stay held, so uslab's calls that take them (synchronize,
 * barrier, thread registration) hold the read side of rcu_fork_gate, whose
 * write side fork takes first (lib/fork.c): none is in progress when the
 * process is copied. (A call made under a uslab lock, or inside one of
 * lib's RCU callbacks, is kept from fork by that lock, or by the pause of
 * liburcu's call_rcu threads, and does not take the gate.) A reader that was
 * inside a read-side section would keep the child's grace periods waiting:
 * every thread that uses RCU through uslab is listed in rcu_threads, and the
 * child marks the others quiescent. liburcu's call_rcu threads are paused
 * with call_rcu_before_fork() and restarted in the child.
 */
#define _LGPL_SOURCE 1
#include "lib/slab.h"

#include <pthread.h>
#include <time.h>


static pthread_key_t rcu_thread_key;
static pthread_once_t rcu_key_once = PTHREAD_ONCE_INIT;
static USLAB_TLS bool rcu_registered;

/* The fork gate (see above); LOCK_RCU_GATE, outermost. */
static struct percpu_rwsem rcu_fork_gate =
	PERCPU_RWSEM_INITIALIZER(PERCPU_RWSEM_RCU_GATE, LOCK_RCU_GATE, "rcu_fork_gate");
/* Inside one of lib's RCU callbacks (slab_rcu_callback_begin .. end). */
static USLAB_TLS unsigned int rcu_in_callback;

/*
 * Every thread that went through slab_rcu_register(), with its liburcu
 * reader record, so that a fork child can mark the others quiescent.
 * rcu_threads_lock (LOCK_LEAF) protects the list; a record lives in its
 * thread's TLS and leaves the list at thread exit.
 */
struct rcu_thread {
	struct list_head link;
	struct urcu_reader *reader;
	bool ours;              /* registered with liburcu by uslab */
};
static USLAB_TLS struct rcu_thread rcu_self;
static struct list_head rcu_threads = LIST_HEAD_INIT(rcu_threads);
static struct umutex rcu_threads_lock = UMUTEX_INITIALIZER(LOCK_LEAF);

/* Enter the gate unless a uslab lock held, or the callback pause, keeps this call from fork. */
static inline bool rcu_gate_enter(void)
{
	if (uslab_locks_held || rcu_in_callback)
		return false;
	percpu_down_read(&rcu_fork_gate);
	return true;
}

static inline void rcu_gate_exit(bool entered)
{
	if (entered)
		percpu_up_read(&rcu_fork_gate);
}

static void rcu_thread_exit(void *arg)
{
	(void)arg;
	if (!rcu_registered)
		return;
	umutex_lock(&rcu_threads_lock);
	list_del(&rcu_self.link);
	umutex_unlock(&rcu_threads_lock);
	if (rcu_self.ours) {
		bool gated = rcu_gate_enter();

		urcu_memb_unregister_thread();
		rcu_gate_exit(gated);
	}
	rcu_registered = false;
}

static void rcu_key_create(void)
{
	pthread_key_create(&rcu_thread_key, rcu_thread_exit);
}

void slab_rcu_register(void)
{
	if (likely(rcu_registered))
		return;
	pthread_once(&rcu_key_once, rcu_key_create);
	/* An application may have registered the thread itself: then it stays theirs. */
	rcu_self.ours = !URCU_TLS(urcu_memb_reader).registered;
	if (rcu_self.ours) {
		bool gated = rcu_gate_enter();

		urcu_memb_register_thread();
		rcu_gate_exit(gated);
	}
	rcu_self.reader = &URCU_TLS(urcu_memb_reader);
	umutex_lock(&rcu_threads_lock);
	list_add(&rcu_self.link, &rcu_threads);
	umutex_unlock(&rcu_threads_lock);
	pthread_setspecific(rcu_thread_key, (void *)1);
	rcu_registered = true;
}

void slab_rcu_read_lock(void)
{
	slab_rcu_register();
	urcu_memb_read_lock();
}

void slab_rcu_read_unlock(void)
{
	urcu_memb_read_unlock();
}

/* Every callback releases this when done; rcu_barrier() acquires it (TSan only). */
static int rcu_barrier_token;

void slab_synchronize_rcu(void)
{
	bool gated;

	USLAB_ASSERT_INTERNAL(!lock_witness_held(LOCK_SLAB_MUTEX));
	slab_rcu_register();
	gated = rcu_gate_enter();
	urcu_memb_synchronize_rcu();
	rcu_gate_exit(gated);
}

void slab_rcu_barrier(void)
{
	bool gated;

	USLAB_ASSERT_INTERNAL(!lock_witness_held(LOCK_SLAB_MUTEX));
	slab_rcu_register();
	gated = rcu_gate_enter();
	urcu_memb_barrier();
	rcu_gate_exit(gated);
	tsan_acquire(&rcu_barrier_token);
}

void slab_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	slab_rcu_register();
	tsan_release(head);
	urcu_memb_call_rcu(head, func);
}

void slab_rcu_callback_begin(struct rcu_head *head)
{
	tsan_acquire(head);
	rcu_in_callback++;
}

void slab_rcu_callback_end(void)
{
	rcu_in_callback--;
	tsan_release(&rcu_barrier_token);
}

/* ---- kfree_rcu ------------------------------------------------------------------ */

/*
 * kfree_rcu() and kvfree_rcu() queue pointers in per-CPU batches of
 * KFREE_BATCH; a full batch goes to call_rcu() as one callback that frees
 * every pointer, so a million calls cost about four thousand callbacks, not
 * a million. A monitor thread, started on first use, hands over batches that
 * sat partly filled for KFREE_DRAIN_MS, so memory is bounded even when calls
 * stop. The embedded rcu_head of kfree_rcu(ptr, field) is not written: the
 * batch holds the pointer (this keeps the object's bytes untouched, which
 * SLAB_TYPESAFE_BY_RCU readers rely on).
 *
 * krc[cpu].lock (LOCK_LEAF) protects that CPU's current batch; batches are
 * allocated and handed over with no lock held.
 */
#define KFREE_BATCH     ((2048 - sizeof(struct rcu_head) - 2 * sizeof(unsigned long)) / sizeof(void *))
#define KFREE_DRAIN_MS  20

struct kfree_rcu_batch {
	struct rcu_head rcu;
	unsigned long nr;
	unsigned long born_ms;
	void *ptrs[KFREE_BATCH];
};

static struct kfree_rcu_cpu {
	struct umutex lock;
	struct kfree_rcu_batch *cur; /* lock to change; peeked with READ_ONCE */
} __attribute__((aligned(CACHE_LINE))) krc[USLAB_NR_CPUS];

static pthread_once_t krc_once = PTHREAD_ONCE_INIT;
static unsigned long kfree_rcu_queued;     /* atomic: pointers queued, not yet freed */
static unsigned long kfree_rcu_callbacks;  /* atomic: batches handed to call_rcu */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool started;
} monitor = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };

static unsigned long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000 + (unsigned long)ts.tv_nsec / 1000000;
}

static void krc_init(void)
{
	for (int cpu = 0; cpu < USLAB_NR_CPUS; cpu++)
		umutex_init(&krc[cpu].lock, LOCK_LEAF);
}

static void kfree_rcu_batch_free(struct rcu_head *head)
{
	struct kfree_rcu_batch *b = container_of(head, struct kfree_rcu_batch, rcu);
	unsigned long nr;

	slab_rcu_callback_begin(head);
	nr = b->nr;
	for (unsigned long i = 0; i < nr; i++)
		kfree(b->ptrs[i]);
	kfree(b);
	__atomic_sub_fetch(&kfree_rcu_queued, nr, __ATOMIC_RELEASE);
	slab_rcu_callback_end();
}

static void kfree_rcu_submit(struct kfree_rcu_batch *b)
{
	__atomic_add_fetch(&kfree_rcu_callbacks, 1, __ATOMIC_RELAXED);
	slab_call_rcu(&b->rcu, kfree_rcu_batch_free);
}

/* Hand over batches older than @min_age_ms (0: all); returns how many remain queued. */
static unsigned long kfree_rcu_flush(unsigned long min_age_ms)
{
	unsigned long now = now_ms(), waiting = 0;

	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct kfree_rcu_cpu *k = &krc[cpu];
		struct kfree_rcu_batch *b = NULL;

		if (!READ_ONCE(k->cur))
			continue;
		umutex_lock(&k->lock);
		if (k->cur && now - k->cur->born_ms >= min_age_ms) {
			b = k->cur;
			WRITE_ONCE(k->cur, NULL);
		} else if (k->cur) {
			waiting++;
		}
		umutex_unlock(&k->lock);
		if (b)
			kfree_rcu_submit(b);
	}
	return waiting;
}

static void *kfree_rcu_monitor(void *arg)
{
	(void)arg;
	slab_rcu_register();
	pthread_mutex_lock(&monitor.lock);
	for (;;) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += KFREE_DRAIN_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&monitor.wake, &monitor.lock, &ts);
		pthread_mutex_unlock(&monitor.lock);
		bool idle = kfree_rcu_flush(KFREE_DRAIN_MS) == 0;
		pthread_mutex_lock(&monitor.lock);
		/* Nothing partly filled: sleep until a new batch starts. */
		if (idle && !__atomic_load_n(&kfree_rcu_queued, __ATOMIC_ACQUIRE))
			pthread_cond_wait(&monitor.wake, &monitor.lock);
	}
	return NULL;
}

static void kfree_rcu_monitor_kick(void)
{
	pthread_mutex_lock(&monitor.lock);
	if (!monitor.started) {
		pthread_t t;
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		monitor.started = pthread_create(&t, &attr, kfree_rcu_monitor, NULL) == 0;
		pthread_attr_destroy(&attr);
	}
	pthread_cond_signal(&monitor.wake);
	pthread_mutex_unlock(&monitor.lock);
}

void kvfree_call_rcu(void *head, void *ptr)
{
	struct kfree_rcu_batch *b, *full = NULL, *spare = NULL;
	struct kfree_rcu_cpu *k;
	bool started = false;

	(void)head;
	if (ZERO_OR_NULL_PTR(ptr))
		return;
	pthread_once(&krc_once, krc_init);
	__atomic_add_fetch(&kfree_rcu_queued, 1, __ATOMIC_RELAXED);
	k = &krc[topology_current_cpu()];
	for (;;) {
		umutex_lock(&k->lock);
		b = k->cur;
		if (!b && spare) {
			b = spare;
			WRITE_ONCE(k->cur, b);
			b->born_ms = now_ms();
			spare = NULL;
			started = true;
		}
		if (b) {
			b->ptrs[b->nr++] = ptr;
			if (b->nr == KFREE_BATCH) {
				full = b;
				WRITE_ONCE(k->cur, NULL);
			}
		}
		umutex_unlock(&k->lock);
		if (b)
			break;
		spare = kmalloc(sizeof(*spare), GFP_KERNEL);
		if (!spare) {
			/* No memory for a batch: wait for the grace period here. */
			slab_synchronize_rcu();
			kfree(ptr);
			__atomic_sub_fetch(&kfree_rcu_queued, 1, __ATOMIC_RELEASE);
			return;
		}
		spare->nr = 0;
	}
	kfree(spare);
	if (full)
		kfree_rcu_submit(full);
	if (started)
		kfree_rcu_monitor_kick();
}

void kvfree_rcu_barrier(void)
{
	pthread_once(&krc_once, krc_init);
	kfree_rcu_flush(0);
	slab_rcu_barrier();
}

bool slab_kfree_rcu_pending(void)
{
	return __atomic_load_n(&kfree_rcu_queued, __ATOMIC_ACQUIRE) != 0;
}

void uslab_kfree_rcu_stats(unsigned long *queued, unsigned long *callbacks)
{
	if (queued)
		*queued = __atomic_load_n(&kfree_rcu_queued, __ATOMIC_ACQUIRE);
	if (callbacks)
		*callbacks = __atomic_load_n(&kfree_rcu_callbacks, __ATOMIC_RELAXED);
}

/* ---- fork ------------------------------------------------------------------------- */

/*
 * rcu_fork - early in fork: the gate (no thread is inside liburcu on
 * uslab's behalf), liburcu's call_rcu threads paused (they run callbacks
 * that free into uslab, so before any uslab lock is taken), and the
 * kfree_rcu monitor's state. The child restarts call_rcu threads and gets
 * a monitor thread again with the next kfree_rcu().
 */
void rcu_fork(enum fork_phase phase)
{
	if (phase == FORK_PREPARE) {
		percpu_rwsem_fork(&rcu_fork_gate, phase);
		urcu_memb_call_rcu_before_fork();
		pthread_mutex_lock(&monitor.lock);
		return;
	}
	if (phase == FORK_PARENT) {
		pthread_mutex_unlock(&monitor.lock);
		urcu_memb_call_rcu_after_fork_parent();
		percpu_rwsem_fork(&rcu_fork_gate, phase);
		return;
	}
	pthread_mutex_init(&monitor.lock, NULL);
	pthread_cond_init(&monitor.wake, NULL);
	monitor.started = false;
	urcu_memb_call_rcu_after_fork_child();
	percpu_rwsem_fork(&rcu_fork_gate, phase);
}

/*
 * The leaves: every CPU's kfree_rcu batch lock and the thread list. In the
 * child, the threads that did not come along leave liburcu's registry: the
 * memb flavour keeps a reader record in each thread's TLS, linked into its
 * registry, and glibc reuses the stacks (TLS included) of the threads a
 * child lost for the next threads it creates, which would rewrite records
 * still linked there. Unlinking is what urcu_memb_unregister_thread() does
 * to a record, without its lock (the child has one thread), and before any
 * thread is created (call_rcu_after_fork_child comes later).
 */
void rcu_fork_leaves(enum fork_phase phase)
{
	struct rcu_thread *t, *next;

	pthread_once(&krc_once, krc_init);
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
		umutex_fork(&krc[cpu].lock, phase);
	umutex_fork(&rcu_threads_lock, phase);
	if (phase != FORK_CHILD)
		return;
	list_for_each_entry_safe(t, next, &rcu_threads, link) {
		if (t == &rcu_self)
			continue;
		cds_list_del(&t->reader->node);
		t->reader->registered = 0;
		list_del(&t->link);
	}
}
