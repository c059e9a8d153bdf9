// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/fault.c - failslab-style fault injection: make object allocations
 * and/or page-provider grabs fail on purpose, with a probability, an
 * interval, a budget of failures, and filters by cache and by tenant, so
 * that programs (and uslab itself) can prove their NULL paths clean.
 * Configured by uslab_fail_setup() or USLAB_FAIL="probability=1,pages=1,...".
 *
 * The configuration is replaced as a whole under fault_lock (LOCK_LEAF) and
 * read through one published pointer; decisions use a per-thread xorshift
 * generator, so injection adds no shared writes except the failure count.
 */
#include "lib/slab.h"
#include "private/env.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct fault_config {
	struct uslab_fail_attr attr;
	char cache[64];
	char memcg[64];
	unsigned long calls;     /* atomic: eligible calls seen (for interval) */
	unsigned long threads;   /* atomic: threads that drew, to seed each differently */
	struct fault_config *retired_next; /* fault_lock: older configurations */
	long remaining;          /* atomic: failures left, < 0 unlimited */
};

bool fault_slab_active;                 /* read on every allocation */
static struct fault_config *fault_cfg;  /* published with release; replaced configs are kept */
static struct fault_config *fault_retired; /* fault_lock: the replaced ones, still readable */
static unsigned long fault_injected;    /* atomic */
static struct umutex fault_lock = UMUTEX_INITIALIZER(LOCK_LEAF);
static USLAB_TLS uint64_t fault_rng;
static USLAB_TLS const struct fault_config *fault_rng_cfg;

/*
 * Per-thread xorshift, seeded from the configuration's seed when the thread
 * first draws under that configuration (so one thread's decisions repeat
 * from run to run; several threads interleave as the scheduler decides).
 */
static unsigned int fault_random_percent(struct fault_config *c)
{
	if (fault_rng_cfg != c) {
		/* splitmix64 of (seed, n-th thread to draw under this configuration). */
		uint64_t z = ((uint64_t)c->attr.seed << 32) +
			     __atomic_add_fetch(&c->threads, 1, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15ull;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		fault_rng = (z ^ (z >> 31)) | 1;
		fault_rng_cfg = c;
	}
	fault_rng ^= fault_rng << 13;
	fault_rng ^= fault_rng >> 7;
	fault_rng ^= fault_rng << 17;
	return (unsigned int)(fault_rng % 10000);
}

/* One eligible call: should it fail? */
static bool fault_decide(struct fault_config *c)
{
	unsigned long n = __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);

	if (c->attr.interval > 1 && n % c->attr.interval)
		return false;
	if (fault_random_percent(c) >= c->attr.probability * 100u)
		return false;
	if (c->attr.times > 0) {
		/* A budget: take one failure from it while any is left. */
		long left = __atomic_load_n(&c->remaining, __ATOMIC_RELAXED);

		do {
			if (left <= 0)
				return false;
		} while (!__atomic_compare_exchange_n(&c->remaining, &left, left - 1, true,
						      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	}
	__atomic_add_fetch(&fault_injected, 1, __ATOMIC_RELAXED);
	return true;
}

static bool fault_memcg_matches(const struct fault_config *c)
{
	struct mem_cgroup *memcg;

	if (!c->memcg[0])
		return true;
	memcg = memcg_current();
	return !memcg_is_root(memcg) && fnmatch(c->memcg, memcg_name(memcg), 0) == 0;
}

bool fault_should_fail_slab(struct kmem_cache *s, gfp_t flags)
{
	struct fault_config *c = __atomic_load_n(&fault_cfg, __ATOMIC_ACQUIRE);
	const char *name;

	if (!c || !c->attr.slab || (flags & __GFP_NOFAIL))
		return false;
	name = s->memcg_params.root ? s->memcg_params.root->name : s->name;
	if (c->cache[0] && fnmatch(c->cache, name, 0) != 0)
		return false;
	if (!c->cache[0] && (c->attr.only_failslab_caches && !(s->flags & SLAB_FAILSLAB)))
		return false;
	return fault_memcg_matches(c) && fault_decide(c);
}

/* gfp of the allocation now asking the page provider (slab growth, kmalloc_large). */
USLAB_TLS gfp_t fault_page_gfp;

static bool fault_page_hook(int nid, size_t size)
{
	struct fault_config *c = __atomic_load_n(&fault_cfg, __ATOMIC_ACQUIRE);

	(void)nid, (void)size;
	if (fault_page_gfp & __GFP_NOFAIL)
		return false;
	return c && c->attr.pages && fault_memcg_matches(c) && fault_decide(c);
}

int uslab_fail_setup(const struct uslab_fail_attr *attr)
{
	struct fault_config *c = NULL;

	if (attr) {
		if (attr->probability > 100 || (!attr->slab && !attr->pages))
			return -EINVAL;
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		c->attr = *attr;
		if (attr->cache)
			snprintf(c->cache, sizeof(c->cache), "%s", attr->cache);
		if (attr->memcg)
			snprintf(c->memcg, sizeof(c->memcg), "%s", attr->memcg);
		c->attr.cache = c->attr.memcg = NULL;
		c->remaining = attr->times;
	}
	umutex_lock(&fault_lock);
	/* The old configuration may still be read by another thread: it stays allocated. */
	struct fault_config *old = fault_cfg;
	if (old) {
		old->retired_next = fault_retired;
		fault_retired = old;
	}
	__atomic_store_n(&fault_cfg, c, __ATOMIC_RELEASE);
	__atomic_store_n(&fault_slab_active, c && c->attr.slab, __ATOMIC_RELEASE);
	topology_set_page_fail_hook(c && c->attr.pages ? fault_page_hook : NULL);
	umutex_unlock(&fault_lock);
	return 0;
}

unsigned long uslab_fail_count(void)
{
	return __atomic_load_n(&fault_injected, __ATOMIC_RELAXED);
}

/* A 0 or 1 value of USLAB_FAIL. */
static int fault_env_bool(const char *what, const char *v, bool *out)
{
	unsigned long b;
	int err = env_parse_ulong(what, v, 0, 1, &b);

	if (!err)
		*out = b;
	return err;
}

/*
 * USLAB_FAIL="probability=P,interval=N,times=T,cache=GLOB,memcg=GLOB,slab=0|1,pages=0|1,
 * failslab_only=0|1,seed=S": every number checked to its end and its range
 * (private/env.h), every glob against its buffer; a key alone means "=1".
 */
int fault_env_parse(struct fault_env *fe)
{
	const char *env = getenv("USLAB_FAIL");
	char buf[512];
	unsigned long u = 0;
	int err = 0;

	*fe = (struct fault_env){ .attr = { .probability = 1, .interval = 1, .times = -1,
					    .slab = true } };
	if (!env || !*env)
		return 0;
	if (strlen(env) >= sizeof(buf)) {
		fprintf(stderr, "uslab: USLAB_FAIL: longer than %zu characters\n", sizeof(buf) - 1);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv && !err;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		const char *v = eq ? eq + 1 : "1";
		char what[64];

		if (eq)
			*eq = '\0';
		snprintf(what, sizeof(what), "USLAB_FAIL: %s", kv);
		if (!strcmp(kv, "probability")) {
			err = env_parse_ulong(what, v, 0, 100, &u);
			fe->attr.probability = (unsigned int)u;
		} else if (!strcmp(kv, "interval")) {
			err = env_parse_ulong(what, v, 0, UINT_MAX, &u);
			fe->attr.interval = (unsigned int)u;
		} else if (!strcmp(kv, "times")) {
			err = env_parse_long(what, v, -1, LONG_MAX, &fe->attr.times);
		} else if (!strcmp(kv, "seed")) {
			err = env_parse_ulong(what, v, 0, UINT_MAX, &u);
			fe->attr.seed = (unsigned int)u;
		} else if (!strcmp(kv, "slab")) {
			err = fault_env_bool(what, v, &fe->attr.slab);
		} else if (!strcmp(kv, "pages")) {
			err = fault_env_bool(what, v, &fe->attr.pages);
		} else if (!strcmp(kv, "failslab_only")) {
			err = fault_env_bool(what, v, &fe->attr.only_failslab_caches);
		} else if (!strcmp(kv, "cache") || !strcmp(kv, "memcg")) {
			char *glob = kv[0] == 'c' ? fe->cache : fe->memcg;

			if (strlen(v) >= sizeof(fe->cache)) {
				fprintf(stderr, "uslab: %s=%s: longer than %zu characters\n", what, v,
					sizeof(fe->cache) - 1);
				err = -EINVAL;
			}
			snprintf(glob, sizeof(fe->cache), "%s", v);
		} else {
			fprintf(stderr, "uslab: USLAB_FAIL: unknown key '%s'\n", kv);
			err = -EINVAL;
		}
	}
	if (!err && !fe->attr.slab && !fe->attr.pages) {
		fprintf(stderr, "uslab: USLAB_FAIL=%s: neither slab nor pages fail\n", env);
		err = -EINVAL;
	}
	fe->set = !err;
	return err;
}

int fault_env_apply(struct fault_env *fe)
{
	if (!fe->set)
		return 0;
	fe->attr.cache = fe->cache[0] ? fe->cache : NULL;
	fe->attr.memcg = fe->memcg[0] ? fe->memcg : NULL;
	return uslab_fail_setup(&fe->attr);
}

void fault_fork(enum fork_phase phase)
{
	umutex_fork(&fault_lock, phase);
}
