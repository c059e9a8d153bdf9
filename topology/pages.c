// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * topology/pages.c - the page provider: page-aligned memory of a given node
 * for slabs and large allocations, cheap enough for every slab grow, and
 * returned to the OS soon after it is freed.
 *
 * Requests of up to TOPOLOGY_PAGES_MAX_RUN pages are carved from per-node
 * chunks of TOPOLOGY_CHUNK_SIZE bytes, mapped aligned to their size so that
 * the chunk of an address is found by masking. Page 0 of a chunk holds its
 * header (struct chunk) with a bitmap of used pages; a run of n pages is
 * found first-fit in the bitmap (word at a time), so neighbouring free runs
 * merge by themselves; a chunk remembers the smallest run it failed to find
 * until something is freed in it, so full-ish chunks are skipped at once. Larger requests get a mapping of their own, unmapped on free.
 *
 * Giving memory back: a freed run stays resident only while the node's
 * reserve (free resident pages, <= TOPOLOGY_PAGES_RESERVE, 256 KiB) has room;
 * otherwise it is dropped with madvise(MADV_DONTNEED) before it is marked
 * free. A chunk that becomes wholly free is unmapped, except one per node
 * (the spare), kept so that a cache growing and shrinking by one slab at a
 * chunk boundary does not mmap and munmap each time; its pages are not
 * resident beyond the reserve. Chunks are marked MADV_NOHUGEPAGE, so that
 * one touched slab costs 4 KiB of RSS and not a 2 MiB huge page.
 *
 * Nodes: on the real machine, when libnuma works (numa_available() >= 0),
 * every chunk and large mapping is bound to its node with mbind() before it
 * is touched, even on a one-node machine (the cost is one system call per
 * 2 MiB, and the binding is then visible to tools and to the tests):
 * MPOL_BIND by default, MPOL_PREFERRED with USLAB_NUMA_POLICY=preferred
 * (falls back to other nodes instead of failing when the node is full).
 * If the kernel refuses mbind (EPERM in a container, ENOSYS) binding is
 * turned off for the process and memory is only tagged logically, as it
 * always is on an emulated machine.
 *
 * Locking: each node has one leaf lock (LOCK_LEAF, nothing is taken under
 * it) protecting its chunk list, every header of its chunks and its reserve
 * count. System calls are made outside it, except in topology_drain_pages().
 * mapped and in_use are atomics so that uslab_node_pages() reads them
 * without the lock; large mappings update them without the lock.
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

#define CHUNK_SIZE	TOPOLOGY_CHUNK_SIZE
#define CHUNK_PAGES	(CHUNK_SIZE / PAGE_SIZE)
#define CHUNK_USABLE	(CHUNK_PAGES - 1)		/* page 0 is the header */
#define CHUNK_WORDS	(CHUNK_PAGES / 64)
#define CHUNK_MAGIC	0x75736c6162636b31ull		/* "uslabck1" */
#define BIND_MAX_NODES	1024				/* the kernel's largest MAX_NUMNODES */

_Static_assert(CHUNK_PAGES % 64 == 0, "chunk bitmap is whole words");
_Static_assert(TOPOLOGY_PAGES_MAX_RUN <= CHUNK_USABLE, "a run fits in a chunk");

/*
 * Header of a chunk, in its first page. Protected by the node's lock.
 * nr_free == number of clear bits in used; page 0 is always set in used;
 * every free run is shorter than no_run (CHUNK_PAGES: unknown);
 * resident is a subset of ~used (free pages not yet given back to the OS);
 * on the node's list iff nr_free > 0.
 */
struct chunk {
	uint64_t magic;
	int nid;
	unsigned int nr_free;
	unsigned int no_run;		/* no free run of this many pages or more */
	struct list_head link;
	uint64_t used[CHUNK_WORDS];
	uint64_t resident[CHUNK_WORDS];
};

_Static_assert(sizeof(struct chunk) <= PAGE_SIZE, "chunk header fits in page 0");

/*
 * One node's pages. lock (LOCK_LEAF) protects chunks, nr_empty, reserve and
 * the headers of the node's chunks. reserve == sum over chunks of
 * popcount(resident) <= TOPOLOGY_PAGES_RESERVE; nr_empty (wholly free
 * chunks) <= 1. mapped and in_use are in pages, atomics.
 */
struct page_node {
	struct umutex lock;
	struct list_head chunks;	/* chunks with free pages, oldest first */
	unsigned int nr_empty;
	unsigned long reserve;
	unsigned long mapped;
	unsigned long in_use;
} __attribute__((aligned(CACHE_LINE)));

static struct page_node page_nodes[USLAB_MAX_NUMNODES];
static pthread_once_t pages_once = PTHREAD_ONCE_INIT;
/* Set once in pages_setup(); bind_mode cleared for good if mbind is refused. */
static int bind_mode;		/* MPOL_BIND, MPOL_PREFERRED, or -1: do not bind */
static bool (*page_fail_hook)(int nid, size_t size);

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
static void *pages_map(size_t len, size_t align)
{
	size_t extra = align - PAGE_SIZE;
	char *raw, *p;

	if (len + extra < len)
		return NULL;
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

static struct chunk *chunk_create(int nid)
{
	struct chunk *c = pages_map(CHUNK_SIZE, CHUNK_SIZE);

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

static inline bool bit_test(const uint64_t *map, unsigned int i)
{
	return (map[i / 64] >> (i % 64)) & 1;
}

/* Number of set bits of @map in [start, start+n). */
static unsigned int bits_count(const uint64_t *map, unsigned int start, unsigned int n)
{
	unsigned int count = 0;

	for (unsigned int i = start; i < start + n; i++)
		count += bit_test(map, i);
	return count;
}

static void bits_assign(uint64_t *map, unsigned int start, unsigned int n, bool set)
{
	for (unsigned int i = start; i < start + n; i++) {
		if (set)
			map[i / 64] |= 1ull << (i % 64);
		else
			map[i / 64] &= ~(1ull << (i % 64));
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

/* Hand out pages [idx, idx+n) of @c. */
static void chunk_take_locked(struct page_node *pn, struct chunk *c, unsigned int idx, unsigned int n)
{
	lockdep_assert_held(&pn->lock);
	if (c->nr_free == CHUNK_USABLE)
		pn->nr_empty--;
	pn->reserve -= bits_count(c->resident, idx, n);
	bits_assign(c->resident, idx, n, false);
	bits_assign(c->used, idx, n, true);
	c->nr_free -= n;
	if (c->nr_free == 0)
		list_del(&c->link);
	__atomic_add_fetch(&pn->in_use, n, __ATOMIC_RELAXED);
}

/*
 * Take back pages [idx, idx+n) of @c, @resident if they are still in memory
 * (then they join the reserve). Return: the chunk if it must now be unmapped
 * (already unlinked and uncounted), else NULL.
 */
static struct chunk *chunk_give_locked(struct page_node *pn, struct chunk *c, unsigned int idx,
				       unsigned int n, bool resident)
{
	lockdep_assert_held(&pn->lock);
	bits_assign(c->used, idx, n, false);
	if (resident) {
		bits_assign(c->resident, idx, n, true);
		pn->reserve += n;
	}
	if (c->nr_free == 0)
		list_add_tail(&c->link, &pn->chunks);
	c->nr_free += n;
	c->no_run = CHUNK_PAGES;
	__atomic_sub_fetch(&pn->in_use, n, __ATOMIC_RELAXED);
	if (c->nr_free < CHUNK_USABLE)
		return NULL;
	if (pn->nr_empty == 0) {
		pn->nr_empty = 1;		/* the spare */
		list_move_tail(&c->link, &pn->chunks);
		return NULL;
	}
	list_del(&c->link);
	pn->reserve -= bits_count(c->resident, 1, CHUNK_USABLE);
	__atomic_sub_fetch(&pn->mapped, CHUNK_PAGES, __ATOMIC_RELAXED);
	return c;
}

static void *pages_alloc_chunked(struct page_node *pn, int nid, unsigned int n)
{
	struct chunk *c, *fresh = NULL;
	int idx = -1;

	umutex_lock(&pn->lock);
	list_for_each_entry(c, &pn->chunks, link) {
		if (c->nr_free >= n && n < c->no_run && (idx = chunk_find_run_locked(pn, c, n)) >= 0)
			goto found;
	}
	umutex_unlock(&pn->lock);

	fresh = chunk_create(nid);
	if (!fresh)
		return NULL;
	umutex_lock(&pn->lock);
	/* Another thread may have freed pages meanwhile; a fresh chunk is used anyway. */
	c = fresh;
	list_add_tail(&c->link, &pn->chunks);
	pn->nr_empty++;
	__atomic_add_fetch(&pn->mapped, CHUNK_PAGES, __ATOMIC_RELAXED);
	idx = chunk_find_run_locked(pn, c, n);
	USLAB_ASSERT(idx > 0);
found:
	chunk_take_locked(pn, c, (unsigned int)idx, n);
	umutex_unlock(&pn->lock);
	return (char *)c + (size_t)idx * PAGE_SIZE;
}

static void pages_free_chunked(struct page_node *pn, void *addr, int nid, unsigned int n)
{
	struct chunk *c = chunk_of(addr), *dead;
	unsigned int idx = (unsigned int)(((uintptr_t)addr - (uintptr_t)c) / PAGE_SIZE);
	bool keep;

	USLAB_ASSERT(c->magic == CHUNK_MAGIC && c->nid == nid);
	USLAB_ASSERT(idx >= 1 && idx + n <= CHUNK_PAGES);

	umutex_lock(&pn->lock);
	/* A double free, or a size that differs from the allocation's. */
	USLAB_ASSERT(bits_count(c->used, idx, n) == n);
	keep = pn->reserve + n <= TOPOLOGY_PAGES_RESERVE;
	if (!keep) {
		/* Still marked used, so nobody can be handed these pages meanwhile. */
		umutex_unlock(&pn->lock);
		madvise(addr, (size_t)n * PAGE_SIZE, MADV_DONTNEED);
		umutex_lock(&pn->lock);
	}
	dead = chunk_give_locked(pn, c, idx, n, keep);
	umutex_unlock(&pn->lock);
	if (dead)
		munmap(dead, CHUNK_SIZE);
}

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
	if (likely(n <= TOPOLOGY_PAGES_MAX_RUN)) {
		p = pages_alloc_chunked(pn, nid, (unsigned int)n);
	} else {
		p = pages_map(size, PAGE_SIZE);
		if (p) {
			pages_bind(p, size, nid);
			__atomic_add_fetch(&pn->mapped, n, __ATOMIC_RELAXED);
			__atomic_add_fetch(&pn->in_use, n, __ATOMIC_RELAXED);
		}
	}
	if (unlikely(!p))
		errno = ENOMEM;
	return p;
}

void topology_free_pages(void *addr, size_t size, int nid)
{
	struct page_node *pn;
	size_t n = size / PAGE_SIZE;

	USLAB_ASSERT(nid >= 0 && nid < (int)uslab_nr_node_ids());
	USLAB_ASSERT(size != 0 && size % PAGE_SIZE == 0 && (uintptr_t)addr % PAGE_SIZE == 0);
	pn = page_node_get(nid);
	if (likely(n <= TOPOLOGY_PAGES_MAX_RUN)) {
		pages_free_chunked(pn, addr, nid, (unsigned int)n);
	} else {
		munmap(addr, size);
		__atomic_sub_fetch(&pn->in_use, n, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&pn->mapped, n, __ATOMIC_RELAXED);
	}
}

/* Give node @pn's reserve and spare back to the OS. */
static void pages_drain_node(struct page_node *pn)
{
	struct chunk *c, *next;
	struct list_head dead = LIST_HEAD_INIT(dead);

	umutex_lock(&pn->lock);
	list_for_each_entry_safe(c, next, &pn->chunks, link) {
		if (c->nr_free == CHUNK_USABLE) {
			list_move(&c->link, &dead);
			pn->nr_empty--;
			pn->reserve -= bits_count(c->resident, 1, CHUNK_USABLE);
			__atomic_sub_fetch(&pn->mapped, CHUNK_PAGES, __ATOMIC_RELAXED);
			continue;
		}
		/* Under the lock, so that no resident page is handed out meanwhile. */
		unsigned int start = 1, end;

		while ((start = bits_next(c->resident, start, true)) < CHUNK_PAGES) {
			end = bits_next(c->resident, start, false);
			madvise((char *)c + (size_t)start * PAGE_SIZE, (size_t)(end - start) * PAGE_SIZE,
				MADV_DONTNEED);
			bits_assign(c->resident, start, end - start, false);
			pn->reserve -= end - start;
			start = end;
		}
	}
	umutex_unlock(&pn->lock);
	list_for_each_entry_safe(c, next, &dead, link)
		munmap(c, CHUNK_SIZE);
}

void topology_drain_pages(int nid)
{
	int nr = (int)uslab_nr_node_ids();

	for (int i = 0; i < nr; i++)
		if (nid < 0 || nid == i)
			pages_drain_node(page_node_get(i));
}

int uslab_node_pages(int node, unsigned long *mapped, unsigned long *in_use)
{
	if (node < 0 || node >= (int)uslab_nr_node_ids())
		return -EINVAL;
	pthread_once(&pages_once, pages_setup);
	if (mapped)
		*mapped = __atomic_load_n(&page_nodes[node].mapped, __ATOMIC_RELAXED);
	if (in_use)
		*in_use = __atomic_load_n(&page_nodes[node].in_use, __ATOMIC_RELAXED);
	return 0;
}
