// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * examples/tenant-kv/kv-store.c - the items of tenant-kv-server and the
 * tenants that pay for them. A key's tenant is its prefix up to the
 * separator (-P, default ':'); keys without one belong to "default". Each
 * tenant is a memory cgroup /kv/NAME with its own memory.max, its own hash
 * table and its own LRU list; an item is one block of uslab memory (an
 * object of a SLAB_ACCOUNT kv-item-N cache, or a page-backed kvmalloc() block
 * above the largest class) allocated with the tenant active, so it is
 * charged to that tenant and to nobody else. When a store finds its tenant at
 * memory.max, kv_evict() frees that tenant's least recently used items and
 * the allocation is tried again, as memcached evicts, but per tenant: a
 * tenant never evicts, and never waits for, another tenant's items.
 *
 * Semantics follow memcached 1.6 (items.c, memcached.c): lazy expiry on
 * access, flush_all by time and cas, add/replace/append/prepend/cas rules,
 * incr/decr in place with space padding. Allocations are never made under a
 * tenant's lock (see kv.h), so operations that need a bigger item (append,
 * incr growing a number) allocate unlocked and commit only if the old item
 * is still the same version (same pointer and cas), retrying otherwise.
 *
 * Locks: see kv.h. kv_tenant_create_lock serialises tenant creation; the
 * tenant slots are published with release stores and read without a lock,
 * since a tenant lives until shutdown. Within a tenant a key's stripe lock
 * covers its chain and its items' fields, and lru_lock, taken inside a
 * stripe, covers the LRU list and the counts; gets take only their stripe
 * (and lru_lock once a minute per item, to bump it).
 */
#include "config.h"      /* USLAB_DEBUG_LEVEL */
#include "kv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- clock ------------------------------------------------------------------ */

#define KV_CLOCK_OFFSET 62      /* memcached: ITEM_UPDATE_INTERVAL + 2 */

static time_t kv_mono_start;    /* CLOCK_MONOTONIC seconds at rel_time_t 0 */
static time_t kv_wall_start;    /* wall-clock seconds at rel_time_t 0 */

void kv_clock_init(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	kv_mono_start = ts.tv_sec - KV_CLOCK_OFFSET;
	kv_wall_start = time(NULL) - KV_CLOCK_OFFSET;
}

rel_time_t kv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (rel_time_t)(ts.tv_sec - kv_mono_start);
}

long kv_process_started(void)
{
	return (long)kv_wall_start;
}

/*
 * memcached's realtime(): 0 is "never"; up to 30 days is relative to now;
 * larger values are Unix times, and a Unix time at or before the start
 * becomes 1, which has always passed. Callers turn negative protocol values
 * into KV_REALTIME_MAXDELTA + 1 first, as memcached does.
 */
rel_time_t kv_realtime(int64_t exptime)
{
	if (exptime == 0)
		return 0;
	if (exptime > KV_REALTIME_MAXDELTA) {
		if (exptime <= kv_wall_start)
			return 1;
		return (rel_time_t)(exptime - kv_wall_start);
	}
	return (rel_time_t)(exptime + kv_now());
}

/* ---- item classes ------------------------------------------------------------ */

/*
 * Item sizes grow by 1.25 from 64 bytes to 8 KiB (memcached's default
 * factor), one SLAB_ACCOUNT cache each; larger items are kvmalloc() pages.
 */
#define KV_CLASS_MIN    64
#define KV_CLASS_MAX    8192
#define KV_MAX_CLASSES  32

static struct kmem_cache *kv_item_caches[KV_MAX_CLASSES];
static unsigned int kv_class_size[KV_MAX_CLASSES];
static unsigned int kv_nr_classes;

static int kv_classes_init(void)
{
	unsigned int size = KV_CLASS_MIN;

	while (kv_nr_classes < KV_MAX_CLASSES) {
		char name[32];

		if (size > KV_CLASS_MAX || kv_nr_classes == KV_MAX_CLASSES - 1)
			size = KV_CLASS_MAX;
		snprintf(name, sizeof(name), "kv-item-%u", size);
		/* Own caches, never merged: slabinfo and memory.stat name them. */
		kv_item_caches[kv_nr_classes] = kmem_cache_create(name, size, 8,
								  SLAB_ACCOUNT | SLAB_NO_MERGE, NULL);
		if (!kv_item_caches[kv_nr_classes])
			return -errno;
		kv_class_size[kv_nr_classes++] = size;
		if (size == KV_CLASS_MAX)
			break;
		size = (size * 5 / 4 + 7) & ~7u;
	}
	return 0;
}

static unsigned int kv_class_of(size_t total)
{
	if (total > KV_CLASS_MAX)
		return KV_CLS_LARGE;
	/* A binary search would do; the list is short and this is not hot. */
	for (unsigned int i = 0; i < kv_nr_classes; i++)
		if (total <= kv_class_size[i])
			return i;
	return KV_CLS_LARGE;
}

size_t kv_item_total(const struct kv_item *it)
{
	return sizeof(struct kv_item) + it->nkey + it->nbytes;
}

/*
 * memcached's item_size_ok(): its 48-byte item header, the key and a NUL,
 * 4 bytes of flags unless they are 0, the value with "\r\n" and an 8-byte
 * cas. Counting as memcached counts keeps "object too large for cache" at
 * exactly the same value sizes.
 */
bool kv_item_size_ok(size_t nkey, uint32_t flags, size_t nbytes)
{
	size_t ntotal = 48 + nkey + 1 + (flags ? 4 : 0) + nbytes + 8;

	return nbytes >= 2 && ntotal <= kv_settings.item_size_max;
}

/* ---- hashing ---------------------------------------------------------------- */

/* 64-bit multiply-xorshift over 8-byte words: short keys, a few multiplies. */
static uint64_t kv_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (len * 0xff51afd7ed558ccdull);

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
		s += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;

		memcpy(&w, s, len);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	}
	h ^= h >> 32;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* ---- globals --------------------------------------------------------------------- */

#define KV_TENANT_SLOTS     8192        /* open addressing, > 2 * KV_MAX_TENANTS */
#define KV_HASHPOWER_INIT   6           /* 64 chains for a new tenant */
_Static_assert((1u << KV_HASHPOWER_INIT) >= KV_STRIPES, "a chain holds keys of one stripe");
#define KV_HASHPOWER_MAX    26
#define KV_EVICT_BATCH_MIN  16          /* items evicted when a store first fails */
#define KV_EVICT_BATCH_MAX  64          /* items per kv_evict() call in a store */
#define KV_RETRIES          16          /* optimistic append/incr attempts */

static struct mem_cgroup *kv_parent;    /* /kv */

static pthread_mutex_t kv_tenant_create_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kv_tenant *_Atomic kv_tenant_slots[KV_TENANT_SLOTS];
static struct kv_tenant *_Atomic kv_tenant_list[KV_MAX_TENANTS];
static atomic_uint kv_nr_tenants;

static atomic_uint_fast64_t kv_cas_id;          /* last cas handed out */
static _Atomic rel_time_t kv_oldest_live;       /* flush_all: items at or before are gone */
static atomic_uint_fast64_t kv_oldest_cas;      /* flush_all: items with a smaller cas are gone */

static uint64_t kv_next_cas(void)
{
	return atomic_fetch_add_explicit(&kv_cas_id, 1, memory_order_relaxed) + 1;
}

struct mem_cgroup *kv_parent_memcg(void)
{
	return kv_parent;
}

unsigned int kv_tenant_count(void)
{
	return atomic_load_explicit(&kv_nr_tenants, memory_order_acquire);
}

struct kv_tenant *kv_tenant_at(unsigned int i)
{
	return atomic_load_explicit(&kv_tenant_list[i], memory_order_acquire);
}

/* ---- lock checks ---------------------------------------------------------- */

/*
 * Every _locked function starts by checking that its lock is held (by
 * someone: a trylock cannot tell who) when uslab is configured with
 * --enable-debug, like the kernel's lockdep_assert_held(); otherwise the
 * check costs nothing.
 */
static const bool kv_check_locks = USLAB_DEBUG_LEVEL > 0;

static void kv_assert_held(pthread_mutex_t *lock, const char *what)
{
	if (kv_check_locks && pthread_mutex_trylock(lock) == 0) {
		fprintf(stderr, "tenant-kv: %s not held\n", what);
		abort();
	}
}

/* ---- tenants ------------------------------------------------------------------- */

/*
 * The cgroup name of a prefix: the prefix itself with every byte outside
 * [A-Za-z0-9_.-] written %XX (a name may not contain '/', and stats lines
 * must not contain blanks); "." and ".." escaped too. Names longer than
 * KV_TENANT_NAME_MAX keep a head and a hash of the whole prefix.
 */
static void kv_tenant_name(char *name, const char *prefix, size_t np, uint64_t hash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	bool dots = np <= 2;

	if (np == 0) {
		strcpy(name, KV_DEFAULT_TENANT);
		return;
	}
	for (size_t i = 0; i < np && dots; i++)
		dots = prefix[i] == '.';
	for (size_t i = 0; i < np; i++) {
		unsigned char ch = (unsigned char)prefix[i];
		bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
			     (ch == '.' && !dots);

		if (n + 3 > KV_TENANT_NAME_MAX) {
			/* Too long: a head and a hash that tells long prefixes apart. */
			n = KV_TENANT_NAME_MAX - 17 < n ? KV_TENANT_NAME_MAX - 17 : n;
			snprintf(name + n, KV_TENANT_NAME_MAX + 1 - n, "~%016" PRIx64, hash);
			return;
		}
		if (plain) {
			name[n++] = (char)ch;
		} else {
			name[n++] = '%';
			name[n++] = hex[ch >> 4];
			name[n++] = hex[ch & 15];
		}
	}
	name[n] = '\0';
}

/* Memory for @t's allocations: @t becomes the calling thread's active tenant. */
static struct mem_cgroup *kv_charge_to(struct kv_tenant *t)
{
	return set_active_memcg(t->memcg);
}

static struct kv_tenant *kv_tenant_find(const char *prefix, size_t np, uint64_t h)
{
	for (unsigned int i = (unsigned int)h & (KV_TENANT_SLOTS - 1);;
	     i = (i + 1) & (KV_TENANT_SLOTS - 1)) {
		struct kv_tenant *t = atomic_load_explicit(&kv_tenant_slots[i], memory_order_acquire);

		if (!t)
			return NULL;
		if (t->prefix_hash == h && t->nprefix == np && !memcmp(t->prefix, prefix, np))
			return t;
	}
}

/*
 * kv_tenant_create_locked - a new tenant for @prefix, with limit @limit
 * Context: kv_tenant_create_lock held; no tenant of this prefix exists.
 * Return: the tenant, or NULL with errno (ENOSPC: too many tenants).
 */
static struct kv_tenant *kv_tenant_create_locked(const char *prefix, size_t np, uint64_t h,
						 unsigned long long limit)
{
	unsigned int nr = atomic_load_explicit(&kv_nr_tenants, memory_order_relaxed);
	struct mem_cgroup *old;
	struct kv_tenant *t;
	int err;

	kv_assert_held(&kv_tenant_create_lock, "kv_tenant_create_lock");
	if (nr >= kv_settings.max_tenants || nr >= KV_MAX_TENANTS) {
		errno = ENOSPC;
		return NULL;
	}
	/* Server bookkeeping, not the tenant's memory: uncharged. */
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return NULL;
	memcpy(t->prefix, prefix, np);
	t->nprefix = (unsigned int)np;
	t->prefix_hash = h;
	kv_tenant_name(t->name, prefix, np, h);
	t->memcg = mem_cgroup_create(kv_parent, t->name);
	if (!t->memcg)
		goto fail;
	err = mem_cgroup_set_max(t->memcg, (unsigned long)limit);
	if (err) {
		errno = -err;
		goto fail_memcg;
	}
	/* The index is the tenant's memory too. */
	old = kv_charge_to(t);
	t->table = kvzalloc(sizeof(*t->table) << KV_HASHPOWER_INIT, GFP_KERNEL_ACCOUNT);
	set_active_memcg(old);
	if (!t->table)
		goto fail_memcg;
	t->hashpower = KV_HASHPOWER_INIT;
	atomic_store(&t->nr_buckets, 1ul << KV_HASHPOWER_INIT);
	for (unsigned int i = 0; i < KV_STRIPES; i++)
		pthread_mutex_init(&t->stripes[i].lock, NULL);
	pthread_mutex_init(&t->lru_lock, NULL);

	atomic_store_explicit(&kv_tenant_list[nr], t, memory_order_release);
	atomic_store_explicit(&kv_nr_tenants, nr + 1, memory_order_release);
	for (unsigned int i = (unsigned int)h & (KV_TENANT_SLOTS - 1);;
	     i = (i + 1) & (KV_TENANT_SLOTS - 1)) {
		if (!atomic_load_explicit(&kv_tenant_slots[i], memory_order_relaxed)) {
			atomic_store_explicit(&kv_tenant_slots[i], t, memory_order_release);
			break;
		}
	}
	return t;

fail_memcg:
	err = errno;
	mem_cgroup_destroy(t->memcg);
	errno = err;
fail:
	err = errno;
	kfree(t);
	errno = err;
	return NULL;
}

static struct kv_tenant *kv_tenant_get(const char *prefix, size_t np, bool create,
				       unsigned long long limit)
{
	uint64_t h = kv_hash(prefix, np);
	struct kv_tenant *t = kv_tenant_find(prefix, np, h);

	if (t || !create)
		return t;
	pthread_mutex_lock(&kv_tenant_create_lock);
	t = kv_tenant_find(prefix, np, h);
	if (!t)
		t = kv_tenant_create_locked(prefix, np, h, limit);
	pthread_mutex_unlock(&kv_tenant_create_lock);
	return t;
}

/*
 * kv_tenant_of - the tenant of @key: its prefix up to the separator; keys
 * without one, with an empty prefix or with the prefix "default" belong to
 * the default tenant
 * @create: create the tenant (with the -m limit) if it does not exist
 * Return: the tenant, or NULL (not found, or creation failed with errno).
 */
struct kv_tenant *kv_tenant_of(const char *key, size_t nkey, bool create)
{
	const char *sep = memchr(key, kv_settings.separator, nkey);
	size_t np = sep ? (size_t)(sep - key) : 0;

	if (np == sizeof(KV_DEFAULT_TENANT) - 1 && !memcmp(key, KV_DEFAULT_TENANT, np))
		np = 0;
	return kv_tenant_get(key, np, create, kv_settings.default_limit);
}

/* -l PREFIX=SIZE at start: create the tenant or change its limit. Return: 0 or -errno. */
static int kv_tenant_preset(const char *prefix, unsigned long long limit)
{
	size_t np = strlen(prefix);
	struct kv_tenant *t;

	if (np > KV_KEY_MAX - 1)
		return -EINVAL;
	if (np == sizeof(KV_DEFAULT_TENANT) - 1 && !memcmp(prefix, KV_DEFAULT_TENANT, np))
		np = 0;
	t = kv_tenant_get(prefix, np, true, limit);
	if (!t)
		return -errno;
	return mem_cgroup_set_max(t->memcg, (unsigned long)limit);
}

/* ---- items: table, stripes and LRU --------------------------------------- */

static struct kv_stripe *kv_stripe_of(struct kv_tenant *t, uint32_t hash)
{
	return &t->stripes[hash & (KV_STRIPES - 1)];
}

static void kv_stripe_lock(struct kv_tenant *t, uint32_t hash)
{
	pthread_mutex_lock(&kv_stripe_of(t, hash)->lock);
}

static void kv_stripe_unlock(struct kv_tenant *t, uint32_t hash)
{
	pthread_mutex_unlock(&kv_stripe_of(t, hash)->lock);
}

static void kv_lock_all(struct kv_tenant *t)
{
	for (unsigned int i = 0; i < KV_STRIPES; i++)
		pthread_mutex_lock(&t->stripes[i].lock);
	pthread_mutex_lock(&t->lru_lock);
}

static void kv_unlock_all(struct kv_tenant *t)
{
	pthread_mutex_unlock(&t->lru_lock);
	for (unsigned int i = KV_STRIPES; i-- > 0;)
		pthread_mutex_unlock(&t->stripes[i].lock);
}

/* Context: the stripe of @hash held (any one stripe to read the table). */
static struct kv_item **kv_bucket(struct kv_tenant *t, uint32_t hash)
{
	return &t->table[hash & ((1u << t->hashpower) - 1)];
}

static void kv_lru_unlink_locked(struct kv_tenant *t, struct kv_item *it)
{
	kv_assert_held(&t->lru_lock, "a tenant's lru_lock");
	if (it->prev)
		it->prev->next = it->next;
	else
		t->lru_head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		t->lru_tail = it->prev;
	it->prev = it->next = NULL;
}

static void kv_lru_push_locked(struct kv_tenant *t, struct kv_item *it)
{
	kv_assert_held(&t->lru_lock, "a tenant's lru_lock");
	it->prev = NULL;
	it->next = t->lru_head;
	if (t->lru_head)
		t->lru_head->prev = it;
	else
		t->lru_tail = it;
	t->lru_head = it;
}

/* Off the chain and the LRU. Context: the item's stripe and lru_lock held. */
static void kv_unlink_both_locked(struct kv_tenant *t, struct kv_item *it)
{
	struct kv_item **pp = kv_bucket(t, it->hash);

	kv_assert_held(&t->lru_lock, "a tenant's lru_lock");
	while (*pp != it)
		pp = &(*pp)->h_next;
	*pp = it->h_next;
	it->h_next = NULL;
	kv_lru_unlink_locked(t, it);
	it->iflags &= (uint8_t)~KV_ITEM_LINKED;
	t->nr_items--;
	t->bytes -= kv_item_total(it);
}

/* On the chain and at the LRU's head. Context: the item's stripe and lru_lock held. */
static void kv_link_both_locked(struct kv_tenant *t, struct kv_item *it, rel_time_t now)
{
	struct kv_item **b = kv_bucket(t, it->hash);

	kv_assert_held(&t->lru_lock, "a tenant's lru_lock");
	it->h_next = *b;
	*b = it;
	it->time = now;
	it->iflags |= KV_ITEM_LINKED;
	kv_lru_push_locked(t, it);
	t->nr_items++;
	t->bytes += kv_item_total(it);
	t->st.total_items++;
}

/* Context: the item's stripe held; takes lru_lock. */
static void kv_link_locked(struct kv_tenant *t, struct kv_item *it, rel_time_t now)
{
	kv_assert_held(&kv_stripe_of(t, it->hash)->lock, "a tenant's stripe lock");
	pthread_mutex_lock(&t->lru_lock);
	kv_link_both_locked(t, it, now);
	pthread_mutex_unlock(&t->lru_lock);
}

static void kv_unlink_locked(struct kv_tenant *t, struct kv_item *it)
{
	kv_assert_held(&kv_stripe_of(t, it->hash)->lock, "a tenant's stripe lock");
	pthread_mutex_lock(&t->lru_lock);
	kv_unlink_both_locked(t, it);
	pthread_mutex_unlock(&t->lru_lock);
}

/* @new takes @old's place (same key, same stripe); @old is unlinked, not freed. */
static void kv_replace_locked(struct kv_tenant *t, struct kv_item *old, struct kv_item *new,
			      rel_time_t now)
{
	kv_assert_held(&kv_stripe_of(t, old->hash)->lock, "a tenant's stripe lock");
	pthread_mutex_lock(&t->lru_lock);
	kv_unlink_both_locked(t, old);
	kv_link_both_locked(t, new, now);
	pthread_mutex_unlock(&t->lru_lock);
}

/* memcached's item_is_flushed(). */
static bool kv_item_flushed(const struct kv_item *it, rel_time_t now)
{
	rel_time_t oldest_live = atomic_load_explicit(&kv_oldest_live, memory_order_relaxed);
	uint64_t oldest_cas = atomic_load_explicit(&kv_oldest_cas, memory_order_relaxed);

	if (oldest_live == 0 || oldest_live > now)
		return false;
	return it->time <= oldest_live || (oldest_cas && it->cas && it->cas < oldest_cas);
}

static bool kv_item_expired(const struct kv_item *it, rel_time_t now)
{
	return it->exptime && it->exptime <= now;
}

/*
 * kv_find_locked - the live item of @key, or NULL
 *
 * An expired or flushed item found on the way is unlinked and freed (lazy
 * expiry, as memcached's do_item_get()).
 * Context: the stripe of @hash held.
 */
static struct kv_item *kv_find_locked(struct kv_tenant *t, const char *key, size_t nkey,
				      uint32_t hash, rel_time_t now, struct kv_thread_stats *st)
{
	struct kv_item *it;

	kv_assert_held(&kv_stripe_of(t, hash)->lock, "a tenant's stripe lock");
	for (it = *kv_bucket(t, hash); it; it = it->h_next)
		if (it->hash == hash && it->nkey == nkey && !memcmp(it->data, key, nkey))
			break;
	if (!it)
		return NULL;
	if (kv_item_flushed(it, now)) {
		if (st)
			kv_stat_add(&st->get_flushed, 1);
	} else if (kv_item_expired(it, now)) {
		if (st)
			kv_stat_add(&st->get_expired, 1);
	} else {
		return it;
	}
	pthread_mutex_lock(&t->lru_lock);
	t->st.reclaimed++;
	if (!(it->iflags & KV_ITEM_FETCHED))
		t->st.expired_unfetched++;
	kv_unlink_both_locked(t, it);
	pthread_mutex_unlock(&t->lru_lock);
	/* A free never reclaims: safe under the tenant's locks. */
	kv_item_free(it);
	return NULL;
}

/*
 * A hit: the item becomes the newest of its LRU on its first read, and then
 * at most once a minute (memcached's ITEM_UPDATE_INTERVAL): each move takes
 * lru_lock, which every stripe shares, and a minute's order among items
 * being read does not matter to eviction. A read never waits for lru_lock:
 * when it is busy the move is skipped (counted in bumps_dropped, as
 * memcached drops bumps) and a later read makes it.
 * Context: the item's stripe held.
 */
#define KV_BUMP_INTERVAL 60

static void kv_bump_locked(struct kv_tenant *t, struct kv_item *it, rel_time_t now)
{
	kv_assert_held(&kv_stripe_of(t, it->hash)->lock, "a tenant's stripe lock");
	it->iflags |= KV_ITEM_FETCHED;
	if ((it->iflags & KV_ITEM_ACTIVE) && now - it->time < KV_BUMP_INTERVAL)
		return;
	if (pthread_mutex_trylock(&t->lru_lock)) {
		kv_stripe_of(t, it->hash)->bumps_dropped++;
		return;
	}
	it->iflags |= KV_ITEM_ACTIVE;
	it->time = now;
	if (t->lru_head != it) {
		kv_lru_unlink_locked(t, it);
		kv_lru_push_locked(t, it);
	}
	pthread_mutex_unlock(&t->lru_lock);
}

/*
 * kv_tenant_grow - double @t's table when it holds 1.5 items per chain
 *
 * The new table is allocated before any lock is taken (charged to @t, no
 * eviction for it: a longer chain is better than a lost item); if another
 * thread grew the table meanwhile the new one is dropped.
 */
static void kv_tenant_grow(struct kv_tenant *t, unsigned int from)
{
	struct kv_item **table, **old;
	struct mem_cgroup *prev;
	unsigned int power = from + 1;

	if (power > KV_HASHPOWER_MAX)
		return;
	prev = kv_charge_to(t);
	table = kvzalloc(sizeof(*table) << power, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	set_active_memcg(prev);
	if (!table)
		return;
	kv_lock_all(t);
	if (t->hashpower != from) {
		kv_unlock_all(t);
		kvfree(table);
		return;
	}
	old = t->table;
	for (unsigned int b = 0; b < (1u << from); b++) {
		while (old[b]) {
			struct kv_item *it = old[b];

			old[b] = it->h_next;
			it->h_next = table[it->hash & ((1u << power) - 1)];
			table[it->hash & ((1u << power) - 1)] = it;
		}
	}
	t->table = table;
	t->hashpower = power;
	atomic_store_explicit(&t->nr_buckets, 1ul << power, memory_order_relaxed);
	kv_unlock_all(t);
	kvfree(old);
}

/* Context: a stripe held (for hashpower). */
static bool kv_needs_grow(struct kv_tenant *t)
{
	unsigned long items;

	pthread_mutex_lock(&t->lru_lock);
	items = t->nr_items;
	pthread_mutex_unlock(&t->lru_lock);
	return items > (3ul << t->hashpower) / 2 && t->hashpower < KV_HASHPOWER_MAX;
}

/* ---- allocation and eviction ----------------------------------------------- */

/*
 * Unlink from the cold end of @t's LRU up to @nr items that @pick accepts,
 * onto a list through h_next. Each item's stripe is taken with a trylock
 * (lru_lock is held, and stripes come first in the lock order); an item
 * whose stripe is busy is passed over. At most 4 * @nr + 16 items are looked
 * at. Return: the list.
 */
static struct kv_item *kv_lru_take(struct kv_tenant *t, unsigned long nr, bool all_flushed,
				   unsigned long *taken)
{
	struct kv_item *victims = NULL, *it, *prev;
	rel_time_t now = kv_now();
	unsigned long looked = 0;

	*taken = 0;
	pthread_mutex_lock(&t->lru_lock);
	for (it = t->lru_tail; it && *taken < nr; it = prev) {
		struct kv_stripe *s = kv_stripe_of(t, it->hash);
		bool fetched, dead;

		prev = it->prev;
		if (!all_flushed && ++looked > 4 * nr + 16)
			break;
		if (pthread_mutex_trylock(&s->lock))
			continue;
		dead = kv_item_flushed(it, now);
		if (all_flushed && !dead) {
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		dead = dead || kv_item_expired(it, now);
		fetched = it->iflags & KV_ITEM_FETCHED;
		if (dead) {
			t->st.reclaimed++;
			t->st.expired_unfetched += !fetched;
		} else {
			t->st.evictions++;
			t->st.evicted_unfetched += !fetched;
		}
		kv_unlink_both_locked(t, it);
		pthread_mutex_unlock(&s->lock);
		it->h_next = victims;
		victims = it;
		(*taken)++;
	}
	pthread_mutex_unlock(&t->lru_lock);
	return victims;
}

static void kv_free_list(struct kv_item *it)
{
	while (it) {
		struct kv_item *next = it->h_next;

		kv_item_free(it);
		it = next;
	}
}

/**
 * kv_evict - free up to @nr_to_scan items from the cold end of @t's LRU
 * @t: the tenant whose memory is short
 * @nr_to_scan: items to free at most
 *
 * The one place items are evicted. It has the shape of a memcg-aware
 * shrinker's scan_objects callback (its own locking, a tenant and a count
 * in, objects freed out) so that it can become one once uslab calls
 * shrinkers from a failing charge; until then kv_item_alloc() calls it.
 * Expired and flushed items at the tail count as reclaimed, live ones as
 * evictions. Items whose stripe is busy are passed over, so a reader is
 * never waited for. The items are unlinked under the locks, freed after.
 * Context: takes @t's lru_lock and stripe locks; call with none held.
 * Return: the number of items freed (0: none could be).
 */
unsigned long kv_evict(struct kv_tenant *t, unsigned long nr_to_scan)
{
	unsigned long freed;

	kv_free_list(kv_lru_take(t, nr_to_scan, false, &freed));
	atomic_fetch_add_explicit(&t->evict_calls, 1, memory_order_relaxed);
	return freed;
}

/* Whether @bytes can ever fit under @t's limit and its ancestors'. */
static bool kv_fits_limit(struct kv_tenant *t, size_t bytes)
{
	unsigned long max = mem_cgroup_max(t->memcg), pmax = mem_cgroup_max(kv_parent);

	return bytes <= max && bytes <= pmax;
}

/**
 * kv_item_alloc - a new, unlinked item charged to @t
 * @t: the key's tenant
 * @key: the key, @nkey bytes (at most KV_KEY_MAX)
 * @flags: client flags
 * @exptime: rel_time_t expiry, 0 for none
 * @nbytes: value bytes including the final "\r\n"
 *
 * With @t at its memory.max, evicts @t's own LRU items (16, 32, 64, 64, ...
 * at a time) until the allocation succeeds, unless eviction is off (-e) or
 * the item could never fit. A failed allocation is costly (uslab drains
 * the charge stocks and walks the caches for free slabs before it gives
 * up): evicting 16 cold items at once leaves objects of most sizes free for
 * the stores that follow, so a tenant writing at its limit fails about
 * once per 16 stores rather than at every one.
 * Context: no tenant lock held.
 * Return: the item (value bytes uninitialised), or NULL (no memory).
 */
struct kv_item *kv_item_alloc(struct kv_tenant *t, const char *key, size_t nkey,
			      uint32_t flags, rel_time_t exptime, size_t nbytes)
{
	size_t total = sizeof(struct kv_item) + nkey + nbytes;
	unsigned int cls = kv_class_of(total);
	unsigned long nr = KV_EVICT_BATCH_MIN;
	struct mem_cgroup *old;
	struct kv_item *it;

	old = kv_charge_to(t);
	for (;;) {
		if (cls == KV_CLS_LARGE)
			it = kvmalloc(total, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		else
			it = kmem_cache_alloc(kv_item_caches[cls], GFP_KERNEL | __GFP_NOWARN);
		if (it || !kv_settings.evict || !kv_fits_limit(t, total))
			break;
		if (!kv_evict(t, nr))
			break;
		if (nr < KV_EVICT_BATCH_MAX)
			nr *= 2;
	}
	set_active_memcg(old);
	if (!it) {
		atomic_fetch_add_explicit(&t->store_no_memory, 1, memory_order_relaxed);
		return NULL;
	}
	it->h_next = it->prev = it->next = NULL;
	it->cas = 0;
	it->time = 0;
	it->exptime = exptime;
	it->flags = flags;
	it->nbytes = (uint32_t)nbytes;
	it->hash = (uint32_t)kv_hash(key, nkey);
	it->nkey = (uint8_t)nkey;
	it->cls = (uint8_t)cls;
	it->iflags = 0;
	memcpy(it->data, key, nkey);
	return it;
}

void kv_item_free(struct kv_item *it)
{
	if (it->cls == KV_CLS_LARGE)
		kvfree(it);
	else
		kmem_cache_free(kv_item_caches[it->cls], it);
}

/* ---- operations ----------------------------------------------------------------- */

static bool kv_same_version(struct kv_item *found, struct kv_item *it, uint64_t cas)
{
	return found == it && found->cas == cas;
}

/*
 * The append/prepend merge: a new item with @old's flags and exptime and
 * both values, committed only while @old is still current.
 * Context: @it's stripe held on entry and on return; dropped in between.
 * Return: KV_STORED (*freeme is then @old), KV_NOT_STORED, or -EAGAIN when
 * @old changed meanwhile (*freeme is the unused merge; the caller looks again).
 */
static int kv_merge_locked(struct kv_tenant *t, struct kv_item *old, struct kv_item *it,
			   enum kv_store_cmd cmd, struct kv_item **freeme)
{
	uint64_t cas = old->cas;
	uint32_t flags = old->flags, old_nbytes = old->nbytes;
	rel_time_t exptime = old->exptime;
	size_t nbytes = (size_t)old_nbytes + it->nbytes - 2;
	struct kv_item *merged, *now_old;
	rel_time_t now;

	kv_assert_held(&kv_stripe_of(t, it->hash)->lock, "a tenant's stripe lock");
	kv_stripe_unlock(t, it->hash);
	merged = kv_item_alloc(t, kv_item_key(it), it->nkey, flags, exptime, nbytes);
	kv_stripe_lock(t, it->hash);
	if (!merged)
		return KV_NOT_STORED;   /* memcached: "OOM trying to copy" is NOT_STORED */
	now = kv_now();
	now_old = kv_find_locked(t, kv_item_key(it), it->nkey, it->hash, now, NULL);
	if (!now_old || !kv_same_version(now_old, old, cas) || now_old->nbytes != old_nbytes) {
		*freeme = merged;
		return -EAGAIN;
	}
	if (cmd == KV_CMD_APPEND) {
		memcpy(kv_item_value(merged), kv_item_value(old), old_nbytes - 2);
		memcpy(kv_item_value(merged) + old_nbytes - 2, kv_item_value(it), it->nbytes);
	} else {
		memcpy(kv_item_value(merged), kv_item_value(it), it->nbytes - 2);
		memcpy(kv_item_value(merged) + it->nbytes - 2, kv_item_value(old), old_nbytes);
	}
	merged->exptime = old->exptime;         /* a touch meanwhile keeps the cas */
	merged->cas = kv_next_cas();
	kv_replace_locked(t, old, merged, now);
	*freeme = old;
	return KV_STORED;
}

/**
 * kv_store - store @it as memcached's do_store_item() would
 * @t: @it's tenant
 * @it: a new item from kv_item_alloc(), value filled in; kv_store() owns it
 * @cmd: set, add, replace, append, prepend or cas
 * @req_cas: the cas the client sent (0 for all but cas)
 * @st: the calling thread's statistics
 * Context: no tenant lock held.
 * Return: the reply memcached would give.
 */
enum kv_store_result kv_store(struct kv_tenant *t, struct kv_item *it, enum kv_store_cmd cmd,
			      uint64_t req_cas, struct kv_thread_stats *st)
{
	enum kv_store_result ret = KV_NOT_STORED;
	struct kv_item *old, *freeme = NULL;
	bool linked = false, grow;
	unsigned int power;
	rel_time_t now;

	kv_stripe_lock(t, it->hash);
	kv_stripe_of(t, it->hash)->cmd_set++;
	for (int tries = 0;; tries++) {
		now = kv_now();
		old = kv_find_locked(t, kv_item_key(it), it->nkey, it->hash, now, st);
		if (!old) {
			if (cmd == KV_CMD_CAS) {
				kv_stat_add(&st->cas_misses, 1);
				ret = KV_NOT_FOUND;
			} else if (cmd == KV_CMD_SET || cmd == KV_CMD_ADD) {
				it->cas = kv_next_cas();
				kv_link_locked(t, it, now);
				linked = true;
				ret = KV_STORED;
			}
			break;
		}
		switch (cmd) {
		case KV_CMD_ADD:
			/* add only adds, but the existing item counts as used. */
			kv_bump_locked(t, old, now);
			break;
		case KV_CMD_CAS:
			if (req_cas && req_cas == old->cas) {
				kv_stat_add(&st->cas_hits, 1);
				it->cas = kv_next_cas();
				kv_replace_locked(t, old, it, now);
				linked = true;
				freeme = old;
				ret = KV_STORED;
			} else {
				kv_stat_add(&st->cas_badval, 1);
				ret = KV_EXISTS;
			}
			break;
		case KV_CMD_APPEND:
		case KV_CMD_PREPEND: {
			int r = tries < KV_RETRIES ? kv_merge_locked(t, old, it, cmd, &freeme)
						   : KV_NOT_STORED;

			if (r == -EAGAIN) {
				kv_item_free(freeme);
				freeme = NULL;
				continue;
			}
			ret = (enum kv_store_result)r;
			break;
		}
		case KV_CMD_SET:
		case KV_CMD_REPLACE:
			it->cas = kv_next_cas();
			kv_replace_locked(t, old, it, now);
			linked = true;
			freeme = old;
			ret = KV_STORED;
			break;
		}
		break;
	}
	grow = linked && kv_needs_grow(t);
	power = t->hashpower;
	kv_stripe_unlock(t, it->hash);
	if (freeme)
		kv_item_free(freeme);
	if (!linked)
		kv_item_free(it);
	if (grow)
		kv_tenant_grow(t, power);
	return ret;
}

/* After a refused set: memcached drops the old value rather than keep it stale. */
void kv_unlink_key(struct kv_tenant *t, const char *key, size_t nkey)
{
	uint32_t hash = (uint32_t)kv_hash(key, nkey);
	struct kv_item *it;

	kv_stripe_lock(t, hash);
	it = kv_find_locked(t, key, nkey, hash, kv_now(), NULL);
	if (it)
		kv_unlink_locked(t, it);
	kv_stripe_unlock(t, hash);
	if (it)
		kv_item_free(it);
}

bool kv_delete(struct kv_tenant *t, const char *key, size_t nkey, struct kv_thread_stats *st)
{
	uint32_t hash = (uint32_t)kv_hash(key, nkey);
	struct kv_item *it;

	kv_stripe_lock(t, hash);
	it = kv_find_locked(t, key, nkey, hash, kv_now(), st);
	if (it)
		kv_unlink_locked(t, it);
	kv_stripe_unlock(t, hash);
	if (!it)
		return false;
	kv_item_free(it);
	return true;
}

bool kv_touch(struct kv_tenant *t, const char *key, size_t nkey, rel_time_t exptime,
	      struct kv_thread_stats *st)
{
	uint32_t hash = (uint32_t)kv_hash(key, nkey);
	rel_time_t now = kv_now();
	struct kv_item *it;

	kv_stripe_lock(t, hash);
	it = kv_find_locked(t, key, nkey, hash, now, st);
	if (it) {
		it->exptime = exptime;
		kv_bump_locked(t, it, now);
	}
	kv_stripe_unlock(t, hash);
	return it != NULL;
}

/* Decimal digits of @v at @buf, NUL-terminated (snprintf costs more per reply). */
static int kv_utoa(uint64_t v, char *buf)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

int kv_get_reply(struct kv_tenant *t, const char *key, size_t nkey, bool with_cas, bool touch,
		 rel_time_t exptime, struct kv_buf *out, struct kv_thread_stats *st)
{
	uint32_t hash = (uint32_t)kv_hash(key, nkey);
	struct kv_stripe *s = kv_stripe_of(t, hash);
	rel_time_t now = kv_now();
	struct kv_item *it;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	it = kv_find_locked(t, key, nkey, hash, now, st);
	if (it) {
		/* "VALUE " key " " flags " " bytes [" " cas] "\r\n": 6 + 250 + 11 + 11 + 21 + 2 */
		char *p = kv_buf_reserve(out, 6 + it->nkey + 48 + it->nbytes);

		if (!p) {
			ret = -ENOMEM;
		} else {
			char *start = p;

			if (touch)
				it->exptime = exptime;
			kv_bump_locked(t, it, now);
			memcpy(p, "VALUE ", 6);
			p += 6;
			memcpy(p, it->data, it->nkey);
			p += it->nkey;
			*p++ = ' ';
			p += kv_utoa(it->flags, p);
			*p++ = ' ';
			p += kv_utoa(it->nbytes - 2, p);
			if (with_cas) {
				*p++ = ' ';
				p += kv_utoa(it->cas, p);
			}
			*p++ = '\r';
			*p++ = '\n';
			memcpy(p, kv_item_value(it), it->nbytes);
			p += it->nbytes;
			out->tail += (size_t)(p - start);
			s->get_hits++;
			ret = 1;
		}
	} else {
		s->get_misses++;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/*
 * memcached's safe_strtoull() on an item's value: digits after optional
 * blanks, ending at a blank or the end. The value is copied so that the
 * parse stops at its end whatever it holds (memcached's runs on into the
 * memory after a value of blanks).
 */
static bool kv_value_number(const struct kv_item *it, uint64_t *out)
{
	char small[64], *buf = small, *end;
	const char *v = it->data + it->nkey;
	unsigned long long ull;
	bool ok = false;

	if (it->nbytes >= sizeof(small)) {
		buf = kmalloc(it->nbytes + 1, GFP_KERNEL);
		if (!buf)
			return false;
	}
	memcpy(buf, v, it->nbytes);
	buf[it->nbytes] = '\0';
	errno = 0;
	ull = strtoull(buf, &end, 10);
	if (errno != ERANGE && end != buf &&
	    (*end == ' ' || (*end >= '\t' && *end <= '\r') || *end == '\0') &&
	    !((long long)ull < 0 && strchr(buf, '-'))) {
		*out = ull;
		ok = true;
	}
	if (buf != small)
		kfree(buf);
	return ok;
}

/**
 * kv_delta - incr or decr @key by @delta (memcached's do_add_delta())
 * @buf: receives the new value as text (24 bytes)
 *
 * A result that fits the old value's length is written in place, padded
 * with blanks; a longer one goes to a new item with the same flags and
 * exptime. incr wraps at 2^64, decr stops at 0.
 */
enum kv_delta_result kv_delta(struct kv_tenant *t, const char *key, size_t nkey, bool incr,
			      uint64_t delta, char *buf, struct kv_thread_stats *st)
{
	uint32_t hash = (uint32_t)kv_hash(key, nkey);
	enum kv_delta_result ret = KV_DELTA_NOT_FOUND;
	struct kv_item *it, *new = NULL, *freeme = NULL, *new_for = NULL;
	uint64_t new_for_cas = 0;

	kv_stripe_lock(t, hash);
	for (int tries = 0;; tries++) {
		rel_time_t now = kv_now(), exptime;
		uint64_t value;
		uint32_t flags;
		size_t res;

		it = kv_find_locked(t, key, nkey, hash, now, st);
		if (!it) {
			ret = KV_DELTA_NOT_FOUND;
			break;
		}
		if (it->nbytes <= 2 || !kv_value_number(it, &value)) {
			ret = KV_DELTA_NON_NUMERIC;
			break;
		}
		if (incr)
			value += delta;
		else
			value = delta > value ? 0 : value - delta;
		res = (size_t)kv_utoa(value, buf);
		if (res + 2 <= it->nbytes) {
			/* In place: memcached pads the rest with blanks. */
			memcpy(kv_item_value(it), buf, res);
			memset(kv_item_value(it) + res, ' ', it->nbytes - res - 2);
			it->cas = kv_next_cas();
			kv_bump_locked(t, it, now);
			ret = KV_DELTA_OK;
			break;
		}
		if (new && kv_same_version(it, new_for, new_for_cas) && new->nbytes == res + 2) {
			/* @new was sized for this very version: commit it (a touch may
			 * have changed the exptime meanwhile, not the cas). */
			memcpy(kv_item_value(new), buf, res);
			memcpy(kv_item_value(new) + res, "\r\n", 2);
			new->exptime = it->exptime;
			new->cas = kv_next_cas();
			kv_replace_locked(t, it, new, now);
			freeme = it;
			new = NULL;
			ret = KV_DELTA_OK;
			break;
		}
		if (tries >= KV_RETRIES) {
			ret = KV_DELTA_NO_MEMORY;
			break;
		}
		/* A longer number: allocate unlocked, for this version of the item. */
		new_for = it;
		new_for_cas = it->cas;
		flags = it->flags;
		exptime = it->exptime;
		kv_stripe_unlock(t, hash);
		if (new)
			kv_item_free(new);
		new = kv_item_alloc(t, key, nkey, flags, exptime, res + 2);
		kv_stripe_lock(t, hash);
		if (!new) {
			ret = KV_DELTA_NO_MEMORY;
			break;
		}
	}
	kv_stripe_unlock(t, hash);
	if (new)
		kv_item_free(new);
	if (freeme)
		kv_item_free(freeme);
	if (ret == KV_DELTA_OK)
		kv_stat_add(incr ? &st->incr_hits : &st->decr_hits, 1);
	else if (ret == KV_DELTA_NOT_FOUND)
		kv_stat_add(incr ? &st->incr_misses : &st->decr_misses, 1);
	return ret;
}

/*
 * kv_flush_all - memcached's flush_all: every item stored before now (or
 * before @delay, a protocol exptime) is gone. Immediate flushes also free
 * the memory at once, tenant by tenant (an item whose stripe is busy at
 * that moment stays, invisible, until it is found or evicted).
 */
void kv_flush_all(int32_t delay)
{
	rel_time_t now = kv_now();
	rel_time_t new_oldest = delay > 0 ? kv_realtime(delay) : now;
	rel_time_t oldest_live = new_oldest - 1;

	if (oldest_live <= now)
		atomic_store_explicit(&kv_oldest_cas, kv_next_cas(), memory_order_relaxed);
	atomic_store_explicit(&kv_oldest_live, oldest_live, memory_order_relaxed);
	if (oldest_live <= now) {
		unsigned int n = kv_tenant_count();

		for (unsigned int i = 0; i < n; i++) {
			unsigned long taken;

			kv_free_list(kv_lru_take(kv_tenant_at(i), ~0ul, true, &taken));
		}
	}
}

void kv_tenant_snapshot(struct kv_tenant *t, struct kv_tenant_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	for (unsigned int i = 0; i < KV_STRIPES; i++) {
		struct kv_stripe *s = &t->stripes[i];

		pthread_mutex_lock(&s->lock);
		snap->get_hits += s->get_hits;
		snap->get_misses += s->get_misses;
		snap->cmd_set += s->cmd_set;
		snap->bumps_dropped += s->bumps_dropped;
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_lock(&t->lru_lock);
	snap->nr_items = t->nr_items;
	snap->bytes = t->bytes;
	snap->st = t->st;
	pthread_mutex_unlock(&t->lru_lock);
	snap->buckets = atomic_load_explicit(&t->nr_buckets, memory_order_relaxed);
}

void kv_store_totals(struct kv_store_totals *tot)
{
	unsigned int n = kv_tenant_count();

	memset(tot, 0, sizeof(*tot));
	for (unsigned int i = 0; i < n; i++) {
		struct kv_tenant *t = kv_tenant_at(i);

		pthread_mutex_lock(&t->lru_lock);
		tot->curr_items += t->nr_items;
		tot->bytes += t->bytes;
		tot->total_items += t->st.total_items;
		tot->evictions += t->st.evictions;
		tot->reclaimed += t->st.reclaimed;
		tot->evicted_unfetched += t->st.evicted_unfetched;
		tot->expired_unfetched += t->st.expired_unfetched;
		pthread_mutex_unlock(&t->lru_lock);
		tot->hash_buckets += atomic_load_explicit(&t->nr_buckets, memory_order_relaxed);
		for (unsigned int s = 0; s < KV_STRIPES; s++) {
			pthread_mutex_lock(&t->stripes[s].lock);
			tot->bumps_dropped += t->stripes[s].bumps_dropped;
			pthread_mutex_unlock(&t->stripes[s].lock);
		}
	}
}

/* ---- audit --------------------------------------------------------------------- */

#define KV_PAGE 4096ul

static size_t kv_large_bytes(size_t size)
{
	return (size + KV_PAGE - 1) & ~(KV_PAGE - 1);
}

static int kv_audit_fail(struct kv_buf *out, struct kv_tenant *t, const char *what)
{
	kv_buf_printf(out, "STAT %s:audit_error %s\r\n", t->name, what);
	return 1;
}

/* memory.stat's kmalloc_large line of @t, or -1. */
static long long kv_kmalloc_large(struct kv_tenant *t)
{
	ssize_t need = mem_cgroup_read(t->memcg, "memory.stat", NULL, 0);
	char *buf = need >= 0 ? kmalloc((size_t)need + 4096, GFP_KERNEL) : NULL;
	long long v = -1;
	char *p;

	if (buf && mem_cgroup_read(t->memcg, "memory.stat", buf, (size_t)need + 4096) >= 0 &&
	    (p = strstr(buf, "\nkmalloc_large ")))
		v = strtoll(p + 15, NULL, 10);
	kfree(buf);
	return v;
}

static int kv_audit_tenant(struct kv_tenant *t, struct kv_buf *out)
{
	unsigned long per_class[KV_MAX_CLASSES] = { 0 }, chained = 0, on_lru = 0;
	unsigned int id = mem_cgroup_id(t->memcg);
	uint64_t bytes = 0, large = 0;
	struct kmem_cache *table_cache;
	int problems = 0;
	char what[192];
	long long kl;

	kv_lock_all(t);
	for (unsigned int b = 0; b < (1u << t->hashpower); b++) {
		for (struct kv_item *it = t->table[b]; it; it = it->h_next) {
			if ((it->hash & ((1u << t->hashpower) - 1)) != b || !(it->iflags & KV_ITEM_LINKED))
				problems += kv_audit_fail(out, t, "item_on_wrong_chain");
			/* Class items are counted against the child caches below. */
			if ((uslab_obj_cache(it) == NULL) != (it->cls == KV_CLS_LARGE))
				problems += kv_audit_fail(out, t, "item_in_the_wrong_place");
			if (it->cls == KV_CLS_LARGE)
				large += kv_large_bytes(kv_item_total(it));
			else
				per_class[it->cls]++;
			if (memcmp(kv_item_value(it) + it->nbytes - 2, "\r\n", 2))
				problems += kv_audit_fail(out, t, "value_without_crlf");
			chained++;
			bytes += kv_item_total(it);
		}
	}
	for (struct kv_item *it = t->lru_head; it; it = it->next) {
		if (it->next && it->next->prev != it)
			problems += kv_audit_fail(out, t, "lru_links_broken");
		on_lru++;
		if (on_lru > chained)
			break;
	}
	if (chained != t->nr_items || on_lru != t->nr_items || bytes != t->bytes) {
		snprintf(what, sizeof(what), "counts_chained=%lu_lru=%lu_items=%lu_bytes=%llu/%llu",
			 chained, on_lru, t->nr_items, (unsigned long long)bytes,
			 (unsigned long long)t->bytes);
		problems += kv_audit_fail(out, t, what);
	}
	table_cache = uslab_obj_cache(t->table);
	if (!table_cache)
		large += kv_large_bytes(sizeof(*t->table) << t->hashpower);
	kv_unlock_all(t);

	/* Every object of the tenant's child caches is an item of the table, and back. */
	for (unsigned int c = 0; c < kv_nr_classes; c++) {
		char name[KV_TENANT_NAME_MAX + 64];
		struct kmem_cache *child;
		long objs;

		snprintf(name, sizeof(name), "%s(%u:%s)", uslab_cache_name(kv_item_caches[c]), id,
			 t->name);
		child = uslab_cache_find(name);
		objs = child ? uslab_cache_leaks(child, NULL) : 0;
		if (objs != (long)per_class[c]) {
			snprintf(what, sizeof(what), "%s_objects=%ld_items=%lu",
				 uslab_cache_name(kv_item_caches[c]), objs, per_class[c]);
			problems += kv_audit_fail(out, t, what);
		}
	}
	if (table_cache && uslab_cache_leaks(table_cache, NULL) != 1)
		problems += kv_audit_fail(out, t, "table_cache_holds_other_objects");
	kl = kv_kmalloc_large(t);
	if (kl != (long long)large) {
		snprintf(what, sizeof(what), "kmalloc_large=%lld_expected=%llu", kl,
			 (unsigned long long)large);
		problems += kv_audit_fail(out, t, what);
	}
	kv_buf_printf(out, "STAT %s:audit %s\r\n", t->name, problems ? "failed" : "ok");
	return problems;
}

int kv_audit(struct kv_buf *out)
{
	unsigned int n = kv_tenant_count();
	int problems = 0;

	for (unsigned int i = 0; i < n; i++)
		problems += kv_audit_tenant(kv_tenant_at(i), out);
	return problems;
}

/* ---- start and stop ---------------------------------------------------------- */

int kv_store_init(void)
{
	int err;

	kv_clock_init();
	err = kv_classes_init();
	if (err)
		return err;
	kv_parent = mem_cgroup_create(NULL, "kv");
	if (!kv_parent)
		return -errno;
	if (kv_settings.parent_limit != MEMCG_LIMIT_MAX) {
		err = mem_cgroup_set_max(kv_parent, (unsigned long)kv_settings.parent_limit);
		if (err)
			return err;
	}
	if (!kv_tenant_get("", 0, true, kv_settings.default_limit))
		return -errno;
	for (unsigned int i = 0; i < kv_settings.nr_presets; i++) {
		const struct kv_preset *p = &kv_settings.presets[i];

		err = kv_tenant_preset(p->prefix, p->limit);
		if (err) {
			fprintf(stderr, "tenant-kv-server: -l %s: %s\n", p->prefix, strerror(-err));
			return err;
		}
	}
	return 0;
}

static void kv_print_memory_stat(FILE *f, const char *path, struct mem_cgroup *memcg)
{
	ssize_t need = mem_cgroup_read(memcg, "memory.stat", NULL, 0);
	char *buf = need >= 0 ? kmalloc((size_t)need + 4096, GFP_KERNEL) : NULL;

	if (buf && mem_cgroup_read(memcg, "memory.stat", buf, (size_t)need + 4096) >= 0) {
		fprintf(f, "-- %s memory.stat --\n%s", path, buf);
		if (buf[0] && buf[strlen(buf) - 1] != '\n')
			fputc('\n', f);
	} else {
		fprintf(f, "-- %s memory.stat unreadable --\n", path);
	}
	kfree(buf);
}

/* The slabinfo rows of the item caches and their tenant children. */
static void kv_print_slabinfo(FILE *f)
{
	char *buf = NULL, *save = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	uslab_slabinfo(m);
	fclose(m);
	fprintf(f, "-- slabinfo (kv caches) --\n");
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (line[0] == '#' || !strncmp(line, "kv-item-", 8))
			fprintf(f, "%s\n", line);
	free(buf);
}

/*
 * kv_store_shutdown - free every item and table, print each tenant's
 * memory.stat, destroy the tenants, print the kv caches' slabinfo rows and
 * destroy the caches
 * Context: every worker has stopped.
 * Return: 0 when nothing was left behind (every cache destroyed), else 1.
 */
int kv_store_shutdown(FILE *report)
{
	unsigned int n = kv_tenant_count();
	unsigned long freed = 0;
	int ret = 0, err;

	for (unsigned int i = 0; i < n; i++) {
		struct kv_tenant *t = kv_tenant_at(i);
		struct kv_item *it, *next;

		/* No worker is left: the lists are ours without their locks. */
		for (it = t->lru_head; it; it = next) {
			next = it->next;
			kv_item_free(it);
			freed++;
		}
		t->lru_head = t->lru_tail = NULL;
		kvfree(t->table);
		t->table = NULL;
		t->nr_items = 0;
		t->bytes = 0;
	}
	fprintf(report, "shutdown: %u tenants, %lu items freed\n", n, freed);
	for (unsigned int i = 0; i < n; i++) {
		struct kv_tenant *t = kv_tenant_at(i);
		char path[KV_TENANT_NAME_MAX + 8];

		snprintf(path, sizeof(path), "/kv/%s", t->name);
		kv_print_memory_stat(report, path, t->memcg);
		err = mem_cgroup_destroy(t->memcg);
		if (err) {
			fprintf(stderr, "tenant-kv-server: destroy %s: %s\n", path, strerror(-err));
			ret = 1;
		}
		for (unsigned int s = 0; s < KV_STRIPES; s++)
			pthread_mutex_destroy(&t->stripes[s].lock);
		pthread_mutex_destroy(&t->lru_lock);
		kfree(t);
	}
	atomic_store(&kv_nr_tenants, 0);
	kv_print_memory_stat(report, "/kv", kv_parent);
	err = mem_cgroup_destroy(kv_parent);
	if (err) {
		fprintf(stderr, "tenant-kv-server: destroy /kv: %s\n", strerror(-err));
		ret = 1;
	}
	kv_print_slabinfo(report);
	for (unsigned int c = 0; c < kv_nr_classes; c++) {
		err = uslab_cache_destroy(kv_item_caches[c]);
		if (err) {
			fprintf(stderr, "tenant-kv-server: %s: %s\n",
				uslab_cache_name(kv_item_caches[c]), strerror(-err));
			ret = 1;
		}
	}
	return ret;
}
