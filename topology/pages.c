// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * topology/pages.c - the page provider and its page cache: page-aligned
 * memory of a given node for slabs and large allocations, kept resident
 * after it is freed and reused first, and returned to the OS by a time
 * decay (jemalloc's dirty decay is the model), never on the free path.
 *
 * Runs of up to TOPOLOGY_PAGES_MAX_RUN pages are carved from per-node chunks
 * of TOPOLOGY_CHUNK_SIZE bytes, mapped aligned to their size so that the
 * chunk of an address is found by masking. Page 0 of a chunk holds its
 * header (struct chunk): a bitmap of used pages, a bitmap of dirty pages
 * (free but still resident: the page cache) and, for each dirty page, the
 * time it was freed. A run is found first-fit in the used bitmap (word at a
 * time), so neighbouring free runs merge by themselves, and a dirty run is
 * reused exactly like a clean one, without a page fault. A chunk remembers
 * the smallest run it failed to find until something is freed in it, so
 * full-ish chunks are skipped at once.
 *
 * Larger runs are spans: mappings of their own. A freed span is kept in the
 * node's span cache (at most SPAN_CACHE_MAX of them), reused best fit (a
 * larger one is split, its tail stays cached) and merged with a cached span
 * that touches it, so a program that allocates and frees a 1 MiB buffer in a
 * loop makes no system call after the first.
 *
 * Decay: topology_pages_purge() (called periodically by lib's background
 * worker) returns what has been free for at least the decay period: dirty
 * runs with one madvise() per run of neighbouring old pages, wholly free
 * chunks with one munmap(), old spans with munmap(). The advice is
 * MADV_DONTNEED by default, which drops the pages from the process's RSS at
 * once; MADV_FREE (USLAB_PURGE=free, where the kernel has it) only lets the
 * kernel take them under memory pressure, so RSS, memory.current of the
 * process's cgroup and every tool that reads them keep showing the pages:
 * the decay period already is the grace time MADV_FREE would add. A decay
 * of 0 returns every freed run at once (the provider has no cache then).
 *
 * Nodes: on the real machine, when libnuma works (numa_available() >= 0),
 * every chunk and span is bound to its node with mbind() before it is
 * touched, even on a one-node machine: MPOL_BIND by default, MPOL_PREFERRED
 * with USLAB_NUMA_POLICY=preferred. If the kernel refuses mbind (EPERM in a
 * container, ENOSYS) binding is turned off for the process and memory is
 * only tagged logically, as it always is on an emulated machine.
 *
 * Locking: each node has one leaf lock (LOCK_LEAF: nothing is taken under
 * it) protecting its chunk list, every header of its chunks, its span cache
 * and its pooled count. System calls are made outside it: a run being
 * purged stays marked used until its madvise() returned, so nobody is handed
 * it meanwhile. The counters read by uslab_node_page_stats() are atomics.
 */
#include "topology/internal.h"
#include "private/list.h"
#include "private/lock.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define CHUNK_SIZE	TOPOLOGY_CHUNK_SIZE
#define CHUNK_PAGES	(CHUNK_SIZE / PAGE_SIZE)
#define CHUNK_USABLE	(CHUNK_PAGES - 1)		/* page 0 is the header */
#define CHUNK_WORDS	(CHUNK_PAGES / 64)
#define CHUNK_MAGIC	0x75736c6162636b32ull		/* "uslabck2" */
#define BIND_MAX_NODES	1024				/* the kernel's largest MAX_NUMNODES */
#define SPAN_CACHE_MAX	32				/* cached spans per node */
#define PURGE_BATCH	32				/* runs purged per unlocked round */

_Static_assert(CHUNK_PAGES % 64 == 0, "chunk bitmap is whole words");
_Static_assert(TOPOLOGY_PAGES_MAX_RUN <= CHUNK_USABLE, "a run fits in a chunk");

/*
 * Header of a chunk, in its first page. Protected by the node's lock.
 * nr_free == number of clear bits in used (page 0 is always set);
 * dirty is a subset of ~used, nr_dirty == popcount(dirty), and
 * freed_ms[i] is meaningful for dirty pages only; every free run is shorter
 * than no_run (CHUNK_PAGES: unknown); on the node's list iff nr_free > 0.
 */
struct chunk {
	uint64_t magic;
	int nid;
	unsigned int nr_free;
	unsigned int nr_dirty;
	unsigned int no_run;		/* no free run of this many pages or more */
	uint32_t oldest_ms;		/* <= freed_ms of every dirty page */
	uint32_t newest_ms;		/* >= freed_ms of every dirty page */
	struct list_head link;
	uint64_t used[CHUNK_WORDS];
	uint64_t dirty[CHUNK_WORDS];
	uint32_t freed_ms[CHUNK_PAGES];
};

_Static_assert(sizeof(struct chunk) <= PAGE_SIZE, "chunk header fits in page 0");

/* A cached span: a free mapping of more than TOPOLOGY_PAGES_MAX_RUN pages. */
struct span {
	char *addr;			/* NULL: the slot is free */
	size_t pages;
	uint32_t freed_ms;
};

/*
 * One node's pages. lock (LOCK_LEAF) protects chunks, the headers of the
 * node's chunks, spans[] and pooled. pooled == sum of nr_dirty over chunks
 * + pages of the cached spans. The counters in pages are atomics (written
 * under the lock except for uncached spans).
 */
struct page_node {
	struct umutex lock;
	struct list_head chunks;	/* chunks with free pages, oldest first */
	struct span spans[SPAN_CACHE_MAX];
	unsigned long pooled;
	unsigned long mapped;
	unsigned long in_use;
	unsigned long purged;		/* pages given back to the OS, ever */
	unsigned long nr_mmap, nr_munmap, nr_madvise;
} __attribute__((aligned(CACHE_LINE)));

static struct page_node page_nodes[USLAB_MAX_NUMNODES];
static pthread_once_t pages_once = PTHREAD_ONCE_INIT;
/* Set once in pages_setup(); bind_mode cleared for good if mbind is refused. */
static int bind_mode;		/* MPOL_BIND, MPOL_PREFERRED, or -1: do not bind */
static bool (*page_fail_hook)(int nid, size_t size);
static unsigned int decay_ms = TOPOLOGY_DECAY_MS_DEFAULT;	/* atomic */
static int purge_advice = MADV_DONTNEED;			/* atomic */

static inline void count_add(unsigned long *c, unsigned long n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static inline void count_sub(unsigned long *c, unsigned long n)
{
	__atomic_sub_fetch(c, n, __ATOMIC_RELAXED);
}

static void pages_setup(void)
{
	const char *policy = getenv("USLAB_NUMA_POLICY");

	for (int i = 0; i < USLAB_MAX_NUMNODES; i++) {
		umutex_init(&page_nodes[i].lock, LOCK_LEAF);
		INIT_LIST_HEAD(&page_nodes[i].chunks);
	}
	bind_mode = -1;
	if (!uslab_topology_is_synthetic() && numa_available() >= 0)
		bind_mode = policy && strcmp(policy, "preferred") == 0 ? MPOL_PREFERRED : MPOL_BIND;
}

static struct page_node *page_node_get(int nid)
{
	pthread_once(&pages_once, pages_setup);
	return &page_nodes[nid];
}

bool topology_pages_are_bound(void)
{
	pthread_once(&pages_once, pages_setup);
	return __atomic_load_n(&bind_mode, __ATOMIC_RELAXED) >= 0;
}

void topology_set_page_fail_hook(bool (*should_fail)(int nid, size_t size))
{
	__atomic_store_n(&page_fail_hook, should_fail, __ATOMIC_RELEASE);
}

void topology_pages_set_decay(unsigned int ms, bool lazy_free)
{
	__atomic_store_n(&decay_ms, ms, __ATOMIC_RELAXED);
#ifdef MADV_FREE
	__atomic_store_n(&purge_advice, lazy_free ? MADV_FREE : MADV_DONTNEED, __ATOMIC_RELAXED);
#else
	(void)lazy_free;
#endif
}

bool topology_pages_lazy_free(void)
{
	return __atomic_load_n(&purge_advice, __ATOMIC_RELAXED) != MADV_DONTNEED;
}

unsigned int topology_pages_decay_ms(void)
{
	return __atomic_load_n(&decay_ms, __ATOMIC_RELAXED);
}

/* Milliseconds on a monotonic clock (wraps after 49 days; ages use unsigned differences). */
static uint32_t pages_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static inline bool aged(uint32_t freed, uint32_t now, uint32_t age)
{
	return (uint32_t)(now - freed) >= age;
}

/* ---- system calls ---------------------------------------------------------------- */

/* Bind [addr, addr+len) to real node @nid before anything touches it. */
static void pages_bind(void *addr, size_t len, int nid)
{
	int mode = __atomic_load_n(&bind_mode, __ATOMIC_RELAXED);
	unsigned long mask[BIND_MAX_NODES / (8 * sizeof(unsigned long))] = { 0 };
	const unsigned long bits = 8 * sizeof(unsigned long);
	int os = topology_node_os_index(nid);

	if (mode < 0 || os < 0 || (unsigned long)os >= ARRAY_SIZE(mask) * bits)
		return;
	mask[os / bits] = 1ul << (os % bits);
	/* maxnode counts one more than the mask holds: the kernel drops the last bit. */
	if (mbind(addr, len, mode, mask, ARRAY_SIZE(mask) * bits + 1, 0) == 0)
		return;
	if (errno == EPERM || errno == ENOSYS) {
		if (__atomic_exchange_n(&bind_mode, -1, __ATOMIC_RELAXED) >= 0)
			fprintf(stderr, "uslab: mbind refused (%s); node memory is not bound\n",
				strerror(errno));
	}
	/* Other errors (node without memory, outside our cpuset) leave this mapping unbound. */
}

/* A fresh mapping of @len bytes aligned to @align (a power of two >= PAGE_SIZE). */
static void *pages_map(struct page_node *pn, size_t len, size_t align)
{
	size_t extra = align - PAGE_SIZE;
	char *raw, *p;

	if (len + extra < len)
		return NULL;
	count_add(&pn->nr_mmap, 1);
	raw = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = (char *)ALIGN_UP((uintptr_t)raw, align);
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + len + extra > p + len)
		munmap(p + len, (size_t)(raw + len + extra - (p + len)));
	return p;
}

static void pages_unmap(struct page_node *pn, void *addr, size_t len)
{
	count_add(&pn->nr_munmap, 1);
	munmap(addr, len);
}

static void pages_advise(struct page_node *pn, void *addr, size_t len)
{
	int advice = __atomic_load_n(&purge_advice, __ATOMIC_RELAXED);

	count_add(&pn->nr_madvise, 1);
	if (madvise(addr, len, advice) != 0 && advice != MADV_DONTNEED) {
		/* A kernel without MADV_FREE (before 4.5): fall back for good. */
		__atomic_store_n(&purge_advice, MADV_DONTNEED, __ATOMIC_RELAXED);
		madvise(addr, len, MADV_DONTNEED);
	}
}

/* ---- chunk bitmaps ------------------------------------------------------------------ */

static struct chunk *chunk_create(struct page_node *pn, int nid)
{
	struct chunk *c = pages_map(pn, CHUNK_SIZE, CHUNK_SIZE);

	if (!c)
		return NULL;
	madvise(c, CHUNK_SIZE, MADV_NOHUGEPAGE);
	pages_bind(c, CHUNK_SIZE, nid);
	/* mmap gave zeroes: only the non-zero fields are written. */
	c->magic = CHUNK_MAGIC;
	c->nid = nid;
	c->nr_free = CHUNK_USABLE;
	c->no_run = CHUNK_PAGES;
	c->used[0] = 1;
	INIT_LIST_HEAD(&c->link);
	return c;
}

static inline struct chunk *chunk_of(void *addr)
{
	return (struct chunk *)ALIGN_DOWN((uintptr_t)addr, CHUNK_SIZE);
}

static inline void *chunk_page(struct chunk *c, unsigned int idx)
{
	return (char *)c + (size_t)idx * PAGE_SIZE;
}

/* Mask of bits [lo, hi) of word @w (0 <= lo < hi <= 64 relative to the word). */
static inline uint64_t word_mask(unsigned int lo, unsigned int hi)
{
	uint64_t m = hi >= 64 ? ~0ull : (1ull << hi) - 1;

	return m & (~0ull << lo);
}

/* Number of set bits of @map in [start, start+n). */
static unsigned int bits_count(const uint64_t *map, unsigned int start, unsigned int n)
{
	unsigned int count = 0, end = start + n;

	while (start < end) {
		unsigned int w = start / 64, lo = start % 64;
		unsigned int hi = MIN(64u, lo + (end - start));

		count += (unsigned int)__builtin_popcountll(map[w] & word_mask(lo, hi));
		start += hi - lo;
	}
	return count;
}

static void bits_assign(uint64_t *map, unsigned int start, unsigned int n, bool set)
{
	unsigned int end = start + n;

	while (start < end) {
		unsigned int w = start / 64, lo = start % 64;
		unsigned int hi = MIN(64u, lo + (end - start));

		if (set)
			map[w] |= word_mask(lo, hi);
		else
			map[w] &= ~word_mask(lo, hi);
		start += hi - lo;
	}
}

/* First index >= @i whose bit in @map is @set, or CHUNK_PAGES. */
static unsigned int bits_next(const uint64_t *map, unsigned int i, bool set)
{
	while (i < CHUNK_PAGES) {
		uint64_t w = set ? map[i / 64] : ~map[i / 64];

		w &= ~0ull << (i % 64);
		if (w)
			return (i & ~63u) + (unsigned int)__builtin_ctzll(w);
		i = (i & ~63u) + 64;
	}
	return CHUNK_PAGES;
}

/* First page of the lowest run of @n free pages in @c, or -1. */
static int chunk_find_run_locked(struct page_node *pn, struct chunk *c, unsigned int n)
{
	unsigned int start = 1, end;

	lockdep_assert_held(&pn->lock);
	while ((start = bits_next(c->used, start, false)) < CHUNK_PAGES) {
		end = bits_next(c->used, start, true);
		if (end - start >= n)
			return (int)start;
		start = end;
	}
	/* Runs only shrink until the next free: no need to look again for >= n. */
	c->no_run = n;
	return -1;
}

/* Hand out pages [idx, idx+n) of @c; its dirty pages leave the pool. */
static void chunk_take_locked(struct page_node *pn, struct chunk *c, unsigned int idx, unsigned int n)
{
	unsigned int dirty;

	lockdep_assert_held(&pn->lock);
	USLAB_ASSERT_INTERNAL(bits_count(c->used, idx, n) == 0);
	dirty = bits_count(c->dirty, idx, n);
	if (dirty) {
		bits_assign(c->dirty, idx, n, false);
		c->nr_dirty -= dirty;
		count_sub(&pn->pooled, dirty);
	}
	bits_assign(c->used, idx, n, true);
	c->nr_free -= n;
	if (c->nr_free == 0)
		list_del(&c->link);
}

/*
 * Take back pages [idx, idx+n) of @c: @dirty (still resident, stamped
 * @now) or clean (already returned to the OS).
 */
static void chunk_give_locked(struct page_node *pn, struct chunk *c, unsigned int idx,
			      unsigned int n, bool dirty, uint32_t now)
{
	lockdep_assert_held(&pn->lock);
	bits_assign(c->used, idx, n, false);
	if (dirty) {
		if (c->nr_dirty == 0 || (int32_t)(now - c->oldest_ms) < 0)
			c->oldest_ms = now;
		c->newest_ms = now;
		bits_assign(c->dirty, idx, n, true);
		for (unsigned int i = idx; i < idx + n; i++)
			c->freed_ms[i] = now;
		c->nr_dirty += n;
		count_add(&pn->pooled, n);
	}
	if (c->nr_free == 0)
		list_add_tail(&c->link, &pn->chunks);
	c->nr_free += n;
	c->no_run = CHUNK_PAGES;
}

static void *pages_alloc_chunked(struct page_node *pn, int nid, unsigned int n)
{
	struct chunk *c;
	int idx = -1;

	umutex_lock(&pn->lock);
	list_for_each_entry(c, &pn->chunks, link) {
		if (c->nr_free >= n && n < c->no_run && (idx = chunk_find_run_locked(pn, c, n)) >= 0)
			goto found;
	}
	umutex_unlock(&pn->lock);

	c = chunk_create(pn, nid);
	if (!c)
		return NULL;
	umutex_lock(&pn->lock);
	/* Another thread may have freed pages meanwhile; the fresh chunk is used anyway. */
	list_add_tail(&c->link, &pn->chunks);
	count_add(&pn->mapped, CHUNK_PAGES);
	idx = chunk_find_run_locked(pn, c, n);
	USLAB_ASSERT(idx > 0);
found:
	chunk_take_locked(pn, c, (unsigned int)idx, n);
	count_add(&pn->in_use, n);
	umutex_unlock(&pn->lock);
	return chunk_page(c, (unsigned int)idx);
}

static void pages_free_chunked(struct page_node *pn, void *addr, int nid, unsigned int n)
{
	struct chunk *c = chunk_of(addr);
	unsigned int idx = (unsigned int)(((uintptr_t)addr - (uintptr_t)c) / PAGE_SIZE);
	bool keep = topology_pages_decay_ms() > 0;
	bool dead = false;

	USLAB_ASSERT(c->magic == CHUNK_MAGIC && c->nid == nid);
	USLAB_ASSERT(idx >= 1 && idx + n <= CHUNK_PAGES);

	umutex_lock(&pn->lock);
	/* A double free, or a size that differs from the allocation's. */
	USLAB_ASSERT(bits_count(c->used, idx, n) == n);
	count_sub(&pn->in_use, n);
	if (keep) {
		chunk_give_locked(pn, c, idx, n, true, pages_now_ms());
		umutex_unlock(&pn->lock);
		return;
	}
	/* No cache: return the run now. Still marked used, so nobody is handed it meanwhile. */
	umutex_unlock(&pn->lock);
	pages_advise(pn, addr, (size_t)n * PAGE_SIZE);
	umutex_lock(&pn->lock);
	chunk_give_locked(pn, c, idx, n, false, 0);
	count_add(&pn->purged, n);
	if (c->nr_free == CHUNK_USABLE && c->nr_dirty == 0) {
		list_del(&c->link);
		count_sub(&pn->mapped, CHUNK_PAGES);
		dead = true;
	}
	umutex_unlock(&pn->lock);
	if (dead)
		pages_unmap(pn, c, CHUNK_SIZE);
}

/* ---- spans ------------------------------------------------------------------------- */

/*
 * The best cached span for @n pages: the smallest that is large enough.
 * Return: its slot, or NULL.
 */
static struct span *span_best_fit_locked(struct page_node *pn, size_t n)
{
	struct span *best = NULL;

	lockdep_assert_held(&pn->lock);
	for (unsigned int i = 0; i < SPAN_CACHE_MAX; i++) {
		struct span *sp = &pn->spans[i];

		if (sp->addr && sp->pages >= n && (!best || sp->pages < best->pages))
			best = sp;
	}
	return best;
}

static void *pages_alloc_span(struct page_node *pn, int nid, size_t n)
{
	struct span *sp;
	char *p;

	umutex_lock(&pn->lock);
	sp = span_best_fit_locked(pn, n);
	if (sp) {
		p = sp->addr;
		if (sp->pages == n) {
			sp->addr = NULL;
		} else {
			/* Split: the tail stays cached, as old as it was. */
			sp->addr += n * PAGE_SIZE;
			sp->pages -= n;
		}
		count_sub(&pn->pooled, n);
		count_add(&pn->in_use, n);
		umutex_unlock(&pn->lock);
		return p;
	}
	umutex_unlock(&pn->lock);

	p = pages_map(pn, n * PAGE_SIZE, PAGE_SIZE);
	if (!p)
		return NULL;
	pages_bind(p, n * PAGE_SIZE, nid);
	count_add(&pn->mapped, n);
	count_add(&pn->in_use, n);
	return p;
}

static void pages_free_span(struct page_node *pn, void *addr, size_t n)
{
	uint32_t now = pages_now_ms();
	struct span *slot = NULL, *oldest = NULL;
	char *p = addr, *victim = NULL;
	size_t victim_pages = 0;

	count_sub(&pn->in_use, n);
	if (topology_pages_decay_ms() == 0) {
		count_sub(&pn->mapped, n);
		count_add(&pn->purged, n);
		pages_unmap(pn, addr, n * PAGE_SIZE);
		return;
	}
	umutex_lock(&pn->lock);
	/* Merge with cached neighbours: one span, one later munmap. */
	for (unsigned int i = 0; i < SPAN_CACHE_MAX; i++) {
		struct span *sp = &pn->spans[i];

		if (!sp->addr)
			continue;
		if (sp->addr + sp->pages * PAGE_SIZE == p || p + n * PAGE_SIZE == sp->addr) {
			count_sub(&pn->pooled, sp->pages);
			if (sp->addr < p)
				p = sp->addr;
			n += sp->pages;
			sp->addr = NULL;
		}
	}
	for (unsigned int i = 0; i < SPAN_CACHE_MAX; i++) {
		struct span *sp = &pn->spans[i];

		if (!sp->addr) {
			slot = sp;
			break;
		}
		if (!oldest || (int32_t)(sp->freed_ms - oldest->freed_ms) < 0)
			oldest = sp;
	}
	if (!slot) {
		/* The cache is full: the oldest span goes back to the OS now. */
		slot = oldest;
		victim = oldest->addr;
		victim_pages = oldest->pages;
		count_sub(&pn->pooled, victim_pages);
		count_sub(&pn->mapped, victim_pages);
		count_add(&pn->purged, victim_pages);
	}
	*slot = (struct span){ .addr = p, .pages = n, .freed_ms = now };
	count_add(&pn->pooled, n);
	umutex_unlock(&pn->lock);
	if (victim)
		pages_unmap(pn, victim, victim_pages * PAGE_SIZE);
}

/* ---- the API ----------------------------------------------------------------------- */

void *topology_alloc_pages(int nid, size_t size)
{
	bool (*hook)(int, size_t) = __atomic_load_n(&page_fail_hook, __ATOMIC_ACQUIRE);
	struct page_node *pn;
	size_t n = size / PAGE_SIZE;
	void *p;

	if (unlikely(nid < 0 || nid >= (int)uslab_nr_node_ids() || size == 0 || size % PAGE_SIZE)) {
		errno = EINVAL;
		return NULL;
	}
	if (unlikely(hook != NULL) && hook(nid, size)) {
		errno = ENOMEM;
		return NULL;
	}
	pn = page_node_get(nid);
	if (likely(n <= TOPOLOGY_PAGES_MAX_RUN))
		p = pages_alloc_chunked(pn, nid, (unsigned int)n);
	else
		p = pages_alloc_span(pn, nid, n);
	if (unlikely(!p)) {
		/* The OS said no: give it the cache back and try once more. */
		if (topology_pages_purge(nid, true)) {
			p = n <= TOPOLOGY_PAGES_MAX_RUN ? pages_alloc_chunked(pn, nid, (unsigned int)n)
							: pages_alloc_span(pn, nid, n);
		}
		if (!p)
			errno = ENOMEM;
	}
	return p;
}

void topology_free_pages(void *addr, size_t size, int nid)
{
	struct page_node *pn;
	size_t n = size / PAGE_SIZE;

	USLAB_ASSERT(nid >= 0 && nid < (int)uslab_nr_node_ids());
	USLAB_ASSERT(size != 0 && size % PAGE_SIZE == 0 && (uintptr_t)addr % PAGE_SIZE == 0);
	pn = page_node_get(nid);
	if (likely(n <= TOPOLOGY_PAGES_MAX_RUN))
		pages_free_chunked(pn, addr, nid, (unsigned int)n);
	else
		pages_free_span(pn, addr, n);
}

/* ---- decay and trim ----------------------------------------------------------------- */

struct purge_run {
	struct chunk *c;
	unsigned int idx, n;
};

/*
 * Collect up to @max runs of @c's dirty pages freed at least @age ago,
 * marking them used so that nobody takes them while they are purged.
 * Return: runs collected; *@more is set when more remain.
 */
static unsigned int chunk_collect_locked(struct page_node *pn, struct chunk *c, uint32_t now,
					 uint32_t age, struct purge_run *runs, unsigned int max,
					 bool *more)
{
	unsigned int nr = 0, start = 1;
	uint32_t oldest_left = now;
	bool left = false;

	lockdep_assert_held(&pn->lock);
	while ((start = bits_next(c->dirty, start, true)) < CHUNK_PAGES) {
		unsigned int end = bits_next(c->dirty, start, false), i = start;

		while (i < end) {
			unsigned int j = i;

			/* [i, j): neighbouring pages that are all old enough, or all young. */
			bool old = aged(c->freed_ms[i], now, age);
			while (j < end && aged(c->freed_ms[j], now, age) == old) {
				if (!old && (int32_t)(c->freed_ms[j] - oldest_left) < 0)
					oldest_left = c->freed_ms[j];
				j++;
			}
			if (!old) {
				left = true;
			} else if (nr < max) {
				runs[nr++] = (struct purge_run){ c, i, j - i };
				bits_assign(c->dirty, i, j - i, false);
				bits_assign(c->used, i, j - i, true);
				c->nr_dirty -= j - i;
				c->nr_free -= j - i;
				count_sub(&pn->pooled, j - i);
			} else {
				*more = true;
				left = true;
				if ((int32_t)(c->freed_ms[i] - oldest_left) < 0)
					oldest_left = c->freed_ms[i];
			}
			i = j;
		}
		start = end;
	}
	if (left)
		c->oldest_ms = oldest_left;
	if (c->nr_free == 0)
		list_del(&c->link);
	return nr;
}

/*
 * Return node @pn's cached memory freed at least @age ms ago (all of it for
 * 0). Return: pages given back to the OS.
 */
static unsigned long pages_purge_node(struct page_node *pn, uint32_t age)
{
	struct purge_run runs[PURGE_BATCH];
	unsigned long purged = 0;
	uint32_t now = pages_now_ms();
	bool more;

	do {
		struct chunk *c, *next, *dead[PURGE_BATCH];
		struct span spans[SPAN_CACHE_MAX];
		unsigned int nr = 0, nr_dead = 0, nr_spans = 0;

		more = false;
		umutex_lock(&pn->lock);
		/* Wholly free chunks whose pages are all old enough go in one munmap. */
		list_for_each_entry_safe(c, next, &pn->chunks, link) {
			if (c->nr_free != CHUNK_USABLE || (c->nr_dirty && !aged(c->newest_ms, now, age)))
				continue;
			if (nr_dead == PURGE_BATCH) {
				more = true;
				break;
			}
			list_del(&c->link);
			count_sub(&pn->pooled, c->nr_dirty);
			count_sub(&pn->mapped, CHUNK_PAGES);
			count_add(&pn->purged, c->nr_dirty);
			purged += c->nr_dirty;
			dead[nr_dead++] = c;
		}
		list_for_each_entry_safe(c, next, &pn->chunks, link) {
			if (!c->nr_dirty || !aged(c->oldest_ms, now, age))
				continue;
			if (nr == PURGE_BATCH) {
				more = true;
				break;
			}
			nr += chunk_collect_locked(pn, c, now, age, runs + nr, PURGE_BATCH - nr, &more);
		}
		for (unsigned int i = 0; i < SPAN_CACHE_MAX; i++) {
			struct span *sp = &pn->spans[i];

			if (!sp->addr || !aged(sp->freed_ms, now, age))
				continue;
			spans[nr_spans++] = *sp;
			count_sub(&pn->pooled, sp->pages);
			count_sub(&pn->mapped, sp->pages);
			count_add(&pn->purged, sp->pages);
			sp->addr = NULL;
		}
		umutex_unlock(&pn->lock);

		for (unsigned int i = 0; i < nr_dead; i++)
			pages_unmap(pn, dead[i], CHUNK_SIZE);
		for (unsigned int i = 0; i < nr_spans; i++) {
			pages_unmap(pn, spans[i].addr, spans[i].pages * PAGE_SIZE);
			purged += spans[i].pages;
		}
		for (unsigned int i = 0; i < nr; i++)
			pages_advise(pn, chunk_page(runs[i].c, runs[i].idx), (size_t)runs[i].n * PAGE_SIZE);
		if (!nr)
			continue;
		umutex_lock(&pn->lock);
		for (unsigned int i = 0; i < nr; i++) {
			struct chunk *rc = runs[i].c;

			chunk_give_locked(pn, rc, runs[i].idx, runs[i].n, false, 0);
			count_add(&pn->purged, runs[i].n);
			purged += runs[i].n;
		}
		umutex_unlock(&pn->lock);
	} while (more);
	return purged;
}

unsigned long topology_pages_purge(int nid, bool all)
{
	uint32_t age = all ? 0 : topology_pages_decay_ms();
	int nr = (int)uslab_nr_node_ids();
	unsigned long purged = 0;

	for (int i = 0; i < nr; i++) {
		struct page_node *pn = page_node_get(i);

		if (nid >= 0 && nid != i)
			continue;
		/* A trim also looks for wholly free chunks that hold no dirty page. */
		if (!all && !__atomic_load_n(&pn->pooled, __ATOMIC_RELAXED))
			continue;
		purged += pages_purge_node(pn, age);
	}
	return purged;
}

unsigned long topology_pages_pooled(int nid)
{
	int nr = (int)uslab_nr_node_ids();
	unsigned long pooled = 0;

	pthread_once(&pages_once, pages_setup);
	for (int i = 0; i < nr; i++)
		if (nid < 0 || nid == i)
			pooled += __atomic_load_n(&page_nodes[i].pooled, __ATOMIC_RELAXED);
	return pooled;
}

int uslab_node_page_stats(int node, struct uslab_page_stats *st)
{
	const struct page_node *pn;

	if (node < 0 || node >= (int)uslab_nr_node_ids() || !st)
		return -EINVAL;
	pthread_once(&pages_once, pages_setup);
	pn = &page_nodes[node];
	*st = (struct uslab_page_stats){
		.mapped = __atomic_load_n(&pn->mapped, __ATOMIC_RELAXED),
		.in_use = __atomic_load_n(&pn->in_use, __ATOMIC_RELAXED),
		.pooled = __atomic_load_n(&pn->pooled, __ATOMIC_RELAXED),
		.purged = __atomic_load_n(&pn->purged, __ATOMIC_RELAXED),
		.nr_mmap = __atomic_load_n(&pn->nr_mmap, __ATOMIC_RELAXED),
		.nr_munmap = __atomic_load_n(&pn->nr_munmap, __ATOMIC_RELAXED),
		.nr_madvise = __atomic_load_n(&pn->nr_madvise, __ATOMIC_RELAXED),
	};
	return 0;
}

int uslab_node_pages(int node, unsigned long *mapped, unsigned long *in_use)
{
	struct uslab_page_stats st;

	if (uslab_node_page_stats(node, &st))
		return -EINVAL;
	if (mapped)
		*mapped = st.mapped;
	if (in_use)
		*in_use = st.in_use;
	return 0;
}

void topology_fork_pages(enum fork_phase phase)
{
	int nr = (int)uslab_nr_node_ids();

	pthread_once(&pages_once, pages_setup);
	for (int i = 0; i < nr; i++)
		umutex_fork(&page_nodes[i].lock, phase);
}
