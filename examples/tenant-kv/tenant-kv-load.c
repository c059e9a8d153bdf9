// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * examples/tenant-kv/tenant-kv-load.c - load client for tenant-kv-server, or
 * any memcached, over the memcached text protocol. CONNS connections, spread
 * over THREADS epoll loops, each keep one request in flight (closed loop):
 * a get or a set (GET_PERCENT gets) of a random key among KEYS per tenant,
 * values of MIN..MAX random bytes, until SECONDS have passed or OPS requests
 * were made. Latency is measured from the request's send to its reply's last
 * byte, into a log-linear histogram (about 3 % resolution).
 *
 *   tenant-kv-load -p PORT [-c CONNS] [-t THREADS] [-d SECONDS] [-o OPS]
 *                  [-k KEYS] [-v MIN-MAX] [-r GET_PERCENT] [-n TENANTS]
 *                  [-P PREFIX] [-R RATE] [-L] [-U] [-s SEED] [-q]
 *
 * Keys are "PREFIX<t>:k<i>" for tenant t (just "PREFIX:k<i>" with one tenant);
 * a value is "<key>/" padded with 'a' + i % 26, so a get checks it got its
 * own key's value. -L first stores every key once (a preload phase, not
 * counted); -U makes every set use a key never used before (a writer that
 * goes far past any memory limit); -R paces all connections together to
 * RATE requests per second.
 *
 * Prints one "total:" line (requests, rate, hits, misses, hit rate, set
 * errors, latency percentiles in microseconds, overall and p99 of gets and
 * of sets) and one line per tenant.
 * Exit status 0 when every reply was one the protocol allows and every value
 * was the right one, 1 otherwise, 2 for bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_CONNS   4096
#define LOAD_MAX_THREADS 64
#define LOAD_MAX_TENANTS 64
#define LOAD_MAX_VALUE   (1u << 20)
#define LOAD_HIST        (64 * 16)      /* log-linear latency buckets */
#define LOAD_STALL_NS    (10ull * 1000000000ull) /* a reply later than this is an error */

enum load_op { OP_NONE, OP_GET, OP_SET };

/* Counters of one tenant (or of everything), summed over threads at the end. */
struct load_counts {
	unsigned long ops, gets, hits, misses, sets, stored, set_errors, bad;
};

/* One connection: its request in flight and the reply read so far. */
struct load_conn {
	int fd;
	unsigned int id, tenant;
	enum load_op op;
	uint64_t key;
	uint64_t sent_ns;
	size_t need;            /* value bytes + 2 still expected after a VALUE line */
	bool got_value;
	char *in;               /* reply bytes: in[0..len) */
	size_t len, size;
	uint64_t preload_next;  /* -L: next key index this connection stores */
	unsigned long ops;      /* measured requests completed */
	bool done;
};

/* One thread's connections and results. */
struct load_thread {
	pthread_t thread;
	unsigned int first, nr;         /* connections [first, first + nr) */
	unsigned int seed;
	struct load_counts counts[LOAD_MAX_TENANTS];
	unsigned long hist[LOAD_HIST];
	unsigned long hist_op[2][LOAD_HIST];   /* gets, sets */
	uint64_t next_send_ns;          /* -R pacing */
	char *out;                      /* request scratch */
	bool failed;
};

static unsigned short load_port;
static unsigned int load_conns = 50, load_threads = 2, load_tenants = 1;
static unsigned int load_get_pct = 90, load_vmin = 100, load_vmax = 1000;
static unsigned long load_keys = 10000, load_max_ops;
static double load_seconds = 30, load_rate;
static const char *load_prefix = "load";
static bool load_preload, load_unique, load_quiet;
static unsigned int load_seed = 1;
static uint64_t load_deadline_ns;
static atomic_ulong load_ops_started;
static atomic_uint_fast64_t load_unique_next;
static struct load_conn *load_conn_table;

static uint64_t load_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Bucket of a latency: exact below 16 ns, then 16 steps per power of two. */
static unsigned int load_bucket(uint64_t ns)
{
	unsigned int msb;

	if (ns < 16)
		return (unsigned int)ns;
	msb = 63u - (unsigned int)__builtin_clzll(ns);
	return (msb - 3) * 16 + (unsigned int)((ns >> (msb - 4)) & 15);
}

static uint64_t load_bucket_value(unsigned int b)
{
	unsigned int msb;

	if (b < 16)
		return b;
	msb = b / 16 + 3;
	return ((uint64_t)(16 + b % 16) << (msb - 4)) + ((1ull << (msb - 4)) >> 1);
}

static int load_key(char *buf, unsigned int tenant, uint64_t key)
{
	if (load_tenants == 1)
		return sprintf(buf, "%s:k%llu", load_prefix, (unsigned long long)key);
	return sprintf(buf, "%s%u:k%llu", load_prefix, tenant, (unsigned long long)key);
}

static size_t load_value_len(struct load_thread *t)
{
	return load_vmin + (load_vmax > load_vmin ?
			    (size_t)rand_r(&t->seed) % (load_vmax - load_vmin + 1) : 0);
}

static bool load_send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Issue the next request on @c. Return: 1 sent, 0 nothing more to do, -1 send failed. */
static int load_issue(struct load_thread *t, struct load_conn *c, bool preload)
{
	char *p = t->out;
	int klen;

	if (preload) {
		if (c->preload_next >= load_keys * load_tenants)
			return 0;
		c->tenant = (unsigned int)(c->preload_next % load_tenants);
		c->key = c->preload_next / load_tenants;
		c->preload_next += load_conns;
		c->op = OP_SET;
	} else {
		if (load_max_ops && atomic_fetch_add(&load_ops_started, 1) >= load_max_ops)
			return 0;
		c->op = (unsigned int)rand_r(&t->seed) % 100 < load_get_pct ? OP_GET : OP_SET;
		if (c->op == OP_SET && load_unique)
			c->key = load_keys + atomic_fetch_add(&load_unique_next, 1);
		else
			c->key = ((uint64_t)rand_r(&t->seed) << 16 ^ (uint64_t)rand_r(&t->seed)) %
				 load_keys;
	}
	if (c->op == OP_GET) {
		memcpy(p, "get ", 4);
		klen = load_key(p + 4, c->tenant, c->key);
		memcpy(p + 4 + klen, "\r\n", 2);
		p += 4 + klen + 2;
	} else {
		char key[128];
		size_t vlen = load_value_len(t), head;

		klen = load_key(key, c->tenant, c->key);
		p += sprintf(p, "set %s 0 0 %zu\r\n", key, vlen);
		head = (size_t)klen + 1 < vlen ? (size_t)klen + 1 : vlen;
		memcpy(p, key, head);
		if (head)
			p[head - 1] = '/';
		memset(p + head, 'a' + (int)(c->key % 26), vlen - head);
		p += vlen;
		memcpy(p, "\r\n", 2);
		p += 2;
	}
	c->len = 0;
	c->need = 0;
	c->got_value = false;
	c->sent_ns = load_now_ns();
	return load_send_all(c->fd, t->out, (size_t)(p - t->out)) ? 1 : -1;
}

/* Whether a get's value is the one this client stores for the key. */
static bool load_value_ok(struct load_conn *c, const char *v, size_t n)
{
	char key[128];
	int klen = load_key(key, c->tenant, c->key);
	size_t head = (size_t)klen + 1 < n ? (size_t)klen + 1 : n;

	if (n < load_vmin || n > load_vmax || (head && (memcmp(v, key, head - 1) ||
							 v[head - 1] != '/')))
		return false;
	for (size_t i = head; i < n; i++)
		if (v[i] != 'a' + (int)(c->key % 26))
			return false;
	return true;
}

/*
 * Parse what has arrived for @c's request. Return: 1 when the reply is
 * complete, 0 when more is needed, -1 for a reply the protocol does not allow.
 */
static int load_parse(struct load_thread *t, struct load_conn *c, bool preload)
{
	struct load_counts *k = &t->counts[c->tenant];
	char *nl;

	if (c->op == OP_SET) {
		nl = memchr(c->in, '\n', c->len);
		if (!nl)
			return 0;
		if (!preload)
			k->sets++;
		if (!strncmp(c->in, "STORED\r\n", 8)) {
			if (!preload)
				k->stored++;
			return 1;
		}
		if (!strncmp(c->in, "SERVER_ERROR ", 13)) {
			k->set_errors++;
			return 1;
		}
		return -1;
	}
	/* get: "END\r\n", or "VALUE key flags bytes\r\n" data "\r\nEND\r\n" */
	if (!c->got_value) {
		unsigned long bytes;
		char *sp;

		nl = memchr(c->in, '\n', c->len);
		if (!nl)
			return 0;
		if (!strncmp(c->in, "END\r\n", 5)) {
			k->gets++;
			k->misses++;
			return 1;
		}
		sp = memrchr(c->in, ' ', (size_t)(nl - c->in));
		if (strncmp(c->in, "VALUE ", 6) || !sp)
			return -1;
		bytes = strtoul(sp + 1, NULL, 10);
		c->got_value = true;
		/* The header line, the value, then "\r\nEND\r\n". */
		c->need = (size_t)(nl + 1 - c->in) + bytes + 7;
	}
	if (c->len < c->need)
		return 0;
	{
		char *v = (char *)memchr(c->in, '\n', c->len) + 1;
		size_t vlen = c->need - (size_t)(v - c->in) - 7;

		if (memcmp(v + vlen, "\r\nEND\r\n", 7))
			return -1;
		k->gets++;
		k->hits++;
		if (!load_value_ok(c, v, vlen))
			k->bad++;
	}
	return 1;
}

/* Read what @c's socket has. Return: false on EOF or error. */
static bool load_read(struct load_conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->size - c->len < 4096) {
			size_t size = c->size ? c->size * 2 : 65536;
			char *p = realloc(c->in, size + 1);

			if (!p)
				return false;
			c->in = p;
			c->size = size;
		}
		n = recv(c->fd, c->in + c->len, c->size - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			c->in[c->len] = '\0';
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
}

static int load_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(load_port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct timeval tv = { .tv_sec = 10 };

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Sends block (bounded): a request is small; replies come through epoll. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Pacing for -R: may @t send now? If not, *wait_ms is set. */
static bool load_may_send(struct load_thread *t, uint64_t now, int *wait_ms)
{
	uint64_t interval;

	if (load_rate <= 0)
		return true;
	interval = (uint64_t)(1e9 * load_threads / load_rate);
	if (t->next_send_ns < now - 10 * interval)
		t->next_send_ns = now;  /* do not burst after a stall */
	if (now >= t->next_send_ns) {
		t->next_send_ns += interval;
		return true;
	}
	*wait_ms = (int)((t->next_send_ns - now) / 1000000) + 1;
	return false;
}

/* Run @t's connections through one phase (preload or measured). */
static void load_phase(struct load_thread *t, int ep, bool preload)
{
	unsigned int active = 0, idle[LOAD_MAX_CONNS], nidle = 0;
	struct epoll_event ev[64];

	for (unsigned int i = 0; i < t->nr; i++) {
		struct load_conn *c = &load_conn_table[t->first + i];

		c->op = OP_NONE;
		c->done = false;
		idle[nidle++] = t->first + i;
	}
	for (;;) {
		uint64_t now = load_now_ns();
		int wait_ms = 100, n;

		/* Start requests on idle connections, as pacing allows. */
		while (nidle && (preload || now < load_deadline_ns)) {
			struct load_conn *c = &load_conn_table[idle[nidle - 1]];

			if (!preload && !load_may_send(t, now, &wait_ms))
				break;
			int r;

			nidle--;
			r = load_issue(t, c, preload);
			if (r <= 0) {
				if (r < 0) {
					fprintf(stderr, "tenant-kv-load: connection %u: send failed\n",
						c->id);
					t->failed = true;
				}
				c->op = OP_NONE;
				c->done = true;
				continue;
			}
			active++;
		}
		if (!active && (!nidle || (!preload && now >= load_deadline_ns)))
			break;
		if (!preload && now >= load_deadline_ns)
			nidle = 0;      /* no new requests: drain the ones in flight */
		n = epoll_wait(ep, ev, 64, wait_ms);
		now = load_now_ns();
		for (int i = 0; i < n; i++) {
			struct load_conn *c = ev[i].data.ptr;
			int r;

			if (c->op == OP_NONE || c->done)
				continue;
			if (!load_read(c)) {
				fprintf(stderr, "tenant-kv-load: connection %u: closed by the server\n",
					c->id);
				t->failed = true;
				c->done = true;
				c->op = OP_NONE;
				active--;
				continue;
			}
			r = load_parse(t, c, preload);
			if (r == 0)
				continue;
			if (r < 0) {
				fprintf(stderr, "tenant-kv-load: unexpected reply: %.60s\n", c->in);
				t->failed = true;
			}
			if (!preload) {
				unsigned int b = load_bucket(now - c->sent_ns);

				t->counts[c->tenant].ops++;
				c->ops++;
				t->hist[b]++;
				t->hist_op[c->op == OP_SET][b]++;
			}
			c->op = OP_NONE;
			active--;
			idle[nidle++] = c->id;
		}
		/* A reply that never comes is an error, not a hang. */
		for (unsigned int i = 0; i < t->nr; i++) {
			struct load_conn *c = &load_conn_table[t->first + i];

			if (c->op != OP_NONE && now - c->sent_ns > LOAD_STALL_NS) {
				fprintf(stderr, "tenant-kv-load: connection %u: no reply in 10 s\n",
					c->id);
				t->failed = true;
				c->op = OP_NONE;
				c->done = true;
				active--;
			}
		}
	}
}

static void *load_thread_main(void *arg)
{
	struct load_thread *t = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	t->out = malloc(LOAD_MAX_VALUE + 512);
	if (ep < 0 || !t->out) {
		t->failed = true;
		return NULL;
	}
	for (unsigned int i = 0; i < t->nr; i++) {
		struct load_conn *c = &load_conn_table[t->first + i];
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e)) {
			t->failed = true;
			return NULL;
		}
	}
	if (load_preload)
		load_phase(t, ep, true);
	close(ep);
	return NULL;
}

static void *load_thread_run(void *arg)
{
	struct load_thread *t = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0) {
		t->failed = true;
		return NULL;
	}
	for (unsigned int i = 0; i < t->nr; i++) {
		struct load_conn *c = &load_conn_table[t->first + i];
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };

		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
	}
	load_phase(t, ep, false);
	close(ep);
	return NULL;
}

static void load_usage(void)
{
	fprintf(stderr, "usage: tenant-kv-load -p PORT [-c CONNS] [-t THREADS] [-d SECONDS] [-o OPS]\n"
			"                      [-k KEYS] [-v MIN-MAX] [-r GET_PERCENT] [-n TENANTS]\n"
			"                      [-P PREFIX] [-R RATE] [-L] [-U] [-s SEED] [-q]\n");
	exit(2);
}

static unsigned long load_arg(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		load_usage();
	return v;
}

static double load_percentile(const unsigned long *hist, unsigned long total, double q)
{
	unsigned long want = (unsigned long)(q * (double)total), seen = 0;

	for (unsigned int b = 0; b < LOAD_HIST; b++) {
		seen += hist[b];
		if (seen > want)
			return (double)load_bucket_value(b) / 1000.0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct load_thread threads[LOAD_MAX_THREADS];
	struct load_counts all = { 0 }, per[LOAD_MAX_TENANTS];
	unsigned long hist[LOAD_HIST] = { 0 }, hist_op[2][LOAD_HIST] = { { 0 } };
	bool failed = false;
	uint64_t start, end;
	double secs, maxlat = 0;
	int opt;

	while ((opt = getopt(argc, argv, "p:c:t:d:o:k:v:r:n:P:R:LUs:q")) != -1) {
		switch (opt) {
		case 'p': load_port = (unsigned short)load_arg(optarg, 1, 65535); break;
		case 'c': load_conns = (unsigned int)load_arg(optarg, 1, LOAD_MAX_CONNS); break;
		case 't': load_threads = (unsigned int)load_arg(optarg, 1, LOAD_MAX_THREADS); break;
		case 'd': load_seconds = (double)load_arg(optarg, 1, 86400); break;
		case 'o': load_max_ops = load_arg(optarg, 1, ~0ul); break;
		case 'k': load_keys = load_arg(optarg, 1, 1ul << 40); break;
		case 'r': load_get_pct = (unsigned int)load_arg(optarg, 0, 100); break;
		case 'n': load_tenants = (unsigned int)load_arg(optarg, 1, LOAD_MAX_TENANTS); break;
		case 'P': load_prefix = optarg; break;
		case 'R': load_rate = (double)load_arg(optarg, 1, 100000000); break;
		case 'L': load_preload = true; break;
		case 'U': load_unique = true; break;
		case 's': load_seed = (unsigned int)load_arg(optarg, 0, ~0u); break;
		case 'q': load_quiet = true; break;
		case 'v':
			if (sscanf(optarg, "%u-%u", &load_vmin, &load_vmax) != 2)
				load_vmax = load_vmin = (unsigned int)load_arg(optarg, 1, LOAD_MAX_VALUE);
			if (!load_vmin || load_vmin > load_vmax || load_vmax > LOAD_MAX_VALUE)
				load_usage();
			break;
		default: load_usage();
		}
	}
	if (!load_port || optind != argc || strlen(load_prefix) > 64)
		load_usage();
	if (load_threads > load_conns)
		load_threads = load_conns;

	load_conn_table = calloc(load_conns, sizeof(*load_conn_table));
	if (!load_conn_table)
		return 1;
	for (unsigned int i = 0; i < load_conns; i++) {
		struct load_conn *c = &load_conn_table[i];

		c->id = i;
		c->tenant = i % load_tenants;
		c->preload_next = i;
		c->fd = load_connect();
		if (c->fd < 0) {
			fprintf(stderr, "tenant-kv-load: connect to 127.0.0.1:%u: %s\n", load_port,
				strerror(errno));
			return 1;
		}
	}
	for (unsigned int i = 0, first = 0; i < load_threads; i++) {
		struct load_thread *t = &threads[i];

		t->first = first;
		t->nr = load_conns / load_threads + (i < load_conns % load_threads);
		first += t->nr;
		t->seed = load_seed * 7919u + i;
	}
	if (load_preload) {
		for (unsigned int i = 0; i < load_threads; i++)
			pthread_create(&threads[i].thread, NULL, load_thread_main, &threads[i]);
		for (unsigned int i = 0; i < load_threads; i++)
			pthread_join(threads[i].thread, NULL);
		for (unsigned int i = 0; i < load_threads; i++) {
			failed |= threads[i].failed;
			for (unsigned int k = 0; k < LOAD_MAX_TENANTS; k++)
				if (threads[i].counts[k].set_errors) {
					fprintf(stderr, "tenant-kv-load: preload: %lu sets refused\n",
						threads[i].counts[k].set_errors);
					threads[i].counts[k].set_errors = 0;
				}
		}
		if (!load_quiet)
			printf("preload: %lu keys stored\n", load_keys * load_tenants);
	} else {
		for (unsigned int i = 0; i < load_threads; i++) {
			threads[i].out = malloc(LOAD_MAX_VALUE + 512);
			if (!threads[i].out)
				return 1;
		}
	}

	start = load_now_ns();
	load_deadline_ns = start + (uint64_t)(load_seconds * 1e9);
	for (unsigned int i = 0; i < load_threads; i++)
		pthread_create(&threads[i].thread, NULL, load_thread_run, &threads[i]);
	for (unsigned int i = 0; i < load_threads; i++)
		pthread_join(threads[i].thread, NULL);
	end = load_now_ns();
	secs = (double)(end - start) / 1e9;

	memset(per, 0, sizeof(per));
	for (unsigned int i = 0; i < load_threads; i++) {
		struct load_thread *t = &threads[i];

		failed |= t->failed;
		for (unsigned int b = 0; b < LOAD_HIST; b++) {
			hist[b] += t->hist[b];
			hist_op[0][b] += t->hist_op[0][b];
			hist_op[1][b] += t->hist_op[1][b];
			if (t->hist[b] && (double)load_bucket_value(b) / 1000.0 > maxlat)
				maxlat = (double)load_bucket_value(b) / 1000.0;
		}
		for (unsigned int k = 0; k < load_tenants; k++) {
			struct load_counts *s = &t->counts[k];

			per[k].ops += s->ops; per[k].gets += s->gets; per[k].hits += s->hits;
			per[k].misses += s->misses; per[k].sets += s->sets;
			per[k].stored += s->stored; per[k].set_errors += s->set_errors;
			per[k].bad += s->bad;
		}
	}
	for (unsigned int k = 0; k < load_tenants; k++) {
		all.ops += per[k].ops; all.gets += per[k].gets; all.hits += per[k].hits;
		all.misses += per[k].misses; all.sets += per[k].sets; all.stored += per[k].stored;
		all.set_errors += per[k].set_errors; all.bad += per[k].bad;
		if (load_tenants > 1 && !load_quiet)
			printf("tenant %s%u: ops=%lu gets=%lu hits=%lu misses=%lu sets=%lu "
			       "set_errors=%lu\n", load_prefix, k, per[k].ops, per[k].gets,
			       per[k].hits, per[k].misses, per[k].sets, per[k].set_errors);
	}
	printf("total: ops=%lu seconds=%.2f rate=%.0f gets=%lu hits=%lu misses=%lu "
	       "hit_rate=%.2f%% sets=%lu set_errors=%lu bad_values=%lu "
	       "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
	       "get_p99_us=%.1f set_p99_us=%.1f\n",
	       all.ops, secs, (double)all.ops / secs, all.gets, all.hits, all.misses,
	       all.gets ? 100.0 * (double)all.hits / (double)all.gets : 0.0, all.sets,
	       all.set_errors, all.bad, load_percentile(hist, all.ops, 0.50),
	       load_percentile(hist, all.ops, 0.90), load_percentile(hist, all.ops, 0.99),
	       load_percentile(hist, all.ops, 0.999), maxlat,
	       load_percentile(hist_op[0], all.ops - all.sets, 0.99),
	       load_percentile(hist_op[1], all.sets, 0.99));
	{
		/* Fairness: how unevenly the server served the connections. */
		unsigned long lo = ~0ul, hi = 0;

		for (unsigned int i = 0; i < load_conns; i++) {
			lo = load_conn_table[i].ops < lo ? load_conn_table[i].ops : lo;
			hi = load_conn_table[i].ops > hi ? load_conn_table[i].ops : hi;
		}
		if (!load_quiet)
			printf("connections: requests per connection min=%lu max=%lu\n", lo, hi);
	}
	for (unsigned int i = 0; i < load_conns; i++)
		close(load_conn_table[i].fd);
	if (all.bad) {
		fprintf(stderr, "tenant-kv-load: %lu gets returned another key's value\n", all.bad);
		failed = true;
	}
	return failed ? 1 : 0;
}
