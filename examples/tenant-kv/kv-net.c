// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * examples/tenant-kv/kv-net.c - connections of tenant-kv-server: one
 * listening socket served by the main thread, and -t worker threads, each an
 * epoll loop over the connections handed to it (round robin, as memcached
 * dispatches). A worker reads what a connection sent, lets kv-proto.c run
 * every complete command in it (pipelining), and sends the replies in one
 * write; it stops reading from a connection whose replies pile up beyond
 * KV_OUT_HIGH until the client reads them. Sockets are non-blocking; no
 * thread ever waits on one client.
 *
 * Also here: the byte buffers of connections (uncharged uslab memory: the
 * server's, not a tenant's), the per-worker statistics and memcached's
 * general "stats" listing.
 *
 * Locks: kv_worker.lock protects the queue of accepted connections waiting
 * for their worker (w->pending); everything else of a connection belongs to
 * its worker thread alone. kv_stats_lock protects the "stats reset" baseline.
 */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "kv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define KV_RBUF_SIZE        16384           /* memcached's READ_BUFFER_SIZE */
#define KV_OUT_KEEP         (64u << 10)     /* larger idle output buffers are freed */
#define KV_READS_PER_EVENT  4               /* fairness between connections */
#define KV_ROUNDS_PER_EVENT 4               /* KV_OUT_HIGH worth of replies, as often */
#define KV_MAX_WORKERS      64

struct kv_worker {
	pthread_t thread;
	unsigned int id;
	int epfd;
	int evfd;                       /* eventfd: new connections, or stop */
	pthread_mutex_t lock;           /* pending */
	struct kv_conn *pending;        /* accepted, not yet taken by the worker */
	struct kv_conn *conns;          /* the worker's connections (worker only) */
	/* Written on every request by this worker only: lines of its own. */
	struct kv_thread_stats stats __attribute__((aligned(64)));
} __attribute__((aligned(64)));

static struct kv_worker kv_workers[KV_MAX_WORKERS];
static int kv_listen_fd = -1;
static int kv_wake_pipe[2] = { -1, -1 };
static atomic_bool kv_stopping;

static atomic_ulong kv_curr_conns, kv_total_conns, kv_rejected_conns, kv_conn_structures;

/* "stats reset": counters are reported relative to the sums at the last reset. */
static pthread_mutex_t kv_stats_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long kv_stats_base[sizeof(struct kv_thread_stats) / sizeof(atomic_ulong)];
static unsigned long kv_conns_base;

_Static_assert(sizeof(struct kv_thread_stats) % sizeof(atomic_ulong) == 0,
	       "kv_thread_stats is an array of counters");

/* ---- buffers --------------------------------------------------------------------- */

char *kv_buf_reserve(struct kv_buf *b, size_t n)
{
	size_t len = b->tail - b->head, size;
	char *p;

	if (b->size - b->tail >= n)
		return b->buf + b->tail;
	if (b->head && b->size - len >= n) {
		memmove(b->buf, b->buf + b->head, len);
		b->tail = len;
		b->head = 0;
		return b->buf + b->tail;
	}
	size = b->size ? b->size : 2048;
	while (size - len < n) {
		if (size > SIZE_MAX / 2)
			return NULL;
		size *= 2;
	}
	/* Server memory, charged to nobody: the thread has no tenant active here. */
	p = kvmalloc(size, GFP_KERNEL);
	if (!p)
		return NULL;
	if (len)
		memcpy(p, b->buf + b->head, len);
	kvfree(b->buf);
	b->buf = p;
	b->size = size;
	b->head = 0;
	b->tail = len;
	return b->buf + b->tail;
}

bool kv_buf_add(struct kv_buf *b, const void *p, size_t n)
{
	char *d = kv_buf_reserve(b, n);

	if (!d)
		return false;
	memcpy(d, p, n);
	b->tail += n;
	return true;
}

bool kv_buf_printf(struct kv_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *d;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(d = kv_buf_reserve(b, (size_t)n + 1)))
		return false;
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->tail += (size_t)n;
	return true;
}

void kv_buf_free(struct kv_buf *b)
{
	kvfree(b->buf);
	memset(b, 0, sizeof(*b));
}

/* ---- statistics --------------------------------------------------------------- */

struct kv_thread_stats *kv_conn_stats(struct kv_conn *c)
{
	return &c->w->stats;
}

static void kv_stats_sum(unsigned long *sum)
{
	size_t nr = sizeof(struct kv_thread_stats) / sizeof(atomic_ulong);

	memset(sum, 0, nr * sizeof(*sum));
	for (unsigned int i = 0; i < kv_settings.nr_threads; i++) {
		const atomic_ulong *c = (const atomic_ulong *)&kv_workers[i].stats;

		for (size_t f = 0; f < nr; f++)
			sum[f] += kv_stat_read(&c[f]);
	}
}

void kv_stats_reset(void)
{
	pthread_mutex_lock(&kv_stats_lock);
	kv_stats_sum(kv_stats_base);
	kv_conns_base = atomic_load(&kv_total_conns);
	pthread_mutex_unlock(&kv_stats_lock);
}

#define KV_STAT(field) (sum[offsetof(struct kv_thread_stats, field) / sizeof(atomic_ulong)] - \
			kv_stats_base[offsetof(struct kv_thread_stats, field) / sizeof(atomic_ulong)])

/* memcached's general "stats", the fields that mean something here, in its order. */
void kv_server_stats(struct kv_buf *o)
{
	unsigned long sum[sizeof(struct kv_thread_stats) / sizeof(atomic_ulong)], total_conns;
	unsigned long long maxbytes = 0;
	struct kv_store_totals tot;
	rel_time_t now = kv_now();
	unsigned int hashpower = 0;
	struct rusage ru;

	kv_store_totals(&tot);
	getrusage(RUSAGE_SELF, &ru);
	pthread_mutex_lock(&kv_stats_lock);
	kv_stats_sum(sum);
	total_conns = atomic_load(&kv_total_conns) - kv_conns_base;
	if (mem_cgroup_max(kv_parent_memcg()) != MEMCG_LIMIT_MAX) {
		maxbytes = mem_cgroup_max(kv_parent_memcg());
	} else {
		for (unsigned int i = 0; i < kv_tenant_count(); i++) {
			unsigned long m = mem_cgroup_max(kv_tenant_at(i)->memcg);

			maxbytes = m == MEMCG_LIMIT_MAX || maxbytes + m < maxbytes ? ~0ull : maxbytes + m;
		}
	}
	while (hashpower < 63 && (2ul << hashpower) <= tot.hash_buckets)
		hashpower++;

	kv_buf_printf(o, "STAT pid %ld\r\n", (long)getpid());
	kv_buf_printf(o, "STAT uptime %u\r\n", now - 60);
	kv_buf_printf(o, "STAT time %ld\r\n", (long)now + kv_process_started());
	kv_buf_printf(o, "STAT version %s-tenant-kv\r\n", KV_MC_VERSION);
	kv_buf_printf(o, "STAT pointer_size %zu\r\n", 8 * sizeof(void *));
	kv_buf_printf(o, "STAT rusage_user %ld.%06ld\r\n", (long)ru.ru_utime.tv_sec,
		      (long)ru.ru_utime.tv_usec);
	kv_buf_printf(o, "STAT rusage_system %ld.%06ld\r\n", (long)ru.ru_stime.tv_sec,
		      (long)ru.ru_stime.tv_usec);
	kv_buf_printf(o, "STAT max_connections %u\r\n", kv_settings.max_conns);
	kv_buf_printf(o, "STAT curr_connections %lu\r\n", atomic_load(&kv_curr_conns));
	kv_buf_printf(o, "STAT total_connections %lu\r\n", total_conns);
	kv_buf_printf(o, "STAT rejected_connections %lu\r\n", atomic_load(&kv_rejected_conns));
	kv_buf_printf(o, "STAT connection_structures %lu\r\n", atomic_load(&kv_conn_structures));
	kv_buf_printf(o, "STAT cmd_get %lu\r\n", KV_STAT(get_cmds));
	kv_buf_printf(o, "STAT cmd_set %lu\r\n", KV_STAT(set_cmds));
	kv_buf_printf(o, "STAT cmd_flush %lu\r\n", KV_STAT(flush_cmds));
	kv_buf_printf(o, "STAT cmd_touch %lu\r\n", KV_STAT(touch_cmds));
	kv_buf_printf(o, "STAT get_hits %lu\r\n", KV_STAT(get_hits));
	kv_buf_printf(o, "STAT get_misses %lu\r\n", KV_STAT(get_misses));
	kv_buf_printf(o, "STAT get_expired %lu\r\n", KV_STAT(get_expired));
	kv_buf_printf(o, "STAT get_flushed %lu\r\n", KV_STAT(get_flushed));
	kv_buf_printf(o, "STAT delete_misses %lu\r\n", KV_STAT(delete_misses));
	kv_buf_printf(o, "STAT delete_hits %lu\r\n", KV_STAT(delete_hits));
	kv_buf_printf(o, "STAT incr_misses %lu\r\n", KV_STAT(incr_misses));
	kv_buf_printf(o, "STAT incr_hits %lu\r\n", KV_STAT(incr_hits));
	kv_buf_printf(o, "STAT decr_misses %lu\r\n", KV_STAT(decr_misses));
	kv_buf_printf(o, "STAT decr_hits %lu\r\n", KV_STAT(decr_hits));
	kv_buf_printf(o, "STAT cas_misses %lu\r\n", KV_STAT(cas_misses));
	kv_buf_printf(o, "STAT cas_hits %lu\r\n", KV_STAT(cas_hits));
	kv_buf_printf(o, "STAT cas_badval %lu\r\n", KV_STAT(cas_badval));
	kv_buf_printf(o, "STAT touch_hits %lu\r\n", KV_STAT(touch_hits));
	kv_buf_printf(o, "STAT touch_misses %lu\r\n", KV_STAT(touch_misses));
	kv_buf_printf(o, "STAT store_too_large %lu\r\n", KV_STAT(store_too_large));
	kv_buf_printf(o, "STAT store_no_memory %lu\r\n", KV_STAT(store_no_memory));
	kv_buf_printf(o, "STAT auth_cmds 0\r\n");
	kv_buf_printf(o, "STAT auth_errors 0\r\n");
	kv_buf_printf(o, "STAT bytes_read %lu\r\n", KV_STAT(bytes_read));
	kv_buf_printf(o, "STAT bytes_written %lu\r\n", KV_STAT(bytes_written));
	kv_buf_printf(o, "STAT limit_maxbytes %llu\r\n", maxbytes);
	kv_buf_printf(o, "STAT accepting_conns 1\r\n");
	kv_buf_printf(o, "STAT listen_disabled_num 0\r\n");
	kv_buf_printf(o, "STAT threads %u\r\n", kv_settings.nr_threads);
	kv_buf_printf(o, "STAT conn_yields %lu\r\n", KV_STAT(conn_yields));
	kv_buf_printf(o, "STAT hash_power_level %u\r\n", hashpower);
	kv_buf_printf(o, "STAT hash_bytes %lu\r\n", tot.hash_buckets * sizeof(void *));
	kv_buf_printf(o, "STAT hash_is_expanding 0\r\n");
	kv_buf_printf(o, "STAT bytes %llu\r\n", (unsigned long long)tot.bytes);
	kv_buf_printf(o, "STAT curr_items %lu\r\n", tot.curr_items);
	kv_buf_printf(o, "STAT total_items %lu\r\n", tot.total_items);
	kv_buf_printf(o, "STAT expired_unfetched %lu\r\n", tot.expired_unfetched);
	kv_buf_printf(o, "STAT evicted_unfetched %lu\r\n", tot.evicted_unfetched);
	kv_buf_printf(o, "STAT evictions %lu\r\n", tot.evictions);
	kv_buf_printf(o, "STAT reclaimed %lu\r\n", tot.reclaimed);
	pthread_mutex_unlock(&kv_stats_lock);
}

/* ---- connections ----------------------------------------------------------------- */

static void kv_conn_close(struct kv_conn *c)
{
	struct kv_worker *w = c->w;

	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	kv_proto_conn_release(c);
	kv_buf_free(&c->out);
	kvfree(c->rbuf);
	kfree(c);
	atomic_fetch_sub(&kv_curr_conns, 1);
	atomic_fetch_sub(&kv_conn_structures, 1);
}

/* Send what is queued. Return: false when the connection is broken. */
static bool kv_conn_send(struct kv_conn *c)
{
	while (kv_buf_len(&c->out)) {
		ssize_t n = send(c->fd, c->out.buf + c->out.head, kv_buf_len(&c->out),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		c->out.head += (size_t)n;
		kv_stat_add(&c->w->stats.bytes_written, (unsigned long)n);
	}
	c->out.head = c->out.tail = 0;
	if (c->out.size > KV_OUT_KEEP)
		kv_buf_free(&c->out);
	return true;
}

/*
 * Read what is there. *drained says the read did not fill the buffer: the
 * socket is most likely empty, and asking again would cost a system call
 * that only says so (epoll, level-triggered, reports anything later).
 * Return: bytes read, 0 at EOF, -1 for "nothing now", -2 on error.
 */
static ssize_t kv_conn_read(struct kv_conn *c, bool *drained)
{
	ssize_t n;

	if (c->rpos == c->rlen) {
		c->rpos = c->rlen = 0;
	} else if (c->rpos) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rlen == c->rsize)
		return -1;      /* kv-proto.c grows the buffer or drops the line first */
	do
		n = recv(c->fd, c->rbuf + c->rlen, c->rsize - c->rlen, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		*drained = (size_t)n < c->rsize - c->rlen;
		c->rlen += (size_t)n;
		kv_stat_add(&c->w->stats.bytes_read, (unsigned long)n);
		return n;
	}
	if (n == 0)
		return 0;
	return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
}

/*
 * Serve @c after epoll reported it; close it when it is finished or broken.
 *
 * Commands run until the input runs out or the replies pile up beyond
 * KV_OUT_HIGH; then the replies are sent, and if they all went the commands
 * go on. Input left over when the connection yields to the others makes it
 * wait for EPOLLOUT, which a socket with room reports at once.
 */
static void kv_conn_handle(struct kv_conn *c)
{
	bool broken = false, drained = false, more = false;
	int reads = 0, rounds = 0;
	uint32_t want;

	for (;;) {
		ssize_t n;

		if (!kv_proto_process(c)) {
			if (c->state == KV_CONN_CLOSING)
				break;
			/* Replies piling up: send them, and go on if they all went. */
			if (!kv_conn_send(c)) {
				broken = true;
				break;
			}
			if (kv_buf_len(&c->out) || ++rounds == KV_ROUNDS_PER_EVENT) {
				more = true;
				break;
			}
			continue;
		}
		if (c->eof || drained)
			break;
		if (reads++ == KV_READS_PER_EVENT) {
			kv_stat_add(&c->w->stats.conn_yields, 1);
			break;                  /* level-triggered: epoll comes back */
		}
		n = kv_conn_read(c, &drained);
		if (n == 0)
			c->eof = true;
		else if (n == -2)
			broken = true;
		if (n <= 0)
			break;
	}
	if (broken || !kv_conn_send(c)) {
		kv_conn_close(c);
		return;
	}
	if ((c->state == KV_CONN_CLOSING || (c->eof && !more)) && !kv_buf_len(&c->out)) {
		kv_conn_close(c);
		return;
	}
	want = kv_buf_len(&c->out) || more ? EPOLLOUT : 0;
	if (c->state != KV_CONN_CLOSING && !c->eof && !more)
		want |= EPOLLIN;
	if (want != c->events) {
		struct epoll_event ev = { .events = want, .data.ptr = c };

		c->events = want;
		if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev))
			kv_conn_close(c);
	}
}

/* Take over the connections the acceptor queued for @w. */
static void kv_worker_adopt(struct kv_worker *w)
{
	struct kv_conn *c, *next;
	uint64_t v;

	if (read(w->evfd, &v, sizeof(v)) < 0) {
		/* Nothing to read: another wake-up already took it. */
	}
	pthread_mutex_lock(&w->lock);
	c = w->pending;
	w->pending = NULL;
	pthread_mutex_unlock(&w->lock);
	for (; c; c = next) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		next = c->next;
		c->prev = NULL;
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		c->events = EPOLLIN;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev))
			kv_conn_close(c);
	}
}

static void *kv_worker_main(void *arg)
{
	struct kv_worker *w = arg;
	struct epoll_event ev[64];

	while (!atomic_load(&kv_stopping)) {
		int n = epoll_wait(w->epfd, ev, 64, -1);

		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr)
				kv_worker_adopt(w);
			else
				kv_conn_handle(ev[i].data.ptr);
		}
	}
	kv_worker_adopt(w);
	while (w->conns)
		kv_conn_close(w->conns);
	return NULL;
}

/* Hand an accepted socket to the next worker. */
static void kv_dispatch(int fd)
{
	static unsigned int next;
	static const char busy[] = "ERROR Too many open connections\r\n";
	struct kv_worker *w;
	struct kv_conn *c;
	int one = 1;
	uint64_t v = 1;

	if (atomic_load(&kv_curr_conns) >= kv_settings.max_conns) {
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* Refused either way. */
		}
		close(fd);
		atomic_fetch_add(&kv_rejected_conns, 1);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (c)
		c->rbuf = kvmalloc(KV_RBUF_SIZE, GFP_KERNEL);
	if (!c || !c->rbuf) {
		kfree(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->rsize = KV_RBUF_SIZE;
	c->state = KV_CONN_CMD;
	w = &kv_workers[next++ % kv_settings.nr_threads];
	c->w = w;
	atomic_fetch_add(&kv_curr_conns, 1);
	atomic_fetch_add(&kv_total_conns, 1);
	atomic_fetch_add(&kv_conn_structures, 1);
	pthread_mutex_lock(&w->lock);
	c->next = w->pending;
	w->pending = c;
	pthread_mutex_unlock(&w->lock);
	if (write(w->evfd, &v, sizeof(v)) < 0) {
		/* The counter cannot overflow from here: the worker is woken anyway. */
	}
}

/* ---- start, run, stop ---------------------------------------------------------- */

void kv_request_shutdown(void)
{
	int saved = errno;

	atomic_store(&kv_stopping, true);
	if (write(kv_wake_pipe[1], "x", 1) < 0) {
		/* Already woken. */
	}
	errno = saved;
}

static void kv_on_signal(int sig)
{
	(void)sig;
	kv_request_shutdown();
}

/* Room for -c connections: raise the soft limit on open files if needed. */
static void kv_raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)kv_settings.max_conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * kv_net_start - listen, start the workers, install the signal handlers;
 * prints "listening on ADDR:PORT" once clients can connect
 * Return: 0 or -errno.
 */
int kv_net_start(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(kv_settings.port),
				   .sin_addr = kv_settings.addr };
	struct sigaction sa = { .sa_handler = kv_on_signal };
	socklen_t len = sizeof(sin);
	sigset_t all, old;
	char addr[INET_ADDRSTRLEN];
	int one = 1, err;

	kv_raise_nofile();
	if (pipe2(kv_wake_pipe, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	kv_listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (kv_listen_fd < 0)
		return -errno;
	setsockopt(kv_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(kv_listen_fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(kv_listen_fd, (int)kv_settings.backlog) ||
	    getsockname(kv_listen_fd, (struct sockaddr *)&sin, &len))
		return -errno;
	kv_settings.port = ntohs(sin.sin_port);

	/* Workers never take the signals: the main thread does. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned int i = 0; i < kv_settings.nr_threads; i++) {
		struct kv_worker *w = &kv_workers[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

		w->id = i;
		pthread_mutex_init(&w->lock, NULL);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->epfd < 0 || w->evfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev)) {
			err = -errno;
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return err;
		}
		err = pthread_create(&w->thread, NULL, kv_worker_main, w);
		if (err) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return -err;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	inet_ntop(AF_INET, &sin.sin_addr, addr, sizeof(addr));
	printf("listening on %s:%u\n", addr, kv_settings.port);
	fflush(stdout);
	return 0;
}

/* Accept until a signal or the shutdown command. */
void kv_net_run(void)
{
	struct pollfd pfd[2] = {
		{ .fd = kv_listen_fd, .events = POLLIN },
		{ .fd = kv_wake_pipe[0], .events = POLLIN },
	};

	while (!atomic_load(&kv_stopping)) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("tenant-kv-server: poll");
			return;
		}
		if (pfd[1].revents)
			return;
		for (int i = 0; i < 64; i++) {
			int fd = accept4(kv_listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd < 0)
				break;
			kv_dispatch(fd);
		}
	}
}

/* Stop the workers (each closes its connections) and the listener. */
void kv_net_stop(void)
{
	uint64_t v = 1;

	atomic_store(&kv_stopping, true);
	close(kv_listen_fd);
	for (unsigned int i = 0; i < kv_settings.nr_threads; i++)
		if (write(kv_workers[i].evfd, &v, sizeof(v)) < 0) {
			/* Its counter is already non-zero: it wakes. */
		}
	for (unsigned int i = 0; i < kv_settings.nr_threads; i++) {
		struct kv_worker *w = &kv_workers[i];

		pthread_join(w->thread, NULL);
		close(w->epfd);
		close(w->evfd);
		pthread_mutex_destroy(&w->lock);
	}
	close(kv_wake_pipe[0]);
	close(kv_wake_pipe[1]);
}
