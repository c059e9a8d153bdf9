/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/slab.h - the allocator's private structures and what lib/ files offer
 * each other. The design is mm/slab.c's SLAB: a cache has one array_cache per
 * CPU (LIFO stack of free objects), and per node a kmem_cache_node with a
 * shared array and slabs_full/partial/free lists. Slabs keep their freelist
 * out of band (an index array in the slab's management area), so a free
 * object's bytes are never written by the allocator.
 *
 * Locks (private/lock.h has the global order):
 *   slab_mutex (level 2)            the cache list; create, destroy, tune
 *   kmem_cache_node.list_lock (4)   the node's lists, counters and shared array
 *   cpu_cache_slot.lock (5)         one CPU's array_cache on the locked path
 * A path that needs both a CPU array and a node list never nests them: it
 * moves objects through a small on-stack batch between the two sections.
 */
#ifndef USLAB_LIB_SLAB_H
#define USLAB_LIB_SLAB_H

#ifndef USLAB_BUILDING
#error "lib/slab.h is internal to uslab"
#endif

#include <errno.h>
#include <string.h>
#include <uslab/slab.h>
#include <urcu/urcu-memb.h> /* struct rcu_head, mapped to the memb flavour */
#include "hotplug/internal.h"
#include "memcg/internal.h"
#include "private/list.h"
#include "private/lock.h"
#include "topology/internal.h"

/* ---- constants ------------------------------------------------------------ */

#define SLAB_MAX_ORDER      10     /* 4 MiB slabs at most */
#define SLAB_MAX_ORDER_PREF 1      /* kernel slab_max_order on machines > 32 MiB */
#define SLAB_OFF_SLAB_MIN   512    /* objects this large keep management off-slab */
#define SLAB_MAX_LIMIT      1024   /* largest per-CPU array (uslab_cache_tune) */
#define SLAB_MAX_SHARED     64
#define BATCHREFILL_LIMIT   16     /* refill of an untouched array is capped here */
#define ALIEN_LIMIT         12
#define SLAB_MAX_BATCH      256    /* largest batchcount: on-stack batches hold this many */
/*
 * Adaptive CPU arrays (doc/tuning.md): an array that misses ARRAY_GROW_MISSES
 * times within ARRAY_GROW_WINDOW times its limit in operations doubles its
 * limit, up to ARRAY_ADAPT_BYTES of objects (and SLAB_MAX_LIMIT entries); an
 * idle one halves back towards the cache's limit at each reaper pass.
 */
#define ARRAY_GROW_MISSES   4
#define ARRAY_GROW_WINDOW   16
#define ARRAY_ADAPT_BYTES   (256u << 10)

/* All flags a caller may pass; anything else is EINVAL. */
#define SLAB_FLAGS_ALLOWED                                                         \
	(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_HWCACHE_ALIGN |  \
	 SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_STORE_USER | SLAB_RECLAIM_ACCOUNT |  \
	 SLAB_PANIC | SLAB_TYPESAFE_BY_RCU | SLAB_MEM_SPREAD | SLAB_TRACE |            \
	 SLAB_DEBUG_OBJECTS | SLAB_NOLEAKTRACE | SLAB_NO_MERGE | SLAB_FAILSLAB |       \
	 SLAB_ACCOUNT | SLAB_KASAN | SLAB_NO_USER_FLAGS)
#define SLAB_DEBUG_FLAGS (SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_CONSISTENCY_CHECKS)
#define SLAB_NEVER_MERGE                                                           \
	(SLAB_DEBUG_FLAGS | SLAB_TRACE | SLAB_TYPESAFE_BY_RCU | SLAB_NOLEAKTRACE |     \
	 SLAB_FAILSLAB | SLAB_KASAN | SLAB_NO_MERGE)
#define SLAB_MERGE_SAME (SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_ACCOUNT)

/* Internal cache flags, above the public ones. */
#define CFLGS_OFF_SLAB 0x80000000u /* management area allocated with kmalloc */
#define CFLGS_KMALLOC  0x40000000u /* one of the kmalloc caches */

/* ---- statistics ------------------------------------------------------------ */

/* Counted per CPU under the CPU's lock, or per cache with relaxed atomics. */
enum slab_stat_item {
	STAT_ALLOC_HIT,   /* alloc served by the CPU array */
	STAT_ALLOC_MISS,  /* alloc that refilled */
	STAT_FREE_HIT,    /* free into the CPU array */
	STAT_FREE_MISS,   /* free that flushed the CPU array */
	STAT_GROWN,       /* slabs created */
	STAT_REAPED,      /* slabs freed */
	STAT_NODE_ALLOC,  /* allocs served straight from a node's lists */
	STAT_NODE_FREE,   /* frees that went straight to a node's lists */
	STAT_ALIEN_FREE,  /* frees of another node's object */
	STAT_ARRAY_GROW,  /* a CPU array doubled its limit (adaptive sizing) */
	NR_SLAB_STATS
};

/* ---- structures ------------------------------------------------------------ */

/*
 * struct array_cache - a LIFO stack of free objects, its header in one cache
 * line. A CPU's array is the header itself, in the CPU's cpu_cache_slot: the
 * fast path computes the slot from the CPU number and reads avail, limit,
 * nid and the entries pointer from one line, with no pointer to chase first.
 * A node's shared array and a CPU's alien arrays are allocated with their
 * entries just after the header.
 *
 * A CPU's array is protected by the CPU's slot lock (cpu_cache_cold.lock)
 * and, in rseq mode, by @closed as well: a restartable sequence uses the
 * array only while it is ARRAY_OPEN, and whoever takes the lock closes it
 * (lib/percpu.c) before touching it. A node's shared array is protected by
 * the node's list_lock, an alien array by its CPU's slot lock.
 * Invariant: avail <= limit <= capacity; every entry is a free object of the
 * cache on the array's node, counted as in use by its slab; a CPU's array
 * has entry == NULL exactly when the CPU is offline (then ARRAY_ABSENT).
 */
struct array_cache {
	unsigned int avail;
	unsigned int limit;
	unsigned int batchcount;
	unsigned int touched;   /* used since the reaper last looked */
	int nid;                /* node of every object here */
	unsigned int closed;    /* CPU arrays: ARRAY_OPEN, ARRAY_OWNED or ARRAY_ABSENT */
	void **entry;           /* [capacity] */
	unsigned long alloc_hits; /* CPU arrays: allocations the array served */
	unsigned long free_hits;  /* CPU arrays: frees the array took */
	unsigned int capacity;    /* entries @entry has room for */
} __attribute__((aligned(CACHE_LINE)));

_Static_assert(sizeof(struct array_cache) == CACHE_LINE, "an array's header is one line");

enum array_state { ARRAY_OPEN, ARRAY_OWNED, ARRAY_ABSENT };

/* What the fast path reaches for CPU @cpu of cache @s: s->cpu_slot[cpu]. */
struct cpu_cache_slot {
	struct array_cache ac;
};

_Static_assert(sizeof(struct cpu_cache_slot) == CACHE_LINE, "slot index is cpu << 6");

/*
 * struct cpu_cache_cold - the rest of a CPU's state in a cache, on lines of
 * its own so that the fast path's line is not shared with a lock.
 */
struct cpu_cache_cold {
	struct umutex lock;          /* level LOCK_CPU_ARRAY: the slot, the alien arrays, @stats */
	struct array_cache **alien;  /* lock; [nr_node_ids] frees of other nodes' objects, NULL
				      * when alien caches are off; alien[own node] NULL */
	unsigned long stats[NR_SLAB_STATS]; /* lock; the hits are in the array */
	/* lock; adaptive sizing (cpu_array_miss): the misses of the current window */
	unsigned long window_ops;    /* the array's hits when the window opened */
	unsigned int window_misses;
} __attribute__((aligned(CACHE_LINE)));

typedef uint16_t freelist_idx_t;
/* Management bytes per object: a freelist index and a state byte. */
#define SLAB_MGMT_PER_OBJ (sizeof(freelist_idx_t) + 1)

/*
 * struct slab - one slab: 2^order pages of objects plus its management area
 * (this struct and the freelist), at the start of the pages (on-slab) or
 * kmalloc'd (off-slab). freelist[active .. num-1] are the indices of the free
 * objects; freelist[0 .. active-1] are stale.
 */
struct slab {
	union {
		struct list_head list;     /* node list_lock: slabs_full/partial/free */
		struct rcu_head rcu;       /* off every list: deferred release */
	};
	struct kmem_cache *cache;  /* constant */
	void *s_mem;               /* first object; constant */
	void *pages;               /* first page; constant */
	unsigned int active;       /* node list_lock: objects out of the freelist */
	int nid;                   /* constant */
	freelist_idx_t freelist[];
};

/*
 * struct kmem_cache_node - a cache's state on one node. Invariants (under
 * list_lock): total_slabs == |full| + |partial| + |free|; free_slabs == |free|;
 * free_objects == sum over partial (num - active) + free_slabs * num;
 * full slabs have active == num, partial 0 < active < num, free active == 0.
 */
struct kmem_cache_node {
	struct umutex list_lock;           /* level LOCK_NODE_LIST */
	struct list_head slabs_full;
	struct list_head slabs_partial;
	struct list_head slabs_free;
	unsigned long total_slabs;
	unsigned long free_slabs;
	unsigned long free_objects;
	unsigned int free_limit;
	unsigned int colour_next;
	bool free_touched;                  /* a free slab was used since the last reap */
	bool isolated;                      /* memory node going offline: no allocation */
	struct array_cache *shared;         /* list_lock; NULL when shared == 0 */
};

/*
 * struct memcg_cache_params - the legacy per-tenant child caches (kernels
 * 4.x-5.8). A root cache that is accounted gets one child per tenant, created
 * on the first accounted allocation of a thread of that tenant.
 */
struct memcg_cache_params {
	struct kmem_cache *root;         /* constant; NULL for a root cache */
	/* root caches */
	struct kmem_cache **children;    /* [MEMCG_MAX_KMEM_IDS] by kmem id: slab_mutex writes,
					  * RCU readers; allocated with the first child */
	struct list_head children_list;  /* slab_mutex: every child, live or dying */
	/* child caches */
	struct list_head sibling;        /* slab_mutex: in the root's children_list */
	struct mem_cgroup *memcg;        /* the tenant; dereferenced only while !dying */
	struct obj_cgroup *objcg;        /* counted; charges follow reparenting */
	int kmem_id;
	bool dying;                      /* slab_mutex to set; no longer routed to */
	bool destroy_queued;             /* atomic: a release is pending after a grace period */
	unsigned long nr_slabs;          /* atomic: slabs alive; the cache goes when 0 and dying */
	struct rcu_head rcu;
};

struct kmem_cache {
	/* hot: read by every alloc/free, in the first cache line */
	struct cpu_cache_slot *cpu_slot;    /* [nr_cpu_ids], constant pointer */
	unsigned int size;                  /* object stride (aligned object_size) */
	unsigned int object_size;           /* size asked for */
	slab_flags_t flags;                 /* public flags plus CFLGS_* */
	unsigned int num;                   /* objects per slab */
	uint64_t reciprocal_size;           /* ceil(2^64 / size) */
	unsigned int obj_offset;            /* object start inside its slot (red zone 1) */
	unsigned int first_obj;             /* on-slab: first object of an uncoloured slab, from the page */
	unsigned int state_offset;          /* on-slab: state bytes, from the page */
	bool state_inline;                  /* one-page on-slab slabs: state byte found from the address */
	bool tool_hooks;                    /* Valgrind or ASan see this cache's objects */
	bool fast_alloc;                    /* allocations take slab_alloc_fast() (cache_set_fast) */
	bool fast_free;                     /* frees take free_check_fast() (cache_set_fast) */

	/* tunables: slab_mutex; read without it on the paths (READ_ONCE) */
	unsigned int limit;                 /* of every CPU array, until adaptive sizing grows one */
	unsigned int batchcount;
	unsigned int shared;
	bool tuned;                         /* uslab_cache_tune() chose them: no adaptive sizing */

	/* layout, constant after creation */
	unsigned int align;
	unsigned int gfporder;
	unsigned int colour;                /* colours available */
	unsigned int colour_off;            /* bytes per colour */
	unsigned int mgmt_size;             /* struct slab + freelist + state bytes */
	unsigned int rz2_offset;            /* red zone 2, from the object start */
	unsigned int track_offset;          /* alloc/free tracks, from the object start */
	void (*ctor)(void *);

	struct cpu_cache_cold *cpu_cold;    /* [nr_cpu_ids], constant pointer */

	/* management: slab_mutex */
	char *name;
	int refcount;
	struct list_head list;              /* in slab_caches */

	unsigned long stats[NR_SLAB_STATS]; /* relaxed atomics */
	struct memcg_cache_params memcg_params;
	struct kmem_cache_node *node[USLAB_MAX_NUMNODES]; /* NULL for absent nodes; see cache_node() */
};

_Static_assert(offsetof(struct kmem_cache, fast_free) < CACHE_LINE,
	       "the fields of the fast path share the first cache line");

#define CFLGS_MEMCG_CHILD 0x20000000u /* a tenant's child cache */

/* ---- lib/cache.c ----------------------------------------------------------- */

extern struct umutex slab_mutex;
extern struct list_head slab_caches;      /* slab_mutex; newest first */
extern bool slab_nomerge;
extern bool slab_noaliencache;     /* USLAB_NOALIENCACHE */

/* Lock the cache list the way DESIGN.md orders it: cpus, mems, slab_mutex. */
void slab_lock_all(void);
void slab_unlock_all(void);
/* Create a cache (kmalloc caches use this at init); slab_mutex held. */
struct kmem_cache *cache_create_locked(const char *name, unsigned int size, unsigned int align,
				       slab_flags_t flags, void (*ctor)(void *));
/* A shared or alien array with its entries (not a CPU's: those live in their slots). */
struct array_cache *array_alloc(unsigned int entries, unsigned int batchcount, int nid);
/* Return the objects of an array nobody else reaches to their node, and free it. */
void array_release(struct kmem_cache *s, struct array_cache *ac);
/* Give CPU @cpu an empty array of @limit entries (replacing any): 0 or -ENOMEM. */
int cpu_array_install(struct kmem_cache *s, int cpu, unsigned int limit, unsigned int batchcount);
/* Take CPU @cpu's array away (its objects back to their node): the CPU went down. */
void cpu_array_remove(struct kmem_cache *s, int cpu);

extern bool slab_adaptive_arrays;  /* USLAB_ADAPTIVE_ARRAYS (default 1) */
/* The largest limit adaptive sizing gives a CPU array of @s. */
unsigned int cache_array_max(const struct kmem_cache *s);
/*
 * Double the limit of CPU @cpu's array of @s (nothing held); see
 * ARRAY_GROW_MISSES. Return: its new batchcount, 0 when it did not grow.
 */
unsigned int cpu_array_grow(struct kmem_cache *s, int cpu);

/*
 * cpu_array_miss - count a refill or flush of @ac, CPU array of @s whose cold
 * state is @cold (slot lock held). Return: true when misses come so close
 * together that the array should grow (cpu_array_grow, once unlocked).
 */
static inline bool cpu_array_miss(struct kmem_cache *s, struct array_cache *ac,
				  struct cpu_cache_cold *cold)
{
	unsigned long ops = ac->alloc_hits + ac->free_hits;

	if (!slab_adaptive_arrays || s->tuned || ac->limit == 0)
		return false;
	if (ops - cold->window_ops > (unsigned long)ARRAY_GROW_WINDOW * ac->limit) {
		cold->window_ops = ops;
		cold->window_misses = 0;
	}
	if (++cold->window_misses < ARRAY_GROW_MISSES || ac->limit >= cache_array_max(s))
		return false;
	cold->window_ops = ops;
	cold->window_misses = 0;
	return true;
}
struct kmem_cache_node *node_alloc(void);
/* Allocate @cpu's alien arrays of @s (none on one node or with USLAB_NOALIENCACHE); 0 or -ENOMEM. */
int cache_alloc_aliens(struct kmem_cache *s, int cpu);
/* Install per-CPU and shared arrays of these sizes (slab_mutex held); 0 or -ENOMEM. */
int cache_tune_locked(struct kmem_cache *s, unsigned int limit, unsigned int batchcount,
		      unsigned int shared);
/* Free a cache's structures; it must be empty and unreachable. */
void cache_free_struct(struct kmem_cache *s);
/* Drain every CPU, shared and alien array of @s into its node lists. */
void cache_drain_arrays(struct kmem_cache *s);
/* Free all free slabs of @s; return the number freed. */
unsigned long cache_drain_freelists(struct kmem_cache *s);

static inline void cache_stat_add(struct kmem_cache *s, enum slab_stat_item item, unsigned long n)
{
	__atomic_add_fetch(&s->stats[item], n, __ATOMIC_RELAXED);
}

/* ---- lib/slab_page.c ------------------------------------------------------- */

/* Choose order, num, management placement and colouring for @s. 0 or -EINVAL. */
int slab_calculate_layout(struct kmem_cache *s);
/*
 * A new slab of @s on node @nid with every object constructed, or NULL. When
 * it failed because the tenant of a child cache refused the charge, it also
 * sets slab_charge_refused (see lib/alloc.c).
 */
struct slab *slab_create(struct kmem_cache *s, gfp_t flags, int nid);
/*
 * Per thread: the allocation under way had a slab charge refused. The charge
 * does not depend on the node, so no other node grows a slab for this
 * allocation (one failure, one max and one oom event). The slow paths clear
 * it when an allocation starts.
 */
extern USLAB_TLS bool slab_charge_refused;
/* Release a slab that is on no list. */
void slab_destroy(struct kmem_cache *s, struct slab *slab);
/* Release every slab on @list (they are off the node lists already). */
void slabs_destroy(struct kmem_cache *s, struct list_head *list);

static inline void *slab_index_to_obj(const struct kmem_cache *s, const struct slab *slab,
				      unsigned int idx)
{
	return (char *)slab->s_mem + (size_t)s->size * idx + s->obj_offset;
}

/* Index of @obj in its slab, or -1 when @obj is not the start of an object. */
static inline long slab_obj_to_index(const struct kmem_cache *s, const struct slab *slab,
				     const void *obj)
{
	uintptr_t off = (uintptr_t)obj - (uintptr_t)slab->s_mem - s->obj_offset;
	/* off / size by multiplication: exact for every offset inside a slab. */
	uint64_t idx = (uint64_t)(((unsigned __int128)off * s->reciprocal_size) >> 64);

	if (unlikely(idx >= s->num || idx * s->size != off))
		return -1;
	return (long)idx;
}

/*
 * Per-object state bytes after the freelist: OBJ_FREE while the object is in
 * a slab's freelist or any array, OBJ_ALLOCATED while the program holds it.
 * Written only by the thread that allocates or frees that object, so a double
 * free is caught wherever the first free left the object.
 */
enum { OBJ_FREE = 0, OBJ_ALLOCATED = 1 };

static inline uint8_t *slab_obj_state(const struct kmem_cache *s, struct slab *slab)
{
	return (uint8_t *)&slab->freelist[s->num];
}

/* ---- lib/pagemap.c --------------------------------------------------------- */

/*
 * The page map answers "whose page is this?" for any address: a slab, a
 * kmalloc_large block (tagged with PAGEMAP_LARGE), or nothing.
 */
#define PAGEMAP_LARGE 1ul
#define PM_VA_BITS   48
#define PM_LEAF_BITS 18
#define PM_ROOT_BITS (PM_VA_BITS - PAGE_SHIFT - PM_LEAF_BITS)
#define PM_LEAF_SIZE (1ul << PM_LEAF_BITS)
extern uintptr_t *pm_root[1ul << PM_ROOT_BITS];

int pagemap_set(const void *addr, size_t size, uintptr_t value);
void pagemap_clear(const void *addr, size_t size);

/* Owner of @addr's page: a struct slab *, a kmalloc_large block | PAGEMAP_LARGE, or 0. */
static inline uintptr_t pagemap_lookup(const void *addr)
{
	uintptr_t pfn = (uintptr_t)addr >> PAGE_SHIFT;
	uintptr_t i = pfn >> PM_LEAF_BITS;
	uintptr_t *leaf;

	if (unlikely(i >= (1ul << PM_ROOT_BITS)))
		return 0;
	leaf = __atomic_load_n(&pm_root[i], __ATOMIC_ACQUIRE);
	if (unlikely(!leaf))
		return 0;
	return __atomic_load_n(&leaf[pfn & (PM_LEAF_SIZE - 1)], __ATOMIC_ACQUIRE);
}

/* ---- per-CPU access (lib/percpu.c) ------------------------------------------- */

extern bool slab_rseq_mode;       /* restartable sequences protect the fast path */
extern unsigned int nr_cpu_ids_cached;   /* nr_cpu_ids, read by the sequences */
void percpu_init(void);

static inline struct cpu_cache_cold *cpu_cold(const struct kmem_cache *s, int cpu)
{
	return &s->cpu_cold[cpu];
}

/*
 * cpu_cache_own - exclusive use of CPU @cpu's array of @s
 *
 * Return: the array (NULL when the CPU has none: it is offline) with the
 * CPU's slot lock held and, in rseq mode, the array closed to restartable
 * sequences; no other thread touches it until cpu_cache_release(). The owner
 * may also install or remove the CPU's array (set or clear its @entry).
 */
struct array_cache *cpu_cache_own(struct kmem_cache *s, int cpu);
/* Give CPU @cpu's array back (open again if it has entries) and drop the slot lock. */
void cpu_cache_release(struct kmem_cache *s, int cpu);
/* Restart every restartable sequence running now (no-op in locked mode). */
void percpu_fence_all(void);

#if defined(__x86_64__) && defined(__has_include)
#if __has_include(<sys/rseq.h>)
#define SLAB_HAVE_RSEQ 1
#endif
#endif
#ifndef SLAB_HAVE_RSEQ
#define SLAB_HAVE_RSEQ 0
#endif

#if SLAB_HAVE_RSEQ
#include <sys/rseq.h>

/*
 * Restartable sequences on x86-64. Each sequence publishes its descriptor
 * (start, length, abort address) in the thread's rseq area, reads cpu_id,
 * and ends with one committing store; if the thread is preempted, migrated
 * or signalled inside, the kernel resumes it at the abort handler, which is
 * preceded by glibc's signature. Values are produced into registers (asm
 * goto outputs) and are meaningful only when the sequence falls through; an
 * early-clobber output keeps the inputs intact for the retry after an abort.
 */
#define RSEQ_ASM_DEFINE(start, post, abort)                                   \
	".pushsection __rseq_cs, \"aw\"\n\t"                                  \
	".balign 32\n\t"                                                      \
	"3:\n\t"                                                              \
	".long 0x0, 0x0\n\t"                                                  \
	".quad " #start "f, (" #post "f - " #start "f), " #abort "f\n\t"     \
	".popsection\n\t"                                                     \
	"leaq 3b(%%rip), %%rax\n\t"                                           \
	"movq %%rax, 8(%[rs])\n\t"
#define RSEQ_ASM_ABORT(abort, label)                                          \
	".pushsection __rseq_failure, \"ax\"\n\t"                             \
	".byte 0x0f, 0xb9, 0x3d\n\t"                                          \
	".long 0x53053053\n\t"                                                \
	#abort ":\n\t"                                                        \
	"jmp %l[" #label "]\n\t"                                              \
	".popsection\n\t"

/* cpu_id times the slot size into %rax, failing past nr_cpu_ids. */
#define RSEQ_ASM_CPU_ID                                                        \
	"1:\n\t"                                                                \
	"movl 4(%[rs]), %%eax\n\t"                                             \
	"cmpl %[ncpu], %%eax\n\t"                                              \
	"jae %l[fail]\n\t"                                                     \
	"shlq $6, %%rax\n\t"
/*
 * The pop from the open array whose slot is in %rcx: fail when closed or
 * empty, else the newest entry into %[obj], mark the array touched, count a
 * hit and commit the new avail (label 2 ends the sequence).
 */
#define RSEQ_ASM_POP_COMMIT                                                    \
	"cmpl $0, %c[off_closed](%%rcx)\n\t"                                   \
	"jne %l[fail]\n\t"                                                     \
	"movl %c[off_avail](%%rcx), %%eax\n\t"                                 \
	"testl %%eax, %%eax\n\t"                                               \
	"jz %l[fail]\n\t"                                                      \
	"subl $1, %%eax\n\t"                                                   \
	"movq %c[off_entry](%%rcx), %%rdx\n\t"                                 \
	"movq (%%rdx, %%rax, 8), %[obj]\n\t"                                   \
	"movl $1, %c[off_touched](%%rcx)\n\t"                                  \
	"addq $1, %c[off_hits](%%rcx)\n\t"                                     \
	"movl %%eax, %c[off_avail](%%rcx)\n\t"                                 \
	"2:\n\t"
#define RSEQ_ARRAY_OPERANDS                                                   \
	[off_closed] "i"(offsetof(struct array_cache, closed)),               \
	[off_avail] "i"(offsetof(struct array_cache, avail)),                 \
	[off_entry] "i"(offsetof(struct array_cache, entry))
#define RSEQ_POP_OPERANDS                                                     \
	RSEQ_ARRAY_OPERANDS,                                                  \
	[off_touched] "i"(offsetof(struct array_cache, touched)),             \
	[off_hits] "i"(offsetof(struct array_cache, alloc_hits))

static inline USLAB_ALWAYS_INLINE struct rseq *rseq_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/* Pop the newest object of the current CPU's array; NULL: empty, closed or no array. */
static inline USLAB_ALWAYS_INLINE void *rseq_pop(struct kmem_cache *s)
{
	void *obj;

retry:
	__asm__ __volatile__ goto(
		RSEQ_ASM_DEFINE(1, 2, 4)
		RSEQ_ASM_CPU_ID
		"leaq (%[slots], %%rax), %%rcx\n\t"
		RSEQ_ASM_POP_COMMIT
		RSEQ_ASM_ABORT(4, abort)
		: [obj] "=&r"(obj)
		: [rs] "r"(rseq_area()), [slots] "r"(s->cpu_slot), [ncpu] "r"(nr_cpu_ids_cached),
		  RSEQ_POP_OPERANDS
		: "memory", "cc", "rax", "rcx", "rdx"
		: abort, fail);
	return obj;
abort:
	goto retry;
fail:
	return NULL;
}

/* As rseq_pop(), but only from an array of node @nid. */
static inline USLAB_ALWAYS_INLINE void *rseq_pop_node(struct kmem_cache *s, int nid)
{
	void *obj;

retry:
	__asm__ __volatile__ goto(
		RSEQ_ASM_DEFINE(1, 2, 4)
		RSEQ_ASM_CPU_ID
		"leaq (%[slots], %%rax), %%rcx\n\t"
		"cmpl %[nid], %c[off_nid](%%rcx)\n\t"
		"jne %l[fail]\n\t"
		RSEQ_ASM_POP_COMMIT
		RSEQ_ASM_ABORT(4, abort)
		: [obj] "=&r"(obj)
		: [rs] "r"(rseq_area()), [slots] "r"(s->cpu_slot), [ncpu] "r"(nr_cpu_ids_cached),
		  [nid] "r"(nid), [off_nid] "i"(offsetof(struct array_cache, nid)),
		  RSEQ_POP_OPERANDS
		: "memory", "cc", "rax", "rcx", "rdx"
		: abort, fail);
	return obj;
abort:
	goto retry;
fail:
	return NULL;
}

/* Push @obj (of node @nid) on the current CPU's array; false: full, wrong node, closed or no array. */
static inline USLAB_ALWAYS_INLINE bool rseq_push(struct kmem_cache *s, void *obj, int nid)
{
retry:
	__asm__ __volatile__ goto(
		RSEQ_ASM_DEFINE(1, 2, 4)
		RSEQ_ASM_CPU_ID
		"leaq (%[slots], %%rax), %%rcx\n\t"
		"cmpl $0, %c[off_closed](%%rcx)\n\t"
		"jne %l[fail]\n\t"
		"cmpl %[nid], %c[off_nid](%%rcx)\n\t"
		"jne %l[fail]\n\t"
		"movl %c[off_avail](%%rcx), %%eax\n\t"
		"cmpl %c[off_limit](%%rcx), %%eax\n\t"
		"jae %l[fail]\n\t"
		"movq %c[off_entry](%%rcx), %%rdx\n\t"
		"movq %[obj], (%%rdx, %%rax, 8)\n\t"
		"addq $1, %c[off_hits](%%rcx)\n\t"
		"addl $1, %%eax\n\t"
		"movl %%eax, %c[off_avail](%%rcx)\n\t"
		"2:\n\t"
		RSEQ_ASM_ABORT(4, abort)
		:
		: [rs] "r"(rseq_area()), [slots] "r"(s->cpu_slot), [obj] "r"(obj), [nid] "r"(nid),
		  [ncpu] "r"(nr_cpu_ids_cached), RSEQ_ARRAY_OPERANDS,
		  [off_nid] "i"(offsetof(struct array_cache, nid)),
		  [off_limit] "i"(offsetof(struct array_cache, limit)),
		  [off_hits] "i"(offsetof(struct array_cache, free_hits))
		: "memory", "cc", "rax", "rcx", "rdx"
		: abort, fail);
	return true;
abort:
	goto retry;
fail:
	return false;
}

/*
 * Pop from the current CPU's array of @root's child cache for kmem id @id,
 * looking the child up inside the sequence: a child unlinked and fenced
 * (percpu_fence_all) can no longer be reached by a sequence that has not
 * committed, so no RCU section is needed for this fast path.
 */
static inline USLAB_ALWAYS_INLINE void *rseq_pop_child(struct kmem_cache *root, long id)
{
	void *obj;

retry:
	__asm__ __volatile__ goto(
		RSEQ_ASM_DEFINE(1, 2, 4)
		RSEQ_ASM_CPU_ID
		"movq %c[off_children](%[root]), %%rcx\n\t"
		"testq %%rcx, %%rcx\n\t"
		"jz %l[fail]\n\t"
		"movq (%%rcx, %[id], 8), %%rcx\n\t"
		"testq %%rcx, %%rcx\n\t"
		"jz %l[fail]\n\t"
		"movq %c[off_slot](%%rcx), %%rcx\n\t"
		"addq %%rax, %%rcx\n\t"
		RSEQ_ASM_POP_COMMIT
		RSEQ_ASM_ABORT(4, abort)
		: [obj] "=&r"(obj)
		: [rs] "r"(rseq_area()), [root] "r"(root), [id] "r"(id),
		  [ncpu] "r"(nr_cpu_ids_cached),
		  [off_children] "i"(offsetof(struct kmem_cache, memcg_params.children)),
		  [off_slot] "i"(offsetof(struct kmem_cache, cpu_slot)),
		  RSEQ_POP_OPERANDS
		: "memory", "cc", "rax", "rcx", "rdx"
		: abort, fail);
	return obj;
abort:
	goto retry;
fail:
	return NULL;
}

/*
 * Close CPU @cpu's open array (@ac, in its slot) from CPU @cpu itself; false
 * when the thread is not on @cpu (the caller then fences the CPU instead).
 * Once the store commits, any sequence of another thread that was running
 * on @cpu has been preempted and restarts, seeing the array closed.
 */
static inline bool rseq_close_own_cpu(struct array_cache *ac, int cpu)
{
retry:
	__asm__ __volatile__ goto(
		RSEQ_ASM_DEFINE(1, 2, 4)
		"1:\n\t"
		"cmpl %[cpu], 4(%[rs])\n\t"
		"jne %l[fail]\n\t"
		"movl %[owned], %c[off_closed](%[ac])\n\t"
		"2:\n\t"
		RSEQ_ASM_ABORT(4, abort)
		:
		: [rs] "r"(rseq_area()), [ac] "r"(ac), [cpu] "r"(cpu), [owned] "i"(ARRAY_OWNED),
		  [off_closed] "i"(offsetof(struct array_cache, closed))
		: "memory", "cc", "rax"
		: abort, fail);
	return true;
abort:
	goto retry;
fail:
	return false;
}
#else
static inline USLAB_ALWAYS_INLINE void *rseq_pop(struct kmem_cache *s) { (void)s; return NULL; }
static inline USLAB_ALWAYS_INLINE void *rseq_pop_node(struct kmem_cache *s, int nid)
{
	(void)s, (void)nid;
	return NULL;
}
static inline USLAB_ALWAYS_INLINE void *rseq_pop_child(struct kmem_cache *root, long id)
{
	(void)root, (void)id;
	return NULL;
}
static inline USLAB_ALWAYS_INLINE bool rseq_push(struct kmem_cache *s, void *obj, int nid)
{
	(void)s, (void)obj, (void)nid;
	return false;
}
static inline bool rseq_close_own_cpu(struct array_cache *ac, int cpu)
{
	(void)ac, (void)cpu;
	return false;
}
#endif

/* The fast path uses restartable sequences: rseq mode and a thread on its real CPU. */
static inline USLAB_ALWAYS_INLINE bool cpu_cache_rseq(void)
{
	return likely(slab_rseq_mode) && likely(!topology_cpu_is_emulated());
}

/*
 * cpu_cache_pop/cpu_cache_push - the fast path: the calling CPU's array,
 * LIFO. They fail (NULL/false) when the array is empty/full, belongs to
 * another node, or the CPU has none; the caller then takes the slow path.
 */
/* Locked mode: pop from the current CPU's array if it has objects of @nid (NUMA_NO_NODE: any). */
static inline USLAB_ALWAYS_INLINE void *cpu_cache_pop_locked(struct kmem_cache *s, int nid)
{
	int cpu = topology_current_cpu();
	struct array_cache *ac = cpu_cache_own(s, cpu);
	void *obj = NULL;

	if (likely(ac && ac->avail) && (nid == NUMA_NO_NODE || ac->nid == nid)) {
		ac->touched = 1;
		ac->alloc_hits++;
		obj = ac->entry[--ac->avail];
	}
	cpu_cache_release(s, cpu);
	return obj;
}

static inline USLAB_ALWAYS_INLINE void *cpu_cache_pop(struct kmem_cache *s)
{
	if (cpu_cache_rseq())
		return rseq_pop(s);
	return cpu_cache_pop_locked(s, NUMA_NO_NODE);
}

/* cpu_cache_pop() from an array of node @nid only (kmalloc_node and friends). */
static inline void *cpu_cache_pop_node(struct kmem_cache *s, int nid)
{
	if (cpu_cache_rseq())
		return rseq_pop_node(s, nid);
	return cpu_cache_pop_locked(s, nid);
}

static inline USLAB_ALWAYS_INLINE bool cpu_cache_push(struct kmem_cache *s, void *obj, int nid)
{
	struct array_cache *ac;
	bool done = false;
	int cpu;

	if (cpu_cache_rseq())
		return rseq_push(s, obj, nid);
	cpu = topology_current_cpu();
	ac = cpu_cache_own(s, cpu);
	if (likely(ac && ac->nid == nid && ac->avail < ac->limit)) {
		ac->free_hits++;
		ac->entry[ac->avail++] = obj;
		done = true;
	}
	cpu_cache_release(s, cpu);
	return done;
}

/* ---- lib/alloc.c, lib/free.c ----------------------------------------------- */


/*
 * A cache's structure for node @nid, or NULL. Node structures are created
 * (memory-node online) while allocations run, and never freed before the
 * cache: published with a release store, read with an acquire load.
 */
static inline struct kmem_cache_node *cache_node(const struct kmem_cache *s, int nid)
{
	return __atomic_load_n(&s->node[nid], __ATOMIC_ACQUIRE);
}

/*
 * node_take_objects - move up to @want free objects of node @nid to @objs:
 * from the shared array first, then partial and free slabs, growing a slab
 * when none has a free object. Return: number taken (0 means no memory).
 */
unsigned int node_take_objects(struct kmem_cache *s, int nid, gfp_t flags, void **objs,
			       unsigned int want, bool use_shared);
/*
 * node_free_block_locked - put objects back on their slabs of node @n,
 * moving slabs between lists and queueing free slabs above free_limit on
 * @to_destroy. Caller holds n->list_lock.
 */
void node_free_block_locked(struct kmem_cache *s, struct kmem_cache_node *n, void **objs,
			    unsigned int nr, struct list_head *to_destroy);
/* Give @nr objects of node @nid back: to the shared array if @to_shared has room, else slabs. */
void node_put_objects(struct kmem_cache *s, int nid, void **objs, unsigned int nr, bool to_shared);

/*
 * Find the slab of @objp, checking it is an object of @s (NULL: any cache)
 * and, when @freeing, that it is allocated; reports and returns NULL if not.
 */
struct slab *free_check_object(struct kmem_cache *s, const void *objp, const char *what,
			       bool freeing, const void *caller);
/* Free @objp (already checked) to @s. */
void cache_free(struct kmem_cache *s, void *objp, struct slab *slab);
/* Free @objp of @c, checked already (state byte cleared): to a child through memcg, else cache_free(). */
void slab_free_checked(struct kmem_cache *c, void *objp, struct slab *slab);
void *cache_alloc(struct kmem_cache *s, gfp_t flags);
/* The array missed: refill it (of node @nid only, unless NUMA_NO_NODE) or take from a node. */
void *cache_alloc_slow(struct kmem_cache *s, gfp_t flags, int nid);
void cache_free_slow(struct kmem_cache *s, void *objp, struct slab *slab);
/* Out-of-line slab_alloc_node() for callers off the hot path. */
void *slab_alloc_node_slow(struct kmem_cache *s, gfp_t flags, int nid, const void *caller);

/* The per-CPU array first, everything else out of line. */
static inline USLAB_ALWAYS_INLINE void *cache_alloc_fast(struct kmem_cache *s, gfp_t flags)
{
	void *obj = cpu_cache_pop(s);

	if (likely(obj))
		return obj;
	return cache_alloc_slow(s, flags, NUMA_NO_NODE);
}

static inline USLAB_ALWAYS_INLINE void cache_free_fast(struct kmem_cache *s, void *objp, struct slab *slab)
{
	if (likely(cpu_cache_push(s, objp, slab->nid)))
		return;
	cache_free_slow(s, objp, slab);
}
void *cache_alloc_node(struct kmem_cache *s, gfp_t flags, int nid);

/* ---- lib/debug.c ----------------------------------------------------------- */

extern bool slab_tools_active;       /* running under Valgrind or built with ASan */
void debug_tools_init(void);
/* Size and offsets for red zones and tracks (a no-op for non-debug caches). */
void debug_calculate_layout(struct kmem_cache *s);
/* Debug flags USLAB_DEBUG asks for cache @name. */
slab_flags_t debug_flags_for(const char *name);
void debug_init_object(struct kmem_cache *s, void *obj);
void debug_post_alloc(struct kmem_cache *s, void *obj, gfp_t flags, const void *caller);
/*
 * kmalloc() asked @s (red-zoned) for @size bytes of @obj: remember it and
 * make the rest of the object a red zone (checked on free and by validation).
 */
void debug_kmalloc_request(struct kmem_cache *s, void *obj, size_t size, gfp_t flags);
/* ksize() of an object of a red-zoned cache @s: the whole object is the caller's from now on. */
void debug_kmalloc_ksize(struct kmem_cache *s, struct slab *slab, void *obj);
void debug_double_free(struct kmem_cache *s, struct slab *slab, void *obj, const void *caller);
/* Debug and tool work on free; false when the object must not be freed now (quarantined). */
bool debug_pre_free(struct kmem_cache *s, struct slab *slab, void *obj, const void *caller);
bool quarantine_put(struct kmem_cache *s, struct slab *slab, void *obj);
/* Objects of @s waiting in the ASan quarantine (freed, not yet back in an array). */
unsigned long quarantine_count(struct kmem_cache *s);
/* Release quarantined objects of @s and its children (NULL: all). */
void quarantine_flush(struct kmem_cache *s);
int debug_validate_object(struct kmem_cache *s, void *obj, uint8_t state);
/* Leak report listing at most @max_lines objects; returns the number allocated. */
long cache_leaks_report(struct kmem_cache *s, FILE *f, unsigned long max_lines);
void tool_object_freed_slow(struct kmem_cache *s, void *obj);
void tool_slab_released_slow(struct kmem_cache *s, void *pages, size_t bytes);

static inline void tool_object_freed(struct kmem_cache *s, void *obj)
{
	if (unlikely(s->tool_hooks))
		tool_object_freed_slow(s, obj);
}

static inline void tool_slab_released(struct kmem_cache *s, void *pages, size_t bytes)
{
	if (unlikely(s->tool_hooks))
		tool_slab_released_slow(s, pages, bytes);
}

/*
 * slab_post_alloc - what every allocation API does with the object it got:
 * mark it allocated, run debug/tool hooks, zero it for __GFP_ZERO.
 */
static inline USLAB_ALWAYS_INLINE void *slab_post_alloc(struct kmem_cache *s, void *obj, gfp_t flags,
				    const void *caller)
{
	struct kmem_cache *c = s;

	if (unlikely(!obj))
		return NULL;
	if (likely(s->state_inline)) {
		/*
		 * One-page on-slab slab: its management area starts the page, so
		 * the state byte is found from the address alone (colouring is
		 * kept below one object, so the division still gives the index).
		 * A child cache has its root's layout.
		 */
		uintptr_t base = (uintptr_t)obj & ~(PAGE_SIZE - 1);
		uint64_t off = (uintptr_t)obj - base - s->first_obj;
		uint64_t idx = (uint64_t)(((unsigned __int128)off * s->reciprocal_size) >> 64);

		((uint8_t *)base)[s->state_offset + idx] = OBJ_ALLOCATED;
	} else {
		struct slab *slab = (struct slab *)pagemap_lookup(obj);

		c = slab->cache;
		slab_obj_state(c, slab)[slab_obj_to_index(c, slab, obj)] = OBJ_ALLOCATED;
	}
	if (unlikely((c->flags & SLAB_DEBUG_FLAGS) || c->tool_hooks))
		debug_post_alloc(c, obj, flags, caller);
	if (unlikely(flags & __GFP_ZERO))
		memset(obj, 0, c->object_size);
	return obj;
}

/* ---- lib/fault.c ----------------------------------------------------------- */

extern bool fault_slab_active;
/* The gfp flags of the page grab under way, for the page-failure hook. */
extern USLAB_TLS gfp_t fault_page_gfp;
bool fault_should_fail_slab(struct kmem_cache *s, gfp_t flags);
/* USLAB_FAIL as read at initialisation: parsed before anything exists, applied last. */
struct fault_env {
	struct uslab_fail_attr attr;
	char cache[64];
	char memcg[64];
	bool set;               /* USLAB_FAIL was given and is valid */
};
/* Read and check USLAB_FAIL; 0, or -EINVAL after saying what is wrong on stderr. */
int fault_env_parse(struct fault_env *fe);
/* Turn the parsed configuration on (uslab_fail_setup()); 0 when there is none. */
int fault_env_apply(struct fault_env *fe);

/* ---- lib/reap.c ------------------------------------------------------------ */

/*
 * Move the oldest objects of one CPU's array to its node: all with @force,
 * else a fifth of limit if untouched (a touched one is only marked
 * untouched). Return: objects are left in the array.
 */
bool drain_cpu_array(struct kmem_cache *s, int cpu, bool force);
/* Empty @cpu's alien arrays (only the one for @nid unless @nid is NUMA_NO_NODE); @trylock skips a busy CPU. */
void drain_alien_arrays(struct kmem_cache *s, int cpu, int nid, bool trylock);
/* Same for node @nid's shared array (list_lock taken inside). */
bool drain_shared_array(struct kmem_cache *s, int nid, bool force);
/* Free up to @tofree free slabs of node @nid; returns how many were freed. */
unsigned long drain_freelist(struct kmem_cache *s, int nid, unsigned long tofree);
/*
 * reap_decay_init - set the page cache's decay (@decay_ms, 0: none; purge
 * with MADV_FREE when @lazy_free) and the reaper's period (@reap_ms, -1: the
 * default for that decay, 0: no periodic reaper). At init.
 */
void reap_decay_init(unsigned int decay_ms, bool lazy_free, int reap_ms);
/* The reaper's period that goes with a decay of @decay_ms. */
unsigned int reap_default_period(unsigned int decay_ms);

/* ---- lib/hotplug_cb.c ------------------------------------------------------ */

/*
 * The node a CPU's arrays take memory from: its own while that node is online,
 * else the nearest online node (the kernel's numa_mem_id()).
 */
extern int slab_cpu_mem_nodes[USLAB_NR_CPUS];
static inline int slab_cpu_mem_node(int cpu)
{
	return READ_ONCE(slab_cpu_mem_nodes[cpu]);
}
/* Register slab's CPU and memory hotplug callbacks; 0 or -errno. */
int slab_hotplug_init(void);

/* ---- lib/rcu.c ------------------------------------------------------------- */

struct rcu_head; /* liburcu's */
/* Register the calling thread with liburcu (once; unregistered at thread exit). */
void slab_rcu_register(void);
void slab_rcu_read_lock(void);
void slab_rcu_read_unlock(void);
/* Never with slab_mutex or a cache lock held. */
void slab_synchronize_rcu(void);
void slab_rcu_barrier(void);
void slab_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
/* Bracket the body of every RCU callback of lib/ (TSan annotations). */
void slab_rcu_callback_begin(struct rcu_head *head);
void slab_rcu_callback_end(void);
/* True while kfree_rcu() pointers wait for their grace period. */
bool slab_kfree_rcu_pending(void);

/* ---- lib/report.c ---------------------------------------------------------- */

/* Report misuse or corruption of @object in @s (NULL: no cache) and run the handler. */
void slab_report(const struct kmem_cache *s, const void *object, const char *fmt, ...)
	printf_like(3, 4) USLAB_COLD;
/* Print a non-fatal message naming the cache on stderr. */
void slab_warn(const struct kmem_cache *s, const char *fmt, ...) printf_like(2, 3) USLAB_COLD;

/* ---- lib/memcg_caches.c ---------------------------------------------------- */

/* Allocate from the active tenant's child of root cache @s (creating it). */
void *memcg_cache_alloc(struct kmem_cache *s, gfp_t flags, int nid);
/* Free @objp of child cache @s (already checked) under RCU protection. */
void memcg_cache_free(struct kmem_cache *s, void *objp, struct slab *slab);
/* Charge/uncharge a new or released slab of a child cache. 0 or -ENOMEM. */
int memcg_charge_slab(struct kmem_cache *s, gfp_t flags);
void memcg_uncharge_slab(struct kmem_cache *s);
/* Shut down every child of root @s (kernel shutdown_memcg_caches); slab_lock_all held. 0 or -EBUSY. */
int memcg_shutdown_children_locked(struct kmem_cache *s, struct list_head *dead);
/* Free the children collected by memcg_shutdown_children_locked(); no lock held. */
void memcg_free_children(struct list_head *dead);
/* Register with memcg; called once at init. */
void memcg_caches_init(void);
/* Objects allocated with __GFP_ACCOUNT in kmalloc_large: the payer, or NULL. */
struct obj_cgroup *memcg_charge_large(gfp_t flags, unsigned int nr_pages);

static inline bool cache_is_child(const struct kmem_cache *s)
{
	return s->flags & CFLGS_MEMCG_CHILD;
}

static inline bool cache_wants_account(const struct kmem_cache *s, gfp_t flags)
{
	return ((s->flags & SLAB_ACCOUNT) | (flags & __GFP_ACCOUNT)) && !cache_is_child(s);
}

/* ---- the allocation API's common path (inlined into each API) -------------- */

static inline bool gfp_valid(struct kmem_cache *s, gfp_t flags)
{
	if (unlikely(!s || (flags & ~__GFP_BITS_MASK))) {
		errno = EINVAL;
		return false;
	}
	return true;
}

/* Every object-cache allocation API lands here with its caller's address. */
static inline __attribute__((always_inline)) void *
slab_alloc_node(struct kmem_cache *s, gfp_t flags, int nid, const void *caller)
{
	void *obj;

	if (!gfp_valid(s, flags))
		return NULL;
	if (unlikely(nid != NUMA_NO_NODE && (nid < 0 || nid >= (int)nr_node_ids))) {
		errno = EINVAL;
		return NULL;
	}
	if (unlikely(fault_slab_active) && fault_should_fail_slab(s, flags)) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(cache_wants_account(s, flags)))
		obj = memcg_cache_alloc(s, flags, nid);
	else if (likely(nid == NUMA_NO_NODE))
		obj = cache_alloc_fast(s, flags);
	else
		obj = cache_alloc_node(s, flags, nid);
	return slab_post_alloc(s, obj, flags, caller);
}

/* The gfp bits a fast allocation may have: anything else takes slab_alloc_node(). */
#define GFP_FAST_BITS (__GFP_BITS_MASK & ~(__GFP_ZERO | __GFP_ACCOUNT | __GFP_THISNODE))

/* Mark @obj of @s allocated: its state byte, found from its address (s->state_inline). */
static inline USLAB_ALWAYS_INLINE void slab_state_set_inline(const struct kmem_cache *s, void *obj,
							     uint8_t state)
{
	uintptr_t base = (uintptr_t)obj & ~(PAGE_SIZE - 1);
	uint64_t off = (uintptr_t)obj - base - s->first_obj;
	uint64_t idx = (uint64_t)(((unsigned __int128)off * s->reciprocal_size) >> 64);

	((uint8_t *)base)[s->state_offset + idx] = state;
}

/*
 * slab_alloc_fast - the allocation fast path: a cache whose objects need
 * nothing but their state byte (s->fast_alloc), plain gfp flags, no fault
 * injection, rseq mode, and an object in the CPU's array. Return: the object, or NULL
 * when the caller must take slab_alloc_node() (which does everything again).
 */
static inline USLAB_ALWAYS_INLINE void *slab_alloc_fast(struct kmem_cache *s, gfp_t flags)
{
	void *obj;

	/* Locked mode takes slab_alloc_node(): its calls would cost every caller a stack frame. */
	if (unlikely(!s->fast_alloc || (flags & ~GFP_FAST_BITS) || fault_slab_active ||
		     !cpu_cache_rseq()))
		return NULL;
	obj = rseq_pop(s);
	if (likely(obj)) {
		if (likely(s->state_inline)) {
			slab_state_set_inline(s, obj, OBJ_ALLOCATED);
		} else {
			/* Off-slab management or several pages: the page map finds the slab. */
			struct slab *slab = (struct slab *)pagemap_lookup(obj);
			uintptr_t off = (uintptr_t)obj - (uintptr_t)slab->s_mem;
			uint64_t idx = (uint64_t)(((unsigned __int128)off * s->reciprocal_size) >> 64);

			((uint8_t *)slab)[s->state_offset + idx] = OBJ_ALLOCATED;
		}
	}
	return obj;
}

/*
 * The common case of kmem_cache_free() and kfree(): a one-page on-slab slab of @s (or of
 * one of its children, which share its layout). The state byte's address
 * comes from the pointer and @s alone, so its load overlaps the page-map
 * lookup (@v, the page-map entry of @objp) instead of waiting for it.
 * Anything unusual returns NULL and the
 * caller takes the full check, which reports what is wrong.
 */
static inline USLAB_ALWAYS_INLINE struct slab *free_check_fast(struct kmem_cache *s, void *objp, uintptr_t v)
{
	uintptr_t base = (uintptr_t)objp & ~(PAGE_SIZE - 1);
	uint64_t off = (uintptr_t)objp - base - s->first_obj;
	uint64_t idx = (uint64_t)(((unsigned __int128)off * s->reciprocal_size) >> 64);
	uint8_t *state = (uint8_t *)base + s->state_offset + idx;
	struct slab *slab;

	/* A pointer into page 0 has base 0, which is also what an unknown page maps to. */
	if (unlikely(v != base || !v))
		return NULL;
	slab = (struct slab *)base;
	if (unlikely(slab->cache != s && slab->cache->memcg_params.root != s))
		return NULL;
	if (unlikely(idx >= s->num ||
		     (uintptr_t)objp != (uintptr_t)slab->s_mem + idx * s->size + s->obj_offset ||
		     *state != OBJ_ALLOCATED))
		return NULL;
	*state = OBJ_FREE;
	return slab;
}

/*
 * free_check_slab - free_check_fast() for any slab of a fast_free cache (off-slab
 * management, several pages): @v, @objp's page-map entry, is its slab. Only
 * @v's cache matters (the caller compares it with the cache it was given).
 */
static inline USLAB_ALWAYS_INLINE struct slab *free_check_slab(void *objp, uintptr_t v)
{
	struct slab *slab = (struct slab *)v;
	struct kmem_cache *c = slab->cache;
	uintptr_t off = (uintptr_t)objp - (uintptr_t)slab->s_mem;
	uint64_t idx = (uint64_t)(((unsigned __int128)off * c->reciprocal_size) >> 64);
	uint8_t *state = (uint8_t *)slab + c->state_offset + idx;

	if (unlikely(idx >= c->num || idx * c->size != off || *state != OBJ_ALLOCATED))
		return NULL;
	*state = OBJ_FREE;
	return slab;
}

/* ---- lib/kmalloc.c --------------------------------------------------------- */

enum kmalloc_cache_type { KMALLOC_NORMAL, KMALLOC_RECLAIM, KMALLOC_CGROUP, NR_KMALLOC_TYPES };
extern struct kmem_cache *kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];
/* Create the kmalloc caches; slab_mutex held. */
int kmalloc_init_locked(void);
/* Free a kmalloc_large block whose page-map value is @value. */
void kmalloc_large_free(const void *p, uintptr_t value);
size_t kmalloc_large_size(uintptr_t value);
int kmalloc_large_nid(uintptr_t value);
/*
 * Live kmalloc_large blocks per node, kept where blocks take and give back
 * their pages: kmalloc_large_node_get() counts a block about to take pages
 * of @nid, or returns false (nothing counted) when @nid is isolated for
 * going offline; kmalloc_large_node_put() uncounts a block whose pages went
 * back. lib/hotplug_cb.c isolates a node going offline and vetoes it while
 * kmalloc_large_node_live() is not 0. Lock-free; any context.
 */
bool kmalloc_large_node_get(int nid);
void kmalloc_large_node_put(int nid);
void kmalloc_large_isolate_node(int nid, bool isolate);
unsigned long kmalloc_large_node_live(int nid);

/* ---- lib/worker.c ---------------------------------------------------------- */

/* The background worker's items and their states (see lib/worker.c). */
enum work_id { WORK_REAP, WORK_DECAY, NR_WORK };
enum work_state { WORK_IDLE, WORK_ARMED, WORK_RUNNING };
/* worker.lock to change; read with a relaxed load by worker_kick(). */
extern int worker_state[NR_WORK];

/*
 * worker_setup - give item @id its function and period (0: off); @arm
 * schedules it now even without a kick. Any thread, no lock held.
 */
void worker_setup(enum work_id id, bool (*run)(void), unsigned int period_ms, bool arm);
unsigned int worker_period(enum work_id id);
/* Wait until a run of @id in progress ended. */
void worker_wait_idle(enum work_id id);
void worker_kick_slow(enum work_id id);
void worker_fork_pause(enum fork_phase phase);
void worker_fork_lock(enum fork_phase phase);

/*
 * worker_kick - item @id may have work: arm it if it is idle. One relaxed
 * load when it is armed already. Takes the worker's leaf lock otherwise, so
 * the caller holds no leaf lock.
 */
static inline void worker_kick(enum work_id id)
{
	if (likely(__atomic_load_n(&worker_state[id], __ATOMIC_RELAXED) == WORK_ARMED))
		return;
	worker_kick_slow(id);
}

/* ---- lib/stats.c ----------------------------------------------------------- */

/* USLAB_STATS=1: start publishing statistics (once; do_init calls it). */
void stats_init_from_env(void);
/* A reaper pass ended: refresh the published statistics if a period passed. */
void stats_reaper_tick(void);

/* ---- fork: lib/fork.c and each file's locks ---------------------------------- */

/* Register the fork handlers (once; do_init calls it). */
void slab_fork_init(void);
/* Each takes its file's locks in prepare, releases them in the parent, renews them in the child. */
void init_fork(enum fork_phase phase);
void rcu_fork(enum fork_phase phase);
void rcu_fork_leaves(enum fork_phase phase);
void pagemap_fork(enum fork_phase phase);
void quarantine_fork(enum fork_phase phase);
void fault_fork(enum fork_phase phase);

/* ---- lib/init.c ------------------------------------------------------------ */

/*
 * Initialise the library with defaults if nobody did. Return: 0, or the
 * -errno of the failed initialisation, also left in errno, the same for every
 * call once it failed (lib/init.c): entry points return NULL or that error.
 */
int uslab_ensure_init(void);
extern bool uslab_initialized;

#endif /* USLAB_LIB_SLAB_H */
