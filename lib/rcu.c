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
 */
#define _LGPL_SOURCE 1
#include "lib/slab.h"

#include <pthread.h>


static pthread_key_t rcu_thread_key;
static pthread_once_t rcu_key_once = PTHREAD_ONCE_INIT;
static __thread bool rcu_registered;

static void rcu_thread_exit(void *arg)
{
	(void)arg;
	if (rcu_registered) {
		urcu_memb_unregister_thread();
		rcu_registered = false;
	}
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
	if (!URCU_TLS(urcu_memb_reader).registered) {
		urcu_memb_register_thread();
		pthread_setspecific(rcu_thread_key, (void *)1);
	}
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

void slab_synchronize_rcu(void)
{
	USLAB_ASSERT_INTERNAL(!lock_witness_held(LOCK_SLAB_MUTEX));
	slab_rcu_register();
	urcu_memb_synchronize_rcu();
}

void slab_rcu_barrier(void)
{
	USLAB_ASSERT_INTERNAL(!lock_witness_held(LOCK_SLAB_MUTEX));
	slab_rcu_register();
	urcu_memb_barrier();
}

void slab_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	slab_rcu_register();
	urcu_memb_call_rcu(head, func);
}
