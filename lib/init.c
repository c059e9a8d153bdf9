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
 * init_lock (a plain mutex outside the lock order: it is only ever taken
 * with no other uslab lock held) serialises initialisation; uslab_initialized
 * is published with a release store once everything is ready.
 */
#include "lib/slab.h"

#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

bool uslab_initialized;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static bool env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && *v && *v != '0' && *v != 'n' && *v != 'N';
}

/* Steps already done: a failed initialisation resumes where it stopped. */
static bool kmalloc_done, hotplug_done;

static int do_init(const struct uslab_config *cfg)
{
	unsigned int decay_ms = TOPOLOGY_DECAY_MS_DEFAULT;
	bool lazy_free;
	int reap_ms = -1;
	const char *env;
	int err;

	err = topology_init(cfg ? cfg->topology : NULL);
	if (err && !(cfg && cfg->topology)) {
		/* A bad USLAB_TOPOLOGY: say so and use the real machine (topology_ensure_init). */
		topology_ensure_init();
		err = 0;
	}
	if (err)
		return err;
	slab_nomerge = (cfg && cfg->nomerge) || env_flag("USLAB_NOMERGE");
	slab_noaliencache = (cfg && cfg->noaliencache) || env_flag("USLAB_NOALIENCACHE");
	if (cfg && cfg->reaper_ms)
		reap_ms = (int)MIN(cfg->reaper_ms, (unsigned int)INT_MAX);
	else if ((env = getenv("USLAB_REAP_MS")) != NULL && *env)
		reap_ms = (int)MIN(strtoul(env, NULL, 10), (unsigned long)INT_MAX);
	if ((env = getenv("USLAB_DECAY_MS")) != NULL && *env)
		decay_ms = (unsigned int)MIN(strtoul(env, NULL, 10), (unsigned long)USLAB_DECAY_MS_MAX);
	lazy_free = (env = getenv("USLAB_PURGE")) != NULL && strcmp(env, "free") == 0;

	memcg_caches_init();
	debug_tools_init();
	nr_cpu_ids_cached = nr_cpu_ids;
	percpu_init();
	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++)
		slab_cpu_mem_nodes[cpu] = cpu_to_node(cpu);
	if (!kmalloc_done) {
		slab_lock_all();
		err = kmalloc_init_locked();
		slab_unlock_all();
		kmalloc_done = !err;
	}
	if (!err && !hotplug_done) {
		err = slab_hotplug_init();
		hotplug_done = !err;
	}
	if (!err)
		err = fault_init_from_env();
	if (err)
		return err;
	reap_decay_init(decay_ms, lazy_free, reap_ms);
	slab_fork_init();
	__atomic_store_n(&uslab_initialized, true, __ATOMIC_RELEASE);
	stats_init_from_env();
	return 0;
}

int uslab_init(const struct uslab_config *config)
{
	int err;

	pthread_mutex_lock(&init_lock);
	err = uslab_initialized ? -EBUSY : do_init(config);
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
		err = do_init(NULL);
	pthread_mutex_unlock(&init_lock);
	return err;
}

void init_fork(enum fork_phase phase)
{
	pthread_mutex_fork(&init_lock, phase);
}
