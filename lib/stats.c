// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/stats.c - live statistics: snapshots of every cache (uslab_cache_info(),
 * overall and per node) and every tenant (memory.current, .max, .peak,
 * .events and memory.stat's slab lines), printed as JSON
 * (uslab_slabinfo_json) or published in the shared-memory file
 * "/uslab.<pid>" that uslabtop(1) reads. include/uslab/stats.h documents the
 * file format and its sequence lock.
 *
 * A refresh collects into private arrays first, with the allocator's and
 * memcg's own locks, and only then copies into the file between
 * uslab_stats_write_begin() and _end(), so a reader retries for the length
 * of a copy, not of a collection. The file grows (never shrinks) when
 * caches or tenants outgrow it; the new layout is published in the same
 * write section as the data.
 *
 * Refreshes come from a small thread of this file every period, or from the
 * reaper's passes when it calls stats_reaper_tick() (the thread then skips
 * a period in which the reaper refreshed). USLAB_STATS=1 starts publishing
 * when the library initialises (stats_init_from_env()); the file appears
 * with the thread's first refresh.
 * It is removed by uslab_stats_publish_stop() and at exit; a forked child
 * does not publish and leaves its parent's file alone.
 *
 * Locks, outside the global order (private/lock.h), outermost first:
 *   pub.ctl    start/stop/atexit: who runs the thread, whether we publish
 *   pub.write  the file (fd, mapping, layout) and the scratch arrays; held
 *              across a refresh, which takes slab_mutex, the memcg tree lock
 *              and memory.stat's locks inside it: it is never taken with a
 *              uslab lock held
 *   pub.lock   leaf: the thread's stop flag and period, and its wake-up
 */
#define _GNU_SOURCE /* program_invocation_short_name, pthread_timedjoin_np */
#include "lib/slab.h"
#include "private/env.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uslab/stats.h>

_Static_assert(sizeof(struct uslab_stats_header) % 8 == 0, "header is 8-byte words");
_Static_assert(offsetof(struct uslab_stats_header, generation) == 16, "generation at 16");
_Static_assert(sizeof(struct uslab_stats_cache) % 8 == 0, "cache record is 8-byte words");
_Static_assert(sizeof(struct uslab_stats_cache_node) % 8 == 0, "node record is 8-byte words");
_Static_assert(sizeof(struct uslab_stats_tenant) % 8 == 0, "tenant record is 8-byte words");
_Static_assert(sizeof(struct uslab_stats_tenant_slab) % 8 == 0, "slab record is 8-byte words");
_Static_assert(USLAB_STATS_NR_EVENTS == MEMCG_NR_MEMORY_EVENTS, "memory.events counters");

#define STATS_DEFAULT_MS   1000u
#define STATS_FIRST_POLL_MS 100u   /* the thread's wait until the file exists */
#define STATS_READ_TIMEOUT_NS 2000000000ull /* reader: give up with -EAGAIN after 2 s */
#define STATS_MAX_RECORDS  (1u << 24)
#define STATS_MAX_RECORD   (1u << 16)

static const uint32_t record_size[USLAB_STATS_NR_SECTIONS] = {
	[USLAB_STATS_CACHES] = sizeof(struct uslab_stats_cache),
	[USLAB_STATS_CACHE_NODES] = sizeof(struct uslab_stats_cache_node),
	[USLAB_STATS_TENANTS] = sizeof(struct uslab_stats_tenant),
	[USLAB_STATS_TENANT_SLABS] = sizeof(struct uslab_stats_tenant_slab),
};

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Copy a C string into a fixed field, NUL-terminated; true if it fitted. */
static bool copy_name(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

/* ---- collection ------------------------------------------------------------- */

/*
 * struct stats_arrays - a snapshot whose arrays are kept between refreshes,
 * with their capacities, plus the collection's own scratch space.
 */
struct stats_arrays {
	struct uslab_stats_snapshot snap;
	size_t cap[USLAB_STATS_NR_SECTIONS];
	unsigned int *ids;      /* tenant ids of the walk */
	size_t cap_ids;
	char *statbuf;          /* one tenant's memory.stat */
	size_t cap_statbuf;
};

static void **section_array(struct uslab_stats_snapshot *snap, int sec)
{
	switch (sec) {
	case USLAB_STATS_CACHES:
		return (void **)&snap->caches;
	case USLAB_STATS_CACHE_NODES:
		return (void **)&snap->cache_nodes;
	case USLAB_STATS_TENANTS:
		return (void **)&snap->tenants;
	default:
		return (void **)&snap->tenant_slabs;
	}
}

/* Make room for @want records in section @sec; 0 or -ENOMEM. */
static int arrays_reserve(struct stats_arrays *a, int sec, size_t want)
{
	void **arr = section_array(&a->snap, sec);
	size_t cap = a->cap[sec] ? a->cap[sec] : 16;
	void *grown;

	if (want <= a->cap[sec])
		return 0;
	while (cap < want)
		cap *= 2;
	grown = realloc(*arr, cap * record_size[sec]);
	if (!grown)
		return -ENOMEM;
	*arr = grown;
	a->cap[sec] = cap;
	return 0;
}

static void arrays_release(struct stats_arrays *a)
{
	uslab_stats_snapshot_free(&a->snap);
	free(a->ids);
	free(a->statbuf);
	memset(a, 0, sizeof(*a));
}

static void fill_node_record(struct uslab_stats_cache_node *r, uint32_t cache, int nid,
			     const struct uslab_cache_info *i)
{
	memset(r, 0, sizeof(*r));
	r->cache = cache;
	r->node = nid;
	r->active_objs = i->active_objs;
	r->num_objs = i->num_objs;
	r->active_slabs = i->active_slabs;
	r->num_slabs = i->num_slabs;
	r->full_slabs = i->full_slabs;
	r->partial_slabs = i->partial_slabs;
	r->free_slabs = i->free_slabs;
	r->free_objects = i->free_objects;
	r->free_limit = i->free_limit;
	r->shared_avail = i->shared_avail;
	r->cpu_avail = i->cpu_avail;
	r->alien_avail = i->alien_avail;
}

/* slab_mutex held: cache @s as record @r, its nodes from cache_nodes[*nodes]. */
static void fill_cache_record(struct stats_arrays *a, struct kmem_cache *s, uint32_t index,
			      size_t *nodes)
{
	struct uslab_stats_cache *r = &a->snap.caches[index];
	struct uslab_cache_info i;
	uint64_t cached;

	lockdep_assert_held(&slab_mutex);
	uslab_cache_info(s, NUMA_NO_NODE, &i);
	memset(r, 0, sizeof(*r));
	copy_name(r->name, sizeof(r->name), s->name);
	r->active_objs = i.active_objs;
	r->num_objs = i.num_objs;
	cached = i.cpu_avail + i.shared_avail + i.alien_avail;
	r->inuse_objs = i.active_objs > cached ? i.active_objs - cached : 0;
	r->active_slabs = i.active_slabs;
	r->num_slabs = i.num_slabs;
	r->full_slabs = i.full_slabs;
	r->partial_slabs = i.partial_slabs;
	r->free_slabs = i.free_slabs;
	r->free_objects = i.free_objects;
	r->free_limit = i.free_limit;
	r->shared_avail = i.shared_avail;
	r->cpu_avail = i.cpu_avail;
	r->alien_avail = i.alien_avail;
	r->allocs = i.allocs;
	r->frees = i.frees;
	r->alloc_hits = i.alloc_hits;
	r->alloc_misses = i.alloc_misses;
	r->free_hits = i.free_hits;
	r->free_misses = i.free_misses;
	r->grown = i.grown;
	r->reaped = i.reaped;
	r->node_allocs = i.node_allocs;
	r->node_frees = i.node_frees;
	r->alien_frees = i.alien_frees;
	r->object_size = i.object_size;
	r->size = i.size;
	r->align = i.align;
	r->objs_per_slab = i.objs_per_slab;
	r->pages_per_slab = i.pages_per_slab;
	r->limit = i.limit;
	r->batchcount = i.batchcount;
	r->shared = i.shared;
	r->slab_flags = i.flags;
	r->refcount = i.refcount;
	if (s->flags & CFLGS_KMALLOC)
		r->kind |= USLAB_STATS_CACHE_KMALLOC;
	if (cache_is_child(s)) {
		r->kind |= USLAB_STATS_CACHE_CHILD;
		if (s->memcg_params.dying)
			r->kind |= USLAB_STATS_CACHE_DYING;
		else
			r->tenant_id = memcg_id(s->memcg_params.memcg);
	}
	r->node_first = (uint32_t)*nodes;
	for (int nid = 0; nid < (int)nr_node_ids; nid++) {
		if (!s->node[nid])
			continue;
		uslab_cache_info(s, nid, &i);
		fill_node_record(&a->snap.cache_nodes[*nodes], index, nid, &i);
		(*nodes)++;
		r->nr_nodes++;
	}
}

static int collect_caches(struct stats_arrays *a)
{
	for (;;) {
		size_t n = 0, nodes = 0;
		struct kmem_cache *s;

		umutex_lock(&slab_mutex);
		list_for_each_entry(s, &slab_caches, list) {
			n++;
			for (int nid = 0; nid < (int)nr_node_ids; nid++)
				nodes += s->node[nid] != NULL;
		}
		if (n <= a->cap[USLAB_STATS_CACHES] && nodes <= a->cap[USLAB_STATS_CACHE_NODES]) {
			uint32_t index = 0;

			nodes = 0;
			list_for_each_entry(s, &slab_caches, list)
				fill_cache_record(a, s, index++, &nodes);
			umutex_unlock(&slab_mutex);
			a->snap.nr_caches = n;
			a->snap.nr_cache_nodes = nodes;
			return 0;
		}
		umutex_unlock(&slab_mutex);
		/* No allocation under slab_mutex: grow, then count again. */
		if (arrays_reserve(a, USLAB_STATS_CACHES, n + 8) ||
		    arrays_reserve(a, USLAB_STATS_CACHE_NODES, nodes + 8 * nr_node_ids))
			return -ENOMEM;
	}
}

/* "/a/b" of @memcg into @buf; false when it did not fit (truncated). */
static bool tenant_path(struct mem_cgroup *memcg, char *buf, size_t size, uint32_t *depth)
{
	const char *names[64];
	struct mem_cgroup *m;
	unsigned int n = 0, d = 0;
	size_t len = 0;
	bool fits = true;

	for (m = memcg; mem_cgroup_parent(m); m = mem_cgroup_parent(m)) {
		if (n < ARRAY_SIZE(names))
			names[n++] = mem_cgroup_name(m);
		else
			fits = false;
		d++;
	}
	*depth = d;
	buf[0] = '/';
	buf[1] = '\0';
	len = n ? 0 : 1;
	while (n--) {
		size_t l = strlen(names[n]);

		if (len + 1 + l + 1 > size) {
			fits = false;
			break;
		}
		buf[len++] = '/';
		memcpy(buf + len, names[n], l);
		len += l;
		buf[len] = '\0';
	}
	return fits;
}

/* Read memory.stat of @memcg into a->statbuf; its length or -errno. */
static ssize_t read_memory_stat(struct stats_arrays *a, struct mem_cgroup *memcg)
{
	for (int tries = 0; tries < 8; tries++) {
		ssize_t len = a->cap_statbuf
			? mem_cgroup_read(memcg, "memory.stat", a->statbuf, a->cap_statbuf)
			: -ENOSPC;
		char *grown;

		if (len != -ENOSPC)
			return len;
		len = mem_cgroup_read(memcg, "memory.stat", NULL, 0);
		if (len < 0)
			return len;
		grown = realloc(a->statbuf, (size_t)len + 512);
		if (!grown)
			return -ENOMEM;
		a->statbuf = grown;
		a->cap_statbuf = (size_t)len + 512;
	}
	return -EAGAIN;
}

/* Fill the tenant record of @memcg at index @t, with its memory.stat lines. */
static int fill_tenant_record(struct stats_arrays *a, struct mem_cgroup *memcg, uint32_t t)
{
	struct uslab_stats_tenant *r = &a->snap.tenants[t];
	struct mem_cgroup *parent = mem_cgroup_parent(memcg);
	unsigned long max = mem_cgroup_max(memcg), high = mem_cgroup_high(memcg);
	ssize_t len;

	memset(r, 0, sizeof(*r));
	copy_name(r->name, sizeof(r->name), mem_cgroup_name(memcg));
	if (!tenant_path(memcg, r->path, sizeof(r->path), &r->depth))
		r->flags |= USLAB_STATS_TENANT_TRUNCATED;
	r->id = mem_cgroup_id(memcg);
	r->parent_id = parent ? mem_cgroup_id(parent) : 0;
	if (mem_cgroup_online(memcg))
		r->flags |= USLAB_STATS_TENANT_ONLINE;
	r->current = mem_cgroup_usage(memcg);
	r->peak = mem_cgroup_peak(memcg);
	r->max = max == MEMCG_LIMIT_MAX ? USLAB_STATS_NO_LIMIT : max;
	r->high = high == MEMCG_LIMIT_MAX ? USLAB_STATS_NO_LIMIT : high;
	for (int ev = 0; ev < USLAB_STATS_NR_EVENTS; ev++) {
		r->events[ev] = mem_cgroup_events(memcg, (enum memcg_memory_event)ev, false);
		r->events_local[ev] = mem_cgroup_events(memcg, (enum memcg_memory_event)ev, true);
	}
	r->slab_first = (uint32_t)a->snap.nr_tenant_slabs;

	len = read_memory_stat(a, memcg);
	if (len < 0)
		return len == -ENOMEM ? -ENOMEM : 0; /* a tenant without memory.stat */
	for (char *line = a->statbuf, *next; line && *line; line = next) {
		char *sp, *end;
		unsigned long long v;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sp = strrchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		v = strtoull(sp + 1, &end, 10);
		if (strcmp(line, "slab") == 0) {
			r->slab = v;
		} else if (strcmp(line, "slab_reclaimable") == 0) {
			r->slab_reclaimable = v;
		} else if (strcmp(line, "slab_unreclaimable") == 0) {
			r->slab_unreclaimable = v;
		} else if (strcmp(line, "kmalloc_large") == 0) {
			r->kmalloc_large = v;
		} else if (strncmp(line, "slab.", 5) == 0) {
			struct uslab_stats_tenant_slab *ts;

			if (arrays_reserve(a, USLAB_STATS_TENANT_SLABS, a->snap.nr_tenant_slabs + 1))
				return -ENOMEM;
			r = &a->snap.tenants[t];
			ts = &a->snap.tenant_slabs[a->snap.nr_tenant_slabs++];
			memset(ts, 0, sizeof(*ts));
			ts->tenant = t;
			ts->bytes = v;
			copy_name(ts->cache, sizeof(ts->cache), line + 5);
			r->nr_slab++;
		}
	}
	return 0;
}

static int collect_tenants(struct stats_arrays *a)
{
	size_t n;

	for (;;) {
		n = memcg_tenant_ids(a->ids, a->cap_ids);
		if (n <= a->cap_ids)
			break;
		free(a->ids);
		a->cap_ids = n + 16;
		a->ids = malloc(a->cap_ids * sizeof(*a->ids));
		if (!a->ids) {
			a->cap_ids = 0;
			return -ENOMEM;
		}
	}
	if (arrays_reserve(a, USLAB_STATS_TENANTS, n))
		return -ENOMEM;
	a->snap.nr_tenants = 0;
	a->snap.nr_tenant_slabs = 0;
	for (size_t k = 0; k < n; k++) {
		struct mem_cgroup *memcg = mem_cgroup_from_id(a->ids[k]);
		int err;

		if (!memcg) /* freed since the walk */
			continue;
		err = fill_tenant_record(a, memcg, (uint32_t)a->snap.nr_tenants);
		mem_cgroup_put(memcg);
		if (err)
			return err;
		a->snap.nr_tenants++;
	}
	return 0;
}

static void fill_header(struct uslab_stats_header *h, const struct uslab_stats_snapshot *snap,
			unsigned int period_ms, uint64_t start_ns)
{
	const size_t count[USLAB_STATS_NR_SECTIONS] = {
		snap->nr_caches, snap->nr_cache_nodes, snap->nr_tenants, snap->nr_tenant_slabs,
	};

	h->magic = USLAB_STATS_MAGIC;
	h->version = USLAB_STATS_VERSION;
	h->header_size = sizeof(*h);
	h->pid = (uint32_t)getpid();
	h->period_ms = period_ms;
	h->page_size = (uint32_t)PAGE_SIZE;
	h->nr_nodes = nr_node_ids;
	h->nr_cpus = nr_cpu_ids;
	h->update_time_ns = clock_ns(CLOCK_REALTIME);
	h->update_mono_ns = clock_ns(CLOCK_MONOTONIC);
	h->start_time_ns = start_ns ? start_ns : h->update_time_ns;
	copy_name(h->comm, sizeof(h->comm), program_invocation_short_name);
	for (int sec = 0; sec < USLAB_STATS_NR_SECTIONS; sec++) {
		h->sections[sec].record_size = record_size[sec];
		h->sections[sec].count = (uint32_t)count[sec];
	}
}

/* Collect everything into @a (its arrays reused); 0, -ENOMEM or a failed initialisation's error. */
static int stats_collect_into(struct stats_arrays *a, unsigned int period_ms, uint64_t start_ns)
{
	int err = uslab_ensure_init();

	if (err)
		return err;
	err = collect_caches(a);
	if (!err)
		err = collect_tenants(a);
	if (!err)
		fill_header(&a->snap.header, &a->snap, period_ms, start_ns);
	return err;
}

int uslab_stats_collect(struct uslab_stats_snapshot *snap)
{
	struct stats_arrays a;
	int err;

	if (!snap)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	err = stats_collect_into(&a, 0, 0);
	free(a.ids);
	free(a.statbuf);
	if (err) {
		uslab_stats_snapshot_free(&a.snap);
		memset(snap, 0, sizeof(*snap));
		return err;
	}
	*snap = a.snap;
	return 0;
}

void uslab_stats_snapshot_free(struct uslab_stats_snapshot *snap)
{
	if (!snap)
		return;
	free(snap->caches);
	free(snap->cache_nodes);
	free(snap->tenants);
	free(snap->tenant_slabs);
	memset(snap, 0, sizeof(*snap));
}

/* ---- JSON --------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at @s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* @s as a JSON string; bytes that are not UTF-8 become U+FFFD. */
static void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p++, f);
		} else if (*p < 0x20) {
			fprintf(f, "\\u%04x", *p++);
		} else if (n == 0) {
			fputs("\\ufffd", f);
			p++;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
	fputc('"', f);
}

static void json_limit(FILE *f, uint64_t v)
{
	if (v == USLAB_STATS_NO_LIMIT)
		fputs("\"max\"", f);
	else
		fprintf(f, "%" PRIu64, v);
}

static const char *const event_names[USLAB_STATS_NR_EVENTS] = {
	"low", "high", "max", "oom", "oom_kill",
};

static void json_events(FILE *f, const char *key, const uint64_t *ev)
{
	fprintf(f, "\"%s\": {", key);
	for (int i = 0; i < USLAB_STATS_NR_EVENTS; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", event_names[i], ev[i]);
	fputc('}', f);
}

#define JU64(f, sep, name, v) fprintf(f, "%s\"%s\": %" PRIu64, sep, name, (uint64_t)(v))

static void json_cache(FILE *f, const struct uslab_stats_snapshot *snap,
		       const struct uslab_stats_cache *c)
{
	char name[USLAB_STATS_NAME_LEN];

	memcpy(name, c->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	fputs("    {\"name\": ", f);
	json_string(f, name);
	JU64(f, ", ", "active_objs", c->active_objs);
	JU64(f, ", ", "num_objs", c->num_objs);
	JU64(f, ", ", "objsize", c->size);
	JU64(f, ", ", "objperslab", c->objs_per_slab);
	JU64(f, ", ", "pagesperslab", c->pages_per_slab);
	JU64(f, ",\n     ", "limit", c->limit);
	JU64(f, ", ", "batchcount", c->batchcount);
	JU64(f, ", ", "sharedfactor", c->shared);
	JU64(f, ", ", "active_slabs", c->active_slabs);
	JU64(f, ", ", "num_slabs", c->num_slabs);
	JU64(f, ", ", "sharedavail", c->shared_avail);
	JU64(f, ",\n     ", "inuse_objs", c->inuse_objs);
	JU64(f, ", ", "object_size", c->object_size);
	JU64(f, ", ", "align", c->align);
	fprintf(f, ", \"flags\": \"0x%08" PRIx32 "\"", c->slab_flags);
	fputs(", \"kmalloc\": ", f);
	fputs(c->kind & USLAB_STATS_CACHE_KMALLOC ? "true" : "false", f);
	fputs(", \"child\": ", f);
	fputs(c->kind & USLAB_STATS_CACHE_CHILD ? "true" : "false", f);
	fputs(", \"dying\": ", f);
	fputs(c->kind & USLAB_STATS_CACHE_DYING ? "true" : "false", f);
	fprintf(f, ", \"refcount\": %" PRId32, c->refcount);
	JU64(f, ", ", "tenant_id", c->tenant_id);
	JU64(f, ",\n     ", "full_slabs", c->full_slabs);
	JU64(f, ", ", "partial_slabs", c->partial_slabs);
	JU64(f, ", ", "free_slabs", c->free_slabs);
	JU64(f, ", ", "free_objects", c->free_objects);
	JU64(f, ", ", "free_limit", c->free_limit);
	JU64(f, ", ", "cpu_avail", c->cpu_avail);
	JU64(f, ", ", "alien_avail", c->alien_avail);
	JU64(f, ",\n     ", "allocs", c->allocs);
	JU64(f, ", ", "frees", c->frees);
	JU64(f, ", ", "alloc_hits", c->alloc_hits);
	JU64(f, ", ", "alloc_misses", c->alloc_misses);
	JU64(f, ", ", "free_hits", c->free_hits);
	JU64(f, ", ", "free_misses", c->free_misses);
	JU64(f, ", ", "grown", c->grown);
	JU64(f, ", ", "reaped", c->reaped);
	JU64(f, ", ", "node_allocs", c->node_allocs);
	JU64(f, ", ", "node_frees", c->node_frees);
	JU64(f, ", ", "alien_frees", c->alien_frees);
	fputs(",\n     \"nodes\": [", f);
	for (uint64_t k = 0; k < c->nr_nodes; k++) {
		const struct uslab_stats_cache_node *n;

		if ((uint64_t)c->node_first + k >= snap->nr_cache_nodes)
			break;
		n = &snap->cache_nodes[c->node_first + k];
		fprintf(f, "%s{\"node\": %" PRId32, k ? ",\n       " : "\n       ", n->node);
		JU64(f, ", ", "active_objs", n->active_objs);
		JU64(f, ", ", "num_objs", n->num_objs);
		JU64(f, ", ", "active_slabs", n->active_slabs);
		JU64(f, ", ", "num_slabs", n->num_slabs);
		JU64(f, ", ", "full_slabs", n->full_slabs);
		JU64(f, ", ", "partial_slabs", n->partial_slabs);
		JU64(f, ", ", "free_slabs", n->free_slabs);
		JU64(f, ", ", "free_objects", n->free_objects);
		JU64(f, ", ", "free_limit", n->free_limit);
		JU64(f, ", ", "sharedavail", n->shared_avail);
		JU64(f, ", ", "cpu_avail", n->cpu_avail);
		JU64(f, ", ", "alien_avail", n->alien_avail);
		fputc('}', f);
	}
	fputs("]}", f);
}

static void json_tenant(FILE *f, const struct uslab_stats_snapshot *snap,
			const struct uslab_stats_tenant *t)
{
	char name[USLAB_STATS_TENANT_NAME_LEN], path[USLAB_STATS_PATH_LEN];

	memcpy(name, t->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	memcpy(path, t->path, sizeof(path));
	path[sizeof(path) - 1] = '\0';
	fputs("    {\"name\": ", f);
	json_string(f, name);
	JU64(f, ", ", "id", t->id);
	JU64(f, ", ", "parent_id", t->parent_id);
	fputs(", \"path\": ", f);
	json_string(f, path);
	fprintf(f, ", \"online\": %s", t->flags & USLAB_STATS_TENANT_ONLINE ? "true" : "false");
	JU64(f, ",\n     ", "memory.current", t->current);
	JU64(f, ", ", "memory.peak", t->peak);
	fputs(", \"memory.max\": ", f);
	json_limit(f, t->max);
	fputs(", \"memory.high\": ", f);
	json_limit(f, t->high);
	fputs(",\n     ", f);
	json_events(f, "memory.events", t->events);
	fputs(",\n     ", f);
	json_events(f, "memory.events.local", t->events_local);
	fputs(",\n     \"memory.stat\": {", f);
	JU64(f, "", "slab", t->slab);
	JU64(f, ", ", "slab_reclaimable", t->slab_reclaimable);
	JU64(f, ", ", "slab_unreclaimable", t->slab_unreclaimable);
	JU64(f, ", ", "kmalloc_large", t->kmalloc_large);
	fputs("},\n     \"slab_caches\": {", f);
	for (uint64_t k = 0; k < t->nr_slab; k++) {
		const struct uslab_stats_tenant_slab *ts;
		char cache[USLAB_STATS_NAME_LEN];

		if ((uint64_t)t->slab_first + k >= snap->nr_tenant_slabs)
			break;
		ts = &snap->tenant_slabs[t->slab_first + k];
		memcpy(cache, ts->cache, sizeof(cache));
		cache[sizeof(cache) - 1] = '\0';
		if (k)
			fputs(", ", f);
		json_string(f, cache);
		fprintf(f, ": %" PRIu64, ts->bytes);
	}
	fputs("}}", f);
}

int uslab_stats_print_json(const struct uslab_stats_snapshot *snap, FILE *f)
{
	const struct uslab_stats_header *h;
	char comm[sizeof(h->comm)];

	if (!snap || !f)
		return -EINVAL;
	h = &snap->header;
	memcpy(comm, h->comm, sizeof(comm));
	comm[sizeof(comm) - 1] = '\0';
	fprintf(f, "{\n  \"version\": %" PRIu32 ", \"pid\": %" PRIu32 ", \"comm\": ",
		h->version, h->pid);
	json_string(f, comm);
	fprintf(f, ", \"time\": %" PRIu64 ".%03" PRIu64 ", \"generation\": %" PRIu64 ",\n",
		(uint64_t)(h->update_time_ns / 1000000000u),
		(uint64_t)(h->update_time_ns % 1000000000u / 1000000u),
		h->generation);
	fprintf(f, "  \"page_size\": %" PRIu32 ", \"nr_nodes\": %" PRIu32
		   ", \"nr_cpus\": %" PRIu32 ", \"period_ms\": %" PRIu32 ",\n",
		h->page_size, h->nr_nodes, h->nr_cpus, h->period_ms);
	fputs("  \"caches\": [", f);
	for (size_t k = 0; k < snap->nr_caches; k++) {
		fputs(k ? ",\n" : "\n", f);
		json_cache(f, snap, &snap->caches[k]);
	}
	fputs("\n  ],\n  \"tenants\": [", f);
	for (size_t k = 0; k < snap->nr_tenants; k++) {
		fputs(k ? ",\n" : "\n", f);
		json_tenant(f, snap, &snap->tenants[k]);
	}
	fputs("\n  ]\n}\n", f);
	return ferror(f) ? -EIO : 0;
}

int uslab_slabinfo_json(FILE *f)
{
	struct uslab_stats_snapshot snap;
	int err;

	if (!f)
		return -EINVAL;
	err = uslab_stats_collect(&snap);
	if (err)
		return err;
	err = uslab_stats_print_json(&snap, f);
	uslab_stats_snapshot_free(&snap);
	return err;
}

/* ---- the published file ------------------------------------------------------- */

static struct {
	pthread_mutex_t ctl;              /* start/stop/atexit */
	pthread_mutex_t write;            /* everything from fd to scratch */
	pthread_mutex_t lock;             /* leaf: the thread's fields */
	pthread_cond_t wake;

	/* lock */
	pthread_t thread;
	bool thread_running;
	bool stop;
	unsigned int period_ms;           /* also written under write; atomic */

	/* write (enabled and last_mono_ns also read with atomics) */
	bool enabled;                     /* publishing was asked for */
	pid_t owner;                      /* the process that created the file */
	int fd;
	struct uslab_stats_header *map;   /* NULL until the first refresh */
	size_t map_size;
	struct uslab_stats_header layout; /* the file's sections and size */
	char name[32];
	uint64_t start_ns;
	uint64_t last_mono_ns;
	struct stats_arrays scratch;
} pub = {
	.ctl = PTHREAD_MUTEX_INITIALIZER,
	.write = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.fd = -1,
};

/* USLAB_STATS_MS, or the default when unset or refused (the refusal is said). */
static unsigned int env_period_ms(void)
{
	unsigned long ms = STATS_DEFAULT_MS;

	if (env_get_ulong("USLAB_STATS_MS", 1, 3600000, &ms) < 0)
		ms = STATS_DEFAULT_MS;
	return (unsigned int)ms;
}

/* Sections laid out for capacities @cap, 64-byte aligned, file in whole pages. */
static void layout_sections(struct uslab_stats_header *h, const size_t *cap)
{
	uint64_t off = ALIGN_UP((uint64_t)sizeof(*h), 64);

	for (int sec = 0; sec < USLAB_STATS_NR_SECTIONS; sec++) {
		h->sections[sec].offset = off;
		h->sections[sec].record_size = record_size[sec];
		h->sections[sec].capacity = (uint32_t)cap[sec];
		off = ALIGN_UP(off + (uint64_t)cap[sec] * record_size[sec], 64);
	}
	h->file_size = ALIGN_UP(off, (uint64_t)PAGE_SIZE);
}

/* Make the file hold the scratch snapshot's counts (pub.write held); 0 or -errno. */
static int file_reserve_locked(void)
{
	const struct uslab_stats_snapshot *snap = &pub.scratch.snap;
	const size_t count[USLAB_STATS_NR_SECTIONS] = {
		snap->nr_caches, snap->nr_cache_nodes, snap->nr_tenants, snap->nr_tenant_slabs,
	};
	size_t cap[USLAB_STATS_NR_SECTIONS];
	bool grow = !pub.map;
	void *map;
	int err;

	for (int sec = 0; sec < USLAB_STATS_NR_SECTIONS; sec++) {
		cap[sec] = pub.layout.sections[sec].capacity;
		if (count[sec] > cap[sec] || !cap[sec]) {
			cap[sec] = MAX(cap[sec], (size_t)32);
			while (cap[sec] < count[sec])
				cap[sec] *= 2;
			grow = true;
		}
	}
	if (!grow)
		return 0;
	layout_sections(&pub.layout, cap);
	/* Allocate the pages now: a full /dev/shm gives ENOSPC here, not SIGBUS later. */
	err = posix_fallocate(pub.fd, 0, (off_t)pub.layout.file_size);
	if (err)
		return -err;
	map = mmap(NULL, pub.layout.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, pub.fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	if (pub.map)
		munmap(pub.map, pub.map_size);
	pub.map = map;
	pub.map_size = pub.layout.file_size;
	return 0;
}

/* Copy the scratch snapshot into the file under the sequence lock (pub.write held). */
static void file_write_locked(void)
{
	struct uslab_stats_snapshot *snap = &pub.scratch.snap;
	struct uslab_stats_header *h = &snap->header;
	const void *arrays[USLAB_STATS_NR_SECTIONS] = {
		snap->caches, snap->cache_nodes, snap->tenants, snap->tenant_slabs,
	};
	const size_t gen = offsetof(struct uslab_stats_header, generation);

	for (int sec = 0; sec < USLAB_STATS_NR_SECTIONS; sec++) {
		h->sections[sec].offset = pub.layout.sections[sec].offset;
		h->sections[sec].capacity = pub.layout.sections[sec].capacity;
	}
	h->file_size = pub.layout.file_size;

	uslab_stats_write_begin(pub.map);
	/* Every header word but the generation, which write_begin/_end own. */
	uslab_stats_store(pub.map, h, gen);
	uslab_stats_store((char *)pub.map + gen + 8, (const char *)h + gen + 8,
			  sizeof(*h) - gen - 8);
	for (int sec = 0; sec < USLAB_STATS_NR_SECTIONS; sec++)
		uslab_stats_store((char *)pub.map + h->sections[sec].offset, arrays[sec],
				  (size_t)h->sections[sec].count * record_size[sec]);
	uslab_stats_write_end(pub.map);
	h->generation = __atomic_load_n(&pub.map->generation, __ATOMIC_RELAXED);
}

static int file_create_locked(void)
{
	pub.owner = getpid();
	snprintf(pub.name, sizeof(pub.name), USLAB_STATS_SHM_PREFIX "%ld", (long)pub.owner);
	/*
	 * A new object, never a truncated one: a reader may still map the file
	 * of an exited process whose pid we reuse, and a file shrinking under a
	 * mapping would kill that reader with SIGBUS.
	 */
	shm_unlink(pub.name);
	pub.fd = shm_open(pub.name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (pub.fd < 0)
		return -errno;
	memset(&pub.layout, 0, sizeof(pub.layout));
	pub.start_ns = clock_ns(CLOCK_REALTIME);
	return 0;
}

static void file_close_locked(bool unlink)
{
	if (pub.map)
		munmap(pub.map, pub.map_size);
	if (pub.fd >= 0) {
		close(pub.fd);
		if (unlink)
			shm_unlink(pub.name);
	}
	pub.map = NULL;
	pub.map_size = 0;
	pub.fd = -1;
	memset(&pub.layout, 0, sizeof(pub.layout));
}

/* One refresh, creating the file on the first (pub.write held); 0 or -errno. */
static int publish_locked(void)
{
	bool created = false;
	int err;

	/* Collect before creating: a new file has data within a copy's time. */
	err = stats_collect_into(&pub.scratch, READ_ONCE(pub.period_ms), pub.start_ns);
	if (err)
		return err;
	if (pub.fd < 0) {
		err = file_create_locked();
		if (err)
			return err;
		pub.scratch.snap.header.start_time_ns = pub.start_ns;
		created = true;
	}
	err = file_reserve_locked();
	if (err) {
		if (created)
			file_close_locked(true);
		return err;
	}
	file_write_locked();
	__atomic_store_n(&pub.last_mono_ns, clock_ns(CLOCK_MONOTONIC), __ATOMIC_RELAXED);
	return 0;
}

/* Refresh unless one happened less than @min_age_ns ago; only once initialised. */
static void refresh_if_due(uint64_t min_age_ns)
{
	uint64_t last;

	if (!__atomic_load_n(&pub.enabled, __ATOMIC_RELAXED) ||
	    !__atomic_load_n(&uslab_initialized, __ATOMIC_ACQUIRE))
		return;
	last = __atomic_load_n(&pub.last_mono_ns, __ATOMIC_RELAXED);
	if (last && clock_ns(CLOCK_MONOTONIC) - last < min_age_ns)
		return;
	pthread_mutex_lock(&pub.write);
	if (pub.enabled)
		publish_locked();
	pthread_mutex_unlock(&pub.write);
}

void stats_reaper_tick(void)
{
	refresh_if_due((uint64_t)READ_ONCE(pub.period_ms) * 1000000ull);
}

static void *refresher_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pub.lock);
	while (!pub.stop) {
		unsigned int ms = READ_ONCE(pub.period_ms);
		struct timespec ts;

		/* Until the library is up and the file exists, look more often. */
		if (!__atomic_load_n(&pub.last_mono_ns, __ATOMIC_RELAXED) && ms > STATS_FIRST_POLL_MS)
			ms = STATS_FIRST_POLL_MS;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&pub.wake, &pub.lock, &ts) != ETIMEDOUT || pub.stop)
			continue;
		ms = READ_ONCE(pub.period_ms);
		pthread_mutex_unlock(&pub.lock);
		/* Skip a period in which the reaper (or uslab_stats_refresh) refreshed. */
		refresh_if_due((uint64_t)ms * 500000ull);
		pthread_mutex_lock(&pub.lock);
	}
	pthread_mutex_unlock(&pub.lock);
	return NULL;
}

/* Start the thread or change its period (pub.ctl held); 0 or -errno. */
static int thread_start_ctl(unsigned int period_ms)
{
	pthread_condattr_t attr;
	sigset_t all, old;
	int err = 0;

	pthread_mutex_lock(&pub.lock);
	WRITE_ONCE(pub.period_ms, period_ms);
	if (pub.thread_running) {
		pthread_cond_signal(&pub.wake);
		pthread_mutex_unlock(&pub.lock);
		return 0;
	}
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pub.wake, &attr);
	pthread_condattr_destroy(&attr);
	pub.stop = false;
	/* The thread takes no signal meant for the program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&pub.thread, NULL, refresher_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pub.thread_running = err == 0;
	pthread_mutex_unlock(&pub.lock);
	return err;
}

/* Stop the thread (pub.ctl held); with @timeout_s, give up waiting after it. */
static void thread_stop_ctl(int timeout_s)
{
	pthread_t thread;

	pthread_mutex_lock(&pub.lock);
	if (!pub.thread_running) {
		pthread_mutex_unlock(&pub.lock);
		return;
	}
	pub.stop = true;
	pub.thread_running = false;
	thread = pub.thread;
	pthread_cond_signal(&pub.wake);
	pthread_mutex_unlock(&pub.lock);
	if (timeout_s) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += timeout_s;
		if (pthread_timedjoin_np(thread, NULL, &ts) != 0)
			pthread_detach(thread);
	} else {
		pthread_join(thread, NULL);
	}
}

/* At exit: stop the thread (bounded wait) and remove our file. */
static void stats_atexit(void)
{
	if (pthread_mutex_trylock(&pub.ctl) != 0) {
		/* A start or stop is running: still remove the file, by name. */
		if (__atomic_load_n(&pub.enabled, __ATOMIC_RELAXED) && pub.owner == getpid())
			shm_unlink(pub.name);
		return;
	}
	thread_stop_ctl(2);
	__atomic_store_n(&pub.enabled, false, __ATOMIC_RELAXED);
	if (pthread_mutex_trylock(&pub.write) == 0) {
		file_close_locked(pub.owner == getpid());
		pthread_mutex_unlock(&pub.write);
	} else if (pub.owner == getpid()) {
		shm_unlink(pub.name);
	}
	pthread_mutex_unlock(&pub.ctl);
}

/* In a forked child: publish nothing, leave the parent's file, reset the locks. */
static void stats_atfork_child(void)
{
	pthread_mutex_init(&pub.ctl, NULL);
	pthread_mutex_init(&pub.write, NULL);
	pthread_mutex_init(&pub.lock, NULL);
	pub.thread_running = false;
	pub.stop = false;
	pub.enabled = false;
	file_close_locked(false);
	pub.last_mono_ns = 0;
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void hooks_install(void)
{
	atexit(stats_atexit);
	pthread_atfork(NULL, NULL, stats_atfork_child);
}

int uslab_stats_publish_start(unsigned int period_ms)
{
	int err;

	if (!period_ms)
		period_ms = env_period_ms();
	err = uslab_ensure_init();
	if (err)
		return err;
	pthread_once(&hooks_once, hooks_install);
	pthread_mutex_lock(&pub.ctl);
	pthread_mutex_lock(&pub.write);
	WRITE_ONCE(pub.period_ms, period_ms);
	__atomic_store_n(&pub.enabled, true, __ATOMIC_RELAXED);
	err = publish_locked();
	if (err)
		__atomic_store_n(&pub.enabled, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pub.write);
	if (!err)
		err = thread_start_ctl(period_ms);
	pthread_mutex_unlock(&pub.ctl);
	if (err)
		uslab_stats_publish_stop();
	return err;
}

void uslab_stats_publish_stop(void)
{
	pthread_mutex_lock(&pub.ctl);
	thread_stop_ctl(0);
	pthread_mutex_lock(&pub.write);
	__atomic_store_n(&pub.enabled, false, __ATOMIC_RELAXED);
	file_close_locked(pub.owner == getpid());
	arrays_release(&pub.scratch);
	__atomic_store_n(&pub.last_mono_ns, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pub.write);
	pthread_mutex_unlock(&pub.ctl);
}

int uslab_stats_refresh(void)
{
	int err = -ENOENT;

	if (!__atomic_load_n(&pub.enabled, __ATOMIC_RELAXED))
		return -ENOENT;
	if (uslab_ensure_init())
		return -errno;
	pthread_mutex_lock(&pub.write);
	if (pub.enabled)
		err = publish_locked();
	pthread_mutex_unlock(&pub.write);
	return err;
}

/*
 * stats_init_from_env - USLAB_STATS=1: publish, every USLAB_STATS_MS. Starts
 * only the thread (init_lock is held); its first refresh creates the file.
 * Runs once.
 */
void stats_init_from_env(void)
{
	static bool done;
	const char *v = getenv("USLAB_STATS");
	unsigned int period_ms;

	if (__atomic_exchange_n(&done, true, __ATOMIC_ACQ_REL))
		return;
	if (!v || !*v || *v == '0' || *v == 'n' || *v == 'N')
		return;
	period_ms = env_period_ms();
	pthread_once(&hooks_once, hooks_install);
	pthread_mutex_lock(&pub.ctl);
	pthread_mutex_lock(&pub.write);
	WRITE_ONCE(pub.period_ms, period_ms);
	__atomic_store_n(&pub.enabled, true, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pub.write);
	if (thread_start_ctl(period_ms))
		__atomic_store_n(&pub.enabled, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pub.ctl);
}

/* ---- reading another process's file ---------------------------------------------- */

/* Check a header copy against the mapping's size; 0, -EPROTO or -EAGAIN (remap). */
static int header_check(const struct uslab_stats_header *h, size_t map_size)
{
	if (h->magic != USLAB_STATS_MAGIC || h->version != USLAB_STATS_VERSION ||
	    h->header_size < offsetof(struct uslab_stats_header, reserved) ||
	    h->header_size % 8 || h->header_size > map_size)
		return -EPROTO;
	if (h->file_size > map_size)
		return -EAGAIN;
	for (int sec = 0; sec < USLAB_STATS_NR_SECTIONS; sec++) {
		const struct uslab_stats_section *s = &h->sections[sec];

		if (s->record_size < 8 || s->record_size % 8 || s->record_size > STATS_MAX_RECORD ||
		    s->count > s->capacity || s->capacity > STATS_MAX_RECORDS || s->offset % 8 ||
		    s->offset > h->file_size ||
		    (uint64_t)s->capacity * s->record_size > h->file_size - s->offset)
			return -EPROTO;
	}
	return 0;
}

static int stats_map(int fd, void **map, size_t *size)
{
	struct stat st;

	if (*map)
		munmap(*map, *size);
	*map = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((size_t)st.st_size < sizeof(struct uslab_stats_header))
		return -EAGAIN; /* being created */
	*map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return -errno;
	}
	*size = (size_t)st.st_size;
	return 0;
}

/* One attempt at a consistent copy; 0, -EAGAIN (retry), -ESTALE (remap) or -errno. */
static int read_once(const void *map, size_t map_size, struct stats_arrays *a)
{
	const struct uslab_stats_header *mh = map;
	struct uslab_stats_snapshot *snap = &a->snap;
	struct uslab_stats_header h;
	uint64_t gen = uslab_stats_read_begin(mh);
	size_t hsize;
	int err;

	if (gen & 1)
		return -EAGAIN;
	memset(&h, 0, sizeof(h));
	uslab_stats_load(&h, map, offsetof(struct uslab_stats_header, header_size) + 4);
	if (h.magic == 0) /* the first refresh is not written yet */
		return -EAGAIN;
	hsize = MIN((size_t)h.header_size, sizeof(h));
	if (h.header_size % 8 == 0 && h.header_size <= map_size)
		uslab_stats_load(&h, map, hsize);
	err = header_check(&h, map_size);
	if (err) {
		if (uslab_stats_read_retry(mh, gen))
			return -EAGAIN;
		return err == -EAGAIN ? -ESTALE : err;
	}
	for (int sec = 0; sec < USLAB_STATS_NR_SECTIONS; sec++) {
		const struct uslab_stats_section *s = &h.sections[sec];
		size_t n = MIN((size_t)s->record_size, (size_t)record_size[sec]);
		char *dst;

		if (arrays_reserve(a, sec, s->count))
			return -ENOMEM;
		dst = *section_array(snap, sec);
		for (uint32_t k = 0; k < s->count; k++) {
			char *rec = dst + (size_t)k * record_size[sec];

			uslab_stats_load(rec, (const char *)map + s->offset + (size_t)k * s->record_size, n);
			memset(rec + n, 0, record_size[sec] - n);
		}
	}
	if (uslab_stats_read_retry(mh, gen))
		return -EAGAIN;
	h.generation = gen;
	snap->header = h;
	snap->nr_caches = h.sections[USLAB_STATS_CACHES].count;
	snap->nr_cache_nodes = h.sections[USLAB_STATS_CACHE_NODES].count;
	snap->nr_tenants = h.sections[USLAB_STATS_TENANTS].count;
	snap->nr_tenant_slabs = h.sections[USLAB_STATS_TENANT_SLABS].count;
	return 0;
}

int uslab_stats_read(pid_t pid, struct uslab_stats_snapshot *snap)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + STATS_READ_TIMEOUT_NS;
	struct stats_arrays a;
	char name[32];
	void *map = NULL;
	size_t map_size = 0;
	int fd, err;

	if (!snap || pid <= 0)
		return -EINVAL;
	memset(snap, 0, sizeof(*snap));
	snprintf(name, sizeof(name), USLAB_STATS_SHM_PREFIX "%ld", (long)pid);
	fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	err = 0;
	for (unsigned int tries = 0;; tries++) {
		err = !map || err == -ESTALE ? stats_map(fd, &map, &map_size) : 0;
		if (!err)
			err = read_once(map, map_size, &a);
		if (!err)
			break;
		if ((err != -EAGAIN && err != -ESTALE) || clock_ns(CLOCK_MONOTONIC) > deadline) {
			if (err == -ESTALE)
				err = -EAGAIN;
			break;
		}
		/* A refresh is being written: spin a little, then sleep 100 us a try. */
		if (tries >= 64) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
	if (map)
		munmap(map, map_size);
	close(fd);
	free(a.ids);
	free(a.statbuf);
	if (err) {
		uslab_stats_snapshot_free(&a.snap);
		return err;
	}
	*snap = a.snap;
	return 0;
}
