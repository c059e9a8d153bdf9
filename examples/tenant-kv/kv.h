/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * examples/tenant-kv/kv.h - what the files of tenant-kv-server share: the
 * settings, the clock, items and tenants (kv-store.c), per-thread statistics,
 * connections and their buffers (kv-net.c), and the memcached text protocol
 * (kv-proto.c). The server is a memcached 1.6 text-protocol server whose
 * items live in uslab memory charged to one tenant (memory cgroup) per key
 * prefix; tenant-kv-server.c starts it.
 *
 * Locks (outermost first):
 *   kv_tenant_create_lock  tenant creation (kv-store.c); lookups take no lock
 *   kv_stripe.lock         one stripe of a tenant's chains and their items
 *                          (several: in index order; only one tenant's)
 *   kv_tenant.lru_lock     that tenant's LRU list and item counters
 *   kv_worker.lock         the queue of connections handed to a worker
 * No tenant lock is held across an accounted allocation, so that reclaim
 * (today kv_evict(), later a shrinker called from inside the allocation)
 * may take them; kv_evict() takes a stripe under lru_lock only by trylock.
 * uslab's own locks may be taken under the tenant locks (frees, uncharged
 * buffer growth), never the other way round.
 */
#ifndef TENANT_KV_H
#define TENANT_KV_H

#include <uslab.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_KEY_MAX          250             /* memcached's KEY_MAX_LENGTH */
#define KV_MC_VERSION       "1.6.18"        /* the protocol version we follow */
#define KV_TENANT_NAME_MAX  200             /* escaped tenant (cgroup) name */
#define KV_MAX_TENANTS      4000            /* uslab allows 4095 online tenants */
#define KV_DEFAULT_TENANT   "default"

/* ---- settings (tenant-kv-server.c) --------------------------------------- */

#define KV_MAX_PRESETS 64

/* -l PREFIX=SIZE: a tenant created at start with its own limit. */
struct kv_preset {
	const char *prefix;
	unsigned long long limit;
};

struct kv_settings {
	unsigned long long default_limit; /* -m: memory.max of new tenants, bytes or MEMCG_LIMIT_MAX */
	unsigned long long parent_limit;  /* -g: memory.max of /kv, or MEMCG_LIMIT_MAX */
	size_t item_size_max;       /* -I: largest item, counted as memcached counts */
	unsigned int nr_threads;    /* -t: worker threads */
	unsigned int max_conns;     /* -c: connections at once */
	unsigned int max_tenants;   /* -T: tenants at most */
	unsigned int backlog;       /* -b: listen backlog */
	unsigned short port;        /* -p: TCP port (0: any free one) */
	struct in_addr addr;        /* -l ADDR: listen address */
	char separator;             /* -P: tenant prefix separator */
	bool evict;                 /* false with -e/-M: SERVER_ERROR instead */
	bool shutdown_enabled;      /* -A: the shutdown command works */
	atomic_uint verbose;        /* -v, "verbosity" */
	struct kv_preset presets[KV_MAX_PRESETS];
	unsigned int nr_presets;
};

extern struct kv_settings kv_settings;

/* ---- clock (kv-store.c) ----------------------------------------------------
 * memcached's: seconds since a start point 62 s before the server started,
 * so that 0 can mean "never" and flush times are never 0.
 */
typedef uint32_t rel_time_t;

#define KV_REALTIME_MAXDELTA (60 * 60 * 24 * 30) /* larger exptimes are absolute */

void kv_clock_init(void);
rel_time_t kv_now(void);
long kv_process_started(void);              /* wall-clock time of rel_time_t 0 */
rel_time_t kv_realtime(int64_t exptime);    /* protocol exptime -> rel_time_t */

/* ---- per-thread statistics --------------------------------------------------
 * Each worker owns one; only it writes (kv_stat_add), anyone may read.
 */
struct kv_thread_stats {
	atomic_ulong get_cmds, get_hits, get_misses, get_expired, get_flushed;
	atomic_ulong set_cmds, flush_cmds, touch_cmds, touch_hits, touch_misses;
	atomic_ulong delete_hits, delete_misses, incr_hits, incr_misses, decr_hits, decr_misses;
	atomic_ulong cas_hits, cas_misses, cas_badval, store_too_large, store_no_memory;
	atomic_ulong bytes_read, bytes_written, conn_yields;
};

static inline void kv_stat_add(atomic_ulong *counter, unsigned long n)
{
	/* One writer: a relaxed load and store, no read-modify-write. */
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline unsigned long kv_stat_read(const atomic_ulong *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

/* ---- items and tenants (kv-store.c) ------------------------------------- */

#define KV_ITEM_LINKED  0x1     /* in its tenant's table and LRU */
#define KV_ITEM_FETCHED 0x2     /* read at least once */
#define KV_ITEM_ACTIVE  0x4     /* moved to the LRU's head by a read since stored */
#define KV_CLS_LARGE    0xff    /* item is a kmalloc() block, not a class object */

/*
 * One key and its value, in one block of uslab memory charged to the tenant:
 * an object of a kv-item-N cache, or a page-backed kmalloc() block for the
 * largest items. data[] holds the key (nkey bytes), then the value (nbytes,
 * the last two "\r\n", as memcached keeps them).
 */
struct kv_item {
	struct kv_item *h_next;         /* hash chain; tenant lock */
	struct kv_item *prev, *next;    /* LRU, newest at head; tenant lock */
	uint64_t cas;                   /* unique per stored version; tenant lock */
	rel_time_t time;                /* last store or bump; tenant lock */
	rel_time_t exptime;             /* 0: never; tenant lock */
	uint32_t flags;                 /* client flags */
	uint32_t nbytes;                /* value bytes + 2 */
	uint32_t hash;
	uint8_t nkey;
	uint8_t cls;                    /* kv_item_caches index or KV_CLS_LARGE */
	uint8_t iflags;                 /* KV_ITEM_*; tenant lock */
	char data[];
};

static inline char *kv_item_key(struct kv_item *it)
{
	return it->data;
}

static inline char *kv_item_value(struct kv_item *it)
{
	return it->data + it->nkey;
}

/* Per-tenant counters under the tenant's lru_lock. */
struct kv_tenant_stats {
	unsigned long total_items;      /* items ever linked */
	unsigned long evictions;        /* live items kv_evict() freed */
	unsigned long reclaimed;        /* expired or flushed items freed */
	unsigned long evicted_unfetched, expired_unfetched;
};

/*
 * One of a tenant's lock stripes: a key's stripe is its hash modulo
 * KV_STRIPES, whatever the table size, so concurrent requests for different
 * keys of one tenant seldom wait for each other (memcached stripes its item
 * locks the same way).
 */
#define KV_STRIPES 32 /* kv_lock_all() holds them all: ThreadSanitizer follows at most 64 locks */
struct kv_stripe {
	pthread_mutex_t lock;           /* the stripe's chains and its items' fields */
	unsigned long get_hits, get_misses, cmd_set; /* lock */
	unsigned long bumps_dropped;    /* lock: LRU moves skipped, lru_lock busy */
} __attribute__((aligned(64)));

/*
 * A tenant: the keys sharing one prefix, a memory cgroup /kv/NAME they are
 * charged to, and its own table and LRU. Created on the first store, freed
 * at shutdown only (after every worker has stopped).
 *
 * Locks: a stripe lock, then lru_lock; several stripes in index order. The
 * table pointer and size change only with every stripe held, so one stripe
 * is enough to read them.
 * Invariants (all stripes and lru_lock held): nr_items == items on the
 * chains == items on the LRU; bytes == sum of kv_item_total() of them.
 */
struct kv_tenant {
	struct kv_stripe stripes[KV_STRIPES];
	struct kv_item **table;         /* 1 << hashpower chains, charged to the tenant */
	unsigned int hashpower;         /* >= log2(KV_STRIPES) */
	atomic_ulong nr_buckets;        /* 1 << hashpower, for readers holding no stripe */

	pthread_mutex_t lru_lock;       /* the LRU links, nr_items, bytes, st */
	struct kv_item *lru_head, *lru_tail;
	unsigned long nr_items;
	uint64_t bytes;
	struct kv_tenant_stats st;

	atomic_ulong store_no_memory;   /* stores refused at the limit */
	atomic_ulong evict_calls;       /* kv_evict() calls */
	struct mem_cgroup *memcg;       /* /kv/NAME; alive until shutdown */
	uint64_t prefix_hash;
	unsigned int nprefix;
	char prefix[KV_KEY_MAX];        /* raw key prefix; "" for the default tenant */
	char name[KV_TENANT_NAME_MAX + 1]; /* cgroup name: the prefix, escaped */
};

/* A consistent copy of a tenant's counters, for "stats tenants". */
struct kv_tenant_snapshot {
	unsigned long nr_items, buckets, get_hits, get_misses, cmd_set, bumps_dropped;
	uint64_t bytes;
	struct kv_tenant_stats st;
};
void kv_tenant_snapshot(struct kv_tenant *t, struct kv_tenant_snapshot *snap);

enum kv_store_cmd { KV_CMD_SET, KV_CMD_ADD, KV_CMD_REPLACE, KV_CMD_APPEND, KV_CMD_PREPEND,
		    KV_CMD_CAS };
enum kv_store_result { KV_STORED, KV_NOT_STORED, KV_EXISTS, KV_NOT_FOUND, KV_NO_MEMORY };
enum kv_delta_result { KV_DELTA_OK, KV_DELTA_NON_NUMERIC, KV_DELTA_NO_MEMORY,
		       KV_DELTA_NOT_FOUND };

int kv_store_init(void);
int kv_store_shutdown(FILE *report);
struct kv_tenant *kv_tenant_of(const char *key, size_t nkey, bool create);
unsigned int kv_tenant_count(void);
struct kv_tenant *kv_tenant_at(unsigned int i);
struct mem_cgroup *kv_parent_memcg(void);
size_t kv_item_total(const struct kv_item *it);
bool kv_item_size_ok(size_t nkey, uint32_t flags, size_t nbytes);
struct kv_item *kv_item_alloc(struct kv_tenant *t, const char *key, size_t nkey,
			      uint32_t flags, rel_time_t exptime, size_t nbytes);
void kv_item_free(struct kv_item *it);
unsigned long kv_evict(struct kv_tenant *t, unsigned long nr_to_scan);
enum kv_store_result kv_store(struct kv_tenant *t, struct kv_item *it, enum kv_store_cmd cmd,
			      uint64_t req_cas, struct kv_thread_stats *st);
void kv_unlink_key(struct kv_tenant *t, const char *key, size_t nkey);
bool kv_delete(struct kv_tenant *t, const char *key, size_t nkey, struct kv_thread_stats *st);
bool kv_touch(struct kv_tenant *t, const char *key, size_t nkey, rel_time_t exptime,
	      struct kv_thread_stats *st);
enum kv_delta_result kv_delta(struct kv_tenant *t, const char *key, size_t nkey, bool incr,
			      uint64_t delta, char *buf, struct kv_thread_stats *st);
void kv_flush_all(int32_t delay);

struct kv_buf;
/*
 * kv_get_reply - append "VALUE key flags bytes[ cas]\r\n" and the data of
 * @key to @out if the key is live (touching it first when @touch)
 * Return: 1 hit, 0 miss, -ENOMEM when @out could not grow.
 */
int kv_get_reply(struct kv_tenant *t, const char *key, size_t nkey, bool with_cas, bool touch,
		 rel_time_t exptime, struct kv_buf *out, struct kv_thread_stats *st);

/* Server-wide sums, for "stats". */
struct kv_store_totals {
	unsigned long curr_items, total_items, evictions, reclaimed;
	unsigned long evicted_unfetched, expired_unfetched, hash_buckets, bumps_dropped;
	uint64_t bytes;
};
void kv_store_totals(struct kv_store_totals *tot);
/*
 * kv_audit - check every tenant's table, LRU and counters, and that the
 * tenant holds in uslab exactly the objects its items and table need
 * (uslab_cache_leaks() of its child caches, kmalloc_large of memory.stat).
 * Context: no store may run concurrently for the counts to be exact.
 * Return: 0, or the number of problems, each appended to @out as a STAT line.
 */
int kv_audit(struct kv_buf *out);

/* ---- connections and buffers (kv-net.c) --------------------------------- */

#define KV_OUT_HIGH (4u << 20)  /* replies queued before a connection's reads pause */

int kv_net_start(void);
void kv_net_run(void);
void kv_net_stop(void);

/* A growable byte buffer of uncharged uslab memory: data is buf[head..tail). */
struct kv_buf {
	char *buf;
	size_t size, head, tail;
};

static inline size_t kv_buf_len(const struct kv_buf *b)
{
	return b->tail - b->head;
}

char *kv_buf_reserve(struct kv_buf *b, size_t n);     /* NULL: no memory */
bool kv_buf_add(struct kv_buf *b, const void *p, size_t n);
bool kv_buf_printf(struct kv_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kv_buf_free(struct kv_buf *b);

enum kv_conn_state {
	KV_CONN_CMD,            /* reading command lines */
	KV_CONN_NREAD,          /* reading a data block into c->item */
	KV_CONN_SWALLOW,        /* discarding c->sbytes bytes of a refused data block */
	KV_CONN_DISCARD_LINE,   /* discarding the rest of an overlong line */
	KV_CONN_CLOSING,        /* send what is queued, then close */
};

struct kv_worker;

struct kv_conn {
	int fd;
	struct kv_worker *w;
	struct kv_conn *prev, *next;    /* the worker's connections; worker only */
	enum kv_conn_state state;
	uint32_t events;                /* epoll interest */
	bool noreply;                   /* suppress the current command's reply */
	bool eof;                       /* the peer shut its side */
	bool negotiated;                /* the first byte was seen (not binary) */
	char *rbuf;                     /* input: rbuf[rpos..rlen) unread */
	size_t rsize, rpos, rlen;
	struct kv_buf out;              /* replies not yet sent */
	/* The storage command whose data block is being read. */
	struct kv_item *item;
	struct kv_tenant *item_tenant;
	enum kv_store_cmd cmd;
	uint64_t req_cas;
	size_t rlbytes;                 /* data bytes still to read into item */
	size_t sbytes;                  /* data bytes still to swallow */
};

/* ---- protocol (kv-proto.c) ---------------------------------------------- */

/*
 * kv_proto_process - run the complete commands in @c's input
 * Return: false when the connection must stop (closing, or output backlog).
 */
bool kv_proto_process(struct kv_conn *c);
void kv_proto_conn_release(struct kv_conn *c);

/* What kv-proto.c asks of kv-net.c. */
struct kv_thread_stats *kv_conn_stats(struct kv_conn *c);
void kv_server_stats(struct kv_buf *out);
void kv_stats_reset(void);
void kv_request_shutdown(void);

#endif /* TENANT_KV_H */
