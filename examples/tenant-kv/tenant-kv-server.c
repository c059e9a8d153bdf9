// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * examples/tenant-kv/tenant-kv-server.c - a multi-tenant key-value server on
 * uslab: every client namespace is a tenant (a memory cgroup under the
 * parent tenant "kv") with its own memory.max, and every key and value lives
 * in uslab memory charged to that tenant. A connection selects its namespace
 * with "NS name"; from then on its thread runs with that tenant active
 * (set_active_memcg()), so the items (kv-item, a SLAB_ACCOUNT cache) and the
 * key and value bytes (kmalloc(GFP_KERNEL_ACCOUNT)) come from the tenant's
 * child caches and are charged to it. A tenant at its limit gets
 * "ERR over memory limit" (the allocation returned NULL with ENOMEM); the
 * other tenants do not notice. DEL frees the memory and makes room again.
 *
 *   tenant-kv-server [-p PORT] [-m SIZE] [-M SIZE] [-l NS=SIZE]... [-c CONNS]
 *
 * -p: TCP port on 127.0.0.1 (0, the default: any free port); the server
 *     prints "listening on 127.0.0.1:PORT" on stdout once it accepts.
 * -m: memory.max of each namespace created later (default 64K; "max": none)
 * -M: memory.max of the parent tenant "kv", shared by all namespaces
 * -l: create namespace NS at start with memory.max SIZE (repeatable)
 * -c: connections served at once, 1..64 (default 64); more are refused
 *
 * Protocol: one command per line, one response line (STATS: several, then
 * END). Keys are 1..250 bytes without blanks; a value is the rest of the line.
 *   NS name          select (and on first use create) a namespace  -> OK
 *   SET key value    store                     -> OK | ERR over memory limit
 *   GET key                                    -> VALUE value | NOT_FOUND
 *   DEL key                                    -> OK | NOT_FOUND
 *   LIMIT ns size    memory.max of ns (created if needed) -> OK | ERR reason
 *   STATS            "STAT /kv/NS memory.current=B memory.max=B|max items=N
 *                    oom=N" per namespace, "STAT /kv ..." for the parent, END
 *   QUIT             -> OK, then the server closes the connection
 *   SHUTDOWN         -> OK, then the server frees everything and exits
 * Errors: "ERR <reason>"; SET, GET and DEL need a namespace first; keys
 * longer than 250 bytes get "ERR key too long", lines longer than 8191 bytes
 * "ERR line too long".
 *
 * On SIGINT, SIGTERM or SHUTDOWN the server stops accepting, closes every
 * connection and joins its thread, frees every item, prints each tenant's
 * memory.stat, destroys the tenants, prints the slabinfo rows of the kv
 * caches, and destroys the item cache. It exits 0 when nothing was left
 * behind (the item cache had no object left).
 *
 * Locks (outermost first; none is held while calling into uslab's tenant
 * management except kv_ns_table_lock, which uslab never sees):
 *   kv_ns_table_lock  the namespace table (kv_ns_table, kv_nr_ns) and
 *                     namespace creation; namespaces are only freed after
 *                     every connection thread has been joined
 *   kv_ns.lock        one namespace's hash table and item count
 *   kv_conn_lock      the connection slots (independent: never nested)
 */
#define _GNU_SOURCE /* accept4, pipe2 */
#include <uslab.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define KV_MAX_CONNS    64     /* connection threads at most */
#define KV_MAX_NS       256    /* namespaces at most */
#define KV_NS_NAME_MAX  63     /* namespace name length */
#define KV_KEY_MAX      250    /* key length, as memcached */
#define KV_LINE_MAX     8192   /* request line, newline included */
#define KV_BUCKETS      1024   /* hash chains per namespace (power of two) */
#define KV_MAX_LIMITS   32     /* -l options */

/*
 * One stored entry, from the kv-item cache (charged to the namespace's
 * tenant). key and value are kmalloc(GFP_KERNEL_ACCOUNT) blocks, each with a
 * NUL after its klen or vlen bytes.
 */
struct kv_item {
	struct kv_item *next;   /* hash chain; kv_ns.lock */
	uint32_t hash;
	uint32_t klen, vlen;
	char *key;
	char *value;
};

/* A namespace: a tenant and its table. Allocated uncharged (server overhead). */
struct kv_ns {
	char name[KV_NS_NAME_MAX + 1];
	struct mem_cgroup *memcg;       /* the tenant /kv/<name>; alive until shutdown */
	pthread_mutex_t lock;           /* buckets, nr_items */
	unsigned long nr_items;         /* == number of items on all chains */
	struct kv_item *buckets[KV_BUCKETS];
};

/* One client connection, owned by its thread. */
struct kv_conn {
	int fd;
	struct kv_ns *ns;               /* selected namespace, or NULL */
	size_t len;                     /* bytes in buf */
	bool discarding;                /* skipping the rest of an overlong line */
	char buf[KV_LINE_MAX];
};

/* A connection slot: the thread serving it, and whether it has finished. */
struct kv_conn_slot {
	bool used;                      /* kv_conn_lock */
	atomic_bool done;               /* set by the thread as its last act */
	int fd;                         /* kv_conn_lock; -1 once closed */
	pthread_t thread;
};

static struct kmem_cache *kv_item_cache;
static struct mem_cgroup *kv_parent;            /* tenant "kv" */
static const char *kv_default_limit = "64K";

static pthread_mutex_t kv_ns_table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kv_ns *kv_ns_table[KV_MAX_NS];
static unsigned int kv_nr_ns;

static pthread_mutex_t kv_conn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kv_conn_slot kv_conns[KV_MAX_CONNS];
static unsigned int kv_max_conns = KV_MAX_CONNS;

/* Written (one byte) to wake the accept loop: a signal or SHUTDOWN. */
static int kv_wake_pipe[2] = { -1, -1 };
static atomic_bool kv_stopping;

/* ---- namespaces ----------------------------------------------------------- */

/* FNV-1a: short keys, no attacker model in an example. */
static uint32_t kv_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h;
}

static bool kv_ns_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > KV_NS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

static struct kv_ns *kv_ns_find_locked(const char *name)
{
	for (unsigned int i = 0; i < kv_nr_ns; i++)
		if (!strcmp(kv_ns_table[i]->name, name))
			return kv_ns_table[i];
	return NULL;
}

/*
 * kv_ns_get - the namespace @name, created with its tenant on first use
 * @name: valid namespace name
 * @limit: memory.max for a namespace created now, or NULL for the default
 * @err: receives a reason when NULL is returned
 */
static struct kv_ns *kv_ns_get(const char *name, const char *limit, const char **err)
{
	struct kv_ns *ns;
	int ret;

	pthread_mutex_lock(&kv_ns_table_lock);
	ns = kv_ns_find_locked(name);
	if (ns)
		goto out;
	if (kv_nr_ns == KV_MAX_NS) {
		*err = "too many namespaces";
		goto out;
	}
	/* Server bookkeeping, not the tenant's: plain GFP_KERNEL, uncharged. */
	ns = kzalloc(sizeof(*ns), GFP_KERNEL);
	if (!ns) {
		*err = "out of memory";
		goto out;
	}
	snprintf(ns->name, sizeof(ns->name), "%s", name);
	ns->memcg = mem_cgroup_create(kv_parent, name);
	if (!ns->memcg) {
		*err = errno == ENOSPC ? "too many tenants" : "cannot create tenant";
		goto fail;
	}
	ret = mem_cgroup_write(ns->memcg, "memory.max", limit ? limit : kv_default_limit);
	if (ret) {
		*err = "bad limit";
		mem_cgroup_destroy(ns->memcg);
		goto fail;
	}
	pthread_mutex_init(&ns->lock, NULL);
	kv_ns_table[kv_nr_ns++] = ns;
out:
	pthread_mutex_unlock(&kv_ns_table_lock);
	return ns;
fail:
	kfree(ns);
	pthread_mutex_unlock(&kv_ns_table_lock);
	return NULL;
}

static struct kv_item **kv_lookup_locked(struct kv_ns *ns, const char *key, size_t klen,
					 uint32_t hash)
{
	struct kv_item **pp = &ns->buckets[hash & (KV_BUCKETS - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == hash && (*pp)->klen == klen && !memcmp((*pp)->key, key, klen))
			return pp;
	return pp;
}

static void kv_item_free(struct kv_item *it)
{
	kfree(it->key);
	kfree(it->value);
	kmem_cache_free(kv_item_cache, it);
}

/* A NUL-terminated kmalloc'd copy, charged to the active tenant. */
static char *kv_dup_account(const char *s, size_t len)
{
	char *p = kmalloc(len + 1, GFP_KERNEL_ACCOUNT);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/*
 * kv_set - store @key = @value in @ns, charged to the calling thread's active
 * tenant (the connection selected @ns, so that is @ns's tenant)
 *
 * The allocations are made under ns->lock so that replacing a value only
 * needs room for the new value; a failure leaves the old entry intact.
 * Return: 0, or -ENOMEM when the tenant's limit (or memory) ran out.
 */
static int kv_set(struct kv_ns *ns, const char *key, size_t klen, const char *value,
		  size_t vlen)
{
	uint32_t hash = kv_hash(key, klen);
	struct kv_item **pp, *it;
	char *v;
	int ret = 0;

	pthread_mutex_lock(&ns->lock);
	pp = kv_lookup_locked(ns, key, klen, hash);
	v = kv_dup_account(value, vlen);
	if (!v) {
		ret = -ENOMEM;
	} else if (*pp) {
		kfree((*pp)->value);
		(*pp)->value = v;
		(*pp)->vlen = (uint32_t)vlen;
	} else {
		it = kmem_cache_alloc(kv_item_cache, GFP_KERNEL);
		if (it)
			it->key = kv_dup_account(key, klen);
		if (!it || !it->key) {
			if (it)
				kmem_cache_free(kv_item_cache, it);
			kfree(v);
			ret = -ENOMEM;
		} else {
			it->next = NULL;
			it->hash = hash;
			it->klen = (uint32_t)klen;
			it->vlen = (uint32_t)vlen;
			it->value = v;
			*pp = it;
			ns->nr_items++;
		}
	}
	pthread_mutex_unlock(&ns->lock);
	return ret;
}

/* Return: 0 after freeing the entry, -ENOENT when there is none. */
static int kv_del(struct kv_ns *ns, const char *key, size_t klen)
{
	uint32_t hash = kv_hash(key, klen);
	struct kv_item **pp, *it;

	pthread_mutex_lock(&ns->lock);
	pp = kv_lookup_locked(ns, key, klen, hash);
	it = *pp;
	if (it) {
		*pp = it->next;
		ns->nr_items--;
	}
	pthread_mutex_unlock(&ns->lock);
	if (!it)
		return -ENOENT;
	kv_item_free(it);
	return 0;
}

/* Free every item of @ns. Context: no connection thread left. Return: items freed. */
static unsigned long kv_ns_clear(struct kv_ns *ns)
{
	unsigned long n = 0;

	for (unsigned int b = 0; b < KV_BUCKETS; b++) {
		while (ns->buckets[b]) {
			struct kv_item *it = ns->buckets[b];

			ns->buckets[b] = it->next;
			kv_item_free(it);
			n++;
		}
	}
	ns->nr_items = 0;
	return n;
}

/* ---- connections ------------------------------------------------------------ */

static void kv_send(struct kv_conn *c, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;         /* the peer went away; the next read says so */
		s += n;
		len -= (size_t)n;
	}
}

static void kv_reply(struct kv_conn *c, const char *line)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	kv_send(c, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* A tenant file's first line, without its newline; "?" when unreadable. */
static void kv_read_file(struct mem_cgroup *memcg, const char *file, char *buf, size_t len)
{
	ssize_t n = mem_cgroup_read(memcg, file, buf, len);

	if (n < 0)
		snprintf(buf, len, "?");
	buf[strcspn(buf, "\n")] = '\0';
}

static void kv_stat_line(struct kv_conn *c, const char *path, struct mem_cgroup *memcg,
			 unsigned long items)
{
	char cur[32], max[32], line[KV_NS_NAME_MAX + 160];
	int n;

	kv_read_file(memcg, "memory.current", cur, sizeof(cur));
	kv_read_file(memcg, "memory.max", max, sizeof(max));
	n = snprintf(line, sizeof(line), "STAT %s memory.current=%s memory.max=%s items=%lu oom=%lu\n",
		     path, cur, max, items, mem_cgroup_events(memcg, MEMCG_OOM, false));
	kv_send(c, line, (size_t)n);
}

static void kv_cmd_stats(struct kv_conn *c)
{
	struct kv_ns *snap[KV_MAX_NS];
	unsigned long total = 0;
	unsigned int n;
	char path[KV_NS_NAME_MAX + 8];

	/* Namespaces outlive every connection: a snapshot of pointers is enough. */
	pthread_mutex_lock(&kv_ns_table_lock);
	n = kv_nr_ns;
	memcpy(snap, kv_ns_table, n * sizeof(snap[0]));
	pthread_mutex_unlock(&kv_ns_table_lock);
	for (unsigned int i = 0; i < n; i++) {
		unsigned long items;

		pthread_mutex_lock(&snap[i]->lock);
		items = snap[i]->nr_items;
		pthread_mutex_unlock(&snap[i]->lock);
		total += items;
		snprintf(path, sizeof(path), "/kv/%s", snap[i]->name);
		kv_stat_line(c, path, snap[i]->memcg, items);
	}
	kv_stat_line(c, "/kv", kv_parent, total);
	kv_reply(c, "END");
}

static void kv_cmd_limit(struct kv_conn *c, char *args)
{
	char *name = strtok(args, " "), *size = strtok(NULL, " "), *extra = strtok(NULL, " ");
	const char *err = "bad namespace";
	struct kv_ns *ns;
	int ret;

	if (!name || !size || extra) {
		kv_reply(c, "ERR usage: LIMIT ns size");
		return;
	}
	if (!kv_ns_name_valid(name) || !(ns = kv_ns_get(name, size, &err))) {
		char line[96];
		snprintf(line, sizeof(line), "ERR %s", err);
		kv_reply(c, line);
		return;
	}
	ret = mem_cgroup_write(ns->memcg, "memory.max", size);
	if (ret == -EBUSY)
		kv_reply(c, "ERR usage above new limit");
	else if (ret)
		kv_reply(c, "ERR bad limit");
	else
		kv_reply(c, "OK");
}

static void kv_cmd_ns(struct kv_conn *c, char *name)
{
	const char *err = "bad namespace";
	struct kv_ns *ns;

	if (!name || !kv_ns_name_valid(name) || !(ns = kv_ns_get(name, NULL, &err))) {
		char line[96];
		snprintf(line, sizeof(line), "ERR %s", err);
		kv_reply(c, line);
		return;
	}
	c->ns = ns;
	/* From now on accounted allocations of this thread charge ns's tenant. */
	set_active_memcg(ns->memcg);
	kv_reply(c, "OK");
}

/* Split "key[ rest]": NUL-terminates the key; *rest gets what follows or NULL. */
static char *kv_split_key(char *args, char **rest, size_t *klen)
{
	char *sp;

	if (!args || !*args)
		return NULL;
	sp = strchr(args, ' ');
	*rest = NULL;
	if (sp) {
		*sp = '\0';
		*rest = sp + 1;
	}
	*klen = strlen(args);
	return *klen ? args : NULL;
}

/* Reply with the usage or "key too long" error. Return: true when @key is usable. */
static bool kv_key_ok(struct kv_conn *c, const char *key, size_t klen, bool args_ok,
		      const char *usage)
{
	if (!key || !args_ok) {
		kv_reply(c, usage);
		return false;
	}
	if (klen > KV_KEY_MAX) {
		kv_reply(c, "ERR key too long");
		return false;
	}
	return true;
}

static void kv_cmd_get(struct kv_conn *c, char *args)
{
	char *rest, *key, *out = NULL;
	size_t klen, olen = 0;
	struct kv_item **pp;

	key = kv_split_key(args, &rest, &klen);
	if (!kv_key_ok(c, key, klen, !rest, "ERR usage: GET key"))
		return;
	pthread_mutex_lock(&c->ns->lock);
	pp = kv_lookup_locked(c->ns, key, klen, kv_hash(key, klen));
	if (*pp) {
		/* Copy out under the lock; send without it. Uncharged scratch. */
		olen = (*pp)->vlen + 7;
		out = kmalloc(olen, GFP_KERNEL);
		if (out) {
			memcpy(out, "VALUE ", 6);
			memcpy(out + 6, (*pp)->value, (*pp)->vlen);
			out[olen - 1] = '\n';
		}
	}
	pthread_mutex_unlock(&c->ns->lock);
	if (!olen)
		kv_reply(c, "NOT_FOUND");
	else if (!out)
		kv_reply(c, "ERR out of memory");
	else
		kv_send(c, out, olen);
	kfree(out);
}

/* Execute one request line. Return: false to close the connection. */
static bool kv_command(struct kv_conn *c, char *line)
{
	char *args = strchr(line, ' '), *rest, *key;
	size_t klen;

	if (args)
		*args++ = '\0';
	if (!strcasecmp(line, "QUIT")) {
		kv_reply(c, "OK");
		return false;
	}
	if (!strcasecmp(line, "SHUTDOWN")) {
		kv_reply(c, "OK");
		atomic_store(&kv_stopping, true);
		if (write(kv_wake_pipe[1], "x", 1) < 0) {
			/* The pipe already holds a byte: the loop wakes anyway. */
		}
		return false;
	}
	if (!strcasecmp(line, "NS")) {
		kv_cmd_ns(c, args);
	} else if (!strcasecmp(line, "STATS")) {
		kv_cmd_stats(c);
	} else if (!strcasecmp(line, "LIMIT")) {
		kv_cmd_limit(c, args);
	} else if (strcasecmp(line, "SET") && strcasecmp(line, "GET") && strcasecmp(line, "DEL")) {
		kv_reply(c, "ERR unknown command");
	} else if (!c->ns) {
		kv_reply(c, "ERR no namespace selected (send NS name)");
	} else if (!strcasecmp(line, "GET")) {
		kv_cmd_get(c, args);
	} else if (!strcasecmp(line, "DEL")) {
		key = kv_split_key(args, &rest, &klen);
		if (kv_key_ok(c, key, klen, !rest, "ERR usage: DEL key"))
			kv_reply(c, kv_del(c->ns, key, klen) ? "NOT_FOUND" : "OK");
	} else {
		key = kv_split_key(args, &rest, &klen);
		if (kv_key_ok(c, key, klen, rest != NULL, "ERR usage: SET key value"))
			kv_reply(c, kv_set(c->ns, key, klen, rest, strlen(rest)) ?
					    "ERR over memory limit" : "OK");
	}
	return true;
}

/*
 * kv_conn_serve - read lines and run them until QUIT, EOF or shutdown
 *
 * Lines end with "\n" ("\r\n" accepted). A line longer than KV_LINE_MAX
 * gets one "ERR line too long" and is skipped up to its newline.
 */
static void kv_conn_serve(struct kv_conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t n;

		if (nl) {
			size_t used = (size_t)(nl - c->buf) + 1;
			bool more = true;

			*nl = '\0';
			if (nl > c->buf && nl[-1] == '\r')
				nl[-1] = '\0';
			if (c->discarding)
				c->discarding = false;
			else if (c->buf[0])
				more = kv_command(c, c->buf);
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			if (!more)
				return;
			continue;
		}
		if (c->len == sizeof(c->buf)) {
			if (!c->discarding)
				kv_reply(c, "ERR line too long");
			c->discarding = true;
			c->len = 0;
		}
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || atomic_load(&kv_stopping))
			return;
		c->len += (size_t)n;
	}
}

static void *kv_conn_thread(void *arg)
{
	struct kv_conn_slot *slot = arg;
	struct kv_conn *c = malloc(sizeof(*c));

	if (c) {
		c->fd = slot->fd;
		c->ns = NULL;
		c->len = 0;
		c->discarding = false;
		kv_conn_serve(c);
		/* Back to no tenant before the namespace can go away. */
		set_active_memcg(NULL);
		free(c);
	}
	pthread_mutex_lock(&kv_conn_lock);
	close(slot->fd);
	slot->fd = -1;
	pthread_mutex_unlock(&kv_conn_lock);
	atomic_store(&slot->done, true);
	return NULL;
}

/* Join the threads that have finished. Context: kv_conn_lock held. */
static void kv_conn_reap_locked(void)
{
	for (unsigned int i = 0; i < kv_max_conns; i++) {
		if (kv_conns[i].used && atomic_load(&kv_conns[i].done)) {
			pthread_join(kv_conns[i].thread, NULL);
			kv_conns[i].used = false;
		}
	}
}

static void kv_conn_start(int fd)
{
	static const char busy[] = "ERR too many connections\n";
	struct kv_conn_slot *slot = NULL;
	sigset_t all, old;

	/* Only the main thread takes SIGINT/SIGTERM: threads start with signals blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&kv_conn_lock);
	kv_conn_reap_locked();
	for (unsigned int i = 0; i < kv_max_conns && !slot; i++)
		if (!kv_conns[i].used)
			slot = &kv_conns[i];
	if (slot) {
		slot->used = true;
		slot->fd = fd;
		atomic_store(&slot->done, false);
		if (pthread_create(&slot->thread, NULL, kv_conn_thread, slot)) {
			slot->used = false;
			slot = NULL;
		}
	}
	pthread_mutex_unlock(&kv_conn_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!slot) {
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0) {
			/* Refused either way. */
		}
		close(fd);
	}
}

/* Wake every connection thread (their recv returns 0) and join them all. */
static void kv_conn_stop_all(void)
{
	pthread_mutex_lock(&kv_conn_lock);
	for (unsigned int i = 0; i < kv_max_conns; i++)
		if (kv_conns[i].used && kv_conns[i].fd >= 0)
			shutdown(kv_conns[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&kv_conn_lock);
	/* Threads take kv_conn_lock to close their fd: join without it. */
	for (unsigned int i = 0; i < kv_max_conns; i++) {
		if (kv_conns[i].used) {
			pthread_join(kv_conns[i].thread, NULL);
			kv_conns[i].used = false;
		}
	}
}

/* ---- start and shutdown -------------------------------------------------- */

static void kv_on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	atomic_store(&kv_stopping, true);
	if (write(kv_wake_pipe[1], "s", 1) < 0) {
		/* Already woken. */
	}
	errno = saved;
}

static int kv_listen(unsigned short port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		close(fd);
		return -1;
	}
	printf("listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}

/* Accept until a signal or SHUTDOWN writes to the wake pipe. */
static void kv_accept_loop(int lfd)
{
	struct pollfd pfd[2] = {
		{ .fd = lfd, .events = POLLIN },
		{ .fd = kv_wake_pipe[0], .events = POLLIN },
	};

	while (!atomic_load(&kv_stopping)) {
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("tenant-kv-server: poll");
			return;
		}
		if (pfd[1].revents)
			return;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			kv_conn_start(fd);
	}
}

/* Print the kv-item rows (root and child caches) and the kmalloc-cg rows in use. */
static void kv_print_slabinfo(void)
{
	char *buf = NULL, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	uslab_slabinfo(f);
	fclose(f);
	printf("-- slabinfo (kv caches) --\n");
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long active = 0, num = 0;
		char name[128] = "";

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8)) {
			puts(line);
			continue;
		}
		sscanf(line, "%127s %lu %lu", name, &active, &num);
		if (!strncmp(name, "kv-item", 7) || (!strncmp(name, "kmalloc-cg-", 11) && num))
			puts(line);
	}
	free(buf);
}

static void kv_print_memory_stat(const char *path, struct mem_cgroup *memcg)
{
	ssize_t need = mem_cgroup_read(memcg, "memory.stat", NULL, 0);
	char *buf;

	for (int tries = 0; need >= 0 && tries < 4; tries++) {
		buf = malloc((size_t)need + 256);
		if (!buf)
			break;
		ssize_t n = mem_cgroup_read(memcg, "memory.stat", buf, (size_t)need + 256);
		if (n >= 0) {
			printf("-- %s memory.stat --\n%s", path, buf);
			if (n && buf[n - 1] != '\n')
				putchar('\n');
			free(buf);
			return;
		}
		free(buf);
		need = n == -ENOSPC ? mem_cgroup_read(memcg, "memory.stat", NULL, 0) : -1;
	}
	printf("-- %s memory.stat unreadable --\n", path);
}

/* Free everything, destroy the tenants and the cache. Return: 0 when nothing leaked. */
static int kv_shutdown(void)
{
	unsigned long freed = 0;
	int ret = 0, err;

	kv_conn_stop_all();
	for (unsigned int i = 0; i < kv_nr_ns; i++)
		freed += kv_ns_clear(kv_ns_table[i]);
	printf("shutdown: %u namespaces, %lu items freed\n", kv_nr_ns, freed);
	for (unsigned int i = 0; i < kv_nr_ns; i++) {
		struct kv_ns *ns = kv_ns_table[i];
		char path[KV_NS_NAME_MAX + 8];

		snprintf(path, sizeof(path), "/kv/%s", ns->name);
		kv_print_memory_stat(path, ns->memcg);
		err = mem_cgroup_destroy(ns->memcg);
		if (err) {
			fprintf(stderr, "tenant-kv-server: destroy %s: %s\n", path, strerror(-err));
			ret = 1;
		}
		pthread_mutex_destroy(&ns->lock);
		kfree(ns);
	}
	kv_nr_ns = 0;
	kv_print_memory_stat("/kv", kv_parent);
	err = mem_cgroup_destroy(kv_parent);
	if (err) {
		fprintf(stderr, "tenant-kv-server: destroy /kv: %s\n", strerror(-err));
		ret = 1;
	}
	kv_print_slabinfo();
	err = uslab_cache_destroy(kv_item_cache);
	if (err) {
		fprintf(stderr, "tenant-kv-server: kv-item cache: %s\n", strerror(-err));
		ret = 1;
	}
	printf("shutdown: %s\n", ret ? "FAILED" : "clean");
	fflush(stdout);
	return ret;
}

static void kv_usage(void)
{
	fprintf(stderr, "usage: tenant-kv-server [-p PORT] [-m SIZE] [-M SIZE] [-l NS=SIZE]... "
			"[-c CONNS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char *limits[KV_MAX_LIMITS];
	unsigned int nr_limits = 0;
	const char *parent_limit = NULL;
	unsigned long port = 0;
	struct sigaction sa = { .sa_handler = kv_on_signal };
	int opt, lfd, ret;
	char *end;

	while ((opt = getopt(argc, argv, "p:m:M:l:c:h")) != -1) {
		switch (opt) {
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end || port > 65535)
				kv_usage();
			break;
		case 'm':
			kv_default_limit = optarg;
			break;
		case 'M':
			parent_limit = optarg;
			break;
		case 'l':
			if (nr_limits == KV_MAX_LIMITS || !strchr(optarg, '='))
				kv_usage();
			limits[nr_limits++] = optarg;
			break;
		case 'c':
			kv_max_conns = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || kv_max_conns < 1 || kv_max_conns > KV_MAX_CONNS)
				kv_usage();
			break;
		default:
			kv_usage();
		}
	}
	if (optind != argc)
		kv_usage();

	/*
	 * Own cache rather than a merge with a kmalloc-cg class, so that
	 * slabinfo and memory.stat show the items on their own line.
	 */
	kv_item_cache = kmem_cache_create("kv-item", sizeof(struct kv_item), 0,
					  SLAB_ACCOUNT | SLAB_NO_MERGE, NULL);
	kv_parent = mem_cgroup_create(NULL, "kv");
	if (!kv_item_cache || !kv_parent) {
		perror("tenant-kv-server: setup");
		return 1;
	}
	if (parent_limit && mem_cgroup_write(kv_parent, "memory.max", parent_limit)) {
		fprintf(stderr, "tenant-kv-server: bad -M %s\n", parent_limit);
		return 2;
	}
	for (unsigned int i = 0; i < nr_limits; i++) {
		const char *err = "bad namespace";
		char *eq = strchr(limits[i], '=');

		struct kv_ns *ns = NULL;

		*eq = '\0';
		if (kv_ns_name_valid(limits[i]))
			ns = kv_ns_get(limits[i], eq + 1, &err);
		/* Written again: the namespace may have been named by an earlier -l. */
		if (ns && mem_cgroup_write(ns->memcg, "memory.max", eq + 1)) {
			err = "bad limit";
			ns = NULL;
		}
		if (!ns) {
			fprintf(stderr, "tenant-kv-server: -l %s=%s: %s\n", limits[i], eq + 1, err);
			return 2;
		}
	}
	{
		/* Reject a bad -m now rather than at the first NS. */
		struct mem_cgroup *probe = mem_cgroup_create(kv_parent, ".probe");

		if (!probe || mem_cgroup_write(probe, "memory.max", kv_default_limit)) {
			fprintf(stderr, "tenant-kv-server: bad -m %s\n", kv_default_limit);
			return 2;
		}
		mem_cgroup_destroy(probe);
	}

	if (pipe2(kv_wake_pipe, O_CLOEXEC | O_NONBLOCK)) {
		perror("tenant-kv-server: pipe");
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = kv_listen((unsigned short)port);
	if (lfd < 0) {
		perror("tenant-kv-server: listen on 127.0.0.1");
		return 1;
	}
	kv_accept_loop(lfd);
	close(lfd);
	ret = kv_shutdown();
	close(kv_wake_pipe[0]);
	close(kv_wake_pipe[1]);
	return ret;
}
