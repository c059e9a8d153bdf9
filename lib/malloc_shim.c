// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/malloc_shim.c - libuslab-malloc.so: the C malloc API on kmalloc, for
 * LD_PRELOAD. malloc, calloc, realloc, reallocarray, free, memalign,
 * posix_memalign, aligned_alloc, valloc, pvalloc, malloc_usable_size,
 * malloc_trim and malloc_stats are served by a private copy of uslab (the
 * library links libuslab_core and exports nothing else).
 *
 * Sizes. Requests go to kvmalloc(): 16 bytes .. 4 MiB to the kmalloc classes,
 * above that whole pages (kmalloc_large). Sizes below 16 are rounded up to
 * 16, so every block is 16-byte aligned as glibc promises on x86-64
 * (power-of-two classes are aligned to their size up to the page, 96 to 32
 * and 192 to 64, kmalloc_large to the page), and malloc(0) is a unique
 * 16-byte block, never ZERO_SIZE_PTR.
 *
 * Alignment. memalign(a, n) with a <= 16 is malloc(n). Up to the page size
 * it asks kmalloc for max(n, a) rounded up to a power of two, whose natural
 * alignment suffices. Beyond the page it takes a block of n + a bytes that
 * has its slab to itself (a class above 8 KiB: one object per slab, or a
 * kmalloc_large block) and returns the first a-aligned address in it; when
 * that is not the block's start, a struct aligned_hdr just below it records
 * the start. Such a pointer is recognised from the page map alone: it is
 * page-aligned, inside a one-object slab or a kmalloc_large block but not at
 * its start, and the header's check matches. free(), realloc() and
 * malloc_usable_size() therefore work on every pointer without a lookup table.
 *
 * Bootstrap arena. Until this library's constructor has run (the dynamic
 * loader and other libraries' constructors allocate before it), and whenever
 * uslab itself, or hwloc, liburcu or libc on its behalf, calls malloc from
 * inside the allocator (a per-thread depth counter; for uslab's own
 * background threads, a caller address inside this library), memory comes
 * from a bump allocator: 16 MiB in .bss, then 64 MiB mmap chunks. Blocks
 * carry a 16-byte header with their capacity (a power of two); freed blocks
 * go on per-capacity free lists and are reused, and free(), realloc() and
 * malloc_usable_size() know arena blocks by address range. Nothing here
 * calls the libc allocator, so no dlsym is needed.
 *
 * fork. The library makes fork() safe itself (lib/fork.c: its atfork
 * handlers hold every uslab lock while the process is copied); the shim
 * only adds the arena lock, so a malloc pays nothing for fork. The forking
 * thread itself keeps allocating between the handlers (other atfork
 * handlers may), from uslab and from the arena.
 *
 * Tenant. USLAB_MALLOC_MAX=SIZE (memory.max syntax: "64M", "max") creates the
 * tenant "malloc" with that limit at start; every thread joins it on its
 * first call and allocates with __GFP_ACCOUNT, so allocations beyond the
 * limit fail with ENOMEM. USLAB_MALLOC_STATS=1 prints uslab_slabinfo() on
 * stderr at exit.
 *
 * Locks: arena_lock is a leaf protecting the bump pointers and free lists,
 * never held across a call into uslab; fork's prepare handler takes it.
 */
#include "lib/slab.h"

#include <elf.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uslab/memcg.h>

#define SHIM_API __attribute__((visibility("default")))
#define SHIM_MIN_ALIGN 16ul
#define RET_IP __builtin_return_address(0)

/* ---- state --------------------------------------------------------------------------- */

enum shim_state {
	SHIM_BOOT,        /* constructor not run yet: arena only */
	SHIM_READY,       /* uslab serves outermost calls */
	SHIM_ARENA_ONLY,  /* uslab failed to initialise: arena only, for good */
};
static int shim_state = SHIM_BOOT;

/* Per thread; initial-exec TLS, so reading it never allocates. */
struct shim_thread {
	unsigned int depth;   /* > 0: this thread is inside the allocator */
	bool attached;        /* joined shim_tenant */
	bool forking;         /* runs fork: owns arena_lock */
};
static USLAB_TLS struct shim_thread self;

static gfp_t shim_gfp = GFP_KERNEL;          /* | __GFP_ACCOUNT with a tenant */
static struct mem_cgroup *shim_tenant;       /* USLAB_MALLOC_MAX's tenant, or NULL */
static bool shim_print_stats;                /* USLAB_MALLOC_STATS */

/* Executable range of this library: uslab code calling malloc directly. */
static uintptr_t shim_text_lo, shim_text_hi;

static inline bool shim_ready(void)
{
	return likely(__atomic_load_n(&shim_state, __ATOMIC_ACQUIRE) == SHIM_READY);
}

/* True when this call must not enter uslab: serve it from the arena. */
static inline bool shim_nested(const void *caller)
{
	if (unlikely(!shim_ready()))
		return true;
	if (unlikely(self.depth))
		return true;
	return unlikely((uintptr_t)caller - shim_text_lo < shim_text_hi - shim_text_lo);
}

/* ---- bootstrap arena ------------------------------------------------------------------- */

#define ARENA_STATIC_SIZE (16ul << 20)
#define ARENA_CHUNK_SIZE  (64ul << 20)
#define ARENA_MAX_CHUNKS  64
#define ARENA_NR_BINS     48
#define ARENA_MAGIC       0x55534c42u /* "USLB" */

/* Just below every arena block. Invariant: capacity is a power of two >= 16. */
struct arena_hdr {
	uint32_t magic;
	uint32_t bin;         /* log2(capacity) */
	size_t capacity;
};
_Static_assert(sizeof(struct arena_hdr) == SHIM_MIN_ALIGN, "header keeps 16-byte alignment");

static char arena_static[ARENA_STATIC_SIZE] __attribute__((aligned(4096)));
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static char *arena_cur = arena_static;                       /* arena_lock */
static char *arena_end = arena_static + ARENA_STATIC_SIZE;   /* arena_lock */
static void *arena_bins[ARENA_NR_BINS];                      /* arena_lock: free blocks */
/* mmap chunks; entries are written before arena_nr_extra publishes them. */
static struct { uintptr_t lo, hi; } arena_extra[ARENA_MAX_CHUNKS];
static unsigned int arena_nr_extra;

static inline struct arena_hdr *arena_hdr_of(const void *p)
{
	return (struct arena_hdr *)p - 1;
}

static bool arena_owns_extra(const void *p)
{
	unsigned int nr = __atomic_load_n(&arena_nr_extra, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < nr; i++)
		if ((uintptr_t)p - arena_extra[i].lo < arena_extra[i].hi - arena_extra[i].lo)
			return true;
	return false;
}

static inline bool arena_owns(const void *p)
{
	if ((uintptr_t)p - (uintptr_t)arena_static < ARENA_STATIC_SIZE)
		return true;
	if (likely(!__atomic_load_n(&arena_nr_extra, __ATOMIC_RELAXED)))
		return false;
	return arena_owns_extra(p);
}

/* The forking thread already owns arena_lock between prepare and parent/child. */
static inline void arena_lock_take(void)
{
	if (!self.forking)
		pthread_mutex_lock(&arena_lock);
}

static inline void arena_lock_drop(void)
{
	if (!self.forking)
		pthread_mutex_unlock(&arena_lock);
}

/* A new chunk of at least @need bytes becomes the bump region; arena_lock held. */
static bool arena_grow_locked(size_t need)
{
	size_t len = MAX(ARENA_CHUNK_SIZE, ALIGN_UP(need, PAGE_SIZE));
	unsigned int nr = arena_nr_extra;
	void *m;

	if (nr == ARENA_MAX_CHUNKS)
		return false;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return false;
	arena_extra[nr].lo = (uintptr_t)m;
	arena_extra[nr].hi = (uintptr_t)m + len;
	__atomic_store_n(&arena_nr_extra, nr + 1, __ATOMIC_RELEASE);
	arena_cur = m;
	arena_end = (char *)m + len;
	return true;
}

/*
 * arena_alloc - a block of at least @size bytes aligned to @align (a power
 * of two); zeroed with @zero. NULL with errno ENOMEM when the address space
 * is exhausted.
 */
static void *arena_alloc(size_t size, size_t align, bool zero)
{
	unsigned int bin;
	size_t cap;
	char *p = NULL;

	if (size > (1ul << (ARENA_NR_BINS - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	cap = size <= SHIM_MIN_ALIGN ? SHIM_MIN_ALIGN : 1ul << (64 - __builtin_clzl(size - 1));
	bin = (unsigned int)__builtin_ctzl(cap);
	if (align < SHIM_MIN_ALIGN)
		align = SHIM_MIN_ALIGN;

	arena_lock_take();
	if (align == SHIM_MIN_ALIGN && arena_bins[bin]) {
		p = arena_bins[bin];
		arena_bins[bin] = *(void **)p;
	} else {
		for (int tries = 0; tries < 2 && !p; tries++) {
			uintptr_t start = ALIGN_UP((uintptr_t)arena_cur + sizeof(struct arena_hdr), align);

			if (start + cap <= (uintptr_t)arena_end && start + cap > start) {
				p = (char *)start;
				arena_cur = p + cap;
			} else if (!arena_grow_locked(cap + align + sizeof(struct arena_hdr))) {
				break;
			}
		}
		if (p) {
			arena_hdr_of(p)->magic = ARENA_MAGIC;
			arena_hdr_of(p)->bin = bin;
			arena_hdr_of(p)->capacity = cap;
		}
	}
	arena_lock_drop();
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	if (zero)
		memset(p, 0, size);
	return p;
}

static inline size_t arena_usable(const void *p)
{
	return arena_hdr_of(p)->capacity;
}

static void arena_free(void *p)
{
	struct arena_hdr *h = arena_hdr_of(p);

	if (unlikely(h->magic != ARENA_MAGIC || h->bin >= ARENA_NR_BINS))
		return; /* not a block start: leave it alone rather than corrupt a list */
	arena_lock_take();
	*(void **)p = arena_bins[h->bin];
	arena_bins[h->bin] = p;
	arena_lock_drop();
}

/* ---- entries and fork ------------------------------------------------------------ */

/* First call of a thread with USLAB_MALLOC_MAX: charge the tenant from now on. */
static void shim_attach_thread(void)
{
	self.attached = true;
	/* Cannot fail: the tenant is never destroyed. */
	(void)mem_cgroup_attach_thread(shim_tenant);
}

/*
 * shim_enter/shim_leave - bracket every outermost call into uslab: any
 * malloc it causes goes to the arena.
 */
static inline void shim_enter(void)
{
	self.depth++;
	if (unlikely(shim_tenant && !self.attached))
		shim_attach_thread();
}

static inline void shim_leave(void)
{
	self.depth--;
}

/* The library's own handlers cover uslab (lib/fork.c); the arena is ours. */
static void shim_fork_prepare(void)
{
	pthread_mutex_lock(&arena_lock);
	self.forking = true;
}

static void shim_fork_parent(void)
{
	self.forking = false;
	pthread_mutex_unlock(&arena_lock);
}

static void shim_fork_child(void)
{
	self.forking = false;
	pthread_mutex_init(&arena_lock, NULL);
}

/* ---- blocks on uslab ---------------------------------------------------------------- */

/* Just below a pointer memalign() placed inside a kmalloc_large block. */
struct aligned_hdr {
	void *base;           /* start of the block */
	uintptr_t check;      /* base ^ ALIGNED_MAGIC */
};
#define ALIGNED_MAGIC ((uintptr_t)0x75736c61626d656dull)
/* The smallest block that has its slab to itself: the 16 KiB class and up. */
#define ALIGNED_MIN_BLOCK (8192 + 1)

/*
 * The block start of a pointer memalign() returned inside a block, or NULL:
 * a page-aligned pointer whose page and the one before belong to one
 * kmalloc_large block, or to one slab that holds a single object.
 */
static inline void *aligned_block_base(const void *p)
{
	const struct aligned_hdr *h;
	uintptr_t v;

	if ((uintptr_t)p & (PAGE_SIZE - 1))
		return NULL;
	v = pagemap_lookup(p);
	if (!v || pagemap_lookup((const char *)p - 1) != v)
		return NULL;
	if (!(v & PAGEMAP_LARGE) && (((struct slab *)v)->cache->num != 1 ||
				     ((struct slab *)v)->s_mem == p))
		return NULL;
	h = (const struct aligned_hdr *)p - 1;
	if (((uintptr_t)h->base ^ ALIGNED_MAGIC) != h->check || (uintptr_t)h->base >= (uintptr_t)p)
		return NULL; /* a stray interior pointer: kfree() will report it */
	return h->base;
}

/* kvmalloc() with malloc's conventions: errno kept on success, ENOMEM on failure. */
static void *shim_alloc(size_t size, gfp_t extra)
{
	int saved = errno;
	void *p = kvmalloc(size < SHIM_MIN_ALIGN ? SHIM_MIN_ALIGN : size, shim_gfp | extra);

	errno = p ? saved : ENOMEM;
	return p;
}

static void shim_kfree(void *p)
{
	void *base = aligned_block_base(p);

	kfree(base ? base : p);
}

static size_t shim_usable(const void *p)
{
	void *base = aligned_block_base(p);

	if (base)
		return ksize(base) - (size_t)((const char *)p - (const char *)base);
	return ksize(p);
}

/* @align is a power of two above the page: over-allocate and record the start. */
static void *shim_alloc_aligned_large(size_t align, size_t size)
{
	struct aligned_hdr *h;
	size_t total;
	char *base, *p;

	if (__builtin_add_overflow(size, align, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	/* Above 8 KiB: a class with one object per page-aligned slab, or kmalloc_large. */
	base = shim_alloc(MAX(total, ALIGNED_MIN_BLOCK), 0);
	if (!base || !((uintptr_t)base & (align - 1)))
		return base;
	p = (char *)ALIGN_UP((uintptr_t)base, align); /* at least a page above base */
	h = (struct aligned_hdr *)p - 1;
	h->base = base;
	h->check = (uintptr_t)base ^ ALIGNED_MAGIC;
	return p;
}

/* @align is a power of two. */
static void *shim_alloc_aligned(size_t align, size_t size)
{
	void *p;

	if (align <= SHIM_MIN_ALIGN)
		return shim_alloc(size, 0);
	if (align <= PAGE_SIZE) {
		size_t want = MAX(size, align);

		/* Power-of-two classes are aligned to their size up to the page. */
		if (want <= KMALLOC_MAX_CACHE_SIZE)
			want = 1ul << (64 - __builtin_clzl(want - 1));
		p = shim_alloc(want, 0);
		if (!p || !((uintptr_t)p & (align - 1)))
			return p;
		/* A debug layout (USLAB_DEBUG red zones) moved the object: use pages. */
		kfree(p);
		align = PAGE_SIZE;
	}
	return shim_alloc_aligned_large(align, size);
}

static void *shim_realloc(void *p, size_t size)
{
	size_t old = shim_usable(p);
	void *q;

	/* In place unless a class at most half the size would do. */
	if (size <= old && (size > old / 2 || old <= SHIM_MIN_ALIGN))
		return p;
	q = shim_alloc(size, 0);
	if (!q)
		return size <= old ? p : NULL;
	memcpy(q, p, MIN(old, size));
	shim_kfree(p);
	return q;
}

/* ---- arena and nesting helpers -------------------------------------------------------- */

/* realloc() of an arena block, or of any block from inside the allocator. */
static void *realloc_nested(void *p, size_t size, bool nested)
{
	size_t old;
	void *q;

	if (arena_owns(p)) {
		old = arena_usable(p);
		if (size <= old)
			return p;
	} else if (shim_ready()) {
		old = shim_usable(p);
	} else {
		errno = ENOMEM; /* a pointer nobody here gave out */
		return NULL;
	}
	if (nested) {
		q = arena_alloc(size, SHIM_MIN_ALIGN, false);
	} else {
		shim_enter();
		q = shim_alloc(size, 0);
		shim_leave();
	}
	if (!q)
		return NULL;
	memcpy(q, p, MIN(old, size));
	if (arena_owns(p))
		arena_free(p);
	else if (nested)
		shim_kfree(p);
	else {
		shim_enter();
		shim_kfree(p);
		shim_leave();
	}
	return q;
}

static void *memalign_common(size_t align, size_t size, const void *caller)
{
	void *p;

	if (unlikely(shim_nested(caller)))
		return arena_alloc(size, align, false);
	shim_enter();
	p = shim_alloc_aligned(align, size);
	shim_leave();
	return p;
}

/* @caller: the return address of the exported function the program called. */
static void *malloc_common(size_t size, const void *caller)
{
	void *p;

	if (unlikely(shim_nested(caller)))
		return arena_alloc(size, SHIM_MIN_ALIGN, false);
	shim_enter();
	p = shim_alloc(size, 0);
	shim_leave();
	return p;
}

static void *realloc_common(void *p, size_t size, const void *caller)
{
	bool nested = shim_nested(caller);
	void *q;

	if (!p)
		return malloc_common(size, caller);
	if (size == 0) {
		free(p); /* glibc: realloc(p, 0) frees and returns NULL */
		return NULL;
	}
	if (unlikely(nested || arena_owns(p)))
		return realloc_nested(p, size, nested);
	shim_enter();
	q = shim_realloc(p, size);
	shim_leave();
	return q;
}

/* ---- the malloc API ------------------------------------------------------------------- */

SHIM_API void *malloc(size_t size)
{
	return malloc_common(size, RET_IP);
}

SHIM_API void free(void *p)
{
	int saved;

	if (unlikely(!p))
		return;
	if (unlikely(arena_owns(p))) {
		arena_free(p);
		return;
	}
	if (unlikely(!shim_ready()))
		return; /* not ours: nothing but the arena has given out memory */
	saved = errno;
	if (unlikely(self.depth)) {
		shim_kfree(p);
	} else {
		shim_enter();
		shim_kfree(p);
		shim_leave();
	}
	errno = saved;
}

SHIM_API void *calloc(size_t n, size_t size)
{
	size_t bytes;
	void *p;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(shim_nested(RET_IP)))
		return arena_alloc(bytes, SHIM_MIN_ALIGN, true);
	shim_enter();
	p = shim_alloc(bytes, __GFP_ZERO);
	shim_leave();
	return p;
}

SHIM_API void *realloc(void *p, size_t size)
{
	return realloc_common(p, size, RET_IP);
}

SHIM_API void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc_common(p, bytes, RET_IP);
}

SHIM_API void *memalign(size_t align, size_t size)
{
	/* glibc: a non-power-of-two alignment is rounded up to one. */
	if (align > (1ul << 62)) {
		errno = EINVAL;
		return NULL;
	}
	if (!IS_POWER_OF_2(align))
		align = align <= 1 ? 1 : 1ul << (64 - __builtin_clzl(align - 1));
	return memalign_common(align, size, RET_IP);
}

SHIM_API int posix_memalign(void **memptr, size_t align, size_t size)
{
	int saved = errno;
	void *p;

	if (!IS_POWER_OF_2(align) || align % sizeof(void *))
		return EINVAL;
	p = memalign_common(align, size, RET_IP);
	errno = saved; /* POSIX: the error is the return value */
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

SHIM_API void *aligned_alloc(size_t align, size_t size)
{
	/* C17 with glibc 2.38's check: the alignment must be a power of two. */
	if (!IS_POWER_OF_2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return memalign_common(align, size, RET_IP);
}

SHIM_API void *valloc(size_t size)
{
	return memalign_common(PAGE_SIZE, size, RET_IP);
}

SHIM_API void *pvalloc(size_t size)
{
	if (size > SIZE_MAX - PAGE_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	return memalign_common(PAGE_SIZE, size ? ALIGN_UP(size, PAGE_SIZE) : PAGE_SIZE, RET_IP);
}

SHIM_API size_t malloc_usable_size(void *p)
{
	size_t n;

	if (!p)
		return 0;
	if (arena_owns(p))
		return arena_usable(p);
	if (!shim_ready())
		return 0;
	if (self.depth)
		return shim_usable(p);
	shim_enter();
	n = shim_usable(p);
	shim_leave();
	return n;
}

/* malloc_trim - run uslab's reaper once; 1 when it released memory. */
SHIM_API int malloc_trim(size_t pad)
{
	unsigned long freed;

	(void)pad;
	if (shim_nested(NULL))
		return 0;
	shim_enter();
	freed = uslab_reap();
	shim_leave();
	return freed != 0;
}

/* malloc_stats - the shim's caches, as /proc/slabinfo, on stderr. */
SHIM_API void malloc_stats(void)
{
	if (shim_nested(NULL))
		return;
	shim_enter();
	uslab_slabinfo(stderr);
	shim_leave();
}

/* ---- start and exit ------------------------------------------------------------------- */

/* This library's executable segment, from its own program headers. */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

static void shim_find_text(void)
{
	const char *ehdr = (const char *)&__ehdr_start;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(ehdr + __ehdr_start.e_phoff);
	uintptr_t bias = 0;
	bool found = false;

	for (unsigned int i = 0; i < __ehdr_start.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
			bias = (uintptr_t)ehdr - ph[i].p_vaddr;
			found = true;
			break;
		}
	for (unsigned int i = 0; found && i < __ehdr_start.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
			shim_text_lo = bias + ph[i].p_vaddr;
			shim_text_hi = shim_text_lo + ph[i].p_memsz;
			break;
		}
}

static void shim_warn(const char *what, int err)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf), "libuslab-malloc: %s: %s\n", what, strerror(err));

	if (n > 0 && write(STDERR_FILENO, buf, MIN((size_t)n, sizeof(buf) - 1)) < 0)
		return;
}

static void shim_setup_tenant(const char *max)
{
	struct mem_cgroup *memcg = mem_cgroup_create(NULL, "malloc");
	int err;

	if (!memcg) {
		shim_warn("USLAB_MALLOC_MAX: creating tenant \"malloc\"", errno);
		return;
	}
	err = mem_cgroup_write(memcg, "memory.max", max);
	if (err) {
		char what[112];

		snprintf(what, sizeof(what), "USLAB_MALLOC_MAX=%.48s: not \"max\" or a size such as 64M",
			 max);
		shim_warn(what, -err);
		mem_cgroup_destroy(memcg);
		return;
	}
	shim_tenant = memcg;
	shim_gfp = GFP_KERNEL_ACCOUNT;
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *env;
	int err;

	self.depth++;
	shim_find_text();
	env = getenv("USLAB_MALLOC_STATS");
	shim_print_stats = env && *env && *env != '0';
	/*
	 * Before uslab registers its own: prepare handlers run in the reverse
	 * order, so the arena lock (uslab calls malloc under its locks) is
	 * taken after every uslab lock.
	 */
	pthread_atfork(shim_fork_prepare, shim_fork_parent, shim_fork_child);
	err = uslab_init(NULL);
	if (err && err != -EBUSY) {
		shim_warn("uslab_init failed, serving malloc from the bootstrap arena", -err);
		__atomic_store_n(&shim_state, SHIM_ARENA_ONLY, __ATOMIC_RELEASE);
		self.depth--;
		return;
	}
	env = getenv("USLAB_MALLOC_MAX");
	if (env && *env)
		shim_setup_tenant(env);
	__atomic_store_n(&shim_state, SHIM_READY, __ATOMIC_RELEASE);
	self.depth--;
}

__attribute__((destructor)) static void shim_exit(void)
{
	/* uslab stays up: later destructors and atexit handlers still allocate. */
	if (shim_print_stats)
		malloc_stats();
}
