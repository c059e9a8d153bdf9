// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/init.c - bringing the library up: the topology, the kmalloc caches,
 * options from struct uslab_config or the environment (USLAB_NOMERGE,
 * USLAB_REAP_MS, USLAB_DECAY_MS, USLAB_PURGE, USLAB_TOPOLOGY, USLAB_STATS),
 * the background worker's reaper and page-cache decay (lib/reap.c) and the
 * optional statistics publisher (lib/stats.c). Nothing needs to
 * be called: the first call that needs the library initialises it with the
 * defaults; uslab_init() before that chooses the options.
 *
 * The numeric variables are checked before anything is created. A failed
 * initialisation is final (only a bad struct uslab_config topology, refused
 * before anything is done, may be corrected by calling uslab_init() again):
 * it is said once on stderr, its error is kept, and every call that needs
 * the allocator fails with it from then on, whatever the size asked for.
 *
 * init_lock (a plain mutex outside the lock order: it is only ever taken
 * with no other uslab lock held) serialises initialisation and guards
 * init_error; uslab_initialized is published with a release store once
 * everything is ready.
 */
#include "lib/slab.h"
#include "private/env.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

bool uslab_initialized;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_error; /* init_lock: -errno of the failed initialisation, for good */

static bool env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && *v && *v != '0' && *v != 'n' && *v != 'N';
}

/*
 * The initialisation failed for good: keep @err, say it once, and make every
 * kmalloc class unreachable, so that every size, like every other entry
 * point, goes to uslab_ensure_init() and gets @err. init_lock held.
 */
static int init_failed_locked(int err)
{
	init_error = err;
	for (int type = 0; type < NR_KMALLOC_TYPES; type++)
		for (unsigned int i = 0; i <= KMALLOC_SHIFT_HIGH; i++)
			__atomic_store_n(&kmalloc_caches[type][i], NULL, __ATOMIC_RELAXED);
	fprintf(stderr, "uslab: initialisation failed (%s); every allocation and cache creation "
		"fails with that error from now on\n", strerror(-err));
	return err;
}

static int do_init(const struct uslab_config *cfg)
{
	unsigned long decay_ms = TOPOLOGY_DECAY_MS_DEFAULT, reap_ms = 0;
	bool reap_set = false, lazy_free = false;
	struct fault_env fault;
	const char *env;
	int err;

	err = topology_init(cfg ? cfg->topology : NULL);
	if (err && !(cfg && cfg->topology)) {
		/* A bad USLAB_TOPOLOGY: say so and use the real machine (topology_ensure_init). */
		topology_ensure_init();
		err = 0;
	}
	if (err)
		return err; /* the caller's option: nothing done, uslab_init() may try again */

	/* The numeric variables before anything is created: a bad one leaves nothing half made. */
	if (cfg && cfg->reaper_ms) {
		reap_ms = cfg->reaper_ms;
		reap_set = true;
	} else if ((err = env_get_ulong("USLAB_REAP_MS", 0, INT_MAX, &reap_ms)) < 0) {
		return init_failed_locked(err);
	} else {
		reap_set = err == 1;
	}
	err = env_get_ulong("USLAB_DECAY_MS", 0, USLAB_DECAY_MS_MAX, &decay_ms);
	if (err < 0)
		return init_failed_locked(err);
	if ((env = getenv("USLAB_PURGE")) != NULL && *env) {
		lazy_free = strcmp(env, "free") == 0;
		if (!lazy_free && strcmp(env, "dontneed") != 0) {
			fprintf(stderr, "uslab: USLAB_PURGE=%s: not \"free\" or \"dontneed\"\n", env);
			return init_failed_locked(-EINVAL);
		}
	}
	err = fault_env_parse(&fault);
	if (err)
		return init_failed_locked(err);
	slab_nomerge = (cfg && cfg->nomerge) || env_flag("USLAB_NOMERGE");
	slab_noaliencache = (cfg && cfg->noaliencache) || env_flag("USLAB_NOALIENCACHE");
	if ((env = getenv("USLAB_ADAPTIVE_ARRAYS")) != NULL && *env) {
		if (strcmp(env, "0") != 0 && strcmp(env, "1") != 0) {
			fprintf(stderr, "uslab: USLAB_ADAPTIVE_ARRAYS=%s: not 0 or 1\n", env);
			return init_failed_locked(-EINVAL);
		}
		slab_adaptive_arrays = env[0] == '1';
	}

	memcg_caches_init();
	debug_tools_init();
	nr_cpu_ids_cached = nr_cpu_ids;
	percpu_init();
	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++)
		slab_cpu_mem_nodes[cpu] = cpu_to_node(cpu);
	slab_lock_all();
	err = kmalloc_init_locked();
	slab_unlock_all();
	if (!err)
		err = slab_hotplug_init();
	if (!err)
		err = fault_env_apply(&fault);
	if (err)
		return init_failed_locked(err);
	reap_decay_init((unsigned int)decay_ms, lazy_free, reap_set ? (int)reap_ms : -1);
	slab_fork_init();
	__atomic_store_n(&uslab_initialized, true, __ATOMIC_RELEASE);
	stats_init_from_env();
	return 0;
}

int uslab_init(const struct uslab_config *config)
{
	int err;

	pthread_mutex_lock(&init_lock);
	if (uslab_initialized)
		err = -EBUSY;
	else
		err = init_error ? init_error : do_init(config);
	pthread_mutex_unlock(&init_lock);
	return err;
}

int uslab_ensure_init(void)
{
	int err = 0;

	if (likely(__atomic_load_n(&uslab_initialized, __ATOMIC_ACQUIRE)))
		return 0;
	pthread_mutex_lock(&init_lock);
	if (!uslab_initialized)
		err = init_error ? init_error : do_init(NULL);
	pthread_mutex_unlock(&init_lock);
	if (err)
		errno = -err;
	return err;
}

void init_fork(enum fork_phase phase)
{
	pthread_mutex_fork(&init_lock, phase);
}
