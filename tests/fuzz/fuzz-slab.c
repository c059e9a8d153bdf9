// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/fuzz/fuzz-slab.c - libFuzzer target: the input is a program of
 * allocator operations (create, alloc, alloc_node, free, bulk, shrink,
 * destroy, tune, kmalloc incl. large, krealloc, kfree_rcu, tenant create,
 * switch, limit and destroy, CPU switch, fault injection, slabinfo) run
 * against a simple model of what must hold:
 *
 *   - every live object keeps the bytes the program wrote (a pattern tied to
 *     its address and a tag), checked on every free and on krealloc;
 *   - a constructed object comes back with the constructor's bytes, a
 *     SLAB_POISON object with 0x5a, a __GFP_ZERO object with zeroes;
 *   - no two live objects overlap; ksize() covers the request;
 *   - NULL is returned only with errno ENOMEM when fault injection or a
 *     tenant limit allows a failure (EINVAL for a bad node), and bulk
 *     allocation is all or nothing;
 *   - kmem_cache_shrink() reports live objects exactly (its tenant children's
 *     included), uslab_cache_leaks() the root's own; uslab_cache_destroy()
 *     returns -EBUSY exactly when the model holds objects of the cache (and
 *     prints the leak report naming it), 0 otherwise, merged aliases
 *     included; mem_cgroup_destroy() is -EBUSY exactly with online children;
 *   - uslab_cache_validate() passes on every cache the program reaches,
 *     every 64 operations and at the end.
 *
 * State is bounded (MAX_CACHES caches, MAX_OBJS objects, MAX_TENANTS
 * tenants) and torn down at the end of each input, so inputs are
 * independent. The library runs on a synthetic 2-node, 4-CPU machine so
 * that alien frees and remote nodes are reached. Any broken expectation
 * calls abort() after printing what differed.
 *
 * Built with -fsanitize=fuzzer (make fuzz, configure --enable-fuzzing); with
 * -DFUZZ_STANDALONE a main() replays the files named on the command line,
 * for reproducing a crash under gdb or Valgrind.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uslab/memcg.h>
#include <uslab/slab.h>
#include <uslab/topology.h>

#include "tests/unit/testutil.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define FUZZ_LSAN 1
#endif
#endif
#ifndef FUZZ_LSAN
#define FUZZ_LSAN 0
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_CACHES  6
#define MAX_OBJS    256
#define MAX_TENANTS 5
#define MAX_BULK    48
#define CTOR_BYTES  16
#define CTOR_MAGIC  0xc0de5eedf00dfaceull
#define TOPOLOGY    "node:2 core:2 pu:1"

#define FUZZ_CHECK(cond, ...)                                                        \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fuzz-slab: %s:%d: check failed: %s: ", __FILE__, \
				__LINE__, #cond);                                    \
			fprintf(stderr, __VA_ARGS__);                                \
			fputc('\n', stderr);                                         \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* ---- input reader --------------------------------------------------------------- */

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t in_u8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint16_t in_u16(struct input *in)
{
	return (uint16_t)(in_u8(in) | (in_u8(in) << 8));
}

/* ---- model ------------------------------------------------------------------------ */

enum obj_kind { OBJ_CACHE, OBJ_KMALLOC };

struct mobj {
	void *p;
	size_t size;        /* bytes the program may use */
	uint32_t tag;
	enum obj_kind kind;
	struct kmem_cache *s; /* OBJ_CACHE: the cache struct it was allocated from */
	bool ctor;          /* first CTOR_BYTES hold the constructor's bytes */
};

struct mcache {
	struct kmem_cache *s;   /* NULL: slot unused */
	char name[24];
	unsigned int size;
	slab_flags_t flags;
	bool ctor;
	bool foreign;           /* merged into a cache the program did not create */
};

struct mtenant {
	struct mem_cgroup *m;   /* NULL: slot unused */
	int parent;             /* index, or -1 for the root */
	char name[2];
	bool limited;
};

static struct {
	struct mcache caches[MAX_CACHES];
	struct mobj objs[MAX_OBJS];
	unsigned int nobjs;
	struct mtenant tenants[MAX_TENANTS];
	int active;             /* tenant index, -1: root */
	bool faults;            /* fault injection on */
	bool fault_pages;       /* ... including page grabs */
	unsigned long rcu_pending; /* objects given to kvfree_rcu since the last barrier */
	uint32_t next_tag;
	unsigned int ops;
} M;

static unsigned int cache_counter;
static bool trace;  /* FUZZ_TRACE=1: print each operation on stderr */
static bool strict; /* FUZZ_STRICT=1: no tolerance for known lib bugs */
static FILE *devnull;
static int nr_nodes;

static void fz_ctor(void *p)
{
	uint64_t v[2] = { (uint64_t)(uintptr_t)p ^ CTOR_MAGIC, CTOR_MAGIC };

	memcpy(p, v, sizeof(v));
}

static bool ctor_intact(const void *p)
{
	uint64_t v[2];

	memcpy(v, p, sizeof(v));
	return v[0] == ((uint64_t)(uintptr_t)p ^ CTOR_MAGIC) && v[1] == CTOR_MAGIC;
}

/* True when an allocation in the current state may legitimately fail. */
static bool may_fail(bool accounted)
{
	if (M.faults)
		return true;
	if (!accounted)
		return false;
	for (int t = M.active; t >= 0; t = M.tenants[t].parent)
		if (M.tenants[t].limited)
			return true;
	return false;
}

static void check_null(const char *what, bool accounted)
{
	FUZZ_CHECK(may_fail(accounted), "%s returned NULL (errno %d) with no failure allowed",
		   what, errno);
	FUZZ_CHECK(errno == ENOMEM, "%s returned NULL with errno %d, not ENOMEM", what, errno);
}

static void check_no_overlap(const void *p, size_t size)
{
	uintptr_t a = (uintptr_t)p, b = a + (size ? size : 1);

	for (unsigned int i = 0; i < M.nobjs; i++) {
		uintptr_t c = (uintptr_t)M.objs[i].p, d = c + (M.objs[i].size ? M.objs[i].size : 1);

		FUZZ_CHECK(b <= c || d <= a, "new object %p+%zu overlaps live object %p+%zu", p,
			   size, M.objs[i].p, M.objs[i].size);
	}
}

/*
 * The bytes the program owns, after the constructor's: all of them up to
 * PATTERN_HEAD, else the head and the last PATTERN_TAIL bytes (large
 * blocks would make every operation slow).
 */
#define PATTERN_HEAD (64u << 10)
#define PATTERN_TAIL 4096u /* objects above PATTERN_HEAD + PATTERN_TAIL: no overlap */

static void obj_fill(struct mobj *o)
{
	size_t skip = o->ctor ? CTOR_BYTES : 0;
	char *p = o->p;

	if (o->size <= skip)
		return;
	if (o->size <= PATTERN_HEAD + PATTERN_TAIL) {
		pattern_fill(p + skip, o->tag, o->size - skip);
		return;
	}
	pattern_fill(p + skip, o->tag, PATTERN_HEAD - skip);
	pattern_fill(p + o->size - PATTERN_TAIL, o->tag, PATTERN_TAIL);
}

static bool obj_intact(const struct mobj *o)
{
	size_t skip = o->ctor ? CTOR_BYTES : 0;
	const char *p = o->p;

	if (o->size <= skip)
		return true;
	if (o->size <= PATTERN_HEAD + PATTERN_TAIL)
		return pattern_check(p + skip, o->tag, o->size - skip);
	return pattern_check(p + skip, o->tag, PATTERN_HEAD - skip) &&
	       pattern_check(p + o->size - PATTERN_TAIL, o->tag, PATTERN_TAIL);
}

static void obj_check(const struct mobj *o, const char *when)
{
	FUZZ_CHECK(!o->ctor || ctor_intact(o->p), "%s: constructed bytes of %p changed", when, o->p);
	FUZZ_CHECK(obj_intact(o), "%s: object %p (%zu bytes, tag %u) was corrupted", when, o->p,
		   o->size, o->tag);
}

static struct mobj *obj_add(void *p, size_t size, enum obj_kind kind, struct kmem_cache *s,
			    bool ctor)
{
	struct mobj *o;

	check_no_overlap(p, size);
	o = &M.objs[M.nobjs++];
	*o = (struct mobj){ .p = p, .size = size, .tag = ++M.next_tag, .kind = kind, .s = s,
			    .ctor = ctor };
	obj_fill(o);
	return o;
}

static void obj_remove(unsigned int i)
{
	M.objs[i] = M.objs[--M.nobjs];
}

/* A freshly allocated cache object: what the allocator promises about its bytes. */
static void check_new_cache_obj(struct mcache *c, void *p, gfp_t gfp)
{
	struct kmem_cache *owner = uslab_obj_cache(p);

	FUZZ_CHECK(owner != NULL, "object %p of %s has no cache", p, c->name);
	FUZZ_CHECK(((uintptr_t)p & 7) == 0, "object %p of %s is not 8-byte aligned", p, c->name);
	FUZZ_CHECK(ksize(p) >= c->size, "ksize(%p) = %zu < %u", p, ksize(p), c->size);
	if (!c->foreign && !(c->flags & SLAB_ACCOUNT) && !(gfp & __GFP_ACCOUNT))
		FUZZ_CHECK(owner == c->s, "object %p of %s reports cache %s", p, c->name,
			   uslab_cache_name(owner));
	if (gfp & __GFP_ZERO)
		FUZZ_CHECK(bytes_all(p, 0, c->size), "__GFP_ZERO object %p of %s not zeroed", p,
			   c->name);
	else if (c->ctor)
		FUZZ_CHECK(ctor_intact(p),
			   "object %p of %s (from %s, node %d) lost its constructed bytes: %016llx %016llx",
			   p, c->name, uslab_cache_name(owner), uslab_obj_node(p),
			   (unsigned long long)((uint64_t *)p)[0], (unsigned long long)((uint64_t *)p)[1]);
	else if (c->flags & SLAB_POISON && !(c->flags & SLAB_TYPESAFE_BY_RCU))
		FUZZ_CHECK(bytes_all(p, 0x5a, c->size), "poisoned object %p of %s not 0x5a", p,
			   c->name);
}

/* Record a cache object; a zeroed constructed object gets its constructor bytes back. */
static void add_cache_obj(struct mcache *c, void *p, gfp_t gfp)
{
	check_new_cache_obj(c, p, gfp);
	if (c->ctor && (gfp & __GFP_ZERO))
		fz_ctor(p);
	obj_add(p, c->size, OBJ_CACHE, c->s, c->ctor);
}

/* Pick a live cache slot from a byte; NULL when none. */
static struct mcache *pick_cache(uint8_t b)
{
	for (int k = 0; k < MAX_CACHES; k++) {
		struct mcache *c = &M.caches[(b + k) % MAX_CACHES];

		if (c->s)
			return c;
	}
	return NULL;
}

static gfp_t pick_gfp(uint8_t b)
{
	static const gfp_t gfps[] = { GFP_KERNEL, GFP_ATOMIC, GFP_KERNEL | __GFP_ZERO,
				      GFP_NOWAIT, GFP_KERNEL_ACCOUNT, GFP_KERNEL | __GFP_NOFAIL,
				      GFP_KERNEL | __GFP_RECLAIMABLE, GFP_KERNEL_ACCOUNT | __GFP_ZERO };

	return gfps[b % ARRAY_LEN(gfps)];
}

static bool cache_accounted(const struct mcache *c, gfp_t gfp)
{
	return (c->flags & SLAB_ACCOUNT) || (gfp & __GFP_ACCOUNT);
}

/* Live objects the model holds in cache struct @s (any alias, any tenant). */
static unsigned int objs_in(struct kmem_cache *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < M.nobjs; i++)
		if (M.objs[i].kind == OBJ_CACHE && M.objs[i].s == s)
			n++;
	return n;
}

static void validate(struct kmem_cache *s, const char *why)
{
	int rc = uslab_cache_validate(s);

	FUZZ_CHECK(rc == 0, "uslab_cache_validate(%s) = %d (%s)", uslab_cache_name(s), rc, why);
}

/* Every cache the program reaches: its own and those of its live objects. */
static void validate_all(const char *why)
{
	struct kmem_cache *seen[MAX_CACHES + MAX_OBJS];
	unsigned int n = 0;

	for (int i = 0; i < MAX_CACHES; i++)
		if (M.caches[i].s)
			seen[n++] = M.caches[i].s;
	for (unsigned int i = 0; i < M.nobjs; i++) {
		struct kmem_cache *s = uslab_obj_cache(M.objs[i].p);
		bool dup = false;

		if (!s)
			continue; /* kmalloc_large */
		for (unsigned int k = 0; k < n && !dup; k++)
			dup = seen[k] == s;
		if (!dup)
			seen[n++] = s;
	}
	for (unsigned int k = 0; k < n; k++)
		validate(seen[k], why);
}

/* ---- operations --------------------------------------------------------------------- */

static const unsigned int interesting_sizes[] = {
	1, 7, 8, 16, 24, 32, 40, 64, 96, 100, 128, 192, 256, 257, 500, 512, 1000, 1024,
	2048, 3000, 4096, 4097, 8192, 12000, 16384, 40000, 65536, 131072,
};

static void op_create(struct input *in)
{
	static const slab_flags_t flag_bits[] = {
		SLAB_HWCACHE_ALIGN, SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER, SLAB_ACCOUNT,
		SLAB_RECLAIM_ACCOUNT, SLAB_TYPESAFE_BY_RCU, SLAB_NO_MERGE,
	};
	uint8_t sel = in_u8(in), fl = in_u8(in), al = in_u8(in);
	struct mcache *c = NULL;
	unsigned int size, align;
	slab_flags_t flags = 0;
	bool ctor;

	for (int i = 0; i < MAX_CACHES && !c; i++)
		if (!M.caches[i].s)
			c = &M.caches[i];
	if (!c)
		return;
	if (sel & 0x80)
		size = 1 + in_u16(in) % 4096;
	else
		size = interesting_sizes[sel % ARRAY_LEN(interesting_sizes)];
	for (unsigned int b = 0; b < ARRAY_LEN(flag_bits); b++)
		if (fl & (1u << b))
			flags |= flag_bits[b];
	/* Each destroy of an RCU cache waits for grace periods: keep them rarer. */
	if ((flags & SLAB_TYPESAFE_BY_RCU) && (sel & 0x60) != 0x60)
		flags &= ~SLAB_TYPESAFE_BY_RCU;
	align = (al & 0x80) ? 1u << (al % 13) : 0; /* up to the page size */
	ctor = (al & 0x40) && size >= CTOR_BYTES;
	snprintf(c->name, sizeof(c->name), "fz%u", cache_counter++);
	errno = 0;
	c->s = kmem_cache_create(c->name, size, align, flags, ctor ? fz_ctor : NULL);
	if (!c->s) {
		FUZZ_CHECK(M.faults && errno == ENOMEM, "kmem_cache_create(%s, %u, %u, %#x) failed: %d",
			   c->name, size, align, flags, errno);
		return;
	}
	c->size = size;
	c->flags = flags;
	c->ctor = ctor;
	if (trace)
		fprintf(stderr, "fuzz-slab:   %s: size %u align %u flags %#x ctor %d -> %s\n", c->name,
			size, align, flags, ctor, uslab_cache_name(c->s));
	/* Merged into a cache the program did not create (a kmalloc cache)? */
	c->foreign = strncmp(uslab_cache_name(c->s), "fz", 2) != 0;
	FUZZ_CHECK(kmem_cache_size(c->s) >= size, "kmem_cache_size(%s) = %u < %u", c->name,
		   kmem_cache_size(c->s), size);
	if (flags & (SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TYPESAFE_BY_RCU |
		     SLAB_NO_MERGE) || ctor) {
		FUZZ_CHECK(strcmp(uslab_cache_name(c->s), c->name) == 0,
			   "cache %s with flags %#x was merged into %s", c->name, flags,
			   uslab_cache_name(c->s));
	}
}

/* Expected result of an allocation that returned NULL for node argument @node. */
static void check_node_null(const char *what, int node, bool accounted, bool nofail)
{
	if (node != NUMA_NO_NODE && (node < 0 || node >= nr_nodes)) {
		/* Object-level injection is decided before the node is looked at. */
		FUZZ_CHECK(errno == EINVAL || (M.faults && errno == ENOMEM),
			   "%s on bad node %d: errno %d, not EINVAL", what, node, errno);
		return;
	}
	/*
	 * __GFP_NOFAIL is never failed by object-level injection nor by a tenant
	 * limit (the charge is forced). Page-level injection does not see the
	 * gfp flags (lib/fault.c fault_page_hook), so it is tolerated there; the
	 * unit suite (tests/unit/test-debug.c) checks that case on its own.
	 */
	if (nofail) {
		FUZZ_CHECK(M.faults && M.fault_pages, "%s with __GFP_NOFAIL returned NULL (errno %d)",
			   what, errno);
		FUZZ_CHECK(errno == ENOMEM, "%s: errno %d", what, errno);
		return;
	}
	check_null(what, accounted);
}

static int pick_node(uint8_t b)
{
	switch (b % 8) {
	case 0: return nr_nodes;   /* bad */
	case 1: return 0;
	case 2: return nr_nodes - 1;
	default: return NUMA_NO_NODE;
	}
}

static void op_alloc(struct input *in)
{
	uint8_t sel = in_u8(in), g = in_u8(in), how = in_u8(in);
	struct mcache *c = pick_cache(sel);
	gfp_t gfp = pick_gfp(g);
	int node = NUMA_NO_NODE;
	void *p;

	if (!c || M.nobjs >= MAX_OBJS)
		return;
	errno = 0;
	switch (how % 4) {
	case 0: p = kmem_cache_alloc(c->s, gfp); break;
	case 1: p = kmem_cache_zalloc(c->s, gfp); gfp |= __GFP_ZERO; break;
	case 2: p = kmem_cache_alloc_lru(c->s, NULL, gfp); break;
	default:
		node = pick_node(how >> 2);
		if (node >= 0 && (how & 0x80))
			gfp |= __GFP_THISNODE;
		p = kmem_cache_alloc_node(c->s, gfp, node);
		break;
	}
	if (trace)
		fprintf(stderr, "fuzz-slab:   %s gfp %#x node %d -> %p (errno %d)\n", c->name, gfp,
			node, p, p ? 0 : errno);
	if (!p) {
		check_node_null("kmem_cache_alloc", node, cache_accounted(c, gfp),
				gfp & __GFP_NOFAIL);
		return;
	}
	FUZZ_CHECK(node == NUMA_NO_NODE || (node >= 0 && node < nr_nodes),
		   "allocation on bad node %d succeeded", node);
	if (node >= 0 && (gfp & __GFP_THISNODE))
		FUZZ_CHECK(uslab_obj_node(p) == node, "__GFP_THISNODE object %p on node %d, not %d",
			   p, uslab_obj_node(p), node);
	add_cache_obj(c, p, gfp);
}

static void free_obj(unsigned int i, uint8_t how)
{
	struct mobj *o = &M.objs[i];

	obj_check(o, "free");
	if (o->kind == OBJ_KMALLOC) {
		if (how & 1)
			kvfree(o->p);
		else
			kfree(o->p);
	} else {
		switch (how % 3) {
		case 0: kmem_cache_free(o->s, o->p); break;
		case 1: kfree(o->p); break;
		default: kmem_cache_free_bulk(o->s, 1, &o->p); break;
		}
	}
	obj_remove(i);
}

static void op_free(struct input *in)
{
	uint16_t sel = in_u16(in);
	uint8_t how = in_u8(in);

	if (M.nobjs)
		free_obj(sel % M.nobjs, how);
}

static void op_bulk_alloc(struct input *in)
{
	uint8_t sel = in_u8(in), g = in_u8(in), n = in_u8(in);
	struct mcache *c = pick_cache(sel);
	gfp_t gfp = pick_gfp(g) & ~__GFP_NOFAIL;
	void *objs[MAX_BULK];
	size_t want = 1 + n % MAX_BULK;
	int got;

	if (!c || M.nobjs + want > MAX_OBJS)
		return;
	/*
	 * Known lib bug (reported): a failed bulk allocation frees the objects it
	 * had already zeroed, so a constructed cache gets unconstructed objects
	 * back (lib/alloc.c kmem_cache_alloc_bulk). Avoided unless FUZZ_STRICT.
	 */
	if (c->ctor && !strict)
		gfp &= ~__GFP_ZERO;
	memset(objs, 0, sizeof(objs));
	errno = 0;
	got = kmem_cache_alloc_bulk(c->s, gfp, want, objs);
	if (got == 0) {
		check_null("kmem_cache_alloc_bulk", cache_accounted(c, gfp));
		return;
	}
	FUZZ_CHECK((size_t)got == want, "kmem_cache_alloc_bulk(%zu) = %d", want, got);
	for (size_t i = 0; i < want; i++) {
		FUZZ_CHECK(objs[i] != NULL, "bulk entry %zu is NULL", i);
		add_cache_obj(c, objs[i], gfp);
	}
}

static void op_bulk_free(struct input *in)
{
	uint16_t sel = in_u16(in);
	uint8_t n = in_u8(in);
	void *objs[MAX_BULK];
	struct kmem_cache *s;
	size_t k = 0, want = 1 + n % MAX_BULK;

	if (!M.nobjs)
		return;
	/* Objects of the cache of a random object, with a NULL now and then. */
	unsigned int start = sel % M.nobjs;
	if (M.objs[start].kind != OBJ_CACHE)
		return;
	s = M.objs[start].s;
	for (unsigned int i = start; i < M.nobjs && k < want;) {
		if (M.objs[i].kind == OBJ_CACHE && M.objs[i].s == s) {
			obj_check(&M.objs[i], "bulk free");
			objs[k++] = M.objs[i].p;
			if ((n & 0x80) && k < want)
				objs[k++] = NULL;
			obj_remove(i);
			continue; /* slot i now holds another object */
		}
		i++;
	}
	kmem_cache_free_bulk(s, k, objs);
}

static void op_shrink(struct input *in)
{
	struct mcache *c = pick_cache(in_u8(in));
	struct uslab_cache_info info;
	unsigned int own = 0;
	int r;

	if (!c)
		return;
	r = kmem_cache_shrink(c->s);
	validate(c->s, "after shrink");
	if (c->foreign)
		return;
	for (unsigned int i = 0; i < M.nobjs; i++)
		if (M.objs[i].kind == OBJ_CACHE && uslab_obj_cache(M.objs[i].p) == c->s)
			own++;
	/* A root's tenant children are shrunk with it and count. */
	if (!M.rcu_pending)
		FUZZ_CHECK(r == (objs_in(c->s) > 0), "kmem_cache_shrink(%s) = %d with %u live objects",
			   c->name, r, objs_in(c->s));
	FUZZ_CHECK(uslab_cache_info(c->s, NUMA_NO_NODE, &info) == 0, "uslab_cache_info");
	FUZZ_CHECK(info.cpu_avail == 0 && info.shared_avail == 0 && info.alien_avail == 0 &&
		   info.free_slabs == 0,
		   "%s after shrink: cpu %lu shared %lu alien %lu free slabs %lu", c->name,
		   info.cpu_avail, info.shared_avail, info.alien_avail, info.free_slabs);
	if (!M.rcu_pending) {
		long leaks = uslab_cache_leaks(c->s, NULL);

		FUZZ_CHECK(leaks == (long)own, "uslab_cache_leaks(%s) = %ld, model %u", c->name,
			   leaks, own);
	}
}

/*
 * Known lib bug (reported): a SLAB_TYPESAFE_BY_RCU cache whose tenant
 * children (SLAB_ACCOUNT or __GFP_ACCOUNT allocations) had slabs is reported busy with no object left, because
 * memcg_shutdown_children_locked() counts child slabs whose release is still
 * waiting for a grace period. Unless FUZZ_STRICT is set, such a destroy is
 * retried once after an RCU barrier, and the retry must succeed.
 */
static int destroy_cache(struct mcache *c, unsigned int live, char **text)
{
	struct stderr_capture cap;
	int rc;

	FUZZ_CHECK(stderr_capture_begin(&cap) == 0, "stderr capture");
	rc = uslab_cache_destroy(c->s);
	if (rc == -EBUSY && !live && !strict && (c->flags & SLAB_TYPESAFE_BY_RCU)) {
		kvfree_rcu_barrier();
		rc = uslab_cache_destroy(c->s);
	}
	*text = stderr_capture_end(&cap);
	return rc;
}

static void op_destroy(struct input *in)
{
	struct mcache *c = pick_cache(in_u8(in));
	unsigned int refs = 0, live;
	char *text, expect[96];
	int rc;

	if (!c)
		return;
	for (int i = 0; i < MAX_CACHES; i++)
		refs += M.caches[i].s == c->s;
	live = objs_in(c->s);
	snprintf(expect, sizeof(expect), "kmem_cache_destroy %s: Slab cache still has objects",
		 uslab_cache_name(c->s));
	rc = destroy_cache(c, live, &text);
	M.rcu_pending = 0; /* destroy waits for pending kfree_rcu() when there are any */
	if (c->foreign || refs > 1 || live == 0) {
		FUZZ_CHECK(rc == 0, "uslab_cache_destroy(%s) = %d (refs %u, live %u, foreign %d): %s",
			   c->name, rc, refs, live, c->foreign, text);
		c->s = NULL;
	} else {
		FUZZ_CHECK(rc == -EBUSY, "uslab_cache_destroy(%s) = %d with %u live objects",
			   c->name, rc, live);
		FUZZ_CHECK(strstr(text, expect) != NULL, "no leak report for %s: '%s'", c->name,
			   text);
		validate(c->s, "after a busy destroy");
	}
	free(text);
}

static void op_tune(struct input *in)
{
	struct mcache *c = pick_cache(in_u8(in));
	unsigned int limit = 1 + in_u8(in) % 160, batch = 1 + in_u8(in) % limit,
		     shared = in_u8(in) % 9;
	int rc;

	if (!c || c->foreign)
		return;
	rc = uslab_cache_tune(c->s, limit, batch, shared);
	FUZZ_CHECK(rc == 0 || (M.faults && rc == -ENOMEM), "uslab_cache_tune(%s, %u, %u, %u) = %d",
		   c->name, limit, batch, shared, rc);
	validate(c->s, "after tune");
}

static size_t pick_kmalloc_size(struct input *in)
{
	uint8_t sel = in_u8(in);

	switch (sel % 8) {
	case 0: return 0;
	case 1: return (sel & 0x80) ? KMALLOC_MAX_SIZE + 1 : KMALLOC_MAX_SIZE;
	case 2: return KMALLOC_MAX_CACHE_SIZE + 1 + in_u16(in) * 16ul; /* large, up to 1 MiB */
	case 3: return interesting_sizes[in_u8(in) % ARRAY_LEN(interesting_sizes)];
	default: return 1 + in_u16(in) % KMALLOC_MAX_CACHE_SIZE;
	}
}

static void check_new_kmalloc(void *p, size_t size, gfp_t gfp)
{
	FUZZ_CHECK(ksize(p) >= size, "ksize(%p) = %zu < %zu", p, ksize(p), size);
	FUZZ_CHECK(((uintptr_t)p & 7) == 0, "kmalloc(%zu) = %p not 8-byte aligned", size, p);
	if (gfp & __GFP_ZERO)
		FUZZ_CHECK(bytes_all(p, 0, size), "zeroed kmalloc(%zu) = %p not zero", size, p);
}

static void op_kmalloc(struct input *in)
{
	size_t size = pick_kmalloc_size(in);
	uint8_t g = in_u8(in), how = in_u8(in);
	gfp_t gfp = pick_gfp(g);
	int node = NUMA_NO_NODE;
	void *p;

	if (M.nobjs >= MAX_OBJS)
		return;
	errno = 0;
	switch (how % 5) {
	case 0: p = kmalloc(size, gfp); break;
	case 1: p = kzalloc(size, gfp); gfp |= __GFP_ZERO; break;
	case 2: node = pick_node(how >> 3); p = kmalloc_node(size, gfp, node); break;
	case 3: p = kcalloc(1, size, gfp); gfp |= __GFP_ZERO; break;
	default: p = kvmalloc(size, gfp); break;
	}
	if (size == 0) {
		FUZZ_CHECK(p == ZERO_SIZE_PTR, "kmalloc(0) = %p", p);
		kfree(p);
		return;
	}
	if (size > KMALLOC_MAX_SIZE && how % 5 != 4) {
		FUZZ_CHECK(!p && errno == EINVAL, "kmalloc(%zu) = %p, errno %d", size, p, errno);
		return;
	}
	if (!p) {
		/* kmalloc_large checks its node only on the large path; small ones use any. */
		if (node != NUMA_NO_NODE && (node < 0 || node >= nr_nodes)) {
			FUZZ_CHECK(errno == EINVAL || (M.faults && errno == ENOMEM),
				   "kmalloc_node(%zu, node %d): errno %d", size, node, errno);
			return;
		}
		check_node_null("kmalloc", NUMA_NO_NODE, gfp & __GFP_ACCOUNT, gfp & __GFP_NOFAIL);
		return;
	}
	FUZZ_CHECK(node == NUMA_NO_NODE || (node >= 0 && node < nr_nodes),
		   "kmalloc_node(%zu) on bad node %d succeeded", size, node);
	check_new_kmalloc(p, size, gfp);
	obj_add(p, size, OBJ_KMALLOC, NULL, false);
}

/* @q holds the first @len bytes that pattern_fill(@orig, @tag, @orig_len) wrote at @orig. */
static bool pattern_moved(const void *q, const void *orig, uint32_t tag, size_t orig_len,
			  size_t len)
{
	unsigned char expect[4096];
	const unsigned char *b = q;

	for (size_t done = 0; done < len; done += sizeof(expect)) {
		size_t n = len - done < sizeof(expect) ? len - done : sizeof(expect);

		for (size_t i = 0; i < n; i++) {
			size_t at = done + i;

			if (orig_len >= sizeof(tag) && at < sizeof(tag))
				expect[i] = ((const unsigned char *)&tag)[at];
			else
				expect[i] = pattern_byte(orig, tag, at);
		}
		if (memcmp(b + done, expect, n))
			return false;
	}
	return true;
}

static void op_krealloc(struct input *in)
{
	uint16_t sel = in_u16(in);
	size_t size = pick_kmalloc_size(in);
	gfp_t gfp = pick_gfp(in_u8(in));
	struct mobj o = { 0 };
	bool have = false;
	void *q;

	for (unsigned int k = 0; k < M.nobjs && !have; k++) {
		unsigned int i = (sel + k) % M.nobjs;

		if (M.objs[i].kind == OBJ_KMALLOC && M.objs[i].size <= KMALLOC_MAX_SIZE) {
			o = M.objs[i];
			obj_check(&o, "krealloc");
			obj_remove(i);
			have = true;
		}
	}
	if (!have && M.nobjs >= MAX_OBJS)
		return;
	errno = 0;
	q = krealloc(o.p, size, gfp); /* o.p NULL: a plain allocation */
	if (size == 0) {
		FUZZ_CHECK(q == ZERO_SIZE_PTR, "krealloc(%p, 0) = %p", o.p, q);
		return;
	}
	if (!q) {
		if (size > KMALLOC_MAX_SIZE)
			FUZZ_CHECK(errno == EINVAL, "krealloc(%zu): errno %d", size, errno);
		else
			check_node_null("krealloc", NUMA_NO_NODE, gfp & __GFP_ACCOUNT,
					gfp & __GFP_NOFAIL);
		if (have) {
			obj_check(&o, "after a failed krealloc");
			M.objs[M.nobjs++] = o;
		}
		return;
	}
	FUZZ_CHECK(size <= KMALLOC_MAX_SIZE, "krealloc(%zu) above the maximum succeeded", size);
	FUZZ_CHECK(ksize(q) >= size, "ksize(krealloc(%zu)) = %zu", size, ksize(q));
	if (have) {
		size_t keep = o.size < size ? o.size : size;

		/* Of a large block only the head was filled (and the tail, which moved). */
		if (o.size > PATTERN_HEAD + PATTERN_TAIL && keep > PATTERN_HEAD)
			keep = PATTERN_HEAD;
		FUZZ_CHECK(pattern_moved(q, o.p, o.tag, o.size, keep),
			   "krealloc(%p, %zu -> %zu) = %p lost the contents", o.p, o.size, size, q);
	}
	obj_add(q, size, OBJ_KMALLOC, NULL, false);
}

static void op_kfree_rcu(struct input *in)
{
	uint16_t sel = in_u16(in);
	unsigned int i;

	if (!M.nobjs)
		return;
	i = sel % M.nobjs;
	obj_check(&M.objs[i], "kfree_rcu");
	kvfree_rcu(M.objs[i].p);
	obj_remove(i);
	M.rcu_pending++;
}

/* ---- tenants -------------------------------------------------------------------------- */

static bool tenant_has_children(int t)
{
	for (int i = 0; i < MAX_TENANTS; i++)
		if (M.tenants[i].m && M.tenants[i].parent == t)
			return true;
	return false;
}

static int pick_tenant(uint8_t b)
{
	for (int k = 0; k < MAX_TENANTS; k++) {
		int t = (b + k) % MAX_TENANTS;

		if (M.tenants[t].m)
			return t;
	}
	return -1;
}

static void op_tenant_create(struct input *in)
{
	uint8_t b = in_u8(in), nm = in_u8(in);
	int slot = -1, parent = (b & 0x80) ? pick_tenant(b) : -1;
	struct mtenant *t;
	bool exists = false;

	for (int i = 0; i < MAX_TENANTS && slot < 0; i++)
		if (!M.tenants[i].m)
			slot = i;
	if (slot < 0)
		return;
	t = &M.tenants[slot];
	t->name[0] = (char)('a' + nm % 4);
	t->name[1] = '\0';
	for (int i = 0; i < MAX_TENANTS; i++)
		if (M.tenants[i].m && M.tenants[i].parent == parent && M.tenants[i].name[0] == t->name[0])
			exists = true;
	errno = 0;
	t->m = mem_cgroup_create(parent >= 0 ? M.tenants[parent].m : NULL, t->name);
	if (exists) {
		FUZZ_CHECK(!t->m && errno == EEXIST, "duplicate tenant %s created (errno %d)", t->name,
			   errno);
		return;
	}
	if (!t->m) {
		/* Dying tenants still holding ids may exhaust them. */
		FUZZ_CHECK(errno == ENOSPC, "mem_cgroup_create(%s) failed: %d", t->name, errno);
		return;
	}
	t->parent = parent;
	t->limited = false;
}

static void op_tenant_switch(struct input *in)
{
	uint8_t b = in_u8(in);
	int t = (b & 1) ? pick_tenant(b >> 1) : -1;

	set_active_memcg(t >= 0 ? M.tenants[t].m : root_mem_cgroup);
	M.active = t;
}

static void op_tenant_destroy(struct input *in)
{
	int t = pick_tenant(in_u8(in));
	int rc;

	if (t < 0)
		return;
	if (M.active == t) {
		set_active_memcg(NULL);
		M.active = -1;
	}
	rc = mem_cgroup_destroy(M.tenants[t].m);
	if (tenant_has_children(t)) {
		FUZZ_CHECK(rc == -EBUSY, "mem_cgroup_destroy with children = %d", rc);
		return;
	}
	FUZZ_CHECK(rc == 0, "mem_cgroup_destroy(%s) = %d", M.tenants[t].name, rc);
	M.tenants[t].m = NULL;
}

static void op_tenant_limit(struct input *in)
{
	int t = pick_tenant(in_u8(in));
	uint8_t pages = in_u8(in);
	unsigned long bytes = pages >= 200 ? MEMCG_LIMIT_MAX : (unsigned long)pages * 4096ul * 4;
	int rc;

	if (t < 0)
		return;
	rc = mem_cgroup_set_max(M.tenants[t].m, bytes);
	FUZZ_CHECK(rc == 0 || rc == -EBUSY, "mem_cgroup_set_max(%s, %lu) = %d", M.tenants[t].name,
		   bytes, rc);
	if (rc == 0)
		M.tenants[t].limited = bytes != MEMCG_LIMIT_MAX;
}

static void op_tenant_stat(struct input *in)
{
	int t = pick_tenant(in_u8(in));
	char buf[8192];
	ssize_t n;

	n = mem_cgroup_read(t >= 0 ? M.tenants[t].m : root_mem_cgroup, "memory.stat", buf,
			    sizeof(buf));
	FUZZ_CHECK(n >= 0 || n == -ENOSPC, "mem_cgroup_read(memory.stat) = %zd", n);
}

/* ---- machine, faults, reports ----------------------------------------------------- */

static void op_cpu(struct input *in)
{
	int cpu = (int)(in_u8(in) % (uslab_nr_cpu_ids() + 1)) - 1;

	FUZZ_CHECK(uslab_thread_set_cpu(cpu) == 0, "uslab_thread_set_cpu(%d)", cpu);
}

static void fail_setup(const struct uslab_fail_attr *a)
{
	int rc;

	/* lib/fault.c keeps replaced configurations allocated on purpose (readers may hold them). */
#if FUZZ_LSAN
	__lsan_disable();
#endif
	rc = uslab_fail_setup(a);
#if FUZZ_LSAN
	__lsan_enable();
#endif
	FUZZ_CHECK(rc == 0, "uslab_fail_setup = %d", rc);
}

static void op_fault(struct input *in)
{
	uint8_t p = in_u8(in), what = in_u8(in), times = in_u8(in);
	struct uslab_fail_attr a = {
		.probability = 1 + p % 100,
		.interval = what >> 4,
		.times = (times & 0x80) ? -1 : times % 16,
		.cache = (what & 4) ? "fz*" : NULL,
		.slab = what & 1,
		.pages = (what & 2) || !(what & 1),
		.seed = times,
	};
	unsigned long before = uslab_fail_count();

	if (trace)
		fprintf(stderr, "fuzz-slab:   fail: probability %u interval %u times %ld cache %s slab %d "
			"pages %d\n", a.probability, a.interval, a.times, a.cache, a.slab, a.pages);
	fail_setup(&a);
	M.faults = true;
	M.fault_pages = a.pages;
	FUZZ_CHECK(uslab_fail_count() == before, "uslab_fail_setup changed the count");
}

static void op_fault_stop(struct input *in)
{
	(void)in;
	if (M.faults)
		fail_setup(NULL);
	M.faults = M.fault_pages = false;
}

static void op_report(struct input *in)
{
	struct mcache *c = pick_cache(in_u8(in));

	FUZZ_CHECK(uslab_slabinfo(devnull) == 0, "uslab_slabinfo");
	if (c && !c->foreign && !M.rcu_pending) {
		long n = uslab_cache_leaks(c->s, devnull);
		unsigned int own = 0;

		for (unsigned int i = 0; i < M.nobjs; i++)
			if (M.objs[i].kind == OBJ_CACHE && uslab_obj_cache(M.objs[i].p) == c->s)
				own++;
		FUZZ_CHECK(n == (long)own, "uslab_cache_leaks(%s) = %ld, model %u", c->name, n, own);
	}
}

static void op_reap(struct input *in)
{
	(void)in;
	uslab_reap();
}

/* ---- driver -------------------------------------------------------------------------- */

typedef void (*op_fn)(struct input *in);

/* Weighted: destroy and kfree_rcu wait for grace periods, so they are rarer. */
static const op_fn ops[] = {
	op_alloc, op_alloc, op_alloc, op_alloc, op_alloc, op_alloc, op_free, op_free,
	op_free, op_free, op_free, op_free, op_kmalloc, op_kmalloc, op_kmalloc, op_create,
	op_create, op_destroy, op_bulk_alloc, op_bulk_alloc, op_bulk_free, op_bulk_free,
	op_shrink, op_krealloc, op_krealloc, op_kfree_rcu, op_tenant_create, op_tenant_switch,
	op_tenant_switch, op_tenant_destroy, op_tenant_limit, op_tenant_stat, op_cpu, op_cpu,
	op_fault, op_fault_stop, op_tune, op_report, op_reap,
};

static const char *const op_names[] = {
	"alloc", "alloc", "alloc", "alloc", "alloc", "alloc", "free", "free",
	"free", "free", "free", "free", "kmalloc", "kmalloc", "kmalloc", "create",
	"create", "destroy", "bulk_alloc", "bulk_alloc", "bulk_free", "bulk_free",
	"shrink", "krealloc", "krealloc", "kfree_rcu", "tenant_create", "tenant_switch",
	"tenant_switch", "tenant_destroy", "tenant_limit", "tenant_stat", "cpu", "cpu",
	"fault", "fault_stop", "tune", "report", "reap",
};
_Static_assert(ARRAY_LEN(op_names) == ARRAY_LEN(ops), "one name per operation");

static void teardown(void)
{
	bool again;

	while (M.nobjs)
		free_obj(M.nobjs - 1, (uint8_t)M.nobjs);
	if (M.faults)
		fail_setup(NULL);
	M.faults = M.fault_pages = false;
	if (M.rcu_pending)
		kvfree_rcu_barrier();
	M.rcu_pending = 0;
	validate_all("teardown");
	set_active_memcg(NULL);
	M.active = -1;
	FUZZ_CHECK(uslab_thread_set_cpu(-1) == 0, "uslab_thread_set_cpu(-1)");
	for (int i = 0; i < MAX_CACHES; i++) {
		struct mcache *c = &M.caches[i];
		char *text;
		int rc;

		if (!c->s)
			continue;
		rc = destroy_cache(c, 0, &text);
		FUZZ_CHECK(rc == 0, "teardown: uslab_cache_destroy(%s) = %d: %s", c->name, rc, text);
		free(text);
		c->s = NULL;
	}
	do {
		again = false;
		for (int t = 0; t < MAX_TENANTS; t++) {
			if (!M.tenants[t].m || tenant_has_children(t))
				continue;
			FUZZ_CHECK(mem_cgroup_destroy(M.tenants[t].m) == 0, "teardown: tenant %d", t);
			M.tenants[t].m = NULL;
			again = true;
		}
	} while (again);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct uslab_config cfg = { .topology = TOPOLOGY, .reaper_ms = 0 };
	int rc;

	(void)argc, (void)argv;
	rc = uslab_init(&cfg);
	FUZZ_CHECK(rc == 0, "uslab_init = %d", rc);
	nr_nodes = (int)uslab_nr_node_ids();
	trace = getenv("FUZZ_TRACE") != NULL;
	strict = getenv("FUZZ_STRICT") != NULL;
	devnull = fopen("/dev/null", "w");
	FUZZ_CHECK(devnull != NULL, "/dev/null");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	memset(&M, 0, sizeof(M));
	M.active = -1;
	while (in.left && M.ops < 4096) {
		uint8_t op = in_u8(&in);

		if (trace)
			fprintf(stderr, "fuzz-slab: op %u: %s, %u objects\n", M.ops,
				op_names[op % ARRAY_LEN(ops)], M.nobjs);
		ops[op % ARRAY_LEN(ops)](&in);
		if (++M.ops % 64 == 0)
			validate_all("periodic");
	}
	teardown();
	return 0;
}

#ifdef FUZZ_STANDALONE
/*
 * fuzz-slab FILE...      replay inputs
 * fuzz-slab -r N [SEED]  run N random inputs (for builds without libFuzzer);
 *                        FUZZ_SAVE=FILE keeps the current one in FILE
 */
int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	if (argc >= 3 && !strcmp(argv[1], "-r")) {
		unsigned long n = strtoul(argv[2], NULL, 10);
		uint64_t x = argc > 3 ? strtoull(argv[3], NULL, 10) : 42;
		static uint8_t buf[4096];
		const char *save = getenv("FUZZ_SAVE"); /* each input is written here first */

		for (unsigned long k = 0; k < n; k++) {
			size_t len = 64 + (size_t)(x % (sizeof(buf) - 64));

			for (size_t i = 0; i < len; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				buf[i] = (uint8_t)x;
			}
			if (save) {
				FILE *f = fopen(save, "wb");

				if (f) {
					fwrite(buf, 1, len, f);
					fclose(f);
				}
			}
			LLVMFuzzerTestOneInput(buf, len);
		}
		printf("fuzz-slab: %lu random inputs passed\n", n);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		static uint8_t buf[1 << 20];
		size_t len;

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		printf("fuzz-slab: %s passed\n", argv[i]);
	}
	return 0;
}
#endif
