// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/debug.c - catching misuse: the always-on double-free check (per-object
 * state bytes), the kernel's SLAB debug features selectable per cache
 * (SLAB_RED_ZONE guard words, SLAB_POISON patterns, SLAB_STORE_USER call
 * sites, or USLAB_DEBUG="FZPU,cache,..." with the slub_debug= syntax), leak
 * reports, and the hooks that tell Valgrind (memcheck client requests) and
 * AddressSanitizer (poisoning plus a bounded quarantine, the kernel's KASAN
 * role) where objects begin and end.
 *
 * Slot layout of a debug cache, from the slot start:
 *   [red zone 1: obj_offset bytes, last 8 checked][object][pad to 8]
 *   [red zone 2: 8 bytes][request: 8 bytes][alloc track][free track][pad to align]
 * Red zones hold RED_INACTIVE while the object is free and RED_ACTIVE while it
 * is allocated; poisoned free objects hold 0x6b ending in 0xa5 and are
 * filled with 0x5a when allocated. The request (red-zoned caches only) is
 * the size the caller asked for: kmalloc() asks for less than its class,
 * and the slack up to the object size is a red zone of RED_SLACK bytes too,
 * checked on free and by validation (Linux 6.2 SLUB's orig_size); ksize()
 * hands the whole object out and ends that check for the object, as the
 * kernel's __ksize() does. Poisoning is skipped for caches with a
 * constructor or SLAB_TYPESAFE_BY_RCU, whose free objects must keep their
 * contents (as SLUB does).
 *
 * quarantine.lock (LOCK_LEAF) protects the ASan quarantine ring; objects
 * leave it with no lock held.
 */
#include "lib/slab.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_MEMCHECK_H
#include <valgrind/memcheck.h>
#else
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_MALLOCLIKE_BLOCK(a, s, r, z) ((void)0)
#define VALGRIND_FREELIKE_BLOCK(a, r) ((void)0)
#define VALGRIND_MAKE_MEM_DEFINED(a, s) ((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(a, s) ((void)0)
#define VALGRIND_MAKE_MEM_UNDEFINED(a, s) ((void)0)
#endif

#ifdef USLAB_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(a, s) ((void)(a), (void)(s))
#define ASAN_UNPOISON_MEMORY_REGION(a, s) ((void)(a), (void)(s))
#endif

#define RED_INACTIVE 0x09F911029D74E35BULL
#define RED_ACTIVE   0xD84156C5635688C0ULL
#define POISON_INUSE 0x5a
#define POISON_FREE  0x6b
#define POISON_END   0xa5
#define RED_SLACK    0xcc	/* past a kmalloc request: SLUB's SLUB_RED_ACTIVE byte */

struct slab_track {
	const void *addr;      /* call site */
	int tid;
	uint64_t when_ns;      /* CLOCK_MONOTONIC */
};

/* What the allocation asked for, in the slot of every red-zoned cache. */
struct obj_request {
	unsigned int size;     /* bytes; object_size unless kmalloc() asked for less */
	unsigned int zeroed;   /* __GFP_ZERO: ksize() hands the slack out as zeroes */
};
_Static_assert(sizeof(struct obj_request) == sizeof(uint64_t), "one word after red zone 2");

static inline bool cache_poisons(const struct kmem_cache *s)
{
	return (s->flags & SLAB_POISON) && !s->ctor && !(s->flags & SLAB_TYPESAFE_BY_RCU);
}

static inline uint64_t *red_zone1(const struct kmem_cache *s, void *obj)
{
	(void)s;
	return (uint64_t *)((char *)obj - sizeof(uint64_t));
}

static inline uint64_t *red_zone2(const struct kmem_cache *s, void *obj)
{
	return (uint64_t *)((char *)obj + s->rz2_offset);
}

static inline struct obj_request *obj_request(const struct kmem_cache *s, void *obj)
{
	return (struct obj_request *)((char *)obj + s->rz2_offset + sizeof(uint64_t));
}

static inline struct slab_track *obj_tracks(const struct kmem_cache *s, void *obj)
{
	return (struct slab_track *)((char *)obj + s->track_offset);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- layout and selection ---------------------------------------------------------- */

void debug_calculate_layout(struct kmem_cache *s)
{
	unsigned int off = 0, tail;

	if (s->flags & SLAB_RED_ZONE)
		off = MAX(s->align, (unsigned int)sizeof(uint64_t));
	s->obj_offset = off;
	s->rz2_offset = ALIGN_UP(s->object_size, (unsigned int)sizeof(uint64_t));
	s->track_offset = s->rz2_offset + ((s->flags & SLAB_RED_ZONE) ?
					   sizeof(uint64_t) + sizeof(struct obj_request) : 0);
	tail = s->track_offset + ((s->flags & SLAB_STORE_USER) ? 2 * sizeof(struct slab_track) : 0);
	if (s->flags & SLAB_DEBUG_FLAGS)
		s->size = ALIGN_UP(off + MAX(tail, s->object_size), s->align);
}

/*
 * USLAB_DEBUG, like slub_debug=: blocks separated by ';', each "FLAGS" or
 * "FLAGS,cache,cache*". Letters: F consistency checks, Z red zone, P poison,
 * U store user, A failslab, T trace (ignored), O (ignored), - none. Without
 * letters (USLAB_DEBUG=1 or empty) every cache gets FZPU.
 */
slab_flags_t debug_flags_for(const char *name)
{
	const char *env = getenv("USLAB_DEBUG");
	slab_flags_t result = 0;
	char buf[1024];

	if (!env)
		return 0;
	if (!*env || !strcmp(env, "1"))
		return SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER;
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *save = NULL, *block = strtok_r(buf, ";", &save); block;
	     block = strtok_r(NULL, ";", &save)) {
		char *save2 = NULL, *flags = strtok_r(block, ",", &save2), *cache;
		slab_flags_t f = 0;
		bool any_cache = false, match = false;

		for (const char *c = flags; c && *c; c++) {
			switch (*c) {
			case 'F': case 'f': f |= SLAB_CONSISTENCY_CHECKS; break;
			case 'Z': case 'z': f |= SLAB_RED_ZONE; break;
			case 'P': case 'p': f |= SLAB_POISON; break;
			case 'U': case 'u': f |= SLAB_STORE_USER; break;
			case 'A': case 'a': f |= SLAB_FAILSLAB; break;
			default: break;
			}
		}
		while ((cache = strtok_r(NULL, ",", &save2)) != NULL) {
			any_cache = true;
			if (fnmatch(cache, name, 0) == 0)
				match = true;
		}
		if (!any_cache || match)
			result |= f;
	}
	return result;
}

/* ---- per-object hooks ---------------------------------------------------------------- */

void debug_init_object(struct kmem_cache *s, void *obj)
{
	if (s->flags & SLAB_RED_ZONE) {
		*red_zone1(s, obj) = RED_INACTIVE;
		*red_zone2(s, obj) = RED_INACTIVE;
		*obj_request(s, obj) = (struct obj_request){ s->object_size, 0 };
	}
	if (s->flags & SLAB_STORE_USER)
		memset(obj_tracks(s, obj), 0, 2 * sizeof(struct slab_track));
	if (cache_poisons(s)) {
		memset(obj, POISON_FREE, s->object_size - 1);
		((uint8_t *)obj)[s->object_size - 1] = POISON_END;
	}
}

static void track_set(struct kmem_cache *s, void *obj, int which, const void *caller)
{
	struct slab_track *t = &obj_tracks(s, obj)[which];

	t->addr = caller;
	t->tid = (int)syscall(SYS_gettid);
	t->when_ns = now_ns();
}

static void track_describe(struct kmem_cache *s, void *obj, int which, char *buf, size_t len)
{
	struct slab_track *t = &obj_tracks(s, obj)[which];

	if (!(s->flags & SLAB_STORE_USER) || !t->addr) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "\n  %s by %p in thread %d, %.3f s ago", which ? "last freed" : "allocated",
		 t->addr, t->tid, (double)(now_ns() - t->when_ns) / 1e9);
}

static void check_red_zones(struct kmem_cache *s, void *obj, uint64_t expect, const char *when)
{
	uint64_t *rz1 = red_zone1(s, obj), *rz2 = red_zone2(s, obj);

	if (likely(*rz1 == expect && *rz2 == expect))
		return;
	char a[160], f[160];
	track_describe(s, obj, 0, a, sizeof(a));
	track_describe(s, obj, 1, f, sizeof(f));
	slab_report(s, obj, "red zone overwritten %s: before the object 0x%016llx%s, after it "
		    "0x%016llx%s (expected 0x%016llx)%s%s", when, (unsigned long long)*rz1,
		    *rz1 != expect ? " (BAD)" : "", (unsigned long long)*rz2,
		    *rz2 != expect ? " (BAD)" : "", (unsigned long long)expect, a, f);
	*rz1 = *rz2 = expect;
}

/*
 * The slack of a kmalloc object, from the size asked for to the object size,
 * still holds RED_SLACK; else report the first byte changed and restore it.
 */
static bool check_slack(struct kmem_cache *s, void *obj, bool report)
{
	struct obj_request *r = obj_request(s, obj);
	unsigned int from = MIN(r->size, s->object_size);
	uint8_t *p = obj;

	for (unsigned int i = from; i < s->object_size; i++) {
		if (likely(p[i] == RED_SLACK))
			continue;
		if (report) {
			char a[160];

			track_describe(s, obj, 0, a, sizeof(a));
			slab_report(s, obj, "red zone overwritten while the object was allocated: "
				    "byte %u of %u is 0x%02x (expected 0x%02x), past the %u bytes "
				    "kmalloc was asked for%s", i, s->object_size, p[i], RED_SLACK,
				    r->size, a);
			memset(p + from, RED_SLACK, s->object_size - from);
		}
		return false;
	}
	return true;
}

static void check_poison(struct kmem_cache *s, void *obj)
{
	const uint8_t *p = obj;
	size_t n = s->object_size;

	for (size_t i = 0; i < n; i++) {
		uint8_t want = i == n - 1 ? POISON_END : POISON_FREE;

		if (likely(p[i] == want))
			continue;
		char f[160];
		track_describe(s, obj, 1, f, sizeof(f));
		slab_report(s, obj, "poison overwritten at offset %zu (0x%02x, expected 0x%02x): written "
			    "after it was freed%s", i, p[i], want, f);
		return;
	}
}

void debug_post_alloc(struct kmem_cache *s, void *obj, gfp_t flags, const void *caller)
{
	(void)flags;
	/* TYPESAFE_BY_RCU objects stay readable when free: no block to track. */
	if (s->tool_hooks && !(s->flags & SLAB_TYPESAFE_BY_RCU)) {
		ASAN_UNPOISON_MEMORY_REGION(obj, s->object_size);
		VALGRIND_MALLOCLIKE_BLOCK(obj, s->object_size, 0, 0);
		/* A constructed object's bytes are defined, as the constructor left them. */
		if (s->ctor || (s->flags & SLAB_TYPESAFE_BY_RCU))
			VALGRIND_MAKE_MEM_DEFINED(obj, s->object_size);
	}
	if (s->flags & SLAB_RED_ZONE) {
		VALGRIND_MAKE_MEM_DEFINED(red_zone1(s, obj), sizeof(uint64_t));
		VALGRIND_MAKE_MEM_DEFINED(red_zone2(s, obj), 2 * sizeof(uint64_t));
		check_red_zones(s, obj, RED_INACTIVE, "while the object was free");
		*red_zone1(s, obj) = RED_ACTIVE;
		*red_zone2(s, obj) = RED_ACTIVE;
		/* The whole object, unless kmalloc() says less (debug_kmalloc_request). */
		*obj_request(s, obj) = (struct obj_request){ s->object_size, 0 };
	}
	if (cache_poisons(s)) {
		VALGRIND_MAKE_MEM_DEFINED(obj, s->object_size);
		check_poison(s, obj);
		memset(obj, POISON_INUSE, s->object_size);
		VALGRIND_MAKE_MEM_UNDEFINED(obj, s->object_size);
	}
	if (s->flags & SLAB_STORE_USER)
		track_set(s, obj, 0, caller);
}

void debug_kmalloc_request(struct kmem_cache *s, void *obj, size_t size, gfp_t flags)
{
	*obj_request(s, obj) = (struct obj_request){ (unsigned int)size, !!(flags & __GFP_ZERO) };
	memset((char *)obj + size, RED_SLACK, s->object_size - size);
}

void debug_kmalloc_ksize(struct kmem_cache *s, struct slab *slab, void *obj)
{
	struct obj_request *r = obj_request(s, obj);

	if (slab_obj_state(s, slab)[slab_obj_to_index(s, slab, obj)] != OBJ_ALLOCATED ||
	    r->size >= s->object_size)
		return;
	/* The caller may use the whole object now: what __GFP_ZERO would have cleared is clear. */
	if (r->zeroed)
		memset((char *)obj + r->size, 0, s->object_size - r->size);
	r->size = s->object_size;
}

void debug_double_free(struct kmem_cache *s, struct slab *slab, void *obj, const void *caller)
{
	char a[160], f[160];

	(void)slab;
	track_describe(s, obj, 0, a, sizeof(a));
	track_describe(s, obj, 1, f, sizeof(f));
	slab_report(s, obj, "double free (freed again by %p): the object is already free%s%s", caller,
		    a, f);
}

bool debug_pre_free(struct kmem_cache *s, struct slab *slab, void *obj, const void *caller)
{
	if (s->flags & SLAB_RED_ZONE) {
		check_red_zones(s, obj, RED_ACTIVE, "while the object was allocated");
		check_slack(s, obj, true);
		*red_zone1(s, obj) = RED_INACTIVE;
		*red_zone2(s, obj) = RED_INACTIVE;
	}
	if (s->flags & SLAB_STORE_USER)
		track_set(s, obj, 1, caller);
	if (cache_poisons(s)) {
		memset(obj, POISON_FREE, s->object_size - 1);
		((uint8_t *)obj)[s->object_size - 1] = POISON_END;
	}
	if (s->tool_hooks && !(s->flags & SLAB_TYPESAFE_BY_RCU)) {
		VALGRIND_FREELIKE_BLOCK(obj, 0);
		return quarantine_put(s, slab, obj);
	}
	return true;
}

/* ---- tools: Valgrind and ASan over whole slabs --------------------------------------- */

bool slab_tools_active;

void debug_tools_init(void)
{
#ifdef USLAB_ASAN
	slab_tools_active = true;
#endif
	/* USLAB_VALGRIND=0 keeps client requests off, e.g. to count instructions with callgrind. */
	const char *v = getenv("USLAB_VALGRIND");
	if (RUNNING_ON_VALGRIND && !(v && *v == '0'))
		slab_tools_active = true;
}

void tool_object_freed_slow(struct kmem_cache *s, void *obj)
{
	/* Free objects are off limits; TYPESAFE ones stay readable for RCU readers. */
	if (s->flags & SLAB_TYPESAFE_BY_RCU)
		return;
	ASAN_POISON_MEMORY_REGION(obj, s->object_size);
	VALGRIND_MAKE_MEM_NOACCESS(obj, s->object_size);
}

void tool_slab_released_slow(struct kmem_cache *s, void *pages, size_t bytes)
{
	(void)s;
	ASAN_UNPOISON_MEMORY_REGION(pages, bytes);
	VALGRIND_MAKE_MEM_UNDEFINED(pages, bytes);
}

/* ---- ASan quarantine --------------------------------------------------------------- */

#define QUARANTINE_OBJECTS 4096
#define QUARANTINE_BYTES   (4ul << 20)

static struct {
	struct umutex lock;
	struct qentry {
		struct kmem_cache *s;
		struct slab *slab;
		void *obj;
	} ring[QUARANTINE_OBJECTS];
	unsigned int head, count;
	size_t bytes;
} quarantine = { .lock = UMUTEX_INITIALIZER(LOCK_LEAF) };

static void quarantine_release(struct qentry *e)
{
	if (cache_is_child(e->s))
		memcg_cache_free(e->s, e->obj, e->slab);
	else
		cache_free(e->s, e->obj, e->slab);
}

bool quarantine_put(struct kmem_cache *s, struct slab *slab, void *obj)
{
#ifdef USLAB_ASAN
	struct qentry out[8];
	unsigned int nout = 0;

	umutex_lock(&quarantine.lock);
	quarantine.ring[(quarantine.head + quarantine.count) % QUARANTINE_OBJECTS] =
		(struct qentry){ s, slab, obj };
	quarantine.count++;
	quarantine.bytes += s->object_size;
	/* The oldest leave when the ring or its byte budget is full. */
	while ((quarantine.count > QUARANTINE_OBJECTS - 1 || quarantine.bytes > QUARANTINE_BYTES) &&
	       nout < ARRAY_SIZE(out)) {
		out[nout] = quarantine.ring[quarantine.head];
		quarantine.bytes -= out[nout].s->object_size;
		quarantine.head = (quarantine.head + 1) % QUARANTINE_OBJECTS;
		quarantine.count--;
		nout++;
	}
	umutex_unlock(&quarantine.lock);
	for (unsigned int i = 0; i < nout; i++)
		quarantine_release(&out[i]);
	return false;
#else
	(void)s, (void)slab, (void)obj;
	return true;
#endif
}

unsigned long quarantine_count(struct kmem_cache *s)
{
	unsigned long n = 0;

	umutex_lock(&quarantine.lock);
	for (unsigned int i = 0; i < quarantine.count; i++)
		if (quarantine.ring[(quarantine.head + i) % QUARANTINE_OBJECTS].s == s)
			n++;
	umutex_unlock(&quarantine.lock);
	return n;
}

void quarantine_flush(struct kmem_cache *s)
{
	for (;;) {
		struct qentry e = { 0 };
		bool found = false;

		umutex_lock(&quarantine.lock);
		/* Move every entry of @s (or all when NULL) to the front and take one. */
		for (unsigned int i = 0; i < quarantine.count; i++) {
			unsigned int at = (quarantine.head + i) % QUARANTINE_OBJECTS;
			struct qentry *q = &quarantine.ring[at];

			if (s && q->s != s && q->s->memcg_params.root != s)
				continue;
			e = *q;
			*q = quarantine.ring[quarantine.head];
			quarantine.head = (quarantine.head + 1) % QUARANTINE_OBJECTS;
			quarantine.count--;
			quarantine.bytes -= e.s->object_size;
			found = true;
			break;
		}
		umutex_unlock(&quarantine.lock);
		if (!found)
			return;
		quarantine_release(&e);
	}
}

/* ---- leaks and validation ------------------------------------------------------------ */

static unsigned long leaks_in_list(struct kmem_cache *s, struct list_head *head, FILE *f,
				   unsigned long printed, unsigned long max_lines)
{
	unsigned long n = 0;
	struct slab *slab;

	list_for_each_entry(slab, head, list) {
		uint8_t *state = slab_obj_state(s, slab);

		for (unsigned int i = 0; i < s->num; i++) {
			if (state[i] != OBJ_ALLOCATED)
				continue;
			void *obj = slab_index_to_obj(s, slab, i);
			char a[160];

			if (f && printed + n < max_lines) {
				track_describe(s, obj, 0, a, sizeof(a));
				fprintf(f, "  object %p (node %d)%s\n", obj, slab->nid,
					a[0] ? a + 2 : "");
			}
			n++;
		}
	}
	return n;
}

/* List at most @max_lines objects (the count is always complete). */
long cache_leaks_report(struct kmem_cache *s, FILE *f, unsigned long max_lines)
{
	unsigned long n = 0;

	if (!s)
		return -EINVAL;
	if (f)
		fprintf(f, "uslab: cache %s: objects still allocated:\n", s->name);
	for (int nid = 0; nid < (int)nr_node_ids; nid++) {
		struct kmem_cache_node *node = s->node[nid];

		if (!node)
			continue;
		umutex_lock(&node->list_lock);
		n += leaks_in_list(s, &node->slabs_full, f, n, max_lines);
		n += leaks_in_list(s, &node->slabs_partial, f, n, max_lines);
		umutex_unlock(&node->list_lock);
	}
	if (f && n > max_lines)
		fprintf(f, "  ... and %lu more\n", n - max_lines);
	if (f)
		fprintf(f, "uslab: cache %s: %lu object%s leaked\n", s->name, n, n == 1 ? "" : "s");
	return (long)n;
}

long uslab_cache_leaks(struct kmem_cache *s, FILE *f)
{
	return cache_leaks_report(s, f, ~0ul);
}

/* Red zones of one object as validate sees them: 0 when consistent with @state. */
int debug_validate_object(struct kmem_cache *s, void *obj, uint8_t state)
{
	uint64_t expect = state == OBJ_ALLOCATED ? RED_ACTIVE : RED_INACTIVE;

	if (!(s->flags & SLAB_RED_ZONE))
		return 0;
	if (s->tool_hooks && state != OBJ_ALLOCATED)
		return 0; /* poisoned for the tools: not readable */
	if (state == OBJ_ALLOCATED && !check_slack(s, obj, false))
		return -1;
	return (*red_zone1(s, obj) == expect && *red_zone2(s, obj) == expect) ? 0 : -1;
}

void quarantine_fork(enum fork_phase phase)
{
	umutex_fork(&quarantine.lock, phase);
}
